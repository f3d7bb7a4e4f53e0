"""One door to every tool: `run_tool` returns a ToolResult; `make_executor` gives the engine its
`executor(tool, input) -> str` hook, with disabled or unknown tools answered, never raised."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from chatforge.core.atomic import read_json
from chatforge.core.errors import UserError
from chatforge.tools.calculator import CalcError, CalcLimit, evaluate
from chatforge.tools.config import TOOL_NAMES, ToolsConfig
from chatforge.tools.sandbox import SandboxLimits, run_python
from chatforge.tools.search import SearchIndex, format_hits

INDEX_NAME = "search.sqlite"


@dataclass
class ToolResult:
    ok: bool
    output: str
    error: str | None = None
    limit: str | None = None  # which bound stopped the tool (python: timeout, cpu, memory, ...)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    def text(self, max_chars: int = 800) -> str:
        """What the model reads between <|tool_result|> markers: the output, then the error."""
        parts = [self.output] if self.output else []
        if not self.ok:
            parts.append(f"Error: {self.error or 'failed'}")
        s = "\n".join(parts) if parts else "(no output)"
        return s if len(s) <= max_chars else s[: max_chars - 12] + " [truncated]"


def index_path(run_dir_or_index: str | Path) -> Path:
    """A run directory's index file, or the path itself when it names a file."""
    p = Path(run_dir_or_index)
    if p.is_dir():
        return p / "tools" / INDEX_NAME
    return p


def _config_from_run(run_dir_or_index: str | Path | None) -> ToolsConfig:
    cfg = ToolsConfig()
    if run_dir_or_index is not None and Path(run_dir_or_index).is_dir():
        saved = (read_json(Path(run_dir_or_index) / "config.json") or {}).get("tools") or {}
        for k, v in saved.items():
            if hasattr(cfg, k):
                setattr(cfg, k, v)
    return cfg


_index_cache: dict[str, tuple[object, tuple[int, int]]] = {}
_index_lock = threading.Lock()


def _open_index(path: Path):
    """One shared handle per index file, reopened when the file is replaced (a re-run stage)."""

    key = str(path.resolve())
    try:
        st = path.stat()
    except OSError:
        raise UserError(f"no search index at '{path}' "
                        "(build it with `chatforge tools index --run-dir D`).") from None
    ident = (st.st_ino, st.st_mtime_ns)
    with _index_lock:
        cached = _index_cache.get(key)
        if cached is not None and cached[1] == ident:
            return cached[0]
        idx = SearchIndex(path)
        _index_cache[key] = (idx, ident)
        if cached is not None:
            cached[0].close()
        return idx


def run_tool(name: str, input: str, config: ToolsConfig | None = None,
             index: str | Path | None = None) -> ToolResult:
    """Run one tool by name. `index` is a run directory or an index file (search only)."""
    cfg = config or ToolsConfig()
    if name == "calculator":
        try:
            return ToolResult(True, evaluate(input, cfg.calc_max_chars, cfg.calc_max_depth,
                                             cfg.calc_max_digits, cfg.calc_max_exponent))
        except CalcError as e:
            return ToolResult(False, "", str(e), "bounds" if isinstance(e, CalcLimit) else None)
    if name == "python":
        r = run_python(input, SandboxLimits.from_config(cfg))
        return ToolResult(r.ok, r.output, r.error, r.limit)
    if name == "search":
        if index is None:
            return ToolResult(False, "", "no search index is configured", None)
        try:
            idx = _open_index(index_path(index))
        except UserError as e:
            return ToolResult(False, "", str(e), None)
        hits = idx.search(input, cfg.search_top_k, cfg.search_snippet_chars, cfg.search_max_terms)
        return ToolResult(True, format_hits(hits))
    return ToolResult(False, "", f"unknown tool '{name}' (tools: {', '.join(TOOL_NAMES)})", None)


def make_executor(run_dir_or_index: str | Path | None, enabled: set[str] | None = None,
                  config: ToolsConfig | None = None) -> Callable[[str, str], str]:
    """The engine's hook: `executor(tool, input) -> str`, the text to put between result markers.

    `run_dir_or_index` is a run directory (its tools/search.sqlite and saved [tools] config are
    used) or an index file or None (no search). `enabled` limits the tools further; None means
    the config's `enabled` list. Never raises: failures come back as text the model can read.
    """
    cfg = config or _config_from_run(run_dir_or_index)
    allowed = set(cfg.enabled) if enabled is None else set(enabled) & set(TOOL_NAMES)

    def executor(tool: str, input: str) -> str:
        tool = (tool or "").strip()
        if tool not in allowed:
            return ToolResult(False, "", f"tool '{tool}' is not available").text(cfg.result_max_chars)
        try:
            res = run_tool(tool, input, cfg, run_dir_or_index)
        except Exception as e:  # a tool failure must not end the conversation
            res = ToolResult(False, "", f"{type(e).__name__}: {e}")
        return res.text(cfg.result_max_chars)

    executor.enabled = frozenset(allowed)  # type: ignore[attr-defined]
    return executor
