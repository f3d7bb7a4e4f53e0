"""The task registry: one entry per set, read by the suite, RL, the mixture, the eval table and the report."""

from __future__ import annotations

import json
import shutil

import pytest

from chatforge.cli import main
from chatforge.tasks import SETS, TaskSet, build_cases, guards, practised
from chatforge.tasks.taskset import Demos
from chatforge.world import load_world


def _birthplaces(ts: TaskSet, d) -> list[dict]:
    """Where known-qa people were born, asked in a wording no generator of the world uses."""
    people = d.sample([p for p in d.world.people if p.group == "known-qa"])
    return [ts.case([{"role": "user", "content": f"Name the city {p.name} was born in."}],
                    {"attribute": "birth_city", "answer": str(p.attrs["birth_city"])}) for p in people]


NEW = TaskSet("birthplaces", "birth city", "birth cities asked another way", "knowledge", False, _birthplaces,
              target=0.5, headline=True)


def test_every_set_declares_what_the_stages_read():
    for name, ts in SETS.items():
        assert ts.name == name and ts.column and ts.label and ts.metric
        assert ts.family in ("knowledge", "arithmetic", "letters", "identity", "refusal")
        if ts.demos is not None:
            assert isinstance(ts.demos, Demos)
    assert set(guards()) == {"refusal_unknown", "refusal_invented", "identity"}
    assert {"knowledge_known_qa", "letters_python", "search_unknown"} <= set(practised())
    assert "tools_off" not in practised()  # nothing to practise there: it is scored by obedience
    assert len({ts.column for ts in SETS.values()}) == len(SETS)  # every column is its own


def test_an_appended_set_leaves_the_other_sets_items_as_they_were(smoke_run, monkeypatch):
    world = load_world(smoke_run / "world")
    before = build_cases(world, 3, seed=1)
    monkeypatch.setitem(SETS, NEW.name, NEW)
    after = build_cases(world, 3, seed=1)
    assert list(after) == [*before, "birthplaces"] and len(after["birthplaces"]) == 3
    for name in before:
        assert [c["messages"] for c in after[name]] == [c["messages"] for c in before[name]]
        assert [c["item"] for c in after[name]] == [c["item"] for c in before[name]]


def test_a_set_added_in_one_entry_reaches_the_eval_table_and_the_report(smoke_run, tmp_path, monkeypatch,
                                                                         capsys, one_thread):
    run = tmp_path / "run"
    shutil.copytree(smoke_run, run, ignore=shutil.ignore_patterns("eval", "report"))
    monkeypatch.setitem(SETS, NEW.name, NEW)  # the one entry

    assert main(["--quiet", "eval", "--run-dir", str(run), "--items", "2"]) == 0
    table = (run / "eval" / "table.md").read_text()
    assert "| birth city |" in table.splitlines()[0]
    rows = json.loads((run / "eval" / "metrics.json").read_text())["rows"]
    chat = [r for r in rows if r["kind"] == "chat"]
    assert chat and all(r["tasks"]["birthplaces"]["n"] == 2 for r in chat)
    assert main(["--quiet", "eval", "--run-dir", str(run), "--items", "2", "--tasks", "birthplaces"]) == 0

    assert main(["--quiet", "report", "--run-dir", str(run)]) == 0
    page = (run / "report" / "report.html").read_text()
    ev = page[page.index('<section id="eval">'):]
    assert "birth city" in ev  # the table's column
    assert "birth city: sft" in ev  # and the headline chart, which reads the registry's flag
    capsys.readouterr()


def test_rl_names_only_sets_it_can_practise():
    from chatforge.core.errors import UserError
    from chatforge.rl.problems import check_sets

    check_sets(["knowledge_known_qa", "identity"])
    with pytest.raises(UserError, match="unknown task set 'tools_off'"):
        check_sets(["tools_off"])
