"""Dependency checks: a stage's packages loaded and exercised before it touches its input.

A missing or broken package is a setup failure, not a data decision: a broken extractor that
fails on every page must not let the data stage record every page as an extraction error and
call itself done. So a stage first imports what it needs *and* runs it once on a known input
(extract a tiny page, identify an English sentence, train a tiny BPE, run `print(6 * 7)` in the
sandbox); anything that fails stops the stage with one sentence naming the package and the fix
(exit 2, nothing marked complete). `chatforge doctor` runs every check.

The checks themselves live beside the stages that need them (`data/checks.py`, ...); this
module is the mechanism. The tested versions are in `constraints.txt`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from chatforge.core.errors import UserError

FIX = "pip install -e . -c constraints.txt"


class DependencyError(UserError):
    """A stage dependency that cannot be imported or does not work (exit 2 like any UserError)."""


@dataclass(frozen=True)
class Check:
    label: str  # what doctor prints
    package: str  # the pip distribution to (re)install
    run: Callable[[], None]  # raises on failure
    fix: str = ""  # the command that installs it, when not the project's own install (FIX)
    optional: bool = False  # an extra: doctor reports it missing without calling the machine broken


def imports(*modules: str) -> Callable[[], None]:
    """A check that only imports `modules` (by name: importing them is what is checked)."""
    def run() -> None:
        for m in modules:
            importlib.import_module(m)
    return run


def _torch() -> None:
    import torch  # noqa: PLC0415 - the check is that it imports

    if float(torch.ones(2) @ torch.ones(2)) != 2.0:
        raise RuntimeError("a dot product came out wrong")


TORCH = Check("torch", "torch==2.13.0", _torch)

_results: dict[str, str | None] = {}  # label -> error; a process checks each thing once


def outcome(check: Check) -> str | None:
    """None when the check passes, else its error in one line (each check runs once a process)."""
    if check.label not in _results:
        try:
            check.run()
            _results[check.label] = None
        except Exception as e:  # every failure of a dependency is reported alike
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            _results[check.label] = f"{type(e).__name__}: {msg}"[:300]
    return _results[check.label]


def problems(checks: list[Check]) -> list[tuple[Check, str]]:
    return [(c, err) for c in checks if (err := outcome(c)) is not None]


def require(what: str, checks: list[Check]) -> None:
    """Raise DependencyError (one sentence: the package, the error, the fix) if a check fails;
    `what` names the stage or command in that sentence."""
    bad = problems(checks)
    if bad:
        c, err = bad[0]
        raise DependencyError(f"the {what} stage cannot start: {c.label} does not work ({err}); "
                              f"install {c.package} at the tested version with `{c.fix or FIX}`, or see "
                              "`chatforge doctor`.")
