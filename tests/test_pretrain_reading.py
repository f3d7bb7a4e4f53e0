"""Reading exercises: rows whose second half copies the first, mixed into text batches, resumable."""

from __future__ import annotations

import torch

from chatforge.tune.reading import MixedBatches, ReadingPlus, ReadingRows, corpus_words


class Tok:
    """One token per word: ids from a fixed word list; BOS is 0."""

    def __init__(self, words):
        self.ids = {w: i + 1 for i, w in enumerate(words)}

    def encode(self, text):
        return [self.ids[w] for w in text.split()]

    def special(self, name):
        return 0


class Text:
    def __init__(self, rows):
        self.rows, self.i = rows, 0

    def next_batch(self):
        t = torch.full((self.rows, 201), 10_000, dtype=torch.long) + self.i
        self.i += 1
        return t[:, :-1], t[:, 1:]

    def state_dict(self):
        return {"i": self.i}

    def load_state_dict(self, s):
        self.i = s["i"]


WORDS = corpus_words([" ".join(f"w{chr(97 + i)}{chr(97 + j)}" for i in range(26) for j in range(26))],
                     limit=1000)


def test_exercises_repeat_their_segment():
    tok = Tok(WORDS)
    r = ReadingRows(tok, WORDS, seq_len=300, seed=0, max_gap=0)
    row, keep = r.row()
    assert len(row) == len(keep) == 301 and row[0] == 0
    end = row.index(0, 1) if 0 in row[1:] else len(row)
    ex = row[1:end]
    half = len(ex) // 2
    assert len(ex) % 2 == 0 and ex[:half] == ex[half:]  # no gap: the segment, then itself
    # only the repeat after its first token is predictable (in the loss)
    assert keep[:1 + half + 1] == [False] * (half + 2) and all(keep[2 + half:end])


def test_mixture_curriculum_and_exact_resume():
    tok = Tok(WORDS)
    mk = lambda: MixedBatches(Text(6), ReadingRows(tok, WORDS, 200, seed=1), batch=8, n_copy=2, copy_first=2)  # noqa: E731
    a = mk()
    x1, y1 = a.next_batch()
    assert (x1 < 10_000).all()  # the first steps: all exercises, their first passes out of the loss
    assert (y1 == -1).any() and (y1 >= 0).any()
    a.next_batch()
    x3, y3 = a.next_batch()
    assert (x3[:6] >= 10_000).all() and (x3[6:] < 10_000).all()  # then 6 text rows and 2 exercises
    assert (y3[:6] >= 0).all()  # text is all in the loss
    state = a.state_dict()
    want = [a.next_batch() for _ in range(3)]
    b = mk()
    b.load_state_dict(state)
    got = [b.next_batch() for _ in range(3)]
    assert all(torch.equal(w[0], g[0]) and torch.equal(w[1], g[1]) for w, g in zip(want, got))


def test_the_vocabulary_is_the_most_frequent_words():
    assert corpus_words(["a b b c c c d4 x-y", "c b"], limit=2) == ["b", "c"]


class Conv:
    """A stand-in for the SFT stage's RowBatches: rows of 10,000+, half of each in the loss."""

    def __init__(self, rows):
        self.rows, self.i = rows, 0

    def steps_per_epoch(self):
        return 5

    def next_batch(self):
        t = torch.full((self.rows, 201), 10_000, dtype=torch.long) + self.i
        self.i += 1
        mask = torch.zeros(self.rows, 200)
        mask[:, 100:] = 1
        return t[:, :-1], t[:, 1:], mask

    def state_dict(self):
        return {"i": self.i}

    def load_state_dict(self, s):
        self.i = s["i"]


def test_fine_tuning_batches_gain_exercises_and_resume():
    tok = Tok(WORDS)
    mk = lambda: ReadingPlus(Conv(6), ReadingRows(tok, WORDS, 200, seed=3), n=2)  # noqa: E731
    a = mk()
    assert a.steps_per_epoch() == 5  # the epoch is the conversations'
    x, y, mask = a.next_batch()
    assert x.shape == y.shape == mask.shape == (8, 200)
    assert (x[:6] >= 10_000).all() and (x[6:] < 10_000).all()
    assert torch.equal(mask[:6, 100:], torch.ones(6, 100)) and mask[:6, :100].sum() == 0
    # the exercises: only repeat tokens are in the loss, and each of them is a copy of a token
    # that came earlier in its row
    ex_mask = mask[6:].bool()
    assert 0 < ex_mask.float().mean() < 0.6
    for row, targets, m in zip(x[6:], y[6:], ex_mask):
        for t in range(200):
            if m[t]:
                assert targets[t] in row[:t + 1]
    state = a.state_dict()
    want = [a.next_batch() for _ in range(2)]
    b = mk()
    b.load_state_dict(state)
    got = [b.next_batch() for _ in range(2)]
    assert all(torch.equal(w[i], g[i]) for w, g in zip(want, got) for i in range(3))
