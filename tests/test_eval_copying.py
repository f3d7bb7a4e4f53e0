"""The copy probe separates a model that reads its context from one that does not."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from chatforge.eval.copying import copy_probe  # noqa: E402


class Oracle(torch.nn.Module):
    """Induction done by hand: finds the earlier position whose preceding tokens match the
    current ones for longest and predicts the token that followed it (token 0 when none)."""

    def __init__(self, vocab: int, window: int | None = None):
        super().__init__()
        self.vocab, self.window = vocab, window  # window: look only this far back (a shortcut)
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        B, T = x.shape
        out = torch.full((B, T, self.vocab), -1.0)
        for b in range(B):
            row = x[b].tolist()
            for t in range(T):
                nxt, best = 0, 0
                stop = -1 if self.window is None else max(-1, t - self.window)
                for s in range(t - 1, stop, -1):
                    k = 0
                    while k <= s and row[s - k] == row[t - k]:
                        k += 1
                    if k > best:
                        nxt, best = row[s + 1], k
                out[b, t, nxt] = 1.0
        return out


class Blind(Oracle):
    def forward(self, x):
        out = torch.zeros(*x.shape, self.vocab)
        out[..., 0] = 1.0
        return out


class Tok:
    """Words of four lowercase letters, one token per letter, ids 1..26; BOS is 27."""

    def encode(self, text):
        return [ord(c) - 96 for c in text if c.isalpha()]

    def special(self, name):
        return 27


TEXTS = ["".join(chr(97 + (i * 7 + j * 3) % 26) for j in range(4)) for i in range(60)]


def test_induction_scores_high_only_on_the_repeat():
    p = copy_probe(Oracle(28), Tok(), [" ".join(TEXTS)], rows=4, words=20)
    assert p["repeat"] > 0.95  # every repeated target follows an earlier occurrence of its context
    assert p["first"] < p["repeat"] - 0.3


def test_a_model_that_ignores_context_scores_the_same_on_both():
    p = copy_probe(Blind(28), Tok(), [" ".join(TEXTS)], rows=4, words=20)
    assert p["first"] == p["repeat"] == 0.0


def test_too_few_words_gives_no_score():
    assert copy_probe(Blind(28), Tok(), ["one two"], words=25) == {"first": None, "repeat": None,
                                                                    "by_gap": {}}


def test_the_gap_separates_reading_from_a_positional_shortcut():
    import random

    from chatforge.eval.copying import summary

    rng = random.Random(0)  # 400 random four-letter words: contexts rarely recur by chance
    words = " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4)) for _ in range(400))
    gaps = (0, 40, 120)
    real = copy_probe(Oracle(28), Tok(), [words], rows=3, words=10, gaps=gaps)
    near = copy_probe(Oracle(28, window=60), Tok(), [words], rows=3, words=10, gaps=gaps)
    # rows of 10 four-letter words are 40 tokens: each repeat is 40, 80 and 160 tokens back
    assert [real["by_gap"][g]["distance"] for g in gaps] == [40, 80, 160]
    assert all(real["by_gap"][g]["repeat"] > 0.9 for g in gaps)
    assert near["by_gap"][0]["repeat"] > 0.95  # back to back, the shortcut passes ...
    assert near["by_gap"][40]["repeat"] < 0.1 and near["by_gap"][120]["repeat"] < 0.1  # ... not with a gap
    s = summary(near)
    assert s["copy_repeat"] > 0.95 and s["copy_repeat_far"] < 0.1 and s["copy_far_distance"] == 160


def test_gaps_that_do_not_fit_the_context_are_left_out():
    m = Blind(28)
    m.config = type("C", (), {"max_seq_len": 100})()
    p = copy_probe(m, Tok(), [" ".join(TEXTS)], rows=2, words=10, gaps=(0, 10, 200))
    assert sorted(p["by_gap"]) == [0, 10]
