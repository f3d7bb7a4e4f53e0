"""Tools the model calls mid-answer: a calculator, sandboxed Python, and local search.

The engine calls `make_executor(run_dir, enabled)(tool, input) -> str`; people call
`chatforge tools run calculator|python|search`; the tools stage builds the search index.
"""

from chatforge.core.stage import Stage
from chatforge.tools.checks import checks
from chatforge.tools.config import TOOL_NAMES, ToolsConfig
from chatforge.tools.registry import ToolResult, index_path, make_executor, run_tool


def _run(ctx) -> dict:
    from chatforge.tools.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("tools", _run, config={"tools": ToolsConfig}, needs=("world", "data"), checks=checks)

__all__ = ["STAGE", "TOOL_NAMES", "ToolResult", "ToolsConfig", "index_path", "make_executor", "run_tool"]
