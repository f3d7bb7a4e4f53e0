"""SFT's sections of the report: fine-tuning loss curves (SFT and the probe) and SFT's targets."""

from __future__ import annotations

from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.plot import line_chart
from chatforge.report.read import absent, events, pct, read
from chatforge.tasks import SETS


def losses(run: Path) -> Section:
    sec = Section("finetune", "Fine-tuning: SFT and the probe stage")
    series = {}
    for stage in ("sft", "probe"):
        tr = [(e["step"], e["loss"]) for e in events(run, stage, "train") if "loss" in e]
        va = [(e["step"], e["val_loss"]) for e in events(run, stage, "val") if "val_loss" in e]
        if tr:
            series[f"{stage} train"] = tr
        if va:
            series[f"{stage} val"] = va
    if not series:
        return absent(sec, "sft", "chatforge sft")
    sec.figure(line_chart(series, title="fine-tuning loss", x_label="step", y_label="nats / token"),
               "Loss on the assistant's tokens only (the chat renderer's mask).")
    return sec



def targets(run: Path) -> Section:
    sec = Section("sft", "SFT: the chat model against its targets")
    m = read(run, "sft/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "sft", "chatforge sft")
    for ts in SETS.values():
        v = m.get(ts.metric)
        if ts.target is not None and ts.judged_by == "sft" and isinstance(v, (int, float)):
            sec.verdict(v >= ts.target, f"{ts.label}: {pct(v)} (target at least {pct(ts.target, 0)}).")
    return sec
