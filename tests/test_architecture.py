"""The code's shape, checked: lint, the import graph, lazy imports with reasons, short functions,
a light command line, stage declarations, and a README that stays a map."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from chatforge.core.errors import UserError
from chatforge.core.stage import Pipeline, Stage
from chatforge.pipeline import PIPELINE

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "chatforge"
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        name = ".".join(p.relative_to(REPO).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, ast.AST, bool]]:
    """(imported chatforge module, node, inside a function) for every import of chatforge code."""
    tree = ast.parse(path.read_text())
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                       for a in node.names]
        else:
            continue
        for t in targets:
            if t.split(".")[0] == "chatforge":
                out.append((t, node, id(node) in inside))
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


GRAPH = {m: {t for t, _, _ in _imports(m, p)} for m, p in MODULES.items()}


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    r = subprocess.run([ruff, "check", "chatforge", "tests", "bench"], cwd=REPO, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1000:]


def test_packages_have_no_two_way_ties():
    edges = defaultdict(set)
    for m, targets in GRAPH.items():
        for t in targets:
            a, b = _package(m), _package(t)
            if a != b:
                edges[a].add(b)
    ties = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())})
    assert not ties, ties


def test_packages_form_layers():
    """No package reaches itself through others either: the packages are layers, lowest first."""
    edges = defaultdict(set)
    for m, targets in GRAPH.items():
        for t in targets:
            if _package(m) != _package(t):
                edges[_package(m)].add(_package(t))
    done: set[str] = set()

    def below(p: str, path: tuple[str, ...]) -> None:
        assert p not in path, " -> ".join((*path, p))
        if p not in done:
            for q in edges.get(p, ()):
                below(q, (*path, p))
            done.add(p)

    for p in list(edges):
        below(p, ())


def test_no_file_imports_itself_through_others():
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in MODULES or v.startswith(w + "."):  # a module imports its own package's __init__
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in MODULES:
        if m not in index:
            visit(m)
    assert not cycles, cycles


def test_core_names_no_stage():
    for m, targets in GRAPH.items():
        if _package(m) == "core":
            assert all(_package(t) == "core" for t in targets), (m, sorted(targets))


def test_every_import_inside_a_function_says_why():
    found = []
    for m, path in MODULES.items():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for f in ast.walk(tree):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for n in ast.walk(f):
                    if isinstance(n, (ast.Import, ast.ImportFrom)):
                        line = lines[n.lineno - 1]
                        reason = line.partition("# noqa: PLC0415 - ")[2].strip()
                        found.append((m, n.lineno, reason))
    missing = [(m, ln) for m, ln, why in found if not why]
    assert not missing, missing
    print(f"\n{len(found)} imports inside functions:")
    for why in sorted({w for _, _, w in found}):
        print(f"  {sum(1 for *_, w in found if w == why):3d}  {why}")


def test_functions_are_short():
    long = []
    for m, path in MODULES.items():
        for f in ast.walk(ast.parse(path.read_text())):
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = f.end_lineno - f.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append((m, f.name, n))
    assert not long, long


def test_the_command_line_starts_without_torch():
    code = ("import sys, chatforge.cli; "
            "heavy = {'torch', 'trafilatura', 'datatrove', 'transformers'} & set(sys.modules);"
            " assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_pipeline_is_its_stages_declarations():
    names = PIPELINE.names
    assert names[0] == "world" and names[-2:] == ["eval", "report"]
    for s in PIPELINE:
        assert callable(s.run) and all(sec in PIPELINE.sections for sec in s.sections)
    assert {"world", "model", "pretrain", "sft", "rl", "serve", "eval"} <= set(PIPELINE.sections)
    assert len(PIPELINE.reports) >= 12  # every stage's sections of the report card, and the arena's
    with pytest.raises(UserError, match="unknown stage 'sfft'"):
        PIPELINE.stage("sfft")


def test_a_misspelled_stage_name_is_an_error():
    def run(ctx):
        return {}

    with pytest.raises(ValueError, match="needs 'wrld'"):
        Pipeline([Stage("world", run), Stage("data", run, needs=("wrld",))])
    with pytest.raises(ValueError, match="twice"):
        Pipeline([Stage("world", run), Stage("world", run)])
    with pytest.raises(ValueError, match="nothing owns"):
        Pipeline([Stage("world", run, decides=("wrld",))])


def test_the_readme_is_a_map():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 120, len(lines)
    table = [ln for ln in lines if ln.startswith("|")]
    assert max(len(ln) for ln in table) <= 300  # short cells: details live in docs/results.md
