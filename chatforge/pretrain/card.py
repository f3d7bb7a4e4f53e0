"""Pretraining's sections of the report: loss curves, and samples as the model learns."""

from __future__ import annotations

import json
from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.plot import line_chart
from chatforge.report.read import absent, events, pct, read


def losses(run: Path) -> Section:
    sec = Section("pretrain", "Pretraining: loss curves")
    m = read(run, "pretrain/metrics.json")
    train, val = events(run, "pretrain", "train"), events(run, "pretrain", "val")
    if not isinstance(m, dict) and not train:
        return absent(sec, "pretrain", "chatforge pretrain")
    m = m or {}
    series = {"train loss": [(e["step"], e["loss"]) for e in train if "loss" in e]}
    if val:
        series["val loss"] = [(e["step"], e["val_loss"]) for e in val if "val_loss" in e]
    if any(series.values()):
        sec.figure(line_chart(series, title="pretraining loss", x_label="step", y_label="nats / token"),
                   "Training loss (every log step) and validation loss on the held-out split.")
    bpb = [(e["step"], e["val_bpb"]) for e in val if isinstance(e.get("val_bpb"), (int, float))]
    if bpb:
        sec.figure(line_chart({"val bits per byte": bpb}, title="validation bits per byte", x_label="step",
                              y_label="bits / byte"), "Bits per byte do not depend on the tokenizer.")
    if m:
        sec.table(["", "value"], [
            ["parameters", f"{m.get('params', 0):,}"], ["steps", m.get("steps")],
            ["training tokens seen", f"{(m.get('steps') or 0) * (m.get('tokens_per_step') or 0):,}"],
            ["val bits per byte", f"{m.get('val_bpb')} ± {m.get('val_bpb_se')}"],
            ["tokens / s (last step)", m.get("tokens_per_s_last_step")],
            ["MFU (last step)", pct(m.get("mfu_last_step"))],
            ["dtype", m.get("dtype")], ["copy probe, far", m.get("copy_repeat_far")]])
    return sec


def samples(run: Path, per_prompt: int = 8, chars: int = 220) -> Section:
    sec = Section("samples", "Samples over training: noise -> words -> sentences -> facts")
    rows = []
    try:
        with open(run / "pretrain" / "samples.jsonl", encoding="utf-8") as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        return sec.p("The pretrain stage saved no samples in this run.")
    prompts = list(dict.fromkeys(r.get("prompt", "") for r in rows))[:2]
    for p in prompts:
        mine = [r for r in rows if r.get("prompt") == p]
        pick = sorted({round(i * (len(mine) - 1) / max(1, per_prompt - 1)) for i in range(per_prompt)})
        sec.table(["step", "loss", f"\"{p}\" ..."],
                  [[mine[i].get("step"), mine[i].get("loss"),
                    " ".join(str(mine[i].get("text", "")).split())[:chars]]
                   for i in pick])
    return sec
