"""The checkpoints a server offers, loaded on first use and kept (a few at a time) in memory.

With `--run-dir` the server offers every stage of the run that has a checkpoint (sft, rl, ...,
and pretrain as the base model), named by stage, most refined chat model first; the default is
the best that keeps the evaluation suite (engine.source.pick), and /v1/models says why. With
`--checkpoint` it offers exactly that one. The web page's checkpoint menu and `/v1/models` list
the same names.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatforge.core.errors import UserError
from chatforge.engine import Engine, source
from chatforge.tokenizer import Tokenizer
from chatforge.train.checkpoint import load_model


@dataclass
class ServedModel:
    name: str
    engine: Any
    tokenizer: Any
    meta: dict
    context: int  # the longest prompt + answer this server accepts for it
    created: int

    @property
    def model(self):
        return self.engine.model


class ModelNotFound(Exception):
    pass


class Models:
    def __init__(self, run_dir: Path | None, checkpoint: Path | None, device: str = "cpu",
                 context_length: int = 0, max_loaded: int = 2):
        self.run_dir = Path(run_dir) if run_dir else None
        self.device = device
        self.context_length = context_length
        self.max_loaded = max_loaded
        got = source.choose(None if checkpoint is not None else run_dir, checkpoint)
        self.paths = ({got.name: got.path} if checkpoint is not None
                      else source.list_checkpoints(Path(run_dir)))
        self.default, self.why = got.name, got.why
        self._loaded: OrderedDict[str, ServedModel] = OrderedDict()
        self._lock = threading.Lock()
        self.get(self.default)  # fail at start, not on the first request, if it cannot load

    def names(self) -> list[str]:
        return list(self.paths)

    def resolve_name(self, name: str | None) -> str:
        if not name or name in ("default", "chatforge"):
            return self.default
        if name not in self.paths:
            raise ModelNotFound(name)
        return name

    def get(self, name: str | None) -> ServedModel:
        name = self.resolve_name(name)
        with self._lock:
            m = self._loaded.get(name)
            if m is not None:
                self._loaded.move_to_end(name)
                return m
            model, tok_dir, meta = load_model(self.paths[name], self.device)
            if tok_dir is None:
                raise UserError(f"checkpoint '{self.paths[name]}' has no tokenizer folder next to it.")
            ctx = model.config.max_seq_len
            if self.context_length:
                ctx = min(ctx, self.context_length)
            tok = Tokenizer.load(tok_dir)
            m = ServedModel(name, Engine(model, tok), tok, meta, ctx, int(time.time()))
            self._loaded[name] = m
            while len(self._loaded) > self.max_loaded:
                self._loaded.popitem(last=False)  # a running batch keeps its own reference
            return m

    def describe(self) -> list[dict]:
        out = []
        for name, path in self.paths.items():
            m = self._loaded.get(name)
            out.append({"id": name, "object": "model", "created": m.created if m else 0,
                        "owned_by": "chatforge", "checkpoint": str(path), "loaded": m is not None,
                        "default": name == self.default,
                        **({"why_default": self.why} if name == self.default else {}),
                        "context_length": m.context if m else None,
                        "step": m.meta.get("step") if m else None})
        return out
