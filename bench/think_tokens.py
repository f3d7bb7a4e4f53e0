"""Models need tokens to think: the same problems trained answer-first, step by step, or with the calculator.

    python bench/think_tokens.py                          # one seed, default settings (~10 min on 2 cores)
    python bench/think_tokens.py --seeds 1337,1338,1339   # mean and spread over seeds
    python bench/think_tokens.py --quick                  # smoke run: a few steps, 20 items

Every arm starts from the same pretrained base checkpoint (--run-dir, default runs/probe-s1337) and
is fine-tuned with chatforge.sft.finetune on the same arithmetic word problems, the same number of
conversations, the same training settings (the run's [sft] section, epochs/steps overridable) and
the same seed; only the rendering of the solution differs:

    answer_first   "The answer is 20. The brother is 9 + 1 = 10 ... So the answer is 20."  (tools off)
    step_by_step   "The brother is 9 + 1 = 10 ... The father is 20 years old. The answer is 20."
    calculator     calls the calculator for every step (system prompt "Tools: calculator, ...")

Each arm is then evaluated greedily on the same --items arithmetic test problems (the run's real
tools for the calculator arm), scored with the world's checker (the last number written), split
by number of steps and by held-out problem family, with the mean answer length in tokens (what
the model writes itself: tool results are not counted) and the tool-call rate. For answer-first,
the "committed" accuracy scores the first number written: the answer given before any working,
since the checker's last number may be the restatement after the worked steps.

Checkpoints go to runs/exp/think/<arm>-s<seed>-<settings hash>/ (a rerun skips finished arms
and resumes unfinished ones). Prints a markdown table, writes bench/results/think_tokens.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chatforge.core.atomic import atomic_write_json, read_json  # noqa: E402
from chatforge.core.machine import cpu_summary  # noqa: E402
from chatforge.eval.stats import mean_sd, wilson  # noqa: E402

ARMS = ("answer_first", "step_by_step", "calculator")


def conversations(world, arm: str, n: int, seed: int, execute=None) -> tuple[list[dict], list[dict]]:
    """(train, val) conversations of one arm: the same problems in the same order for every arm
    of a seed (val: 5% of the train problems, held out). Calculator conversations get the
    tools-on system prompt and their tool results from the run's real calculator (`execute`)."""
    from chatforge.chat.prompts import system_prompt
    from chatforge.tools.training import retool, tool_calls

    items = list(world.tasks("arithmetic", "train"))
    random.Random(f"think:{seed}").shuffle(items)
    n_val = max(1, len(items) // 20)
    val_items, pool = items[:n_val], items[n_val:]
    train_items = [pool[i % len(pool)] for i in range(n)]  # cycles when n exceeds the pool
    system = [{"role": "system", "content": system_prompt(True)}] if arm == "calculator" else []
    train, val = ([{"kind": arm, "messages": system + [dict(m) for m in it["solutions"][arm]["messages"]]}
                   for it in its] for its in (train_items, val_items))
    if arm == "calculator":
        execute.prefetch([tc for c in train + val for tc in tool_calls(c)])
        execute.stop_if_broken("think_tokens")
        train, val = [retool(c, execute) for c in train], [retool(c, execute) for c in val]
    return train, val


def test_items(world, n: int) -> list[dict]:
    """The same test problems for every arm and seed."""
    items = list(world.tasks("arithmetic", "test"))
    random.Random("think-eval").shuffle(items)
    return items[:n]


def first_number(text: str) -> float | None:
    from chatforge.world.checkers import _NUM

    m = _NUM.search(text)
    return float(m.group(0).replace(",", "")) if m else None


def written_tokens(question: list[dict], segs: list[dict], tokenizer) -> int:
    """Tokens the model wrote itself in its answer (text, tool calls, <|im_end|>; not tool results)."""
    from chatforge.chat.render import assistant_text, render

    try:
        return sum(render([*question, {"role": "assistant", "content": segs}], tokenizer).mask)
    except Exception:  # a turn cut off mid-call may not render; count its text
        return len(tokenizer.encode(assistant_text(segs)))


def evaluate(model, tokenizer, world, run_dir: Path, arm: str, items: list[dict], args) -> dict:
    import torch

    from chatforge.chat.prompts import system_prompt
    from chatforge.chat.render import assistant_text
    from chatforge.chat.turns import answer_many, tools_off
    from chatforge.engine import Engine
    from chatforge.tools import make_executor

    tools = arm == "calculator"
    execute = make_executor(run_dir)

    system = [{"role": "system", "content": system_prompt(True)}] if tools else []
    convs = [system + [{"role": "user", "content": it["question"]}] for it in items]
    threads = torch.get_num_threads()
    torch.set_num_threads(args.eval_threads)
    t0 = time.perf_counter()
    try:
        answers = answer_many(Engine(model.eval(), tokenizer), tokenizer, convs,
                              executor=execute if tools else tools_off,
                              max_new_tokens=args.max_new_tokens, batch_size=args.eval_batch)
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - t0
    rows = []
    for it, c, segs in zip(items, convs, answers):
        text = assistant_text(segs)
        first = first_number(text)
        rows.append({"id": it["id"], "steps": it["steps"], "held_out": bool(it["held_out_family"]),
                     "correct": bool(world.check("arithmetic", it, text)),
                     "first_correct": first is not None and abs(first - float(it["answer"])) < 1e-9,
                     "tool_call": any(s["type"] == "tool_call" for s in segs),
                     "tokens": written_tokens(c, segs, tokenizer), "answer": segs})
    return {"seconds": round(seconds, 1), "rows": rows}


def score(rows: list[dict], key: str = "correct") -> dict:
    k, n = sum(r[key] for r in rows), len(rows)
    lo, hi = wilson(k, n)
    return {"n": n, "correct": k, "accuracy": round(k / n, 4) if n else None,
            "ci95": [round(lo, 4), round(hi, 4)]}


def summarize(rows: list[dict]) -> dict:
    out = {"all": score(rows), "committed_first_number": score(rows, "first_correct")}
    for s in (1, 2, 3):
        out[f"steps_{s}"] = score([r for r in rows if r["steps"] == s])
    out["held_out_family"] = score([r for r in rows if r["held_out"]])
    out["train_family"] = score([r for r in rows if not r["held_out"]])
    out["mean_tokens"] = round(sum(r["tokens"] for r in rows) / len(rows), 1)
    out["tool_call_rate"] = round(sum(r["tool_call"] for r in rows) / len(rows), 4)
    return out


def run_arm(arm: str, seed: int, args, tcfg, world, items: list[dict], key: str) -> dict:
    """Fine-tune one arm from the base checkpoint (or resume it) and evaluate it; cached on disk."""
    import torch

    from chatforge.core.device import pick_device
    from chatforge.core.log import Logger
    from chatforge.tokenizer import Tokenizer
    from chatforge.tools.training import training_executor
    from chatforge.train import checkpoint as ckpt
    from chatforge.train.dist import setup
    from chatforge.tune.finetune import FinetuneRun, finetune

    out = args.out / f"{arm}-s{seed}-{key}"
    done = read_json(out / "result.json")
    if done:
        print(f"{arm} s{seed}: finished before ({out})", flush=True)
        return done
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "settings.json", {"arm": arm, "seed": seed, **settings(args, tcfg)})
    run_dir = args.run_dir
    dist = setup(pick_device("auto"))
    torch.manual_seed(seed)
    model, tok_dir, base_meta = ckpt.load_model(run_dir / "pretrain", dist.device)
    if tok_dir is None:
        tok_dir = run_dir / "tokenizer"
    tokenizer = Tokenizer.load(tok_dir)
    execute = training_executor(run_dir) if arm == "calculator" else None
    train, val = conversations(world, arm, args.conversations, seed, execute)
    log = Logger(out / "metrics.jsonl", prefix=f"{arm} s{seed}")
    t0 = time.perf_counter()
    model.train()
    metrics = finetune(model, tokenizer, tok_dir, train, val, tcfg, FinetuneRun(
        ckpt_dir=out / "ckpt", run_dir=run_dir, world_dir=run_dir / "world", dist=dist, seed=seed, log=log,
        label=f"think.{arm}",
        meta={"stage": "think_tokens", "arm": arm, "base": base_meta["checkpoint"], "chat": True}))
    train_s = time.perf_counter() - t0
    ev = evaluate(model, tokenizer, world, run_dir, arm, items, args)
    res = {"arm": arm, "seed": seed, "base": base_meta["checkpoint"], "train": metrics,
           "train_seconds": round(train_s, 1), "eval_seconds": ev["seconds"],
           "summary": summarize(ev["rows"]), "rows": ev["rows"]}
    atomic_write_json(out / "result.json", res)
    s = res["summary"]["all"]
    print(f"{arm} s{seed}: {s['correct']}/{s['n']} = {100 * s['accuracy']:.1f}% "
          f"(train {train_s:.0f}s, eval {ev['seconds']:.0f}s)", flush=True)
    return res


def settings(args, tcfg) -> dict:
    return {"run_dir": str(args.run_dir), "conversations": args.conversations,
            "train": dataclasses.asdict(tcfg)}


def pct(v: float) -> str:
    return f"{100 * v:.1f}"


def cell(results: list[dict], key: str) -> str:
    """One seed: accuracy [95% CI] (n); several: mean ± sd over seeds (n per seed)."""
    recs = [r["summary"][key] for r in results]
    if len(recs) == 1:
        r = recs[0]
        if not r["n"]:
            return "-"
        return f"{pct(r['accuracy'])}% [{pct(r['ci95'][0])}–{pct(r['ci95'][1])}] (n={r['n']})"
    m, sd = mean_sd([r["accuracy"] for r in recs if r["n"]])
    return f"{pct(m)}% ± {pct(sd)} (n={recs[0]['n']})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, default=REPO / "runs" / "probe-s1337",
                    help="a finished run: its pretrain checkpoint, tokenizer, world and tools")
    ap.add_argument("--seeds", default="1337")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--conversations", type=int, default=1500, help="training conversations per arm")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--max-steps", type=int, default=0,
                    help="> 0 caps the optimizer steps (epochs otherwise)")
    ap.add_argument("--lr", type=float, default=None, help="default: the run's sft.lr")
    ap.add_argument("--items", type=int, default=200, help="arithmetic test problems per arm")
    ap.add_argument("--max-new-tokens", type=int, default=160)
    ap.add_argument("--eval-batch", type=int, default=16)
    ap.add_argument("--eval-threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 conversations, 6 steps, 20 items")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "exp" / "think")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "think_tokens.json")
    args = ap.parse_args()
    if args.quick:
        args.conversations, args.max_steps, args.items = 200, 6, 20
        if args.json == ap.get_default("json"):
            args.json = args.json.with_name("think_tokens_quick.json")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad:
        ap.error(f"unknown arm {bad[0]!r} (arms: {', '.join(ARMS)})")
    if not (args.run_dir / "pretrain" / "_COMPLETE.json").exists():
        ap.error(f"{args.run_dir} has no finished pretrain stage")

    from chatforge.pipeline import load_config
    from chatforge.world import load_world

    cfg = load_config(saved=read_json(args.run_dir / "config.json"))
    tcfg = dataclasses.replace(cfg.sft, epochs=args.epochs, max_steps=args.max_steps,
                               lr=cfg.sft.lr if args.lr is None else args.lr, eval=False)
    key = hashlib.sha256(json.dumps(settings(args, tcfg), sort_keys=True).encode()).hexdigest()[:8]
    world = load_world(args.run_dir / "world")
    items = test_items(world, args.items)

    t0 = time.perf_counter()
    results: dict[str, list[dict]] = {a: [] for a in arms}
    for seed in seeds:
        for arm in arms:
            results[arm].append(run_arm(arm, seed, args, tcfg, world, items, key))
    wall = time.perf_counter() - t0

    cols = [("all", "all"), ("steps_1", "1 step"), ("steps_2", "2 steps"), ("steps_3", "3 steps"),
            ("train_family", "seen families"), ("held_out_family", "held-out families")]
    head = "single run: accuracy [Wilson 95% CI]" if len(seeds) == 1 else \
        f"mean ± sd over {len(seeds)} seeds"
    print(f"\n### Models need tokens to think ({head})\n")
    print(f"base {results[arms[0]][0]['base']}; {args.conversations} conversations, "
          f"{results[arms[0]][0]['train']['epochs']} epochs (arm 1), seeds {args.seeds}; {cpu_summary()}\n")
    print("| arm | " + " | ".join(c[1] for c in cols)
          + " | committed (1st number) | tokens | tool calls | train s |")
    print("|---" * (len(cols) + 5) + "|")
    table = {}
    for arm in arms:
        rs = results[arm]
        toks = mean_sd([r["summary"]["mean_tokens"] for r in rs])[0]
        calls = mean_sd([r["summary"]["tool_call_rate"] for r in rs])[0]
        train_s = mean_sd([r["train_seconds"] for r in rs])[0]
        print(f"| {arm} | " + " | ".join(cell(rs, c[0]) for c in cols)
              + f" | {cell(rs, 'committed_first_number')} | {toks:.1f} | {pct(calls)}% | {train_s:.0f} |")
        table[arm] = {k: {"per_seed": [r["summary"][k]["accuracy"] for r in rs],
                          "mean": mean_sd([r["summary"][k]["accuracy"] for r in rs])[0],
                          "sd": mean_sd([r["summary"][k]["accuracy"] for r in rs])[1]}
                      for k in [c[0] for c in cols] + ["committed_first_number"]}
        table[arm].update({"mean_tokens": toks, "tool_call_rate": calls, "train_seconds": train_s,
                           "steps": [r["train"]["steps"] for r in rs],
                           "val_loss": [r["train"]["val_loss"] for r in rs]})
    # the floor: one number said for every problem (the most common test answer)
    guess = Counter(it["answer"] for it in items).most_common(1)[0][0]
    base_rows = [{"steps": it["steps"], "held_out": bool(it["held_out_family"]),
                  "correct": it["answer"] == guess, "first_correct": it["answer"] == guess,
                  "tool_call": False, "tokens": 0} for it in items]
    floor = summarize(base_rows)
    print(f"| always \"{guess}\" | " + " | ".join(cell([{"summary": floor}], c[0]) for c in cols)
          + " | - | - | - | - |")
    table["constant_guess"] = {"answer": guess, **{c[0]: floor[c[0]]["accuracy"] for c in cols}}
    print(f"\nwall {wall:.0f}s (this invocation; finished arms are reused)")
    atomic_write_json(args.json, {
        "command": " ".join(sys.argv), "quick": args.quick, "seeds": seeds, "arms": arms,
        "settings": settings(args, tcfg), "settings_key": key, "items": args.items,
        "max_new_tokens": args.max_new_tokens, "test_ids": [it["id"] for it in items],
        "cpu": cpu_summary(), "platform": platform.platform(), "python": platform.python_version(),
        "wall_seconds": round(wall, 1), "table": table,
        "arm_seconds": sum(r["train_seconds"] + r["eval_seconds"] for rs in results.values() for r in rs),
        "runs": {arm: [{k: v for k, v in r.items() if k != "rows"} | {"samples": r["rows"][:5]} for r in rs]
                 for arm, rs in results.items()}})
    print(f"-> {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
