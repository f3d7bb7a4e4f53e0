"""`chatforge export --format hf|gguf --out PATH`: a run's model in the formats other tools load."""

from __future__ import annotations

import argparse
from pathlib import Path

from chatforge.core.deps import require
from chatforge.core.errors import UserError
from chatforge.core.log import say
from chatforge.export.checks import checks


def register(sub: argparse._SubParsersAction, parents: list) -> None:
    p = sub.add_parser(
        "export", parents=parents, help="export a model to Hugging Face or GGUF (llama.cpp)",
        description="Write the best chat model of a run (--run-dir: the most refined one that keeps "
        "the evaluation suite) or a checkpoint "
        "(--checkpoint) as a Hugging Face folder (safetensors, config, tokenizer, chat template; "
        "loads with AutoModelForCausalLM/AutoTokenizer) or as one GGUF file for llama.cpp, "
        "LM Studio and Ollama.")
    p.add_argument("--format", required=True, choices=("hf", "gguf"), help="hf: a folder; gguf: one file")
    p.add_argument("--out", required=True, type=Path, help="output folder (hf) or file (gguf)")
    p.add_argument("--run-dir", type=Path, default=None, help="run directory (default: runs/cpu)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="a checkpoint file or folder instead of a run")
    p.add_argument("--quant", default="f32", choices=("f32", "f16", "q8_0"),
                   help="gguf weight type (default f32)")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                   help="hf weight type (default float32)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from chatforge.engine import source  # noqa: PLC0415 - start-up time

    require("export", checks())

    if args.format == "hf" and args.quant != "f32":
        raise UserError("--quant is for --format gguf; use --dtype for hf.")
    loaded = source.load(args.run_dir, args.checkpoint)
    say(f"model: {loaded.name} ({loaded.why})")
    if args.format == "hf":
        from chatforge.export.hf import export_hf  # noqa: PLC0415 - start-up time

        out = export_hf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, args.out, dtype=args.dtype,
                        source=loaded.meta.get("checkpoint", ""))
        say(f"exported {loaded.name} (step {loaded.meta.get('step')}) to {out}/ "
            f"(load with AutoModelForCausalLM.from_pretrained('{out}'))")
    else:
        from chatforge.export.gguf import export_gguf  # noqa: PLC0415 - start-up time

        out = export_gguf(loaded.model, loaded.tokenizer, loaded.tokenizer_dir, args.out, quant=args.quant,
                          name=f"chatforge-{loaded.name}")
        size = out.stat().st_size / 1e6
        say(f"exported {loaded.name} (step {loaded.meta.get('step')}) to {out} ({args.quant}, {size:.1f} MB; "
            f"run with llama-cli -m {out})")
    return 0
