"""Reading passages: invented people, answers only the page holds, and a probe that tells a model
that finds facts in its context from one that guesses them."""

from __future__ import annotations

import random

import pytest

from chatforge.world.reading import passage

torch = pytest.importorskip("torch")


def test_passages_are_fresh_and_answerable_from_the_page():
    pages = set()
    for seed in range(30):
        page, qa = passage(random.Random(seed))
        assert page.endswith("\n\n") and page not in pages
        pages.add(page)
        assert 3 <= len(qa) <= 6
        for q, _before, value, after in qa:
            assert q.startswith("Question: ") and q.endswith("\nAnswer:")
            assert value.startswith(" ") and after.endswith("\n")
            v = value.strip()
            if "," in v:  # a birth date, which a page may also write as "13 November 1980"
                month_day, year = v.split(", ")
                assert year in page and month_day.split()[0] in page
            else:
                assert v.lower() in page.lower(), (v, page)
    assert passage(random.Random(7)) == passage(random.Random(7))  # the rng decides everything


def test_forms_and_invented_names():
    page, qa = passage(random.Random(3), n_questions=(6, 6), form=0)
    for q, before, _value, _after in qa:
        name = before.split(" was ")[0].split(" works ")[0].split(" studied")[0].strip()
        assert name in q and name in page  # form 0: "Ines Zeller works for" + value
    from chatforge.world.people import ENDINGS, SYLLABLES
    made_up = {a + b for a in SYLLABLES for b in ENDINGS}
    lasts = [passage(random.Random(s))[1][0][0] for s in range(40)]
    assert any(any(w.rstrip("?'s") in made_up for w in q.split()) for q in lasts)


def test_probe_separates_reading_from_guessing(smoke_run):
    from test_eval_copying import Blind, Oracle

    from chatforge.eval.copying import passage_probe
    from chatforge.tokenizer import Tokenizer

    tok = Tokenizer.load(smoke_run / "tokenizer")
    oracle = passage_probe(Oracle(tok.n_vocab), tok, passages=2)
    assert oracle["with_page"]["n"] == 6
    assert oracle["with_page"]["value_tokens"] > oracle["without_page"]["value_tokens"] + 0.3
    blind = passage_probe(Blind(tok.n_vocab), tok, passages=2)
    assert blind["with_page"]["values"] == blind["without_page"]["values"] == 0.0
