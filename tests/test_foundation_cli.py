"""The command line: help, doctor, run, and one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys

from chatforge.cli import main


def cf(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatforge", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_help_and_doctor():
    r = cf("--help")
    assert r.returncode == 0 and "run" in r.stdout and "doctor" in r.stdout
    r = cf("doctor")
    assert r.returncode == 0
    for key in ("python", "torch", "device", "bf16", "free disk"):
        assert key in r.stdout


def test_unknown_preset_is_one_line_exit_2(tmp_path):
    r = cf("run", "--preset", "nosuch", "--run-dir", str(tmp_path / "r"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "unknown preset 'nosuch'" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_key_is_one_line_exit_2(tmp_path):
    r = cf("run", "--preset", "smoke", "--set", "pretrain.nosuch=1", "--run-dir", str(tmp_path / "r"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "pretrain" in r.stderr
    r = cf("--debug", "run", "--preset", "nosuch", "--run-dir", str(tmp_path / "r"))
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_run_dir_that_is_not_a_run(tmp_path):
    (tmp_path / "stuff.txt").write_text("mine")
    assert main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(tmp_path)]) == 2
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(f)]) == 2
    assert (tmp_path / "stuff.txt").read_text() == "mine"


def test_run_unknown_until(tmp_path):
    assert main(["--quiet", "run", "--preset", "smoke", "--until", "nosuch",
                 "--run-dir", str(tmp_path / "r")]) == 2


def test_stage_without_its_inputs_writes_nothing(tmp_path):
    run_dir = tmp_path / "new"
    assert main(["--quiet", "sft", "--preset", "smoke", "--run-dir", str(run_dir)]) == 2
    assert not run_dir.exists()
