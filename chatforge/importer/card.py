"""The import stage's section of the report: the lecture's claims as before/after rows on one real
model (the model as imported, after SFT, after the probe), and the forgetting guard.

Only a run that imported a model has this section. Rows come from the eval stage's table; "kept"
reads the suite's per-item results: of the general-knowledge items the imported model answered
right (the `general` set, and `general_heldout`, kinds nothing replays), the share a later
checkpoint still answers right.
"""

from __future__ import annotations

from pathlib import Path

from chatforge.report.doc import Section
from chatforge.report.read import ci, pct, read

STAGES = ("import", "pretrain", "sft", "probe")
# (claim, task set in the head / before, task set with the skill / after)
CLAIMS = [
    ("counting letters: in its head vs with python", "letters", "letters_python"),
    ("arithmetic: in its head vs with the calculator", "arithmetic", "arithmetic_calculator"),
    ("unknown people: refuses (tools off) vs searches (tools on)", "refusal_unknown", "search_unknown"),
    ("invented names: the world's vs a held-out generator's", "refusal_invented", "refusal_heldout"),
]
# the set whose held-out problem families are scored apart (eval.suite.family_split)
FAMILIES = "arithmetic_calculator"
KEPT_MIN = 0.90
# the forgetting guards: (task set, what the verdict calls it)
GUARDS = [("general", "general knowledge"), ("general_heldout", "general knowledge of other kinds")]


def _cell(row: dict, name: str, family: str | None = None) -> str:
    """One set's accuracy, or that of its trained / held-out problem families (`family`)."""
    t = (row.get("tasks") or {}).get(name) or {}
    if family is not None:
        t = (t.get("families") or {}).get(family) or {}
    return f"{pct(t.get('accuracy'))} {ci(t.get('ci95'))}".strip() if t else "—"


def correct_items(run: Path, row: dict, name: str) -> list[int] | None:
    """The per-item results of one task set for one eval row (its stage's suite file or the eval
    stage's own), or None."""
    src = (row.get("source") or {}).get("suite")
    # "computed": the eval stage measured it, in eval/<name>.json
    rel = src if src and src != "computed" else f"eval/{row.get('name')}.json"
    suite = read(run, rel) or {}
    items = (((suite.get("tasks") or {}).get(name) or {}).get("per_item") or {}).get("correct")
    return items if isinstance(items, list) else None


def kept(before: list[int], after: list[int]) -> tuple[float, int] | None:
    """Of the items right before, the share still right after; (share, how many were right)."""
    if len(before) != len(after):
        return None
    right = [i for i, ok in enumerate(before) if ok]
    return (sum(after[i] for i in right) / len(right), len(right)) if right else None


def section(run: Path) -> Section | None:
    m = read(run, "import/metrics.json")
    if not isinstance(m, dict) or not m.get("imported"):
        return None
    sec = Section("import", f"A real model: {m.get('source_name') or m.get('source')}")
    sec.p(f"{m.get('params', 0) / 1e6:.1f}M parameters, {m.get('n_layer')} layers, imported from "
          f"`{m.get('source')}`; the tool markers it lacked were added as special tokens "
          f"({', '.join(m.get('added_specials') or {}) or 'none'}).")
    ev = read(run, "eval/metrics.json") or {}
    rows = {r.get("name"): r for r in ev.get("rows") or [] if isinstance(r, dict)}
    have = [s for s in STAGES if s in rows]
    if not have:
        return sec.p("The eval stage has not run yet: no before/after rows.")
    sec.table(["claim", *[f"{s}: before | after" for s in have]],
              [[claim, *[f"{_cell(rows[s], a)} | {_cell(rows[s], b)}" for s in have]]
               for claim, a, b in CLAIMS]
              + [["arithmetic with the calculator: the trained problem families vs two held-out ones",
                  *[f"{_cell(rows[s], FAMILIES, 'trained')} | {_cell(rows[s], FAMILIES, 'held_out')}"
                    for s in have]]],
              "Accuracy on the same 200 items a set for every checkpoint [Wilson 95% interval]; "
              "refusal sets count a refusal as right; the held-out problem families' wording and "
              "structure are in no training data.")
    hall = [f"{s} {pct((rows[s].get('hallucination') or {}).get('rate'))}" for s in have]
    sec.p("Hallucination (confident answers about unknown and invented people): " + ", ".join(hall) + ".")
    for name, what in GUARDS:
        _kept_verdicts(sec, run, rows, have, name, what)
    return sec


def _kept_verdicts(sec: Section, run: Path, rows: dict, have: list[str], name: str, what: str) -> None:
    """One verdict per later checkpoint: the share of the set's items the imported model answered
    right that it still answers right."""
    base = correct_items(run, rows.get("import") or {}, name)
    for s in have[1:]:
        if name not in (rows[s].get("tasks") or {}):  # a base model, or a run before the set existed
            continue
        after = correct_items(run, rows[s], name)
        k = kept(base, after) if base is not None and after is not None else None
        if base is not None and not any(base):
            sec.verdict(None, f"{what} kept by {s}: the imported model answered none of it right.")
        elif k is None:
            sec.verdict(None, f"{what} kept by {s}: the per-item results are not in the run.")
        else:
            sec.verdict(k[0] >= KEPT_MIN, f"{what} kept by {s}: {pct(k[0])} of the {k[1]} "
                        f"facts the imported model answered right (target at least {pct(KEPT_MIN, 0)}).")
