"""Checks that an export is the same model: used by the tests and by bench/verify_gguf.py.

`varied_texts` makes texts that poke at every branch of the split pattern (contractions in any
case, letters after punctuation, long numbers, punctuation runs, CRLF and blank lines, tabs,
trailing spaces, accents, CJK, emoji, code). `compare_hf` / `compare_llama_cpp` load an export
with the other library and report where it disagrees with our tokenizer, model and engine.
"""

from __future__ import annotations

import random
from pathlib import Path

from chatforge.chat.render import render_prompt, render_text
from chatforge.engine import Engine
from chatforge.engine.sampling import GREEDY

PIECES = [
    "Hello", "world", "don't", "WE'LL", "they'Re", "I'd", "it's", "x'y", "naïve", "café",
    "Straße", "日本語", "東京", "Привет", "мир", "مرحبا", "🙂", "👩‍💻", "12345", "3.14159", "1,000,000",
    "0x1F", "2024-06-01", "...", "!!", "?!", "(a+b)*c", "def f(x):", "return x", "{\"k\": [1, 2]}",
    "<b>bold</b>", "e-mail:", "user@example.com", "https://example.org/a?b=c", "#", "$", "%",
    "the", "a", "an", "of", "tokens", "ABC", "aBc", "ÀÉÎ", "ß", "ﬁ", "½", "²", "Ⅻ", "٣",
]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\r\n", "\t", " \n", "   ", "", "\n  "]


def varied_texts(n: int = 100, seed: int = 0) -> list[str]:
    """n varied texts (the first ones hand-written edge cases, the rest random mixtures).

    None ends in whitespace that holds a newline followed by other whitespace: that one case
    splits differently under llama.cpp's Llama-3 pre-tokenizer (see export/gguf.py)."""
    rng = random.Random(seed)
    fixed = ["Hello world", "  leading spaces", "trailing spaces   ", "a\n\nb", "a\r\nb",
             "tabs\tand\tspaces", "numbers 1 12 123 1234 12345678", "don't DON'T Don'T",
             "emoji 🙂🙂 and 日本語のテキスト", "x = [i**2 for i in range(10)]\n", "",
             "<|im_end|> is text", "multiple   spaces   inside", "end with newline\n",
             "line1\n  indented\n\tline3"]
    out = list(fixed)
    while len(out) < n:
        k = rng.randint(1, 25)
        s = "".join(rng.choice(PIECES) + rng.choice(SEPARATORS) for _ in range(k))
        out.append(s)
    return [_safe_end(t) for t in out[:n]]


def _safe_end(t: str) -> str:
    tail = len(t) - len(t.rstrip())
    ws = t[len(t) - tail:]
    if "\n" in ws or "\r" in ws:
        ws = ws.rstrip(" \t")  # whitespace after the last newline at the very end (see above)
        return t[: len(t) - tail] + ws
    return t


def greedy_engine(model, tokenizer, prompt_ids: list[int], n: int, stop_ids=()) -> list[int]:
    out = Engine(model, tokenizer).generate([prompt_ids], max_new_tokens=n, sampling=GREEDY,
                                            stop_ids=list(stop_ids))
    return out[0].tokens


def chat_prompts() -> list[list[dict]]:
    return [
        [{"role": "user", "content": "hi"}],
        [{"role": "system", "content": "Tools: calculator, python, search."},
         {"role": "user", "content": "what is 2+2?"}],
        [{"role": "user", "content": "who are you?"}, {"role": "assistant", "content": "A model."},
         {"role": "user", "content": "say something"}],
        [{"role": "user", "content": "Tell me about naïve café owners in 東京 🙂"}],
    ]


def compare_llama_cpp(gguf_file: str | Path, model, tokenizer, n_tokens: int = 24,
                      texts: list[str] | None = None) -> dict:
    """Load the GGUF with llama-cpp-python; compare tokenization and greedy generation."""
    from llama_cpp import Llama  # noqa: PLC0415 - optional: llama-cpp-python

    llm = Llama(model_path=str(gguf_file), n_ctx=model.config.max_seq_len, n_threads=1,
                n_batch=model.config.max_seq_len, verbose=False, seed=0)
    try:
        return _compare(llm, model, tokenizer, n_tokens, varied_texts() if texts is None else texts)
    finally:
        llm.close()


def _compare(llm, model, tokenizer, n_tokens: int, texts: list[str]) -> dict:
    tok_mismatch = []
    for t in texts:
        ours = tokenizer.encode(t)
        theirs = llm.tokenize(t.encode("utf-8"), add_bos=False, special=False) if t else []
        if ours != theirs:
            tok_mismatch.append({"text": t, "ours": ours, "llama_cpp": theirs})
    gen = []
    for msgs in chat_prompts():
        ids = render_prompt(msgs, tokenizer)
        # llama.cpp tokenizing the rendered chat text (BOS added by it, specials parsed) must
        # give the ids our renderer builds
        theirs_prompt = llm.tokenize(render_text(msgs, True)[len("<|endoftext|>"):].encode("utf-8"),
                                     add_bos=True, special=True)
        ours_gen = greedy_engine(model, tokenizer, ids, n_tokens)
        llm.reset()
        theirs_gen = []
        for tok in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, repeat_penalty=1.0, reset=True):
            theirs_gen.append(tok)
            if len(theirs_gen) >= n_tokens:
                break
        gen.append({"prompt": msgs[-1]["content"], "prompt_ids_equal": theirs_prompt == ids,
                    "ours": ours_gen, "llama_cpp": theirs_gen, "equal": ours_gen == theirs_gen})
    return {"texts": len(texts), "tokenize_mismatches": tok_mismatch, "generation": gen,
            "ok": not tok_mismatch and all(g["equal"] and g["prompt_ids_equal"] for g in gen)}
