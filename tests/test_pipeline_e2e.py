"""The default run end to end on the smoke preset: every stage, the eval table and the report in
one `chatforge run`, a repeated run that skips everything, and the final model exported to GGUF
and read back into a checkpoint that gives the same logits."""

from __future__ import annotations

import json
import time

import pytest
import torch

from chatforge.cli import main


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    """A run of its own (the session's `smoke_run` is shared with tests that change it)."""
    run_dir = tmp_path_factory.mktemp("e2e") / "run"
    t0 = time.perf_counter()
    assert main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(run_dir)]) == 0
    print(f"\nchatforge run --preset smoke: {time.perf_counter() - t0:.1f} s end to end")
    return run_dir


def test_smoke_run_goes_through_every_stage(fresh_run):
    from chatforge.pipeline import PIPELINE

    names = PIPELINE.names
    assert names[-2:] == ["eval", "report"] and {"probe", "rl", "rlhf", "distill"} <= set(names)
    walls = {}
    for n in names:
        marker = json.loads((fresh_run / n / "_COMPLETE.json").read_text())
        walls[n] = marker["wall_s"]
    print(f"smoke stages: {sum(walls.values()):.1f} s in all; {walls}")

    # the eval stage's table: a row per checkpoint, in pipeline order, chat rows with the suite
    ev = json.loads((fresh_run / "eval" / "metrics.json").read_text())
    rows = {r["name"]: r for r in ev["rows"]}
    assert list(rows) == ["pretrain", "sft", "probe", "rl", "rlhf", "distill"]
    assert rows["sft"]["source"]["suite"] == "sft/eval.json"  # reused, not measured twice
    assert "wall_s" in ev and (fresh_run / "eval" / "table.md").read_text().count("\n|") >= 6

    # the report stage's page: every stage's time (eval included, once) and the missed targets
    rep = json.loads((fresh_run / "report" / "metrics.json").read_text())
    assert rep["figures"] >= 5 and isinstance(rep["missed"], list)
    md = (fresh_run / "report" / "report.md").read_text()
    timing = md[md.index("Time per stage"):]
    for n in names[:-1]:
        assert f"| {n} | complete |" in timing, n
    assert "| eval | command" not in timing and "| report |" not in timing
    assert "<svg" in (fresh_run / "report" / "report.html").read_text()


def test_repeated_run_skips_every_stage(fresh_run, capsys):
    before = {p: p.stat().st_mtime_ns for p in fresh_run.glob("*/_COMPLETE.json")}
    assert main(["run", "--preset", "smoke", "--run-dir", str(fresh_run)]) == 0
    out = capsys.readouterr().out
    assert " ran " not in out and out.count("skipped") >= len(before)
    assert before == {p: p.stat().st_mtime_ns for p in fresh_run.glob("*/_COMPLETE.json")}


def test_a_forced_eval_stage_keeps_the_rows_it_cached(fresh_run):
    """Re-running the eval stage moves eval/ aside; its cached rows come along, nothing is measured
    again, and the report after it is rendered anew."""
    assert main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(fresh_run), "--force", "eval"]) == 0
    assert (fresh_run / "eval.prev" / "metrics.json").is_file() and (fresh_run / "report.prev").is_dir()
    rows = json.loads((fresh_run / "eval" / "metrics.json").read_text())["rows"]
    assert len(rows) == 6 and all(r["cached"] for r in rows)
    assert (fresh_run / "report" / "report.html").is_file()


@pytest.mark.parametrize("override,says", [("eval.tasks=nope", "unknown task set 'nope'"),
                                            ("eval.items=-1", "at least 1")])
def test_bad_eval_settings_are_one_sentence(fresh_run, tmp_path, override, says):
    from chatforge.core.errors import UserError
    from chatforge.core.log import Logger
    from chatforge.core.rundir import StageContext
    from chatforge.eval.stage import run
    from chatforge.pipeline import load_config

    out = tmp_path / "eval"
    out.mkdir()
    ctx = StageContext(name="eval", run_dir=fresh_run, out=out, config=load_config("smoke", [override]),
                       log=Logger(None, "eval"))
    with pytest.raises(UserError, match=says):
        run(ctx)


def test_export_at_the_end_reads_back_the_same_model(fresh_run, tmp_path, one_thread):
    from chatforge.engine import source
    from chatforge.importer.convert import import_model
    from chatforge.train.checkpoint import load_model

    out = tmp_path / "final.gguf"
    assert main(["--quiet", "export", "--run-dir", str(fresh_run), "--format", "gguf",
                 "--out", str(out)]) == 0
    final = source.load(fresh_run)
    assert final.name == "rlhf"  # the most refined full-size chat model (the student is asked for by name)
    ckpt, _ = import_model(out, tmp_path / "imported")
    back, _, meta = load_model(ckpt)
    assert meta["stage"] == "import"
    ids = final.tokenizer.encode("Who are you?")
    with torch.no_grad():
        a, b = final.model(torch.tensor([ids])), back(torch.tensor([ids]))
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    assert main(["--quiet", "export", "--run-dir", str(fresh_run), "--format", "hf", "--out",
                 str(tmp_path / "hf")]) == 0
    assert (tmp_path / "hf" / "model.safetensors").is_file()
