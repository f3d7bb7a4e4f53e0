"""The import stage: the run's base model from an existing one, with its own tokenizer.

    import/ckpt/step_000000.pt   the imported weights (float32) in chatforge's format
    import/ckpt/tokenizer/       its vocabulary, chat format and the added tool markers
    import/replay.jsonl          conversations it wrote itself ([import] replay; replay.py)

With no `[import] source` the stage records that nothing was imported and the run trains its
own tokenizer and model (the from-scratch track). The tokenizer stage adopts this vocabulary
and the pretrain stage (`init = "import"`) continues training these weights on the run's
documents.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from chatforge.chat.render import CALL_CLOSE, CALL_OPEN, RESULT_CLOSE, RESULT_OPEN
from chatforge.core.atomic import atomic_write_json, atomic_write_text
from chatforge.core.device import pick_device
from chatforge.core.errors import UserError
from chatforge.eval.suite import decoding_copy
from chatforge.importer.convert import import_model
from chatforge.importer.replay import self_conversations
from chatforge.importer.sources import source_path
from chatforge.tokenizer import Tokenizer
from chatforge.tokenizer.spec import META_FILE
from chatforge.train.checkpoint import load_model

MARKERS = (CALL_OPEN, CALL_CLOSE, RESULT_OPEN, RESULT_CLOSE)
REPLAY = "replay.jsonl"


def run(ctx) -> dict:
    cfg = getattr(ctx.config, "import")
    if not cfg.source:
        ctx.log.info("no [import] source: this run trains its own tokenizer and model")
        return {"imported": False}
    if cfg.max_seq_len < 0:
        raise UserError(f"import.max_seq_len must be 0 (the model's own) or positive, got {cfg.max_seq_len}.")
    for name in ("replay", "replay_questions"):
        if getattr(cfg, name) < 0:
            raise UserError(f"import.{name} must be 0 (none) or positive, got {getattr(cfg, name)}.")
    src = source_path(cfg.source)
    tmp = ctx.out / ".import.tmp"
    for d in (tmp, ctx.out / "ckpt"):  # an interrupted import: it takes seconds, so start it over
        if d.exists():
            shutil.rmtree(d)
    t0 = time.perf_counter()
    made, s = import_model(src, tmp, cfg.max_seq_len or None, MARKERS if cfg.tool_markers else ())
    ckpt = ctx.out / "ckpt"
    made.rename(ckpt)
    tmp.rmdir()
    system = Tokenizer.load(ckpt / "tokenizer").chat.get("default_system")
    if not cfg.default_system:
        _drop_default_system(ckpt / "tokenizer" / META_FILE)
    c = s["config"]
    ctx.log.info(f"imported {s.get('source_name') or src} ({s['architecture']}, {s['params'] / 1e6:.1f}M "
                 f"parameters, {c['n_layer']} layers, d_model {c['d_model']}, vocab {c['vocab_size']}) "
                 f"in {time.perf_counter() - t0:.1f}s; added special tokens: "
                 f"{', '.join(s.get('added_specials', {})) or 'none'}")
    replay = _replay(ctx, ckpt, system) if cfg.replay > 0 or cfg.replay_questions > 0 else {}
    return {"imported": True, "source": str(src), "source_name": s.get("source_name"), **replay,
            "architecture": s["architecture"], "params": s["params"], "n_layer": c["n_layer"],
            "d_model": c["d_model"], "vocab_size": c["vocab_size"], "max_seq_len": c["max_seq_len"],
            "added_specials": s.get("added_specials", {}),
            "chat_template_matches": s.get("chat_template_matches"), "checkpoint": str(ckpt),
            # what the tokenizer and pretrain stages read, relative to this stage's folder
            "model_dir": str(ckpt.relative_to(ctx.out)),
            "tokenizer_dir": str((ckpt / "tokenizer").relative_to(ctx.out))}


def _replay(ctx, ckpt: Path, system: str | None) -> dict:
    """The model's own conversations (replay.py) -> import/replay.jsonl; -> the stage's metrics."""
    cfg = getattr(ctx.config, "import")
    t0 = time.perf_counter()
    model, _, _ = load_model(ckpt, pick_device(ctx.config.run.device))
    model = decoding_copy(model, "native")
    tok = Tokenizer.load(ckpt / "tokenizer")
    convs, dropped = self_conversations(model, tok, cfg.replay, ctx.config.run.seed,
                                        cfg.replay_max_new_tokens, system=system,
                                        real_questions=cfg.replay_questions)
    atomic_write_text(ctx.out / REPLAY, "".join(json.dumps(c) + "\n" for c in convs))
    secs = round(time.perf_counter() - t0, 1)
    ctx.log.info(f"replay: {len(convs)} conversations the model wrote itself in {secs}s "
                 f"(dropped: {', '.join(f'{k} {v}' for k, v in dropped.items() if v) or 'none'})")
    return {"replay": len(convs), "replay_dropped": dropped, "replay_seconds": secs}


def read_replay(import_dir: Path, n: int) -> list[dict]:
    """The first `n` of the import stage's own conversations (all there are, when fewer)."""
    f = Path(import_dir) / REPLAY
    if n <= 0 or not f.exists():
        return []
    return [json.loads(line) for line in f.read_text().splitlines()[:n]]


def _drop_default_system(meta_path: Path) -> None:
    meta = json.loads(meta_path.read_text())
    meta.get("chat", {}).pop("default_system", None)
    atomic_write_json(meta_path, meta)
