"""Reading exercises mixed into pretraining: rows that can only be predicted by copying.

Each exercise is `<|endoftext|>`, a segment of random words from the corpus, sometimes other
random words, then the segment again. Nothing in it can be learnt by heart (the words are drawn
afresh every time), so the only way to lower the loss on the repeat is to find the earlier
occurrence and copy what followed: the induction circuit tools need. Only the repeat is in the
loss: the first pass and the gap are noise whose gradient drowns the copying signal. On the cpu
model an induction circuit written into the initialisation (`pretrain.init = "induction"`) is
erased by plain text within a few steps, but kept and sharpened when the first steps are all
exercises and a share of every later batch stays exercises (docs/pretrain.md, "Reading the context").

`MixedBatches` wraps the ordinary `TokenBatches`: for the first `copy_first` steps every row is
an exercise, then `share` of each batch's rows are. Its state (the text position, the exercise
RNG, the step) goes into checkpoints, so a resumed run sees the same rows.
"""

from __future__ import annotations

import ast
import random
from collections import Counter

import torch

from chatforge.world.reading import passage


class ReadingRows:
    """Rows of `seq_len + 1` tokens, each a run of copy exercises."""

    def __init__(self, tokenizer, words: list[str], seq_len: int, seed: int, max_words: int = 40,
                 max_gap: int = 60, fixed: int = 0, passages: float = 0.0):
        self.tok, self.words, self.n = tokenizer, words, seq_len + 1
        self.max_words, self.max_gap, self.fixed = max_words, max_gap, fixed  # fixed: N words, no gap
        self.passages = passages  # share of exercises that are reading passages (world/reading.py)
        self.bos = tokenizer.special("<|endoftext|>")
        self.rng = random.Random(f"reading:{seed}")

    def _phrase(self, k: int) -> list[int]:
        return self.tok.encode(" " + " ".join(self.rng.choice(self.words) for _ in range(k))) if k else []

    def row(self, passages: bool = True) -> tuple[list[int], list[bool]]:
        """Tokens, and for each whether it is predictable: a token of the repeat after its first
        (the first pass and the gap are random words, nothing a model can learn to predict)."""
        out: list[int] = []
        keep: list[bool] = []
        while len(out) < self.n:
            if passages and self.passages and self.rng.random() < self.passages:
                ids, k = self._passage()
                out += ids
                keep += k
                continue
            if self.fixed:
                seg, gap = self._phrase(self.fixed), []
            else:
                seg = self._phrase(self.rng.randint(3, self.max_words))
                gap = self._phrase(self.rng.randint(0, self.max_gap)) if self.rng.random() < 0.5 else []
            out += [self.bos] + seg + gap + seg
            keep += [False] * (1 + len(seg) + len(gap)) + [False] + [True] * (len(seg) - 1)
        return out[:self.n], keep[:self.n]

    def _passage(self) -> tuple[list[int], list[bool]]:
        """A reading passage: the page and the questions out of the loss, the answers in it."""

        page, qa = passage(self.rng)
        ids = [self.bos] + self.tok.encode(page)
        keep = [False] * len(ids)
        for q, *answer in qa:
            qi, ai = self.tok.encode(q), [t for part in answer if part for t in self.tok.encode(part)]
            ids += qi + ai
            keep += [False] * len(qi) + [True] * len(ai)
        return ids, keep

    def batch(self, b: int, passages: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, predictable) of shape [b, seq_len + 1]; `passages=False`: copy exercises only."""
        rows = [self.row(passages) for _ in range(b)]
        return (torch.tensor([r for r, _ in rows], dtype=torch.long),
                torch.tensor([k for _, k in rows], dtype=torch.bool))

    def state_dict(self) -> dict:
        return {"rng": repr(self.rng.getstate())}

    def load_state_dict(self, state: dict) -> None:
        self.rng.setstate(_tuplify(ast.literal_eval(state["rng"])))


def _tuplify(x):
    return tuple(_tuplify(i) for i in x) if isinstance(x, (list, tuple)) else x


def corpus_words(texts, limit: int = 0) -> list[str]:
    """The alphabetic words of the corpus (with `limit`, only the most frequent ones, ties by
    spelling), sorted: the exercises' vocabulary. All of them: a circuit trained on exercises over
    a few hundred words copies only those words and none of the others (docs/pretrain.md)."""

    counts = Counter(w for t in texts for w in t.split() if w.isalpha())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return sorted(w for w, _ in (ranked[:limit] if limit else ranked))


class MixedBatches:
    """A BatchSource: text windows from `text` (a TokenBatches) with reading exercises mixed in."""

    def __init__(self, text, reading: ReadingRows, batch: int, n_copy: int, copy_first: int):
        """`text` yields batch - n_copy rows; `n_copy` exercises complete each batch."""
        self.text, self.reading = text, reading
        self.batch, self.n_copy, self.copy_first = batch, n_copy, copy_first
        self.step = 0

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets); an exercise's unpredictable targets are -1 (left out of the loss)."""
        self.step += 1
        if self.step <= self.copy_first:  # copy exercises only: passages this early erase the circuit
            rows, keep = self.reading.batch(self.batch, passages=False)
        else:
            x, y = self.text.next_batch()
            rows = torch.cat([x, y[:, -1:]], dim=1)
            keep = torch.ones_like(rows, dtype=torch.bool)
            if self.n_copy:
                r, k = self.reading.batch(self.n_copy)
                rows, keep = torch.cat([rows, r]), torch.cat([keep, k])
        targets = rows[:, 1:].masked_fill(~keep[:, 1:], -1)
        return rows[:, :-1], targets

    def state_dict(self) -> dict:
        return {"text": self.text.state_dict(), "reading": self.reading.state_dict(), "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.text.load_state_dict(state["text"])
        self.reading.load_state_dict(state["reading"])
        self.step = int(state["step"])


class ReadingPlus:
    """A BatchSource for fine-tuning: each batch of `rows` (inputs, targets, loss mask), as the
    SFT stage's RowBatches gives them, with `n` reading exercises appended (their repeats in the
    loss, nothing else)."""

    def __init__(self, rows, reading: ReadingRows, n: int):
        self.rows, self.reading, self.n = rows, reading, n

    def steps_per_epoch(self) -> int:
        return self.rows.steps_per_epoch()

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, y, mask = self.rows.next_batch()
        r, keep = self.reading.batch(self.n)
        r, keep = r[:, :x.shape[1] + 1], keep[:, :x.shape[1] + 1]
        return (torch.cat([x, r[:, :-1]]), torch.cat([y, r[:, 1:]]),
                torch.cat([mask, keep[:, 1:].to(mask.dtype)]))

    def state_dict(self) -> dict:
        return {"rows": self.rows.state_dict(), "reading": self.reading.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.rows.load_state_dict(state["rows"])
        self.reading.load_state_dict(state["reading"])
