"""The probe stage: find what the chat model does not know, and teach it to say so."""

from __future__ import annotations

from chatforge.core.stage import Stage
from chatforge.probe import card
from chatforge.probe.config import ProbeConfig
from chatforge.tools.checks import sampling_checks


def _run(ctx) -> dict:
    from chatforge.probe.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("probe", _run, config={"probe": ProbeConfig}, needs=("world", "sft", "tools"),
              checks=sampling_checks, report=(card.section,))
