"""The built-in synthetic world: people, documents, task sets and a labelled web crawl.

Generate with `chatforge world`; load with `load_world(dir)`. See docs/world.md.
"""

from chatforge.core.stage import Stage
from chatforge.world.api import World, is_world_dir, load_world
from chatforge.world.checkers import check
from chatforge.world.config import WorldConfig
from chatforge.world.people import ATTRIBUTES, GROUPS, Person
from chatforge.world.tasks import TASKS

__all__ = ["STAGE", "World", "load_world", "is_world_dir", "check", "Person", "ATTRIBUTES", "GROUPS", "TASKS"]


def _run(ctx) -> dict:
    from chatforge.world.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("world", _run, config={"world": WorldConfig})
