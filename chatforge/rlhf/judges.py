"""What RLHF measures answers with: the proxy (the reward model) and the true reward (the gold
scorer, the world's hidden human), on held-out prompts with the KL to a reference model."""

from __future__ import annotations

import torch

from chatforge.chat.render import assistant_text, parse_assistant
from chatforge.chat.turns import complete_many, tools_off
from chatforge.core.device import torch_threads
from chatforge.rl.grpo import token_logprobs
from chatforge.rlhf.reward_model import encode, pad_rows, score
from chatforge.rlhf.textstats import text_stats
from chatforge.world.gold import gold_score


class Judges:
    """The proxy (reward model) and the true reward (gold scorer) of answers to open prompts."""

    def __init__(self, rm, tokenizer, limit: int):
        self.rm, self.tok, self.limit = rm, tokenizer, limit
        self.pad = tokenizer.special_tokens.get("<|pad|>", 0)

    def proxy_many(self, pairs: list[tuple[list[dict], str]]) -> list[float]:
        return score(self.rm, [encode(self.tok, m, a, self.limit) for m, a in pairs], self.pad)

    def proxy(self, problem: dict, text: str) -> float:
        return self.proxy_many([(problem["messages"], text)])[0]

    @staticmethod
    def true(problem: dict, text: str) -> float:
        return gold_score(problem["item"], text)


def problems_of(items: list[dict]) -> list[dict]:
    return [{"id": it["id"], "set": "open", "tools": False, "messages": it["messages"], "item": it}
            for it in items]


@torch.no_grad()
def held_out(model, ref, tokenizer, judges: Judges, problems: list[dict], *, samples: int, cfg,
             seed: int) -> dict:
    """Answers to held-out prompts: per-prompt mean proxy and true reward, KL to the reference
    (summed over each answer's tokens), text statistics and a few examples."""
    was = model.training
    model.eval()
    with torch_threads(cfg.threads):
        done = complete_many(model, tokenizer, [p["messages"] for p in problems], num_samples=samples,
                             executor=tools_off, max_new_tokens=cfg.max_new_tokens,
                             batch_size=cfg.prompts_per_call, temperature=cfg.temperature, seed=seed)
    texts = [[assistant_text(parse_assistant(c.tokens, tokenizer)) for c in comps] for _, comps in done]
    flat = [(p, t) for p, ts in zip(problems, texts) for t in ts]
    proxy = judges.proxy_many([(p["messages"], t) for p, t in flat])
    true = [judges.true(p, t) for p, t in flat]
    kl = []
    if ref is not None:
        rows = [prompt + list(c.tokens) for prompt, comps in done for c in comps]
        starts = [len(prompt) for prompt, comps in done for _ in comps]
        ids, _ = pad_rows(rows, judges.pad)
        lp, lr = token_logprobs(model, ids), token_logprobs(ref, ids)
        for i, (row, s) in enumerate(zip(rows, starts)):
            kl.append(float((lp[i, s - 1:len(row) - 1] - lr[i, s - 1:len(row) - 1]).sum()))
    model.train(was)

    def per_prompt(xs: list[float]) -> list[float]:
        return [sum(xs[i:i + samples]) / samples for i in range(0, len(xs), samples)]
    return {"proxy": round(sum(proxy) / len(proxy), 4), "true": round(sum(true) / len(true), 4),
            "kl": round(sum(kl) / len(kl), 4) if kl else 0.0, **text_stats([t for _, t in flat]),
            "true_by_prompt": [round(x, 4) for x in per_prompt(true)],
            "proxy_by_prompt": [round(x, 4) for x in per_prompt(proxy)],
            "examples": [{"prompt": p["messages"][-1]["content"], "answer": t, "proxy": round(px, 3),
                          "true": round(tr, 3)} for (p, t), px, tr in list(zip(flat, proxy, true))[:6]]}
