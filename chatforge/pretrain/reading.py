"""Reading exercises mixed into pretraining: rows that can only be predicted by copying.

Each exercise is `<|endoftext|>`, a segment of random words from the corpus, sometimes other
random words, then the segment again. Nothing in it can be learnt by heart (the words are drawn
afresh every time), so the only way to lower the loss on the repeat is to find the earlier
occurrence and copy what followed: the induction circuit tools need. On the cpu model an
induction circuit written into the initialisation (`pretrain.init = "induction"`) is erased by
plain text within ~10 steps, but kept and sharpened when the first steps are all exercises and a
share of every later batch stays exercises (docs/sft.md, "Reading the context").

`MixedBatches` wraps the ordinary `TokenBatches`: for the first `copy_first` steps every row is
an exercise, then `share` of each batch's rows are. Its state (the text position, the exercise
RNG, the step) goes into checkpoints, so a resumed run sees the same rows.
"""

from __future__ import annotations

import random

import torch


class ReadingRows:
    """Rows of `seq_len + 1` tokens, each a run of copy exercises."""

    def __init__(self, tokenizer, words: list[str], seq_len: int, seed: int, max_words: int = 40,
                 max_gap: int = 60):
        self.tok, self.words, self.n = tokenizer, words, seq_len + 1
        self.max_words, self.max_gap = max_words, max_gap
        self.bos = tokenizer.special("<|endoftext|>")
        self.rng = random.Random(f"reading:{seed}")

    def _phrase(self, k: int) -> list[int]:
        return self.tok.encode(" " + " ".join(self.rng.choice(self.words) for _ in range(k))) if k else []

    def row(self) -> list[int]:
        out: list[int] = []
        while len(out) < self.n:
            seg = self._phrase(self.rng.randint(3, self.max_words))
            gap = self._phrase(self.rng.randint(0, self.max_gap)) if self.rng.random() < 0.5 else []
            out += [self.bos] + seg + gap + seg
        return out[:self.n]

    def batch(self, b: int) -> torch.Tensor:
        return torch.tensor([self.row() for _ in range(b)], dtype=torch.long)

    def state_dict(self) -> dict:
        return {"rng": repr(self.rng.getstate())}

    def load_state_dict(self, state: dict) -> None:
        import ast

        self.rng.setstate(_tuplify(ast.literal_eval(state["rng"])))


def _tuplify(x):
    return tuple(_tuplify(i) for i in x) if isinstance(x, (list, tuple)) else x


def corpus_words(texts, limit: int = 500) -> list[str]:
    """The `limit` most frequent alphabetic words of the corpus (ties by spelling): the exercises'
    vocabulary. Measured on the cpu model (bench_induction --words-from): exercises over the ~500
    words of the held-out documents kept the built-in circuit and sharpened it to 0.82-0.91 at
    every distance within 80 steps, while the same exercises over all 1,387 words of the corpus
    lost it within 60 (loss stuck at ~7.0, the rarer words' own statistics taking the updates)."""
    from collections import Counter

    counts = Counter(w for t in texts for w in t.split() if w.isalpha())
    return sorted(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


class MixedBatches:
    """A BatchSource: text windows from `text` (a TokenBatches) with reading exercises mixed in."""

    def __init__(self, text, reading: ReadingRows, batch: int, n_copy: int, copy_first: int):
        """`text` yields batch - n_copy rows; `n_copy` exercises complete each batch."""
        self.text, self.reading = text, reading
        self.batch, self.n_copy, self.copy_first = batch, n_copy, copy_first
        self.step = 0

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        self.step += 1
        if self.step <= self.copy_first:
            rows = self.reading.batch(self.batch)
        else:
            x, y = self.text.next_batch()
            rows = torch.cat([x, y[:, -1:]], dim=1)
            if self.n_copy:
                rows = torch.cat([rows, self.reading.batch(self.n_copy)])
        return rows[:, :-1], rows[:, 1:]

    def state_dict(self) -> dict:
        return {"text": self.text.state_dict(), "reading": self.reading.state_dict(), "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.text.load_state_dict(state["text"])
        self.reading.load_state_dict(state["reading"])
        self.step = int(state["step"])
