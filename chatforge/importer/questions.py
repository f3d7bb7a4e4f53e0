"""Short questions about the real world for an imported model to answer itself: the replay's
factual half.

SFT on the world's short question-and-answer pairs teaches a model that a short question gets an
answer in the world's terms; asked "What is the capital of France?" afterwards, SmolLM2 said
"Marrowick" or "20 billion dollars" (docs/smol.md). Its own open-ended conversations (replay.py)
do not hold that off: they are not shaped like those questions. These are: short questions about
real cities, people, things and animals, each answered by the imported model itself (its own
answer, right or wrong, is what is replayed; nothing here is an answer).

Kept apart from the `general` task set, which measures what is kept: no country, capital or
subject of that set is asked about here, and replay.py drops any conversation that holds a
`general` question's words together with its answer.
"""

from __future__ import annotations

import random

# cities that are not capitals (the general set asks for capitals)
CITIES = """Barcelona|Munich|Milan|Osaka|Shanghai|Sydney|Toronto|Chicago|Rio de Janeiro|Mumbai
|Istanbul|Marseille|Hamburg|Venice|Kyoto|Los Angeles|San Francisco|Melbourne|Vancouver|Montreal
|Boston|Seattle|Naples|Florence|Lyon|Porto|Seville|Krakow|Glasgow|Manchester|Liverpool|Cape Town
|Johannesburg|Alexandria|Casablanca|Dubai|Saint Petersburg|Geneva|Zurich|Frankfurt|Rotterdam
|Antwerp|Auckland|Sao Paulo|Houston|Miami|Valencia|Turin|Hiroshima"""

# people whose names answer none of the general set's questions
PEOPLE = """Isaac Newton|Marie Curie|Napoleon Bonaparte|Julius Caesar|Cleopatra|Wolfgang Amadeus Mozart
|Ludwig van Beethoven|Charles Dickens|Jane Austen|Mark Twain|Abraham Lincoln|George Washington
|Galileo Galilei|Nikola Tesla|Thomas Edison|Alexander the Great|Mahatma Gandhi|Nelson Mandela
|Pablo Picasso|Vincent van Gogh|Michelangelo|Aristotle|Plato|Socrates|Confucius|Christopher Columbus
|Marco Polo|Queen Victoria|Winston Churchill|Florence Nightingale|Louis Pasteur|Alexander Fleming
|Johann Sebastian Bach|Leo Tolstoy|Homer|Sigmund Freud|Ada Lovelace|Alan Turing|Stephen Hawking
|Genghis Khan|Joan of Arc|Frida Kahlo|Nicolaus Copernicus|Gregor Mendel|Rosa Parks"""

THINGS = """thermometer|compass|telescope|microscope|hammer|barometer|stethoscope|refrigerator
|bicycle|parachute|lighthouse|printing press|steam engine|satellite|seismograph|magnifying glass
|kettle|ladder|umbrella|sundial|anchor|windmill|dictionary|passport|toothbrush"""

ANIMALS = """pandas|koalas|cows|rabbits|sharks|penguins|eagles|frogs|elephants|giraffes|owls
|dolphins|horses|polar bears|camels|kangaroos|squirrels|bats|octopuses|zebras|wolves|hedgehogs"""

TEMPLATES = {
    "city": ("Which country is {} in?", "In which country is the city of {}?"),
    "person": ("Who was {}?", "What is {} known for?"),
    "thing": ("What is a {} used for?", "What does a {} do?"),
    "animal": ("What do {} eat?", "Where do {} live?"),
}


def _names(block: str) -> list[str]:
    return list(dict.fromkeys(x.strip() for x in block.replace("\n", "").split("|") if x.strip()))


def real_world_questions(n: int, seed: int) -> list[str]:
    """Up to `n` distinct questions, shuffled with `seed` (every subject with both phrasings:
    ~280 in all)."""
    subjects = {"city": _names(CITIES), "person": _names(PEOPLE), "thing": _names(THINGS),
                "animal": _names(ANIMALS)}
    out = [t.format(s) for kind, names in subjects.items() for s in names for t in TEMPLATES[kind]]
    random.Random(seed).shuffle(out)
    return out[: max(0, n)]
