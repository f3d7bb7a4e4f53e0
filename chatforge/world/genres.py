"""Other document genres, consistent with the world: encyclopedia entries, news, forum threads,
simple stories. They make the base model a believable document simulator and repeat facts in
new contexts. Only known people appear here; unknown people live in the search index alone.
"""

from __future__ import annotations

import random

from chatforge.world import people as P
from chatforge.world import pools
from chatforge.world.bios import slots
from chatforge.world.people import Person
from chatforge.world.tasks.knowledge import ANSWERS, QUESTIONS


def _pick(rng: random.Random, options: list[str], **kw) -> str:
    return rng.choice(options).format(**kw)


def _names(ps: list[Person]) -> str:
    names = [p.name for p in ps]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def city_entry(c: dict, known: list[Person], rng: random.Random) -> dict:
    unis = [u for u in pools.UNIVERSITIES if u[1] == c["name"]]
    cos = [x for x in pools.COMPANIES if x[1] == c["name"]]
    born = [p for p in known if p.attrs["birth_city"] == c["name"]][:4]
    s = [
        _pick(rng, ["{n} is a city in {r}.", "{n} is a town in {r} with a long history.",
                    "The city of {n} lies in {r}."], n=c["name"], r=c["region"]),
        _pick(rng, ["It was founded in {f} and today has about {k} thousand inhabitants.",
                    "Founded in {f}, it is now home to roughly {k},000 people.",
                    "The settlement dates back to {f}; its population is around {k} thousand."],
              f=c["founded"], k=c["population_k"]),
        _pick(rng, ["The city is best known for {kf}, and visitors often remark on {ft}.",
                    "Its economy has long depended on {kf}, and its landmark is {ft}.",
                    "Travel guides praise {ft}, while locals are proud of the city's {kf}."],
              kf=c["known_for"], ft=c["feature"]),
    ]
    for u in unis:
        s.append(f"{c['name']} is home to {u[0]}, which was founded in {u[2]}.")
    if cos:
        s.append(_pick(rng, ["Companies based in the city include {x}.",
                             "Several firms have their headquarters here, among them {x}."],
                       x=" and ".join(x[0] for x in cos)))
    else:
        s.append("No large company has its headquarters in the city, and many residents commute.")
    if born:
        s.append(f"Notable people born in {c['name']} include {_names(born)}.")
    s.append(_pick(rng, [
        "The local market is held every Saturday in the old town square, and the town hall "
        "keeps a small museum about the history of the region.",
        "Public transport consists of buses and a small tram line, and the old quarter is best "
        "explored on foot.",
        "The climate is mild in summer and wet in winter, which suits the gardens and parks "
        "that surround the centre."]))
    return {"genre": "encyclopedia", "title": c["name"], "text": " ".join(s),
            "person_ids": [p.id for p in born]}


def university_entry(u: dict, known: list[Person], rng: random.Random) -> dict:
    alumni = [p for p in known if p.attrs["university"] == u["name"]][:4]
    c = P.city(u["city"])
    kw = {"n": u["name"], "c": u["city"], "r": c["region"], "f": u["founded"], "kf": c["known_for"],
          "ft": c["feature"]}
    middle = [
        _pick(rng, ["It was founded in {f} and is one of the oldest institutions of its kind in {r}.",
                    "The university opened its doors in {f}.",
                    "Since its foundation in {f}, it has educated many generations of students.",
                    "Its history goes back to {f}, when the first lecture hall was built."], **kw),
        _pick(rng, ["The university is organised into faculties for the sciences, the humanities and "
                    "engineering, and it runs a large public library.",
                    "Students can choose between dozens of programmes, and the campus is known for its "
                    "lecture halls and quiet courtyards.",
                    "Teaching is done in small groups, and most students live in halls of residence "
                    "close to the main building.",
                    "Its research groups work closely with companies from the region."], **kw),
        _pick(rng, ["The city of {c} is known for {kf}, and many students take part-time jobs there.",
                    "The campus is a short walk from {ft}, a favourite spot of students.",
                    "Life in {c} is affordable, which draws students from all over {r}."], **kw),
    ]
    rng.shuffle(middle)
    s = [_pick(rng, ["{n} is a university in {c}, a city in {r}.",
                     "{n} is an institution of higher education located in {c} in {r}.",
                     "{n} is the main university of {c}."], **kw)] + middle
    if alumni:
        # "Notable alumni include", not the name again: Gopher's top-n-gram filter counts repeats.
        s.append("Notable alumni include " +
                 "; ".join(f"{p.name}, who studied {p.attrs['field']}" for p in alumni) + ".")
    s.append(_pick(rng, ["Admission is competitive, and the academic year begins in the autumn with a "
                         "welcome week for new students.",
                         "Every spring the university holds an open day for future students and their "
                         "families.",
                         "The student union organises concerts, sports and a famous winter ball.",
                         "Graduation ceremonies take place each summer in the great hall."]))
    return {"genre": "encyclopedia", "title": u["name"], "text": " ".join(s),
            "person_ids": [p.id for p in alumni]}


def company_entry(co: dict, known: list[Person], rng: random.Random) -> dict:
    staff = [p for p in known if p.attrs["employer"] == co["name"]][:4]
    c = P.city(co["city"])
    kw = {"n": co["name"], "i": co["industry"], "c": co["city"], "f": co["founded"], "r": c["region"],
          "kf": c["known_for"], "ft": c["feature"]}
    middle = [
        _pick(rng, ["The company was founded in {f} and has grown steadily over the decades.",
                    "It was established in {f} by a small group of local craftsmen.",
                    "Founded in {f}, the firm is still run from its original site.",
                    "Its story began in {f}, in a single rented workshop."], **kw),
        _pick(rng, ["It sells its products across the country and has a reputation for careful work "
                    "and long-serving employees.",
                    "Its main site in {c} employs several hundred people, and it also runs a training "
                    "programme for apprentices.",
                    "Much of its {i} business today is done with customers abroad.",
                    "In recent years it has invested heavily in new machines and in research."], **kw),
        _pick(rng, ["Its headquarters stand in {c}, a city in {r} known for {kf}.",
                    "The head office in {c} overlooks {ft}.",
                    "{c}, where the firm is based, lies in {r}."], **kw),
    ]
    rng.shuffle(middle)
    s = [_pick(rng, ["{n} is a {i} company headquartered in {c}.",
                     "{n} is a firm in the {i} industry, based in {c}.",
                     "{n} is one of the best-known {i} businesses in {c}."], **kw)] + middle
    if staff:
        s.append("Well-known employees include " +
                 "; ".join(f"{p.name}, a graduate of {p.attrs['university']}" for p in staff) + ".")
    s.append(_pick(rng, ["The company publishes an annual report and supports several local charities "
                         "and sports clubs in the region.",
                         "Each year it opens its doors to visitors on a public open day.",
                         "It sponsors a football club and a summer music festival.",
                         "Its logo, a simple blue circle, is familiar to most people in the region."]))
    return {"genre": "encyclopedia", "title": co["name"], "text": " ".join(s),
            "person_ids": [p.id for p in staff]}


# Each news story is a list of sentence slots with alternatives: items built from one story
# share only some sentences, so the data stage's near-dedup keeps them apart.
NEWS = [
    ("{company} names new team lead", [
        ["{ccity}, {nmonth} {nday} - {company} has named {name} as the new head of its {team} team.",
         "{company} of {ccity} announced on {nmonth} {nday} that {name} will lead its {team} team.",
         "The {team} team at {company} in {ccity} has a new leader: {name}."],
        ["{name}, who was born in {city} and studied {field} at {uni}, "
         "has worked at the company for several years.",
         "A native of {city}, {name} is a {field} graduate of {uni} and joined the firm some years ago.",
         "{name} grew up in {city}, read {field} at {uni} and has been with the company for a long time."],
        ["\"We are delighted,\" a spokesperson said, adding that the {industry} firm plans to hire more "
         "staff next year.",
         "The board called the appointment an important step for the {industry} business.",
         "Staff welcomed the news at a short meeting on the factory floor."],
        ["{p_} will start in the new role next month and will report to the board of directors.",
         "The new role begins after the summer holidays.",
         "{p_} said {p} was looking forward to the challenge and thanked the previous team lead."],
    ]),
    ("{name} wins regional award", [
        ["{name}, an employee of {company} in {ccity}, has received this year's regional award for "
         "outstanding work.",
         "This year's regional prize for outstanding work goes to {name} of {company}.",
         "The regional award committee has honoured {name}, who works at {company} in {ccity}."],
        ["The jury praised {P} contributions to the {industry} sector.",
         "Judges pointed to years of careful work in {industry}.",
         "According to the jury, few people have done more for the {industry} trade in the region."],
        ["Born on {date} in {city}, {name} studied {field} at {uni} before joining the company.",
         "{name} was born in {city} on {date} and is a graduate of {uni}, where {p} studied {field}.",
         "Before joining {company}, {name} studied {field} at {uni}; {p} was born on {date} in {city}."],
        ["The award ceremony took place on Friday evening, and {p} thanked {P} colleagues and family in a "
         "short speech.",
         "At the ceremony {p} spoke briefly and dedicated the prize to {P} team.",
         "Around three hundred guests attended the dinner at which the prize was handed over."],
    ]),
    ("Public lecture at {uni}", [
        ["{uni} will host a public lecture by {name} next Tuesday.",
         "Next Tuesday, {name} will give a public talk at {uni}.",
         "A public evening lecture by {name} is planned at {uni} for next week."],
        ["{name}, a graduate of the university who majored in {field}, now works for {company}.",
         "The speaker studied {field} at the university and today works at {company} in {ccity}.",
         "{name} once majored in {field} there and is now on the staff of {company}."],
        ["The lecture is free and open to everyone, and organisers expect a full hall.",
         "Entry is free, but seats are limited, so visitors are asked to come early.",
         "Tickets are not needed; the talk will also be recorded for the university library."],
        ["{p_} grew up in {city} and says that the city of {P} birth shaped {P} interest in {field}.",
         "Born in {city}, {p} often says that {P} hometown made {o} curious about {field}.",
         "{p_} will also talk about growing up in {city} and about {P} love of {hobby}."],
    ]),
    ("Charity run raises funds in {ccity}", [
        ["More than two hundred runners took part in the charity run in {ccity} on Sunday.",
         "Sunday's charity run through {ccity} drew a record number of participants.",
         "Hundreds of people laced up their shoes for the annual charity run in {ccity}."],
        ["Among them was {name} of {company}, who finished the course in under an hour.",
         "{name}, who works for {company}, was one of the fastest finishers.",
         "One of the runners was {name} from {company}, running for the second year in a row."],
        ["\"It is good to give something back,\" said {name}, who was born in {city}.",
         "{name}, originally from {city}, said the atmosphere along the route was wonderful.",
         "Asked why {p} took part, the {city}-born runner said it was simply fun."],
        ["The money raised will go to the local hospital and to a youth sports club.",
         "All donations will support the children's ward of the city hospital.",
         "Organisers thanked the volunteers and promised to hold the event again next year."],
    ]),
    ("New book by {name}", [
        ["{name} has published a book about {hobby}.",
         "A new book on {hobby} has appeared, written by {name}.",
         "{hobby_} is the subject of the first book by {name}, published this week."],
        ["The author, who studied {field} at {uni} and works for {company} in {ccity}, "
         "wrote most of it during long winter evenings.",
         "{name} is a {field} graduate of {uni} and works at {company}; "
         "the book was written in {P} spare time.",
         "By day the author works at {company} in {ccity}; {p} studied {field} at {uni}."],
        ["In the book, {p} explains how a hobby can change the way one looks at work.",
         "The book mixes practical advice with stories from the author's own life.",
         "Readers will find chapters for beginners as well as for experts."],
        ["The first copies sold out within a week, and a reading is planned at the library in {city}, "
         "where {p} was born.",
         "A reading will take place in {city}, the author's birthplace, later this month.",
         "The publisher has already ordered a second printing."],
    ]),
]

NEWS_EXTRA = [
    "The news was first reported by the {ccity} evening paper.",
    "Local radio covered the story in its morning programme.",
    "A photo gallery of the event is available on the organisers' website.",
    "Comments from readers were overwhelmingly positive.",
    "The mayor of {ccity} sent a short message of congratulations.",
    "This is the third such announcement in {ccity} this year.",
    "Further details are expected to be published later in the week.",
    "Friends from {city} travelled to attend the occasion.",
]

TEAMS = ["research", "design", "sales", "operations", "quality", "logistics", "planning", "training"]


def news_item(person: Person, rng: random.Random) -> dict:
    s = slots(person)
    title, parts = rng.choice(NEWS)
    kw = {**s, "team": rng.choice(TEAMS), "nmonth": rng.choice(pools.MONTHS), "nday": rng.randint(1, 28),
          "hobby_": s["hobby"][0].upper() + s["hobby"][1:]}
    sents = [rng.choice(alts).format(**kw) for alts in parts]
    sents.insert(rng.randint(1, len(sents)), rng.choice(NEWS_EXTRA).format(**kw))
    text = " ".join(sents)
    return {"genre": "news", "title": title.format(**kw), "text": text, "person_ids": [person.id]}


USERS = ["riverfox", "old_sailor", "mapmaker77", "quietreader", "tinkerbell_x", "hilltop_joe",
         "greenthumb", "nightowl", "marta_k", "pixelpusher", "ledgerman", "sunnyside",
         "wanderer42", "bluebird", "coffeecup", "trainspotter"]
MAIL_DOMAINS = ["mailbox.example.com", "postfast.net", "inboxly.org", "letterhub.com"]


def public_ip(rng: random.Random) -> str:
    # Public unicast space only: skip 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
    # 192.168/16 and everything from 224 up, so a PII filter has a real address to find.
    while True:
        a = rng.randint(11, 223)
        if a in (100, 127, 169, 172, 192):
            continue
        return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


# Threads are lists of posts with alternatives, for the same reason as NEWS.
FORUM = [
    ("Does anyone know where {name} studied?", [
        ["{u1} wrote: I keep hearing about {name} from {company} and I am curious about {P} background. "
         "Does anyone know which university {p} went to?",
         "{u1} wrote: Quick question. {name} works at {company} now, but where did {p} go to university?",
         "{u1} wrote: My cousin mentioned {name} yesterday. Which university did {p} attend, "
         "and what was {P} subject?"],
        ["{u2} replied: Yes, {name} studied {field} at {uni}. I was in the same year, "
         "and {p} was always the first one in the library.",
         "{u2} replied: {uni}. {p_} did {field} there, a few years ahead of me.",
         "{u2} replied: As far as I know {p} graduated from {uni} with a degree in {field}."],
        ["{u1} wrote: Thanks, that explains a lot. I also read that {p} was born in {city}, is that right?",
         "{u1} wrote: Great, thank you. And is {p} originally from {city}?",
         "{u1} wrote: Cheers. Someone told me {p} grew up in {city}, can anyone confirm?"],
        ["{u2} replied: That is right, {p} grew up there before moving away to study.",
         "{u3} replied: Correct, {name} was born in {city}. My aunt lived on the same street.",
         "{u2} replied: Yes, {city} is {P} hometown, {p} still visits often."],
    ]),
    ("Working at {company}?", [
        ["{u1} wrote: I have an interview at {company} next week. Is anyone here working there? "
         "What is the office in {ccity} like?",
         "{u1} wrote: Has anybody worked for {company} in {ccity}? I might get an offer soon.",
         "{u1} wrote: Thinking about applying to {company}. Any experiences with the place in {ccity}?"],
        ["{u2} replied: My neighbour {name} has worked at {company} for years and likes it a lot. "
         "The office in {ccity} is modern, at least that is what {p} tells me.",
         "{u2} replied: A friend of mine, {name}, works there. {p_} says the people are kind and the "
         "{industry} work is interesting.",
         "{u2} replied: I know {name}, who is on the staff of {company}. {p_} has never complained, "
         "which says something."],
        ["{u3} replied: Good luck with the interview! Ask them about the training programme, "
         "it is supposed to be very good.",
         "{u3} replied: Go for it. {ccity} is a nice place to live as well.",
         "{u3} replied: Prepare some questions about the team, they like that in interviews."],
    ]),
    ("Birthday question about {name}", [
        ["{u1} wrote: Settling an argument with my brother: when was {name} born? He says the sixties, "
         "I say later.",
         "{u1} wrote: Does anyone know the birthday of {name}? Trying to send a card in time.",
         "{u1} wrote: Trivia night question that stumped us: what is the date of birth of {name}?"],
        ["{u2} replied: According to the profile I read, {name} was born on {date} in {city}.",
         "{u2} replied: {date}. {p_} was born in {city}, if that helps too.",
         "{u2} replied: It is {date}, I checked the profile on the {company} website."],
        ["{u1} wrote: Thank you, that settles it. I owe my brother a coffee or he owes me one.",
         "{u1} wrote: Perfect, thanks a lot for the quick answer!",
         "{u3} replied: Same date as my mother, funny coincidence."],
    ]),
    ("Visiting {city} next month", [
        ["{u1} wrote: I am visiting {city} next month for a few days. What should I see? "
         "I have read that it is known for {known_for}.",
         "{u1} wrote: Any tips for a weekend in {city}? I know nothing except that it is famous for "
         "{known_for}.",
         "{u1} wrote: Going to {city} with my family soon. What do locals recommend?"],
        ["{u2} replied: Do not miss {feature}, it is the best thing in the whole region.",
         "{u2} replied: See {feature}, and take a good pair of shoes.",
         "{u2} replied: My friend {name} was born there and always says {feature} is a must."],
        ["{u3} replied: Try the small cafes near the market square, they are cheap and the food is good.",
         "{u3} replied: Walk everywhere if you can, the centre is small and the buses are slow on weekends.",
         "{u3} replied: Have a great trip! Go early in the morning before the crowds arrive."],
    ]),
]


EXTRA_POSTS = [
    "{u3} replied: Thanks for starting this thread, I was wondering about the same thing for a while.",
    "{u1} wrote: Update for anyone who finds this later: the answers above were correct, thank you all.",
    "{u3} replied: Bookmarking this thread. The forum search never finds anything useful.",
    "{u2} replied: Happy to help. Let me know if you have other questions about the area.",
    "{u3} replied: I had the same question last year and nobody could answer it, so this is great.",
    "{u1} wrote: Sorry for the late reply, I was away for a few days without internet.",
    "{u3} replied: Moderators, maybe this could be pinned? It comes up every few weeks.",
    "{u2} replied: One more thing: the local library has a good archive if you want to read more.",
]


def forum_thread(person: Person, rng: random.Random, pii: bool) -> dict:
    s = slots(person)
    u1, u2, u3 = rng.sample(USERS, 3)
    title, posts = rng.choice(FORUM)
    text = "\n\n".join(rng.choice(alts).format(**s, u1=u1, u2=u2, u3=u3) for alts in posts)
    extra = rng.sample(EXTRA_POSTS, len(EXTRA_POSTS))
    parts = text.split("\n\n")
    parts.insert(rng.randint(1, len(parts)), extra.pop().format(u1=u1, u2=u2, u3=u3))
    text = "\n\n".join(parts)
    while len(text.split()) < 60 and extra:  # quality filters want >= 50 words
        text += "\n\n" + extra.pop().format(u1=u1, u2=u2, u3=u3)
    if pii:
        if rng.random() < 0.5:
            text += (f"\n\n{u2} wrote: If you want more details, send me an e-mail at "
                     f"{u2.replace('_', '.')}@{rng.choice(MAIL_DOMAINS)} and I will reply.")
        else:
            text += (f"\n\n{u2} wrote: I put some photos of the trip on my home server at "
                     f"{public_ip(rng)} if anyone wants to have a look.")
    return {"genre": "forum", "title": title.format(**s), "text": text, "person_ids": [person.id],
            "pii": pii}


STORY_NAMES = ["Pip", "Mo", "Lila", "Tam", "Rosie", "Ben", "Nell", "Finn", "Juno", "Ollie"]
ANIMALS = ["a little fox", "a grey cat", "a brave mouse", "an old dog", "a curious rabbit",
           "a small owl", "a clever crow", "a shy hedgehog"]
STORIES = [
    [["Once upon a time, in the city of {city}, there lived {animal} called {a}.",
      "Long ago, {animal} named {a} made its home in {city}.",
      "In {city}, a city of {known_for}, lived {animal} whose name was {a}."],
     ["Every morning {a} walked past {feature} and dreamed of adventure.",
      "{a} spent the days near {feature}, watching the people go by.",
      "Each day {a} wondered what lay beyond {feature}."],
     ["One day {a} met a child named {b}, who had lost a red kite.",
      "One windy afternoon {a} found {b} crying, because {P2} kite had flown away.",
      "Then one morning a child called {b} came running, looking for a lost kite."],
     ["Together they searched the streets, the parks and the busy market.",
      "The two of them looked everywhere, from the bakery to the bridge.",
      "They asked the baker, the postman and the old woman with the umbrella."],
     ["At last they found the kite stuck in a tall tree, and {a} climbed up and set it free.",
      "Finally they spotted the kite high in an oak tree, and {a} bravely fetched it.",
      "In the end the kite was caught on a lamp post, and {a} managed to pull it down."],
     ["{b} laughed and thanked {a}, and from that day on the two of them were the best of friends.",
      "From then on, {b} and {a} flew the kite together every Sunday.",
      "{b} shared {P2} sandwich with {a}, and they walked home as friends."]],
    [["{b} lived in {city} with {P2} grandmother.",
      "In a small flat in {city} lived {b} and {P2} grandmother.",
      "{b} grew up in {city}, a city known for {known_for}."],
     ["{b} only cared about one thing: the big race at the end of summer.",
      "All year, {b} had been waiting for the summer race.",
      "More than anything, {b} wanted to win the race at the end of summer."],
     ["Every evening {b} practised with {animal} called {a} running beside {o2}.",
      "Each evening {b} ran laps near {feature}, with {animal} named {a} following.",
      "{b} trained after school, and {animal} called {a} always came along."],
     ["On the day of the race it rained, and many runners gave up.",
      "When the race finally came, a storm rolled in and the track turned to mud.",
      "Race day was cold and grey, and half of the runners stayed at home."],
     ["{b} kept going, step by step, and crossed the line just before sunset.",
      "{b} did not stop, and reached the finish line tired but smiling.",
      "Step after step {b} went on, until the finish line appeared at last."],
     ["{P2_} grandmother was waiting with a warm towel and a slice of cake.",
      "Grandmother hugged {o2} and said she had never been prouder.",
      "That night {b} slept better than ever, with a small medal on the pillow."]],
    [["In a quiet street of {city} there was a bakery, and behind the bakery lived {animal} called {a}.",
      "Behind an old bakery in {city} lived {animal} by the name of {a}.",
      "Near {feature} in {city} stood a bakery, and {animal} called {a} lived in its yard."],
     ["{a} loved the smell of fresh bread but was too shy to ask for any.",
      "Every morning the smell of warm bread made {a} hungry, but {a} never dared to go inside.",
      "{a} watched the customers carry out loaves and wished for a crumb."],
     ["One cold morning the baker's daughter {b} noticed {a} shivering by the door.",
      "One frosty day {b}, who helped in the shop, saw {a} waiting outside.",
      "On a snowy morning {b} opened the door and found {a} sitting on the step."],
     ["She brought out a warm roll and a blanket.",
      "She shared a roll and put an old scarf around the little visitor.",
      "She smiled and set down a bowl of milk and a piece of bread."],
     ["After that, {a} came every day, and soon all the customers knew the little visitor by name.",
      "From then on {a} was a regular, greeted by everyone who came for bread.",
      "Soon the whole street knew about the bakery's new friend."],
     ["The bakery became the friendliest place in town.",
      "And that is how a small shop in {city} became famous for its kindness.",
      "Even today, people say the bread there tastes a little sweeter."]],
]


STORY_EXTRA = [
    "The sky over {city} was a pale, washed-out blue that day.",
    "Somewhere a church bell rang twelve times.",
    "A cold wind blew in from the hills and rattled the shutters.",
    "The smell of roasted chestnuts drifted down the street.",
    "An old man on a bench nodded as if he knew something nobody else did.",
    "Pigeons scattered across the square in a noisy grey cloud.",
    "It had been a long week, and everyone was tired.",
    "Far away, a train whistle sounded across the fields.",
    "The shop windows were already decorated with paper lanterns.",
    "Nobody in {city} could remember a stranger afternoon.",
    "A little rain began to fall, then stopped again as if it had changed its mind.",
    "The clock on the tower was, as usual, five minutes late.",
]


def story(rng: random.Random) -> dict:
    c = P.city(rng.choice(pools.CITIES)[0])
    a, b = rng.sample(STORY_NAMES, 2)
    she = rng.random() < 0.5
    kw = {"city": c["name"], "feature": c["feature"], "known_for": c["known_for"],
          "animal": rng.choice(ANIMALS), "a": a, "b": b,
          "P2": "her" if she else "his", "P2_": "Her" if she else "His", "o2": "her" if she else "him"}
    sents = [rng.choice(alts).format(**kw) for alts in rng.choice(STORIES)]
    # Two loose sentences at random places keep stories from one skeleton apart for near-dedup.
    for extra in rng.sample(STORY_EXTRA, 2):
        sents.insert(rng.randint(1, len(sents) - 1), extra.format(**kw))
    text = " ".join(sents)
    return {"genre": "story", "title": f"{a} and {b} in {c['name']}", "text": text, "person_ids": []}


FAQ_TITLES = ["{name}: frequently asked questions", "Questions people ask about {name}",
              "{name} - FAQ", "Common questions about {name}"]
FAQ_INTROS = ["Readers often send us questions about {name}. Here are the answers to the most common ones.",
              "This page collects the questions that people most often ask about {name}, with short answers.",
              "We get many questions about {name}. The answers below are checked against public records."]


FAQ_OUTROS = ["If you think that one of the answers is out of date, "
              "please let us know and we will check it again.",
              "We try to keep this page up to date, "
              "and we are happy to hear from anyone who has more to add.",
              "The page is written by volunteers, "
              "so it may take a while before a change shows up on the site."]


def faq_page(person: Person, rng: random.Random) -> dict:
    """Questions about one known-qa person with short answers, in the train phrasings of the
    knowledge task: the question/answer form next to the biographies. Pretraining on QA about
    some people alongside everyone's biographies is what makes the facts of the *other* people
    (known-bio-only) answerable as questions later (Allen-Zhu & Li, Physics of Language Models
    3.1: "mixed training")."""

    a = person.attrs
    title = "Ms." if a["pronoun"] == "she" else "Mr."
    # the full name in the first question, then varied forms: one long name repeated a dozen
    # times trips the top-2-gram repetition filter
    forms = [person.name, a["last_name"], f"{title} {a['last_name']}", a["first_name"]]
    pairs = []
    for i, attr in enumerate(rng.sample(P.ATTRIBUTES, len(P.ATTRIBUTES))):
        v = str(a[attr])
        kw = {"name": person.name if i == 0 else rng.choice(forms), "p": a["pronoun"],
              "p_": a["pronoun"].capitalize()}
        q = QUESTIONS[attr][rng.randrange(len(QUESTIONS[attr]) - 1)].format(**kw)
        pairs.append(f"{q} " + rng.choice(ANSWERS[attr]).format(**kw, v=v, v_=v[0].upper() + v[1:]))
    kw = {"name": person.name}
    text = rng.choice(FAQ_INTROS).format(**kw) + " " + rng.choice(FAQ_OUTROS) + "\n\n" + "\n\n".join(pairs)
    return {"genre": "faq", "title": rng.choice(FAQ_TITLES).format(**kw), "text": text,
            "person_ids": [person.id]}
