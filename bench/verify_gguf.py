"""Does llama.cpp run our GGUF export as the same model? Tokenization and greedy generation.

    pip install llama-cpp-python                 # builds llama.cpp from source (~6+ minutes)
    python bench/verify_gguf.py                   # tiny models (Llama and Qwen3 layouts) made on the spot
    python bench/verify_gguf.py --run-dir runs/cpu --out bench/gguf.json

For each model: export f32 (and f16, q8_0), load each with llama-cpp-python, and compare
(1) the token ids of 100 varied texts (llama.cpp's tokenizer vs ours, must be identical for f32),
(2) the prompt ids llama.cpp builds from the rendered chat text (BOS added, specials parsed),
(3) greedy continuations of a few chat prompts against our engine (identical for f32; f16/q8_0
are reported, since rounding may flip a near-tie).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # tests/tiny.py: the tiny model


def check(label: str, loaded, workdir: Path, quants: list[str]) -> dict:
    from chatforge.export.gguf import export_gguf
    from chatforge.export.verify import compare_llama_cpp

    out = {}
    for q in quants:
        f = export_gguf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, workdir / f"{label}-{q}.gguf",
                        q)
        t0 = time.time()
        rep = compare_llama_cpp(f, loaded.model, loaded.tokenizer, n_tokens=24)
        out[q] = {"size_kb": f.stat().st_size // 1024, "seconds": round(time.time() - t0, 1),
                  "texts": rep["texts"], "tokenize_mismatches": len(rep["tokenize_mismatches"]),
                  "mismatch_samples": rep["tokenize_mismatches"][:3],
                  "prompts": len(rep["generation"]),
                  "prompt_ids_equal": sum(g["prompt_ids_equal"] for g in rep["generation"]),
                  "greedy_equal": sum(g["equal"] for g in rep["generation"]),
                  "generation": rep["generation"]}
        print(f"{label} {q}: {out[q]['size_kb']} KB, "
              f"tokenization {rep['texts'] - out[q]['tokenize_mismatches']}"
              f"/{rep['texts']} identical, chat prompt ids {out[q]['prompt_ids_equal']}/{out[q]['prompts']}, "
              f"greedy continuations {out[q]['greedy_equal']}/{out[q]['prompts']} identical", flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", type=Path, default=None,
                    help="check this run's chat model (default: tiny models)")
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--quants", default="f32,f16,q8_0")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        print("llama-cpp-python is not installed: pip install llama-cpp-python", file=sys.stderr)
        return 2
    from tiny import make_tiny_checkpoint

    from chatforge.engine import source

    quants = args.quants.split(",")
    work = Path(tempfile.mkdtemp(prefix="verify_gguf."))
    report = {}
    if args.run_dir or args.checkpoint:
        report["run"] = check("run", source.load(args.run_dir, args.checkpoint), work, quants)
    else:
        for label, kw in (("llama", dict(qk_norm=False, tie_embeddings=True, n_kv_head=2)),
                          ("qwen3", dict(qk_norm=True, tie_embeddings=False, n_kv_head=4,
                                         rope_theta=50000.0))):
            ckpt = make_tiny_checkpoint(work / label, train_steps=80, **kw)
            report[label] = check(label, source.load(checkpoint=ckpt), work, quants)
    shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    ok = all(r["f32"]["tokenize_mismatches"] == 0 and r["f32"]["greedy_equal"] == r["f32"]["prompts"]
             and r["f32"]["prompt_ids_equal"] == r["f32"]["prompts"] for r in report.values() if "f32" in r)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
