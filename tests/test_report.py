"""`chatforge report`: the smoke run's report card, its Markdown twin, sections for stages still
being built (drawn from their metrics as written, and survived when malformed), and the page in
a real browser (Chromium through Playwright, as tests/test_web.py drives it)."""

from __future__ import annotations

import json
import re
import shutil

import pytest

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def run(smoke_run, tmp_path_factory):
    """A copy of the smoke run with its eval table and arena filled in."""
    from chatforge.cli import main

    dst = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(smoke_run, dst, ignore=shutil.ignore_patterns("eval", "arena", "report"))
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["--quiet", "eval", "--run-dir", str(dst), "--items", "2"]) == 0
        assert main(["--quiet", "arena", "--run-dir", str(dst), "--boot", "50", "--prompts", "4"]) == 0
    finally:
        torch.set_num_threads(n)
    return dst


def _report(run) -> tuple[str, str]:
    from chatforge.cli import main

    assert main(["--quiet", "report", "--run-dir", str(run)]) == 0
    return (run / "report" / "report.html").read_text(), (run / "report" / "report.md").read_text()


def test_report_of_the_smoke_run_and_its_markdown_twin(run):
    page, md = _report(run)
    for sid in ("summary", "data", "tokenizer", "pretrain", "samples", "finetune", "sft", "probe", "rl",
                "eval", "arena", "time", "hardware"):
        assert f'<section id="{sid}">' in page
    assert "could not be read" not in page  # every section understood the smoke run's files
    assert "<link" not in page and "<script" not in page and "src=" not in page  # self-contained
    # the eval table has a row per checkpoint of the run, the arena a row per chat model
    ev = json.loads((run / "eval" / "metrics.json").read_text())
    for r in ev["rows"]:
        assert f"<td>{r['name']}" in page
    # the smoke model misses the SFT targets, and the summary says so in words
    summary = page[page.index('<section id="summary">'):page.index('<section id="data">')]
    assert "Target missed" in summary and "known-qa accuracy" in summary
    # figures: inline SVG in the page, files beside the twin, the same number
    n_svg = page.count("<svg")
    figs = re.findall(r"!\[[^\]]*\]\((fig/[^)]+\.svg)\)", md)
    assert n_svg == len(figs) >= 5
    for f in figs:
        assert (run / "report" / f).read_text().startswith("<svg")
    assert md.count("\n## ") == page.count("<section ") and "| checkpoint | val bpb |" in md
    # RL's guard sets (the smoke preset practises identity and refusals beside its answer sets)
    assert "identity (a guard: behaviour RL must keep)" in page
    # a stage that never ran gets one plain sentence (here: a run without RL)
    bare = run.parent / "bare"
    shutil.copytree(run, bare, ignore=shutil.ignore_patterns("rl", "rlhf", "rm", "rank", "distill", "report"))
    page2, _ = _report(bare)
    assert "This run has no rl stage yet" in page2 and "This run has no distill stage yet" in page2


def test_a_stages_earlier_outputs_are_not_a_stage(run, tmp_path):
    """<stage>.prev/ (outputs kept when a stage reran with another config) is neither listed as a
    complete stage nor counted in the time per stage."""
    twin = tmp_path / "run"
    shutil.copytree(run, twin, ignore=shutil.ignore_patterns("report"))
    (twin / "sft.prev").mkdir()
    for f in ("_STARTED.json", "_COMPLETE.json"):
        shutil.copy(twin / "sft" / f, twin / "sft.prev" / f)
    _, md = _report(twin)
    _, plain = _report(run)
    assert "sft.prev" not in md
    total = re.compile(r"\| total \(stages\) \|[^\n]*")
    assert total.search(md).group(0) == total.search(plain).group(0)


def test_rlhf_and_distill_sections_from_their_metrics_and_when_malformed(tmp_path):
    from chatforge.pipeline import PIPELINE
    from chatforge.report.build import build
    from chatforge.report.doc import html

    run = tmp_path / "run"
    (run / "rlhf").mkdir(parents=True)
    (run / "distill").mkdir()
    (run / "config.json").write_text(json.dumps({"preset": "cpu", "run": {"seed": 1}}))
    curve = [{"step": s, "proxy": 0.1 * s, "true": 0.5 - abs(s - 3) * 0.1, "kl": 0.2 * s} for s in range(7)]
    (run / "rlhf" / "metrics.json").write_text(json.dumps({
        "curve": curve[:4], "hack_curve": curve,
        "hack_detector": {"step": 5, "message": "proxy up, true down"},
        "comparison": {"sft": {"true": 0.3, "true_ci95": [0.25, 0.35], "proxy": 0.1},
                       "rlhf": {"true": 0.5, "true_ci95": [0.45, 0.55], "proxy": 0.3}},
        "paired": {"rlhf_vs_sft": {"diff": 0.2, "ci95": [0.12, 0.28], "prompts": 60}},
        "met": {"above_sft_significant": True, "hack_shown": True}}))
    (run / "rlhf" / "examples.json").write_text(json.dumps({
        "before": [{"prompt": "Tell me a joke about cats.", "answer": "A cat walked in.", "proxy": 0.1,
                    "true": 0.4}],
        "hacked": [{"prompt": "Tell me a joke about cats.", "answer": "the the the the", "proxy": 0.9,
                    "true": 0.0}]}))
    (run / "distill" / "metrics.json").write_text(json.dumps({
        "teacher_row": {"params": 1000, "scores": {"identity": 0.9}},
        "table": {"logits": {"params": 200, "params_vs_teacher": 0.2, "speedup": 1.5,
                             "scores": {"identity": 0.7}, "sets_below_90pct": ["identity"], "met": False}}}))
    title, sub, secs = build(run, PIPELINE)
    page = html(title, sub, secs)
    rl = page[page.index('<section id="rlhf">'):page.index('<section id="distill">')]
    assert rl.count("<svg") == 3 and "hack detected" in rl and "Target met" in rl
    assert "+0.200 [+0.120, +0.280], paired over 60 held-out prompts" in rl  # the stage's paired verdict
    assert "<td>hacked</td>" in rl and "the the the the" in rl  # the examples, before and after
    dist = page[page.index('<section id="distill">'):page.index('<section id="eval">')]
    assert "student <code>logits</code>" in dist and "below 90% of the teacher on: identity" in dist
    summary = page[page.index('<section id="summary">'):page.index('<section id="data">')]
    assert "Distillation" in summary and "Target missed" in summary
    assert "This run has no data stage yet" in page
    # files from another version: the section says it could not read them, the rest renders
    (run / "rlhf" / "metrics.json").write_text(json.dumps({"curve": [{"step": "x", "proxy": "high"}],
                                                           "comparison": {"sft": {"true_ci95": 3}}}))
    (run / "distill" / "metrics.json").write_text("{not json")
    title, sub, secs = build(run, PIPELINE)
    page = html(title, sub, secs)
    assert "could not be read" in page and '<section id="hardware">' in page
    assert "This run has no distill stage yet" in page


def test_report_bad_run_dir_is_one_sentence(tmp_path, capsys):
    from chatforge.cli import main

    assert main(["report", "--run-dir", str(tmp_path / "nope")]) == 2
    assert "not a chatforge run directory" in capsys.readouterr().err


def test_the_report_renders_in_chromium_with_its_plots(run):
    test_web = pytest.importorskip("test_web")  # skips (module level) where Chromium or Playwright is absent
    sync_api = pytest.importorskip("playwright.sync_api")
    _report(run)
    page_file = run / "report" / "report.html"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(test_web.CHROMIUM), headless=True,
                                     args=test_web.FLAGS)
        try:
            p = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            p.on("pageerror", lambda e: errors.append(str(e)))
            p.on("request",
                 lambda r: errors.append("request " + r.url) if not r.url.startswith("file:") else None)
            p.goto(page_file.as_uri())
            figs = p.evaluate("""() => [...document.querySelectorAll('figure svg')].map(s => {
                const r = s.getBoundingClientRect();
                return {w: r.width, h: r.height, lines: s.querySelectorAll('polyline, line.interval').length,
                        title: s.querySelector('text') ? s.querySelector('text').textContent : ''};
            })""")
            assert len(figs) >= 5
            for f in figs:  # drawn at size, each with its data
                assert f["w"] >= 600 and f["h"] >= 60 and f["lines"] >= 1, f
            titles = " ".join(f["title"] for f in figs)
            assert "pretraining loss" in titles and "arena ratings" in titles and "pass@1 during RL" in titles
            # the eval table is a real table with one body row per checkpoint
            rows = p.evaluate("document.querySelectorAll('#eval table tbody tr').length")
            assert rows == len(json.loads((run / "eval" / "metrics.json").read_text())["rows"])
            assert p.is_visible("#summary .verdict.missed")
            p.click("nav.toc a[href='#arena']")
            assert p.evaluate("window.location.hash") == "#arena"
            assert not errors, errors  # no script errors, nothing fetched from anywhere
        finally:
            browser.close()
