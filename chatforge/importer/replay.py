"""The imported model's own conversations, replayed while it learns the world, so it keeps its own.

Continued pretraining on the world's documents alone wipes what SmolLM2 knew: measured on the smol
preset (docs/smol.md), general knowledge went from 59% as imported to 12% after 100 steps ("the
capital of France is Marrowick"), and SFT on the world's mixture kept it there. Its web
pretraining data is not ours to replay, so the model writes its own (Magpie, Xu et al. 2024: an
instruct model given only the start of a user turn writes a user question): questions sampled
from its chat template's user turn, answered greedily by the same model. The continued
pretraining (`pretrain.replay_copies`) and the SFT mixture (`sft.replay`) mix these in. Its own
questions are open-ended chat, not trivia, so `replay_questions` adds its answers to short
real-world questions written here (questions.py), taken in turn with them.

Dropped: questions that did not end, repeats, conversations that name the model's old identity
(SFT teaches it a new one), questions that contain every content word of a question of the
`general` or `general_heldout` task set, and conversations that hold such a question's words and
its answer (those sets measure what is kept, so none of their items are replayed).
"""

from __future__ import annotations

import re

from chatforge.chat.render import IM_END, IM_START, render, render_prompt, stop_ids
from chatforge.engine import Engine
from chatforge.engine.sampling import GREEDY, SamplingParams
from chatforge.importer.questions import real_world_questions
from chatforge.tasks.general import questions as general_questions
from chatforge.tasks.general_heldout import questions as heldout_general_questions

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an the of in on at to is are was what which who whom how many much does do did "
                  "for and or by with from as known called".split())
_OLD_SELF = re.compile(r"smollm|hugging\s*face", re.IGNORECASE)
_SENT_END = re.compile(r"[.!?](?=\s|$)")


def _content(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def _guarded() -> list[dict]:
    """The items of the two sets that measure what the model kept: never replayed."""
    return general_questions() + heldout_general_questions()


def _general_keys() -> list[frozenset[str]]:
    return [_content(q["question"]) for q in _guarded()]


def _whole(text: str, finished: bool) -> str:
    """An answer cut by the token limit ends at its last full sentence (or is dropped: "")."""
    text = text.strip()
    if finished:
        return text
    ends = list(_SENT_END.finditer(text))
    return text[: ends[-1].end()] if ends else ""


def _loops(text: str) -> bool:
    sents = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 12]
    return len(sents) != len(set(sents))


def user_prefix(tokenizer, system: str | None) -> list[int]:
    """The ids before a user's words: the template's start, its system turn, `<|im_start|>user\\n`."""
    head = render([{"role": "system", "content": system}] if system else [], tokenizer).ids
    return head + [tokenizer.special(IM_START)] + tokenizer.encode("user\n")


def self_conversations(model, tokenizer, n: int, seed: int, max_new_tokens: int = 128,
                       batch_size: int = 64, system: str | None = None,
                       real_questions: int = 0) -> tuple[list[dict], dict]:
    """-> (up to `n` conversations [user, assistant] the model wrote itself, then its answers to
    up to `real_questions` short real-world questions (questions.py), interleaved; counts of what
    was dropped). `system`: the system prompt its template used while it was trained (SmolLM2's)."""
    engine = Engine(model, tokenizer)
    end = tokenizer.special(IM_END)
    prefix = user_prefix(tokenizer, system)
    keys = _general_keys()
    seen: set[str] = set()
    questions: list[str] = []
    dropped = {"unfinished": 0, "repeat": 0, "general_set": 0, "old_identity": 0, "answer": 0}
    for rnd in range(8):  # each round draws the shortfall again, about 1.6x over
        want = n - len(questions)
        if want <= 0:
            break
        outs = engine.generate([prefix], num_samples=int(want * 1.6) + 1, max_new_tokens=48,
                               sampling=SamplingParams(1.0, None, 0.95), seed=seed + rnd, stop_ids=[end])
        for o in outs:
            q = tokenizer.decode([t for t in o.tokens if t != end]).strip()
            if o.finish_reason != "stop" or len(q) < 8:
                dropped["unfinished"] += 1
            elif q.lower() in seen:
                dropped["repeat"] += 1
            elif any(k and k <= _content(q) for k in keys):
                dropped["general_set"] += 1
            elif _OLD_SELF.search(q):
                dropped["old_identity"] += 1
            else:
                seen.add(q.lower())
                questions.append(q)
    convs = _answers(engine, tokenizer, questions[:n], system, max_new_tokens, batch_size, dropped)
    if real_questions > 0:  # the factual half, interleaved: the first k read hold some of both
        real = _answers(engine, tokenizer, real_world_questions(real_questions, seed), system,
                        max_new_tokens, batch_size, dropped)
        convs = _interleave(convs, real)
    return convs, dropped


def _answers(engine, tokenizer, questions: list[str], system: str | None, max_new_tokens: int,
             batch_size: int, dropped: dict) -> list[dict]:
    """The model's greedy answer to each question -> [user, assistant] conversations; cut, looping,
    old-identity answers and ones that hold a `general` or `general_heldout` item (its question's
    words and its answer) are dropped and counted."""
    end = tokenizer.special(IM_END)
    sys_msg = [{"role": "system", "content": system}] if system else []
    prompts = [render_prompt(sys_msg + [{"role": "user", "content": q}], tokenizer) for q in questions]
    items = _general_items()
    convs = []
    for b in range(0, len(prompts), batch_size):
        outs = engine.generate(prompts[b:b + batch_size], max_new_tokens=max_new_tokens, sampling=GREEDY,
                               stop_ids=stop_ids(tokenizer))
        for q, o in zip(questions[b:b + batch_size], outs):
            a = _whole(tokenizer.decode([t for t in o.tokens if t != end]), o.finish_reason == "stop")
            if not a or _loops(a):
                dropped["answer"] += 1
            elif _OLD_SELF.search(a):
                dropped["old_identity"] += 1
            elif _holds_general(q + " " + a, items):
                dropped["general_set"] += 1
            else:
                convs.append({"kind": "replay", "messages": [{"role": "user", "content": q},
                                                             {"role": "assistant", "content": a}]})
    return convs


def _general_items() -> list[tuple[frozenset[str], list[str]]]:
    return [(_content(q["question"]), [x.lower() for x in q["answer"].split("/")])
            for q in _guarded()]


def _holds_general(text: str, items) -> bool:
    words = _content(text)
    low = f" {' '.join(_WORD.findall(text.lower()))} "
    return any(k <= words and any(f" {' '.join(_WORD.findall(x))} " in low for x in answers)
               for k, answers in items)


def _interleave(a: list[dict], b: list[dict]) -> list[dict]:
    out = []
    for i in range(max(len(a), len(b))):
        out += a[i:i + 1] + b[i:i + 1]
    return out
