"""An imported model's own conversations (importer/replay.py): what is kept, what is dropped, and
how continued pretraining and SFT take them in.

The engine is scripted here (the questions and answers a model "writes"), so each filter is seen
doing its job; the real model's replay is measured in docs/smol.md.
"""

from __future__ import annotations

import json
import re

import pytest

torch = pytest.importorskip("torch")

from tiny import make_tokenizer  # noqa: E402 - after the importorskip guard

from chatforge.core.errors import UserError  # noqa: E402
from chatforge.engine.engine import Completion  # noqa: E402
from chatforge.importer import replay  # noqa: E402
from chatforge.importer.stage import REPLAY, read_replay  # noqa: E402
from chatforge.train import shards  # noqa: E402

QUESTIONS = [("How do tides work?", "stop"), ("How do tides work?", "stop"),  # a repeat
             ("What is the capital of France today?", "stop"),  # a question of the general set
             ("Are you SmolLM?", "stop"), ("Tell me about the history of tea and", "length"),
             ("Why is the sky blue?", "stop"), ("Give me a recipe for bread.", "stop"),
             ("How do magnets attract iron?", "stop")]
ANSWERS = {"How do tides work?": ("The Moon pulls the oceans. Water rises on the near side.", "stop"),
           "Why is the sky blue?": ("Air scatters blue light most. So the sky looks blue. It is", "length"),
           "Give me a recipe for bread.": ("Mix flour and water well. " * 3, "stop"),  # a loop
           "How do magnets attract iron?": ("I am SmolLM, trained by Hugging Face.", "stop")}


@pytest.fixture
def tok(tmp_path):
    return make_tokenizer(tmp_path / "tok", n_ranks=300)


def _scripted(tok, monkeypatch):
    end = tok.special("<|im_end|>")

    class Scripted:
        def __init__(self, model, tokenizer):
            pass

        def generate(self, prompts, *, num_samples=1, **kw):
            if num_samples > 1:  # the questions: one prompt (the user turn's start), many samples
                return [Completion(0, i, tok.encode(q) + ([end] if f == "stop" else []), finish_reason=f)
                        for i, (q, f) in enumerate(QUESTIONS)]
            outs = []
            for i, p in enumerate(prompts):
                q = next(q for q in ANSWERS if q in tok.decode(p))
                a, f = ANSWERS[q]
                outs.append(Completion(i, 0, tok.encode(a) + ([end] if f == "stop" else []), finish_reason=f))
            return outs
    monkeypatch.setattr(replay, "Engine", Scripted)


def test_what_is_kept_and_what_is_dropped(tok, monkeypatch):
    _scripted(tok, monkeypatch)
    convs, dropped = replay.self_conversations(None, tok, n=4, seed=1)
    got = {c["messages"][0]["content"]: c["messages"][1]["content"] for c in convs}
    # a finished answer as it is; an answer cut by the limit ends at its last whole sentence
    assert got == {"How do tides work?": "The Moon pulls the oceans. Water rises on the near side.",
                   "Why is the sky blue?": "Air scatters blue light most. So the sky looks blue."}
    assert all(c["kind"] == "replay" and [m["role"] for m in c["messages"]] == ["user", "assistant"]
               for c in convs)
    assert dropped == {"unfinished": 1, "repeat": 1, "general_set": 1, "old_identity": 2, "answer": 1}


def test_real_world_questions_are_answered_by_the_model_and_interleaved(tok, monkeypatch):
    """The factual half: the model's own answers to real-world questions, taken in turn with the
    open-ended ones; one whose answer holds a general-set item (its question's words and answer)
    is dropped, since that set measures what is kept."""
    real = {"Which country is Munich in?": ("Munich is in Germany.", "stop"),
            "Who was Napoleon Bonaparte?": ("A French emperor. The capital of France is Paris.", "stop"),
            "What do pandas eat?": ("Pandas eat bamboo.", "stop")}
    _scripted(tok, monkeypatch)
    for q, a in real.items():
        monkeypatch.setitem(ANSWERS, q, a)  # taken out again after the test
    monkeypatch.setattr(replay, "real_world_questions", lambda n, seed: list(real)[:n])
    convs, dropped = replay.self_conversations(None, tok, n=4, seed=1, real_questions=3)
    got = [c["messages"][0]["content"] for c in convs]
    assert got == ["How do tides work?", "Which country is Munich in?", "Why is the sky blue?",
                   "What do pandas eat?"]
    assert convs[1]["messages"][1]["content"] == "Munich is in Germany."
    assert dropped["general_set"] == 2  # the open question about France's capital, and Napoleon's answer


def test_no_real_world_question_is_about_the_general_sets_subjects():
    from chatforge.importer.questions import real_world_questions
    from chatforge.tasks.general import questions as general_questions

    asked = real_world_questions(10_000, seed=0)
    assert len(asked) == len(set(asked)) >= 250
    assert real_world_questions(10, seed=0) == asked[:10] != real_world_questions(10, seed=1)
    items = general_questions()
    lead = "What is the capital of "
    countries = [it["question"][len(lead):-1].removeprefix("the ") for it in items
                 if it["question"].startswith(lead)]
    answers = {a.lower() for it in items for a in it["answer"].split("/")}
    for q in asked:
        words = replay._content(q)
        assert not any(replay._content(it["question"]) <= words for it in items), q
        assert not words & answers, q  # nobody and nothing the general set answers with
        # no country the general set asks the capital of
        assert not any(re.search(rf"\b{re.escape(c)}\b", q) for c in countries), q


def test_the_held_out_general_family_shares_nothing_with_the_replay_or_the_general_set():
    """general_heldout measures knowledge of kinds nothing replays: no replayed subject is asked or
    accepted there, no replayed question holds one of its answers, and no question is a general one."""
    from chatforge.importer import questions as rq
    from chatforge.tasks.general import questions as general_questions
    from chatforge.tasks.general_heldout import questions as heldout

    items = heldout()
    assert len(items) >= 150 and len({it["question"] for it in items}) == len(items)
    assert not {it["question"] for it in items} & {it["question"] for it in general_questions()}
    blocks = (rq.CITIES, rq.PEOPLE, rq.THINGS, rq.ANIMALS)
    subjects = [s.lower() for block in blocks for s in rq._names(block)]
    asked = rq.real_world_questions(10_000, seed=0)
    asked_words = set().union(*(replay._content(q) for q in asked))
    for it in items:
        text = f" {' '.join(replay._WORD.findall((it['question'] + ' ' + it['answer']).lower()))} "
        assert not [s for s in subjects if f" {s} " in text], it
        forms = {f for a in it["answer"].split("/") for f in replay._WORD.findall(a.lower())}
        assert not forms & asked_words, it
    # the replay's filter keeps these out of the replay as it keeps the general set's
    assert replay._holds_general("Which river flows through Paris? The Seine.", replay._general_items())


def test_the_user_turn_starts_after_the_system_turn(tok):
    ids = replay.user_prefix(tok, "You are a helpful assistant")
    assert tok.decode(ids).endswith("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
                                    "<|im_start|>user\n")
    assert ids.count(tok.special("<|im_start|>")) == 2


def test_pretraining_takes_token_ids_and_their_split(tok, tmp_path):
    """Rendered conversations enter the shards as their ids (the chat's special tokens stay
    special), in the split they name."""
    ids = [tok.special("<|im_start|>")] + tok.encode("user\nhi")
    docs = [{"id": f"d{i}", "text": f"plain text number {i}"} for i in range(20)]
    docs += [{"id": f"r{i}", "ids": ids, "split": "train"} for i in range(30)]
    index = shards.build_shards(tmp_path / "s", docs, tok, val_frac=0.5)
    assert index["docs"]["train"] + index["docs"]["val"] == 50
    assert index["docs"]["train"] >= 30
    train = [int(t) for s in shards.open_split(tmp_path / "s", "train") for t in s]
    assert train.count(tok.special("<|im_start|>")) == 30  # every replayed one, none in val


def test_read_replay_and_the_stages_that_need_it(tmp_path):
    assert read_replay(tmp_path, 10) == []
    rows = [{"kind": "replay", "messages": [{"role": "user", "content": f"q{i}"},
                                            {"role": "assistant", "content": f"a{i}"}]} for i in range(5)]
    (tmp_path / REPLAY).write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_replay(tmp_path, 3) == rows[:3] and read_replay(tmp_path, 99) == rows
    assert read_replay(tmp_path, 0) == []

    from chatforge.sft.mixture import _replay

    with pytest.raises(UserError, match="sft.replay is set"):
        _replay(tmp_path / "nothing", 4)


def test_pretraining_replays_only_an_imported_models_conversations(tmp_path):
    """replay_copies on a model trained from nothing, or with no conversations written: one sentence."""
    from types import SimpleNamespace

    from chatforge.pretrain.stage import _replay_docs

    (tmp_path / "import").mkdir()
    (tmp_path / "import" / "_COMPLETE.json").write_text("{}")
    ctx = SimpleNamespace(input_dir=lambda name: tmp_path / name, log=SimpleNamespace(info=lambda m: None))

    def setup(init, copies):
        return SimpleNamespace(cfg=SimpleNamespace(init=init, replay_copies=copies), ctx=ctx, tokenizer=None)
    assert _replay_docs(setup("standard", 0)) == []
    with pytest.raises(UserError, match="needs pretrain.init = 'import'"):
        _replay_docs(setup("standard", 1))
    with pytest.raises(UserError, match="wrote no conversations"):
        _replay_docs(setup("import", 1))
