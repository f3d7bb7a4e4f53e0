"""A chat session: the conversation so far, the settings, and one assistant turn at a time.

Used by the terminal chat (and usable by anything else that wants a stateful conversation).
Generation goes through the one engine; tool calls the model writes are executed by the
executor the session was given, but only for tools the system prompt switched on: a call to a
switched-off tool gets an error result instead (the model was trained not to make such calls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chatforge.chat.prompts import ALL_TOOLS, enabled_tools, system_prompt
from chatforge.chat.turns import stream_turn
from chatforge.engine import Engine
from chatforge.engine.sampling import SamplingParams


@dataclass
class Settings:
    temperature: float = 0.0  # 0 = greedy
    top_k: int = 0
    top_p: float = 1.0
    max_new_tokens: int = 256
    tools: bool = True
    instructions: str | None = None  # the user's own system text (above the tools line)
    seed: int | None = None


@dataclass
class Session:
    model: Any  # a GPT or a chatforge.engine.Engine
    tokenizer: Any
    executor: Callable[[str, str], str] | None = None  # (tool, input) -> output
    settings: Settings = field(default_factory=Settings)
    history: list[dict[str, Any]] = field(default_factory=list)  # user/assistant messages

    def reset(self) -> None:
        self.history.clear()

    def messages(self) -> list[dict[str, Any]]:
        s = self.settings
        return [{"role": "system", "content": system_prompt(s.tools, s.instructions)}, *self.history]

    def _guarded_executor(self, allowed: list[str]) -> Callable[[str, str], str]:
        def run(tool: str, inp: str) -> str:
            if tool not in allowed:
                return (f"error: the {tool} tool is switched off" if tool in ALL_TOOLS
                        else f"error: no tool named {tool}")
            if self.executor is None:
                return "error: no tools are available here"
            return self.executor(tool, inp)
        return run

    def ask(self, text: str, on_text: Callable[[str], None] | None = None,
            on_event: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
        """Add a user message, generate the assistant turn, and return its segments.

        on_text(str) receives the answer text as it streams; on_event(segment) receives each
        tool_call and tool_result segment as soon as it is complete."""
        if not isinstance(self.model, Engine):
            self.model = Engine(self.model, self.tokenizer)
        self.history.append({"role": "user", "content": text})
        msgs = self.messages()
        s = self.settings
        segs = stream_turn(self.model, self.tokenizer, msgs,
                           executor=self._guarded_executor(enabled_tools(msgs)),
                           max_new_tokens=s.max_new_tokens,
                           sampling=SamplingParams(s.temperature, s.top_k or None, s.top_p), seed=s.seed,
                           on_text=on_text, on_event=on_event)
        self.history.append({"role": "assistant", "content": segs})
        return segs
