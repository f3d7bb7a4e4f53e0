"""Shared fixtures.

`smoke_run` runs `chatforge run --preset smoke` once per test session into a temporary run
directory and returns its path; stage tests read the outputs of the stages they need instead of
each building their own pipeline. `shared_data` is ../shared/data (real samples) or a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    env = os.environ.get("CHATFORGE_SHARED_DATA")
    p = Path(env) if env else REPO.parent / "shared" / "data"
    return p if p.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    p = shared_data_dir()
    if p is None:
        pytest.skip("real sample data (../shared/data) is not available")
    return p


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    from chatforge.cli import main

    run_dir = tmp_path_factory.mktemp("smoke") / "run"
    rc = main(["--quiet", "run", "--preset", "smoke", "--run-dir", str(run_dir)])
    assert rc == 0, "the smoke pipeline failed"
    return run_dir


@pytest.fixture
def one_thread():
    """One torch thread for tests of tiny models: a second intra-op thread only adds sync cost,
    and badly so on a busy machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_reward_model(run_dir: Path) -> Path:
    """A reward model (untrained head) on a run's tiny sft checkpoint, where `chatforge rm` puts one."""
    import dataclasses

    from chatforge.rlhf.reward_model import FOLDER, RewardModel
    from chatforge.train import checkpoint as ckpt

    gpt, tok_dir, _ = ckpt.load_model(Path(run_dir) / "sft")
    folder = Path(run_dir) / "rm" / FOLDER
    ckpt.save_checkpoint(folder, 0, RewardModel(gpt), model_config=dataclasses.asdict(gpt.config),
                         meta={"stage": "rm", "kind": "reward_model"})
    ckpt.copy_tokenizer(tok_dir, folder)
    return folder
