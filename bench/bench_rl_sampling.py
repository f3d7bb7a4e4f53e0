"""RL sampling speed: chatforge's batched engine next to Hugging Face `generate` on the GRPO workload.

    python bench/bench_rl_sampling.py                          # runs/probe-s1337/sft, 8 prompts x 16 samples
    python bench/bench_rl_sampling.py --quick                  # smoke run: 2 prompts, 16 tokens, 1 rep
    python bench/bench_rl_sampling.py --checkpoint runs/cpu/sft --prompts 4 --max-new-tokens 256

The workload is one sampling call of the RL stage (chatforge/rl/rollout.py): P real training
problems of the run's world (arithmetic word problems and letter counting, the tools-off sets),
each rendered as a chat user turn by `render_prompt`, and G samples of each at temperature 1,
no top-k / top-p, up to --max-new-tokens tokens, stopping at the chat stop tokens.

  chatforge  one `Engine(model, tokenizer).generate(prompts, num_samples=G, ...)` call: one
             prefill of the P distinct prompts, G cache rows per prompt, finished rows leave
             the batch. No tool executor, so no tool output is force-fed: both sides do the
             same work (sampling only).
  HF         what TRL's GRPOTrainer runs without vLLM: the same weights exported to
             LlamaForCausalLM / Qwen3ForCausalLM (`chatforge.model.hf_map.to_hf_model`,
             float32), `generate(input_ids, attention_mask, do_sample=True, temperature=1.0,
             top_k=0, top_p=1.0, num_return_sequences=G, ...)` on the left-padded prompts
             with its KV cache. HF expands the prompts to P*G rows before the prefill (as
             GRPOTrainer's repeated prompts do) and keeps finished rows in the batch, writing
             pad, until every row has stopped. Its eos ids are the same stop ids the engine
             gets (`<|im_end|>` and `<|endoftext|>`, as in the HF export's generation config).

Both sides use the same torch threads and seed. Samples have random lengths, so the report has
both samples/s (P*G / seconds per call) and generated tokens/s (tokens each row produced up to
and including its stop token; HF's pad after a row's stop is not counted), the mean completion
length of each side, and the ratio ours / HF of both rates. Each call is timed end to end
(prefill included), best of --reps, the two implementations alternating so a busy machine slows
them alike; with one thread the clock is this process's CPU time, otherwise wall time. Before
timing, greedy decoding of every prompt is compared between the two (unpadded and left-padded)
to show they run the same model.

Timings are only meaningful on an otherwise idle machine; the JSON records the load average
before and after. Writes bench/results/rl_sampling.json (--quick: rl_sampling_quick.json) and
prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUICK = {"prompts": 2, "max_new_tokens": 16, "reps": 1}
FULL = {"prompts": 8, "max_new_tokens": 128, "reps": 3}
GREEDY_CHECK_TOKENS = 32


def timed(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def find_world(checkpoint: Path) -> Path | None:
    """The run's world folder: the first `world/` next to the checkpoint or above it."""
    for p in [checkpoint, *checkpoint.resolve().parents]:
        if (p / "world" / "world.json").is_file() or (p / "world" / "tasks").is_dir():
            return p / "world"
    return None


def pick_questions(world, tasks: list[str], n: int, seed: int) -> list[dict]:
    """n train problems, taken in turn from each task, a seeded random choice within each."""
    rng = random.Random(seed)
    per = {t: world.tasks(t, "train") for t in tasks}
    want = {t: n // len(tasks) + (i < n % len(tasks)) for i, t in enumerate(tasks)}
    chosen = {t: rng.sample(per[t], min(want[t], len(per[t]))) for t in tasks}
    out = []
    for i in range(max(want.values())):
        out += [{"task": t, "question": chosen[t][i]["question"]} for t in tasks if i < len(chosen[t])]
    return out


def git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return (head + ("+dirty" if dirty else "")) or None
    except (OSError, subprocess.SubprocessError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="runs/probe-s1337/sft",
                    help="chat model: checkpoint file, ckpt/ folder or stage folder (default: %(default)s)")
    ap.add_argument("--world", default=None,
                    help="the run's world folder (default: found next to/above the checkpoint)")
    ap.add_argument("--tokenizer", default=None,
                    help="tokenizer folder (default: the checkpoint's, else the run's)")
    ap.add_argument("--tasks", default="arithmetic,letters",
                    help="world tasks to draw problems from (default: %(default)s)")
    ap.add_argument("--prompts", type=int, default=None,
                    help=f"P, prompts per call (default {FULL['prompts']})")
    ap.add_argument("--samples", type=int, default=16, help="G, samples per prompt (default: %(default)s)")
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help=f"per sample (default {FULL['max_new_tokens']})")
    ap.add_argument("--reps", type=int, default=None,
                    help=f"timed calls per side, best counts (default {FULL['reps']})")
    ap.add_argument("--seed", type=int, default=0, help="problem choice and sampling seed (same every rep)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for both sides (default 1; 0 = torch's default)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: {QUICK['prompts']} prompts, {QUICK['max_new_tokens']} tokens, "
                         f"{QUICK['reps']} rep (explicit flags still win)")
    ap.add_argument("--out", default=None,
                    help="JSON path (default bench/results/rl_sampling.json, "
                         "--quick: rl_sampling_quick.json)")
    args = ap.parse_args()
    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    for k in ("prompts", "samples", "max_new_tokens", "reps"):
        if getattr(args, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be >= 1")
    if args.out is None:
        args.out = str(ROOT / "bench" / "results"
                       / ("rl_sampling_quick.json" if args.quick else "rl_sampling.json"))
    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = os.getloadavg()

    import transformers

    import chatforge
    from chatforge.chat.render import render_prompt, stop_ids
    from chatforge.core.atomic import atomic_write_json
    from chatforge.core.machine import cpu_summary
    from chatforge.engine import Engine
    from chatforge.engine.sampling import GREEDY
    from chatforge.model.hf_map import to_hf_model
    from chatforge.tokenizer import Tokenizer
    from chatforge.train.checkpoint import load_model
    from chatforge.world import load_world

    # ---- model, tokenizer, problems ------------------------------------------------------------
    ckpt = Path(args.checkpoint)
    if not ckpt.exists() and (ROOT / ckpt).exists():  # the default, run from outside the repository
        ckpt = ROOT / ckpt
    model, tok_dir, meta = load_model(ckpt, "cpu")
    world_dir = Path(args.world) if args.world else find_world(ckpt)
    if world_dir is None:
        ap.error(f"no world/ folder next to or above {ckpt}; pass --world")
    if args.tokenizer:
        tok_dir = Path(args.tokenizer)
    elif tok_dir is None:
        tok_dir = world_dir.parent / "tokenizer"
    tokenizer = Tokenizer.load(tok_dir)
    world = load_world(world_dir)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    problems = pick_questions(world, tasks, args.prompts, args.seed)
    if len(problems) < args.prompts:
        ap.error(f"only {len(problems)} problems in {tasks}")
    prompts = [render_prompt([{"role": "user", "content": p["question"]}], tokenizer) for p in problems]
    stops = stop_ids(tokenizer)
    pad = tokenizer.special_tokens.get("<|pad|>", stops[0])
    P, G, L = len(prompts), args.samples, max(len(p) for p in prompts)
    room = model.config.max_seq_len - L
    if args.max_new_tokens > room:  # the engine would cut every row short; keep both sides equal
        print(f"note: --max-new-tokens {args.max_new_tokens} lowered to {room} "
              f"(context {model.config.max_seq_len}, longest prompt {L})")
        args.max_new_tokens = room
    N = args.max_new_tokens

    engine = Engine(model, tokenizer)
    hf = to_hf_model(model)
    ids = torch.full((P, L), pad, dtype=torch.long)
    mask = torch.zeros((P, L), dtype=torch.long)
    for i, p in enumerate(prompts):  # left padding, as GRPOTrainer's tokenizer call gives
        ids[i, L - len(p):] = torch.tensor(p)
        mask[i, L - len(p):] = 1
    stop_t = torch.tensor(stops)

    def hf_lengths(gen: torch.Tensor) -> list[int]:
        """Tokens each row generated up to and including its first stop token."""
        hit = torch.isin(gen, stop_t)
        first = hit.int().argmax(dim=1)
        return torch.where(hit.any(dim=1), first + 1, torch.full_like(first, gen.shape[1])).tolist()

    @torch.inference_mode()
    def hf_generate(inp, att, n_new, sample: bool, n_seq: int = 1):
        kw = dict(do_sample=True, temperature=1.0, top_k=0, top_p=1.0) if sample else dict(do_sample=False)
        return hf.generate(input_ids=inp, attention_mask=att, max_new_tokens=n_new,
                           num_return_sequences=n_seq, eos_token_id=stops, pad_token_id=pad, use_cache=True,
                           disable_compile=True, **kw)

    # ---- the two implementations run the same model: greedy decoding agrees --------------------
    n_check = min(N, GREEDY_CHECK_TOKENS)
    ours_greedy = [o.tokens for o in engine.generate(prompts, max_new_tokens=n_check, sampling=GREEDY,
                                                     stop_ids=stops)]
    unpadded = 0
    for p, ref in zip(prompts, ours_greedy):
        gen = hf_generate(torch.tensor([p]), None, n_check, sample=False)[:, len(p):]
        unpadded += gen[0, : hf_lengths(gen)[0]].tolist() == ref
    gen = hf_generate(ids, mask, n_check, sample=False)[:, L:]
    padded = sum(gen[i, :n].tolist() == ours_greedy[i] for i, n in enumerate(hf_lengths(gen)))

    # ---- the timed workload ---------------------------------------------------------------------
    def ours():
        outs = engine.generate(prompts, num_samples=G, max_new_tokens=N, seed=args.seed,
                               stop_ids=stops)
        assert len(outs) == P * G
        lens = [len(o.tokens) for o in outs]
        # finished rows leave the batch: a row is decoded once per token it generates
        return lens, [bool(o.tokens) and o.tokens[-1] in stops for o in outs], max(lens), sum(lens)

    def theirs():
        torch.manual_seed(args.seed)
        out = hf_generate(ids, mask, N, sample=True, n_seq=G)
        assert out.shape[0] == P * G
        gen = out[:, L:]
        lens = hf_lengths(gen)
        # every row stays in the batch until the last one stops
        return (lens, [int(gen[r, n - 1]) in stops for r, n in enumerate(lens)], gen.shape[1],
                gen.shape[0] * gen.shape[1])

    fns = {"chatforge": ours, "transformers": theirs}
    for fn in fns.values():  # warm-up (not timed)
        fn()
    clock_name = "process CPU time" if torch.get_num_threads() == 1 else "wall"
    runs: dict[str, list[dict]] = {k: [] for k in fns}
    for _ in range(args.reps):
        for name, fn in fns.items():
            (lens, stopped, steps, row_steps), wall, cpu = timed(fn)
            runs[name].append({"wall_s": wall, "cpu_s": cpu, "tokens": sum(lens), "stopped": sum(stopped),
                               "mean_len": sum(lens) / len(lens), "decode_steps": steps,
                               "row_steps": row_steps})
    load_end = os.getloadavg()

    results = {}
    for name, rs in runs.items():
        for r in rs:
            r["seconds"] = r["cpu_s"] if clock_name.startswith("process") else r["wall_s"]
            r["samples_per_s"] = P * G / r["seconds"]
            r["tokens_per_s"] = r["tokens"] / r["seconds"]
        best = min(rs, key=lambda r: r["seconds"])
        results[name] = {
            "seconds_per_call": best["seconds"],
            "samples_per_s": max(r["samples_per_s"] for r in rs),
            "generated_tokens_per_s": max(r["tokens_per_s"] for r in rs),
            "mean_completion_tokens": best["mean_len"],
            "generated_tokens": best["tokens"],
            "finished_with_stop": best["stopped"] / (P * G),
            "decode_steps": best["decode_steps"],
            "row_steps": best["row_steps"],
            "same_lengths_every_rep": len({r["tokens"] for r in rs}) == 1,
            "reps": rs,
        }
    ratio = {"samples_per_s": (results["chatforge"]["samples_per_s"]
                               / results["transformers"]["samples_per_s"]),
             "generated_tokens_per_s": (results["chatforge"]["generated_tokens_per_s"]
                                        / results["transformers"]["generated_tokens_per_s"])}

    res = {
        "workload": {"checkpoint": meta["checkpoint"], "step": meta.get("step"), "params": model.num_params(),
                     "shape": (f"{model.config.n_layer} layers x d {model.config.d_model} x "
                               f"{model.config.n_head} heads, "
                               f"context {model.config.max_seq_len}, vocab {model.config.vocab_size}"),
                     "world": str(world_dir), "tasks": tasks, "prompts": P, "samples_per_prompt": G,
                     "rows": P * G, "max_new_tokens": N, "temperature": 1.0, "seed": args.seed,
                     "stop_ids": stops, "pad_id": pad, "prompt_tokens": [len(p) for p in prompts],
                     "questions": [p["question"] for p in problems], "tools": False, "quick": args.quick},
        "greedy_check": {"tokens": n_check, "prompts": P, "match_unpadded": unpadded,
                         "match_left_padded": padded},
        "results": results,
        "ratio_chatforge_over_hf": ratio,
        "reps": args.reps,
        "clock": clock_name,
        "torch_threads": torch.get_num_threads(),
        "machine": {"platform": platform.platform(), "arch": platform.machine(), "cpu": cpu_summary(),
                    "cpu_count": os.cpu_count(), "python": platform.python_version()},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "chatforge": chatforge.__version__, "git": git_commit()},
        "hf_attn_implementation": getattr(hf.config, "_attn_implementation", None),
        "load_avg_1m": {"start": load_start[0], "end": load_end[0]},
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    atomic_write_json(Path(args.out), res)

    c, h = results["chatforge"], results["transformers"]
    print(f"{meta['checkpoint']} ({model.num_params() / 1e6:.2f}M params; {res['workload']['shape']})")
    print(f"{P} prompts ({', '.join(tasks)}; {min(res['workload']['prompt_tokens'])}-{L} tokens) "
          f"x {G} samples = {P * G} rows, <= {N} new tokens, temperature 1, no tools")
    print(f"{res['machine']['cpu']}; {res['torch_threads']} thread(s), clock: {clock_name}, "
          f"best of {args.reps}; load avg {load_start[0]:.1f} -> {load_end[0]:.1f}; "
          f"torch {torch.__version__}, transformers {transformers.__version__}")
    print(f"greedy check ({n_check} tokens): HF matches the engine on {unpadded}/{P} prompts unpadded, "
          f"{padded}/{P} left-padded")
    print()
    print("| | chatforge Engine.generate | HF generate | chatforge / HF |")
    print("|---|---:|---:|---:|")
    print(f"| samples/s | {c['samples_per_s']:.1f} | {h['samples_per_s']:.1f} | "
          f"{ratio['samples_per_s']:.2f}x |")
    print(f"| generated tokens/s | {c['generated_tokens_per_s']:.0f} | {h['generated_tokens_per_s']:.0f} | "
          f"{ratio['generated_tokens_per_s']:.2f}x |")
    print(f"| seconds per call | {c['seconds_per_call']:.3f} | {h['seconds_per_call']:.3f} | |")
    print(f"| mean completion length (tokens) | {c['mean_completion_tokens']:.1f} | "
          f"{h['mean_completion_tokens']:.1f} | |")
    print(f"| ended with a stop token | {c['finished_with_stop']:.0%} | {h['finished_with_stop']:.0%} | |")
    print(f"| decode steps (longest row) | {c['decode_steps']} | {h['decode_steps']} | |")
    print(f"| row-steps decoded (rows x steps in the batch) | {c['row_steps']} | {h['row_steps']} | |")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
