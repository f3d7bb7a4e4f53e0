"""Choosing the next token from logits: greedy, temperature, top-k, top-p (nucleus)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from chatforge.core.errors import UserError


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0  # 0 = greedy (argmax)
    top_k: int | None = None  # keep only the k most likely tokens (None or 0 = all)
    top_p: float | None = None  # keep the smallest set whose probability reaches p (None or 1 = all)

    def validate(self) -> None:
        if self.temperature < 0:
            raise UserError(f"temperature must be >= 0, got {self.temperature}.")
        if self.top_k is not None and self.top_k < 0:
            raise UserError(f"top-k must be >= 0, got {self.top_k}.")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise UserError(f"top-p must be in (0, 1], got {self.top_p}.")


GREEDY = SamplingParams(temperature=0.0)


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A private generator, so sampling neither reads nor disturbs torch's global RNG."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


def sample(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> torch.Tensor:
    """logits[B, V] (float32) -> token ids[B]."""
    if params.temperature == 0:
        return logits.argmax(dim=-1)
    if params.temperature != 1.0:
        logits = logits / params.temperature
    ids = None
    k = params.top_k or 0
    if 0 < k < logits.shape[-1]:
        # topk is sorted, so it also serves the nucleus filter below without a full sort
        logits, ids = logits.topk(k, dim=-1)
    if params.top_p is not None and params.top_p < 1.0:
        if ids is None:
            logits, ids = logits.sort(dim=-1, descending=True)
        probs = logits.softmax(dim=-1)
        # drop a token when the tokens before it already reach top_p (the top one always stays)
        drop = probs.cumsum(dim=-1) - probs >= params.top_p
        logits = logits.masked_fill(drop, float("-inf"))
    choice = draw(logits.softmax(dim=-1), generator)
    return choice if ids is None else ids.gather(-1, choice[:, None]).squeeze(-1)


def draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row of probs[B, N] (rows need not sum to exactly 1), by inverse CDF: the
    first index whose running sum exceeds u * total, u uniform in [0, 1). A zero-probability
    index never wins (its running sum equals its predecessor's). torch.multinomial draws an
    exponential variate for every entry, a sizeable share of a batched decode step
    (docs/engine.md); this draws one uniform per row."""
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(probs.shape[0], 1, generator=generator, device=probs.device, dtype=cdf.dtype)
    idx = torch.searchsorted(cdf, u * cdf[:, -1:], right=True).squeeze(-1)
    return idx.clamp_(max=probs.shape[-1] - 1)
