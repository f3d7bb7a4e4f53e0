"""`chatforge tools run ...` JSON output and error paths; the engine's executor hook."""

from __future__ import annotations

import io
import json
import sys

import pytest

from chatforge.cli import main
from chatforge.tools import ToolResult, ToolsConfig, make_executor, run_tool
from chatforge.tools import cli as tools_cli
from chatforge.tools.search import build_index

DOCS = [{"id": "a", "title": "Zora Quill",
         "text": "Zora Quill was born in 1970 in Tartu. She studied geology."},
        {"id": "b", "title": "Ivo Brandt", "text": "Ivo Brandt was born in 1955 in Quito. He studied law."}]


@pytest.fixture
def index_file(tmp_path):
    p = tmp_path / "search.sqlite"
    build_index(DOCS, p)
    return p


@pytest.fixture(autouse=True)
def _only_tools_command(monkeypatch):
    # build only this command's parser: the test is about it, not about importing every stage
    monkeypatch.setattr("chatforge.cli.COMMANDS", [tools_cli])


def _run(capsys, argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_calculator_json(capsys):
    rc, out, _ = _run(capsys, ["tools", "run", "calculator", "12", "*", "(3", "+", "4)"])
    assert rc == 0 and json.loads(out) == {"ok": True, "output": "84", "error": None, "limit": None}
    rc, out, _ = _run(capsys, ["tools", "run", "calculator", "1/0"])
    assert rc == 1 and json.loads(out)["error"] == "division by zero"
    rc, out, _ = _run(capsys, ["tools", "run", "calculator", "9**9**9"])
    assert rc == 1 and json.loads(out)["limit"] == "bounds"


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")
def test_python_reads_stdin(capsys, monkeypatch):
    rc, out, _ = _run(capsys, ["tools", "run", "python"], "print(len('mississippi'))\n", monkeypatch)
    assert rc == 0 and json.loads(out)["output"] == "11"
    rc, out, _ = _run(capsys, ["tools", "run", "python", "--set", "tools.python_max_output=100"],
                      "print('y' * 1000)", monkeypatch)
    res = json.loads(out)
    assert rc == 1 and res["limit"] == "output" and res["ok"] is False
    rc, out, err = _run(capsys, ["tools", "run", "python"], "  \n", monkeypatch)
    assert rc == 2 and "empty input" in err and out == ""
    rc, _, err = _run(capsys, ["tools", "run", "python", "print(1)"])
    assert rc == 2 and "stdin" in err


def test_search_json_and_errors(capsys, index_file, tmp_path):
    rc, out, _ = _run(capsys, ["tools", "run", "search", "--index", str(index_file),
                               "where", "was", "Zora", "Quill", "born?"])
    res = json.loads(out)
    assert rc == 0 and res["ok"] and "Tartu" in res["output"].splitlines()[0]
    rc, out, _ = _run(capsys, ["tools", "run", "search", "--index", str(index_file), "-k", "1", "born"])
    assert len(json.loads(out)["output"].splitlines()) == 1
    rc, out, err = _run(capsys, ["tools", "run", "search", "Zora"])
    assert rc == 2 and "--run-dir" in err and out == ""
    rc, out, err = _run(capsys, ["tools", "run", "search", "--run-dir", str(tmp_path / "norun"), "Zora"])
    assert rc == 2 and "no search index" in err and "Traceback" not in err
    rc, out, err = _run(capsys, ["tools", "run", "search", "--index", str(index_file), "-k", "0", "x"])
    assert rc == 2


def test_index_needs_the_world(capsys, tmp_path):
    rc, _, err = _run(capsys, ["--quiet", "tools", "index", "--run-dir", str(tmp_path / "run"),
                               "--preset", "smoke"])
    assert rc == 2 and "world" in err


def test_executor_hook(index_file):
    ex = make_executor(index_file, {"calculator", "search"})
    assert ex("calculator", "2 + 2") == "4"
    assert ex("calculator", "1/0") == "Error: division by zero"
    assert "Tartu" in ex("search", "Zora Quill born")
    assert ex("python", "print(1)") == "Error: tool 'python' is not available"
    assert ex("rm -rf", "/") == "Error: tool 'rm -rf' is not available"
    assert ex.enabled == {"calculator", "search"}
    none = make_executor(None, set())
    assert "not available" in none("calculator", "1+1")
    small = make_executor(index_file, None, ToolsConfig(result_max_chars=30))
    assert len(small("search", "born studied")) <= 30
    assert make_executor(None, {"search"})("search", "x") == "Error: no search index is configured"


def test_run_tool_results():
    assert run_tool("calculator", "0.1 + 0.2") == ToolResult(True, "0.3")
    r = run_tool("nope", "x")
    assert not r.ok and "unknown tool" in r.error
    assert ToolResult(False, "partial", "boom").text() == "partial\nError: boom"
    assert ToolResult(True, "").text() == "(no output)"


def test_executor_sees_a_rebuilt_index(index_file):
    ex = make_executor(index_file, {"search"})
    assert "Tartu" in ex("search", "Zora Quill born")
    build_index([{"id": "c", "title": "Zora Quill", "text": "Zora Quill was born in 1970 in Lisbon."}],
                index_file)
    out = ex("search", "Zora Quill born")
    assert "Lisbon" in out and "Tartu" not in out
