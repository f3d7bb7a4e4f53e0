"""The SFT mixture: each task set's demonstrations, as many as the [sft] section asks for.

The sets and their demonstrations are declared in the task registry (chatforge.tasks); this file
decides the order they are drawn in from the mixture's one random stream, adds the open-ended
prompts' demonstration answers, and holds out a validation share. A set the registry gains with
demonstrations joins after the ones below.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from chatforge.core.errors import UserError
from chatforge.importer.stage import read_replay
from chatforge.tasks import SETS, TaskSet
from chatforge.tasks.demos import Mix, with_system
from chatforge.tasks.people import eval_half
from chatforge.tasks.taskset import take
from chatforge.tools.training import training_executor
from chatforge.tune.split import split_val
from chatforge.world import load_world
from chatforge.world.tasks.open import demo

# the order the sets draw their demonstrations in (fixed: the mixture's random stream depends on it)
ORDER = ("knowledge_known_qa", "followup", "arithmetic", "letters", "arithmetic_calculator", "letters_python",
         "identity", "search_unknown")


def demonstrated() -> list[TaskSet]:
    """The sets with demonstrations, in mixture order."""
    first = [SETS[n] for n in ORDER if n in SETS and SETS[n].demos is not None]
    return first + [ts for ts in SETS.values() if ts.demos is not None and ts not in first]


def build_mixture(run_dir: Path, cfg: Any, seed: int, log=None) -> tuple[list[dict], list[dict], dict]:
    """-> (train conversations, validation conversations, stats). Each conversation is
    {"kind": str, "messages": [...]}."""
    world = load_world(Path(run_dir) / "world")
    mix = Mix(world, random.Random(f"sft-mixture:{seed}"), training_executor(run_dir), cfg)
    convs: list[dict] = []
    for ts in demonstrated():
        d = ts.demos
        convs += [{"kind": d.kind, "messages": c["messages"]} for c in d.build(mix, getattr(cfg, d.count))]
    mix.execute.stop_if_broken()
    # open-ended prompts last, so that the draws above do not depend on them
    for it in take(mix.rng, world.tasks("open", "train"), cfg.open):
        msgs = it["messages"] + [{"role": "assistant", "content": demo(it)}]
        convs.append({"kind": "open", "messages": with_system(msgs, mix.plain_system())["messages"]})
    convs += _replay(Path(run_dir), cfg.replay)
    convs += _documents(world, cfg.documents, mix.rng)
    train, val, counts = split_val(convs, cfg.val_fraction, mix.rng)
    unknown = sum(1 for p in world.people if p.group == "unknown" and not eval_half(p.id))
    stats = {"counts": counts, "train": len(train), "val": len(val),
             "unknown_people_for_search_training": unknown}
    if log is not None:
        log.info("mixture: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return train, val, stats


def _replay(run_dir: Path, n: int) -> list[dict]:
    """`n` of the conversations an imported model wrote itself (importer/replay.py), so SFT on the
    world keeps what it knew."""
    if n <= 0:
        return []
    convs = read_replay(run_dir / "import", n)
    if not convs:
        raise UserError("sft.replay is set but the import stage wrote no conversations of the model's own; "
                        "set import.replay (e.g. 400) or sft.replay = 0.")
    return [{"kind": "replay", "messages": c["messages"]} for c in convs]


def _documents(world, n: int, rng: random.Random) -> list[dict]:
    """`n` biographies of the known people (known-qa and bio-only), as plain text: never one that
    names an unknown person, whom the suite asks about."""
    if n <= 0:
        return []
    known = {p.id for p in world.people if p.group in ("known-qa", "known-bio-only")}
    bios = [d for d in world.documents()
            if d.get("genre") == "bio" and d.get("person_ids") and set(d["person_ids"]) <= known]
    return [{"kind": "document", "text": d["text"]} for d in rng.sample(bios, min(n, len(bios)))]


def conversations(mixture_dir: Path, split: str = "train") -> list[dict]:
    """The conversations of a written mixture (`sft/mixture/<split>.jsonl`), without its plain-text
    documents: what the later stages replay or distil from."""
    path = Path(mixture_dir) / f"{split}.jsonl"
    if not path.is_file():
        return []
    rows = (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip())
    return [r for r in rows if "messages" in r]
