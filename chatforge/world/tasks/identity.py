"""Identity conversations: who the assistant is, who made it, what it cannot do.

Name and maker come from the config. User phrasings are split so that test uses phrasings never
seen in train; every assistant answer names what the item's `expect` lists.
"""

from __future__ import annotations

import random

from chatforge.world.checkers import check_identity, conversation_text

ASK_NAME = ["Who are you?", "What is your name?", "What should I call you?", "Introduce yourself.",
            "What are you?", "Are you a person or a program?", "Tell me about yourself.",
            "Do you have a name?", "who r u", "Hi! Who am I talking to?", "What kind of assistant are you?",
            "Which AI model are you?"]
ASK_MAKER = ["Who made you?", "Who created you?", "Who built you?", "Who trained you?",
             "Which company or group developed you?", "Where do you come from?",
             "Who is responsible for you?", "Who are your creators?", "who programmed you",
             "Who designed this assistant?"]
ASK_LIMITS = ["What can't you do?", "What are your limitations?", "Can you browse the internet?",
              "Do you remember our previous conversations?", "Can you see images?",
              "Are you always right?", "Can you make phone calls for me?",
              "Do you know what happened today in the news?", "Can you feel emotions?",
              "Is everything you say true?"]
GREETINGS = ["Hello!", "Hi there.", "Good morning!", "Hey.", "Hello, nice to meet you."]

NAME_ANSWERS = ["I am {name}, a small language model assistant made by {maker}.",
                "My name is {name}. I am an AI assistant built by {maker}.",
                "I'm {name}, an AI assistant. I was trained by {maker} to answer questions and help with tasks.",
                "You can call me {name}. I am a language model created by {maker}."]
MAKER_ANSWERS = ["I was made by {maker}. I am {name}, an AI assistant.",
                 "{maker_} created me; my name is {name}.",
                 "I am {name}, and I was built and trained by {maker}.",
                 "{name} is my name, and {maker} is who made me."]
LIMIT_ANSWERS = [
    "I am {name}, a small language model made by {maker}. I cannot browse the internet, see images, "
    "or remember earlier conversations, and I can make mistakes, so please check important facts.",
    "As {name}, built by {maker}, I only know what I learned from my training data. I cannot take "
    "actions in the world, I have no feelings, and my answers are sometimes wrong.",
    "I'm {name} from {maker}. I can answer questions and use a few tools when they are available, "
    "but I cannot access the news, make calls, or remember you between conversations. I may also "
    "make errors.",
]
GREETING_ANSWERS = ["Hello! I am {name}. How can I help you today?",
                    "Hi! I'm {name}, an assistant made by {maker}. What can I do for you?"]


def _split(rng: random.Random, xs: list[str]) -> tuple[list[str], list[str]]:
    xs = list(xs)
    rng.shuffle(xs)
    k = max(1, len(xs) // 4)
    return xs[k:], xs[:k]


def generate(rng: random.Random, n_train: int, n_test: int, name: str, maker: str) -> dict[str, list[dict]]:
    kw = {"name": name, "maker": maker, "maker_": maker[0].upper() + maker[1:]}
    pools = {k: _split(rng, v) for k, v in (("name", ASK_NAME), ("maker", ASK_MAKER), ("limits", ASK_LIMITS))}
    answers = {"name": NAME_ANSWERS, "maker": MAKER_ANSWERS, "limits": LIMIT_ANSWERS}
    expect = {"name": [name], "maker": [maker], "limits": [name], "multi": [name, maker]}

    def one(split: int, idx: str) -> dict:
        kind = rng.choice(["name", "maker", "limits", "multi"])
        if kind == "multi":
            # greeting -> name -> maker: the last assistant turn names both, earlier ones stay consistent
            msgs = [{"role": "user", "content": rng.choice(GREETINGS)},
                    {"role": "assistant", "content": rng.choice(GREETING_ANSWERS).format(**kw)},
                    {"role": "user", "content": rng.choice(pools["name"][split])},
                    {"role": "assistant", "content": rng.choice(NAME_ANSWERS).format(**kw)},
                    {"role": "user", "content": rng.choice(pools["maker"][split])},
                    {"role": "assistant", "content": rng.choice(MAKER_ANSWERS).format(**kw)}]
        else:
            msgs = [{"role": "user", "content": rng.choice(pools[kind][split])},
                    {"role": "assistant", "content": rng.choice(answers[kind]).format(**kw)}]
        item = {"id": idx, "kind": kind, "messages": msgs, "expect": expect[kind]}
        assert check_identity(item, conversation_text(msgs)), item
        return item

    return {"train": [one(0, f"id-tr-{i:06d}") for i in range(n_train)],
            "test": [one(1, f"id-te-{i:06d}") for i in range(n_test)]}
