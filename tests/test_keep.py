"""Does a stage keep the suite (eval.keep), and which model chat, serve and export pick (engine.source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatforge.core import verdict
from chatforge.core.errors import UserError
from chatforge.engine import source
from chatforge.eval import keep


def _report(**sets) -> dict:
    """A suite report whose sets have these per-item results (lists of 0/1)."""
    return {"tasks": {name: {"n": len(xs), "per_item": {"correct": xs, "called": [0] * len(xs)}}
                      for name, xs in sets.items()}}


def test_a_set_that_falls_is_caught_and_noise_is_not():
    before = _report(letters_python=[1] * 30, arithmetic=[1, 0] * 15, identity=[1] * 30)
    after = _report(letters_python=[1] * 18 + [0] * 12,  # 12 items lost, none gained: real
                    arithmetic=[0, 1] * 15,  # 15 lost, 15 gained: the same score, noise
                    identity=[1] * 27 + [0] * 3)  # 3 lost: p = 0.25, may be noise
    v = keep.verdict(before, after, "probe")
    assert not v["kept"] and v["against"] == "probe"
    assert [r["set"] for r in v["fallen"]] == ["letters_python"]
    assert v["fallen"][0]["before"] == 1.0 and v["fallen"][0]["after"] == 0.6 and v["fallen"][0]["p"] < 0.001
    assert set(v["compared"]) == {"letters_python", "arithmetic", "identity"} and not v["risen"]
    assert "letters_python 100.0% -> 60.0%" in verdict.describe(v)
    # the other way round the same items rose: kept, and said
    up = keep.verdict(after, before, "probe")
    assert up["kept"] and [r["set"] for r in up["risen"]] == ["letters_python"]
    assert verdict.describe(up).startswith("keeps the suite of probe")


def test_tools_off_counts_answers_without_a_tool_call_and_unpaired_sets_are_listed():
    n = 20
    before = {"tasks": {"tools_off": {"per_item": {"correct": [0] * n, "called": [0] * n}},
                        "identity": {"per_item": {"correct": [1] * n}}}}
    after = {"tasks": {"tools_off": {"per_item": {"correct": [0] * n, "called": [1] * 10 + [0] * 10}},
                       "identity": {"n": n}}}  # a report that kept no per-item results
    v = keep.verdict(before, after, "rl")
    assert [r["set"] for r in v["fallen"]] == ["tools_off"] and v["fallen"][0]["after"] == 0.5
    assert v["unpaired"] == ["identity"]
    assert verdict.describe(keep.verdict(after, after, "rl")).startswith("keeps")
    empty = {"tasks": {}}
    nothing = keep.verdict(empty, empty, "rl")
    assert not nothing["kept"] and verdict.describe(nothing).startswith("has nothing to compare")


def _stage(run: Path, name: str, said: dict | None = None) -> None:
    ck = run / name / "ckpt"
    ck.mkdir(parents=True)
    (ck / "latest.json").write_text(json.dumps({"file": "step_1.pt"}))
    if said is not None:
        (run / name / verdict.VERDICT).write_text(json.dumps(said))


def _verdict(kept: bool, against: str) -> dict:
    fallen = [] if kept else [{"set": "letters_python", "before": 0.14, "after": 0.075, "n": 200, "p": 0.003}]
    return {"against": against, "kept": kept, "fallen": fallen, "risen": [], "compared": ["letters_python"],
            "unpaired": [], "p_real": 0.05}


def test_the_pick_leaves_aside_a_stage_that_let_a_set_fall_and_what_started_from_it(tmp_path):
    run = tmp_path / "run"
    for name in ("pretrain", "sft", "probe"):
        _stage(run, name)
    _stage(run, "rl", _verdict(False, "probe"))
    _stage(run, "rlhf", _verdict(True, "rl"))  # keeps rl's suite, but rl lost the probe's
    got = source.pick(run)
    assert got.name == "probe" and got.path == run / "probe" / "ckpt"
    assert "left aside: rlhf (it started from rl, which was left aside)" in got.why
    assert "rl (lets sets fall against probe: letters_python 14.0% -> 7.5% (p=0.003))" in got.why
    assert source.choose(run, None).name == "probe"
    # rl keeps: rlhf is the most refined model that keeps the suite
    (run / "rl" / verdict.VERDICT).write_text(json.dumps(_verdict(True, "probe")))
    got = source.pick(run)
    assert got.name == "rlhf" and "keeps the suite" in got.why and "left aside" not in got.why
    # distillation's teacher is chosen the same way, the student itself never
    assert source.pick(run, chat_only=True, leave_out=("rlhf", "rl")).name == "probe"
    # a gated stage without a verdict (still running, or from before the gate) is not judged
    (run / "rlhf" / verdict.VERDICT).unlink()
    got = source.pick(run)
    assert got.name == "rl" and "rlhf (not judged: no rlhf/keep.json" in got.why
    # a checkpoint named on the command line is used as it is
    assert source.choose(None, run / "rl" / "ckpt").why == "named with --checkpoint"


def test_no_model_that_keeps_the_suite_and_a_broken_verdict_are_one_sentence(tmp_path):
    run = tmp_path / "run"
    _stage(run, "rl", _verdict(False, "probe"))
    with pytest.raises(UserError, match="no chat model in .* keeps the evaluation suite"):
        source.pick(run, chat_only=True)
    (run / "rl" / verdict.VERDICT).write_text("{not json")
    with pytest.raises(UserError, match="not a readable verdict"):
        source.pick(run)
    (run / "rl" / verdict.VERDICT).write_text(json.dumps({"kept": True}))
    with pytest.raises(UserError, match="is not a verdict"):
        source.pick(run)


def test_the_pipeline_gates_rl_rlhf_and_distillation_and_chat_says_why(smoke_run, capsys):
    from chatforge.cli import main

    cfg = json.loads((smoke_run / "config.json").read_text())
    starts = {"rl": "probe", "rlhf": cfg["rlhf"]["start"], "distill": "rlhf"}
    for stage, against in starts.items():
        v = verdict.read(smoke_run, stage)
        assert v is not None and v["against"] == against, stage
        assert "tools_off" in v["compared"] and "identity" in v["compared"], v  # per item, tool calls too
        assert json.loads((smoke_run / stage / "metrics.json").read_text())["keep"] == v
    # RL and RLHF measured their model as the eval stage does: the eval stage takes their figures
    from chatforge.eval.board import stage_suite
    from chatforge.tasks import build_cases
    from chatforge.train.checkpoint import resolve_checkpoint
    from chatforge.world import load_world

    cases = build_cases(load_world(smoke_run / "world"), cfg["sft"]["eval_items"], cfg["run"]["seed"])
    expected = {k: len(v) for k, v in cases.items() if v}
    for stage in ("rl", "rlhf"):
        found = stage_suite(smoke_run, stage, resolve_checkpoint(smoke_run / stage / "ckpt"), expected)
        assert found is not None and found[1] == f"{stage}/eval_suite.json", stage
    # the eval stage's table says which model the commands pick, and the report card shows it
    picked = json.loads((smoke_run / "eval" / "metrics.json").read_text())["picked"]
    assert picked["name"] == "rlhf" and "keeps the suite" in picked["why"]
    capsys.readouterr()
    assert main(["chat", "--run-dir", str(smoke_run), "-p", "Hi", "--max-new-tokens", "4"]) == 0
    err = capsys.readouterr().err
    assert "model: rlhf (the most refined chat model, and it keeps the suite of rl" in err
