"""Bradley-Terry ratings from pairwise votes, with bootstrap intervals.

P(i beats j) = p_i / (p_i + p_j). The strengths are fitted by Hunter's (2004) minorize-maximize
iteration on the win matrix, a tie counting half a win for each side. Every pair of models also
gets `prior` virtual games split evenly, so a model that won (or lost) every vote still has a
finite rating and the fit is defined when some pairs never met; with hundreds of votes per pair
it moves nothing. Ratings are on the Elo scale lmarena uses, 400 * log10(p), shifted so that the
mean is 1000: a 100-point gap means the stronger model is preferred 64% of the time.

The interval of each rating is the 2.5-97.5 percentile range over bootstrap resamples of the
votes (drawn as one multinomial over the distinct (pair, outcome) cells, which is the same as
resampling votes with replacement, at the cost of a handful of cells instead of every vote).
"""

from __future__ import annotations

import numpy as np

SCALE = 400 / np.log(10)
OUTCOME = {"a": 1.0, "b": 0.0, "tie": 0.5}


def win_matrix(votes: list[tuple[str, str, float]], models: list[str]) -> np.ndarray:
    """W[i, j] = wins of model i over model j (ties add 0.5 to both)."""
    idx = {m: i for i, m in enumerate(models)}
    w = np.zeros((len(models), len(models)))
    for a, b, s in votes:
        w[idx[a], idx[b]] += s
        w[idx[b], idx[a]] += 1 - s
    return w


def fit(w: np.ndarray, prior: float = 1.0, iters: int = 5000, tol: float = 1e-9) -> np.ndarray:
    """Ratings (Elo scale, mean 1000) from a win matrix [k, k], or from a stack of them [..., k, k]
    (the bootstrap fits all its resamples at once)."""
    k = w.shape[-1]
    if k == 0:
        return np.zeros(w.shape[:-1])
    w = w + (prior / 2) * (1 - np.eye(k))
    n = w + np.swapaxes(w, -1, -2)
    wins = w.sum(-1)
    p = np.ones(w.shape[:-1])
    for _ in range(iters):
        new = wins / (n / (p[..., :, None] + p[..., None, :])).sum(-1)
        new /= np.exp(np.log(new).mean(-1, keepdims=True))
        done = np.max(np.abs(new - p)) < tol
        p = new
        if done:
            break
    r = SCALE * np.log(p)
    return r - r.mean(-1, keepdims=True) + 1000


def ratings(votes: list[tuple[str, str, float]], models: list[str], *, boot: int = 1000, seed: int = 0,
            prior: float = 1.0) -> dict[str, dict]:
    """{model: {"rating", "ci95": [lo, hi], "votes", "wins", "losses", "ties"}}: the fit on all
    votes and its bootstrap interval."""
    rating = fit(win_matrix(votes, models), prior)
    cells: dict[tuple[str, str, float], int] = {}
    for v in votes:
        cells[v] = cells.get(v, 0) + 1
    keys = list(cells)
    counts = np.array([cells[c] for c in keys], dtype=float)
    samples = np.repeat(rating[None], max(boot, 1), 0)
    if keys and boot > 0:
        draws = np.random.default_rng(seed).multinomial(int(counts.sum()), counts / counts.sum(), size=boot)
        idx = {m: i for i, m in enumerate(models)}
        w = np.zeros((boot, len(models), len(models)))
        for c, (a, o, s) in enumerate(keys):
            w[:, idx[a], idx[o]] += s * draws[:, c]
            w[:, idx[o], idx[a]] += (1 - s) * draws[:, c]
        samples = fit(w, prior)
    out = {}
    for i, m in enumerate(models):
        mine = [v for v in votes if m in (v[0], v[1])]
        won = sum(s if a == m else 1 - s for a, b, s in mine if s != 0.5)
        ties = sum(1 for v in mine if v[2] == 0.5)
        lo, hi = np.percentile(samples[:, i], [2.5, 97.5])
        out[m] = {"rating": round(float(rating[i]), 1), "ci95": [round(float(lo), 1), round(float(hi), 1)],
                  "votes": len(mine), "wins": int(won), "losses": len(mine) - ties - int(won), "ties": ties}
    return out


def win_probability(r_a: float, r_b: float) -> float:
    """What a rating gap means: P(a preferred over b)."""
    return float(1 / (1 + 10 ** ((r_b - r_a) / 400)))
