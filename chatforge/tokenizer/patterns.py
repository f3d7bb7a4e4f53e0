"""The split regexes of the byte-level BPE tokenizers chatforge imports and exports, and the
names llama.cpp gives them in a GGUF (tokenizer.ggml.pre, llama-vocab.cpp)."""

from __future__ import annotations

from chatforge.tokenizer.spec import CL100K_PATTERN

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Digits split one by one first (HF `Digits(individual_digits=True)`, llama.cpp "smollm"/"starcoder").
DIGITS_GPT2_PATTERN = r"""\p{N}|'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?![^\s\p{N}])|\s+"""
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
                  r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN2_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                 r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")

# llama.cpp's tokenizer.ggml.pre names (llama-vocab.cpp) -> one regex.
GGUF_PRE = {
    "default": GPT2_PATTERN, "gpt2": GPT2_PATTERN, "gpt-2": GPT2_PATTERN,
    "smollm": DIGITS_GPT2_PATTERN, "starcoder": DIGITS_GPT2_PATTERN, "refact": DIGITS_GPT2_PATTERN,
    "llama3": LLAMA3_PATTERN, "llama-v3": LLAMA3_PATTERN, "llama-bpe": LLAMA3_PATTERN,
    "qwen2": QWEN2_PATTERN,
}

# the name an export writes for a pattern; chatforge's own (GPT-4's regex) goes out as llama-bpe,
# which an import reads back as GPT-4's when the model is named chatforge (importer.tokenizer)
GGUF_PRE_OF = {CL100K_PATTERN: "llama-bpe", GPT2_PATTERN: "gpt2", DIGITS_GPT2_PATTERN: "smollm",
               LLAMA3_PATTERN: "llama-bpe", QWEN2_PATTERN: "qwen2"}
