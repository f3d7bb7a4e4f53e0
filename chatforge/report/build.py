"""`chatforge report`: the run's report card, assembled from its sections and written twice.

    <run>/report/report.html   one self-contained page (style and SVG plots inline)
    <run>/report/report.md     the Markdown twin, figures in report/fig/*.svg

The first section lists every target a stage missed, in words; then the stages in pipeline
order; then time per stage and the hardware. A section whose files are in a shape it does not
expect (a stage still being built, a run from another version) says so and the rest renders.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from chatforge.core.atomic import atomic_write_text
from chatforge.core.machine import cpu_summary
from chatforge.core.stage import Pipeline
from chatforge.report.doc import Section, html, markdown
from chatforge.report.read import read

RUN_MINUTES = {"cpu": 60}  # preset -> the whole run's limit on the 2-core machine


def _stages(run: Path, pipeline: Pipeline) -> list[tuple[str, dict]]:
    """(stage, its _COMPLETE.json or {} when started but not finished), in pipeline order; then
    other stages' folders, but not <stage>.prev/ (a stage's earlier outputs, core/rundir.py)."""
    known = pipeline.names
    names = known + sorted(p.name for p in run.iterdir() if p.is_dir() and p.name not in known
                           and p.suffix != ".prev" and (p / "_STARTED.json").is_file())
    out = []
    for n in names:
        if (run / n / "_STARTED.json").is_file() or (run / n / "_COMPLETE.json").is_file():
            out.append((n, read(run, f"{n}/_COMPLETE.json") or {}))
    return out


def timing(run: Path, pipeline: Pipeline) -> Section:
    sec = Section("time", "Time per stage")
    rows, total = [], 0.0
    staged = _stages(run, pipeline)
    for name, done in staged:
        if name == "report" and not done:  # this page, being rendered by the report stage
            continue
        wall = done.get("wall_s")
        if isinstance(wall, (int, float)):
            total += wall
        when = (time.strftime("%Y-%m-%d %H:%M", time.gmtime(done["finished_at"]))
                if done.get("finished_at") else "")
        rows.append([name, "complete" if done else "started, not finished",
                     f"{wall:,.1f} s" if isinstance(wall, (int, float)) else "—", when])
    ev = read(run, "eval/metrics.json")
    eval_staged = any(n == "eval" and c for n, c in staged)
    if isinstance(ev, dict) and ev.get("rows") and not eval_staged:  # `chatforge eval` only: its rows' times
        took = sum(r.get("seconds") or 0 for r in ev["rows"])
        rows.append(["eval", f"command, {len(ev['rows'])} checkpoints", f"{took:,.1f} s",
                     ev.get("created", "")])
    ar = read(run, "arena/ratings.json")
    if isinstance(ar, dict) and isinstance(ar.get("seconds"), (int, float)):
        rows.append(["arena", "command, last run", f"{ar['seconds']:,.1f} s", ar.get("created", "")])
    if not rows:
        return sec.p("No stage has run in this directory yet.")
    rows.append(["total (stages)", "", f"{total:,.1f} s ({total / 60:.1f} min)", ""])
    sec.table(["stage", "status", "wall time", "finished (UTC)"], rows,
              "Wall time of each stage's last complete run (its _COMPLETE.json); "
              "a resumed stage counts its last process only.")
    cfg = read(run, "config.json") or {}
    limit = RUN_MINUTES.get(cfg.get("preset"))
    if limit:
        sec.verdict(total <= limit * 60,
                    f"the {cfg.get('preset')} preset's stages took {total / 60:.1f} minutes "
                    f"(target: at most {limit} minutes on the 2-core machine).")
    return sec


def hardware(run: Path) -> Section:
    sec = Section("hardware", "Hardware")
    rows = [["this report made on",
             f"{cpu_summary()}; {os.cpu_count()} cores; {platform.system()} {platform.machine()}"]]
    try:
        import torch  # noqa: PLC0415 - optional here: the report renders without it

        rows.append(["torch", f"{torch.__version__}, {torch.get_num_threads()} threads"
                     + (f", CUDA: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "")])
    except ImportError:
        pass
    peaks = read(run, "peak_flops.json") or {}
    for k, v in peaks.items():
        if isinstance(v, (int, float)):
            rows.append([f"measured matmul peak ({k})", f"{v / 1e9:.1f} GFLOP/s"])
    ev = read(run, "eval/metrics.json")
    if isinstance(ev, dict) and ev.get("machine"):
        rows.append(["evaluation ran on", ev["machine"]])
    sec.table(["", ""], rows, "The run records the matmul peak it measured for its MFU figures; the CPU that "
              "trained it is not recorded beyond that, so compare timings only between runs on the same "
              "machine.")
    return sec


def _name(fn) -> str:
    """A section's name for a fallback heading: its stage package, then the function's name."""
    parts = getattr(fn, "__module__", "").split(".")
    stage = parts[1] if len(parts) > 2 and parts[0] == "chatforge" else ""
    name = fn.__name__ if fn.__name__ != "section" else ""
    return "_".join(x for x in (stage, name) if x) or "section"


def _render(fn, run: Path) -> Section | None:
    try:
        return fn(run)
    except Exception as e:  # a file in a shape this version does not know: say so, render the rest
        name = _name(fn)
        return Section(name, name.replace("_", " ").capitalize()).p(
            f"This section could not be read from the run's files ({type(e).__name__}: {e}).")


def build(run: Path, pipeline: Pipeline) -> tuple[str, str, list[Section]]:
    run = Path(run)
    cfg = read(run, "config.json") or {}
    body = [s for s in (_render(fn, run) for fn in pipeline.reports) if s is not None]

    def time_per_stage(r: Path) -> Section:
        return timing(r, pipeline)

    body += [_render(time_per_stage, run), _render(hardware, run)]
    missed = [(s.title, m) for s in body for m in s.misses()]
    top = Section("summary", "Targets missed")
    if missed:
        top.p("Where a stage fell short of its issue's target, in plain words:")
        for title, m in missed:
            top.verdict(False, f"{title} — {m}")
    else:
        top.p("No stage of this run missed a target it reports (stages that have not run report nothing).")
    done = [n for n, c in _stages(run, pipeline) if c]
    title = f"chatforge report: {run.name}"
    subtitle = (f"Run `{run}`, preset `{cfg.get('preset', '?')}`, "
                f"seed {(cfg.get('run') or {}).get('seed', '?')}; "
                f"stages complete: {', '.join(done) or 'none'}. "
                f"Made {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    return title, subtitle, [top, *body]


def write(run: Path, pipeline: Pipeline, out: Path | None = None) -> tuple[Path, Path, int, list[str]]:
    """Write report.html, report.md and fig/*.svg; returns (html path, md path, figures, the
    missed targets in words)."""
    run = Path(run)
    out = Path(out) if out else run / "report"
    title, subtitle, secs = build(run, pipeline)
    page = html(title, subtitle, secs)
    md, figs = markdown(title, subtitle, secs)
    if (out / "fig").is_dir():  # figures of an earlier report that this one no longer has
        for old in (out / "fig").glob("*.svg"):
            if f"fig/{old.name}" not in figs:
                old.unlink()
    for rel, svg in figs.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / rel, svg)
    atomic_write_text(out / "report.md", md)
    atomic_write_text(out / "report.html", page)
    missed = [f"{s.title}: {m}" for s in secs[1:] for m in s.misses()]
    return out / "report.html", out / "report.md", len(figs), missed
