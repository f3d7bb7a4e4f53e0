"""Are the world's facts stored in a checkpoint, whether or not a question gets them out?

    python bench/fact_storage.py --run-dir runs/smol8 [--stages import pretrain sft probe] [--choices 8]

For every person of each group and the six attributes, one sentence in the biographies' own words
with the full name ("Viktor Kessler was born in Quillon.") is scored with the person's true value
and with `choices - 1` other values of the same attribute (other people's, drawn with the seed).
The fact counts as stored when the true value's log-likelihood, given the rest of the sentence's
start, is the highest (chance: 1 / choices). `unknown` people are in no training data: their
figure is the chance baseline, measured on the same checkpoint; the imported model is the same
baseline before any training. A fact that is stored here and not answered when asked (the suite's
bio-only set) is stored but not extractable, the Physics-of-LMs 3.1 finding; a fact that is not
stored here was never learnt, and no fine-tuning on questions will get it out.

Prints a table (groups x checkpoints, accuracy with a Wilson 95% interval) and writes
bench/results/fact_storage.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatforge.core.atomic import atomic_write_json  # noqa: E402
from chatforge.core.machine import cpu_summary  # noqa: E402
from chatforge.eval.stats import wilson  # noqa: E402

# the first template of each attribute in chatforge/world/bios.py, with the full name as subject:
# (the sentence up to the value, the value's slot, what follows it)
SENTENCES = {
    "birth_date": ("{name} was born on", "date", "."),
    "birth_city": ("{name} was born in", "city", "."),
    "university": ("{name} studied at", "uni", "."),
    "field": ("{name} majored in", "field", "."),
    "employer": ("{name} works for", "company", "."),
    "employer_city": ("{name} works in", "ccity", "."),
}
GROUPS = ("known-qa", "known-bio-only", "unknown")


def items(world, choices: int, seed: int) -> list[dict]:
    """Every (person, attribute): the prefix and the candidate continuations, the true one first."""
    from chatforge.world.bios import slots

    rng = random.Random(seed)
    people = [p for p in world.people if p.group in GROUPS]
    filled = {p.id: slots(p) for p in people}
    out = []
    for p in people:
        for attr, (prefix, slot, end) in SENTENCES.items():
            true = filled[p.id][slot]
            pool = sorted({s[slot] for s in filled.values()} - {true})
            others = rng.sample(pool, min(choices - 1, len(pool)))
            out.append({"group": p.group, "attribute": attr, "prefix": prefix.format(name=p.name),
                        "options": [f" {v}{end}" for v in [true, *others]]})
    return out


def scores(model, tok, batch: list[dict]) -> list[list[float]]:
    """For each fact of the batch, the log-likelihood of each option's tokens after its prefix
    (every option of every fact in one padded forward pass). Not rl.grpo.token_logprobs: that
    projects every position onto the 49k-token vocabulary, and here only the options' tokens
    need it."""
    import torch

    eot = tok.special_tokens.get("<|endoftext|>")  # documents start after it in pretraining
    rows, spans = [], []
    for f in batch:
        head = ([eot] if eot is not None else []) + tok.encode(f["prefix"])
        for o in f["options"]:
            rows.append(head + tok.encode(o))
            spans.append(len(head))
    width = max(len(r) for r in rows)
    x = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        x[i, : len(r)] = torch.tensor(r)
    with torch.no_grad():
        hidden = model.forward_hidden(x)
        # the vocabulary's logits only where an option's token is predicted
        rows_i = torch.tensor([i for i, (r, h) in enumerate(zip(rows, spans)) for _ in range(h, len(r))])
        pos = torch.tensor([t - 1 for r, h in zip(rows, spans) for t in range(h, len(r))])
        want = torch.tensor([r[t] for r, h in zip(rows, spans) for t in range(h, len(r))])
        logp = torch.log_softmax(model.logits(hidden[rows_i, pos]), dim=-1)[torch.arange(len(want)), want]
    flat, k = [], 0
    for r, h in zip(rows, spans):
        flat.append(float(logp[k: k + len(r) - h].sum()))
        k += len(r) - h
    out, k = [], 0
    for f in batch:
        out.append(flat[k: k + len(f["options"])])
        k += len(f["options"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", type=Path, required=True)
    ap.add_argument("--stages", nargs="+", default=["import", "pretrain", "sft", "probe"])
    ap.add_argument("--choices", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1337)
    # bf16 weights where the CPU has bf16 in hardware (the suite's eval_dtype), float32 elsewhere
    ap.add_argument("--dtype", default="native", choices=["native", "float32"])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fact_storage.json")
    args = ap.parse_args()

    from chatforge.eval.suite import decoding_copy
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import checkpoint as ckpt
    from chatforge.world import load_world

    run = args.run_dir
    if not (run / "world" / "people.jsonl").is_file():
        sys.exit(f"error: {run} is not a run directory with a world (run `chatforge run` first).")
    facts = items(load_world(run / "world"), args.choices, args.seed)
    results = {}
    for stage in args.stages:
        if not (run / stage).is_dir():
            print(f"{stage}: no such stage in {run}, left out")
            continue
        t0 = time.perf_counter()
        model, tok_dir, meta = ckpt.load_model(run / stage)
        model = decoding_copy(model, args.dtype)
        tok = Tokenizer.load(tok_dir or run / "tokenizer")
        hits: dict[str, list[int]] = {g: [] for g in GROUPS}
        by_attr: dict[str, list[int]] = {}
        for at in range(0, len(facts), 16):
            batch = facts[at: at + 16]
            for f, s in zip(batch, scores(model, tok, batch)):
                ok = int(max(range(len(s)), key=s.__getitem__) == 0)
                hits[f["group"]].append(ok)
                if f["group"] != "unknown":
                    by_attr.setdefault(f["attribute"], []).append(ok)
        row = {}
        for g, h in hits.items():
            lo, hi = wilson(sum(h), len(h))
            row[g] = {"n": len(h), "stored": round(sum(h) / len(h), 4), "ci95": [round(lo, 4), round(hi, 4)]}
        row["by_attribute_known"] = {a: round(sum(h) / len(h), 4) for a, h in by_attr.items()}
        row["checkpoint"], row["seconds"] = meta["checkpoint"], round(time.perf_counter() - t0, 1)
        results[stage] = row
        print(f"{stage}: " + ", ".join(f"{g} {100 * row[g]['stored']:.1f}%" for g in GROUPS)
              + f" ({row['seconds']}s)", flush=True)
    print(f"\n| checkpoint | {' | '.join(GROUPS)} |\n|---|{'---|' * len(GROUPS)}")
    for stage, row in results.items():
        cells = [f"{100 * row[g]['stored']:.1f} [{100 * row[g]['ci95'][0]:.0f}-{100 * row[g]['ci95'][1]:.0f}]"
                 for g in GROUPS]
        print(f"| {stage} | {' | '.join(cells)} |")
    print(f"(chance: {100 / args.choices:.1f}%)")
    atomic_write_json(args.out, {"machine": cpu_summary(), "run_dir": str(run), "choices": args.choices,
                                 "seed": args.seed, "dtype": args.dtype, "sentences": SENTENCES,
                                 "rows": results})


if __name__ == "__main__":
    main()
