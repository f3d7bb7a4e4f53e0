"""Generate a whole world into a directory. Deterministic: same seed + config -> same bytes.

Each component draws from its own random stream (seeded by a string, which Python hashes with
SHA-512, independent of PYTHONHASHSEED), so changing the size of one part does not reshuffle the
others.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

from chatforge.core.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from chatforge.world import bios, crawl, genres, pools, prose, quiz
from chatforge.world import people as P
from chatforge.world.config import WorldConfig
from chatforge.world.tasks import arithmetic, identity, knowledge, letters
from chatforge.world.tasks import open as open_task
from chatforge.world.warc import WarcWriter

FORMAT = "chatforge-world"
VERSION = 1
MARKER = "world.json"


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def generate_documents(people: list[P.Person], cfg: WorldConfig, seed: int) -> tuple[list[dict], list[dict]]:
    """(pretraining documents, extra search-only documents about unknown people)."""
    rng = random.Random(f"{seed}:documents")
    known = [p for p in people if p.group != "unknown"]
    unknown = [p for p in people if p.group == "unknown"]
    docs: list[dict] = []

    def redraw(make):
        # Template text can trip a quality filter by accident; draw again (deterministically).
        for _ in range(30):
            d = make()
            if prose.ok(d["title"] + "\n" + d["text"]):
                break
        return d

    def add(out: list[dict], d: dict, prefix: str) -> None:
        out.append({"id": f"{prefix}-{len(out):05d}", "genre": d["genre"], "title": d["title"],
                    "text": d["text"], "person_ids": d["person_ids"], "pii": bool(d.get("pii"))})

    for person in known:
        for b in bios.biographies(person, cfg.bios_per_person, rng):
            add(docs, {"genre": "bio", **b, "person_ids": [person.id]}, "doc")
    for c in pools.CITIES:
        add(docs, redraw(lambda c=c: genres.city_entry(P.city(c[0]), known, rng)), "doc")
    for u in pools.UNIVERSITIES:
        add(docs, redraw(lambda u=u: genres.university_entry(P.university(u[0]), known, rng)), "doc")
    for co in pools.COMPANIES:
        add(docs, redraw(lambda co=co: genres.company_entry(P.company(co[0]), known, rng)), "doc")
    if known:
        # Cycle through a shuffled list so one person rarely gets two items of a kind: two
        # threads about one person share names and facts, which pushes them toward near-dedup.
        order = rng.sample(known, len(known))
        for i in range(cfg.n_news):
            person = order[i % len(order)]
            add(docs, redraw(lambda person=person: genres.news_item(person, rng)), "doc")
        order = rng.sample(known, len(known))
        with_pii = set(rng.sample(range(cfg.n_forum), round(cfg.pii_fraction * cfg.n_forum)))
        for i in range(cfg.n_forum):
            person, pii = order[i % len(order)], i in with_pii
            add(docs, redraw(lambda person=person, pii=pii: genres.forum_thread(person, rng, pii)), "doc")
    for _ in range(cfg.n_stories):
        add(docs, redraw(lambda: genres.story(rng)), "doc")
    # FAQ pages (question/answer about known-qa people) and reading-practice pages draw from their
    # own streams: their numbers leave the rest unchanged.
    frng = random.Random(f"{seed}:faq")
    for person in [p for p in known if p.group == "known-qa"]:
        for _ in range(cfg.faq_per_person):
            add(docs, redraw(lambda person=person: genres.faq_page(person, frng)), "doc")
    # Reading-practice pages draw from their own stream: their number leaves the rest unchanged.
    qrng = random.Random(f"{seed}:quiz")
    for person in quiz.make_people(qrng, cfg.n_quiz, {p.name for p in people}):
        add(docs, quiz.page(person, qrng), "doc")
    # Interleave genres so any prefix of the file is a fair sample.
    rng.shuffle(docs)
    for i, d in enumerate(docs):
        d["id"] = f"doc-{i:05d}"
        d["url"] = None  # filled in from the crawl

    extra: list[dict] = []
    for person in unknown:
        for b in bios.biographies(person, cfg.unknown_bios_per_person, rng):
            add(extra, {"genre": "bio", **b, "person_ids": [person.id]}, "unk")
    return docs, extra


def build(out: Path, cfg: WorldConfig, seed: int, log=None) -> dict:
    """Write the world into `out` (which must exist); returns the counts (metrics)."""
    cfg.validate()
    t0 = time.perf_counter()
    say = (log.info if log is not None else (lambda m: None))
    out = Path(out)
    people = P.make_people(random.Random(f"{seed}:people"), cfg.n_known, cfg.qa_fraction, cfg.n_unknown)
    say(f"people: {len(people)}")
    docs, extra = generate_documents(people, cfg, seed)
    say(f"documents: {len(docs)} (+{len(extra)} search-only)")

    pages = crawl.build_pages(docs, cfg, random.Random(f"{seed}:crawl"))
    url_of = {p.doc_id: p.url for p in pages if p.keep}
    for d in docs:
        d["url"] = url_of[d["id"]]
    for d in extra:
        d["url"] = f"https://peopleindex.org/person/{crawl.slug(d['title'])}-{d['id']}.html"

    tasks = {
        "knowledge": knowledge.generate(people, random.Random(f"{seed}:knowledge"),
                                        cfg.knowledge_train_phrasings),
        "arithmetic": arithmetic.generate(random.Random(f"{seed}:arithmetic"), cfg.arithmetic_train,
                                          cfg.arithmetic_test),
        "letters": letters.generate(random.Random(f"{seed}:letters"), cfg.letters_train, cfg.letters_test,
                                    letters.vocabulary(d["text"] for d in docs)),
        "identity": identity.generate(random.Random(f"{seed}:identity"), cfg.identity_train,
                                      cfg.identity_test, cfg.assistant_name, cfg.assistant_maker),
        "open": open_task.generate(random.Random(f"{seed}:open"), cfg.open_train, cfg.open_test),
    }

    atomic_write_text(out / "people.jsonl", _jsonl([p.to_dict() for p in people]))
    atomic_write_text(out / "entities.json", json.dumps(P.entities(), indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(out / "documents.jsonl", _jsonl(docs))
    atomic_write_text(out / "search_documents.jsonl", _jsonl(docs + extra))
    for name, splits in tasks.items():
        for split, items in splits.items():
            atomic_write_text(out / "tasks" / name / f"{split}.jsonl", _jsonl(items))
    (out / "crawl").mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "crawl" / "crawl.warc.gz") as tmp, open(tmp, "wb") as f:
        w = WarcWriter(f, seed)
        for p in pages:
            w.response(p.url, p.html, p.ip)
    atomic_write_text(out / "crawl" / "labels.jsonl", _jsonl([p.label() for p in pages]))

    counts = {
        "people": {g: sum(p.group == g for p in people) for g in P.GROUPS},
        "documents": len(docs),
        "documents_by_genre": {g: sum(d["genre"] == g for d in docs)
                               for g in ("bio", "encyclopedia", "news", "forum", "story", "faq", "quiz")},
        "search_documents": len(docs) + len(extra),
        "document_words": sum(len(d["text"].split()) for d in docs),
        "tasks": {n: {s: len(v) for s, v in sp.items()} for n, sp in tasks.items()},
        "crawl_pages": len(pages),
        "crawl_keep": sum(p.keep for p in pages),
        "crawl_by_reason": {r: sum(p.reason == r for p in pages)
                            for r in ("duplicate", "near-duplicate", "spam", "lorem", "language", "short",
                                      "blocklist")},
        "crawl_pii_pages": sum(p.pii for p in pages),
        "crawl_warc_bytes": (out / "crawl" / "crawl.warc.gz").stat().st_size,
    }
    marker = {"format": FORMAT, "version": VERSION, "seed": seed, "config": dataclasses.asdict(cfg),
              "assistant": {"name": cfg.assistant_name, "maker": cfg.assistant_maker}, "counts": counts}
    # The marker goes last: a directory with world.json is a finished world.
    atomic_write_bytes(out / MARKER, (json.dumps(marker, indent=1, sort_keys=True) + "\n").encode())
    say(f"generated in {time.perf_counter() - t0:.2f}s")
    return counts
