"""What every chatforge tokenizer shares: the split pattern, the special tokens, the file names.

The split pattern is GPT-4's (cl100k_base), exactly as tiktoken ships it. Hugging Face
`tokenizers` compiles regexes with Oniguruma in Ruby syntax, where `{1,3}+` is *not* possessive
but "one or more runs of 1-3 digits" (it would keep "1234567" in one piece), so the pattern
written into tokenizer.json drops that `+`; at the end of an alternative a possessive and a
greedy repeat match the same text, so the two patterns split identically (tests pin this).
"""

from __future__ import annotations

CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
HF_PATTERN = CL100K_PATTERN.replace(r"\p{N}{1,3}+", r"\p{N}{1,3}")

# The chat format's special tokens, in id order: they take the ids just above the BPE ranks.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",  # document boundary; also the BOS token
    "<|im_start|>",
    "<|im_end|>",
    "<|tool_call|>",
    "<|/tool_call|>",
    "<|tool_result|>",
    "<|/tool_result|>",
    "<|pad|>",
)

RANKS_FILE = "tokenizer.tiktoken"  # tiktoken's format: base64(token bytes) SPACE rank, per line
META_FILE = "tiktoken.json"  # pattern, special tokens, sizes; written last, so it marks a whole dir
HF_FILE = "tokenizer.json"  # Hugging Face tokenizers / transformers
HF_CONFIG_FILE = "tokenizer_config.json"
HF_SPECIAL_MAP_FILE = "special_tokens_map.json"
HELDOUT_FILE = "heldout.jsonl"  # a sample of held-out documents, for `chatforge tokenizer stats`
FORMAT = "chatforge-tokenizer/1"
