"""Which model to export or serve: `--checkpoint PATH` or the newest chat model of `--run-dir`.

A run holds one checkpoint folder per training stage (`<run>/<stage>/ckpt/latest.json`). The
default is the most refined chat model there (later stages refine earlier ones), falling back to
the base model when no chat stage has run yet. `list_checkpoints` is what the web page offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatforge.core.errors import UserError
from chatforge.tokenizer import Tokenizer
from chatforge.train.checkpoint import load_model

# Most refined first; the distilled student after the full-size chat models: it is the run's small,
# fast copy of its best model, not a better one (ask for it by name, e.g. --checkpoint D/distill).
# Stages that do not exist yet simply are not found.
PREFERENCE = ("rlhf", "rl", "probe", "sft", "distill", "pretrain")


@dataclass
class Loaded:
    model: Any
    tokenizer: Any
    tokenizer_dir: Path
    meta: dict
    name: str  # what /v1/models calls it, e.g. "sft"


def list_checkpoints(run_dir: Path) -> dict[str, Path]:
    """{stage name: ckpt folder} for every stage of the run that has a checkpoint, best first."""
    out: dict[str, Path] = {}
    if run_dir is None or not Path(run_dir).is_dir():
        return out
    run_dir = Path(run_dir)
    known = list(PREFERENCE) + sorted(p.name for p in run_dir.iterdir()  # not the protocol's <stage>.prev/
                                      if p.is_dir() and p.name not in PREFERENCE
                                      and not p.name.endswith(".prev"))
    for stage in known:
        d = run_dir / stage / "ckpt"
        if (d / "latest.json").is_file():
            out[stage] = d
    return out


def resolve(run_dir: Path | None, checkpoint: Path | None) -> tuple[Path, str]:
    """-> (checkpoint file or folder, model name)."""
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if not checkpoint.exists():
            raise UserError(f"checkpoint '{checkpoint}' does not exist.")
        name = checkpoint.parent.parent.name if checkpoint.is_file() else checkpoint.name
        if name == "ckpt":
            name = checkpoint.parent.name
        return checkpoint, name or "chatforge"
    run_dir = Path(run_dir or "runs/cpu")
    if not run_dir.is_dir():
        raise UserError(f"run directory '{run_dir}' does not exist (pass --run-dir or --checkpoint).")
    found = list_checkpoints(run_dir)
    if not found:
        raise UserError(f"no checkpoint in '{run_dir}' "
                        f"(train one first, e.g. `chatforge run --run-dir {run_dir}`).")
    name, path = next(iter(found.items()))
    return path, name


def load(run_dir: Path | None = None, checkpoint: Path | None = None, device: str = "cpu",
         name: str | None = None) -> Loaded:
    path, default_name = resolve(run_dir, checkpoint)
    model, tok_dir, meta = load_model(path, device)
    if tok_dir is None:
        raise UserError(f"checkpoint '{path}' has no tokenizer folder next to it.")
    model.eval()
    return Loaded(model, Tokenizer.load(tok_dir), Path(tok_dir), meta, name or default_name)
