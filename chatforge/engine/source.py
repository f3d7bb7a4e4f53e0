"""Which model to chat with, export or serve: `--checkpoint PATH` or the best chat model of `--run-dir`.

A run holds one checkpoint folder per training stage (`<run>/<stage>/ckpt/latest.json`). The
default (`pick`) is the most refined chat model there that keeps the evaluation suite: later
stages refine earlier ones, but RL, RLHF and distillation write a verdict (`<stage>/keep.json`,
chatforge.eval.keep) and a stage whose model let a task set fall against the model it started
from, or whose starting model did, is left aside, with the reason said. With no chat stage the
base model is the default. `list_checkpoints` is what the web page offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatforge.core import verdict
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
    why: str = ""  # why this model (source.pick)


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


@dataclass
class Pick:
    name: str
    path: Path
    why: str  # one sentence: why this model, and which were left aside


def _kept(run_dir: Path, name: str, depth: int = 0) -> tuple[bool, str]:
    """(whether the stage's model keeps the suite, what its verdict says): a stage that writes no
    verdict (sft, probe) is not judged; RL, RLHF and distillation keep when their verdict says no
    set fell and the model they started from keeps too, and without a verdict they are left aside."""
    v = verdict.read(run_dir, name)
    if v is None and name in verdict.GATED:
        return False, (f"not judged: no {name}/{verdict.VERDICT} (the stage has not finished, or ran "
                       "before stages judged their model)")
    if v is None:
        return True, ""
    if not v["kept"]:
        return False, verdict.describe(v)
    if depth < len(PREFERENCE) and not _kept(run_dir, v["against"], depth + 1)[0]:
        return False, f"it started from {v['against']}, which was left aside"
    return True, verdict.describe(v)


def pick(run_dir: Path, chat_only: bool = False, leave_out: tuple[str, ...] = ()) -> Pick:
    """The run's most refined chat model that keeps the suite (the base model when the run has
    no chat model and `chat_only` is off); never the stages in `leave_out`."""
    found = {k: v for k, v in list_checkpoints(run_dir).items()
             if k not in leave_out and not (chat_only and k == "pretrain")}
    aside = []
    for name, path in found.items():
        ok, said = _kept(Path(run_dir), name)
        if not ok:
            aside.append(f"{name} ({said})")
            continue
        why = ("the base model: the run has no chat model yet" if name == "pretrain" else
               f"the most refined chat model, and it {said}" if said else
               "the most refined chat model")
        if aside:
            why += "; left aside: " + "; ".join(aside)
        return Pick(name, path, why)
    what = "chat model" if chat_only else "checkpoint"
    if aside:
        raise UserError(f"no {what} in '{run_dir}' keeps the evaluation suite (left aside: "
                        f"{'; '.join(aside)}); name one with --checkpoint.")
    raise UserError(f"no {what} in '{run_dir}' (train one first, e.g. `chatforge run --run-dir {run_dir}`).")


def resolve(run_dir: Path | None, checkpoint: Path | None) -> tuple[Path, str]:
    """-> (checkpoint file or folder, model name)."""
    got = choose(run_dir, checkpoint)
    return got.path, got.name


def choose(run_dir: Path | None, checkpoint: Path | None, chat_only: bool = False) -> Pick:
    """`--checkpoint` as given, or `pick` on `--run-dir` (runs/cpu by default)."""
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if not checkpoint.exists():
            raise UserError(f"checkpoint '{checkpoint}' does not exist.")
        name = checkpoint.parent.parent.name if checkpoint.is_file() else checkpoint.name
        if name == "ckpt":
            name = checkpoint.parent.name
        return Pick(name or "chatforge", checkpoint, "named with --checkpoint")
    run_dir = Path(run_dir or "runs/cpu")
    if not run_dir.is_dir():
        raise UserError(f"run directory '{run_dir}' does not exist (pass --run-dir or --checkpoint).")
    return pick(run_dir, chat_only)


def load(run_dir: Path | None = None, checkpoint: Path | None = None, device: str = "cpu",
         name: str | None = None) -> Loaded:
    got = choose(run_dir, checkpoint)
    model, tok_dir, meta = load_model(got.path, device)
    if tok_dir is None:
        raise UserError(f"checkpoint '{got.path}' has no tokenizer folder next to it.")
    model.eval()
    return Loaded(model, Tokenizer.load(tok_dir), Path(tok_dir), meta, name or got.name, got.why)
