"""People and their attributes, split into three disjoint groups.

known-qa        facts in pretraining biographies AND question/answer pairs in SFT
known-bio-only  facts only in pretraining; their QA is never trained (does stored knowledge
                become extractable?)
unknown         never in training, only in the search index (measures hallucination)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from chatforge.core.errors import UserError
from chatforge.world import pools

ATTRIBUTES = ["birth_date", "birth_city", "university", "field", "employer", "employer_city"]
GROUPS = ["known-qa", "known-bio-only", "unknown"]
# A stable detail that is not asked about; it gives biographies something true to say besides the
# six attributes, so paraphrases differ without contradicting each other.
HOBBIES = ["sailing", "chess", "painting watercolours", "playing the cello", "hiking",
           "growing tomatoes", "birdwatching", "baking bread", "long-distance running",
           "restoring old bicycles", "collecting stamps", "amateur astronomy", "photography",
           "writing short stories", "playing table tennis", "fly fishing"]


@dataclass
class Person:
    id: str
    name: str
    group: str
    attrs: dict = field(default_factory=dict)  # the six ATTRIBUTES plus pronoun, first/last name, birth_year

    @property
    def first(self) -> str:
        return self.attrs["first_name"]

    @property
    def last(self) -> str:
        return self.attrs["last_name"]

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "group": self.group, "attrs": self.attrs}

    @classmethod
    def from_dict(cls, d: dict) -> Person:
        return cls(id=d["id"], name=d["name"], group=d["group"], attrs=dict(d["attrs"]))


def make_people(rng: random.Random, n_known: int, qa_fraction: float, n_unknown: int) -> list[Person]:
    total = n_known + n_unknown
    names = _full_names(rng, total)
    n_qa = round(n_known * qa_fraction)
    groups = ["known-qa"] * n_qa + ["known-bio-only"] * (n_known - n_qa) + ["unknown"] * n_unknown
    rng.shuffle(groups)
    people = []
    for i, ((female, first, last), group) in enumerate(zip(names, groups)):
        year = rng.randint(1950, 1999)
        month = rng.choice(pools.MONTHS)
        day = rng.randint(1, 28)
        uni, _uni_city, _ = rng.choice(pools.UNIVERSITIES)
        company, company_city, _, _ = rng.choice(pools.COMPANIES)
        attrs = {
            "first_name": first,
            "hobby": rng.choice(HOBBIES),
            "last_name": last,
            "pronoun": "she" if female else "he",
            "birth_date": f"{month} {day}, {year}",
            "birth_year": year,
            "birth_city": rng.choice(pools.CITIES)[0],
            "university": uni,
            "field": rng.choice(pools.FIELDS),
            "employer": company,
            "employer_city": company_city,
        }
        people.append(Person(id=f"p{i:04d}", name=f"{first} {last}", group=group, attrs=attrs))
    return people


SYLLABLES = ["Al", "Bran", "Cor", "Dal", "Ed", "Fen", "Gar", "Hal", "Ive", "Jor", "Kel", "Lin",
             "Mor", "Nor", "Os", "Pen", "Quin", "Ros", "Sel", "Tor", "Ul", "Ves", "Wyn", "Yar", "Zan"]
ENDINGS = ["berg", "by", "croft", "dale", "field", "ford", "gate", "ham", "holm", "hurst", "ley",
           "mere", "more", "ridge", "stead", "stone", "ton", "wick", "wood", "worth"]


def _full_names(rng: random.Random, total: int) -> list[tuple[bool, str, str]]:
    """(female, first, last) for `total` people with unique full names.

    Up to len(SURNAMES) people every surname is unique too, which keeps short name forms
    ("Kessler") unambiguous; bigger worlds (GPU presets) add made-up surnames from syllables and,
    beyond that, reuse surnames with different first names.
    """
    surnames = list(pools.SURNAMES)
    if total > len(surnames):
        known = set(surnames)
        surnames += [a + b for a in SYLLABLES for b in ENDINGS if a + b not in known]
    capacity = len(surnames) * min(len(pools.FEMALE_FIRST), len(pools.MALE_FIRST))
    if total > capacity // 2:
        raise UserError(f"the world can hold at most {capacity // 2} people (asked for {total}); "
                        "lower world.n_known or world.n_unknown.")
    out, seen = [], set()
    order = rng.sample(surnames, min(total, len(surnames)))
    while len(out) < total:
        last = order[len(out)] if len(out) < len(order) else rng.choice(surnames)
        female = rng.random() < 0.5
        first = rng.choice(pools.FEMALE_FIRST if female else pools.MALE_FIRST)
        if (first, last) in seen:
            continue
        seen.add((first, last))
        out.append((female, first, last))
    return out


def city(name: str) -> dict:
    for c in pools.CITIES:
        if c[0] == name:
            return {"name": c[0], "region": c[1], "feature": c[2], "known_for": c[3],
                    "founded": c[4], "population_k": c[5]}
    raise KeyError(name)


def university(name: str) -> dict:
    for u in pools.UNIVERSITIES:
        if u[0] == name:
            return {"name": u[0], "city": u[1], "founded": u[2]}
    raise KeyError(name)


def company(name: str) -> dict:
    for c in pools.COMPANIES:
        if c[0] == name:
            return {"name": c[0], "city": c[1], "industry": c[2], "founded": c[3]}
    raise KeyError(name)


def entities() -> dict:
    """Every city, university and company as dicts (written to entities.json)."""
    return {
        "cities": [city(c[0]) for c in pools.CITIES],
        "universities": [university(u[0]) for u in pools.UNIVERSITIES],
        "companies": [company(c[0]) for c in pools.COMPANIES],
        "fields": list(pools.FIELDS),
    }
