"""The data stage on datatrove's Ray executor: identical output to the local executor.

The comparison needs a running Ray cluster and is opt-in:

    ray start --head --num-cpus=2 --include-dashboard=false
    CHATFORGE_RAY=1 pytest tests/test_data_ray.py        # RAY_ADDRESS picks another cluster
    ray stop

Without CHATFORGE_RAY=1 (or without the ray package) only the setup-error test runs; it needs
neither ray nor a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("datatrove")
pytest.importorskip("chatforge.world")

from chatforge.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_unreachable_cluster_is_one_sentence(tmp_path, capsys):
    """No ray package, or no cluster at the address: exit 2, one sentence, nothing written."""
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>hello</p></body></html>")
    out = tmp_path / "o"
    assert main(["data", "--input", str(page), "--out", str(out), "--executor", "ray",
                 "--ray-address", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "ray" in err.lower() and ("ray start --head" in err or "pip install" in err)
    assert not out.exists()


def test_unfinished_tasks_stop_the_stage(tmp_path):
    """The Ray executor logs a failed task and returns; run_pipelines must not go on as if the
    stage had run. An executor that finishes no task stands in for it (no ray needed)."""
    from datatrove.executor import LocalPipelineExecutor

    from chatforge.core.errors import UserError
    from chatforge.data.pipeline import run_pipelines

    class LosesTasks(LocalPipelineExecutor):
        def run(self):
            self.mark_rank_as_completed(0)  # 1 of 3 tasks leaves its marker

    ex = LosesTasks(pipeline=[], tasks=3, logging_dir=str(tmp_path / "logs" / "filter"))
    with pytest.raises(UserError, match="2 of 3 tasks of datatrove stage 'filter' did not finish"):
        run_pipelines([("filter", ex, [])])


def _chatforge(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "chatforge", *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.mark.skipif(os.environ.get("CHATFORGE_RAY") != "1",
                    reason="opt-in: start a cluster with `ray start --head`, then set CHATFORGE_RAY=1")
def test_ray_executor_matches_local(tmp_path):
    pytest.importorskip("ray")
    from chatforge.data import iter_documents
    from chatforge.data.compare import compare_outputs

    world = tmp_path / "w"
    _chatforge("--quiet", "world", "--preset", "smoke", "--out", str(world))
    # several input files, so the filter stage has several tasks and the shards' order matters
    docs = [json.loads(ln) for ln in (world / "documents.jsonl").read_text().splitlines()]
    inputs = [str(world / "crawl" / "crawl.warc.gz")]
    for i in range(3):
        p = tmp_path / f"docs{i}.jsonl"
        p.write_text("".join(json.dumps({"id": f"j{i}-{k}", "text": d["text"]}) + "\n"
                             for k, d in enumerate(docs[i::3][:15])))
        inputs.append(str(p))
    common = ["--quiet", "data", "--preset", "smoke", "--input", *inputs, "--tasks", "3",
              "--workers", "2"]
    _chatforge(*common, "--out", str(tmp_path / "local"))
    _chatforge(*common, "--out", str(tmp_path / "ray"), "--executor", "ray")

    cmp = compare_outputs(tmp_path / "local", tmp_path / "ray")
    assert cmp["identical"], cmp
    assert len(cmp["shards"]) == 3 and cmp["documents"][0] > 0
    ray_logs = tmp_path / "ray" / "_work" / "logs" / "filter"
    saved = json.loads((ray_logs / "executor.json").read_text())  # datatrove's record of the executor
    assert "nodes_per_task" in saved and "nodes_per_task" not in json.loads(
        (tmp_path / "local" / "_work" / "logs" / "filter" / "executor.json").read_text())
    # the executor is not part of the output's identity: the local command finds it complete
    r = _chatforge("data", "--preset", "smoke", "--input", *inputs, "--tasks", "3", "--workers", "2",
                   "--out", str(tmp_path / "ray"))
    assert "already complete" in r.stdout
    assert list(iter_documents(tmp_path / "ray")) == list(iter_documents(tmp_path / "local"))
