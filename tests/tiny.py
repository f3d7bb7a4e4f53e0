"""A tiny chat model made in seconds, for the serve/export tests, the benchmark and demos.

`make_tiny_checkpoint(dir)` trains a small BPE tokenizer on generated text, builds a small GPT
and (optionally) fits it for a few hundred steps on a handful of ChatML conversations, so it
answers "hi" with a real sentence instead of noise. The result is an ordinary checkpoint folder
(`ckpt/step_*.pt`, `latest.json`, `tokenizer/`) that `load_model` and every CLI accept, laid out
as a run directory's sft stage: `<dir>/sft/ckpt`.

Nothing here is a second model or renderer: it uses GPT, the chat renderer and the checkpoint
writer of the main package.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

WORDS = ("the model learns to write short answers about people cities numbers and tools while "
         "a small transformer reads every token once and predicts the next one from what came "
         "before it so training is just counting what usually follows").split()

CONVERSATIONS = [
    ("hi", "Hello! I am a tiny chatforge model."),
    ("hello", "Hello! I am a tiny chatforge model."),
    ("who are you?", "I am a tiny chatforge model, trained in seconds."),
    ("what is 2+2?", "2+2 is 4."),
    ("say something", "The model learns to write short answers."),
]


# one conversation with a tool call, so tests see the server run a real tool mid-answer
TOOL_SYSTEM = "Tools: calculator, python, search."
TOOL_QUESTION = "what is 17*23?"
TOOL_ANSWER = [{"type": "tool_call", "tool": "calculator", "input": "17*23"},
               {"type": "tool_result", "output": "391"},
               {"type": "text", "text": "17*23 is 391."}]


def corpus(n: int = 4000, seed: int = 0) -> list[str]:
    """Varied text for a tokenizer: words, numbers, punctuation, code, non-Latin scripts."""
    rng = random.Random(seed)
    extra = ["naïve café", "Привет, мир", "日本語のテキスト", "emoji 🙂 ok", "x = f(a[1], b)\n",
             "  indented\n\tline", "e-mail: a.b@example.com", "3.14159 + 2,718 = 5.86",
             "<|im_end|> is just text here", "don't we'll they're I've"]
    out = []
    for _ in range(n):
        k = rng.randint(3, 14)
        s = " ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + rng.choice(".!?,:;")
        if rng.random() < 0.3:
            s += f" {rng.randint(0, 99999)}"
        if rng.random() < 0.2:
            s += " " + rng.choice(extra)
        if rng.random() < 0.1:
            s += "\n\n"
        out.append(s)
    out += [q + " " + a for q, a in CONVERSATIONS] * 20
    return out


def make_tokenizer(out_dir: Path, n_ranks: int = 500, seed: int = 0):
    from chatforge.tokenizer import Tokenizer
    from chatforge.tokenizer.train import train_ranks

    ranks, _ = train_ranks(corpus(seed=seed), n_ranks)
    tok = Tokenizer.from_ranks(ranks, name="tiny")
    tok.save(out_dir)
    return Tokenizer.load(out_dir)


def make_tiny_checkpoint(run_dir: str | Path, *, train_steps: int = 80, qk_norm: bool = False,
                         tie_embeddings: bool = True, n_layer: int = 2, d_model: int = 64,
                         n_head: int = 4, n_kv_head: int = 2, max_seq_len: int = 256,
                         rope_theta: float = 10000.0, init_std: float = 0.02, seed: int = 0,
                         stage: str = "sft") -> Path:
    """Write `<run_dir>/<stage>/ckpt/` and return that folder."""
    import torch

    from chatforge.chat.render import render
    from chatforge.model.config import ModelConfig
    from chatforge.model.gpt import GPT
    from chatforge.train.checkpoint import copy_tokenizer, save_checkpoint

    run_dir = Path(run_dir)
    tok_dir = run_dir / "tokenizer"
    tok = make_tokenizer(tok_dir, seed=seed)
    torch.manual_seed(seed)
    cfg = ModelConfig(n_layer=n_layer, d_model=d_model, n_head=n_head, n_kv_head=n_kv_head,
                      max_seq_len=max_seq_len, rope_theta=rope_theta, qk_norm=qk_norm,
                      tie_embeddings=tie_embeddings, init_std=init_std)
    model = GPT.build(cfg, tok.n_vocab)
    if train_steps > 0:
        convs = [[{"role": "user", "content": q}, {"role": "assistant", "content": a}]
                 for q, a in CONVERSATIONS]
        convs.append([{"role": "system", "content": TOOL_SYSTEM}, {"role": "user", "content": TOOL_QUESTION},
                      {"role": "assistant", "content": TOOL_ANSWER}])
        _fit(model, [render(c, tok) for c in convs], train_steps)
    model.eval()
    ckpt = run_dir / stage / "ckpt"
    save_checkpoint(ckpt, train_steps, model, model_config=dataclasses.asdict(model.config),
                    meta={"stage": stage, "tiny": True})
    copy_tokenizer(tok_dir, ckpt)
    return ckpt


def cached_tiny_checkpoint(run_dir: str | Path, cache_root: str | Path, **kw) -> Path:
    """make_tiny_checkpoint, built once per cache_root and these arguments, then copied to run_dir
    (so several test files share the build but each gets its own run directory)."""
    import hashlib
    import json
    import shutil

    from chatforge.core.atomic import atomic_dir

    key = hashlib.sha256(json.dumps(kw, sort_keys=True).encode()).hexdigest()[:12]
    src = Path(cache_root) / f"tiny-{key}"
    stage = kw.get("stage", "sft")
    if not (src / stage / "ckpt" / "latest.json").is_file():
        with atomic_dir(src) as tmp:
            make_tiny_checkpoint(tmp, **kw)
    shutil.copytree(src, run_dir, dirs_exist_ok=True)
    return Path(run_dir) / stage / "ckpt"


def _fit(model, rendered, steps: int) -> None:
    """Overfit the conversations (loss on the assistant tokens only), a few seconds on a CPU.
    One thread: the model is far too small to gain from more, and it shares the CPU with tests."""
    import torch

    T = max(len(r) for r in rendered)
    ids = torch.zeros(len(rendered), T, dtype=torch.long)
    tgt = torch.full((len(rendered), T), -1, dtype=torch.long)
    for i, r in enumerate(rendered):
        ids[i, : len(r)] = torch.tensor(r.ids)
        t = [x if m else -1 for x, m in zip(r.ids[1:], r.mask[1:])]
        tgt[i, : len(t)] = torch.tensor(t)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            loss = model(ids, targets=tgt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
