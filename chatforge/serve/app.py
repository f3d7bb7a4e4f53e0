"""The HTTP server: the OpenAI-compatible API, the web page and its endpoints, on FastAPI and uvicorn.

`create_app(App)` assembles the FastAPI application: the routes (routes_openai.py, routes_page.py,
routes_rank.py), OpenAI-shaped errors for everything (errors.py), and the request limits
(limits.py). `Server` runs it on uvicorn with chatforge's h11 protocol, on a socket it binds
itself, so a busy port is one clear sentence and port 0 gets a free one; `start_in_thread` does
that in the background for tests and benchmarks.

Generation is synchronous PyTorch on the scheduler's one thread (scheduler.py); the event loop
only checks, queues and streams (bridge.py), so one uvicorn worker is the whole server.
"""

from __future__ import annotations

import gc
import socket
import threading

import uvicorn
from fastapi import FastAPI

from chatforge.core.errors import UserError
from chatforge.serve import errors, routes_openai, routes_page, routes_rank
from chatforge.serve.limits import Protocol, RequestLimits
from chatforge.serve.state import App

__all__ = ["App", "Server", "create_app", "start_in_thread"]

DESCRIPTION = ("OpenAI-compatible chat and text completions for chatforge models, and the web page's "
               "token, inspection, reward and ranking endpoints. Errors are OpenAI's error object.")


def create_app(app: App) -> FastAPI:
    api = FastAPI(title="chatforge", version="1", description=DESCRIPTION, docs_url=None, redoc_url=None)
    api.state.chatforge = app
    for router in (routes_openai.public, routes_openai.router, routes_page.files, routes_page.router,
                   routes_rank.router):
        api.include_router(router)
    errors.install(api, app.log)
    api.add_middleware(RequestLimits, max_bytes=app.cfg.max_request_bytes,
                       timeout_s=app.cfg.request_timeout_s, log=app.log)
    return api


class Server:
    def __init__(self, app: App, host: str, port: int):
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            self.socket = socket.socket(family, socket.SOCK_STREAM)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            self.socket.listen(128)  # from now on connections wait in the backlog until uvicorn runs
        except OSError as e:
            raise UserError(f"cannot listen on {host}:{port} ({e.strerror or e}).") from None
        self.server_address = self.socket.getsockname()[:2]
        config = uvicorn.Config(create_app(app), http=Protocol, ws="none", lifespan="off", log_config=None,
                                access_log=False, timeout_keep_alive=app.cfg.request_timeout_s, backlog=128,
                                timeout_graceful_shutdown=5, server_header=False,
                                headers=[("server", "chatforge")])
        self.uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        """Until Ctrl-C (or SIGTERM): uvicorn finishes the requests in flight, then returns."""
        # What is loaded by now (torch, the model, the app) lives as long as the server: frozen, it
        # is out of the garbage collector's full collections, which would otherwise walk all of
        # it and stop every stream meanwhile (FastAPI's allocations make them come often).
        gc.collect()
        gc.freeze()
        self.uvicorn.run(sockets=[self.socket])

    def start(self) -> None:
        """In a background thread (tests, benchmarks), without freezing the caller's objects."""
        self._thread = threading.Thread(target=self.uvicorn.run, kwargs={"sockets": [self.socket]},
                                        name="chatforge-http", daemon=True)
        self._thread.start()
        while not self.uvicorn.started and self._thread.is_alive():
            self._thread.join(0.01)

    def shutdown(self) -> None:
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.socket.close()


def start_in_thread(app: App, host: str = "127.0.0.1", port: int = 0) -> tuple[Server, str]:
    """For tests and benchmarks: serve in a background thread; returns (server, base URL)."""
    srv = Server(app, host, port)
    srv.start()
    h, p = srv.server_address
    return srv, f"http://[{h}]:{p}" if ":" in h else f"http://{h}:{p}"
