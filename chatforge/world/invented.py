"""Invented people: names unlike anyone's in the world, for the hallucination probe.

The world's unknown people have ordinary names from the same pools as the known ones, so a model
cannot tell them apart by the look of the name alone. Invented people are the other kind of
test: names built from syllables no world name uses ("Quorvath Ilmbrecq"), asked about as if
they existed. Any answer about them is made up. They are generated from the seed, never written
into the world directory, and split by index: the first half may be used to build refusal data,
the second half is only ever asked in evaluation.
"""

from __future__ import annotations

import random

from chatforge.world import pools
from chatforge.world.people import Person

_ONSETS = ["Qu", "Thr", "Zh", "Vr", "Xy", "Ph", "Kv", "Gl", "Sk", "Dz", "Yv", "Cth"]
_VOWELS = ["o", "a", "i", "u", "e", "y"]
_CODAS = ["rv", "lx", "mb", "nq", "zz", "th", "rk", "lv", "sp", "xt"]
_ENDS = ["ath", "ix", "ecq", "ulm", "orr", "yx", "enth", "aq", "olph", "uzz"]


def _word(rng: random.Random) -> str:
    return rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) + rng.choice(_ENDS)


def invented_people(n: int, seed: int, taken: set[str] | frozenset[str] = frozenset()) -> list[Person]:
    """n invented people with random attributes (they have no true answers); `taken` are the
    world's names, which no invented name may equal."""
    rng = random.Random(f"invented:{seed}")
    out: list[Person] = []
    seen = set(taken)
    while len(out) < n:
        first, last = _word(rng), _word(rng)
        name = f"{first} {last}"
        if name in seen:
            continue
        seen.add(name)
        uni = rng.choice(pools.UNIVERSITIES)[0]
        company, company_city, _, _ = rng.choice(pools.COMPANIES)
        attrs = {"first_name": first, "last_name": last, "pronoun": rng.choice(["she", "he"]),
                 "birth_date": f"{rng.choice(pools.MONTHS)} {rng.randint(1, 28)}, {rng.randint(1950, 1999)}",
                 "birth_city": rng.choice(pools.CITIES)[0], "university": uni,
                 "field": rng.choice(pools.FIELDS), "employer": company, "employer_city": company_city}
        out.append(Person(id=f"inv{len(out):04d}", name=name, group="invented", attrs=attrs))
    return out


def split(people: list[Person]) -> tuple[list[Person], list[Person]]:
    """(may train refusals, evaluation only): the first and second half by index."""
    half = len(people) // 2
    return people[:half], people[half:]
