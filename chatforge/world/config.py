"""The `[world]` config section: how big the synthetic world is and what the crawl contains.

Defaults are the `cpu` preset, sized for a ~5M-parameter model on 2 cores that sees ~1.2M
tokens: the world holds on the order of a hundred known people, each written up several times,
so that every fact is seen ~100 times over the pretraining epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from chatforge.core.errors import UserError


@dataclass
class WorldConfig:
    # people
    n_known: int = 120  # people whose biographies are in pretraining
    qa_fraction: float = 0.6  # share of known people who also get QA pairs in SFT (known-qa)
    n_unknown: int = 80  # held-out people: only in the search index, never in training
    bios_per_person: int = 8  # paraphrased biographies per known person
    unknown_bios_per_person: int = 2  # search-index pages per unknown person

    # other genres (pretraining documents)
    n_news: int = 80
    n_forum: int = 60
    n_stories: int = 40
    # question/answer pages about each known-qa person (train phrasings): QA next to the bios in
    # pretraining, so that known-bio-only facts become answerable ("mixed training")
    faq_per_person: int = 0
    # reading-practice pages about made-up people (a profile, then questions answered from it):
    # text that can only be predicted by reading the context (see chatforge/world/quiz.py)
    n_quiz: int = 0
    pii_fraction: float = 0.15  # share of forum posts carrying an e-mail address or public IPv4

    # task sets (items per split)
    knowledge_train_phrasings: int = 3  # question phrasings per (known-qa person, attribute) in train
    arithmetic_train: int = 1500
    arithmetic_test: int = 300
    letters_train: int = 3000
    letters_test: int = 200
    identity_train: int = 300
    identity_test: int = 200
    open_train: int = 300
    open_test: int = 100

    # the assistant's identity
    assistant_name: str = "Forge"
    assistant_maker: str = "the chatforge project"

    # synthetic crawl (junk pages and their labels)
    n_domains: int = 40
    duplicate_fraction: float = 0.08  # exact copies (mirrors) of good documents
    near_duplicate_fraction: float = 0.06  # lightly edited copies
    n_spam: int = 30
    n_lorem: int = 20
    n_foreign_per_lang: int = 15  # pages in each of de, fr, es
    n_short: int = 25
    n_blocklist: int = 20

    def validate(self) -> None:
        """One clear sentence for a value that cannot make a world."""

        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
                raise UserError(f"world.{f.name} must not be negative (got {v}).")
        for name in ("qa_fraction", "pii_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise UserError(f"world.{name} must be between 0 and 1 (got {getattr(self, name)}).")
        if self.duplicate_fraction + self.near_duplicate_fraction > 1:
            raise UserError("world.duplicate_fraction + world.near_duplicate_fraction must be at most 1.")
        if self.bios_per_person < 1:
            raise UserError("world.bios_per_person must be at least 1.")
        if not 1 <= self.n_domains <= 300:
            raise UserError(f"world.n_domains must be between 1 and 300 (got {self.n_domains}).")
        if not self.assistant_name.strip() or not self.assistant_maker.strip():
            raise UserError("world.assistant_name and world.assistant_maker must not be empty.")
