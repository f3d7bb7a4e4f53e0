"""`chatforge import` and the import stage: a Llama / Qwen3 GGUF file or Hugging Face folder ->
a chatforge checkpoint.

gguf_read.py and hf_read.py read the two sources into one `weights.Read`; tokenizer.py turns the
model's byte-level BPE into our tiktoken files; grow.py adds the tool markers a vocabulary lacks;
convert.py writes the checkpoint folder and records the model's chat format; cli.py is the
command, stage.py the stage (the `smol` preset's base model). The reverse of chatforge.export.
"""

from chatforge.core.stage import Stage
from chatforge.importer import card
from chatforge.importer.checks import checks
from chatforge.importer.config import ImportConfig


def _run(ctx) -> dict:
    from chatforge.importer.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


def _idle(cfg) -> bool:
    return not getattr(cfg, "import").source


STAGE = Stage("import", _run, config={"import": ImportConfig}, checks=checks, report=(card.section,),
              idle=_idle)
