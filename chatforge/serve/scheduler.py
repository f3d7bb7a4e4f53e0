"""Requests in, batches through the one engine, events out: bounded, fair, and cancel-aware.

One worker thread owns the model. It takes the oldest waiting job plus every waiting job that
can share its batch (same model, same sampling settings, same tools) up to `concurrency`, and
runs them through `Engine.generate` in one call, streaming each row's tokens to its job.

The engine runs a batch to the end, so two things are done from its `cancel` hook, checked once
per step:
- a batch whose jobs are all finished from the client's side (disconnected, own max_tokens
  reached, a stop string seen) is ended at once, so a client that goes away frees its slot;
- when compatible jobs are waiting and the batch has room (or holds finished rows), the batch is
  *preempted*: it ends, and its unfinished jobs go back to the front of the queue with the tokens
  they have so far appended to their prompts. The next batch re-reads those prefixes in one
  batched prefill (cheap next to decoding token by token) and new requests join it. That is
  continuous batching built from the one engine's public API, at the cost of one re-prefill per
  merge. `min_steps_before_merge` (k) bounds that cost: a batch merges only after k steps and
  only while some row still has at least k tokens to go.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatforge.engine.sampling import SamplingParams
from chatforge.serve.stream import OutputDecoder


class QueueFull(Exception):
    pass


class EventSink(Protocol):
    """Where a job's events go, from the scheduler thread: a queue.Queue, or the server's bridge
    to its event loop. Items are (index, kind, payload)."""

    def put(self, item: tuple[int, str, Any]) -> None: ...


@dataclass(frozen=True)
class BatchKey:
    model: str
    temperature: float
    top_k: int
    top_p: float
    seed: int | None
    tools: tuple[str, ...] | None  # None: no executor (plain text completion)


_ids = itertools.count()


@dataclass
class Job:
    key: BatchKey
    engine: Any
    prompt: list[int]
    max_tokens: int  # already clipped to the context
    decoder: OutputDecoder
    stop_ids: frozenset[int]
    events: EventSink  # shared by the n jobs of one request
    index: int = 0
    executor: Callable[[str, str], str] | None = None
    created: float = field(default_factory=time.monotonic)
    order: int = field(default_factory=lambda: next(_ids))
    tokens: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    gone: threading.Event = field(default_factory=threading.Event)  # the client disconnected
    started: float | None = None

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def feed(self, tok: int) -> None:
        if self.finished:
            return
        self.tokens.append(tok)
        for kind, payload in self.decoder.feed(tok):
            self.events.put((self.index, kind, payload))
        if tok in self.stop_ids or self.decoder.stopped:
            self.finish("stop")
        elif len(self.tokens) >= self.max_tokens:
            self.finish("length")

    def finish(self, reason: str) -> None:
        if self.finished:
            return
        if reason != "cancelled":
            for kind, payload in self.decoder.finish():
                self.events.put((self.index, kind, payload))
        self.finish_reason = reason
        self.events.put((self.index, "done", reason))

    def fail(self, message: str) -> None:
        if not self.finished:
            self.finish_reason = "error"
            self.events.put((self.index, "error", message))

    @property
    def dead(self) -> bool:
        return self.finished or self.gone.is_set()


class Scheduler:
    def __init__(self, concurrency: int = 8, queue_size: int = 64, min_steps_before_merge: int = 4,
                 log: Callable[[str], None] | None = None):
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.min_steps = min_steps_before_merge
        self.log = log or (lambda s: None)
        self._waiting: list[Job] = []
        self._cv = threading.Condition()
        self._running: list[Job] = []
        self._stop = False
        self.stats = {"requests": 0, "batches": 0, "preemptions": 0, "tokens": 0, "cancelled": 0}
        self._thread = threading.Thread(target=self._loop, name="chatforge-scheduler", daemon=True)
        self._thread.start()

    # ---- called by request threads -----------------------------------------------------------
    def submit(self, jobs: list[Job]) -> None:
        with self._cv:
            fresh = [j for j in self._waiting if j.tokens == []]
            if len(fresh) + len(jobs) > self.queue_size:
                raise QueueFull
            self._waiting.extend(jobs)
            self.stats["requests"] += 1
            self._cv.notify_all()

    def status(self) -> dict:
        with self._cv:
            return {"waiting": len(self._waiting), "running": len(self._running), **self.stats}

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        self._thread.join(timeout=5)

    # ---- the worker ------------------------------------------------------------------------
    def _take(self) -> list[Job] | None:
        with self._cv:
            while True:
                if self._stop:
                    return None
                for j in [j for j in self._waiting if j.dead]:
                    self._waiting.remove(j)
                    j.finish("cancelled")
                    self.stats["cancelled"] += 1
                if self._waiting:
                    break
                self._cv.wait(timeout=1.0)
            self._waiting.sort(key=lambda j: (j.created, j.order))
            key = self._waiting[0].key
            batch = [j for j in self._waiting if j.key == key][: self.concurrency]
            for j in batch:
                self._waiting.remove(j)
            self._running = batch
            return batch

    def _compatible_waiting(self, key: BatchKey) -> bool:
        with self._cv:
            return any(j.key == key and not j.dead for j in self._waiting)

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._run(batch)
            except Exception as e:  # a bug: fail this batch's requests, keep serving
                self.log("generation failed:\n" + traceback.format_exc())
                for j in batch:
                    j.fail(f"generation failed ({type(e).__name__}).")
            finally:
                with self._cv:
                    self._running = []

    def _run(self, batch: list[Job]) -> None:
        self.stats["batches"] += 1
        engine = batch[0].engine
        key = batch[0].key
        now = time.monotonic()
        for j in batch:
            j.started = j.started or now
        steps = 0
        merge = False

        def on_token(row: int, tok: int, forced: bool) -> None:
            self.stats["tokens"] += 1
            batch[row].feed(tok)

        def cancel() -> bool:
            nonlocal steps, merge
            steps += 1
            live = [j for j in batch if not j.dead]
            if not live:
                return True
            room = len(live) < len(batch) or len(batch) < self.concurrency
            # merging costs one re-prefill of every live row: only worth it when the batch still
            # has a while to go (else the waiting jobs simply start when it ends)
            left = max(j.max_tokens - len(j.tokens) for j in live)
            if steps >= self.min_steps and left >= self.min_steps and room and self._compatible_waiting(key):
                merge = True
                return True
            return False

        prompts = [j.prompt + j.tokens for j in batch]
        budget = max(j.max_tokens - len(j.tokens) for j in batch)
        stops = sorted(set().union(*(j.stop_ids for j in batch)))
        sampling = SamplingParams(key.temperature, key.top_k or None, key.top_p)
        outs = engine.generate(prompts, max_new_tokens=budget, sampling=sampling, seed=key.seed,
                               stop_ids=stops, on_token=on_token, executor=batch[0].executor,
                               cancel=cancel)
        requeue = []
        for j, o in zip(batch, outs):
            if j.finished:
                continue
            if j.gone.is_set():
                j.finish("cancelled")
                self.stats["cancelled"] += 1
            elif o.finish_reason in ("stop", "length"):
                j.finish(o.finish_reason)
            else:
                requeue.append(j)
        if requeue:
            if merge:
                self.stats["preemptions"] += 1
            with self._cv:
                self._waiting.extend(requeue)
                self._cv.notify_all()
