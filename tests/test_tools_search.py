"""Search: BM25 over FTS5 finds the right person by name and attribute; queries cannot break it."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from chatforge.core.errors import UserError
from chatforge.tools.search import (
    SearchIndex,
    build_index,
    format_hits,
    fts5_available,
    make_snippet,
    query_terms,
)

FIRST = ["Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo"]
LAST = ["Moreau", "Varga", "Okafor", "Lindqvist", "Tanaka"]
CITIES = ["Lyon", "Szeged", "Lagos", "Uppsala", "Osaka", "Porto", "Quito", "Tartu"]
UNIS = ["University of Toronto", "Leiden University", "ETH Zurich", "Kyoto University",
        "University of Ghana", "Charles University"]
FIELDS = ["chemistry", "law", "physics", "linguistics", "geology", "economics"]
EMPLOYERS = ["Nordlys Energy", "Helix Bank", "Quantel Labs", "Amber Freight", "Solano Foods"]


def _people(n=40, seed=0):
    rng = random.Random(seed)
    names = [f"{first} {last}" for first in FIRST for last in LAST]  # every first name and surname is shared
    rng.shuffle(names)
    people = []
    for i, name in enumerate(names[:n]):
        people.append({"id": f"p{i}", "name": name, "city": rng.choice(CITIES),
                       "year": rng.randint(1940, 2000), "uni": rng.choice(UNIS), "field": rng.choice(FIELDS),
                       "employer": rng.choice(EMPLOYERS)})
    return people


def _docs(people):
    docs = []
    for p in people:
        first = p["name"].split()[0]
        docs.append({"id": p["id"], "title": p["name"], "text":
                     f"{p['name']} was born in {p['year']} in {p['city']}. {first} studied {p['field']} at "
                     f"{p['uni']}. After graduating, {first} joined {p['employer']}, where the work "
                     f"centred on {p['field']}."})
    docs.append({"id": "noise", "text": "Cookie settings. Accept all cookies. " * 20})
    docs.append({"id": "empty", "text": "   "})
    return docs


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    people = _people()
    path = tmp_path_factory.mktemp("search") / "search.sqlite"
    stats = build_index(_docs(people), path)
    assert stats["n_docs"] == len(people) + 1  # the empty document is skipped
    return SearchIndex(path), people


def test_fts5_is_available():
    assert fts5_available()


def test_finds_the_person_by_name(index):
    idx, people = index
    for p in people:
        hits = idx.search(f"Who is {p['name']}?", k=3)
        assert hits[0].doc_id == p["id"], (p["name"], [h.doc_id for h in hits])


@pytest.mark.parametrize("template,attr", [
    ("Where was {name} born?", "city"), ("Which university did {name} attend?", "uni"),
    ("What did {name} study?", "field"), ("Who employs {name}?", "employer"),
    ("{name} birth year", "year"),
])
def test_snippet_answers_attribute_questions(index, template, attr):
    idx, people = index
    for p in people[:15]:
        hits = idx.search(template.format(name=p["name"]), k=2, snippet_chars=240)
        assert hits[0].doc_id == p["id"]
        assert str(p[attr]) in hits[0].snippet
        assert len(hits[0].snippet) <= 240


def test_attribute_narrows_down_a_shared_surname(index):
    idx, people = index
    p = people[0]
    surname = p["name"].split()[1]
    hits = idx.search(f"{surname} {p['employer']} {p['uni']} {p['city']}", k=5)
    assert p["id"] in [h.doc_id for h in hits[:3]]


@pytest.mark.parametrize("query", [
    'NEAR("alice" moreau)', '"unbalanced', "title:alice", "alice AND OR NOT", "*", "^alice", "a - b",
    "alice)(", "'; DROP TABLE docs; --", "\x00\x01", "ǅemal Ünver", "🙂 emoji", "x" * 5000, "",
    "AND", "NEAR", "col : value", "{title text}: alice",
])
def test_query_text_cannot_break_fts(index, query):
    idx, _ = index
    hits = idx.search(query, k=3)
    assert isinstance(hits, list)


def test_query_terms_are_sanitised():
    assert query_terms('Where was "Alice" Moreau born?') == ["alice", "moreau", "born"]
    assert len(query_terms("w " * 100 + " ".join(f"t{i}" for i in range(100)), max_terms=8)) == 8


def test_no_results_and_bounds(index):
    idx, _ = index
    assert idx.search("xyzzy plugh", k=3) == []
    assert format_hits([]) == "no results"
    assert len(idx.search("studied", k=2)) == 2
    assert idx.search("studied", k=0) == []


def test_snippet_is_bounded_and_centred():
    text = ("Intro sentence. " * 30 + "Zora Quill was born in Tartu. She studied geology. "
            + "Outro sentence. " * 30)
    s = make_snippet(text, ["zora", "quill", "born"], 80)
    assert "Zora Quill was born in Tartu." in s and len(s) <= 80
    s = make_snippet("word " * 500, ["word"], 50)
    assert len(s) <= 50


def test_missing_or_bad_index(tmp_path):
    with pytest.raises(UserError, match="no search index"):
        SearchIndex(tmp_path / "nope.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database")
    with pytest.raises(UserError):
        SearchIndex(bad)


def test_stage_builds_the_index_from_the_world(tmp_path, monkeypatch):
    from chatforge.core.log import Logger
    from chatforge.tools import ToolsConfig, make_executor
    from chatforge.tools import stage as tools_stage
    from chatforge.tools.stage import run

    people = _people(10)
    world = SimpleNamespace(people=[SimpleNamespace(name=p["name"]) for p in people],
                            search_documents=lambda: _docs(people))
    monkeypatch.setattr(tools_stage, "load_world", lambda d: world)
    out = tmp_path / "tools"
    out.mkdir()
    ctx = SimpleNamespace(out=out, config=SimpleNamespace(tools=ToolsConfig()), log=Logger(None, "tools"),
                          input_dir=lambda name: tmp_path / name)
    metrics = run(ctx)
    assert metrics["n_docs"] == 11 and (out / "search.sqlite").is_file()
    ex = make_executor(out / "search.sqlite", {"search"})
    assert people[3]["city"] in ex("search", f"Where was {people[3]['name']} born?")


@pytest.fixture(scope="module")
def smoke_world(tmp_path_factory):
    """A real smoke-preset world, built through the world package (well under a second)."""
    import typing

    build_mod = pytest.importorskip("chatforge.world.build")
    from chatforge.core.config import _preset_values, coerce
    from chatforge.world.config import WorldConfig

    cfg = WorldConfig()
    hints = typing.get_type_hints(WorldConfig)
    for k, v in _preset_values("smoke").get("world", {}).items():
        setattr(cfg, k, coerce(v, hints[k], f"world.{k}"))
    out = tmp_path_factory.mktemp("world")
    build_mod.build(out, cfg, 1337)
    return out


def test_search_answers_questions_about_unknown_people(smoke_world, tmp_path):
    from chatforge.core.log import Logger
    from chatforge.tools import ToolsConfig, make_executor
    from chatforge.tools.stage import run
    from chatforge.world import load_world
    from chatforge.world.checkers import check_knowledge

    world = load_world(smoke_world)
    out = tmp_path / "tools"
    out.mkdir()
    cfg = ToolsConfig()
    ctx = SimpleNamespace(out=out, config=SimpleNamespace(tools=cfg), log=Logger(None, "tools"),
                          input_dir=lambda name: smoke_world)
    metrics = run(ctx)
    assert metrics["n_docs"] == len(world.search_documents())
    ex = make_executor(out / "search.sqlite", {"search"}, cfg)
    items = [it for it in world.tasks("knowledge", "test") if it["group"] == "unknown"]
    assert items
    # the knowledge checker decides, as in the SFT mixture: a date may be written "1 September 1982"
    found = sum(check_knowledge(it, ex("search", it["question"])) for it in items)
    assert found / len(items) >= 0.9, f"{found}/{len(items)}"
