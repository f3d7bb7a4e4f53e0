"""The built-in world: determinism, disjoint groups, verified tasks, documents fit for the data filters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chatforge.pipeline import load_config
from chatforge.world import load_world
from chatforge.world.build import build
from chatforge.world.checkers import conversation_text
from chatforge.world.crawl import jaccard
from chatforge.world.people import ATTRIBUTES, GROUPS
from chatforge.world.tasks.arithmetic import HELD_OUT


def make_world(root: Path, *overrides: str) -> Path:
    cfg = load_config("smoke", list(overrides))
    root.mkdir(parents=True, exist_ok=True)
    build(root, cfg.world, cfg.run.seed)
    return root


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory) -> Path:
    return make_world(tmp_path_factory.mktemp("world") / "w")


@pytest.fixture(scope="module")
def world(world_dir):
    return load_world(world_dir)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(world_dir, tmp_path):
    again = make_world(tmp_path / "again")
    a, b = _files(world_dir), _files(again)
    assert sorted(a) == sorted(b) and "crawl/crawl.warc.gz" in a
    for name in a:
        assert a[name] == b[name], f"{name} differs between two generations with the same seed"
    other = make_world(tmp_path / "other", "run.seed=7")
    assert _files(other)["people.jsonl"] != a["people.jsonl"]


def test_groups_are_disjoint_and_sized(world):
    ids = [p.id for p in world.people]
    names = [p.name for p in world.people]
    assert len(set(ids)) == len(ids) and len(set(names)) == len(names)
    assert {p.group for p in world.people} == set(GROUPS)
    cfg = load_config("smoke").world
    assert len(world.group("unknown")) == cfg.n_unknown
    assert len(world.group("known-qa")) + len(world.group("known-bio-only")) == cfg.n_known
    for p in world.people:
        assert set(ATTRIBUTES) <= set(p.attrs)


def test_unknown_people_only_in_search_index(world):
    unknown = world.group("unknown")
    docs = world.documents()
    text = "\n".join(d["text"] for d in docs)
    for p in unknown:
        assert p.name not in text
        assert all(p.id not in d["person_ids"] for d in docs)
    search = world.search_documents()
    assert len(search) > len(docs)
    for p in unknown:
        assert any(p.id in d["person_ids"] and p.name in d["text"] for d in search)
    # every known person has bios_per_person biographies in pretraining
    n = load_config("smoke").world.bios_per_person
    for p in world.people:
        if p.group != "unknown":
            assert sum(d["genre"] == "bio" and p.id in d["person_ids"] for d in docs) == n


def test_documents_pass_basic_quality_rules(world):
    from chatforge.world import prose

    for d in world.documents():
        assert prose.ok(d["title"] + "\n" + d["text"]), (prose.problems(d["title"] + "\n" + d["text"]), d)
        words = d["text"].split()
        assert len(words) >= 50, d
        assert d["text"].rstrip()[-1] in ".!?\"", d
        if d["genre"] == "bio":
            assert len(words) >= 60, d
        assert sum(w.lower() in ("the", "and", "of", "to", "in", "is", "was", "a") for w in words) >= 2
        # facts are consistent: a bio mentions its person's attributes verbatim
        if d["genre"] == "bio":
            p = world.person(d["person_ids"][0])
            for attr in ("birth_city", "university", "employer"):
                assert p.attrs[attr] in d["text"], (attr, d)


def test_paraphrases_are_not_near_duplicates(tmp_path):
    w = load_world(make_world(tmp_path / "w8", "world.bios_per_person=8", "world.n_known=6"))
    docs = w.documents()
    bios: dict[str, list[str]] = {}
    for d in docs:
        if d["genre"] == "bio":
            bios.setdefault(d["person_ids"][0], []).append(d["text"])
    worst = 0.0
    for texts in bios.values():
        assert len(texts) == 8
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                worst = max(worst, jaccard(texts[i], texts[j]))
    assert worst < 0.3, f"two paraphrases of one person share {worst:.2f} of their 5-grams"
    # ...and no two pretraining documents at all are near-duplicates of each other
    texts = [d["text"] for d in docs]
    worst_any = max(jaccard(texts[i], texts[j]) for i in range(len(texts)) for j in range(i + 1, len(texts)))
    assert worst_any < 0.5, worst_any


def test_knowledge_splits(world):
    train, test = world.tasks("knowledge", "train"), world.tasks("knowledge", "test")
    qa = {p.id for p in world.group("known-qa")}
    assert train and all(it["person_id"] in qa and it["group"] == "known-qa" for it in train)
    assert {it["group"] for it in test} == set(GROUPS)
    train_q = {it["question"] for it in train}
    for it in test:
        assert it["group"] == world.person(it["person_id"]).group
        assert it["answer"] == str(world.person(it["person_id"]).attrs[it["attribute"]])
        if it["group"] == "known-qa":
            assert it["question"] not in train_q  # held-out phrasing


def test_every_item_is_verified_by_its_checker(world):
    for split in ("train", "test"):
        for it in world.tasks("knowledge", split):
            assert world.check("knowledge", it, conversation_text(it["messages"]))
            assert not world.check("knowledge", it, "I am not sure who that is.")
        for task in ("arithmetic", "letters"):
            for it in world.tasks(task, split):
                for conv in it["solutions"].values():
                    assert world.check(task, it, conversation_text(conv["messages"]))
                assert world.check(task, it, f"So the answer is {it['answer']}.")
                assert not world.check(task, it, f"So the answer is {it['answer'] + 1}.")
        for it in world.tasks("identity", split):
            assert world.check("identity", it, conversation_text(it["messages"]))
            assert not world.check("identity", it, "I am a helpful assistant.")


def test_checker_forms():
    from chatforge.world import check

    item = {"attribute": "birth_date", "answer": "March 4, 1961"}
    assert check("knowledge", item, "She was born on march 4 1961.")
    assert check("knowledge", item, "Born 4 March 1961 in Daleport")
    assert not check("knowledge", item, "March 14, 1961")
    assert check("arithmetic", {"answer": 1200}, "That makes 1,200.")
    assert check("arithmetic", {"answer": 9}, "13-4=9")
    assert not check("arithmetic", {"answer": 9}, "no number here")


def test_arithmetic_families_and_tool_format(world):
    train, test = world.tasks("arithmetic", "train"), world.tasks("arithmetic", "test")
    assert not {it["family"] for it in train} & HELD_OUT
    assert {it["family"] for it in test} & HELD_OUT
    assert {it["steps"] for it in train} == {1, 2, 3}
    for it in train[:20]:
        segs = it["solutions"]["calculator"]["messages"][-1]["content"]
        calls = [s for s in segs if s["type"] == "tool_call"]
        results = [s for s in segs if s["type"] == "tool_result"]
        assert calls and len(calls) == len(results) == it["steps"]
        assert all(c["tool"] == "calculator" and re.fullmatch(r"[\d +\-*/()]+", c["input"]) for c in calls)
        assert results[-1]["output"] == str(it["answer"])
        first_sentence = it["solutions"]["answer_first"]["messages"][-1]["content"].split(".")[0]
        assert first_sentence.endswith(str(it["answer"]))


def test_letters_python_tool_and_held_out_words(world):
    train, test = world.tasks("letters", "train"), world.tasks("letters", "test")
    assert not {it["word"] for it in train} & {it["word"] for it in test}
    for it in train:
        assert it["answer"] == it["word"].count(it["letter"])
        call = it["solutions"]["python"]["messages"][-1]["content"][1]
        assert call == {"type": "tool_call", "tool": "python",
                        "input": f'print(" {it["word"]}".count("{it["letter"]}"))'}


def test_letters_train_words_come_from_the_documents_too(world):
    from chatforge.world import pools

    words = {it["word"] for it in world.tasks("letters", "train")}
    text = " ".join(d["text"] for d in world.documents())
    beyond = words - set(pools.WORDS)
    assert beyond and all(re.search(rf"\b{w}\b", text) for w in beyond)


def test_faq_pages_only_about_known_qa_people_and_true(world):
    faqs = [d for d in world.documents() if d["genre"] == "faq"]
    qa = world.group("known-qa")
    assert len(faqs) == len(qa) * load_config("smoke").world.faq_per_person
    people = {p.id: p for p in world.people}
    for d in faqs:
        (pid,) = d["person_ids"]
        person = people[pid]
        assert person.group == "known-qa" and person.name in d["text"]
        for other in world.people:
            if other.id != pid:
                assert other.name not in d["text"]
        pairs = d["text"].split("\n\n")[1:]
        assert len(pairs) == len(ATTRIBUTES)
        # every answer states one of the person's own attribute values
        values = {str(v) for k, v in person.attrs.items() if k in ATTRIBUTES}
        for qa_text in pairs:
            answer = qa_text.split("? ", 1)[1]
            assert any(v.lower() in answer.lower() for v in values), (qa_text, values)


def test_too_many_quiz_pages_is_one_clear_error(tmp_path):
    from chatforge.core.errors import UserError

    with pytest.raises(UserError, match="n_quiz"):
        make_world(tmp_path / "q", "world.n_quiz=10000000")


def test_quiz_pages_are_answerable_from_their_own_profile(world):
    """Reading-practice pages: made-up people (never a world person), and every answer is a fact
    the page's profile states before the questions."""
    from chatforge.world import quiz

    quizzes = [d for d in world.documents() if d["genre"] == "quiz"]
    assert len(quizzes) == load_config("smoke").world.n_quiz
    names = {p.name for p in world.people}
    for d in quizzes:
        assert not any(n in d["text"] or n in d["title"] for n in names)
        profile, questions = re.split(r"\n\n(?:" + "|".join(map(re.escape, quiz.HEADINGS)) + r")\n\n",
                                      d["text"])
        pairs = questions.split("\n\n")
        assert 3 <= len(pairs) <= 5
        for qa in pairs:
            answer = qa.split("? ", 1)[1].rstrip(".")
            fact = re.sub(r"^(.* (was born on|was born in|studied at|studied|works for|works at|works in|"
                          r"attended|majored in) )", "", answer)
            words = re.findall(r"\w+", profile.lower())
            assert all(w in words for w in re.findall(r"\w+", fact.lower())), (fact, profile)


def test_identity_uses_configured_name(tmp_path):
    w = load_world(make_world(tmp_path / "id", "world.assistant_name=Ember",
                              "world.assistant_maker=Acme Labs"))
    items = w.tasks("identity", "train")
    assert {it["kind"] for it in items} >= {"name", "maker", "multi"}
    assert any(len(it["messages"]) > 2 for it in items)
    text = json.dumps(items)
    assert "Ember" in text and "Acme Labs" in text and "Forge" not in text


def test_open_items_have_what_the_scorer_needs(world):
    for it in world.tasks("open", "train"):
        assert it["prompt"] and it["topic"] and it["min_words"] < it["max_words"]
        assert it["messages"] == [{"role": "user", "content": it["prompt"]}]


def test_load_world_refuses_other_dirs(tmp_path):
    from chatforge.core.errors import UserError

    with pytest.raises(UserError):
        load_world(tmp_path)


def test_documents_pass_the_stock_quality_filters(world):
    """The data stage's Gopher / C4 / FineWeb filters (datatrove) keep every clean document."""
    pytest.importorskip("datatrove")
    try:
        from chatforge.data.steps import FastEnglishTokenizer
    except ImportError:
        pytest.skip("the data stage is not installed")
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    tok = FastEnglishTokenizer()
    filters = [GopherRepetitionFilter(language=tok), GopherQualityFilter(language=tok),
               C4QualityFilter(filter_no_terminal_punct=False, language=tok),
               FineWebQualityFilter(language=tok)]
    for d in world.documents():
        doc = Document(text=d["title"] + "\n" + d["text"], id=d["id"])
        for f in filters:
            r = f.filter(doc)
            assert r is True or (isinstance(r, tuple) and r[0]), (type(f).__name__, r, d["text"])


def test_pools_are_consistent():
    from chatforge.world import pools
    from chatforge.world.crawl import BANNED
    from chatforge.world.people import city

    for name, c, year in pools.UNIVERSITIES:
        assert year >= city(c)["founded"], name
    for name, c, _, year in pools.COMPANIES:
        assert year >= city(c)["founded"], name
    for name in [c[0] for c in pools.CITIES] + [u[0] for u in pools.UNIVERSITIES] + \
            [c[0] for c in pools.COMPANIES] + pools.SURNAMES:
        assert not any(b in name.lower() for b in BANNED), name
    assert len(set(pools.SURNAMES)) == len(pools.SURNAMES)


def test_same_bytes_in_another_process(world_dir, tmp_path):
    """No dependence on PYTHONHASHSEED (set iteration order) or anything else per-process."""
    import os
    import subprocess
    import sys

    out = tmp_path / "proc"
    code = (
        "import sys, tomllib, importlib.resources as r; from pathlib import Path\n"
        "from chatforge.world.config import WorldConfig; from chatforge.world.build import build\n"
        "t = tomllib.loads((r.files('chatforge.presets') / 'smoke.toml').read_text())\n"
        "p = Path(sys.argv[1]); p.mkdir(); build(p, WorldConfig(**t['world']), t['run']['seed'])\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env, timeout=120)
    assert _files(out) == _files(world_dir)


def test_bad_config_is_one_clear_error(tmp_path):
    from chatforge.core.errors import UserError

    for override in ("world.qa_fraction=1.5", "world.n_known=-1", "world.bios_per_person=0"):
        with pytest.raises(UserError, match="world."):
            make_world(tmp_path / override.split("=")[0], override)


def test_people_scale_beyond_the_surname_pool():
    import random

    from chatforge.world.people import make_people

    people = make_people(random.Random("big"), 2000, 0.6, 500)
    assert len({p.name for p in people}) == len(people) == 2500
    assert sum(p.group == "unknown" for p in people) == 500
