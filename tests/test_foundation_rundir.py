"""The stage completion protocol: run, skip, re-run on change, resume after a crash."""

from __future__ import annotations

import json

import pytest

from chatforge.core.config import RunConfig
from chatforge.core.errors import UserError
from chatforge.core.rundir import COMPLETE, is_complete, run_stage
from chatforge.core.stage import Pipeline, Stage
from chatforge.pipeline import load_config

CALLS: dict[str, list] = {"fake": [], "down": []}


def _fake(ctx):
    CALLS["fake"].append(ctx.resuming)
    part = ctx.out / "part.txt"
    before = part.read_text() if part.exists() else ""
    part.write_text(before + "x")
    if ctx.config.run.device == "crash" and not ctx.resuming:
        raise RuntimeError("simulated crash")
    (ctx.out / "out.txt").write_text(str(ctx.config.run.seed))
    return {"parts": len(part.read_text())}


def _down(ctx):
    CALLS["down"].append(1)
    up = ctx.input_dir("fake")
    (ctx.out / "copy.txt").write_text((up / "out.txt").read_text())
    return {}


# the run section decides both: a changed seed re-runs them
PIPE = Pipeline([Stage("fake", _fake, config={"run": RunConfig}),
                 Stage("down", _down, config={"run": RunConfig}, needs=("fake",))])


@pytest.fixture
def fake_stages():
    for v in CALLS.values():
        v.clear()
    yield CALLS["fake"], CALLS["down"]


def test_run_skip_rerun(tmp_path, fake_stages):
    up, down = fake_stages
    run_dir = tmp_path / "run"
    cfg = load_config("smoke", ["run.seed=1"])
    assert run_stage(PIPE, "fake", run_dir, cfg) == {"parts": 1, "wall_s": pytest.approx(0, abs=5)}
    assert is_complete(PIPE, PIPE.stage("fake"), run_dir, cfg)
    assert json.loads((run_dir / "fake" / "metrics.json").read_text())["parts"] == 1
    assert run_stage(PIPE, "fake", run_dir, cfg) is None  # complete: skipped
    run_stage(PIPE, "down", run_dir, cfg)
    assert run_stage(PIPE, "down", run_dir, cfg) is None
    assert len(up) == 1 and len(down) == 1

    cfg2 = load_config("smoke", ["run.seed=2"])  # changed config: re-run, old outputs kept aside
    run_stage(PIPE, "fake", run_dir, cfg2)
    assert (run_dir / "fake" / "out.txt").read_text() == "2"
    assert (run_dir / "fake.prev" / "out.txt").read_text() == "1"
    assert (run_dir / "fake" / "part.txt").read_text() == "x"  # started fresh
    # the downstream stage is stale now because its input changed
    assert not is_complete(PIPE, PIPE.stage("down"), run_dir, cfg2)
    run_stage(PIPE, "down", run_dir, cfg2)
    assert (run_dir / "down" / "copy.txt").read_text() == "2"
    run_stage(PIPE, "fake", run_dir, cfg2, force=True)
    assert len(up) == 3


def test_crash_then_resume(tmp_path, fake_stages):
    up, _ = fake_stages
    run_dir = tmp_path / "run"
    cfg = load_config("smoke", ["run.device=crash"])
    with pytest.raises(RuntimeError):
        run_stage(PIPE, "fake", run_dir, cfg)
    assert not (run_dir / "fake" / COMPLETE).exists()
    assert run_stage(PIPE, "fake", run_dir, cfg)["parts"] == 2  # resumed on top of the partial work
    assert up == [False, True]


def test_missing_dependency_is_a_user_error(tmp_path, fake_stages):
    with pytest.raises(UserError, match="'fake' stage"):
        run_stage(PIPE, "down", tmp_path / "run", load_config("smoke"))
