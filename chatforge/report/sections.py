"""The report's sections, each read from what the run directory holds.

Every section reads files other stages wrote and renders what it finds; a stage that has not
run gets one plain sentence, and a file in an unexpected shape is reported as such by the
builder (`report.build`), never a crash. Targets come from the issues (see `report.targets`)
and a missed one is said in words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatforge.report.doc import Section
from chatforge.report.plot import interval_chart, line_chart


def read(run: Path, rel: str) -> Any:
    try:
        with open(run / rel, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def events(run: Path, stage: str, kind: str) -> list[dict]:
    out = []
    try:
        with open(run / stage / "metrics.jsonl", encoding="utf-8") as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and r.get("event") == kind:
                    out.append(r)
    except OSError:
        pass
    return out


def complete(run: Path, stage: str) -> bool:
    return (run / stage / "_COMPLETE.json").is_file()


def pct(x: Any, digits: int = 1) -> str:
    return "—" if not isinstance(x, (int, float)) else f"{100 * x:.{digits}f}%"


def ci(c: Any) -> str:
    return f"[{100 * c[0]:.0f}-{100 * c[1]:.0f}%]" if isinstance(c, (list, tuple)) and len(c) == 2 else ""


def span(c: Any) -> str:
    return f"{c[0]:.3f}-{c[1]:.3f}" if isinstance(c, (list, tuple)) and len(c) == 2 else ""


def absent(sec: Section, stage: str, cmd: str) -> Section:
    return sec.p(f"This run has no {stage} stage yet (`{cmd}`).")


# ---- data and tokenizer ---------------------------------------------------------------------------
FUNNEL = ("read", "url_filter", "extract", "language", "gopher_repetition", "gopher_quality", "c4_quality",
          "fineweb_quality", "minhash_dedup", "pii", "write_docs")


def data(run: Path) -> Section:
    sec = Section("data", "Data: from crawl to clean documents")
    m = read(run, "data/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "data", "chatforge data")
    w = read(run, "world/metrics.json") or {}
    if w.get("crawl_pages"):
        sec.p(f"The world's crawl: {w['crawl_pages']:,} pages ({w.get('crawl_keep', '?')} worth keeping), "
              f"{w.get('documents', '?')} documents about {sum((w.get('people') or {}).values()) or '?'} people.")
    steps = m.get("steps") or {}
    order = [s for s in FUNNEL if s in steps] + sorted(s for s in steps if s not in FUNNEL)
    rows = [[s, f"{steps[s]['in']:,}", f"{steps[s]['kept']:,}", f"{steps[s]['in'] - steps[s]['kept']:,}"]
            for s in order if isinstance(steps[s], dict) and "in" in steps[s]]
    if rows:
        sec.table(["step", "in", "kept", "removed"], rows, "The funnel: each filter's documents in and kept.")
    junk = m.get("junk_removed") or {}
    if junk:
        sec.table(["junk class (world's labels)", "pages", "removed"],
                  [[k, v.get("pages"), pct(v.get("removed_frac"))] for k, v in sorted(junk.items())])
    sec.p(f"Kept {m.get('output_documents', '?')} documents (~{m.get('output_tokens_approx', 0):,} tokens); "
          f"precision {m.get('precision')}, recall {m.get('recall')} against the world's labels; "
          f"e-mails left {m.get('emails_left')}, public IPs left {m.get('public_ips_left')}.")
    return sec


def tokenizer(run: Path) -> Section:
    sec = Section("tokenizer", "Tokenizer")
    m = read(run, "tokenizer/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "tokenizer", "chatforge tokenizer train")
    rows = [["vocabulary", f"{m.get('n_vocab')} ({m.get('n_special')} special)"],
            ["trainer", f"{m.get('trainer')} in {m.get('train_s')} s on {m.get('train_chars', 0):,} characters"],
            ["held-out bytes per token", m.get("heldout_bytes_per_token")],
            ["cl100k_base on the same text", m.get("cl100k_heldout_bytes_per_token")]]
    return sec.table(["", "value"], rows, "More bytes per token = fewer tokens for the same text.")


# ---- training -------------------------------------------------------------------------------------
def pretrain(run: Path) -> Section:
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
            ["tokens / s (last step)", m.get("tokens_per_s_last_step")], ["MFU (last step)", pct(m.get("mfu_last_step"))],
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
                  [[mine[i].get("step"), mine[i].get("loss"), " ".join(str(mine[i].get("text", "")).split())[:chars]]
                   for i in pick])
    return sec


def finetune(run: Path) -> Section:
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


# ---- stages with targets ----------------------------------------------------------------------------
def sft(run: Path) -> Section:
    from chatforge.report.targets import SFT

    sec = Section("sft", "SFT: the chat model against its targets")
    m = read(run, "sft/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "sft", "chatforge sft")
    for key, (label, target) in SFT.items():
        v = m.get(key)
        if isinstance(v, (int, float)):
            sec.verdict(v >= target, f"{label}: {pct(v)} (target at least {pct(target, 0)}).")
    return sec


def probe(run: Path) -> Section:
    from chatforge.report.targets import PROBE

    sec = Section("probe", "Probe: hallucination and refusals")
    m = read(run, "probe/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "probe", "chatforge probe")
    t = m.get("table") or {}
    if t:
        sec.table(["task set", "n", "before", "after", "refusals before", "refusals after"],
                  [[k, r.get("n"), f"{pct(r.get('before'))} {ci(r.get('before_ci95'))}",
                    f"{pct(r.get('after'))} {ci(r.get('after_ci95'))}", pct(r.get("refusal_before")),
                    pct(r.get("refusal_after"))] for k, r in t.items() if isinstance(r, dict)])
    sec.p(f"Hallucination rate {pct(m.get('hallucination_before'))} -> {pct(m.get('hallucination_after'))} "
          f"{ci(m.get('hallucination_after_ci95'))}; over-refusal {pct(m.get('over_refusal'))} "
          f"{ci(m.get('over_refusal_ci95'))} of {m.get('over_refusal_base')} known-qa answers that were right before.")
    for check in PROBE:
        met, text = check(m)
        sec.verdict(met, text)
    return sec


HEADLINE = ("knowledge_known_qa", "identity", "letters_python", "refusal_unknown")
LABEL = {"knowledge_known_qa": "known-qa", "letters_python": "letters+py", "refusal_unknown": "refuse unknown"}


def evaluation(run: Path) -> Section:
    from chatforge.eval.table import LEGEND, cells, headers

    sec = Section("eval", "Evaluation across stages")
    m = read(run, "eval/metrics.json")
    if not isinstance(m, dict) or not m.get("rows"):
        return sec.p(f"No evaluation table yet: `chatforge eval --run-dir {run}` measures every checkpoint "
                     "on the same items.")
    sec.table(headers(), [cells(r) for r in m["rows"]], LEGEND)
    sec.p(f"{m.get('items')} items a task set, seed {m.get('seed')}, measured {m.get('created')} on {m.get('machine')}.")
    rm = m.get("reward_model")
    if isinstance(rm, dict):
        sec.p(f"Reward model held-out pairwise accuracy: {pct(rm.get('accuracy'))} {ci(rm.get('ci95'))} "
              f"({rm.get('from')}).")
    chat = [r for r in m["rows"] if r.get("tasks")]
    pick = [t for t in HEADLINE if any(t in r["tasks"] for r in chat)]
    if chat and pick:
        rows, colors = [], []
        for t in pick:
            for i, r in enumerate(chat):
                c = r["tasks"].get(t)
                if c:
                    rows.append((f"{LABEL.get(t, t)}: {r['name']}", c["accuracy"], *c["ci95"]))
                    colors.append(i)
        sec.figure(interval_chart(rows, title="headline task sets across checkpoints", x_range=(0, 1),
                                  x_label="accuracy, Wilson 95% interval", colors=colors),
                   "The same items for every model; one colour per checkpoint. Whiskers that overlap can still "
                   "differ for real: the table's ▲/▼ come from the paired test.")
    gold = [(r["name"], r["gold"]["mean"], *r["gold"]["ci95"]) for r in m["rows"] if isinstance(r.get("gold"), dict)]
    if gold:
        sec.figure(interval_chart(gold, title="gold preference score", x_label="mean gold score (0-1), 95% interval"),
                   "What the hidden labeler thinks of each chat model's answers to open-ended prompts.")
    return sec


def rl(run: Path) -> Section:
    sec = Section("rl", "RL on verifiable problems: pass@k")
    m = read(run, "rl/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "rl", "chatforge rl")
    curve = [p for p in (m.get("curve") or []) if isinstance(p, dict)]
    sets = sorted({k for p in curve for k, v in p.items() if isinstance(v, dict)})
    if curve and sets:
        sec.figure(line_chart({s: [(p["step"], p[s]["pass@1"]) for p in curve if isinstance(p.get(s), dict)
                                   and "pass@1" in p[s]] for s in sets},
                              title="pass@1 during RL", x_label="step", y_label="pass@1", y_range=(0, 1)),
                   "pass@1 on the curve's problems at each evaluation step.")
        top = max((k for p in curve for s in sets if isinstance(p.get(s), dict) for k in p[s]
                   if k.startswith("pass@") and k[5:].isdigit()), key=lambda k: int(k[5:]), default=None)
        if top and top != "pass@1":
            sec.figure(line_chart({s: [(p["step"], p[s][top]) for p in curve if isinstance(p.get(s), dict)
                                       and top in p[s]] for s in sets},
                                  title=f"{top} during RL", x_label="step", y_label=top, y_range=(0, 1)),
                       f"{top}: is a right answer among {top[5:]} samples?")
    t = m.get("table") or {}
    if t:
        sec.table(["set", "pass@1 before", "after", "blind guesser", "gain"],
                  [[k, pct(r.get("before_pass@1")), f"{pct(r.get('after_pass@1'))} {ci(r.get('after_pass@1_ci95'))}",
                    pct(r.get("blind_pass@1")), pct(r.get("gain"))] for k, r in t.items() if isinstance(r, dict)])
        for k, r in t.items():
            if not isinstance(r, dict):
                continue
            if r.get("guard"):
                sec.verdict(bool(r.get("kept")), f"{k} (a guard: behaviour RL must keep): {pct(r.get('before_pass@1'))} -> "
                            f"{pct(r.get('after_pass@1'))} (kept: at least 90% of before).")
            elif r.get("signal") is False:
                sec.verdict(None, f"{k}: no signal to amplify (no group had both a right and a wrong answer).")
            elif "met" in r:
                sec.verdict(bool(r["met"]), f"{k}: pass@1 {pct(r.get('before_pass@1'))} -> {pct(r.get('after_pass@1'))}"
                            f" (target: +10 points, and the interval above the blind guesser's "
                            f"{pct(r.get('blind_pass@1'))}).")
    return sec


def rlhf(run: Path) -> Section:
    sec = Section("rlhf", "RLHF: proxy reward vs true reward")
    m = read(run, "rlhf/metrics.json")
    rm = read(run, "rm/metrics.json")
    if isinstance(rm, dict) and isinstance(rm.get("heldout"), dict):
        h, target, ceiling = rm["heldout"], rm.get("target", 0.85), rm.get("labeler_self_consistency")
        if isinstance(ceiling, dict):
            ceiling = next((v for v in ceiling.values() if isinstance(v, (int, float))), None)
        sec.verdict(bool(h.get("strict", 0) >= target),
                    f"reward model held-out pairwise accuracy {pct(h.get('strict'))} {ci(h.get('strict_ci95'))} on "
                    f"{h.get('strict_pairs')} pairs (target at least {pct(target, 0)}; the labeler's self-consistency, "
                    f"the ceiling: {pct(ceiling)}).")
    if not isinstance(m, dict):
        return absent(sec, "rlhf", "chatforge rlhf") if not sec.blocks else sec.p("The rlhf stage has not run yet.")
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
                   f"(never trained on); each drawn as its change since step {curve[0]['step']}. {label} run.")
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
        rows = [[phase, e.get("prompt"), " ".join(str(e.get("answer", "")).split())[:200], e.get("proxy"), e.get("true")]
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
        sec.verdict(bool(met["above_sft_significant"]), "the KL-regularised policy beats the SFT model on true "
                    f"reward: {vs_sft['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}], paired over {vs_sft['prompts']} held-out prompts.")
    elif "beats_sft" in met:  # runs made before the paired comparison
        sec.verdict(bool(met["beats_sft"]), "the KL-regularised policy beats the SFT model on true reward "
                    "(held-out prompts, intervals not overlapping the other's mean).")
    if "hack_shown" in met:
        sec.verdict(bool(met["hack_shown"]), "the run without KL shows the hack (proxy up, true down) and the "
                    "detector flags it.")
    return sec


def distill(run: Path) -> Section:
    sec = Section("distill", "Distillation: students against the teacher")
    m = read(run, "distill/metrics.json")
    if not isinstance(m, dict):
        return absent(sec, "distill", "chatforge distill")
    t = m.get("table") or {}
    teacher = m.get("teacher_row") or {}
    sets = sorted({k for r in t.values() if isinstance(r, dict) for k in (r.get("scores") or {})})
    rows = []
    if teacher:
        rows.append(["teacher", f"{teacher.get('params', 0):,}", "1.0x", teacher.get("val_loss"),
                     *[pct((teacher.get("scores") or {}).get(s), 0) for s in sets], ""])
    for arm, r in t.items():
        if isinstance(r, dict):
            rows.append([arm, f"{r.get('params', 0):,}", f"{r.get('speedup')}x", r.get("val_loss"),
                         *[pct((r.get("scores") or {}).get(s), 0) for s in sets],
                         "met" if r.get("met") else "missed"])
    if rows:
        sec.table(["model", "params", "decode speed", "val loss", *sets, "target"], rows,
                  "Target: at most 1/4 of the teacher's parameters, at least 2x its decode speed, and at least 90% "
                  "of its score on every set where it scores 30% or more.")
    for arm, r in t.items():
        if isinstance(r, dict) and "met" in r:
            below = ", ".join(r.get("sets_below_90pct") or []) or "none"
            sec.verdict(bool(r["met"]), f"student `{arm}`: {pct(r.get('params_vs_teacher'), 0)} of the teacher's "
                        f"parameters, {r.get('speedup')}x decode speed, below 90% of the teacher on: {below}.")
    return sec


def arena(run: Path) -> Section:
    sec = Section("arena", "Arena: pairwise ratings")
    st = read(run, "arena/ratings.json")
    if not isinstance(st, dict) or not st.get("ratings"):
        return sec.p(f"No arena yet: `chatforge arena --run-dir {run}` pits the chat models against each other.")
    rows = sorted(st["ratings"].items(), key=lambda kv: -kv[1]["rating"])
    judges = ", ".join(f"{j}: {b.get('votes')}" for j, b in (st.get("by_judge") or {}).items())
    sec.table(["model", "rating", "95% interval", "votes", "won", "lost", "tied"],
              [[n, f"{r['rating']:.0f}", f"{r['ci95'][0]:.0f}-{r['ci95'][1]:.0f}", r["votes"], r["wins"],
                r["losses"], r["ties"]] for n, r in rows],
              f"Bradley-Terry over {st.get('votes')} votes on {st.get('prompts')} open-ended prompts "
              f"({judges}); "
              "Elo scale, mean 1000, +100 = preferred 64% of the time; bootstrap 95% intervals. These models, "
              "these prompts, this judge: no more.")
    a = st.get("people_vs_gold")
    if isinstance(a, dict) and a.get("votes"):
        sec.p(f"People agree with the gold judge on {a.get('agree')} of {a.get('votes')} pairs both judged "
              f"({pct(a.get('rate'), 0)}).")
    sec.figure(interval_chart([(n, r["rating"], *r["ci95"]) for n, r in rows], title="arena ratings",
                              x_label="rating (Elo scale), 95% bootstrap interval", ref=1000),
               "Overlapping intervals: the order between those models is not settled by these votes.")
    return sec
