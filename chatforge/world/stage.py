"""The world stage: the first stage of the pipeline (`chatforge run`, `chatforge world --run-dir`)."""

from __future__ import annotations

import time

from chatforge.core.rundir import StageContext
from chatforge.world.build import build


def run(ctx: StageContext) -> dict:
    # Generation is deterministic and takes seconds, so a resumed stage simply regenerates.
    t0 = time.perf_counter()
    counts = build(ctx.out, ctx.config.world, ctx.config.run.seed, log=ctx.log)
    dt = time.perf_counter() - t0
    ctx.log.info(f"world generated in {dt:.2f}s: {counts['people']} people, "
                 f"{counts['documents']} documents, {counts['crawl_pages']} crawl pages")
    return {**counts, "generate_s": round(dt, 2)}
