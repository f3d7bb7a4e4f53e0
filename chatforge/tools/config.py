"""The "tools" config section: which tools exist and the bounds each one runs under."""

from __future__ import annotations

from dataclasses import dataclass, field

TOOL_NAMES = ("calculator", "python", "search")


@dataclass
class ToolsConfig:
    enabled: list[str] = field(default_factory=lambda: list(TOOL_NAMES))
    # calculator: bounds on the input and on every intermediate value
    calc_max_chars: int = 200
    calc_max_depth: int = 32  # nesting of the parsed expression
    calc_max_digits: int = 100  # any exact intermediate value, in decimal digits
    calc_max_exponent: int = 1000  # |exponent| of an exact integer power
    # python sandbox
    python_timeout_s: float = 5.0  # wall clock, whole process group killed
    python_cpu_s: int = 3  # RLIMIT_CPU
    python_memory_mb: int = 512  # RLIMIT_AS (address space, not resident memory)
    python_file_mb: int = 8  # RLIMIT_FSIZE: largest file the code may write
    python_max_procs: int = 8  # RLIMIT_NPROC, counted for the sandbox's own uid when we are root
    python_max_open_files: int = 64  # RLIMIT_NOFILE
    python_max_output: int = 4000  # bytes of stdout+stderr kept; more kills the process
    # search
    search_top_k: int = 2
    search_snippet_chars: int = 300
    search_max_terms: int = 32
    # what the model sees: a tool result longer than this is cut (the engine's context is small)
    result_max_chars: int = 800
