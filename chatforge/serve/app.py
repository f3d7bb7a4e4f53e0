"""The HTTP server: OpenAI-compatible API, the web page, and the learner endpoints, in one process.

Stack: the standard library's `ThreadingHTTPServer` (one thread per connection, HTTP/1.1
keep-alive, chunked SSE). Generation is synchronous PyTorch driven by one scheduler thread, so
request threads only parse, queue and stream; an async framework would add two dependencies
without making the model any faster. docs/serve.md has the reasoning and the measurements.

Every error a client can cause is answered with OpenAI's error JSON and a 4xx status: malformed
HTTP, bad JSON, wrong fields, oversize bodies (413), over-limit tokens, full queue (429), a
missing or wrong API key (401). A client that disconnects is noticed while its request waits or
streams, and its generation slot is freed (see scheduler.py).
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import queue
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from chatforge.serve import api
from chatforge.serve.api import ApiError, bad
from chatforge.serve.config import ServeConfig
from chatforge.serve.models import ModelNotFound, Models
from chatforge.serve.scheduler import QueueFull, Scheduler

STATIC = Path(__file__).parent / "static"


class App:
    """Everything the handlers share: config, models, scheduler, tools, run directory."""

    def __init__(self, cfg: ServeConfig, models: Models, run_dir: Path | None = None,
                 api_key: str | None = None, log: Callable[[str], None] | None = None):
        cfg.validate()
        self.cfg, self.models, self.run_dir, self.api_key = cfg, models, run_dir, api_key
        self.log = log or (lambda s: None)
        self.scheduler = Scheduler(cfg.concurrency, cfg.queue_size, cfg.min_steps_before_merge, self.log)
        self._executor = None
        self._guards: dict[tuple[str, ...], Callable[[str, str], str]] = {}
        self._exec_lock = threading.Lock()
        self.started = time.time()
        from chatforge.serve.reward import RewardScorer

        self.reward = RewardScorer(run_dir)

    # ---- tools --------------------------------------------------------------------------------
    def executor_for(self, allowed: tuple[str, ...]) -> Callable[[str, str], str]:
        """The tool hook for conversations whose system prompt allows `allowed` (same object for
        the same set, so such requests can share a batch)."""
        from chatforge.chat.prompts import ALL_TOOLS

        with self._exec_lock:
            if allowed in self._guards:
                return self._guards[allowed]

            def run(tool: str, inp: str) -> str:
                if tool not in allowed:
                    return (f"error: the {tool} tool is switched off" if tool in ALL_TOOLS
                            else f"error: no tool named {tool}")
                if not self.cfg.tools:
                    return "error: tools are switched off on this server"
                return self._tools()(tool, inp)

            self._guards[allowed] = run
            return run

    def _tools(self):
        with self._exec_lock:
            if self._executor is None:
                from chatforge.tools import make_executor

                self._executor = make_executor(self.run_dir)
            return self._executor

    def model(self, name: Any):
        if name is not None and not isinstance(name, str):
            raise bad("'model' must be a string.", "model")
        try:
            return self.models.get(name)
        except ModelNotFound:
            raise ApiError(404, f"The model '{name}' does not exist here; available: "
                           f"{', '.join(self.models.names())}.", param="model", code="model_not_found") from None

    def close(self) -> None:
        self.scheduler.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chatforge"
    sys_version = ""
    app: App  # set on the subclass made by make_server

    # ---- plumbing --------------------------------------------------------------------------
    def setup(self) -> None:
        self.timeout = self.app.cfg.request_timeout_s
        super().setup()

    def log_message(self, fmt: str, *args) -> None:  # the access log goes through App.log
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, oversize headers): JSON like every other error."""
        self.close_connection = True
        if code == 501:  # a method the server has no handler for: the client's mistake, not ours
            code, message = 405, f"The method {self.command!r} is not supported."
        if self.request_version == "HTTP/0.9":  # unparsable request line: still answer with a status line
            self.request_version = "HTTP/1.0"
        try:
            self._json(code, ApiError(code, message or "Malformed HTTP request.").body())
        except OSError:
            pass

    def _json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._status = status

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _gone(self) -> bool:
        """Has the client closed its side? (readable with nothing to read means EOF)"""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _body(self) -> bytes:
        cfg = self.app.cfg
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                line = self.rfile.readline(100)
                try:
                    size = int(line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    self.close_connection = True
                    raise bad("Malformed chunked request body.") from None
                if size == 0:
                    self.rfile.readline(100)
                    return bytes(data)
                if len(data) + size > cfg.max_request_bytes:
                    self.close_connection = True
                    raise ApiError(413, f"The request body is larger than {cfg.max_request_bytes} bytes.",
                                   code="request_too_large")
                data += self.rfile.read(size)
                self.rfile.readline(100)
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise ApiError(411, "A Content-Length header is required.", code="length_required")
        try:
            n = int(length)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise bad("Content-Length is not a valid number.") from None
        if n > cfg.max_request_bytes:
            self.close_connection = True  # the body is not read; the connection cannot be reused
            raise ApiError(413, f"The request body is {n} bytes; the limit is {cfg.max_request_bytes}.",
                           code="request_too_large")
        data = self.rfile.read(n)
        if len(data) < n:
            self.close_connection = True
            raise bad("The request body ended early.")
        return data

    def _authorized(self) -> bool:
        key = self.app.api_key
        if not key:
            return True
        got = self.headers.get("Authorization", "")
        return got.startswith("Bearer ") and hmac.compare_digest(got[7:].strip().encode(), key.encode())

    # ---- dispatch --------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        t0 = time.monotonic()
        self._status = 0
        path = urlsplit(self.path).path
        try:
            # read any body first, so an early error leaves the connection clean for keep-alive
            has_body = "Content-Length" in self.headers or "Transfer-Encoding" in self.headers
            raw = self._body() if has_body or method == "POST" else b""
            route = ROUTES.get((method, path))
            if route is None:
                if method in ("GET", "HEAD") and (path == "/" or path.startswith("/static/")):
                    return self._static(path)
                if any(p == path for _, p in ROUTES):
                    raise ApiError(405, f"{method} is not allowed on {path}.", code="method_not_allowed")
                raise ApiError(404, f"No such endpoint: {path}.", code="not_found")
            if path != "/health" and not self._authorized():
                raise ApiError(401, "Missing or wrong API key (send 'Authorization: Bearer KEY').",
                               code="invalid_api_key")
            body = api.parse_json(raw) if method == "POST" else {}
            route(self, body)
        except ApiError as e:
            if not self._status:
                self._json(e.status, e.body())
        except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError):
            self.close_connection = True
        except Exception as e:  # a bug: answer 500 (in OpenAI's shape) and log it
            import traceback

            self.app.log("internal error:\n" + traceback.format_exc())
            self.close_connection = True
            if not self._status:
                try:
                    self._json(500, ApiError(500, f"Internal server error ({type(e).__name__}).",
                                             "server_error").body())
                except OSError:
                    pass
        finally:
            self.app.log(f"{method} {path} {self._status} {1000 * (time.monotonic() - t0):.0f}ms")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    # ---- static page ------------------------------------------------------------------------
    def _static(self, path: str) -> None:
        name = "index.html" if path == "/" else path[len("/static/"):]
        allowed = {p.name for p in STATIC.iterdir() if p.is_file()} if STATIC.is_dir() else set()
        if name not in allowed:  # only files that exist in the folder: no path tricks
            raise ApiError(404, f"No such file: {path}.", code="not_found")
        data = (STATIC / name).read_bytes()
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", ctype + ("; charset=utf-8" if ctype.startswith("text/") or
                                                  ctype.endswith("javascript") else ""))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._status = 200

    # ---- generation -------------------------------------------------------------------------
    def _run_jobs(self, jobs, events: queue.Queue, stream: bool, on_event: Callable | None) -> None:
        """Queue the jobs and wait for them, passing events to on_event while streaming.
        A client that goes away marks its jobs gone, which frees their slots."""
        try:
            self.app.scheduler.submit(jobs)
        except QueueFull:
            raise ApiError(429, "The server is busy (the request queue is full); retry shortly.",
                           "rate_limit_error", code="queue_full") from None
        open_jobs = len(jobs)
        try:
            while open_jobs:
                try:
                    index, kind, payload = events.get(timeout=0.25)
                except queue.Empty:
                    if self._gone():
                        raise BrokenPipeError
                    continue
                if kind in ("done", "error"):
                    open_jobs -= 1
                if kind == "error":
                    raise RuntimeError(payload)
                if on_event is not None:
                    on_event(index, kind, payload)
        except BaseException:
            for j in jobs:
                j.gone.set()
            raise

    def _sse_start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._status = 200

    def _sse(self, obj: Any) -> None:
        self._chunk(b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n")

    def _sse_end(self) -> None:
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def chat_completions(self, body: dict) -> None:
        from chatforge.chat.prompts import enabled_tools
        from chatforge.chat.render import ChatFormatError, render_prompt

        cfg = self.app.cfg
        msgs = api.messages(body, cfg)
        s = api.sampling(body, cfg)
        served = self.app.model(body.get("model"))
        try:
            prompt = render_prompt(msgs, served.tokenizer)
        except ChatFormatError as e:
            raise bad(f"The conversation is not valid: {e}", "messages") from None
        tools = tuple(enabled_tools(msgs))
        jobs, events = api.make_jobs(served, prompt, s, True, tools, self.app.executor_for(tools))
        rid = api.new_id("chatcmpl")
        if not s.stream:
            self._run_jobs(jobs, events, False, None)
            return self._json(200, api.chat_response(rid, served.name, jobs, len(prompt)))
        created = int(time.time())
        self._sse_start()
        for j in jobs:
            self._sse(api.chat_chunk(rid, served.name, created, j.index, {"role": "assistant", "content": ""}))

        def on_event(index: int, kind: str, payload: Any) -> None:
            if kind == "text":
                self._sse(api.chat_chunk(rid, served.name, created, index, {"content": payload}))
            elif kind in ("tool_call", "tool_result"):
                self._sse(api.chat_chunk(rid, served.name, created, index, {"chatforge_event": payload}))
            elif kind == "done":
                self._sse(api.chat_chunk(rid, served.name, created, index, {}, payload))

        self._run_jobs(jobs, events, True, on_event)
        if s.include_usage:
            self._sse({"id": rid, "object": "chat.completion.chunk", "created": created, "model": served.name,
                       "choices": [], "usage": api.usage(len(prompt), jobs)})
        self._sse_end()

    def completions(self, body: dict) -> None:
        s = api.sampling(body, self.app.cfg)
        served = self.app.model(body.get("model"))
        prompt = api.completion_prompt(body, served, self.app.cfg)
        jobs, events = api.make_jobs(served, prompt, s, False, None, None)
        rid = api.new_id("cmpl")
        if not s.stream:
            self._run_jobs(jobs, events, False, None)
            return self._json(200, api.text_response(rid, served.name, jobs, len(prompt)))
        created = int(time.time())
        self._sse_start()

        def on_event(index: int, kind: str, payload: Any) -> None:
            if kind == "text":
                self._sse(api.text_chunk(rid, served.name, created, index, payload))
            elif kind == "done":
                self._sse(api.text_chunk(rid, served.name, created, index, "", payload))

        self._run_jobs(jobs, events, True, on_event)
        if s.include_usage:
            self._sse({"id": rid, "object": "text_completion", "created": created, "model": served.name,
                       "choices": [], "usage": api.usage(len(prompt), jobs)})
        self._sse_end()

    # ---- small endpoints --------------------------------------------------------------------
    def health(self, body: dict) -> None:
        self._json(200, {"status": "ok", "uptime_s": round(time.time() - self.app.started, 1),
                         "models": self.app.models.names(), **self.app.scheduler.status()})

    def list_models(self, body: dict) -> None:
        self._json(200, {"object": "list", "data": self.app.models.describe()})

    def openapi(self, body: dict) -> None:
        from chatforge.serve.openapi import SPEC

        self._json(200, SPEC)

    def info(self, body: dict) -> None:
        from chatforge.chat.prompts import ALL_TOOLS

        c = self.app.cfg
        self._json(200, {"models": self.app.models.describe(), "default_model": self.app.models.default,
                         "tools": list(ALL_TOOLS) if c.tools else [], "max_tokens": c.max_tokens,
                         "default_max_tokens": c.default_max_tokens, "max_n": c.max_n,
                         "inspect_max_tokens": c.inspect_max_tokens, "auth": bool(self.app.api_key),
                         "rankings": self.app.run_dir is not None, "reward_model": self.app.reward.available()})

    def tokenize(self, body: dict) -> None:
        from chatforge.serve.inspect import cl100k, tokens_view

        text = body.get("text")
        if not isinstance(text, str):
            raise bad("'text' must be a string.", "text")
        if len(text) > self.app.cfg.max_message_chars:
            raise bad(f"'text' is longer than {self.app.cfg.max_message_chars} characters.", "text",
                      "message_too_long")
        served = self.app.model(body.get("model"))
        self._json(200, {"chars": len(text), "bytes": len(text.encode("utf-8", "surrogatepass")),
                         "ours": tokens_view(served.tokenizer, text), "cl100k_base": tokens_view(cl100k(), text)})

    def inspect(self, body: dict) -> None:
        from chatforge.chat.render import ChatFormatError, render_prompt
        from chatforge.serve.inspect import inside

        cfg = self.app.cfg
        served = self.app.model(body.get("model"))
        tok = served.tokenizer
        if body.get("messages") is not None:
            msgs = api.messages(body, cfg)
            try:
                ids = render_prompt(msgs, tok)
            except ChatFormatError as e:
                raise bad(f"The conversation is not valid: {e}", "messages") from None
        else:
            text = body.get("text")
            if not isinstance(text, str) or not text:
                raise bad("Send 'text' (a non-empty string) or 'messages'.", "text")
            if len(text) > cfg.max_message_chars:
                raise bad(f"'text' is longer than {cfg.max_message_chars} characters.", "text", "message_too_long")
            ids = [tok.special("<|endoftext|>")] + tok.encode(text)
        limit = min(cfg.inspect_max_tokens, served.context)
        out = inside(served.model, tok, ids[:limit])
        out.update(truncated=len(ids) > limit, model=served.name)
        self._json(200, out)

    def reward(self, body: dict) -> None:
        self._json(200, self.app.reward.score(body, self.app.cfg.max_message_chars))

    def rank(self, body: dict) -> None:
        from chatforge.rlhf import rankings
        from chatforge.serve.rankings import check

        if self.app.run_dir is None:
            raise bad("This server has no run directory to save rankings in (start it with --run-dir).")
        rec = check(body, self.app.cfg.max_message_chars)
        served = self.app.model(body.get("model"))
        path = rankings.append(self.app.run_dir, {"model": served.name,
                                                  "checkpoint": served.meta.get("checkpoint"),
                                                  "source": "web", **rec})
        self._json(200, {"saved": True, "count": len(rankings.read(self.app.run_dir)), "file": str(path)})


    def arena_pair(self, body: dict) -> None:
        from chatforge.arena import web

        self._json(200, web.pair(self.app.run_dir))

    def arena_vote(self, body: dict) -> None:
        from chatforge.arena import web

        self._json(200, web.vote(self.app.run_dir, body))


ROUTES: dict[tuple[str, str], Callable[[Handler, dict], None]] = {
    ("GET", "/health"): Handler.health,
    ("GET", "/v1/models"): Handler.list_models,
    ("POST", "/v1/chat/completions"): Handler.chat_completions,
    ("POST", "/v1/completions"): Handler.completions,
    ("GET", "/openapi.json"): Handler.openapi,
    ("GET", "/api/info"): Handler.info,
    ("POST", "/api/tokenize"): Handler.tokenize,
    ("POST", "/api/inspect"): Handler.inspect,
    ("POST", "/api/rank"): Handler.rank,
    ("POST", "/api/reward"): Handler.reward,
    ("GET", "/api/arena/pair"): Handler.arena_pair,
    ("POST", "/api/arena/vote"): Handler.arena_vote,
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(app: App, host: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"app": app})
    try:
        return Server((host, port), handler)
    except OSError as e:
        from chatforge.core.errors import UserError

        raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e}).") from None


def start_in_thread(app: App, host: str = "127.0.0.1", port: int = 0) -> tuple[Server, str]:
    """For tests and benchmarks: serve in a background thread; returns (server, base URL)."""
    srv = make_server(app, host, port)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    h, p = srv.server_address[:2]
    return srv, f"http://{h}:{p}"
