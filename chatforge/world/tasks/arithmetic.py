"""Arithmetic word problems with 1-3 reasoning steps and three kinds of worked solution.

Every problem is a list of steps (text, expression, value); the step-by-step, answer-first and
calculator-tool solutions are all rendered from those steps, and each is verified by the checker.
The families in HELD_OUT appear only in test: their wording is never seen in training.
"""

from __future__ import annotations

import random

from chatforge.world.checkers import check_number, conversation_text

NAMES = ["Mia", "Tom", "Ana", "Ben", "Lea", "Sam", "Ivy", "Max", "Zoe", "Leo", "Eva", "Jon"]
THINGS = ["apples", "pencils", "marbles", "stickers", "cards", "books", "shells", "coins", "stamps",
          "buttons"]
FRUIT = [("apples", "apple"), ("oranges", "orange"), ("pears", "pear"), ("lemons", "lemon"),
         ("muffins", "muffin"), ("notebooks", "notebook"), ("pens", "pen"), ("cups", "cup")]

HELD_OUT = {"travel", "ages"}


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _evaluate(expr: str) -> float:
    # Only digits, spaces and + - * / ( ) reach here; they come from our own templates.
    assert set(expr) <= set("0123456789 +-*/()."), expr
    return eval(expr, {"__builtins__": {}}, {})


def _person(rng):
    name = rng.choice(NAMES)
    she = name in ("Mia", "Ana", "Lea", "Ivy", "Zoe", "Eva")
    return name, ("she" if she else "he")


def fam_add(rng):
    n, p = _person(rng)
    t = rng.choice(THINGS)
    x, y = rng.randint(2, 20), rng.randint(2, 20)
    q = f"{n} has {x} {t}. {p.capitalize()} gets {y} more. How many {t} does {n} have now?"
    return q, [(f"{n} has {x} + {y} = {x + y} {t}.", f"{x} + {y}")], f"{n} has {{a}} {t}."


def fam_sub(rng):
    t = rng.choice(THINGS)
    x = rng.randint(8, 30)
    y = rng.randint(1, x - 1)
    q = f"There are {x} {t} in a box. {y} of them are taken out. How many {t} are left in the box?"
    return q, [(f"{x} - {y} = {x - y} {t} are left.", f"{x} - {y}")], f"There are {{a}} {t} left."


def fam_mul(rng):
    t = rng.choice(THINGS)
    x, y = rng.randint(2, 10), rng.randint(2, 9)
    q = f"One bag holds {x} {t}. How many {t} are in {y} bags?"
    return q, [(f"{y} bags hold {y} * {x} = {x * y} {t}.", f"{y} * {x}")], f"There are {{a}} {t} in the bags."


def fam_div(rng):
    t = rng.choice(THINGS)
    each, k = rng.randint(2, 10), rng.randint(2, 6)
    total = each * k
    q = f"{total} {t} are shared equally among {k} friends. How many {t} does each friend get?"
    return (q, [(f"Each friend gets {total} / {k} = {each} {t}.", f"{total} / {k}")],
            f"Each friend gets {{a}} {t}.")


def fam_buy_two(rng):
    (a_pl, a_sg), (b_pl, b_sg) = rng.sample(FRUIT, 2)
    na, nb = rng.randint(2, 6), rng.randint(1, 5)
    pa, pb = rng.randint(1, 6), rng.randint(1, 6)
    total = na * pa + nb * pb
    q = (f"I buy {na} {a_pl} and {nb} {b_pl}. Each {b_sg} costs ${pb} and the total is ${total}. "
         f"What does one {a_sg} cost?")
    rest = total - nb * pb
    steps = [(f"The {b_pl} cost {nb} * {pb} = {nb * pb} dollars.", f"{nb} * {pb}"),
             (f"That leaves {total} - {nb * pb} = {rest} dollars for the {a_pl}.", f"{total} - {nb * pb}"),
             (f"One {a_sg} costs {rest} / {na} = {pa} dollars.", f"{rest} / {na}")]
    return q, steps, f"One {a_sg} costs {{a}} dollars."


def fam_packs(rng):
    n, p = _person(rng)
    a, b, c = rng.randint(1, 15), rng.randint(2, 5), rng.randint(2, 8)
    q = (f"{n} has {a} stickers and buys {b} packs with {c} stickers in each pack. "
         f"How many stickers does {n} have now?")
    steps = [(f"The packs contain {b} * {c} = {b * c} stickers.", f"{b} * {c}"),
             (f"In total {n} has {a} + {b * c} = {a + b * c} stickers.", f"{a} + {b * c}")]
    return q, steps, f"{n} has {{a}} stickers."


def fam_change(rng):
    n, p = _person(rng)
    k, price = rng.randint(2, 5), rng.randint(1, 4)
    bill = rng.choice([b for b in (10, 20, 50) if b > k * price])
    q = (f"{n} buys {k} notebooks that cost ${price} each and pays with a ${bill} bill. "
         f"How much change does {n} get?")
    steps = [(f"The notebooks cost {k} * {price} = {k * price} dollars.", f"{k} * {price}"),
             (f"The change is {bill} - {k * price} = {bill - k * price} dollars.", f"{bill} - {k * price}")]
    return q, steps, f"{n} gets {{a}} dollars back."


def fam_bakery(rng):
    a, b = rng.randint(2, 5), rng.randint(4, 10)
    made = a * b
    c = rng.randint(1, made // 2)
    d = rng.randint(1, made - c - 1)
    q = (f"A baker bakes {a} trays with {b} cookies on each tray. She sells {c} cookies and gives away {d}. "
         "How many cookies are left?")
    steps = [(f"The baker makes {a} * {b} = {made} cookies.", f"{a} * {b}"),
             (f"After selling, {made} - {c} = {made - c} cookies remain.", f"{made} - {c}"),
             (f"After giving some away, {made - c} - {d} = {made - c - d} cookies are left.",
              f"{made - c} - {d}")]
    return q, steps, "{a} cookies are left."


def fam_travel(rng):
    s, h, k = rng.randint(2, 9) * 10, rng.randint(2, 4), rng.randint(5, 40)
    q = (f"A train travels at {s} km per hour for {h} hours, and then another {k} km. "
         "How far does it travel in total?")
    steps = [(f"In {h} hours it travels {s} * {h} = {s * h} km.", f"{s} * {h}"),
             (f"Adding the last part gives {s * h} + {k} = {s * h + k} km.", f"{s * h} + {k}")]
    return q, steps, "The train travels {a} km."


def fam_ages(rng):
    x, y, z = rng.randint(3, 12), rng.randint(1, 6), rng.randint(2, 4)
    q = (f"Lina is {x} years old. Her brother is {y} years older than her, "
         f"and their father is {z} times as old as the brother. How old is the father?")
    steps = [(f"The brother is {x} + {y} = {x + y} years old.", f"{x} + {y}"),
             (f"The father is {z} * {x + y} = {z * (x + y)} years old.", f"{z} * {x + y}")]
    return q, steps, "The father is {a} years old."


FAMILIES = {"add": fam_add, "sub": fam_sub, "mul": fam_mul, "div": fam_div,
            "buy_two": fam_buy_two, "packs": fam_packs, "change": fam_change, "bakery": fam_bakery,
            "travel": fam_travel, "ages": fam_ages}

CALC_INTROS = ["Let me use the calculator.", "I will work it out step by step with the calculator.",
               "I'll compute this with the calculator."]
ANSWER_FIRST = ["The answer is {a}.", "{a}.", "It is {a}."]


def _conversations(q: str, steps: list, final: str, answer: str, rng: random.Random) -> dict:
    final_line = final.format(a=answer)
    stepwise = " ".join(s[0] for s in steps) + f" {final_line} The answer is {answer}."
    first = rng.choice(ANSWER_FIRST).format(a=answer) + " " + " ".join(s[0] for s in steps) + \
        f" So the answer is {answer}."
    segs: list[dict] = [{"type": "text", "text": rng.choice(CALC_INTROS)}]
    for _text, expr in steps:
        value = _fmt(_evaluate(expr))
        segs.append({"type": "tool_call", "tool": "calculator", "input": expr})
        segs.append({"type": "tool_result", "output": value})
    segs.append({"type": "text", "text": f"{final_line} The answer is {answer}."})
    conv = lambda content: {"messages": [{"role": "user", "content": q},  # noqa: E731
                                         {"role": "assistant", "content": content}]}
    return {"step_by_step": conv(stepwise), "answer_first": conv(first), "calculator": conv(segs)}


def make(family: str, rng: random.Random, idx: str) -> dict:
    q, steps, final = FAMILIES[family](rng)
    for text, expr in steps:  # each step's text must state the value its expression computes
        assert f"= {_fmt(_evaluate(expr))}" in text, (text, expr)
    answer = _evaluate(steps[-1][1])
    assert float(answer).is_integer() and answer >= 0, (q, answer)
    a = _fmt(answer)
    item = {"id": idx, "family": family, "steps": len(steps), "held_out_family": family in HELD_OUT,
            "question": q, "answer": int(answer), "expression": steps[-1][1],
            "solutions": _conversations(q, steps, final, a, rng)}
    for conv in item["solutions"].values():
        assert check_number(item, conversation_text(conv["messages"])), item
    return item


def generate(rng: random.Random, n_train: int, n_test: int) -> dict[str, list[dict]]:
    train_fams = [f for f in FAMILIES if f not in HELD_OUT]
    train, seen = [], set()
    while len(train) < n_train:
        it = make(rng.choice(train_fams), rng, f"ar-tr-{len(train):06d}")
        if it["question"] not in seen or len(seen) > 50 * n_train:
            seen.add(it["question"])
            train.append(it)
    test, tries = [], 0
    while len(test) < n_test:
        # About a third of the test split comes from the held-out families.
        fam = rng.choice(sorted(HELD_OUT)) if len(test) % 3 == 0 else rng.choice(train_fams)
        it = make(fam, rng, f"ar-te-{len(test):06d}")
        tries += 1
        if it["question"] in seen and tries < 100 * n_test:
            continue
        seen.add(it["question"])
        test.append(it)
    return {"train": train, "test": test}
