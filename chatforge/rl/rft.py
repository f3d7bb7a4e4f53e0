"""Rejection-sampling fine-tuning (STaR / RFT): sample, keep what is right, fine-tune, repeat.

Round r: `problems_per_round` train problems (all sets mixed), G samples each with the model as
it is; keep up to `keep_per_problem` distinct right answers per problem (tool calls and results
kept in the conversation: the renderer leaves results out of the loss); add `replay` SFT
conversations; fine-tune on the post-training floor (chatforge/tune/finetune.py). Each round writes
rounds/<r>/data.jsonl and its own checkpoints, so a resumed run redoes nothing that is done.
"""

from __future__ import annotations

import json
import random

from chatforge.core.atomic import atomic_write_text
from chatforge.rl.practice import Practice
from chatforge.rl.problems import sample_problems
from chatforge.rl.rollout import Groups, sample_groups


def keep_right(problems: list[dict], groups, keep: int) -> list[dict]:
    """Distinct right answers (by their text and tool calls) -> conversations."""
    convs = []
    for p, g in zip(problems, groups):
        seen = set()
        for s in g:
            if s.reward < 1.0 or not s.finished:
                continue
            key = json.dumps(s.segments, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            convs.append({"kind": p["set"],
                          "messages": [*p["messages"], {"role": "assistant", "content": s.segments}]})
            if len(seen) >= keep:
                break
    return convs


def round_data(p: Practice, r: int, engine, sft_convs: list[dict]) -> tuple[list, dict]:
    """Round r's conversations (right answers, then replay), sampled once and saved; -> (rows, stats)."""
    cfg, seed = p.cfg, p.seed
    d = p.ctx.out / "rounds" / str(r)
    if (d / "stats.json").is_file():
        rows = [json.loads(x) for x in (d / "data.jsonl").read_text().splitlines() if x.strip()]
        return rows, json.loads((d / "stats.json").read_text())
    rng = random.Random(f"rl-rft:{seed}:{r}")
    problems = sample_problems(p.pool, cfg.problems_per_round, rng, cfg.guard_share)
    groups = sample_groups(engine, p.tokenizer, p.world, problems, Groups.of(cfg), seed=seed * 100003 + r,
                           execute=p.execute)
    kept = keep_right(problems, groups, cfg.keep_per_problem)
    by_set: dict = {}
    for p, g in zip(problems, groups):
        by_set.setdefault(p["set"], []).extend(float(s.reward >= 1.0) for s in g)
    flat = [s for g in groups for s in g]
    stats = {"round": r, "problems": len(problems), "kept": len(kept),
             "solved_problems": sum(any(s.reward >= 1.0 for s in g) for g in groups),
             "reward": round(sum(s.reward for s in flat) / len(flat), 4),
             "length": round(sum(len(s.tokens) for s in flat) / len(flat), 1),
             "right_by_set": {n: round(sum(v) / len(v), 4) for n, v in sorted(by_set.items())},
             "kept_by_set": {n: sum(c["kind"] == n for c in kept) for n in sorted(by_set)}}
    replay = [{"kind": "replay", "messages": c["messages"]}
              for c in (rng.sample(sft_convs, min(cfg.replay, len(sft_convs))) if sft_convs else [])]
    rows = kept + replay
    rng.shuffle(rows)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_text(d / "data.jsonl", "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in rows))
    atomic_write_text(d / "stats.json", json.dumps(stats, indent=2))  # last: the round's data is done
    return rows, stats
