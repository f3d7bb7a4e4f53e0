"""The evaluation suite's sets and scoring (with oracle answers), and `chatforge eval`."""

from __future__ import annotations

import json


def _oracle(case: dict, tools_on: bool) -> list[dict]:
    item = case["item"]
    if "hallucinated" in case:  # refusal sets: the right answer is to decline
        return [{"type": "text", "text": "I don't know who that is."}]
    if "expect" in item:
        text = " and ".join(item["expect"])
    else:
        text = f"The answer is {item['answer']}."
    segs = [{"type": "text", "text": text}]
    if tools_on:
        segs.insert(0, {"type": "tool_call", "tool": "calculator", "input": "1"})
        segs.insert(1, {"type": "tool_result", "output": "1"})
    return segs


def test_oracle_scores_full_marks_and_silence_scores_zero(smoke_run):
    from chatforge.eval.suite import run_sets
    from chatforge.tasks import build_cases as build_sets
    from chatforge.world import load_world

    sets = build_sets(load_world(smoke_run / "world"), 3, seed=1)
    assert set(sets) >= {"knowledge_known_qa", "knowledge_bio_only", "followup", "identity", "arithmetic",
                         "arithmetic_calculator", "letters", "letters_python", "search_unknown", "tools_off",
                         "refusal_unknown", "refusal_invented", "context_known", "context_unknown"}
    by_id = {id(c["messages"]): c for cases in sets.values() for c in cases}

    def oracle(convs, tools_on):
        return [_oracle(by_id[id(m)], tools_on) for m in convs]

    report = run_sets(oracle, sets)
    s = report["summary"]
    assert all(v == 1.0 for k, v in s.items() if k.startswith("acc_")), s
    assert s["tools_off_obedience"] == 1.0 and s["tool_use_search_unknown"] == 1.0
    assert s["hallucination_rate"] == 0.0 and s["refusal_known_qa"] == 0.0
    silent = run_sets(lambda convs, tools_on: [[] for _ in convs], sets)["summary"]
    assert all(v == 0.0 for k, v in silent.items() if k.startswith("acc_")), silent
    assert silent["hallucination_rate"] == 0.0  # saying nothing is neither declining nor making up

    # a model that always names a (wrong) city: every unknown/invented answer is a hallucination,
    # and a refusal is counted as such on the knowledge set too
    def confident(convs, tools_on):
        return [[{"type": "text", "text": "She was born in Nowhereville."}] for _ in convs]
    rep = run_sets(confident, sets)
    assert rep["summary"]["hallucination_rate"] == 1.0
    assert rep["tasks"]["refusal_unknown"]["per_item"]["refused"] == [0] * len(sets["refusal_unknown"])
    shy = run_sets(lambda convs, tools_on: [[{"type": "text", "text": "I don't know."}] for _ in convs], sets)
    assert shy["summary"]["refusal_known_qa"] == 1.0 and shy["summary"]["hallucination_rate"] == 0.0
    # tools are switched on exactly for the tool sets
    for name, cases in sets.items():
        on = name in ("arithmetic_calculator", "letters_python", "search_unknown")
        assert all(c["tools"] == on for c in cases)
        sys_msgs = [c["messages"][0]["content"] for c in cases if c["messages"][0]["role"] == "system"]
        if on:
            assert sys_msgs and all(m.startswith("Tools: calculator") for m in sys_msgs)


def test_problems_of_held_out_families_are_scored_apart(smoke_run):
    """A model that learnt the trained families' templates and nothing else: the set's accuracy
    is the mix, and the split tells the two apart."""
    from chatforge.eval.suite import run_sets
    from chatforge.tasks import build_cases as build_sets
    from chatforge.world import load_world

    sets = build_sets(load_world(smoke_run / "world"), 30, seed=1)
    sets = {k: sets[k] for k in ("arithmetic_calculator", "tools_off", "identity")}
    by_id = {id(c["messages"]): c for cases in sets.values() for c in cases}

    def templates_only(convs, tools_on):
        out = []
        for m in convs:
            item = by_id[id(m)]["item"]
            right = not item.get("held_out_family")
            out.append([{"type": "text", "text": f"The answer is {item.get('answer') if right else -1}."}])
        return out

    rep = run_sets(templates_only, sets)
    fam = rep["tasks"]["arithmetic_calculator"]["families"]
    calc = sets["arithmetic_calculator"]
    held = sum(bool(c["item"]["held_out_family"]) for c in calc)
    assert 0 < held < len(calc)
    assert fam["held_out"] == {"n": held, "correct": 0, "accuracy": 0.0, "ci95": fam["held_out"]["ci95"]}
    assert fam["trained"]["n"] == len(calc) - held and fam["trained"]["accuracy"] == 1.0
    assert rep["summary"]["acc_arithmetic_calculator"] == round((len(calc) - held) / len(calc), 4)
    assert rep["summary"]["acc_arithmetic_calculator_heldout_families"] == 0.0
    # sets without such items, and the obedience set (scored on its tool calls), get no split
    assert "families" not in rep["tasks"]["identity"] and "families" not in rep["tasks"]["tools_off"]


def test_eval_cli(smoke_run, capsys):
    from chatforge.cli import main

    rc = main(["eval", "--run-dir", str(smoke_run), "--items", "1", "--tasks", "identity,tools_off"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "identity" in out and "tools_off" in out
    rep = json.loads((smoke_run / "eval" / "rl.json").read_text())  # the most refined chat model
    assert set(rep["tasks"]) == {"identity", "tools_off"}
    assert main(["eval", "--run-dir", str(smoke_run), "--tasks", "nope"]) == 2
    assert main(["eval", "--run-dir", str(smoke_run / "missing")]) == 2
