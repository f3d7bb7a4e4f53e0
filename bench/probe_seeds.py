"""Seed-averaged figures of the probe stage: mean and spread over finished runs.

    python bench/probe_seeds.py runs/probe-s1 runs/probe-s2 runs/probe3-s1337

Reads each run's probe/metrics.json and prints, per figure, the mean, the standard deviation
over seeds and each seed's value (each value is on 200 distinct evaluation items, except
over-refusal, on the known-qa items the SFT model answered right). Writes
bench/results/probe_seeds.json.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

FIGURES = [  # (label, getter)
    ("refusal on unknown people", lambda m: m["table"]["refusal_unknown"]["after"]),
    ("refusal on invented people", lambda m: m["table"]["refusal_invented"]["after"]),
    ("hallucination rate before", lambda m: m["hallucination_before"]),
    ("hallucination rate after", lambda m: m["hallucination_after"]),
    ("known-qa before", lambda m: m["table"]["knowledge_known_qa"]["before"]),
    ("known-qa after", lambda m: m["table"]["knowledge_known_qa"]["after"]),
    ("over-refusal", lambda m: m["over_refusal"]),
    ("bio-only after", lambda m: m["table"]["knowledge_bio_only"]["after"]),
    ("known-qa with the page, after", lambda m: m["table"]["context_known"]["after"]),
    ("unknown with the page, after", lambda m: m["table"]["context_unknown"]["after"]),
    ("search on unknown people, after", lambda m: m["table"]["search_unknown"]["after"]),
    ("identity before", lambda m: m["before"]["acc_identity"]),
    ("identity after", lambda m: m["acc_identity"]),
]


def main(argv: list[str]) -> int:
    runs = [Path(a) for a in argv]
    if not runs:
        print(__doc__)
        return 2
    metrics = {}
    for r in runs:
        f = r / "probe" / "metrics.json"
        if not f.is_file():
            print(f"{f} is missing: run `chatforge probe --run-dir {r}` first.", file=sys.stderr)
            return 2
        metrics[str(r)] = json.loads(f.read_text())
    rows = []
    print(f"| figure | mean ± sd over {len(runs)} seeds | " + " | ".join(r.name for r in runs) + " |")
    print("|---|---|" + "---|" * len(runs))
    for label, get in FIGURES:
        vals = [get(m) for m in metrics.values()]
        mean, sd = statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0
        rows.append({"figure": label, "mean": round(mean, 4), "sd": round(sd, 4), "values": vals})
        print(f"| {label} | {100 * mean:.1f} ± {100 * sd:.1f}% | "
              + " | ".join(f"{100 * v:.1f}%" for v in vals) + " |")
    bases = [m["over_refusal_base"] for m in metrics.values()]
    print(f"over-refusal bases (known-qa answered right before): {bases}")
    out = Path(__file__).resolve().parent / "results" / "probe_seeds.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": list(metrics), "figures": rows, "over_refusal_bases": bases},
                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
