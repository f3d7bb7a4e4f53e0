"""Sampling: G answers per problem in batched engine calls, tools executed, each answer scored.

A sample keeps what training needs: the prompt ids, the completion ids, which completion tokens
the engine force-fed (tool results: never in the loss), the answer's text and its reward.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chatforge.chat.render import assistant_text, parse_assistant
from chatforge.chat.turns import as_engine, complete_many, tools_off
from chatforge.core.device import decode_workers
from chatforge.rl.problems import reward


@dataclass(frozen=True)
class Groups:
    """How problems are sampled: `samples` answers each, at `temperature`, `prompts_per_call`
    problems to an engine call."""
    samples: int
    temperature: float
    max_new_tokens: int
    prompts_per_call: int
    format_reward: float = 0.0  # added when a sample ends its turn (<|im_end|>) instead of running out
    abstain_reward: float = 0.0  # a declined answer on a set that is not a guard, in place of 0

    @classmethod
    def of(cls, cfg, samples: int | None = None) -> Groups:
        """From an [rl] or [rlhf] section (`samples` in place of its own, e.g. eval_samples)."""
        return cls(samples or cfg.samples, cfg.temperature, cfg.max_new_tokens, cfg.prompts_per_call,
                   getattr(cfg, "format_reward", 0.0), getattr(cfg, "abstain_reward", 0.0))


@dataclass
class Sample:
    group: int  # index of its problem in the call
    prompt: list[int]
    tokens: list[int]
    forced: list[bool]
    text: str
    segments: list[dict]
    finished: bool  # ended its turn with <|im_end|> (not cut at max_new_tokens)
    reward: float


def sample_groups(engine, tokenizer, world, problems: list[dict], how: Groups, *, seed: int, execute,
                  scorer=None) -> list[list[Sample]]:
    """`how.samples` scored answers for each problem, in problem order (through the engine's batched
    sampling, `chat.turns.complete_many`: tools run for the tools-on problems only). The score is
    the task's checker, or `scorer(problem, text)` when given (RLHF: the reward model)."""
    engine = as_engine(engine, tokenizer)
    end = tokenizer.special("<|im_end|>")
    out: list[list[Sample]] = [[] for _ in problems]
    calls = [(tools, [i for i, p in enumerate(problems) if p["tools"] == tools]) for tools in (False, True)]
    calls = [(tools, idx) for tools, idx in calls if idx]  # a call runs tools for all its rows or for none

    def call(tools: bool, idx: list[int]) -> list:
        return complete_many(engine, tokenizer, [problems[i]["messages"] for i in idx],
                             num_samples=how.samples, executor=execute if tools else tools_off,
                             max_new_tokens=how.max_new_tokens, batch_size=how.prompts_per_call,
                             temperature=how.temperature, seed=seed + int(tools))

    if len(calls) > 1 and decode_workers(engine.device) > 1:  # the two calls side by side

        with ThreadPoolExecutor(len(calls), thread_name_prefix="rollout") as pool:
            results = list(pool.map(lambda c: call(*c), calls))
    else:
        results = [call(*c) for c in calls]
    for (_tools, idx), done in zip(calls, results):
        for i, (prompt, comps) in zip(idx, done):
            for c in comps:
                segs = parse_assistant(c.tokens, tokenizer)
                text = assistant_text(segs)
                finished = bool(c.tokens) and c.tokens[-1] == end
                r = (scorer(problems[i], text) if scorer
                     else reward(world, problems[i], text, how.abstain_reward)) \
                    + (how.format_reward if finished else 0.0)
                out[i].append(Sample(i, prompt, list(c.tokens), list(c.forced), text, segs, finished, r))
    return out
