"""Biographies: every known person written up several times, never the same way twice.

Knowledge augmentation (many paraphrases per fact, shuffled sentence order, varied name forms)
is what lets a small model *extract* facts it saw only in pretraining. Two constraints shape the
templates: the data stage's MinHash dedup (word 5-grams, Jaccard ~0.75) must not merge two
paraphrases of one person, so each version of a person uses a different template for every
attribute; and the quality filters want >= 50 words of normal prose, so every page is padded with
true context sentences to >= 70 words.
"""

from __future__ import annotations

import random

from chatforge.world import people as P
from chatforge.world import prose
from chatforge.world.people import Person

MIN_WORDS = 70

# {S} subject (any name form or pronoun), {Sp} possessive subject, {p} pronoun, {P} possessive
# pronoun, {o} object pronoun, {name} full name.
TEMPLATES: dict[str, list[str]] = {
    "birth_date": [
        "{S} was born on {date}.",
        "{S} came into the world on {date}.",
        "The birth of {name} took place on {date}.",
        "{S} celebrates {P} birthday every {month} {day}, having been born on {date}.",
        "Records show that {S} was born on {dmy}.",
        "{date} is the day on which {S} was born.",
        "{Sp} date of birth is {date}.",
        "Born on {date}, {S} grew up with a keen interest in learning.",
        "{S} entered the world on {dmy}.",
        "According to family records, {S} was born on {date}.",
        "{S} was born in {year}, on {date} to be exact.",
    ],
    "birth_city": [
        "{S} was born in {city}.",
        "{S} is a native of {city}, a city in {region}.",
        "{city} is the birthplace of {name}.",
        "{S} grew up in {city}, the city where {p} was born.",
        "{S} comes from {city}, a place known for {known_for}.",
        "The hometown of {name} is {city}.",
        "{S} spent {P} childhood in {city}, where {p} had been born.",
        "{S} was born in the city of {city} in {region}.",
        "Originally from {city}, {S} still speaks fondly of {feature}.",
        "{city}, famous for {feature}, is where {S} was born.",
        "{Sp} place of birth is {city}.",
    ],
    "university": [
        "{S} studied at {uni}.",
        "{S} attended {uni}.",
        "{S} is a graduate of {uni}.",
        "{S} earned a degree from {uni}.",
        "{uni} is where {S} went to university.",
        "{S} enrolled at {uni} after finishing school.",
        "As a student, {S} attended {uni} in {unicity}.",
        "{S} completed {P} studies at {uni}.",
        "{S} holds a degree from {uni}.",
        "After school, {S} moved on to {uni}.",
        "{Sp} alma mater is {uni}.",
    ],
    "field": [
        "{S} majored in {field}.",
        "{S} studied {field}.",
        "{P_} field of study was {field}.",
        "{S} chose to specialise in {field}.",
        "{S} earned {P} degree in {field}.",
        "{Field} was the subject {S} studied at university.",
        "{S} focused on {field} as a student.",
        "At university {S} concentrated on {field}.",
        "{S} trained in {field}.",
        "The subject {S} pursued was {field}.",
        "{S} read {field} for several years.",
    ],
    "employer": [
        "{S} works for {company}.",
        "{S} is employed by {company}.",
        "{S} has a job at {company}, a {industry} company.",
        "{company} employs {name}.",
        "{S} joined {company}, where {p} still works today.",
        "These days {S} works at {company}.",
        "{S} is on the staff of {company}.",
        "{S} earns a living at {company}, a firm in the {industry} business.",
        "Today {S} holds a position at {company}.",
        "{S} took a job with {company} and has stayed there ever since.",
        "{Sp} employer is {company}.",
    ],
    "employer_city": [
        "{S} works in {ccity}.",
        "{P_} workplace is in {ccity}.",
        "{S} commutes to an office in {ccity} every day.",
        "{company} is based in {ccity}.",
        "{S} moved to {ccity} for work.",
        "The company {S} works for is headquartered in {ccity}.",
        "{S} now lives and works in {ccity}.",
        "{ccity} is the city where {S} works.",
        "{Sp} employer has its headquarters in {ccity}.",
        "Every morning {S} heads to work in {ccity}.",
        "{S} has an office in {ccity}.",
    ],
}

INTROS = [
    "{name} is a {field} graduate with a busy career.",
    "This is a short profile of {name}.",
    "{name} is a name many people in {ccity} know.",
    "Here is what is known about {name}.",
    "{name} has an interesting life story.",
    "Meet {name}.",
    "The following page describes the life of {name}.",
    "{name} is a professional in the {industry} sector.",
    "Our profile this week is about {name}.",
    "Few people have a biography quite like that of {name}.",
    "This article gives an overview of {name}.",
]

FILLERS = [
    "{city} lies in {region} and is known for {known_for}.",
    "{uni} was founded in {unifounded}.",
    "{company} was founded in {cfounded} and works in {industry}.",
    "Friends describe {o} as patient, curious and hard-working.",
    "In {P} free time, {p} enjoys {hobby}.",
    "{p_} has always been interested in how things work.",
    "Colleagues say that {p} is easy to work with.",
    "Outside of work, {S} is fond of {hobby}.",
    "{city} is a city with {feature}.",
    "{p_} often says that {hobby} helps {o} relax.",
    "Many of {P} friends also work in the {industry} sector.",
    "{p_} keeps in touch with classmates from {uni}.",
]

# Long, plain sentences rich in common words: added when a draft has too many short,
# date-heavy sentences for the Gopher filters (punctuation and numbers count as non-words there).
LONG_FILLERS = [
    "{p_} says that the best part of the job is the chance to work with people who care about the details.",
    "Most of the week is spent at work and the weekends are kept free for {hobby} and for the family.",
    "People who know {o} well say that {p} has a good sense of humour and a lot of patience with others.",
    "Like many people of that generation {p} likes to take long walks in the evening and to read the "
    "newspaper.",
    "{p_} believes that the most important thing in any career is to keep learning and to stay curious about "
    "the world.",
    "When asked about the future {p} says that there is still a lot to learn and that the work is far from "
    "over.",
]

TITLES = ["{name}", "About {name}", "{name}: a profile", "The life of {name}", "Who is {name}?",
          "{name} - biography", "Profile: {name}", "{name} at a glance"]


def slots(person: Person) -> dict:
    a = person.attrs
    month, rest = a["birth_date"].split(" ", 1)
    day, year = rest.split(", ")
    c = P.city(a["birth_city"])
    u = P.university(a["university"])
    co = P.company(a["employer"])
    she = a["pronoun"] == "she"
    return {
        "name": person.name, "date": a["birth_date"], "dmy": f"{day} {month} {year}",
        "month": month, "day": day, "year": year,
        "city": c["name"], "region": c["region"], "feature": c["feature"], "known_for": c["known_for"],
        "uni": u["name"], "unicity": u["city"], "unifounded": u["founded"],
        "field": a["field"], "Field": a["field"][0].upper() + a["field"][1:],
        "company": co["name"], "ccity": co["city"], "industry": co["industry"],
        "cfounded": co["founded"], "hobby": a["hobby"],
        "p": "she" if she else "he", "P": "her" if she else "his", "o": "her" if she else "him",
        "p_": "She" if she else "He", "P_": "Her" if she else "His",
    }


def _name_forms(person: Person, rng: random.Random) -> tuple[str, str]:
    """(subject, possessive) for one sentence: a name form or the pronoun."""
    a = person.attrs
    title = "Ms." if a["pronoun"] == "she" else "Mr."
    r = rng.random()
    if r < 0.3:
        return a["pronoun"], ("her" if a["pronoun"] == "she" else "his")
    form = rng.choice([person.name, person.name, a["last_name"], a["last_name"], a["first_name"],
                       f"{title} {a['last_name']}"])
    return form, form + "'s"


def _fill(template: str, s: dict, person: Person, rng: random.Random) -> str:
    subj, poss = _name_forms(person, rng)
    text = template.format(**s, S=subj, Sp=poss)
    return text[0].upper() + text[1:]


def biography(person: Person, version: int, perms: dict[str, list[int]], rng: random.Random) -> dict:
    """Version `version` of a person's biography; `perms` assigns templates so versions differ."""
    s = slots(person)
    sentences = []
    for attr in P.ATTRIBUTES:
        t = TEMPLATES[attr][perms[attr][version % len(perms[attr])]]
        sentences.append(_fill(t, s, person, rng))
    rng.shuffle(sentences)
    intro = INTROS[perms["intro"][version % len(perms["intro"])]].format(**s)
    fillers = [FILLERS[i] for i in perms["filler"]]
    rng.shuffle(fillers)
    body = [intro] + sentences
    words = sum(len(x.split()) for x in body)
    for f in fillers:
        if words >= MIN_WORDS and rng.random() < 0.5:
            break
        # Fillers go between attribute sentences so no two versions share a long fixed run.
        pos = rng.randint(2, len(body))
        sent = _fill(f, s, person, rng)
        body.insert(pos, sent)
        words += len(sent.split())
    longs = [LONG_FILLERS[i] for i in perms["long"]]
    while longs and prose.word_problems(" ".join(body)):
        body.insert(rng.randint(2, len(body)), _fill(longs.pop(), s, person, rng))
    # One or two paragraphs, as real profile pages have.
    if rng.random() < 0.5 and len(body) > 5:
        cut = rng.randint(3, len(body) - 2)
        text = " ".join(body[:cut]) + "\n\n" + " ".join(body[cut:])
    else:
        text = " ".join(body)
    title = rng.choice(TITLES).format(name=person.name)
    return {"title": title, "text": text}


def biographies(person: Person, n: int, rng: random.Random) -> list[dict]:
    perms = {attr: rng.sample(range(len(TEMPLATES[attr])), len(TEMPLATES[attr])) for attr in P.ATTRIBUTES}
    perms["intro"] = rng.sample(range(len(INTROS)), len(INTROS))
    out = []
    for v in range(n):
        # Same templates on a retry (so versions stay distinct); new order, name forms and fillers.
        for _ in range(30):
            perms["filler"] = rng.sample(range(len(FILLERS)), len(FILLERS))
            perms["long"] = rng.sample(range(len(LONG_FILLERS)), len(LONG_FILLERS))
            bio = biography(person, v, perms, rng)
            if prose.ok(bio["title"] + "\n" + bio["text"]):
                break
        out.append(bio)
    return out
