"""The `[sft]` config section: the conversation mixture, the fine-tuning run, the evaluation.

Defaults are the `cpu` preset (a ~2.5M-parameter model on 2 cores: ~11 minutes of SFT).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatforge.tune.settings import FinetuneSettings


@dataclass
class SFTConfig(FinetuneSettings):
    # mixture: how many demonstrations of each task set (tasks/registry.py names the field each
    # set counts by); a count larger than the world's train set cycles through it again. Sized so
    # that an epoch is ~200k tokens: minutes, not hours, on a 2-core CPU.
    knowledge: int = 900  # known-qa train questions (the world has 3 phrasings per fact)
    followup_conversations: int = 150  # multi-turn: ask about a person, then "And where was she born?"
    arithmetic: int = 400  # step-by-step word problems (tools off / no system prompt)
    arithmetic_calculator: int = 250  # the same kind, solved with the calculator (tools on)
    letters: int = 250  # letter counting, spelled out
    letters_python: int = 150  # letter counting through python (tools on)
    identity: int = 300  # identity conversations (single- and multi-turn)
    search: int = 200  # questions about unknown people answered through search (tools on)
    # extra search conversations about known-qa people, as a share of `search`
    search_known_fraction: float = 0.25
    open: int = 300  # open-ended prompts (jokes, poems, descriptions, stories) with a demonstration answer
    replay: int = 0  # conversations an imported model wrote itself (import.replay), so it keeps what it knew
    # biographies of the known people (both groups) trained as plain text beside the conversations:
    # mixed training (Allen-Zhu and Li 3.1), so Q&A about some people carries over to the others
    documents: int = 0
    val_fraction: float = 0.05  # conversations held out for the validation loss

    # training: the FinetuneSettings fields (their defaults are SFT's)

    # evaluation after training (greedy, through the engine)
    eval: bool = True
    eval_items: int = 200  # items per task set (distinct; each accuracy gets a 95% interval)
    eval_max_new_tokens: int = 160
    eval_batch_size: int = 16
    # torch threads while evaluating (0 = leave as is). Decoding a small model is a chain of tiny
    # matmuls, which one thread runs fastest (docs/chat.md).
    eval_threads: int = 1
    eval_dtype: str = "float32"  # float32 | native: bf16 weights while decoding where the chip has bf16
