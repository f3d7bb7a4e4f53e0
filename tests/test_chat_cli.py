"""`chatforge chat`: one-shot answers, multi-line input, commands, tool display and tool switches."""

from __future__ import annotations

import io

import pytest

from chatforge.chat import cli as chat_cli
from chatforge.chat.prompts import enabled_tools, system_prompt


def test_one_shot_prompt(smoke_run, capsys):
    from chatforge.cli import main

    rc = main(["chat", "--run-dir", str(smoke_run), "-p", "Who are you?", "--max-new-tokens", "8"])
    assert rc == 0
    assert capsys.readouterr().out.strip()
    ck = smoke_run / "sft" / "ckpt"
    assert main(["chat", "--checkpoint", str(ck), "-p", "Hi", "--max-new-tokens", "4", "--no-tools"]) == 0
    assert main(["chat", "--run-dir", str(smoke_run / "nope"), "-p", "x"]) == 2
    assert main(["chat", "--run-dir", str(smoke_run), "-p", "x", "--temp", "-1"]) == 2


def test_multiline_input(monkeypatch):
    lines = iter(["first \\", "second", '"""', "a", "", "b", '"""'])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert chat_cli.read_message() == "first \nsecond"
    assert chat_cli.read_message() == "a\n\nb"
    monkeypatch.setattr("builtins.input", lambda prompt="": (_ for _ in ()).throw(EOFError))
    assert chat_cli.read_message() is None


def test_commands_change_settings(capsys):
    from chatforge.chat.session import Session

    s = Session(model=None, tokenizer=None)
    s.history.append({"role": "user", "content": "x"})
    style = chat_cli.Style(False)
    assert chat_cli.command(s, "/temp 0.7", style) and s.settings.temperature == 0.7
    assert chat_cli.command(s, "/temp -3", style) and s.settings.temperature == 0.7
    assert chat_cli.command(s, "/tools off", style) and not s.settings.tools
    assert s.messages()[0] == {"role": "system", "content": "Tools: none."}
    assert chat_cli.command(s, "/system Be brief.", style) and s.history == []
    assert s.messages()[0]["content"] == "Be brief.\nTools: none."
    assert chat_cli.command(s, "/tools on", style)
    assert enabled_tools(s.messages()) == ["calculator", "python", "search"]
    s.history.append({"role": "user", "content": "y"})
    assert chat_cli.command(s, "/reset", style) and s.history == []
    assert not chat_cli.command(s, "/quit", style)


def test_switched_off_tools_are_refused():
    from chatforge.chat.session import Session

    calls = []
    s = Session(model=None, tokenizer=None, executor=lambda t, i: calls.append((t, i)) or "42")
    guarded = s._guarded_executor(enabled_tools([{"role": "system",
                                                  "content": system_prompt(["calculator"])}]))
    assert guarded("calculator", "6*7") == "42"
    assert "switched off" in guarded("python", "print(1)")
    assert "no tool" in guarded("rm", "-rf")
    assert calls == [("calculator", "6*7")]
    assert enabled_tools([{"role": "user", "content": "Tools: python."}]) == []


def test_streamer_shows_tool_calls_and_results():
    from test_chat_render import ByteTokenizer

    from chatforge.chat.render import render
    from chatforge.chat.turns import _Streamer

    tok = ByteTokenizer()
    segs = [{"type": "text", "text": "Let me see."},
            {"type": "tool_call", "tool": "calculator", "input": "2+2"},
            {"type": "tool_result", "output": "4"},
            {"type": "text", "text": "It is 4."}]
    r = render([{"role": "assistant", "content": segs}], tok)
    body = r.ids[r.ids.index(tok.special("<|im_start|>")) + 1 + len("assistant\n"):]
    text, events = io.StringIO(), []
    st = _Streamer(tok, text.write, events.append)
    for t in body:
        st(0, t, False)
    st.close()
    assert text.getvalue() == "Let me see.It is 4."
    assert events == segs[1:3]


@pytest.mark.parametrize("tty", [True, False])
def test_answer_display(tty):
    class FakeSession:
        def ask(self, text, on_text, on_event):
            on_text("Working.")
            on_event({"type": "tool_call", "tool": "search", "input": "Ada"})
            on_event({"type": "tool_result", "output": "Ada was born in Oslo.\n"})
            on_text("Oslo.")

    out = io.StringIO()
    chat_cli.answer(FakeSession(), "q", chat_cli.Style(tty), out=out)
    s = out.getvalue()
    assert "[search] Ada" in s and "[result] Ada was born in Oslo." in s and "Oslo." in s
    assert ("\x1b[" in s) == tty
