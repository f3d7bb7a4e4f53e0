"""Does a chat model copy the user's question into its search call? Teacher-forced, per token.

    python bench/query_copy.py --run-dir runs/laptop [--run-dir runs/cpu ...] [--items 100]

The search evaluation's questions (unknown people, tools on) are rendered with the answer the
mixture teaches: "I will look that up.", then a search call whose query is the question copied.
The chat model reads that conversation once and, at every query token, its greedy guess for the
next token is compared with the question's: the first token, the tokens of the person's name,
and the rest. A model that reads its context gets nearly all of the rest and the name right once
the copy has started; the copy probe (random words) can be perfect while these stay low, when
the language model's prior wins over copying on grammatical text. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatforge.core.atomic import atomic_write_json


def query_copy(run_dir: Path, items: int) -> dict:
    import torch

    from chatforge.chat.render import render
    from chatforge.core.rundir import saved_config
    from chatforge.pipeline import load_config
    from chatforge.tasks import build_cases
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import checkpoint as ckpt
    from chatforge.world import load_world

    if not (run_dir / "sft" / "ckpt").is_dir():
        sys.exit(f"{run_dir}/sft has no checkpoint: run `chatforge run --run-dir {run_dir}` first.")
    cfg = load_config(None, [], saved=saved_config(run_dir))
    model, tok_dir, _ = ckpt.load_model(run_dir / "sft", torch.device("cpu"))
    tok = Tokenizer.load(tok_dir or run_dir / "tokenizer")
    model.eval()
    world = load_world(run_dir / "world")
    names = {p.id: p.name for p in world.people}
    cases = build_cases(world, items, cfg.run.seed)["search_unknown"][:items]
    hits = {"first": [0, 0], "name": [0, 0], "rest": [0, 0]}
    with torch.inference_mode():
        for case in cases:
            q = case["messages"][-1]["content"]
            convo = case["messages"] + [{"role": "assistant", "content": [
                {"type": "text", "text": "I will look that up."},
                {"type": "tool_call", "tool": "search", "input": q},
                {"type": "tool_result", "output": "..."}, {"type": "text", "text": "..."}]}]
            ids = render(convo, tok).ids
            qids = tok.encode(q)
            n = len(qids)
            start = max(i for i in range(len(ids) - n + 1) if ids[i:i + n] == qids)  # the call's copy
            pred = model(torch.tensor([ids[:start + n]]))[0].argmax(-1).tolist()
            name_ids = set(tok.encode(" " + names[case["item"]["person_id"]]))
            for k in range(n):
                key = "first" if k == 0 else ("name" if qids[k] in name_ids else "rest")
                hits[key][0] += int(pred[start + k - 1] == qids[k])
                hits[key][1] += 1
    return {k: {"accuracy": round(a / max(1, b), 4), "tokens": b} for k, (a, b) in hits.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run-dir", type=Path, action="append", required=True)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("bench/results/query_copy.json"))
    args = ap.parse_args(argv)
    results = {}
    print(f"{'run':<32} {'first token':>12} {'name tokens':>12} {'other tokens':>13}")
    for run_dir in args.run_dir:
        r = results[str(run_dir)] = query_copy(run_dir, args.items)
        print(f"{str(run_dir):<32} {r['first']['accuracy']:>12.2f} {r['name']['accuracy']:>12.2f} "
              f"{r['rest']['accuracy']:>13.2f}")
    atomic_write_json(args.out, {"items": args.items, "runs": results})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
