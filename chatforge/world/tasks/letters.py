"""Letter counting: "How many r are in strawberry?" with a spelled-out solution and a python-tool
solution. Test words are never used in train, so a model must count, not remember.
"""

from __future__ import annotations

import random
import re

from chatforge.core.errors import UserError
from chatforge.world import pools
from chatforge.world.checkers import check_number, conversation_text

QUESTIONS = ["How many {l} are in {w}?", "How many times does the letter {l} appear in {w}?",
             "Count the letter {l} in the word {w}.", "How many {l}'s does the word \"{w}\" have?",
             "In the word {w}, how many times do you see the letter {l}?"]


def _spelled(word: str, letter: str, n: int) -> str:
    # A running count after each match is the form a small model can imitate letter by letter.
    parts, k = [], 0
    for ch in word:
        if ch == letter:
            k += 1
            parts.append(f"{ch} ({k})")
        else:
            parts.append(ch)
    body = ", ".join(parts)
    return f"Let me spell {word}: {body}. The letter {letter} appears {n} times. The answer is {n}."


def python_call(word: str, letter: str) -> str:
    """The python a model writes to count. The word keeps the space it has in the question: with
    the GPT-4 split pattern `"balcony` and ` balcony` are different tokens (`"`, `bal`, ... vs
    ` b`, `al`, ...), so `"balcony"` would make the model *spell* a word it has never seen, while
    `" balcony"` lets it copy the question's tokens one for one. Counting a letter is the same."""
    return f'print(" {word}".count("{letter}"))'


def make(word: str, letter: str, rng: random.Random, idx: str) -> dict:
    q = rng.choice(QUESTIONS).format(l=letter, w=word)
    n = word.count(letter)
    spelled = _spelled(word, letter, n)
    tool = [{"type": "text", "text": "I will count it with Python."},
            {"type": "tool_call", "tool": "python", "input": python_call(word, letter)},
            {"type": "tool_result", "output": str(n)},
            {"type": "text", "text": f"The word {word} contains the letter {letter} {n} times. "
                                     f"The answer is {n}."}]
    conv = lambda c: {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": c}]}  # noqa: E731
    item = {"id": idx, "word": word, "letter": letter, "question": q, "answer": n,
            "solutions": {"spelled": conv(spelled), "python": conv(tool)}}
    for c in item["solutions"].values():
        assert check_number(item, conversation_text(c["messages"])), item
    return item


def _letter(word: str, rng: random.Random) -> str:
    # Mostly letters that occur (often repeated ones), sometimes one that does not (answer 0).
    if rng.random() < 0.1:
        absent = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in word]
        return rng.choice(absent)
    counts = {c: word.count(c) for c in word}
    repeated = [c for c, k in counts.items() if k > 1]
    return rng.choice(repeated if repeated and rng.random() < 0.6 else list(counts))


def vocabulary(texts, min_len: int = 4, max_len: int = 12) -> list[str]:
    """Lower-case alphabetic words of a reasonable length in `texts`, sorted."""
    out: set[str] = set()
    for t in texts:
        out.update(w for w in re.findall(r"(?<![\w'’-])[a-z]+(?![\w'’-])", t) if min_len <= len(w) <= max_len)
    return sorted(out)


def generate(rng: random.Random, n_train: int, n_test: int,
             extra_words: list[str] = ()) -> dict[str, list[dict]]:
    """`extra_words` (say, the vocabulary of the world's documents) widen the train words: a
    model that has seen a word spelled once cannot have learnt it by heart, so the many train
    words push it to read (and copy) the word in the question. Test words never occur in train."""
    words = sorted(set(pools.WORDS))
    rng.shuffle(words)
    n_test_words = max(1, len(words) // 5)
    test_words, train_words = words[:n_test_words], words[n_test_words:]
    banned = set(test_words)
    train_words += sorted({w for w in extra_words if w not in banned} - set(train_words))
    train = [make(w, _letter(w, rng), rng, f"le-tr-{i:06d}")
             for i, w in enumerate(rng.choice(train_words) for _ in range(n_train))]
    # test items are distinct (word, letter) questions: a repeated question would count twice
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(200 * max(1, n_test)):
        if len(pairs) == n_test:
            break
        w = rng.choice(test_words)
        pair = (w, _letter(w, rng))
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    if len(pairs) < n_test:
        raise UserError(f"only {len(pairs)} distinct letter-counting test questions exist; "
                        "lower world.letters_test.")
    test = [make(w, letter, rng, f"le-te-{i:06d}") for i, (w, letter) in enumerate(pairs)]
    return {"train": train, "test": test}
