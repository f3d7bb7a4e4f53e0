"""Intervals for evaluation figures: which differences are real.

An accuracy over n items gets a Wilson 95% interval (sound near 0% and 100%, where the normal
approximation fails, and for the ~200-item sets here). Figures over several seeds are quoted as
mean and sample standard deviation.
"""

from __future__ import annotations

import math


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of k successes in n trials, as fractions."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def mean_sd(xs: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return (float("nan"), float("nan"))
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return (m, sd)


def mean_ci(xs: list[float], z: float = 1.96) -> tuple[float, float, float]:
    """(mean, low, high): the normal 95% interval of a mean of bounded scores (gold scores in
    [0, 1] over ~100 prompts), clipped to [0, 1]."""
    n = len(xs)
    if n == 0:
        return (float("nan"), 0.0, 1.0)
    m, sd = mean_sd(xs)
    h = z * sd / math.sqrt(n)
    return (m, max(0.0, m - h), min(1.0, m + h))


def mcnemar(a: list[int], b: list[int]) -> float:
    """Two-sided exact McNemar p-value for two models scored right/wrong on the same items: only
    the items they disagree on count (a binomial test of b-only wins among them). Paired, so it
    sees a real difference that two overlapping intervals would hide."""
    if len(a) != len(b):
        raise ValueError("mcnemar needs the same items for both models")
    up = sum(1 for x, y in zip(a, b) if y and not x)
    down = sum(1 for x, y in zip(a, b) if x and not y)
    n = up + down
    if n == 0:
        return 1.0
    k = min(up, down)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)
