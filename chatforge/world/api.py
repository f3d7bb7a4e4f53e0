"""Loading a generated world: `load_world(W)` -> World, the API later stages use.

    w = load_world(run_dir / "world")
    w.people                       # list[Person]: id, name, group, attrs
    w.tasks("knowledge", "train")  # list[dict]
    w.check("arithmetic", item, model_output) -> bool
    w.documents()                  # clean pretraining documents
                                   #   {id, genre, title, text, url, person_ids, pii}
    w.search_documents()           # the search index: documents + pages about unknown people
    w.crawl_warc, w.crawl_labels   # paths
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

from chatforge.core.errors import UserError
from chatforge.world import checkers
from chatforge.world.build import FORMAT, MARKER
from chatforge.world.people import Person
from chatforge.world.tasks import TASKS


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def is_world_dir(path: str | Path) -> bool:
    try:
        meta = json.loads((Path(path) / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


class World:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not is_world_dir(self.root):
            raise UserError(f"'{self.root}' is not a chatforge world directory (no valid {MARKER}); "
                            "generate one with `chatforge world --out DIR`.")
        self.meta = json.loads((self.root / MARKER).read_text())
        self.crawl_warc = self.root / "crawl" / "crawl.warc.gz"
        self.crawl_labels = self.root / "crawl" / "labels.jsonl"

    @property
    def seed(self) -> int:
        return self.meta["seed"]

    @property
    def assistant_name(self) -> str:
        return self.meta["assistant"]["name"]

    @property
    def assistant_maker(self) -> str:
        return self.meta["assistant"]["maker"]

    @cached_property
    def people(self) -> list[Person]:
        return [Person.from_dict(d) for d in _read_jsonl(self.root / "people.jsonl")]

    def person(self, person_id: str) -> Person:
        for p in self.people:
            if p.id == person_id:
                return p
        raise KeyError(person_id)

    def group(self, name: str) -> list[Person]:
        return [p for p in self.people if p.group == name]

    @cached_property
    def entities(self) -> dict:
        return json.loads((self.root / "entities.json").read_text())

    def tasks(self, name: str, split: str) -> list[dict]:
        if name not in TASKS:
            raise UserError(f"unknown task '{name}' (tasks: {', '.join(TASKS)}).")
        if split not in ("train", "test"):
            raise UserError(f"unknown split '{split}' (splits: train, test).")
        return _read_jsonl(self.root / "tasks" / name / f"{split}.jsonl")

    def check(self, task_name: str, item: dict, answer_text: str) -> bool:
        return checkers.check(task_name, item, answer_text)

    def documents(self) -> list[dict]:
        return _read_jsonl(self.root / "documents.jsonl")

    def search_documents(self) -> list[dict]:
        return _read_jsonl(self.root / "search_documents.jsonl")

    def labels(self) -> list[dict]:
        return _read_jsonl(self.crawl_labels)


def load_world(path: str | Path) -> World:
    return World(path)
