"""Arena battles: every contestant answers the open-ended prompts; pairs are judged; ratings.

Each contestant (a chat checkpoint of the run, or any checkpoint named on the command line, e.g.
an imported model) answers the world's held-out open-ended prompts once, greedily, through the
engine (`eval.gold.open_answers`, the answers the eval table's gold score is the mean of). The
answers are kept in `eval/open_answers/<name>.json`, keyed by the checkpoint's sha256, so the web
page's side-by-side view can show them and a rerun only generates for changed checkpoints.

The gold judge (`world.gold.gold_score`, the hidden stand-in for a person) votes on every pair of
contestants on every prompt: the higher score wins, scores within `margin` tie. People vote in the
web page. All votes go to `arena/votes.sqlite`; ratings (Bradley-Terry, bootstrap intervals) are
fitted over the votes whose two answers came from the current checkpoints.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from chatforge.arena.bt import OUTCOME, ratings
from chatforge.core.errors import UserError
from chatforge.eval.board import named, run_checkpoints, sha256
from chatforge.eval.gold import cached_open_answers, open_answers
from chatforge.tokenizer import Tokenizer
from chatforge.train.checkpoint import load_model, resolve_checkpoint
from chatforge.world.gold import gold_score


def contestants(run_dir: Path, names: list[str] | None, extra: list[Path] | None) -> dict[str, Path]:
    """The run's chat checkpoints (the base model only when named), plus checkpoints given."""

    found = run_checkpoints(run_dir) if (run_dir / "world").is_dir() else {}
    if names:
        bad = [n for n in names if n not in found]
        if bad:
            raise UserError(f"no checkpoint named '{bad[0]}' in {run_dir} "
                            f"(it has: {', '.join(found) or 'none'}).")
        out = {n: found[n] for n in names}
    else:
        out = {n: p for n, p in found.items() if n != "pretrain"}
    for n, p in named(extra or []).items():
        out[n if n not in out else f"{n}-extra"] = p
    if len(out) < 2:
        raise UserError(f"an arena needs at least two chat models; {run_dir} has {len(out)} "
                        "(add one with --checkpoint PATH).")
    return out


def answers(run_dir: Path, name: str, path: Path, items: list[dict], cfg, device, log=None) -> dict[str, Any]:
    """{"name", "sha", "answers": {prompt id: text}, "prompts": {...}} for one contestant, through
    the cache the eval table's gold score shares (the model is loaded only for missing answers)."""
    ckpt = resolve_checkpoint(path)

    def generate(missing: list[dict]) -> list[str]:
        t0 = time.perf_counter()
        model, tok_dir, _ = load_model(ckpt, device)
        if tok_dir is None:
            raise UserError(f"checkpoint '{ckpt}' has no tokenizer folder next to it.")
        texts = open_answers(model, Tokenizer.load(tok_dir), missing,
                             max_new_tokens=cfg.sft.eval_max_new_tokens * 2,
                             batch_size=cfg.sft.eval_batch_size)
        if log:
            log.info(f"{name}: {len(missing)} answers in {time.perf_counter() - t0:.1f}s")
        return texts
    return cached_open_answers(run_dir, name, sha256(ckpt), items, generate)


def gold_votes(items: list[dict], answered: dict[str, dict], margin: float = 0.01,
               skip: set[tuple[str, str, str]] = frozenset()) -> list[dict]:
    """The gold judge's vote on every pair of contestants on every prompt (not yet judged)."""

    out = []
    for it in items:
        scores = {n: gold_score(it, a["answers"][it["id"]]) for n, a in answered.items()}
        # each pair in one canonical order (by checkpoint hash), so a rerun with the models listed
        # in another order finds the battles it already judged
        for x, y in itertools.combinations(sorted(answered, key=lambda n: (answered[n]["sha"], n)), 2):
            sx, sy = answered[x]["sha"], answered[y]["sha"]
            if (it["id"], sx, sy) in skip or (it["id"], sy, sx) in skip:
                continue
            d = scores[x] - scores[y]
            out.append({"judge": "gold", "prompt_id": it["id"], "model_a": x, "sha_a": sx, "model_b": y,
                        "sha_b": sy, "winner": "tie" if abs(d) < margin else ("a" if d > 0 else "b"),
                        "score_a": scores[x], "score_b": scores[y]})
    return out


def standings(stored: list[dict], current: dict[str, str], boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Ratings over the stored votes between current checkpoints ({name: sha}), all judges together
    and each judge on its own."""

    live = [v for v in stored
            if current.get(v["model_a"]) == v["sha_a"] and current.get(v["model_b"]) == v["sha_b"]]
    models = list(current)
    out: dict[str, Any] = {"models": models, "votes": len(live), "stale_votes": len(stored) - len(live),
                           "ratings": ratings([(v["model_a"], v["model_b"], OUTCOME[v["winner"]])
                                               for v in live],
                                              models, boot=boot, seed=seed),
                           "by_judge": {}}
    for judge in sorted({v["judge"] for v in live}):
        mine = [(v["model_a"], v["model_b"], OUTCOME[v["winner"]]) for v in live if v["judge"] == judge]
        out["by_judge"][judge] = {"votes": len(mine), "ratings": ratings(mine, models, boot=boot, seed=seed)}
    agree = agreement(live)
    if agree:
        out["people_vs_gold"] = agree
    return out


def agreement(live: list[dict]) -> dict[str, Any] | None:
    """How often a person's vote matches the gold judge's on the same prompt and pair: does the
    hidden labeler stand in for people on this run? (None without such pairs.)"""
    gold = {}
    for v in live:
        if v["judge"] == "gold":
            gold[(v["prompt_id"], v["sha_a"], v["sha_b"])] = v["winner"]
    flip = {"a": "b", "b": "a", "tie": "tie"}
    same = n = 0
    for v in live:
        if v["judge"] != "person":
            continue
        g = gold.get((v["prompt_id"], v["sha_a"], v["sha_b"]))
        if g is None and (v["prompt_id"], v["sha_b"], v["sha_a"]) in gold:
            g = flip[gold[(v["prompt_id"], v["sha_b"], v["sha_a"])]]
        if g is not None:
            n += 1
            same += g == v["winner"]
    return {"votes": n, "agree": same, "rate": round(same / n, 4)} if n else None


def markdown(st: dict[str, Any]) -> str:
    rows = sorted(st["ratings"].items(), key=lambda kv: -kv[1]["rating"])
    judges = list(st["by_judge"])
    head = ["model", "rating", "95% interval", "votes", "won", "lost", "tied", *[f"{j} only" for j in judges]]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for name, r in rows:
        cells = [name, f"{r['rating']:.0f}", f"{r['ci95'][0]:.0f}-{r['ci95'][1]:.0f}", str(r["votes"]),
                 str(r["wins"]), str(r["losses"]), str(r["ties"]),
                 *[f"{st['by_judge'][j]['ratings'][name]['rating']:.0f}" for j in judges]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
