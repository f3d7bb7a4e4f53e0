"""Pretraining on tiny runs: exact resume after SIGKILL, DDP == one process, shards, samples.

Each run happens in a child process (the SIGKILL has to hit a real process; DDP needs
several), driving the stage body `chatforge.pretrain.stage.pretrain` with its own small
documents and a byte-level tokenizer, so these tests need no other stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

CHILD = textwrap.dedent('''
    import os, random, signal, sys
    from pathlib import Path
    import torch
    from chatforge.pipeline import load_config
    from chatforge.core.device import apply_threads
    from chatforge.core.log import Logger, set_quiet
    from chatforge.core.rundir import StageContext
    from chatforge.pretrain.stage import pretrain
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import dist as dd
    from chatforge.train.loop import Trainer

    root, name, kill_at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    overrides = sys.argv[4:]
    set_quiet(True)
    tok_dir = root / "tok"
    if not (tok_dir / "tiktoken.json").exists() and int(os.environ.get("RANK", "0")) == 0:
        Tokenizer.from_ranks({bytes([i]): i for i in range(256)}).save(tok_dir)
    rng = random.Random(0)
    names, cities = ["Ada", "Bob", "Cyd", "Dee", "Eve"], ["Paris", "Oslo", "Lima"]
    docs = [{"id": f"d{i}", "text": f"{rng.choice(names)} was born in {rng.choice(cities)} in "
             f"{1900 + rng.randrange(100)}. She likes {rng.choice(['tea', 'chess', 'maps'])}."}
            for i in range(300)]
    cfg = load_config("smoke", [
        "model.n_layer=1", "model.d_model=32", "model.n_head=2", "model.n_kv_head=2",
        "model.max_seq_len=64", "pretrain.steps=12", "pretrain.batch_size=4", "pretrain.seq_len=32",
        "pretrain.ckpt_every=4", "pretrain.eval_every=5", "pretrain.sample_every=3",
        "pretrain.sample_tokens=8", "pretrain.eval_tokens=512", "pretrain.warmup_steps=2",
        "pretrain.dtype=float32", "run.threads=1", *overrides])
    apply_threads(cfg.run.threads)
    if kill_at:
        step = Trainer.train_step
        def dying_step(self):
            if self.step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            step(self)
        Trainer.train_step = dying_step
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    ctx = StageContext(name="pretrain", run_dir=root, out=out, config=cfg,
                       log=Logger(out / "metrics.jsonl", prefix="pretrain"))
    while not (tok_dir / "tiktoken.json").exists():
        pass
    metrics = pretrain(ctx, lambda: iter(docs), tok_dir)
    dd.teardown()
    print("DONE", metrics["final_train_loss"], metrics["val_bpb"])
''')


def _child(tmp: Path, name: str, kill_at: int = 0, overrides=(),
           nproc: int = 1) -> subprocess.CompletedProcess:
    script = tmp / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if nproc > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc),
               "--master_port", str(29500 + os.getpid() % 1000), str(script)]
    else:
        cmd = [sys.executable, str(script)]
    return subprocess.run(cmd + [str(tmp), name, str(kill_at), *overrides], env=env,
                          capture_output=True, text=True, timeout=300)


def _weights(out: Path, step: int = 12) -> dict:
    return torch.load(out / "ckpt" / f"step_{step:06d}.pt", weights_only=True)["model"]


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    full = _child(tmp_path, "full")
    assert full.returncode == 0, full.stderr[-3000:]
    killed = _child(tmp_path, "killed", kill_at=6)
    assert killed.returncode == -9, killed.stderr[-3000:]  # died by SIGKILL mid-run
    ck = tmp_path / "killed" / "ckpt"
    assert (ck / "step_000004.pt").exists() and not (ck / "step_000008.pt").exists()
    resumed = _child(tmp_path, "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resume"
    assert full.stdout.split()[-2:] == resumed.stdout.split()[-2:]  # same final loss and bpb
    # the run's artifacts
    out = tmp_path / "full"
    assert (out / "ckpt" / "tokenizer" / "tiktoken.json").exists()
    md = (out / "samples.md").read_text()
    assert "step 3 " in md and "step 12 " in md
    from chatforge.train.checkpoint import load_model

    model, tok_dir, meta = load_model(out, "cpu")
    assert meta["step"] == 12 and meta["stage"] == "pretrain" and tok_dir.is_dir()
    assert not model.training


def test_ddp_two_ranks_match_one_process(tmp_path):
    common = ["pretrain.steps=4", "pretrain.batch_size=2", "pretrain.ckpt_every=0",
              "pretrain.sample_every=0", "pretrain.eval_every=0"]
    one = _child(tmp_path, "single", overrides=[*common, "pretrain.grad_accum=2"])
    assert one.returncode == 0, one.stderr[-3000:]
    two = _child(tmp_path, "ddp", overrides=[*common, "pretrain.grad_accum=1"], nproc=2)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _weights(tmp_path / "single", 4), _weights(tmp_path / "ddp", 4)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=f"{k} differs")


def test_shards_split_and_batches_resume(tmp_path):
    from chatforge.tokenizer import Tokenizer
    from chatforge.train import shards as sh

    tok = Tokenizer.from_ranks({bytes([i]): i for i in range(256)})
    docs = [{"id": f"doc{i}", "text": f"document number {i} " * 5} for i in range(200)]
    index = sh.build_shards(tmp_path / "tokens", iter(docs), tok, val_frac=0.1, shard_tokens=4000)
    assert index["dtype"] == "uint16" and len(index["train"]) > 1
    assert 5 <= index["docs"]["val"] <= 40 and index["docs"]["train"] + index["docs"]["val"] == 200
    train = sh.open_split(tmp_path / "tokens", "train")
    eot = tok.special("<|endoftext|>")
    assert int(train[0][0]) == eot and int((np.concatenate(train) == eot).sum()) == index["docs"]["train"]
    a = sh.TokenBatches(train, 16, 4, seed=1)
    for _ in range(30):  # past an epoch boundary
        a.next_batch()
    state = a.state_dict()
    want = [a.next_batch() for _ in range(5)]
    b = sh.TokenBatches(train, 16, 4, seed=1)
    b.load_state_dict(state)
    for (x1, y1), (x2, y2) in zip(want, (b.next_batch() for _ in range(5))):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
        assert torch.equal(x1[:, 1:], y1[:, :-1])
    # two ranks split each global batch between them
    r0, r1 = (sh.TokenBatches(train, 16, 2, seed=1, rank=r, world=2) for r in (0, 1))
    one = sh.TokenBatches(train, 16, 2, seed=1)
    assert torch.equal(r0.next_batch()[0], one.next_batch()[0])
    assert torch.equal(r1.next_batch()[0], one.next_batch()[0])


def test_pretrain_stage_in_smoke_pipeline(smoke_run, capsys):
    import json

    from chatforge.cli import main
    from chatforge.tokenizer import Tokenizer
    from chatforge.train.checkpoint import load_model

    out = smoke_run / "pretrain"
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] > 0 and m["val_bpb"] == m["val_bpb"] and m["final_train_loss"] < 6.0
    assert (out / "samples.md").read_text().count("## Prompt") >= 1
    model, tok_dir, meta = load_model(out, "cpu")
    assert meta["step"] == m["steps"] and Tokenizer.load(tok_dir).n_vocab == model.config.vocab_size
    assert main(["pretrain", "--run-dir", str(smoke_run)]) == 0  # complete: skipped, not retrained
    assert "complete, skipping" in capsys.readouterr().out


def test_bad_pretrain_settings_are_one_line_errors():
    from chatforge.core.errors import UserError
    from chatforge.pipeline import load_config
    from chatforge.pretrain.stage import _validate

    for bad in ("pretrain.optimizer=sgd", "pretrain.steps=0", "pretrain.dtype=float16", "pretrain.lr=nan",
                "pretrain.reading_share=1.0", "pretrain.reading_passages=1.5", "pretrain.reading_max_gap=-1",
                "pretrain.init=magic"):
        with pytest.raises(UserError, match="pretrain"):
            _validate(load_config("smoke", [bad]).pretrain)
