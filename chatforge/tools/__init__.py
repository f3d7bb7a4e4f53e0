"""Tools the model calls mid-answer: a calculator, sandboxed Python, and local search.

The engine calls `make_executor(run_dir, enabled)(tool, input) -> str`; people call
`chatforge tools run calculator|python|search`; the tools stage builds the search index.
"""

from chatforge.tools.config import TOOL_NAMES, ToolsConfig
from chatforge.tools.registry import ToolResult, index_path, make_executor, run_tool

__all__ = ["TOOL_NAMES", "ToolsConfig", "ToolResult", "index_path", "make_executor", "run_tool"]
