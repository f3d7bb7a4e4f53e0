"""Device and dtype choice, shared by training and inference."""

from __future__ import annotations

import contextlib
import os

import torch

from chatforge.core.errors import UserError


def pick_device(pref: str = "auto"):
    """'auto' picks cuda, then mps, then cpu; an explicit choice must be available."""

    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device '{pref}' was asked for but no CUDA GPU is available.")
    if pref == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("device 'mps' was asked for but Apple MPS is not available.")
    if pref not in ("cpu", "mps") and not pref.startswith("cuda"):
        raise UserError(f"unknown device '{pref}' (use auto, cpu, cuda or mps).")
    return torch.device(pref)


def bf16_supported(device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            a = torch.ones(8, 8, dtype=torch.bfloat16)
            return bool(torch.isfinite(a @ a).all())
        except RuntimeError:
            return False
    return device.type == "mps"


def apply_threads(threads: int) -> None:
    if threads and threads > 0:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def torch_threads(threads: int):
    """torch's intra-op threads set to `threads` for the block (0: left as they are), then restored:
    decoding a small model is a chain of tiny matmuls, faster on one thread."""
    before = torch.get_num_threads()
    apply_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def decode_workers(device) -> int:
    """How many batches to decode side by side. On a CPU whose torch runs one intra-op thread
    (what the sampling stages set: a small model decodes faster on one), torch's kernels release
    the GIL, so one Python thread per core keeps every core busy and gives the same tokens, since
    each batch has its own seed and its own cache.
    CHATFORGE_DECODE_WORKERS overrides the count (1 = one batch at a time)."""

    env = os.environ.get("CHATFORGE_DECODE_WORKERS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise UserError(f"CHATFORGE_DECODE_WORKERS must be a whole number, not '{env}'.") from None
    if getattr(device, "type", str(device)) != "cpu" or torch.get_num_threads() != 1:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))
