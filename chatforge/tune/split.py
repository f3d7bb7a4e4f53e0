"""A conversation mixture's train / validation split."""

from __future__ import annotations

import random


def split_val(convs: list[dict], val_fraction: float, rng: random.Random) -> tuple[list, list, dict]:
    """Shuffle, hold out a validation share -> (train, val, {kind: train count})."""
    rng.shuffle(convs)
    n_val = int(round(len(convs) * val_fraction))
    val, train = convs[:n_val], convs[n_val:]
    counts: dict[str, int] = {}
    for c in train:
        counts[c["kind"]] = counts.get(c["kind"], 0) + 1
    return train, val, counts
