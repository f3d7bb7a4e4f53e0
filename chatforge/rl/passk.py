"""pass@1 and pass@k on the test problems, with the unbiased estimator (Chen et al. 2021):
n samples per problem, c right -> pass@k = 1 - C(n - c, k) / C(n, k), averaged over problems.
pass@1 is the mean share of right samples. Its 95% interval is a normal interval over the
per-problem shares: problems are the independent units (an interval over all n x problems
samples would overstate the evidence)."""

from __future__ import annotations

import dataclasses
import math
import time

from chatforge.rl.rollout import Groups, sample_groups


def pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def ks_for(n: int) -> list[int]:
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    return ks


def score(rights: list[list[float]]) -> dict:
    """rights: per problem, a 0/1 per sample -> pass@k for k = 1, 2, 4, ..., n and pass@1's CI."""
    n = min(len(r) for r in rights)
    out = {}
    for k in ks_for(n):
        out[f"pass@{k}"] = round(sum(pass_at_k(n, int(sum(r[:n])), k) for r in rights) / len(rights), 4)
    shares = [sum(r[:n]) / n for r in rights]
    m = sum(shares) / len(shares)
    sd = math.sqrt(sum((s - m) ** 2 for s in shares) / max(1, len(shares) - 1))
    half = 1.96 * sd / math.sqrt(len(shares))
    out["pass@1_ci95"] = [round(max(0.0, m - half), 4), round(min(1.0, m + half), 4)]
    return out


def evaluate(engine, tokenizer, world, tests: dict[str, list[dict]], how: Groups, *, seed: int, execute,
             log=None) -> dict:
    """{set: {pass@k..., "mean_tokens", "n"}} for every set's test problems (`how.samples` each;
    no format or abstention reward: a sample is right or not)."""
    how = dataclasses.replace(how, format_reward=0.0, abstain_reward=0.0)
    samples = how.samples

    out = {}
    for name, probs in tests.items():
        t0 = time.perf_counter()
        groups = sample_groups(engine, tokenizer, world, probs, how, seed=seed, execute=execute)
        rights = [[float(s.reward >= 1.0) for s in g] for g in groups]
        rec = score(rights)
        rec["n"] = len(probs)
        rec["mean_tokens"] = round(sum(len(s.tokens) for g in groups for s in g) /
                                   max(1, sum(len(g) for g in groups)), 1)
        rec["seconds"] = round(time.perf_counter() - t0, 1)
        out[name] = rec
        if log is not None:
            top = f"pass@{max(ks_for(samples))}"
            log.info(f"{name}: pass@1 {100 * rec['pass@1']:.1f}% {top} {100 * rec[top]:.1f}% "
                     f"(n={len(probs)} x {samples}, {rec['mean_tokens']} tokens, {rec['seconds']}s)")
    return out
