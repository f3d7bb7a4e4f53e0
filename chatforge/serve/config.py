"""The "serve" config section: where the server listens and the limits every request meets."""

from __future__ import annotations

from dataclasses import dataclass

from chatforge.core.errors import UserError


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"  # localhost only; "0.0.0.0" exposes the server to the network
    port: int = 8000
    max_request_bytes: int = 1_000_000  # request bodies larger than this get 413
    max_message_chars: int = 20_000  # one message's content; longer gets 400
    max_messages: int = 200
    max_tokens: int = 512  # the largest max_tokens a request may ask for
    default_max_tokens: int = 256  # when a request does not say
    context_length: int = 0  # 0 = the model's max_seq_len; prompt + answer must fit in it
    max_n: int = 4  # most samples per request (the ranking view asks for 2-4)
    concurrency: int = 8  # sequences generated together in one batch
    queue_size: int = 64  # requests waiting beyond that get 429
    min_steps_before_merge: int = 16  # a running batch takes in waiting requests after this many steps
    max_loaded_models: int = 2  # checkpoints kept in memory at once (the page can switch)
    inspect_max_tokens: int = 64  # the "inside the model" view's longest input
    threads: int = 1  # torch threads for generation: 1 beats 2+ for small models on a shared CPU
    # (docs/serve.md has the measurement); 0 = run.threads / torch's default
    tools: bool = True  # run calculator/python/search when a conversation's system prompt allows
    request_timeout_s: float = 30.0  # idle socket timeout (a stalled client is dropped)

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UserError(f"serve.port must be 0-65535, got {self.port}.")
        for name in ("max_request_bytes", "max_message_chars", "max_messages", "max_tokens",
                     "default_max_tokens", "max_n", "concurrency", "queue_size", "max_loaded_models",
                     "inspect_max_tokens"):
            if getattr(self, name) < 1:
                raise UserError(f"serve.{name} must be at least 1, got {getattr(self, name)}.")
        if self.default_max_tokens > self.max_tokens:
            raise UserError("serve.default_max_tokens must not exceed serve.max_tokens.")
        if self.context_length < 0:
            raise UserError("serve.context_length must be 0 (the model's) or positive.")
