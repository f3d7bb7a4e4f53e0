"""Read a GGUF file or HF folder, and write a chatforge checkpoint folder:

    OUT/ckpt/step_000000.pt    model_config + state dict + meta (what load_model reads)
    OUT/ckpt/latest.json
    OUT/ckpt/tokenizer/        the model's own vocabulary as tiktoken ranks, its tokenizer.json,
                               and (in tiktoken.json) its chat format

so `--checkpoint OUT` works in chat, serve, eval, sample and every stage that loads a model.

Chat format: chatforge's renderer speaks ChatML, as SmolLM2 and Qwen3 do; what differs between
them is whether a conversation starts with <|endoftext|> and which system prompt the template
adds when none is given. Both are read off the model's own Jinja template by rendering a probe
conversation, then the renderer's ids are checked against the template's on a few conversations;
the result ("template_matches") is recorded and a mismatch is reported, never hidden.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from jinja2.sandbox import ImmutableSandboxedEnvironment

from chatforge.chat.render import render
from chatforge.core.atomic import atomic_dir
from chatforge.core.errors import UserError
from chatforge.importer import grow
from chatforge.importer import tokenizer as tk
from chatforge.importer.gguf_read import read_gguf
from chatforge.importer.hf_read import read_hf
from chatforge.importer.weights import Read
from chatforge.model.gpt import GPT
from chatforge.train.checkpoint import save_checkpoint

CHATML = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

_PROBES = [
    [{"role": "user", "content": "Hi there"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"},
     {"role": "assistant", "content": "4."}, {"role": "user", "content": "And 3+3?"}],
]


def read(src: str | Path, max_seq_len: int | None = None) -> Read:
    src = Path(src)
    if src.is_dir():
        return read_hf(src, max_seq_len)
    if src.is_file():
        return read_gguf(src, max_seq_len)
    raise UserError(f"'{src}' does not exist (give a .gguf file or a Hugging Face model folder).")


def _jinja(template: str, messages: list[dict], bos: str | None, eos: str | None) -> str:
    """Render the way transformers does (sandboxed, trim_blocks, lstrip_blocks)."""

    def raise_exception(msg):
        raise ValueError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(messages=messages, add_generation_prompt=True,
                                            bos_token=bos or "", eos_token=eos or "")


def chat_format(r: Read, tok) -> dict:
    """{"bos", "default_system", "template", "template_matches", ...} for tokenizer.chat."""

    chat = {"template": r.chat_template, "bos_token": r.bos, "eos_token": r.eos, "add_bos": r.add_bos}
    if not r.chat_template:
        return {**chat, "bos": True, "template_matches": None}  # a base model: our ChatML as is
    try:
        text = _jinja(r.chat_template, _PROBES[0], r.bos, r.eos)
    except Exception as e:  # a template our Jinja cannot run is reported, not fatal
        return {**chat, "bos": True, "template_matches": False,
                "template_error": f"{type(e).__name__}: {e}"[:200]}
    if r.add_bos and r.bos and not text.startswith(r.bos):
        text = r.bos + text  # llama.cpp / transformers add it in front of the rendered text
    chat["bos"] = text.startswith(CHATML[0])
    body = text[len(CHATML[0]):] if chat["bos"] else text
    head = "<|im_start|>system\n"
    if body.startswith(head) and "<|im_end|>" in body:
        chat["default_system"] = body[len(head):body.index("<|im_end|>")]
    tok.chat = chat
    ok = True
    for msgs in _PROBES:
        theirs = _jinja(r.chat_template, msgs, r.bos, r.eos)
        if r.add_bos and r.bos and not theirs.startswith(r.bos):
            theirs = r.bos + theirs
        ok &= tok._enc.encode(theirs, allowed_special="all") == render(msgs, tok, generation_prompt=True).ids
    chat["template_matches"] = bool(ok)
    return chat


def import_model(src: str | Path, out: str | Path, max_seq_len: int | None = None,
                 add_specials: tuple[str, ...] = ()) -> tuple[Path, dict]:
    """-> (checkpoint folder, summary). Refuses to overwrite an existing non-empty folder.
    `add_specials`: special tokens to add where the vocabulary lacks them (grow.add_specials)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out '{out}' already exists; choose a new folder or remove it.")
    r, _ = grow.add_specials(read(src, max_seq_len), add_specials)
    name = r.meta.get("source_name") or Path(src).stem
    tok = tk.build(r.vocab, name)
    missing = [s for s in CHATML if s not in tok.special_tokens]
    if missing:
        raise UserError(f"the model's vocabulary lacks {', '.join(missing)}; "
                        "chatforge's chat format (ChatML) needs them.")
    if tok.n_vocab > r.config.vocab_size:
        raise UserError(f"the tokenizer has {tok.n_vocab} ids but the model only {r.config.vocab_size} rows.")
    chat = chat_format(r, tok)
    tok.chat = chat
    model = GPT.from_state(dataclasses.asdict(r.config), r.state)
    meta = {"stage": "import", "source": str(Path(src).resolve()), **r.meta, "chat_template_matches":
            chat.get("template_matches"), "params": model.num_params()}
    with atomic_dir(out) as tmp:
        save_checkpoint(tmp / "ckpt", 0, model, model_config=dataclasses.asdict(r.config), meta=meta)
        tk.save(tok, r.vocab, tmp / "ckpt" / "tokenizer", extra_meta={"imported_from": meta["source"]})
    return out / "ckpt", {**meta, "config": dataclasses.asdict(r.config), "n_vocab": tok.n_vocab}
