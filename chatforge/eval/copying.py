"""Can the model copy from its context? A probe for induction, on any checkpoint (base or chat).

Rows of random words drawn from the run's own documents are fed twice, first back to back and
then with a gap of other random words between them (`GAPS`). On the first
pass the next token is mostly unpredictable (random order); on the repeat, a model with
induction heads predicts it by finding the earlier occurrence and copying what followed. The
probe reports greedy next-token accuracy on both passes, by distance: `repeat` far above `first`
at every distance means the model reads its context; high only back to back means a positional
shortcut; equal means it does not read at all, and then no tool can help it (it cannot copy
a name into a search query, a number into the calculator, or a result into its answer).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import torch

from chatforge.world.reading import passage

# Gaps (in tokens) of random words between a row and its repeat. Gap 0 alone can be passed by a
# positional shortcut ("copy what came ~12 tokens back"); a model that reads its context copies
# at every distance, including ones no training row had.
GAPS = (0, 32, 96, 168)


def copy_probe(model, tokenizer, texts: Iterable[str], rows: int = 8, words: int = 25,
               seed: int = 0, gaps: tuple[int, ...] = (0,)) -> dict:
    """{"first": acc, "repeat": acc at the first gap, "by_gap": {gap: {"distance", "first",
    "repeat", "rows"}}} over `rows` rows of `words` random words from `texts`, each repeated after
    `gap` tokens of other random words. `distance` is how far back (in tokens) each repeated
    token's first occurrence lies. Gaps whose rows do not fit the model's context are left out."""

    vocab = sorted({w for t in texts for w in t.split() if w.isalpha()})
    if len(vocab) < words:
        return {"first": None, "repeat": None, "by_gap": {}}
    bos = tokenizer.special("<|endoftext|>")
    device = next(model.parameters()).device
    limit = getattr(getattr(model, "config", None), "max_seq_len", None)
    by_gap: dict[int, dict] = {}
    with torch.inference_mode():
        for gap in gaps:
            rng = random.Random(f"copy-probe:{seed}:{gap}")
            hits = {"first": [0, 0], "repeat": [0, 0]}
            dist, used = 0, 0
            for _ in range(rows):
                ids = tokenizer.encode(" " + " ".join(rng.choice(vocab) for _ in range(words)))
                filler: list[int] = []
                while len(filler) < gap:
                    filler += tokenizer.encode(" " + rng.choice(vocab))
                filler = filler[:gap]
                row = [bos] + ids + filler + ids
                if limit is not None and len(row) - 1 > limit:
                    continue
                x = torch.tensor([row], device=device)
                pred = model(x[:, :-1]).argmax(-1)[0]
                ok = (pred == x[0, 1:]).tolist()
                n, r0 = len(ids), len(ids) + gap
                # position j predicts token j+1. First pass: ids[1:] (ids[0] follows only BOS).
                # Repeat: ids[1:] again, each of which has its earlier occurrence in the context
                # (ids[0] of the repeat follows a filler or the row's end: left out on both passes)
                first, repeat = ok[1:n], ok[r0 + 1:]
                hits["first"][0] += sum(first)
                hits["first"][1] += len(first)
                hits["repeat"][0] += sum(repeat)
                hits["repeat"][1] += len(repeat)
                dist += n + gap
                used += 1
            if used:
                by_gap[gap] = {"distance": round(dist / used), "rows": used,
                               **{k: round(a / max(1, b), 4) for k, (a, b) in hits.items()}}
    first = by_gap[min(by_gap)] if by_gap else {"first": None, "repeat": None}
    return {"first": first["first"], "repeat": first["repeat"], "by_gap": by_gap}


def summary(probe: dict) -> dict:
    """The probe as flat metrics: gap 0 (as before), the farthest gap, and accuracy by distance."""
    by = probe.get("by_gap") or {}
    far = by[max(by)] if by else {"repeat": None, "distance": None}
    return {"copy_first_pass": probe["first"], "copy_repeat": probe["repeat"],
            "copy_repeat_far": far["repeat"], "copy_far_distance": far["distance"],
            "copy_by_distance": {str(v["distance"]): v["repeat"] for v in by.values()}}


def describe(probe: dict) -> str:
    """One line for logs: first pass, then the repeat's accuracy at each distance."""
    by = probe.get("by_gap") or {}
    parts = ", ".join(f"{v['repeat']:.2f} at {v['distance']}" for v in by.values())
    return f"{probe['first']} on random words; on their repeat: {parts or 'n/a'} tokens back"


def passage_probe(model, tokenizer, passages: int = 40, seed: int = 0) -> dict:
    """Reading in natural language: pages about people invented for the probe
    (chatforge/world/reading.py), then questions about them, each answered "Ines Zeller works
    for Silverline Press." with the value's tokens scored (teacher-forced greedy next-token
    accuracy, and the share of values with every token right), with the page in the context and
    without it. Without it a value can only be guessed from the question (a prior over the world's
    universities, cities, ...): the gap between the two is what the model read."""

    bos = tokenizer.special("<|endoftext|>")
    device = next(model.parameters()).device
    limit = getattr(getattr(model, "config", None), "max_seq_len", None)
    rng = random.Random(f"passage-probe:{seed}")
    out = {}
    items = [passage(rng, n_questions=(3, 3), form=0) for _ in range(passages)]
    with torch.inference_mode():
        for with_page in (True, False):
            tok_hits = tok_n = ans_hits = ans_n = 0
            for page, qa in items:
                row = [bos] + (tokenizer.encode(page) if with_page else [])
                spans = []
                for q, before, value, after in qa:
                    row += tokenizer.encode(q) + tokenizer.encode(before)
                    vi = tokenizer.encode(value)
                    spans.append((len(row), len(vi)))
                    row += vi + tokenizer.encode(after)
                if limit is not None and len(row) > limit:
                    continue
                x = torch.tensor([row], device=device)
                pred = model(x[:, :-1]).argmax(-1)[0]
                ok = (pred == x[0, 1:]).tolist()
                for start, n in spans:  # token `start + i` is predicted at position start + i - 1
                    hits = ok[start - 1:start - 1 + n]
                    tok_hits, tok_n = tok_hits + sum(hits), tok_n + n
                    ans_hits, ans_n = ans_hits + all(hits), ans_n + 1
            key = "with_page" if with_page else "without_page"
            out[key] = {"value_tokens": round(tok_hits / max(1, tok_n), 4),
                        "values": round(ans_hits / max(1, ans_n), 4), "n": ans_n}
    return out


def passage_summary(probe: dict) -> dict:
    return {"reading_values": probe["with_page"]["values"],
            "reading_values_without_page": probe["without_page"]["values"],
            "reading_value_tokens": probe["with_page"]["value_tokens"]}


def passage_describe(probe: dict) -> str:
    w, wo = probe["with_page"], probe["without_page"]
    if not w["n"]:
        return "n/a (no page with its questions fits the model's context)"
    return (f"values read from a page about invented people: {w['values']:.2f} "
            f"({w['value_tokens']:.2f} of their tokens); {wo['values']:.2f} without the page (n={w['n']})")
