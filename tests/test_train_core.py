"""The training core on its own: schedule, optimizers, checkpoints, non-finite loss."""

from __future__ import annotations

import copy
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from chatforge.core.errors import UserError
from chatforge.train import checkpoint as ckpt
from chatforge.train.loop import Checkpoints, Hook, LoopConfig, NonFiniteLoss, Trainer
from chatforge.train.optim import Muon, OptimConfig, build_optimizer, orthogonalize, split_params
from chatforge.train.schedule import lr_multiplier

# ---- schedule -----------------------------------------------------------------------------------

def test_schedule_warmup_flat_decay():
    f = [lr_multiplier(s, 100, warmup_steps=10, decay_frac=0.2, final_frac=0.1) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(x == 1.0 for x in f[10:80])
    assert all(a > b for a, b in zip(f[80:], f[81:]))  # strictly decaying
    assert f[99] == pytest.approx(0.1)
    cos = [lr_multiplier(s, 100, 0, decay_frac=1.0, final_frac=0.0, shape="cosine") for s in range(100)]
    assert cos[0] > 0.99 and cos[49] == pytest.approx(0.5, abs=0.02) and cos[99] == pytest.approx(0.0)
    assert lr_multiplier(5, 10, 0, decay_frac=0.0) == 1.0


# ---- optimizers ---------------------------------------------------------------------------------

class Tiny(nn.Module):
    def __init__(self, vocab=11, d=8):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.hidden = nn.Linear(d, 2 * d, bias=False)
        self.norm = nn.LayerNorm(2 * d)
        self.out = nn.Linear(2 * d, vocab, bias=False)

    def forward(self, x):
        return self.out(self.norm(torch.relu(self.hidden(self.emb(x)))))


def _loss(model, batch):
    x, y = batch
    logits = model(x)
    return nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten()), x.numel()


def test_split_params_roles():
    m = Tiny()
    g = split_params(m)
    assert [p.shape for p in g["matrix"]] == [m.hidden.weight.shape]
    assert {id(p) for p in g["embed"]} == {id(m.emb.weight), id(m.out.weight)}  # head = vocab-sized
    assert len(g["scalar"]) == 2  # LayerNorm weight and bias


def test_adamw_matches_torch():
    torch.manual_seed(0)
    a, b = Tiny(), Tiny()
    b.load_state_dict(a.state_dict())
    ours = build_optimizer(a, OptimConfig(name="adamw", lr=1e-2, weight_decay=0.1, beta2=0.99))
    # torch's AdamW with the same grouping: decay on matrices only
    ref = torch.optim.AdamW([
        {"params": [b.hidden.weight], "weight_decay": 0.1},
        {"params": [b.emb.weight, b.out.weight], "weight_decay": 0.0},
        {"params": [b.norm.weight, b.norm.bias], "weight_decay": 0.0},
    ], lr=1e-2, betas=(0.9, 0.99), eps=1e-8)
    x = torch.randint(0, 11, (4, 5))
    for _ in range(5):
        for m, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            _loss(m, (x, x))[0].backward()
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_newton_schulz_orthogonalizes():
    torch.manual_seed(0)
    g = torch.randn(32, 64)
    o = orthogonalize(g)
    s = torch.linalg.svdvals(o)
    assert s.min() > 0.5 and s.max() < 1.3  # all singular values pushed near 1
    tall = orthogonalize(torch.randn(64, 16))
    assert tall.shape == (64, 16)


def test_muon_trains_and_state_roundtrips():
    torch.manual_seed(0)
    m = Tiny()
    opt = build_optimizer(m, OptimConfig(name="muon", lr=1e-2, muon_lr=0.05))
    assert isinstance(opt, Muon) and opt.param_groups[0]["kind"] == "muon"
    x = torch.randint(0, 11, (8, 6))
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = _loss(m, (x, x))[0]
        first = first if first is not None else loss.item()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
    m2 = Tiny()
    m2.load_state_dict(m.state_dict())
    opt2 = build_optimizer(m2, OptimConfig(name="muon", lr=1e-2, muon_lr=0.05))
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # as if through a file: no shared tensors
    for mm, oo in ((m, opt), (m2, opt2)):
        oo.zero_grad()
        _loss(mm, (x, x))[0].backward()
        oo.step()
    for p1, p2 in zip(m.parameters(), m2.parameters()):
        assert torch.equal(p1, p2)


# ---- checkpoints --------------------------------------------------------------------------------

def test_checkpoint_pointer_prune_and_rng(tmp_path):
    m = Tiny()
    opt = build_optimizer(m, OptimConfig())
    for step in (1, 2, 3, 4, 5, 6):
        ckpt.save_checkpoint(tmp_path, step, m, opt, {"cursor": step}, keep_last=2, keep_every=3)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [3, 5, 6]
    assert ckpt.latest_checkpoint(tmp_path).name == "step_000006.pt"
    assert ckpt.resolve_checkpoint(tmp_path) == ckpt.latest_checkpoint(tmp_path)
    (tmp_path / ".step_000007.pt.abc.tmp").write_bytes(b"torn")  # left by a SIGKILL mid-write
    ckpt.clean_partial(tmp_path)
    assert not list(tmp_path.glob(".*.tmp"))
    # RNG states of python, numpy and torch come back exactly
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = ckpt.rng_state()
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    ckpt.set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    with pytest.raises(UserError):
        ckpt.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError):
        ckpt.load_checkpoint(tmp_path / "junk.pt")


# ---- the loop -----------------------------------------------------------------------------------

class Counter:
    """A resumable batch source over a fixed random dataset."""

    def __init__(self, n=64, seq=6, batch=4):
        g = torch.Generator().manual_seed(0)
        self.data = torch.randint(0, 11, (n, seq + 1), generator=g)
        self.batch, self.pos = batch, 0

    def next_batch(self):
        idx = [(self.pos + i) % len(self.data) for i in range(self.batch)]
        self.pos += self.batch
        rows = self.data[idx]
        return rows[:, :-1], rows[:, 1:]

    def state_dict(self):
        return {"pos": self.pos}

    def load_state_dict(self, s):
        self.pos = s["pos"]


def _trainer(tmp_path, steps, loss_fn=_loss, hooks=None):
    torch.manual_seed(0)
    m = Tiny()
    return Trainer(m, build_optimizer(m, OptimConfig(lr=1e-2)), Counter(), loss_fn,
                   LoopConfig(steps=steps, grad_accum=2, dtype="float32", ckpt_every=3,
                              lr=lambda s: lr_multiplier(s, 8, 2)),
                   saves=Checkpoints(tmp_path / "ckpt"), hooks=hooks)


def test_loop_resume_in_process_is_exact(tmp_path):
    full = _trainer(tmp_path / "a", 8)
    full.fit()
    part = _trainer(tmp_path / "b", 5)  # stops at 5; checkpoint at 3 and at the end (5)
    part.fit()
    ckpt.save_checkpoint  # noqa: B018 - (readability) the resumed run below continues from step 5
    rest = _trainer(tmp_path / "b", 8)
    assert rest.resume() == 5
    rest.fit()
    for p1, p2 in zip(full.raw_model.parameters(), rest.raw_model.parameters()):
        assert torch.equal(p1, p2)
    calls = []
    h = _trainer(tmp_path / "c", 6, hooks=[Hook(2, lambda tr: calls.append(tr.step))])
    h.fit()
    assert calls == [2, 4, 6]


def test_nonfinite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    def exploding(model, batch):
        loss, n = _loss(model, batch)
        return (loss * float("nan") if tr.step == 4 else loss), n

    tr = _trainer(tmp_path, 10, loss_fn=exploding)
    with pytest.raises(NonFiniteLoss, match=r"step 5: the loss is nan.*step_000003\.pt"):
        tr.fit()
    assert ckpt.latest_checkpoint(tmp_path / "ckpt").name == "step_000003.pt"
    state = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path / "ckpt"))
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    # the in-memory weights were not touched by the bad step either
    assert all(torch.isfinite(p).all() for p in tr.raw_model.parameters())
    assert math.isnan(float("nan"))


def test_matmul_peak_cache_keeps_the_best_measurement(tmp_path):
    """A peak cached while the cores were shared (here: absurdly low) is replaced by a real
    measurement, so MFU cannot read over 100% in later stages; a higher cached value is kept."""
    from chatforge.core.atomic import atomic_write_json, read_json
    from chatforge.train.mfu import matmul_peak
    cache = tmp_path / "peak.json"
    key = f"cpu:float32:threads={torch.get_num_threads()}"
    atomic_write_json(cache, {key: 1.0})
    peak = matmul_peak(torch.device("cpu"), torch.float32, cache)
    assert peak > 1e8 and read_json(cache, {})[key] == peak
    atomic_write_json(cache, {key: 1e18})
    assert matmul_peak(torch.device("cpu"), torch.float32, cache) == 1e18
