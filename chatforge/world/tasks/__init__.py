"""Task sets built from the world: knowledge, arithmetic, letters, identity, open.

Each module exposes `generate(world_ctx, rng, cfg) -> {"train": [...], "test": [...]}`; every
item is verified by its checker in `chatforge.world.checkers` when it is made.
"""

TASKS = ["knowledge", "arithmetic", "letters", "identity", "open"]
