"""Checkpoints: everything needed to continue a run exactly, written atomically.

A checkpoint directory (e.g. `run_dir/pretrain/ckpt/`) holds

    step_000400.pt      {"format", "step", "model", "model_config", "optimizer", "data", "rng", "meta"}
    latest.json         {"step": 400, "file": "step_000400.pt"}   (the pointer readers follow)
    tokenizer/          a copy of the tokenizer, so a checkpoint directory is self-contained

The .pt file is written to a temporary name and renamed; only then is the pointer replaced. A
crash at any moment leaves the previous pointer naming a complete file, so "latest" is always
loadable. Older files are deleted after the pointer moves, except every `keep_every`-th step.
Files hold only tensors and plain Python values, so they load with `weights_only=True`.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chatforge.core.atomic import atomic_dir, atomic_path, atomic_write_json, read_json
from chatforge.core.errors import UserError
from chatforge.model.gpt import GPT

FORMAT = "chatforge-ckpt-1"
POINTER = "latest.json"
_STEP_RE = re.compile(r"^step_(\d+)\.pt$")


def step_file(step: int) -> str:
    return f"step_{step:06d}.pt"


# ---- RNG state ---------------------------------------------------------------------------------

def rng_state() -> dict[str, Any]:
    """Python, numpy, torch (and CUDA) generator states as plain values/tensors."""
    np_state = np.random.get_state()
    state = {
        "python": _tuple_to_list(random.getstate()),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), int(np_state[2]),
                  int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_list_to_tuple(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuple_to_list(x):
    return [_tuple_to_list(v) for v in x] if isinstance(x, (tuple, list)) else x


def _list_to_tuple(x):
    return tuple(_list_to_tuple(v) for v in x) if isinstance(x, (tuple, list)) else x


# ---- save / find / load ------------------------------------------------------------------------

def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP and/or torch.compile wrappers."""
    while True:
        if hasattr(model, "module"):  # DistributedDataParallel
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile
            model = model._orig_mod
        else:
            return model


def save_checkpoint(ckpt_dir: str | Path, step: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, data_state: dict | None = None,
                    model_config: dict | None = None, meta: dict | None = None,
                    keep_last: int = 2, keep_every: int = 0) -> Path:
    """Write step_XXXXXX.pt atomically, move the pointer to it, prune old files.

    keep_last: how many of the newest checkpoints to keep; keep_every: also keep every step that
    is a multiple of this (0 = none), for looking back at the model as it learned."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    obj = {
        "format": FORMAT,
        "step": int(step),
        "model": {k: v.detach().clone() for k, v in unwrap(model).state_dict().items()},
        "model_config": dict(model_config or {}),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "data": data_state,
        "rng": rng_state(),
        "meta": dict(meta or {}),
    }
    path = ckpt_dir / step_file(step)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    atomic_write_json(ckpt_dir / POINTER, {"step": int(step), "file": path.name})
    _prune(ckpt_dir, step, keep_last, keep_every)
    return path


def _prune(ckpt_dir: Path, current: int, keep_last: int, keep_every: int) -> None:
    steps = sorted(s for s, _ in list_checkpoints(ckpt_dir))
    recent = set(steps[-max(1, keep_last):])
    for s in steps:
        if s == current or s in recent or (keep_every and s % keep_every == 0):
            continue
        (ckpt_dir / step_file(s)).unlink(missing_ok=True)


def list_checkpoints(ckpt_dir: str | Path) -> list[tuple[int, Path]]:
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    out = []
    for p in ckpt_dir.iterdir():
        m = _STEP_RE.match(p.name)
        if m:
            out.append((int(m.group(1)), p))
    return sorted(out)


def clean_partial(ckpt_dir: str | Path) -> None:
    """Remove temporary files left by a process killed in the middle of a write."""
    ckpt_dir = Path(ckpt_dir)
    if ckpt_dir.is_dir():
        for p in ckpt_dir.glob(".*.tmp"):
            p.unlink(missing_ok=True)


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The file the pointer names, or None when there is no checkpoint yet."""
    ckpt_dir = Path(ckpt_dir)
    ptr = read_json(ckpt_dir / POINTER)
    if ptr and (ckpt_dir / ptr["file"]).is_file():
        return ckpt_dir / ptr["file"]
    return None


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except FileNotFoundError:
        raise UserError(f"checkpoint '{path}' does not exist.") from None
    except Exception as e:  # a torn or foreign file
        raise UserError(f"'{path}' is not a readable chatforge checkpoint ({type(e).__name__}).") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UserError(f"'{path}' is not a chatforge checkpoint.")
    return obj


def resolve_checkpoint(path_or_dir: str | Path) -> Path:
    """A .pt file, a checkpoint dir (with latest.json), a stage dir (with ckpt/), or a run dir
    (its newest stage with checkpoints is not guessed here: name the stage)."""
    p = Path(path_or_dir)
    if p.is_file():
        return p
    if not p.exists():
        raise UserError(f"checkpoint path '{p}' does not exist.")
    for d in (p, p / "ckpt"):
        found = latest_checkpoint(d)
        if found is not None:
            return found
    raise UserError(f"no checkpoint found in '{p}' (expected a .pt file, a ckpt/ folder or a stage folder).")


def copy_tokenizer(tokenizer_dir: str | Path, ckpt_dir: str | Path) -> Path:
    """Copy the tokenizer next to the checkpoints once, so the folder is self-contained."""
    dst = Path(ckpt_dir) / "tokenizer"
    if not dst.exists():
        with atomic_dir(dst) as tmp:
            shutil.copytree(tokenizer_dir, tmp, dirs_exist_ok=True)
    return dst


def load_model(path_or_stage_dir: str | Path, device: str | torch.device = "cpu"):
    """-> (model in eval mode on `device`, tokenizer_dir, meta). Accepts a checkpoint file, a
    ckpt/ folder or a stage folder (e.g. run_dir/pretrain)."""

    path = resolve_checkpoint(path_or_stage_dir)
    ck = load_checkpoint(path)
    model = GPT.from_state(ck["model_config"], ck["model"], device).eval()
    tok = path.parent / "tokenizer"
    meta = {**ck.get("meta", {}), "step": ck["step"], "checkpoint": str(path)}
    return model, (tok if tok.is_dir() else None), meta
