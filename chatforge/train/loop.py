"""The one training loop: pretraining, SFT, RL, reward models and distillation all run on it.

What varies between stages is passed in, so this file knows nothing about documents or chats:

    batches   a BatchSource: next_batch() -> this rank's next micro-batch (anything the loss
              function understands), plus state_dict()/load_state_dict() so a resumed run
              continues at exactly the same example. A source whose steps differ in size (RL's
              rollouts) also has micro_batches() -> how many micro-batches the step about to
              start takes; their losses are then the step's loss in parts, and add up
    loss_fn   loss_fn(model, batch) -> (mean loss tensor, number of tokens it covered)
    optimizer any torch Optimizer whose groups carry `initial_lr` (see optim.build_optimizer)
    lr_fn     step -> multiplier of every group's initial_lr (see schedule.lr_multiplier)
    hooks     Hook(every, fn): fn(trainer) after every `every`-th completed step (eval, samples)

One optimizer step = `grad_accum` micro-batches (or as many as the source says) on each of
`world_size` ranks, one backward each. Gradients are averaged, clipped, checked for NaN/inf (a
non-finite loss or gradient stops the run *before* the update, so the last checkpoint stays the
last good state), then applied. A checkpoint is written
after the hooks of its step, with the RNG states at that moment, which is what makes a resumed
run bit-identical to one that never stopped.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from chatforge.core.errors import UserError
from chatforge.train import checkpoint as ckpt
from chatforge.train.dist import DistInfo, all_reduce_sum
from chatforge.train.mfu import resolve_dtype
from chatforge.train.optim import set_lr


class BatchSource(Protocol):
    def next_batch(self) -> Any: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


LossFn = Callable[[torch.nn.Module, Any], "tuple[torch.Tensor, int]"]


@dataclass
class Hook:
    every: int  # run after steps that are multiples of this (0 = never, except at_end)
    fn: Callable[[Trainer], None]
    at_end: bool = True  # also after the final step
    main_only: bool = False  # only on rank 0 (e.g. printing samples); others go on


def constant_lr(step: int) -> float:
    return 1.0


@dataclass
class LoopConfig:
    steps: int
    grad_accum: int = 1
    grad_clip: float = 1.0  # 0 = no clipping
    dtype: str = "auto"  # autocast dtype: auto | bfloat16 | float32
    compile: bool = False
    ckpt_every: int = 100  # 0 = only at the end
    keep_last: int = 2
    keep_every: int = 0
    log_every: int = 10
    lr: Callable[[int], float] = constant_lr  # step -> multiplier of every group's initial_lr
    flops_per_token: float | None = None  # with peak_flops: the MFU shown as it trains
    peak_flops: float | None = None


@dataclass
class Checkpoints:
    """Where the loop saves (None: nowhere) and what each checkpoint records besides the weights."""
    dir: str | Path | None = None
    model_config: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)


class NonFiniteLoss(UserError):
    pass


@dataclass
class StepStats:
    step: int = 0  # completed optimizer steps
    loss: float = float("nan")
    lr_mult: float = 0.0
    grad_norm: float = 0.0
    tokens: int = 0  # tokens in the last step, all ranks
    step_time: float = 0.0
    tokens_total: int = 0  # since this process started
    history: list = field(default_factory=list)  # (step, loss) every log_every steps


class Trainer:
    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 batches: BatchSource, loss_fn: LossFn, cfg: LoopConfig, *,
                 saves: Checkpoints | None = None, dist: DistInfo | None = None,
                 log=None, hooks: list[Hook] | None = None):
        saves = saves or Checkpoints()
        self.raw_model = model
        self.optimizer = optimizer
        self.batches = batches
        self.loss_fn = loss_fn
        self.cfg = cfg
        self.lr_fn = cfg.lr
        self.ckpt_dir = Path(saves.dir) if saves.dir else None
        self.dist = dist or DistInfo(device=next(model.parameters()).device)
        self.device = self.dist.device
        self.log = log
        self.hooks = hooks or []
        self.model_config = saves.model_config
        self.meta = saves.meta
        self.flops_per_token = cfg.flops_per_token
        self.peak_flops = cfg.peak_flops
        self.stats = StepStats()
        self.model: torch.nn.Module = model  # becomes the compiled / DDP-wrapped model in fit()
        self.last_ckpt: Path | None = None
        # ckpt_dir is run_dir/<stage>/ckpt by convention: share the run directory's cache
        cache = self.ckpt_dir.parent.parent / "peak_flops.json" if self.ckpt_dir else None
        cfg.dtype = resolve_dtype(cfg.dtype, self.device, cache)

    # ---- pieces stages use from hooks -----------------------------------------------------------

    @property
    def step(self) -> int:
        return self.stats.step

    def autocast(self):
        """Mixed precision for forward passes (weights and optimizer stay fp32)."""
        if self.cfg.dtype == "float32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def mfu(self) -> float | None:
        if not (self.flops_per_token and self.peak_flops and self.stats.step_time > 0):
            return None
        achieved = self.flops_per_token * self.stats.tokens / self.stats.step_time
        return achieved / (self.peak_flops * self.dist.world_size)

    # ---- checkpoints ---------------------------------------------------------------------------

    def resume(self) -> int:
        """Load the newest checkpoint in ckpt_dir if there is one; return the step reached."""
        if self.ckpt_dir is None:
            return 0
        if self.dist.is_main:
            ckpt.clean_partial(self.ckpt_dir)
        path = ckpt.latest_checkpoint(self.ckpt_dir)
        if path is None:
            return 0
        state = ckpt.load_checkpoint(path, map_location="cpu")
        self.raw_model.load_state_dict(state["model"])
        if state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        if state["data"] is not None:
            self.batches.load_state_dict(state["data"])
        ckpt.set_rng_state(state["rng"])
        self.stats.step = state["step"]
        self.stats.loss = float(state["meta"].get("loss", float("nan")))  # until the next step
        self.last_ckpt = path
        return state["step"]

    def save(self) -> Path | None:
        if self.ckpt_dir is None:
            return None
        if self.dist.is_main:
            self.last_ckpt = ckpt.save_checkpoint(
                self.ckpt_dir, self.step, self.raw_model, self.optimizer, self.batches.state_dict(),
                model_config=self.model_config, meta={**self.meta, "loss": self.stats.loss},
                keep_last=self.cfg.keep_last, keep_every=self.cfg.keep_every)
        else:
            self.last_ckpt = self.ckpt_dir / ckpt.step_file(self.step)
        return self.last_ckpt

    # ---- the loop ------------------------------------------------------------------------------

    def _wrap(self) -> None:
        model = self.raw_model
        if self.cfg.compile:
            model = torch.compile(model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = DDP(model, device_ids=ids)
        self.model = model

    def _stop_nonfinite(self, what: str, value: float) -> None:
        where = f"the last good checkpoint is {self.last_ckpt}" if self.last_ckpt else \
            "no checkpoint had been written yet"
        raise NonFiniteLoss(
            f"training stopped at step {self.step + 1}: the {what} is {value} (try a lower "
            f"learning rate or float32); {where}.")

    def train_step(self) -> None:
        cfg = self.cfg
        mult = self.lr_fn(self.step)
        set_lr(self.optimizer, mult)
        self.model.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=self.device, dtype=torch.float32)
        tokens = 0
        planned = getattr(self.batches, "micro_batches", None)
        n_micro = planned() if planned else cfg.grad_accum
        for micro in range(n_micro):
            batch = self.batches.next_batch()
            last = micro == n_micro - 1
            sync = contextlib.nullcontext() if (last or not self.dist.enabled) else self.model.no_sync()
            with sync:
                with self.autocast():
                    loss, n = self.loss_fn(self.model, batch)
                (loss if planned else loss / cfg.grad_accum).backward()
            loss_sum += loss.detach().float()
            tokens += int(n)
        mean = loss_sum if planned else loss_sum / cfg.grad_accum
        stats = torch.stack([mean, torch.tensor(float(tokens), device=self.device)])
        all_reduce_sum(stats)
        loss_val = stats[0].item() / self.dist.world_size
        if not math.isfinite(loss_val):
            self.optimizer.zero_grad(set_to_none=True)
            self._stop_nonfinite("loss", loss_val)
        params = [p for p in self.raw_model.parameters() if p.grad is not None]
        if cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip).item()
        else:
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params])).item()
        if not math.isfinite(norm):
            self.optimizer.zero_grad(set_to_none=True)
            self._stop_nonfinite("gradient norm", norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        s = self.stats
        s.step += 1
        s.loss, s.lr_mult, s.grad_norm = loss_val, mult, norm
        s.tokens = int(stats[1].item())
        s.tokens_total += s.tokens
        s.step_time = time.perf_counter() - t0

    def _due(self, every: int) -> bool:
        return every > 0 and self.step % every == 0

    def fit(self) -> StepStats:
        """Train from the current step (0, or what resume() loaded) to cfg.steps."""
        cfg = self.cfg
        self._wrap()
        progress = None
        if self.log is not None and self.dist.is_main:
            progress = self.log.progress(cfg.steps, desc="train", start=self.step)
        try:
            while self.step < cfg.steps:
                self.train_step()
                s = self.stats
                end = self.step == cfg.steps
                mfu = self.mfu()
                if progress is not None:
                    extra = f"loss {s.loss:.3f}" + (f" | MFU {100 * mfu:.0f}%" if mfu is not None else "")
                    progress.update(1, extra=extra, tokens=s.tokens)
                if self._due(cfg.log_every) or end:
                    s.history.append((self.step, s.loss))
                    if self.log is not None and self.dist.is_main:
                        self.log.metric(event="train", step=self.step, loss=round(s.loss, 5),
                                        lr_mult=round(s.lr_mult, 5), grad_norm=round(s.grad_norm, 4),
                                        tokens_per_s=round(s.tokens / s.step_time, 1),
                                        mfu=None if mfu is None else round(mfu, 4))
                for hook in self.hooks:
                    if self._due(hook.every) or (end and hook.at_end):
                        if not hook.main_only or self.dist.is_main:
                            hook.fn(self)
                if self._due(cfg.ckpt_every) or end:
                    self.save()
        finally:
            if progress is not None:
                progress.close()
        return self.stats
