"""The pair and the vote behind the web page's Arena tab: two anonymous answers to one open-ended
prompt, and a person's pick between them.

The pairs come from the answers `chatforge arena` (or `chatforge eval`) saved
(eval/open_answers/*.json, `eval.gold.cached_open_answers`), so nothing is generated for a vote;
the names are sent with the pair but shown only after the vote. Votes go to the same store as
the gold judge's (arena/votes.sqlite), as judge "person". A mistake (no run directory, no answers
yet, a vote for a pair that was not shown) is a UserError; the server answers it with a 400.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from chatforge.arena import votes
from chatforge.core.atomic import read_json
from chatforge.core.errors import UserError
from chatforge.eval.gold import ANSWERS


def _answered(run_dir: Path) -> dict[str, dict]:
    out = {}
    for f in sorted((Path(run_dir) / ANSWERS).glob("*.json")):
        rec = read_json(f)
        if isinstance(rec, dict) and isinstance(rec.get("answers"), dict) and rec.get("sha"):
            out[f.stem] = rec
    return out


def _need(run_dir: Path | None) -> dict[str, dict]:
    if run_dir is None:
        raise UserError("This server has no run directory (start it with --run-dir) to hold arena votes.")
    answered = _answered(run_dir)
    if len(answered) < 2:
        raise UserError(f"No arena answers yet: run `chatforge arena --run-dir {run_dir}` first.")
    return answered


def pair(run_dir: Path | None, rng: random.Random | None = None) -> dict[str, Any]:
    """A random prompt both of two random contestants answered, in random order."""
    answered = _need(run_dir)
    rng = rng or random.Random()
    x, y = rng.sample(sorted(answered), 2)
    shared = sorted(set(answered[x]["answers"]) & set(answered[y]["answers"])
                    & set(answered[x].get("prompts", {})))
    if not shared:
        raise UserError(f"'{x}' and '{y}' answered no prompt in common; run `chatforge arena` again.")
    pid = rng.choice(shared)
    return {"prompt_id": pid, "prompt": answered[x]["prompts"][pid], "models": [x, y],
            "a": answered[x]["answers"][pid], "b": answered[y]["answers"][pid]}


def vote(run_dir: Path | None, prompt_id: str, models: list[str], winner: str) -> dict[str, Any]:
    """Store a person's vote ("a", "b" or "tie") on the pair `models` answering `prompt_id`."""
    answered = _need(run_dir)
    if winner not in ("a", "b", "tie"):
        raise UserError("'winner' must be \"a\", \"b\" or \"tie\".")
    if len(models) != 2 or models[0] == models[1] or not all(m in answered for m in models):
        raise UserError("'models' must name the two contestants of the pair shown.")
    if not all(prompt_id in answered[m]["answers"] for m in models):
        raise UserError("'prompt_id' must be a prompt both contestants answered.")
    a, b = answered[models[0]], answered[models[1]]
    votes.add(run_dir, [{"judge": "person", "prompt_id": prompt_id, "model_a": models[0], "sha_a": a["sha"],
                         "model_b": models[1], "sha_b": b["sha"], "winner": winner}])
    people = sum(1 for v in votes.read(run_dir) if v["judge"] == "person")
    return {"saved": True, "models": models, "person_votes": people, "file": str(votes.path(run_dir))}
