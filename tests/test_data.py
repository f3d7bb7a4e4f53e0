"""The data stage on the smoke world's crawl: quality against labels, outputs, resume, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("datatrove")
pytest.importorskip("chatforge.world")

from chatforge.cli import main


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    assert main(["--quiet", "world", "--preset", "smoke", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def crawl_run(world, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "d"
    warc = world / "crawl" / "crawl.warc.gz"
    assert main(["--quiet", "data", "--preset", "smoke", "--input", str(warc), "--out", str(out)]) == 0
    return out


def test_world_crawl_quality(crawl_run):
    m = json.loads((crawl_run / "metrics.json").read_text())
    assert m["precision"] >= 0.95 and m["recall"] >= 0.9, m
    for cls, r in m["junk_removed"].items():
        assert r["removed_frac"] >= 0.9, (cls, r)
    assert m["emails_left"] == 0 and m["public_ips_left"] == 0
    assert m["labelled_pii_leaked"] == 0


def test_outputs_and_iter_documents(crawl_run):
    from chatforge.data import iter_documents

    docs = list(iter_documents(crawl_run))
    assert docs and {"id", "url", "text"} <= set(docs[0])
    assert len({d["id"] for d in docs}) == len(docs)
    assert all(d["language"] == "en" for d in docs)
    stats = json.loads((crawl_run / "stats.json").read_text())
    names = [s["step"] for s in stats]
    assert names[:4] == ["read", "url_filter", "extract", "language"] and "minhash_dedup" in names
    for a, b in zip(stats, stats[1:]):  # a funnel: every step starts with what the last kept
        assert b["in"] == a["kept"], (a, b)
        assert a["kept"] + sum(a["dropped"].values()) == a["in"] or a["step"] == "read"
    assert stats[-1]["kept"] == len(docs)
    summary = (crawl_run / "summary.txt").read_text()
    assert "minhash_dedup" in summary and "tokens" in summary
    rejected = sorted(p.stem for p in (crawl_run / "rejected").glob("*.jsonl"))
    assert "language" in rejected and "near-duplicate" in rejected
    row = json.loads((crawl_run / "rejected" / "language.jsonl").read_text().splitlines()[0])
    assert row["reason"] == "language" and row["text"]


def test_rerun_is_a_noop(crawl_run, world, capsys):
    warc = world / "crawl" / "crawl.warc.gz"
    before = (crawl_run / "docs" / "00000.parquet").stat().st_mtime_ns
    assert main(["data", "--preset", "smoke", "--input", str(warc), "--out", str(crawl_run)]) == 0
    assert "already complete" in capsys.readouterr().out
    assert (crawl_run / "docs" / "00000.parquet").stat().st_mtime_ns == before
    assert main(["--quiet", "data", "--preset", "smoke", "--input", str(warc), "--out", str(crawl_run),
                 "--force", "--set", "data.minhash=false"]) == 0
    m = json.loads((crawl_run / "metrics.json").read_text())
    assert "minhash_dedup" not in m["steps"] and m["recall"] >= 0.9


def _mixed_inputs(world: Path, root: Path) -> list[str]:
    """The crawl plus some of its documents as JSONL and as HTML files: 3 input files."""
    docs = [json.loads(line) for line in (world / "documents.jsonl").read_text().splitlines()[:12]]
    jl = root / "docs.jsonl"
    jl.write_text("".join(json.dumps({"id": f"j{i}", "text": d["text"]}) + "\n"
                          for i, d in enumerate(docs)))
    html = root / "page.html"
    body = "".join(f"<p>{p}</p>" for p in docs[-1]["text"].split("\n") if p.strip())
    html.write_text(f"<html><head><title>t</title></head><body><article>{body}</article></body></html>")
    return [str(world / "crawl" / "crawl.warc.gz"), str(jl), str(html)]


def _snapshot(out: Path) -> tuple:
    from chatforge.data import iter_documents

    stats = json.loads((out / "stats.json").read_text())
    for s in stats:
        s.pop("time_s")
    return list(iter_documents(out)), stats, sorted(p.name for p in (out / "docs").iterdir())


def test_killed_run_resumes_to_identical_output(world, tmp_path, monkeypatch):
    from chatforge.data import pipeline, steps
    from chatforge.data import stage as data_stage

    inputs = _mixed_inputs(world, tmp_path)
    args = ["--quiet", "data", "--preset", "smoke", "--tasks", "3", "--input", *inputs]
    assert main(args + ["--out", str(tmp_path / "full")]) == 0

    # Kill 1: the first filter task (the WARC) dies midway through its input.
    real_run = steps.InputReader.run

    def dying_run(self, data=None, rank=0, world_size=1):
        for i, doc in enumerate(real_run(self, data, rank, world_size)):
            if rank == 0 and i == 5:
                raise KeyboardInterrupt
            yield doc

    monkeypatch.setattr(steps.InputReader, "run", dying_run)
    out = tmp_path / "killed"
    assert main(args + ["--out", str(out)]) == 130
    assert not (out / "docs").exists()
    monkeypatch.setattr(steps.InputReader, "run", real_run)

    # Kill 2: the run dies again after the MinHash signatures, before the final stage.
    real_pipes = pipeline.run_pipelines

    def stop_after_sigs(plans, on_start=None):
        real_pipes([p for p in plans if p[0] in ("filter", "sigs")], on_start)
        raise KeyboardInterrupt

    monkeypatch.setattr(data_stage, "run_pipelines", stop_after_sigs)
    assert main(args + ["--out", str(out)]) == 130
    monkeypatch.setattr(data_stage, "run_pipelines", real_pipes)
    done = sorted(p.name for p in (out / "_work" / "logs" / "filter" / "completions").iterdir())
    assert done == ["00000", "00001", "00002"]

    assert main(args + ["--out", str(out)]) == 0
    assert _snapshot(out) == _snapshot(tmp_path / "full")


def test_stage_in_run_dir(world, tmp_path):
    run = tmp_path / "run"
    assert main(["--quiet", "world", "--preset", "smoke", "--run-dir", str(run)]) == 0
    assert main(["--quiet", "data", "--preset", "smoke", "--run-dir", str(run),
                 "--set", "data.minhash=false", "--set", "data.extractor=resiliparse"]) == 0
    m = json.loads((run / "data" / "metrics.json").read_text())
    assert (run / "data" / "_COMPLETE.json").exists()
    assert m["output_documents"] > 0 and "precision" in m


def test_cli_errors(tmp_path, capsys):
    assert main(["data", "--input", str(tmp_path / "nope.warc.gz"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    assert main(["data", "--preset", "smoke", "--input", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--set", "data.extractor=magic"]) == 2
    assert "extractor" in capsys.readouterr().err
