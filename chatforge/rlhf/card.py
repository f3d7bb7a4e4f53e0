"""RLHF's section of the report: the reward model's accuracy, proxy vs true reward, the hack."""

from __future__ import annotations

from pathlib import Path

from chatforge.eval import keep
from chatforge.report.doc import Section
from chatforge.report.plot import line_chart
from chatforge.report.read import absent, ci, pct, read, span


def section(run: Path) -> Section:
    sec = Section("rlhf", "RLHF: proxy reward vs true reward")
    m = read(run, "rlhf/metrics.json")
    rm = read(run, "rm/metrics.json")
    if isinstance(rm, dict) and isinstance(rm.get("heldout"), dict):
        h, target, ceiling = rm["heldout"], rm.get("target", 0.85), rm.get("labeler_self_consistency")
        if isinstance(ceiling, dict):
            ceiling = next((v for v in ceiling.values() if isinstance(v, (int, float))), None)
        sec.verdict(bool(h.get("strict", 0) >= target),
                    f"reward model held-out pairwise accuracy {pct(h.get('strict'))} "
                    f"{ci(h.get('strict_ci95'))} on {h.get('strict_pairs')} pairs (target at least "
                    f"{pct(target, 0)}; the labeler's self-consistency, the ceiling: {pct(ceiling)}).")
    if not isinstance(m, dict):
        return absent(sec, "rlhf", "chatforge rlhf") if not sec.blocks \
            else sec.p("The rlhf stage has not run yet.")
    for key, label in (("curve", "KL-regularised"), ("hack_curve", "no KL")):
        curve = [p for p in (m.get(key) or []) if isinstance(p, dict) and "step" in p]
        if not curve:
            continue
        # each reward as its change since the first point: the two live on different scales, and
        # the hack is their directions (proxy up, true down)
        series = {}
        for n in ("proxy", "true"):
            pts = [(p["step"], p[n]) for p in curve if isinstance(p.get(n), (int, float))]
            series[f"{n} reward, change"] = [(x, y - pts[0][1]) for x, y in pts]
        det = m.get("hack_detector" if key == "hack_curve" else "detector") or m.get("hack")
        flagged = isinstance(det, dict) and isinstance(det.get("step"), (int, float))
        marks = [(det["step"], "hack detected")] if flagged else []
        caption = (f"Proxy = the reward model's score (what RL maximises); true = the hidden gold labeler "
                   f"(never trained on); each drawn as its change since step {curve[0]['step']}. "
                   f"{label} run.")
        if flagged:
            caption += f" Marked: {det.get('message', 'the hack')}."
        sec.figure(line_chart(series, title=f"RLHF ({label}): proxy vs true reward", x_label="step",
                              y_label="change since the first point", marks=marks), caption)
        kl = [(p["step"], p["kl"]) for p in curve if isinstance(p.get("kl"), (int, float))]
        if kl and key == "curve":
            sec.figure(line_chart({"KL to the start": kl}, title="RLHF: KL to the reference", x_label="step",
                                  y_label="nats"), "How far the policy moved from where it started.")
    comp = m.get("comparison") or {}
    if comp:
        sec.table(["model", "true reward", "95% interval", "proxy", "words", "repetition"],
                  [[k, r.get("true"), span(r.get("true_ci95")), r.get("proxy"), r.get("words"),
                    r.get("repetition")] for k, r in comp.items() if isinstance(r, dict)],
                  "True reward on held-out prompts (the gold labeler), 95% interval over prompts.")
    ex = read(run, "rlhf/examples.json")
    if isinstance(ex, dict):
        rows = [[phase, e.get("prompt"), " ".join(str(e.get("answer", "")).split())[:200], e.get("proxy"),
                 e.get("true")]
                for phase in ("before", "best", "hacked", "hacked_last") for e in (ex.get(phase) or [])[:2]
                if isinstance(e, dict)]
        if rows:
            sec.table(["when", "prompt", "answer", "proxy", "true"], rows,
                      "Answers before RLHF, at the best point by true reward, where the detector flagged the "
                      "no-KL run, and at its end.")
    met = m.get("met") or {}
    vs_sft = (m.get("paired") or {}).get("rlhf_vs_sft")
    if "above_sft_significant" in met and isinstance(vs_sft, dict):
        lo, hi = vs_sft["ci95"]
        sec.verdict(bool(met["above_sft_significant"]), "the KL-regularised policy beats the SFT model on "
                    f"true reward: {vs_sft['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}], paired over "
                    f"{vs_sft['prompts']} held-out prompts.")
    elif "beats_sft" in met:  # a run whose metrics have no paired comparison
        sec.verdict(bool(met["beats_sft"]), "the KL-regularised policy beats the SFT model on true reward "
                    "(held-out prompts, intervals not overlapping the other's mean).")
    keep.card(sec, m)
    if "hack_shown" in met:
        sec.verdict(bool(met["hack_shown"]), "the run without KL shows the hack (proxy up, true down) and "
                    "the detector flags it.")
    return sec
