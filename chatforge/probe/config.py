"""The `[probe]` config section: interrogation, classification, the mitigation data, fine-tuning.

Defaults are the `cpu` preset: ~1,000 questions x 5 samples, then a short fine-tune from the
chat model on refusals, right answers, searches and pages in context, mixed with the SFT
mixture so nothing is forgotten (the Llama 3 factuality recipe, §4.3.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from chatforge.tune.settings import FinetuneSettings


@dataclass
class ProbeConfig(FinetuneSettings):
    # interrogation: every (person, attribute) of the known-qa, known-bio-only and unknown people
    # (the unknown people's training half) and the invented people's training half, asked with a
    # train phrasing, `samples` answers each at `temperature`
    samples: int = 5
    temperature: float = 1.0
    max_new_tokens: int = 32
    sample_batch: int = 16  # questions per engine call (each with `samples` rows)
    judge: str = "checker"  # checker (the world's ground truth) | path to a chat checkpoint (a judge model)
    # classification by the share of samples the judge accepts: known at or above known_min,
    # unknown at or below unknown_max, unsure in between
    known_min: float = 0.6
    unknown_max: float = 0.2

    # the mitigation dataset (conversation counts; a count larger than its pool cycles)
    refusals: int = 700  # tools off: unknown facts -> a refusal in varied words
    # "person": refuse only facts of people the model knows nothing about (no known or unsure
    # fact); "fact": every unknown fact (the Llama 3 recipe as written)
    refuse: str = "person"
    answers: int = 500  # tools off: known facts -> the right answer
    unsure: str = "answer"  # unsure facts: "answer" (the right answer joins the answer pool) | "skip"
    search: int = 150  # tools on: unknown facts -> a search call, then the answer from its result
    # share of those about invented people, whose search finds nothing ("I could not find ..."); -1:
    # as the unknown facts fall (on SmolLM2 that was 55 of 97, and search fell 92% -> 61%)
    search_invented: float = -1.0
    context: int = 300  # a page about the person pasted in -> the answer from it (known and unknown)
    replay: int = 1200  # conversations from the SFT mixture, so nothing is forgotten
    # identity conversations of the SFT mixture on top of the replay: "Who built you?" is a
    # who-question too, and without them refusals spread to it (docs/probe.md)
    identity: int = 200
    # conversations of the SFT mixture that call each tool other than search, on top of the replay:
    # the search conversations above are the only tool calls the probe adds, and on SmolLM2 they
    # turned "I will count it with Python." into a search call (letters with python 97% -> 10%)
    other_tools: int = 0
    val_fraction: float = 0.05

    # fine-tuning from the chat model (FinetuneSettings, chatforge/sft/finetune.py): shorter, gentler
    epochs: float = 2.0
    lr: float = 5e-4

    # before/after evaluation (the eval suite, greedy)
    eval_items: int = 200
    eval_max_new_tokens: int = 160
    eval_batch_size: int = 16
    eval_threads: int = 1
    eval_dtype: str = "float32"  # float32 | native: bf16 weights while decoding where the chip has bf16
