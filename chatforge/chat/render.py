"""The chat format: ChatML conversations -> token ids plus a loss mask.

This one renderer is used for SFT (ids + mask), inference (`render_prompt`), serving and the
exports (whose Jinja template in `template.py` produces exactly `render_text`).

    <|endoftext|><|im_start|>system\n{text}<|im_end|>\n
    <|im_start|>user\n{text}<|im_end|>\n
    <|im_start|>assistant\n{segments}<|im_end|>\n

Assistant segments are plain text, `<|tool_call|>{tool}\n{input}<|/tool_call|>` and
`<|tool_result|>{output}<|/tool_result|>`. The loss mask is 1 exactly on what the assistant
writes itself: its text, its tool-call spans (markers included) and its closing `<|im_end|>`.
Headers, the newline after `<|im_end|>`, other roles and tool results (which the engine
force-feeds) are 0.

Special ids come only from `tokenizer.special(name)`; every piece of text goes through
`tokenizer.encode`, which never yields a special id, so a user who types "<|im_end|>" gets the
characters, not the token. The conversation starts with `<|endoftext|>` (the BOS the base model
saw at every document start), so packed conversations look like packed pretraining documents.

An OpenAI-style `{"role": "tool", "content": ...}` message is accepted: it is folded into the
assistant turn before it as a tool_result segment, and an assistant message right after it
continues that same turn. That is the "tool role" of this format: tool output lives inside the
assistant turn that asked for it, which is what the engine produces during generation.

An imported model (chatforge.importer) brings its own ChatML variant, recorded in
`tokenizer.chat`: "bos": false when its template does not start with <|endoftext|> (SmolLM2,
Qwen3), "default_system": the system prompt its template adds when a conversation has none. Its
vocabulary may lack the tool markers; then the model simply has no tools (`optional_specials`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BOS = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
CALL_OPEN, CALL_CLOSE = "<|tool_call|>", "<|/tool_call|>"
RESULT_OPEN, RESULT_CLOSE = "<|tool_result|>", "<|/tool_result|>"
ROLES = ("system", "user", "assistant")
TOOLS = ("calculator", "python", "search")


class ChatFormatError(ValueError):
    """A conversation that does not follow the format (unknown role, bad segment, ...)."""


@dataclass
class Rendered:
    ids: list[int]
    mask: list[int]  # 1 where the assistant's own tokens are (the SFT loss targets)

    def __len__(self) -> int:
        return len(self.ids)


def normalize(messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate messages and fold tool-role messages into the assistant turn before them.

    Returns a new list in which every assistant content is a list of segments."""
    out: list[dict[str, Any]] = []
    continuing = False  # the previous message was a tool result: the assistant turn goes on
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ChatFormatError(f"message {i} is not an object.")
        role, content = m.get("role"), m.get("content")
        if role == "tool":
            if not out or out[-1]["role"] != "assistant":
                raise ChatFormatError(f"message {i}: a tool message must follow an assistant message.")
            if not isinstance(content, str):
                raise ChatFormatError(f"message {i}: tool content must be a string.")
            out[-1]["content"].append({"type": "tool_result", "output": content})
            continuing = True
            continue
        if role not in ROLES:
            raise ChatFormatError(f"message {i}: unknown role {role!r} "
                                  "(roles: system, user, assistant, tool).")
        if role == "assistant":
            segs = _segments(content, i)
            if continuing:
                out[-1]["content"].extend(segs)
            else:
                out.append({"role": "assistant", "content": segs})
        else:
            if not isinstance(content, str):
                raise ChatFormatError(f"message {i}: {role} content must be a string.")
            out.append({"role": role, "content": content})
        continuing = False
    return out


def _segments(content: Any, i: int) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise ChatFormatError(f"message {i}: assistant content must be a string or a list of segments.")
    segs = []
    for s in content:
        kind = s.get("type") if isinstance(s, dict) else None
        if kind == "text" and isinstance(s.get("text"), str):
            segs.append({"type": "text", "text": s["text"]})
        elif kind == "tool_call" and isinstance(s.get("tool"), str) and isinstance(s.get("input"), str):
            if not s["tool"] or "\n" in s["tool"]:
                raise ChatFormatError(f"message {i}: a tool name must be one non-empty line.")
            segs.append({"type": "tool_call", "tool": s["tool"], "input": s["input"]})
        elif kind == "tool_result" and isinstance(s.get("output"), str):
            segs.append({"type": "tool_result", "output": s["output"]})
        else:
            raise ChatFormatError(f"message {i}: bad assistant segment {s!r}.")
    return segs


def _pieces(messages: list[dict[str, Any]], generation_prompt: bool, bos: bool = True):
    """The conversation as (kind, text, trained) pieces; kind is 'special' or 'text'.

    Both `render` (ids) and `render_text` (string) walk this one list, so they cannot drift."""
    if bos:
        yield "special", BOS, False
    for m in messages:
        yield "special", IM_START, False
        yield "text", m["role"] + "\n", False
        if m["role"] != "assistant":
            if m["content"]:
                yield "text", m["content"], False
            yield "special", IM_END, False
            yield "text", "\n", False
            continue
        for s in m["content"]:
            if s["type"] == "text":
                if s["text"]:
                    yield "text", s["text"], True
            elif s["type"] == "tool_call":
                yield "special", CALL_OPEN, True
                yield "text", f"{s['tool']}\n{s['input']}", True
                yield "special", CALL_CLOSE, True
            else:
                yield "special", RESULT_OPEN, False
                if s["output"]:
                    yield "text", s["output"], False
                yield "special", RESULT_CLOSE, False
        yield "special", IM_END, True
        yield "text", "\n", False
    if generation_prompt:
        yield "special", IM_START, False
        yield "text", "assistant\n", False


def render(messages: Iterable[dict[str, Any]], tokenizer, generation_prompt: bool = False) -> Rendered:
    """Token ids and loss mask of a whole conversation (for training)."""
    ids: list[int] = []
    mask: list[int] = []
    chat = getattr(tokenizer, "chat", None) or {}
    msgs = normalize(messages)
    if chat.get("default_system") and not (msgs and msgs[0]["role"] == "system"):
        msgs.insert(0, {"role": "system", "content": chat["default_system"]})
    for kind, text, trained in _pieces(msgs, generation_prompt, bos=chat.get("bos", True)):
        if kind == "special":
            try:
                piece = [tokenizer.special(text)]
            except KeyError:
                raise ChatFormatError(f"this model's tokenizer has no {text} token "
                                      "(it has no tools).") from None
        else:
            piece = tokenizer.encode(text)
        ids.extend(piece)
        mask.extend([int(trained)] * len(piece))
    return Rendered(ids, mask)


def render_prompt(messages: Iterable[dict[str, Any]], tokenizer) -> list[int]:
    """Ids to feed the engine: the conversation so far, then `<|im_start|>assistant\\n`.

    A trailing assistant message (e.g. a partial answer) is rendered as a closed turn, so to
    continue a partial answer pass it through `render(...)` yourself."""
    return render(messages, tokenizer, generation_prompt=True).ids


def render_text(messages: Iterable[dict[str, Any]], generation_prompt: bool = False) -> str:
    """The conversation as text with the special tokens spelled out (what the template yields)."""
    return "".join(text for _, text, _ in _pieces(normalize(messages), generation_prompt))


def stop_ids(tokenizer) -> list[int]:
    """Tokens that end an assistant turn during generation."""
    return list(optional_specials(tokenizer, (IM_END, BOS)))


def optional_specials(tokenizer, names: Iterable[str]) -> dict[int, str]:
    """{id: name} for those of `names` the tokenizer has (an imported vocabulary may lack the
    tool markers)."""
    out = {}
    for n in names:
        try:
            out[tokenizer.special(n)] = n
        except KeyError:
            pass
    return out


def assistant_text(segments: list[dict[str, Any]]) -> str:
    """The plain text the assistant wrote (tool calls and results left out)."""
    return "".join(s["text"] for s in segments if s.get("type") == "text")


def parse_assistant(ids: list[int], tokenizer) -> list[dict[str, Any]]:
    """Generated assistant ids (up to, not including, `<|im_end|>`) back into segments."""
    sp = optional_specials(tokenizer, (CALL_OPEN, CALL_CLOSE, RESULT_OPEN, RESULT_CLOSE, IM_END))
    segs: list[dict[str, Any]] = []
    state, buf = "text", []

    def flush() -> None:
        text = tokenizer.decode(buf) if buf else ""
        if state == "text" and text:
            segs.append({"type": "text", "text": text})
        elif state == "call":
            tool, _, inp = text.partition("\n")
            segs.append({"type": "tool_call", "tool": tool, "input": inp})
        elif state == "result":
            segs.append({"type": "tool_result", "output": text})
        buf.clear()

    for t in ids:
        name = sp.get(t)
        if name == IM_END:
            break
        if name == CALL_OPEN:
            flush()
            state = "call"
        elif name == RESULT_OPEN:
            flush()
            state = "result"
        elif name in (CALL_CLOSE, RESULT_CLOSE):
            flush()
            state = "text"
        elif not tokenizer.is_special(t):
            buf.append(t)
    flush()  # an unfinished call or result still shows what was written
    return segs
