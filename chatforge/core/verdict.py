"""A stage's keep verdict, `<stage>/keep.json`: read it and say it in one line.

RL, RLHF and distillation write one (chatforge.eval.keep computes it): their model against the
model they started from, set by set on the evaluation suite. Whatever picks a model for the user
(chatforge.engine.source) reads it here.
"""

from __future__ import annotations

from pathlib import Path

from chatforge.core.atomic import read_json
from chatforge.core.errors import UserError

VERDICT = "keep.json"
GATED = ("rl", "rlhf", "distill")  # the stages that write one: without it their model is not judged


def read(run_dir: Path, stage: str) -> dict | None:
    """A stage's verdict, or None when it has none (not a gated stage, or not finished); a verdict
    that does not parse is one sentence."""
    path = Path(run_dir) / stage / VERDICT
    try:
        v = read_json(path)
    except (ValueError, OSError) as e:
        raise UserError(f"'{path}' is not a readable verdict ({e}); run the {stage} stage again.") from e
    if v is None:
        return None
    if not (isinstance(v, dict) and isinstance(v.get("kept"), bool) and isinstance(v.get("against"), str)
            and all(isinstance(v.get(k), list) for k in ("compared", "fallen", "risen"))):
        raise UserError(f"'{path}' is not a verdict (it needs kept, against, compared, fallen and risen); "
                        f"run the {stage} stage again.")
    return v


def describe(v: dict) -> str:
    """One line: kept, or which sets fell and by how much."""
    def fmt(r: dict) -> str:
        return f"{r['set']} {100 * r['before']:.1f}% -> {100 * r['after']:.1f}% (p={r['p']:.3g})"
    if not v["compared"]:
        return f"has nothing to compare against {v['against']} (no per-item results)"
    if v["kept"]:
        up = f"; rose: {', '.join(fmt(r) for r in v['risen'])}" if v["risen"] else ""
        return f"keeps the suite of {v['against']} (no set fell, {len(v['compared'])} compared{up})"
    return f"lets sets fall against {v['against']}: {', '.join(fmt(r) for r in v['fallen'])}"
