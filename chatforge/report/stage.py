"""The report stage: the run's report card (report/report.html and report.md) as the pipeline's
last step, the same page `chatforge report --run-dir D` renders (chatforge.report.build)."""

from __future__ import annotations

from chatforge.core.rundir import StageContext


def run(ctx: StageContext) -> dict:
    from chatforge.core.log import say
    from chatforge.report.build import write

    page, md, figs, missed = write(ctx.run_dir, ctx.out)
    if missed:
        say(f"[report] {len(missed)} target(s) missed:")
        for m in missed:
            say(f"  - {m}")
    say(f"[report] {page} ({figs} plots inline) and {md}")
    return {"html": str(page), "markdown": str(md), "figures": figs, "missed": missed}
