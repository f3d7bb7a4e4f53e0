"""From the scheduler's thread to a request on the event loop: events in, SSE out, hang-ups noticed.

Generation is synchronous PyTorch on the scheduler's one thread; a request is a coroutine on
uvicorn's event loop. `Events` carries each job's events across: the scheduler thread calls
`put`, and the loop's `_Handover` moves what has piled up into the requests' queues in one go
(one wake-up of the loop per decode step of a batch, not one per token per row). `job_events`
yields them until every job of the request is done. Meanwhile it also waits for the client to
hang up (ASGI's `http.disconnect`): then, or whenever the consumer stops early (a streaming
response that is cancelled), the request's unfinished jobs are marked gone, and the scheduler
frees their slots at its next step. `sse_stream` turns the events into the SSE body, at most
one write per `FLUSH_S` per stream.
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

from fastapi import Request

from chatforge.serve.errors import ApiError, error_body
from chatforge.serve.scheduler import Job, QueueFull, Scheduler

HUNG_UP = (-1, "hung_up", None)
# A stream writes at most this often; tokens that come faster share one write. Each write costs
# the event loop Python work (Starlette, h11) and a socket call, all under the GIL that the
# generation thread needs: with a small fast model, one write per token slows generation itself
# (docs/serve.md has the measurement). 20 ms is still 50 updates a second to a reader.
FLUSH_S = 0.02
DONE = b"data: [DONE]\n\n"


class _Handover:
    """Items from other threads into one event loop's queues, in batches."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.lock = threading.Lock()
        self.items: list[tuple[asyncio.Queue, tuple]] = []

    def put(self, queue: asyncio.Queue, item: tuple) -> None:
        with self.lock:
            self.items.append((queue, item))
            if len(self.items) > 1:  # a wake-up is already on its way
                return
        try:
            self.loop.call_soon_threadsafe(self._move)
        except RuntimeError:  # the loop has closed: the server is stopping, nobody is listening
            pass

    def _move(self) -> None:
        with self.lock:
            items, self.items = self.items, []
        for queue, item in items:
            queue.put_nowait(item)


_handovers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Handover] = weakref.WeakKeyDictionary()


class Events:
    """One request's events; created on the event loop, `put` from any thread."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        if loop not in _handovers:
            _handovers[loop] = _Handover(loop)
        self.handover = _handovers[loop]
        self.queue: asyncio.Queue[tuple[int, str, Any]] = asyncio.Queue()

    def put(self, item: tuple[int, str, Any]) -> None:
        self.handover.put(self.queue, item)


def submit(scheduler: Scheduler, jobs: list[Job]) -> None:
    try:
        scheduler.submit(jobs)
    except QueueFull:
        raise ApiError(429, "The server is busy (the request queue is full); retry shortly.",
                       "rate_limit_error", code="queue_full") from None


async def _hang_up(request: Request, events: Events) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
    events.put(HUNG_UP)


async def job_events(request: Request, jobs: list[Job], events: Events) -> AsyncIterator[tuple]:
    """(index, kind, payload) of the request's jobs until all are done or failed; it stops early
    when the client hangs up (then some jobs are unfinished)."""
    watcher = asyncio.create_task(_hang_up(request, events))
    open_jobs = len(jobs)
    try:
        while open_jobs:
            item = await events.queue.get()
            if item is HUNG_UP:
                return
            if item[1] in ("done", "error"):
                open_jobs -= 1
            yield item
    finally:
        watcher.cancel()
        for j in jobs:
            if not j.finished:
                j.gone.set()


async def run_to_end(request: Request, jobs: list[Job], events: Events) -> bool:
    """Wait for a non-streaming request's jobs; False when the client hung up first."""
    async with aclosing(job_events(request, jobs, events)) as stream:
        async for _, kind, payload in stream:
            if kind == "error":
                raise ApiError(500, str(payload), "server_error")
    return all(j.finished for j in jobs)


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n"


async def sse_stream(request: Request, jobs: list[Job], events: Events, first: list[dict],
                     chunk: Callable[[int, str, Any], dict | None],
                     last: Callable[[], dict | None]) -> AsyncIterator[bytes]:
    """The SSE body: the `first` chunks, one chunk per event (`chunk` may skip one with None),
    the `last` chunk (the usage, when asked for), then [DONE]. A generation that fails ends the
    stream with an error object (which OpenAI's clients raise as an error)."""
    if first:
        yield b"".join(sse(obj) for obj in first)
    pending: list[bytes] = []
    loop = asyncio.get_running_loop()
    written = loop.time() - FLUSH_S  # the first token goes out at once
    async with aclosing(job_events(request, jobs, events)) as stream:
        async for index, kind, payload in stream:
            if kind == "error":
                yield b"".join(pending) + sse(error_body(str(payload), "server_error"))
                return
            obj = chunk(index, kind, payload)
            if obj is not None:
                pending.append(sse(obj))
            if pending and events.queue.empty():
                wait = FLUSH_S - (loop.time() - written)
                if wait > 0 and kind != "done":  # an answer's end goes out at once
                    await asyncio.sleep(wait)
                if events.queue.empty():  # else what came meanwhile goes in the same write
                    yield b"".join(pending)
                    pending = []
                    written = loop.time() - FLUSH_S  # the first token goes out at once
    if not all(j.finished for j in jobs):  # the client hung up: nobody to send the rest to
        return
    obj = last()
    yield b"".join(pending) + (sse(obj) if obj is not None else b"") + DONE
