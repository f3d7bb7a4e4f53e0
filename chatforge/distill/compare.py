"""The comparison at equal student compute: task scores, validation loss, size and decode speed.

Decode speed is measured in one process, the models taking turns (teacher, student, teacher, ...)
so a machine shared with other jobs slows them alike: greedy decoding through the engine, batch
1, a fixed number of new tokens (no early stop), the best of `trials`, one thread.
"""

from __future__ import annotations

import time

import torch

from chatforge.chat.render import render
from chatforge.core.device import torch_threads
from chatforge.engine import Engine
from chatforge.engine.sampling import GREEDY
from chatforge.tune.pack import pack


@torch.no_grad()
def val_loss(model, tokenizer, convs: list[dict], seq_len: int, batch_size: int = 8) -> float | None:
    """Mean cross-entropy per assistant token of the conversations (the fine-tune's packing)."""
    rows = pack([(r.ids, r.mask) for r in (render(c["messages"], tokenizer) for c in convs)], seq_len,
                tokenizer.pad_id)
    if len(rows) == 0:
        return None
    was = model.training
    model.eval()
    device = model.tok_emb.weight.device
    total, count = 0.0, 0.0
    for i in range(0, len(rows), batch_size):
        ids = rows.ids[i:i + batch_size].to(device)
        mask = rows.mask[i:i + batch_size, 1:].to(device).float()
        total += float(model(ids[:, :-1], targets=ids[:, 1:], loss_mask=mask, reduction="sum"))
        count += float(mask.sum())
    model.train(was)
    return total / max(count, 1.0)


def decode_speed(models: dict, prompt: list[int], tokens: int, trials: int) -> dict[str, float]:
    """{name: greedy tokens/s at batch 1}, best of `trials`, the models interleaved."""
    best = {k: 0.0 for k in models}
    with torch_threads(1):
        engines = {k: Engine(m) for k, m in models.items()}
        for e in engines.values():  # warm up
            e.generate([prompt], max_new_tokens=8, sampling=GREEDY)
        for _ in range(trials):
            for k, e in engines.items():
                t = time.perf_counter()
                out = e.generate([prompt], max_new_tokens=tokens, sampling=GREEDY)
                dt = time.perf_counter() - t
                best[k] = max(best[k], len(out[0].tokens) / dt)
    return {k: round(v, 1) for k, v in best.items()}


def table(teacher: dict, arms: dict[str, dict]) -> dict:
    """Per arm: every accuracy, its share of the teacher's, and the distillation targets:
    params <= 1/4 of the teacher's, >= 90% of the teacher's score on every set where the teacher
    scores >= 30%, and decoding >= 2x faster."""
    sets = sorted(k for k, v in teacher["summary"].items()
                  if k.startswith("acc_") and isinstance(v, (int, float)))
    strong = [k for k in sets if teacher["summary"][k] >= 0.30]
    out = {}
    for name, a in arms.items():
        kept = {k: round(a["summary"][k] / teacher["summary"][k], 3) for k in strong}
        params = a["params"] / teacher["params"]
        speed = a["tokens_per_s"] / teacher["tokens_per_s"]
        out[name] = {
            "params": a["params"], "params_vs_teacher": round(params, 3),
            "tokens_per_s": a["tokens_per_s"], "speedup": round(speed, 2),
            "val_loss": a.get("val_loss"),
            "scores": {k[4:]: a["summary"][k] for k in sets},
            "kept_vs_teacher": {k[4:]: v for k, v in kept.items()},
            "sets_below_90pct": [k[4:] for k, v in kept.items() if v < 0.9],
            "met": params <= 0.25 and speed >= 2.0 and all(v >= 0.9 for v in kept.values()),
        }
    return out
