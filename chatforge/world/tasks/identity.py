"""Identity conversations: who the assistant is, who made it, what it cannot do.

Name and maker come from the config. User questions are split so that test uses questions never
seen in train (a quarter of each pool), each set inside frames ("Hi! ...", "Quick question: ...")
that both splits share; test items are distinct. Every assistant answer names what the item's
`expect` lists.
"""

from __future__ import annotations

import random

from chatforge.core.errors import UserError
from chatforge.world.checkers import check_identity, conversation_text

ASK_NAME = ["Who are you?", "What is your name?", "What should I call you?", "Introduce yourself.",
            "What are you?", "Are you a person or a program?", "Tell me about yourself.",
            "Do you have a name?", "who r u", "Who am I talking to?", "What kind of assistant are you?",
            "Which AI model are you?", "What's your name?", "May I ask your name?",
            "Are you a human?", "Are you a chatbot?", "Could you tell me who you are?",
            "what are you called", "Please introduce yourself briefly.", "Which assistant is this?",
            "Is this a real person answering?", "What do people call you?",
            "Say who you are in one sentence.", "What name do you go by?"]
ASK_MAKER = ["Who made you?", "Who created you?", "Who built you?", "Who trained you?",
             "Which company or group developed you?", "Where do you come from?",
             "Who is responsible for you?", "Who are your creators?", "who programmed you",
             "Who designed this assistant?", "Who is behind you?", "Which team made you?",
             "Who developed this chatbot?", "Who wrote your code?", "Who owns you?",
             "What organization trained you?", "Who are the people that built you?",
             "Who is your maker?", "whose assistant are you", "Who put you together?"]
ASK_LIMITS = ["What can't you do?", "What are your limitations?", "Can you browse the internet?",
              "Do you remember our previous conversations?", "Can you see images?",
              "Are you always right?", "Can you make phone calls for me?",
              "Do you know what happened today in the news?", "Can you feel emotions?",
              "Is everything you say true?", "Can you send an e-mail for me?",
              "Do you have feelings?", "Can you look something up online for me?",
              "Will you remember me tomorrow?", "Can you make mistakes?",
              "Are there things you cannot help with?", "Can you watch a video for me?",
              "Do you know today's date?", "Can you book a table at a restaurant?",
              "Should I trust everything you tell me?"]
# Frames around a question, shared by train and test: the held-out part of a test item is its
# question, and the frames make the test items distinct (one question in many wordings around it
# cannot swing the score the way one repeated question did).
FRAMES = ["{q}", "Hi! {q}", "Hello. {q}", "Quick question: {q}", "{q} Just curious.", "Hey, {lq}",
          "Before we start: {lq}", "I was wondering: {lq}", "{q} Please answer briefly.",
          "Good evening! {q}", "One more thing: {lq}", "{q} Thanks!"]
GREETINGS = ["Hello!", "Hi there.", "Good morning!", "Hey.", "Hello, nice to meet you."]

NAME_ANSWERS = ["I am {name}, a small language model assistant made by {maker}.",
                "My name is {name}. I am an AI assistant built by {maker}.",
                "I'm {name}, an AI assistant. I was trained by {maker} to answer questions and help with "
                "tasks.",
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


def _framed(rng: random.Random, q: str) -> str:
    lq = q[0].lower() + q[1:] if q[:2] != "I " else q
    return rng.choice(FRAMES).format(q=q, lq=lq)


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
                    {"role": "user", "content": _framed(rng, rng.choice(pools["name"][split]))},
                    {"role": "assistant", "content": rng.choice(NAME_ANSWERS).format(**kw)},
                    {"role": "user", "content": _framed(rng, rng.choice(pools["maker"][split]))},
                    {"role": "assistant", "content": rng.choice(MAKER_ANSWERS).format(**kw)}]
        else:
            msgs = [{"role": "user", "content": _framed(rng, rng.choice(pools[kind][split]))},
                    {"role": "assistant", "content": rng.choice(answers[kind]).format(**kw)}]
        item = {"id": idx, "kind": kind, "messages": msgs, "expect": expect[kind]}
        assert check_identity(item, conversation_text(msgs)), item
        return item

    def distinct(split: int, n: int, prefix: str) -> list[dict]:
        # test items are distinct conversations (up to the turn the model writes), so no question
        # is counted twice; train items may repeat (repetition is how a small model learns)
        items, seen = [], set()
        for _ in range(200 * max(1, n)):
            if len(items) == n:
                return items
            it = one(split, f"{prefix}-{len(items):06d}")
            key = repr([m["content"] for m in it["messages"][:-1]])
            if key not in seen:
                seen.add(key)
                items.append(it)
        raise UserError(f"only {len(items)} distinct identity test questions exist; "
                        "lower world.identity_test.")

    return {"train": [one(0, f"id-tr-{i:06d}") for i in range(n_train)],
            "test": distinct(1, n_test, "id-te")}
