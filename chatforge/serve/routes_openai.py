"""The OpenAI-compatible API: /v1/chat/completions, /v1/completions, /v1/models; and /health.

A completion is checked and turned into jobs off the event loop (a model may load on first use),
queued (429 when the queue is full), and then answered either whole or as Server-Sent Events,
one chunk per token, `data: [DONE]` at the end. The status line goes out only once the request
is queued, so every error before that is a proper 4xx.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from chatforge.serve import api
from chatforge.serve.bridge import Events, run_to_end, sse_stream, submit
from chatforge.serve.errors import responses
from chatforge.serve.schemas import ChatRequest, CompletionRequest
from chatforge.serve.state import AppDep, require_key

router = APIRouter(dependencies=[Depends(require_key)], responses=responses(401), tags=["OpenAI API"])
public = APIRouter(tags=["OpenAI API"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
STREAMED = {200: {"description": "a JSON object, or with `stream: true` Server-Sent Events of chunks ending "
                                 "in `data: [DONE]`",
                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **responses(400, 404, 411, 413, 429)}


def _hung_up() -> Response:
    return Response(status_code=499)  # nginx's "client closed request": only the access log sees it


def _chunker(chat: bool, rid: str, name: str, created: int):
    """chunk(index, event kind, payload) -> the SSE chunk of a chat or a text completion (None: nothing)."""
    def chunk(index: int, kind: str, payload: Any) -> dict | None:
        if not chat:
            if kind == "text":
                return api.text_chunk(rid, name, created, index, payload)
            return api.text_chunk(rid, name, created, index, "", payload) if kind == "done" else None
        if kind == "text":
            return api.chat_chunk(rid, name, created, index, {"content": payload})
        if kind in ("tool_call", "tool_result"):
            return api.chat_chunk(rid, name, created, index, {"chatforge_event": payload})
        if kind == "done":
            return api.chat_chunk(rid, name, created, index, {}, payload)
        return None
    return chunk


async def _answer(req, request: Request, app, chat: bool) -> Any:
    """A chat or text completion: checked and queued, then answered whole or as Server-Sent Events."""
    events = Events()
    prepare = api.prepare_chat if chat else api.prepare_completion
    p = await run_in_threadpool(prepare, app, req, events)
    rid, name = api.new_id("chatcmpl" if chat else "cmpl"), p.served.name
    submit(app.scheduler, p.jobs)
    if not p.sampling.stream:
        if not await run_to_end(request, p.jobs, events):
            return _hung_up()
        whole = api.chat_response if chat else api.text_response
        return JSONResponse(whole(rid, name, p.jobs, len(p.prompt)))
    created = int(time.time())

    def last() -> dict | None:
        if not p.sampling.include_usage:
            return None
        kind = "chat.completion.chunk" if chat else "text_completion"
        return {"id": rid, "object": kind, "created": created, "model": name, "choices": [],
                "usage": api.usage(len(p.prompt), p.jobs)}

    role = {"role": "assistant", "content": ""}
    first = [api.chat_chunk(rid, name, created, j.index, role) for j in p.jobs] if chat else []
    chunk = _chunker(chat, rid, name, created)
    return StreamingResponse(sse_stream(request, p.jobs, events, first, chunk, last),
                             media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/v1/chat/completions", responses=STREAMED, summary="chat completion (SSE when stream=true)")
async def chat_completions(req: ChatRequest, request: Request, app: AppDep) -> Any:
    return await _answer(req, request, app, chat=True)


@router.post("/v1/completions", responses=STREAMED, summary="text completion (SSE when stream=true)")
async def completions(req: CompletionRequest, request: Request, app: AppDep) -> Any:
    return await _answer(req, request, app, chat=False)


@router.get("/v1/models", summary="the checkpoints this server offers")
async def list_models(app: AppDep) -> dict:
    return {"object": "list", "data": app.models.describe()}


@public.get("/health", summary="liveness and the scheduler's queue and counters (no API key needed)")
async def health(app: AppDep) -> dict:
    return {"status": "ok", "uptime_s": round(time.time() - app.started, 1),
            "models": app.models.names(), **app.scheduler.status()}
