"""Model FLOPs utilisation against this machine's *measured* matmul peak.

Vendor peak numbers mean little on a laptop CPU (turbo, AVX-512 down-clocking, shared cores), so
the denominator is what a large matmul actually reaches here in the training dtype, measured once
and cached as JSON (in the run directory) so repeated runs do not pay for it.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from chatforge.core.atomic import atomic_write_json, read_json
from chatforge.core.errors import UserError
from chatforge.core.machine import native_bf16_cpu


def training_flops_per_token(n_params_matmul: int, n_layer: int, d_model: int, seq_len: int) -> float:
    """6 FLOPs per weight per token (forward 2, backward 4) for the weight matmuls, plus the
    attention score/value matmuls (12 * layers * d_model * seq_len, counting the full square as
    PaLM and nanoGPT do, so numbers are comparable with theirs)."""
    return 6.0 * n_params_matmul + 12.0 * n_layer * d_model * seq_len


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def measure_matmul_peak(device: torch.device, dtype: torch.dtype, size: int | None = None,
                        seconds: float = 1.0) -> float:
    """FLOP/s of repeated square matmuls: the best of a few timed bursts after a warm-up."""
    if size is None:
        size = 4096 if device.type == "cuda" else 1024
        if device.type == "cpu" and dtype != torch.float32:  # emulated: a 1024 matmul takes seconds
            a = torch.randn(256, 256, dtype=dtype)
            a @ a
            t0 = time.perf_counter()
            a @ a
            if 2.0 * 256 ** 3 / max(time.perf_counter() - t0, 1e-9) < 5e9:
                size, seconds = 256, min(seconds, 0.3)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        a @ b
    sync()
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        n = 0
        t0 = time.perf_counter()
        while n < 4 or time.perf_counter() - t0 < seconds / 4:
            a @ b
            n += 1
        sync()
        el = time.perf_counter() - t0
        best = max(best, 2.0 * size ** 3 * n / el)
        if time.perf_counter() > deadline:
            return best


def matmul_peak(device: torch.device, dtype: torch.dtype, cache: str | Path | None = None) -> float:
    """The measured peak, kept in `cache` (a JSON file keyed by device, dtype and thread count).

    Measured again each time (about a second) and the best value kept: a peak measured while
    another job shared the cores is too low, and a cache that kept it would show MFU over 100%
    in every later stage."""
    key = f"{device.type}:{_dtype_name(dtype)}:threads={torch.get_num_threads()}"
    if device.type == "cuda":
        key += ":" + torch.cuda.get_device_name(device)
    data = read_json(cache, {}) if cache else {}
    peak = max(measure_matmul_peak(device, dtype), float(data.get(key, 0.0)))
    if cache and peak != data.get(key):
        data[key] = peak
        atomic_write_json(cache, data)
    return peak


DTYPES = ("auto", "native", "bfloat16", "float32")


def resolve_dtype(choice: str, device: torch.device, cache: str | Path | None = None) -> str:
    """A training dtype setting -> "bfloat16" or "float32". "auto": auto_dtype (the same model on
    every CPU); "native": bf16 autocast where the chip computes bf16 in hardware (a CUDA GPU with
    bf16, an AVX512-BF16/AMX CPU), fp32 elsewhere: the speed of a real model's fine-tuning on a
    laptop, at a quality cost the smol preset measured (docs/smol.md)."""
    if choice == "auto":
        return auto_dtype(device, cache)
    if choice == "native":
        if device.type == "cuda":
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
        return "bfloat16" if device.type == "cpu" and native_bf16_cpu() else "float32"
    if choice not in DTYPES:
        raise UserError(f"training dtype must be one of {', '.join(DTYPES)}, got {choice!r}.")
    return choice


def auto_dtype(device: torch.device, cache: str | Path | None = None) -> str:
    """bfloat16 on a CUDA GPU that supports it; float32 everywhere else, CPUs included.

    A CPU preset must give the same model on every CPU it lands on, and the dtype decides more
    than speed (docs/pretrain.md, "The dtype decision"): on an AVX2-only CPU PyTorch emulates
    bf16, far slower than fp32, so fp32 is the only choice there; on an AVX512-BF16 CPU bf16
    autocast trains the cpu model faster per step but worse (higher val bits per byte than fp32
    at the same seed and machine), and the chat model after SFT differs again. Choosing bf16
    where it is fast would give two CPUs two different presets.
    bf16 on a CPU stays one `--set pretrain.dtype=bfloat16` away. `cache` is kept for callers."""
    if device.type == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    return "float32"
