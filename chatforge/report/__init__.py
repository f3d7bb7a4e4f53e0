"""The report card: a run as one self-contained HTML page and a Markdown twin.

`doc.Section` and `plot` are what every stage's report section is written with (each stage
declares its sections beside its code); `build` puts the pipeline's sections together; the
report stage and `chatforge report` write the page.
"""

from __future__ import annotations

from chatforge.core.log import say
from chatforge.core.stage import Stage
from chatforge.report.build import write


def run(ctx) -> dict:
    page, md, figs, missed = write(ctx.run_dir, ctx.pipeline, ctx.out)
    if missed:
        say(f"[report] {len(missed)} target(s) missed:")
        for m in missed:
            say(f"  - {m}")
    say(f"[report] {page} ({figs} plots inline) and {md}")
    return {"html": str(page), "markdown": str(md), "figures": figs, "missed": missed}


STAGE = Stage("report", run, needs=("eval",), decides=())  # renders whatever the run holds
