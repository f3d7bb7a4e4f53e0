"""Saying "I don't know": the refusal forms the probe stage trains, and the detector every
evaluation uses to tell a refusal from an answer.

The detector is deliberately broader than the trained forms: a model that says "I have no idea
who that is" refused, even though it never saw that wording, and counting it as a confident
answer would overstate hallucination. It looks for refusal phrases, never for the absence of a
fact, so a wrong answer that hedges ("I think she was born in Daleport") is still an answer.
"""

from __future__ import annotations

import random
import re

# What the mitigation data says for a question the model cannot answer from memory. {name} is
# the person asked about, {what} the attribute in words ("where she was born").
REFUSALS = [
    "I don't know who {name} is.",
    "I'm sorry, I don't have any information about {name}.",
    "I don't know {what}.",
    "I'm not sure. I don't know anything reliable about {name}.",
    "I can't answer that: I don't know {what}.",
    "I have no information about {name}, so I can't say {what}.",
    "Sorry, I don't know. {name} is not someone I have information about.",
]

WHAT: dict[str, str] = {
    "birth_date": "when {name} was born", "birth_city": "where {name} was born",
    "university": "where {name} studied", "field": "what {name} studied",
    "employer": "where {name} works", "employer_city": "in which city {name} works",
}

_MARKERS = re.compile(
    r"\b(i (do not|don t|dont) know|i m not sure|i am not sure|not sure|no information|"
    r"(don t|do not) have (any )?(information|details|data|records?)|no (idea|record|records|details)|"
    r"(can t|cannot|can not) (answer|say|tell)|unable to (answer|say|tell)|never heard of|"
    r"not someone i (know|have)|i (don t|do not) recogni[sz]e)\b")


def refusal(name: str, attribute: str, rng: random.Random) -> str:
    return rng.choice(REFUSALS).format(name=name, what=WHAT[attribute].format(name=name))


def is_refusal(text: str) -> bool:
    """Whether an answer declines to answer (lenient about wording, see the module doc)."""
    t = " " + " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split()) + " "
    return bool(_MARKERS.search(t))
