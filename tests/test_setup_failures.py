"""A broken install stops a stage loudly; it is never recorded as bad data.

The regression: a fresh install's trafilatura could not import (jusText needs lxml.html.clean,
which lxml 6 moved out), the data stage caught the ImportError per page, dropped all 153 pages
as extraction errors and reported itself done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("datatrove")

from chatforge.cli import main

REPO = Path(__file__).resolve().parents[1]


def _fake_broken_trafilatura(root: Path) -> Path:
    pkg = root / "fakepkgs" / "trafilatura"
    pkg.mkdir(parents=True)
    # what the real failure looked like
    (pkg / "__init__.py").write_text(
        "raise ImportError('lxml.html.clean module is now a separate project lxml_html_clean.')\n")
    return pkg.parent


def test_extractor_that_does_not_import_stops_the_data_stage(tmp_path):
    fake = _fake_broken_trafilatura(tmp_path)
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake), str(REPO)])}
    r = subprocess.run([sys.executable, "-m", "chatforge", "run", "--preset", "smoke", "--run-dir",
                        str(run_dir), "--until", "data"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    err = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    line = next(ln for ln in err if "data stage cannot start" in ln)
    assert "trafilatura" in line and "lxml_html_clean" in line and "constraints.txt" in line
    assert (run_dir / "world" / "_COMPLETE.json").exists()
    assert not (run_dir / "data" / "_COMPLETE.json").exists()
    assert not list((run_dir / "data").glob("docs/*.parquet")) if (run_dir / "data").exists() else True


def test_standalone_data_command_checks_too(tmp_path, capsys, monkeypatch):
    from chatforge.core import deps

    monkeypatch.setattr(deps, "_results", {"trafilatura extraction": "ImportError: no module named x"})
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>hello</p></body></html>")
    out = tmp_path / "out"
    rc = main(["--quiet", "data", "--preset", "smoke", "--input", str(page), "--out", str(out)])
    assert rc == 2
    assert "trafilatura" in capsys.readouterr().err
    assert not out.exists()  # nothing written


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    assert main(["--quiet", "world", "--preset", "smoke", "--out", str(out)]) == 0
    return out


def test_every_page_failing_one_way_stops_the_stage(world, tmp_path, capsys, monkeypatch):
    from chatforge.data import extract

    def boom(html: str) -> str:
        raise ValueError("parser exploded on <html>")

    monkeypatch.setitem(extract.EXTRACTORS, "trafilatura", boom)  # smoke: 1 worker, in-process
    out = tmp_path / "d"
    rc = main(["--quiet", "data", "--preset", "smoke", "--input", str(world / "crawl" / "crawl.warc.gz"),
               "--out", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "extract error" in err and "parser exploded" in err and "setup problem" in err
    assert not (out / "_DONE.json").exists() and not (out / "metrics.json").exists()
    # fixed, the same command finishes the job
    monkeypatch.undo()
    assert main(["--quiet", "data", "--preset", "smoke", "--input", str(world / "crawl" / "crawl.warc.gz"),
                 "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["output_documents"] > 0


def test_some_pages_failing_is_not_a_setup_problem():
    from chatforge.core.failures import SystematicFailure, stop_if_systematic

    stop_if_systematic("data", "pages", 100, {"extract_error": 3})  # a few bad pages: fine
    stop_if_systematic("data", "pages", 5, {"extract_error": 4})  # too few to call it
    with pytest.raises(SystematicFailure, match="60 of 100 pages failed with 'extract error'"):
        stop_if_systematic("data", "pages", 100, {"extract_error": 60}, {"extract_error": "E: x"})
    with pytest.raises(SystematicFailure, match="1 of 1"):
        stop_if_systematic("data", "pages", 1, {"extract_error": 1})


def test_doctor_lists_every_stage_dependency(capsys):
    assert main(["doctor", "--no-bench"]) == 0
    out = capsys.readouterr().out
    for label in ("trafilatura extraction", "language ID lid.176", "rustbpe", "tiktoken", "python sandbox",
                  "gguf"):
        assert label in out, out
    assert "MISSING" not in out and "BROKEN" not in out


def test_doctor_names_a_broken_dependency_and_the_fix(capsys, monkeypatch):
    from chatforge.core import deps

    monkeypatch.setattr(deps, "_results", {"rustbpe (BPE training)": "ImportError: no module named rustbpe"})
    assert main(["doctor", "--no-bench"]) == 1
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "rustbpe" in ln)
    assert "BROKEN" in line and "pip install" in out


def test_sft_mixture_stops_when_a_tool_always_fails():
    from chatforge.core.failures import SystematicFailure
    from chatforge.tools.training import CachedExecutor

    def sandbox_down(tool: str, inp: str) -> str:
        return "Error: unshare: operation not permitted" if tool == "python" else "42"

    ex = CachedExecutor(sandbox_down, threads=2)
    ex.prefetch([("calculator", f"{i}*2") for i in range(30)]
                + [("python", f"print({i})") for i in range(30)])
    with pytest.raises(SystematicFailure, match="30 of 30 python calls .* unshare: operation not permitted"):
        ex.stop_if_broken()
    ok = CachedExecutor(lambda t, i: "3" if i != "bad" else "Error: division by zero", threads=2)
    ok.prefetch([("calculator", str(i)) for i in range(30)] + [("calculator", "bad")])
    ok.stop_if_broken()  # one failing call is a per-item problem


def test_a_complete_stage_does_not_need_its_packages(tmp_path, monkeypatch):
    from chatforge.core import deps

    run_dir = tmp_path / "run"
    assert main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(run_dir), "--until", "data"]) == 0
    monkeypatch.setattr(deps, "_results", {"trafilatura extraction": "ImportError: gone"})
    # the data stage is done: continuing the run must not ask for its extractor again ...
    assert main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(run_dir), "--until", "data"]) == 0
    assert main(["--quiet", "data", "--run-dir", str(run_dir)]) == 0
    # ... but running it again does
    assert main(["--quiet", "data", "--run-dir", str(run_dir), "--force"]) == 2
