"""`chatforge world`: --out writes a world (and refuses foreign directories), --run-dir runs the stage."""

from __future__ import annotations

import json
import subprocess
import sys

from chatforge.cli import main
from chatforge.world import is_world_dir, load_world


def test_out_refuses_a_non_world_directory(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    r = subprocess.run([sys.executable, "-m", "chatforge", "world", "--preset", "smoke", "--out", str(d)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "not a world directory" in r.stderr
    assert "Traceback" not in r.stderr
    assert (d / "notes.txt").read_text() == "keep me" and not is_world_dir(d)


def test_out_writes_and_rewrites_a_world(tmp_path, capsys):
    d = tmp_path / "w"
    assert main(["world", "--preset", "smoke", "--out", str(d)]) == 0
    assert "generated in" in capsys.readouterr().out
    first = (d / "people.jsonl").read_bytes()
    assert is_world_dir(d) and (d / "metrics.json").exists()
    # an existing world directory may be replaced; --seed changes the world
    assert main(["world", "--preset", "smoke", "--out", str(d), "--seed", "99"]) == 0
    assert (d / "people.jsonl").read_bytes() != first
    assert load_world(d).seed == 99
    assert [p.name for p in tmp_path.iterdir()] == ["w"]  # no temp dirs left behind


def test_stage_under_the_run_protocol(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["world", "--preset", "smoke", "--run-dir", str(run)]) == 0
    metrics = json.loads((run / "world" / "metrics.json").read_text())
    assert metrics["documents"] > 0 and metrics["crawl_pages"] > metrics["crawl_keep"]
    w = load_world(run / "world")
    assert w.crawl_warc.exists() and w.crawl_labels.exists()
    assert len(w.tasks("arithmetic", "train")) == 60
    assert main(["world", "--run-dir", str(run)]) == 0  # complete: skipped
    assert "skipping" in capsys.readouterr().out
