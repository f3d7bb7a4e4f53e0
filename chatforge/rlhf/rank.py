"""The rank stage: K answers per open-ended prompt from the chat model, ranked by a labeler,
appended to the run's rankings store (run_dir/rankings.jsonl, shared with the web page).

    run_dir/rank/metrics.json   counts, the answers' gold scores, ties, the labeler's self-consistency

Train prompts feed the reward model; the held-out (test) prompts measure it. Each record carries
`tag` (the sampling model and settings): a rerun with another model or setting ranks afresh,
and a resumed run skips the prompts already ranked under its tag.
"""

from __future__ import annotations

import hashlib
import random

from chatforge.chat.render import assistant_text
from chatforge.chat.turns import sample_many, tools_off
from chatforge.core.atomic import read_json
from chatforge.core.device import torch_threads
from chatforge.core.errors import UserError
from chatforge.core.rundir import COMPLETE, StageContext
from chatforge.rlhf import rankings
from chatforge.rlhf.labelers import LABELERS, gold_ranking, self_consistency
from chatforge.tune.load import load_chat_stage
from chatforge.world import load_world
from chatforge.world.gold import gold_score

CHUNK = 32  # prompts sampled and stored at a time (what a crash can lose)
SOURCE = "rl"  # the chat model RLHF starts from, whose answers are ranked


def validate(cfg) -> None:
    if cfg.labeler not in LABELERS:
        raise UserError(f"rank.labeler must be one of {', '.join(LABELERS)}, got {cfg.labeler!r} "
                        "(people rank in the web page: `chatforge serve --run-dir ...`).")
    if not 2 <= cfg.answers <= 8:
        raise UserError(f"rank.answers must be 2 to 8 (the store's limit), got {cfg.answers}.")
    if cfg.train_prompts < 1 or cfg.test_prompts < 0 or cfg.max_new_tokens < 1 or cfg.temperature <= 0:
        raise UserError("rank.train_prompts and rank.max_new_tokens must be at least 1, rank.test_prompts at "
                        "least 0, rank.temperature above 0.")


def tag_of(checkpoint: str, finished_at, cfg, seed: int) -> str:
    """The model (its file and when its stage finished: a rerun stage writes a new model under the
    same name) and the sampling settings."""
    key = f"{checkpoint}|{finished_at}|{cfg.answers}|{cfg.temperature}|{cfg.max_new_tokens}|{seed}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def run(ctx: StageContext) -> dict:
    cfg = ctx.config.rank
    validate(cfg)
    seed = ctx.config.run.seed
    model, tokenizer, _, meta, _ = load_chat_stage(ctx, SOURCE, "rank")
    world = load_world(ctx.input_dir("world"))
    items = ([("train", it) for it in world.tasks("open", "train")[:cfg.train_prompts]]
             + [("test", it) for it in world.tasks("open", "test")[:cfg.test_prompts]])
    tag = tag_of(meta["checkpoint"], (read_json(ctx.input_dir(SOURCE) / COMPLETE) or {}).get("finished_at"),
                 cfg, seed)
    done = {r["prompt_id"] for r in rankings.read(ctx.run_dir) if r.get("tag") == tag}
    todo = [(n, split, it) for n, (split, it) in enumerate(items) if it["id"] not in done]
    if done:
        ctx.log.info(f"{len(done)} prompts already ranked under this model and settings; {len(todo)} to go")
    ctx.log.info(f"sampling {cfg.answers} answers for {len(todo)} open-ended prompts "
                 f"from {meta['checkpoint']}")
    with torch_threads(cfg.threads):
        for c in range(0, len(todo), CHUNK):
            chunk = todo[c:c + CHUNK]
            outs = sample_many(model, tokenizer, [it["messages"] for _, _, it in chunk],
                               num_samples=cfg.answers, executor=tools_off, max_new_tokens=cfg.max_new_tokens,
                               batch_size=cfg.prompts_per_call, temperature=cfg.temperature,
                               seed=seed * 7919 + chunk[0][0])
            records = []
            for (_n, split, it), segs in zip(chunk, outs):
                answers = [assistant_text(s) for s in segs]
                ranking = gold_ranking(it, answers, random.Random(f"rank:{seed}:{it['id']}"))
                records.append({"source": "gold", "labeler": cfg.labeler, "model": SOURCE,
                                "checkpoint": meta["checkpoint"], "tag": tag, "prompt_id": it["id"],
                                "split": split, "messages": it["messages"], "answers": answers,
                                "ranking": ranking})
            rankings.append_many(ctx.run_dir, records)
            ctx.log.info(f"ranked {min(c + CHUNK, len(todo))}/{len(todo)}")

    by_id = {it["id"]: it for _, it in items}
    mine = [r for r in rankings.read(ctx.run_dir) if r.get("tag") == tag and r["prompt_id"] in by_id]
    per = [[gold_score(by_id[r["prompt_id"]], a) for a in r["answers"]] for r in mine]
    scores = [x for s in per for x in s]
    pairs = [(s[i], s[j]) for s in per for i in range(len(s)) for j in range(i + 1, len(s))]
    tied, total = sum(a == b for a, b in pairs), len(pairs)
    test = [r for r in mine if r["split"] == "test"]
    consistency = self_consistency([by_id[r["prompt_id"]] for r in test], [r["answers"] for r in test], seed)
    ctx.log.info(f"answers' mean gold score {sum(scores) / max(1, len(scores)):.3f}; "
                 f"tied pairs {tied}/{total}; "
                 f"labeler self-consistency on held-out pairs {consistency['rate']}")
    return {"tag": tag, "labeler": cfg.labeler, "checkpoint": meta["checkpoint"],
            "answers_per_prompt": cfg.answers,
            "train_rankings": sum(r["split"] == "train" for r in mine), "test_rankings": len(test),
            "gold_mean": round(sum(scores) / max(1, len(scores)), 4),
            "gold_zero_share": round(sum(s < 0.05 for s in scores) / max(1, len(scores)), 4),
            "tied_pairs": tied, "pairs": total, "self_consistency": consistency}
