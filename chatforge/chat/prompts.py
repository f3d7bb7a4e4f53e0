"""The system prompt that switches tools on and off.

One format, used by the SFT mixture (so the model learns to obey it), the terminal chat, the
server and the evaluation:

    [optional instructions]\\n
    Tools: calculator, python, search.      (tools on: the model may call them)
    Tools: none.                            (tools off: the model answers without calls)

A conversation with no system message is treated as tools off: the mixture trains plain
questions both with no system message and with "Tools: none.", and tool use only where the
system prompt lists the tools.
"""

from __future__ import annotations

from typing import Any

ALL_TOOLS = ("calculator", "python", "search")
TOOLS_PREFIX = "Tools: "


def tools_line(tools: bool | list[str] | tuple[str, ...]) -> str:
    if tools is True:
        tools = ALL_TOOLS
    if not tools:
        return TOOLS_PREFIX + "none."
    return TOOLS_PREFIX + ", ".join(tools) + "."


def system_prompt(tools: bool | list[str] | tuple[str, ...], instructions: str | None = None) -> str:
    line = tools_line(tools)
    return f"{instructions.strip()}\n{line}" if instructions and instructions.strip() else line


def enabled_tools(messages: list[dict[str, Any]]) -> list[str]:
    """The tools a conversation's system prompt allows (none without a system prompt)."""
    for m in messages:
        if m.get("role") == "system" and isinstance(m.get("content"), str):
            for line in reversed(m["content"].splitlines()):
                if line.startswith(TOOLS_PREFIX):
                    names = line[len(TOOLS_PREFIX):].rstrip(".").split(",")
                    return [n.strip() for n in names if n.strip() and n.strip() != "none"]
    return []
