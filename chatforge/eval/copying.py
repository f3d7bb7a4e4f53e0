"""Can the model copy from its context? A probe for induction, on any checkpoint (base or chat).

Rows of random words drawn from the run's own documents are fed twice in a row. On the first
pass the next token is mostly unpredictable (random order); on the repeat, a model with
induction heads predicts it by finding the earlier occurrence and copying what followed. The
probe reports greedy next-token accuracy on both passes: `repeat` far above `first` means the
model reads its context; equal means it does not, and then no tool can help it (it cannot copy
a name into a search query, a number into the calculator, or a result into its answer).
"""

from __future__ import annotations

import random
from typing import Iterable


def copy_probe(model, tokenizer, texts: Iterable[str], rows: int = 8, words: int = 25,
               seed: int = 0) -> dict:
    """{"first": acc, "repeat": acc} over `rows` rows of `words` random words from `texts`."""
    import torch

    vocab = sorted({w for t in texts for w in t.split() if w.isalpha()})
    if len(vocab) < words:
        return {"first": None, "repeat": None}
    rng = random.Random(f"copy-probe:{seed}")
    bos = tokenizer.special("<|endoftext|>")
    device = next(model.parameters()).device
    hits = {"first": [0, 0], "repeat": [0, 0]}
    with torch.inference_mode():
        for _ in range(rows):
            ids = tokenizer.encode(" " + " ".join(rng.choice(vocab) for _ in range(words)))
            x = torch.tensor([[bos] + ids + ids], device=device)
            pred = model(x[:, :-1]).argmax(-1)[0]
            ok = (pred == x[0, 1:]).tolist()
            n = len(ids)
            # position j predicts token j+1. First pass: ids[1:] (ids[0] follows only BOS). Repeat:
            # ids[1:] again, whose earlier occurrence is in the context (ids[0] of the repeat
            # follows the row's last word, which no earlier token did: left out on both passes)
            first, repeat = ok[1:n], ok[n + 1:]
            hits["first"][0] += sum(first)
            hits["first"][1] += len(first)
            hits["repeat"][0] += sum(repeat)
            hits["repeat"][1] += len(repeat)
    return {k: round(a / max(1, b), 4) for k, (a, b) in hits.items()}
