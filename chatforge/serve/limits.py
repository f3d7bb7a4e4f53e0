"""What a request may cost before any route sees it, and HTTP that is not HTTP.

`RequestLimits` (a plain ASGI middleware, so streaming passes through untouched) reads each
request body up front, bounded: over `serve.max_request_bytes` is a 413 (said from the
Content-Length header alone when there is one, without reading the body), a POST without
Content-Length or chunked encoding a 411, a body that stalls for `serve.request_timeout_s` a 408,
more than 100 header lines a 431. The route then gets the body from memory. It also writes the
access log line of every request.

`Protocol` is uvicorn's h11 protocol with two changes: a request h11 cannot parse (a bad request
line, a malformed header, an oversize head) is answered with OpenAI's error JSON instead of
uvicorn's plain-text 400, and a connection that sends no request within the timeout is closed
(uvicorn times out idle connections only between requests).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from chatforge.serve.errors import ApiError, bad, error_body

MAX_HEADERS = 100  # as the standard library's HTTP parsers allow


class RequestLimits:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float, log: Callable[[str], None]):
        self.app, self.max_bytes, self.timeout_s, self.log = app, max_bytes, timeout_s, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.monotonic()
        status = 0

        async def logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            error, body = await self._read(scope, receive)
            if error is not None:
                # the body may be left unread: the connection cannot carry another request
                await error.response({"Connection": "close"})(scope, receive, logged)
            elif body is None:
                await self.app(scope, receive, logged)
            else:
                await self.app(scope, _replay(body, receive), logged)
        finally:
            ms = 1000 * (time.monotonic() - t0)
            self.log(f"{scope['method']} {scope['path']} {status or 499} {ms:.0f}ms")

    async def _read(self, scope: Scope, receive: Receive) -> tuple[ApiError | None, bytes | None]:
        """(an error to answer with, or None; the whole body, or None when the request has none)."""
        headers = scope["headers"]
        if len(headers) > MAX_HEADERS:
            return ApiError(431, f"More than {MAX_HEADERS} header lines.", code="headers_too_large"), None
        length = chunked = None
        for k, v in headers:
            if k == b"content-length":
                length = int(v)  # h11 has checked that it is a number
            elif k == b"transfer-encoding":
                chunked = v
        if length is None and chunked is None:
            if scope["method"] == "POST":
                return ApiError(411, "A Content-Length header is required.", code="length_required"), None
            return None, None
        if length is not None and length > self.max_bytes:
            return ApiError(413, f"The request body is {length} bytes; the limit is {self.max_bytes}.",
                            code="request_too_large"), None
        body = bytearray()
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), self.timeout_s)
            except TimeoutError:
                return ApiError(408, f"The request body did not arrive within {self.timeout_s:g} s.",
                                code="request_timeout"), None
            if message["type"] == "http.disconnect":
                return bad("The request body ended early."), None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return ApiError(413, f"The request body is larger than {self.max_bytes} bytes.",
                                code="request_too_large"), None
        return None, bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the real receive (which waits for the client to hang up)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class Protocol(H11Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._first_request = self.loop.call_later(self.timeout_keep_alive, self._no_request)

    def _no_request(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._first_request.cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        data = json.dumps(error_body("Malformed HTTP request.", code="malformed_http")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                   (b"connection", b"close")]
        try:
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                          h11.Data(data=data), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # a response had already started: all we can do is hang up
            pass
        self.transport.close()
