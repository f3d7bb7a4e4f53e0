"""What every route shares: config, models, the scheduler, the tools, the reward model; and who may ask.

One `App` per server. Routes get it through the `AppDep` dependency (it hangs on the FastAPI
application's `state`), and every API route depends on `require_key`: with `--api-key K` a
request must carry `Authorization: Bearer K` (compared in constant time).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chatforge.chat.prompts import ALL_TOOLS
from chatforge.serve.config import ServeConfig
from chatforge.serve.errors import ApiError
from chatforge.serve.models import ModelNotFound, Models, ServedModel
from chatforge.serve.reward import RewardScorer
from chatforge.serve.scheduler import Scheduler
from chatforge.tools import make_executor


class App:
    def __init__(self, cfg: ServeConfig, models: Models, run_dir: Path | None = None,
                 api_key: str | None = None, log: Callable[[str], None] | None = None):
        cfg.validate()
        self.cfg, self.models, self.run_dir, self.api_key = cfg, models, run_dir, api_key
        self.log = log or (lambda s: None)
        self.scheduler = Scheduler(cfg.concurrency, cfg.queue_size, cfg.min_steps_before_merge, self.log)
        self.reward = RewardScorer(run_dir)
        self.started = time.time()
        self._executor: Callable[[str, str], str] | None = None
        self._guards: dict[tuple[str, ...], Callable[[str, str], str]] = {}
        self._exec_lock = threading.Lock()

    def executor_for(self, allowed: tuple[str, ...]) -> Callable[[str, str], str]:
        """The tool hook for conversations whose system prompt allows `allowed` (the same object
        for the same set, so such requests can share a batch)."""
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

    def _tools(self) -> Callable[[str, str], str]:
        with self._exec_lock:
            if self._executor is None:  # opening the search index waits for the first tool call
                self._executor = make_executor(self.run_dir)
            return self._executor

    def model(self, name: str | None) -> ServedModel:
        """The named model (loaded on first use: call this off the event loop), or a 404."""
        try:
            return self.models.get(name)
        except ModelNotFound:
            raise ApiError(404, f"The model '{name}' does not exist here; available: "
                           f"{', '.join(self.models.names())}.", param="model",
                           code="model_not_found") from None

    def close(self) -> None:
        self.scheduler.close()


def get_app(request: Request) -> App:
    return request.app.state.chatforge


AppDep = Annotated[App, Depends(get_app)]

_bearer = HTTPBearer(auto_error=False, description="the server's --api-key, when it was started with one")


def require_key(app: AppDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    key = app.api_key
    if not key:
        return
    if creds is None or not hmac.compare_digest(creds.credentials.strip().encode(), key.encode()):
        raise ApiError(401, "Missing or wrong API key (send 'Authorization: Bearer KEY').",
                       code="invalid_api_key")
