"""Generated token ids -> the events a client sees, one token at a time.

Chat output is a sequence of segments (see chatforge/chat/render.py): text, then maybe
`<|tool_call|>tool\\ninput<|/tool_call|>` and a force-fed `<|tool_result|>...<|/tool_result|>`,
then more text. The decoder turns ids into ("text", str), ("tool_call", {...}) and
("tool_result", {...}) events as they happen, so a streaming client sees tool calls live.

Text is decoded with an incremental UTF-8 decoder (a token can end inside a character), and
when the request has `stop` strings the last few characters are held back until it is clear
they do not start a stop string, so a stop string is never sent, not even half of it.
"""

from __future__ import annotations

import codecs
from typing import Any

CALL_OPEN, CALL_CLOSE = "<|tool_call|>", "<|/tool_call|>"
RESULT_OPEN, RESULT_CLOSE = "<|tool_result|>", "<|/tool_result|>"


class OutputDecoder:
    def __init__(self, tokenizer, chat: bool, stop: list[str] | None = None):
        self.tok = tokenizer
        self.chat = chat
        self.stop = [s for s in (stop or []) if s]
        self.hold = max((len(s) for s in self.stop), default=1) - 1
        self.markers = {tokenizer.special(n): n for n in (CALL_OPEN, CALL_CLOSE, RESULT_OPEN, RESULT_CLOSE)
                        if n in tokenizer.special_tokens} if chat else {}
        self.state = "text"
        self.buf: list[int] = []  # ids of the tool call / result being read
        self.dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""  # decoded text not yet sent (held back for stop strings)
        self.segments: list[dict[str, Any]] = []
        self.stopped = False  # a stop string was found

    def feed(self, token: int) -> list[tuple[str, Any]]:
        """Events produced by one more token (special tokens other than the tool markers are dropped)."""
        if self.stopped:
            return []
        marker = self.markers.get(token)
        if marker is not None:
            return self._marker(marker)
        if self.tok.is_special(token):
            return []
        if self.state != "text":
            self.buf.append(token)
            return []
        return self._text(self.dec.decode(self.tok.id_to_bytes(token)))

    def _marker(self, marker: str) -> list[tuple[str, Any]]:
        events = self.flush_text() if self.state == "text" else []
        if marker == CALL_OPEN:
            self.state, self.buf = "call", []
        elif marker == RESULT_OPEN:
            self.state, self.buf = "result", []
        elif self.state == "call" and marker == CALL_CLOSE:
            tool, _, inp = self.tok.decode(self.buf).partition("\n")
            seg = {"type": "tool_call", "tool": tool, "input": inp}
            self.segments.append(seg)
            events.append(("tool_call", seg))
            self.state = "text"
        elif self.state == "result" and marker == RESULT_CLOSE:
            seg = {"type": "tool_result", "output": self.tok.decode(self.buf)}
            self.segments.append(seg)
            events.append(("tool_result", seg))
            self.state = "text"
        return events

    def _text(self, piece: str) -> list[tuple[str, Any]]:
        if not piece:
            return []
        self.pending += piece
        if self.stop:
            hits = [i for i in (self.pending.find(s) for s in self.stop) if i >= 0]
            if hits:
                out = self.pending[: min(hits)]
                self.pending = ""
                self.stopped = True
                return self._emit(out)
            cut = len(self.pending) - self.hold
            if cut <= 0:
                return []
            out, self.pending = self.pending[:cut], self.pending[cut:]
            return self._emit(out)
        out, self.pending = self.pending, ""
        return self._emit(out)

    def _emit(self, text: str) -> list[tuple[str, Any]]:
        if not text:
            return []
        if self.segments and self.segments[-1]["type"] == "text":
            self.segments[-1]["text"] += text
        else:
            self.segments.append({"type": "text", "text": text})
        return [("text", text)]

    def flush_text(self) -> list[tuple[str, Any]]:
        """Everything held back, at the end of the output or before a tool call."""
        out = self.pending + self.dec.decode(b"", final=True)
        self.pending = ""
        self.dec.reset()
        return self._emit(out)

    def finish(self) -> list[tuple[str, Any]]:
        if self.stopped:
            return []
        events = self.flush_text() if self.state == "text" else []
        if self.state != "text" and self.buf:  # cut off inside a call/result: show what there is
            text = self.tok.decode(self.buf)
            if self.state == "call":
                tool, _, inp = text.partition("\n")
                seg = {"type": "tool_call", "tool": tool, "input": inp}
            else:
                seg = {"type": "tool_result", "output": text}
            self.segments.append(seg)
            events.append((seg["type"], seg))
            self.state, self.buf = "text", []
        return events

    @property
    def text(self) -> str:
        return "".join(s["text"] for s in self.segments if s["type"] == "text")
