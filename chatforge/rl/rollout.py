"""Sampling: G answers per problem in batched engine calls, tools executed, each answer scored.

A sample keeps what training needs: the prompt ids, the completion ids, which completion tokens
the engine force-fed (tool results: never in the loss), the answer's text and its reward.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def no_tools(tool: str, inp: str) -> str:
    return f"error: the {tool} tool is switched off"


def sample_groups(engine, tokenizer, world, problems: list[dict], *, samples: int, temperature: float,
                  max_new_tokens: int, prompts_per_call: int, seed: int, execute,
                  format_reward: float = 0.0) -> list[list[Sample]]:
    """`samples` scored answers for each problem, in problem order."""
    from chatforge.chat.render import assistant_text, parse_assistant, render_prompt, stop_ids
    from chatforge.chat.turns import _fit
    from chatforge.rl.problems import reward

    stops = stop_ids(tokenizer)
    end = tokenizer.special("<|im_end|>")
    out: list[list[Sample]] = [[] for _ in problems]
    for tools in (False, True):  # a call runs tools for all its rows or for none
        idx = [i for i, p in enumerate(problems) if p["tools"] == tools]
        for b in range(0, len(idx), max(1, prompts_per_call)):
            chunk = idx[b:b + prompts_per_call]
            prompts = [_fit(render_prompt(problems[i]["messages"], tokenizer), engine.max_seq_len,
                            min(max_new_tokens, 64)) for i in chunk]
            comps = engine.generate(prompts, num_samples=samples, max_new_tokens=max_new_tokens,
                                    temperature=temperature, seed=seed + 7919 * (b + 1) + int(tools),
                                    stop_ids=stops, executor=execute if tools else no_tools)
            for c in comps:
                i = chunk[c.prompt_index]
                segs = parse_assistant(c.tokens, tokenizer)
                text = assistant_text(segs)
                finished = bool(c.tokens) and c.tokens[-1] == end
                r = reward(world, problems[i], text) + (format_reward if finished else 0.0)
                out[i].append(Sample(i, prompts[c.prompt_index], list(c.tokens), list(c.forced), text,
                                     segs, finished, r))
    return out
