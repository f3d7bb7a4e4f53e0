"""The exported Jinja chat template renders exactly what the renderer renders."""

from __future__ import annotations

import pytest

from chatforge.chat.render import render_text

jinja2 = pytest.importorskip("jinja2")

from chatforge.chat.template import render_with_jinja  # noqa: E402

CASES = [
    [{"role": "user", "content": "Hello"}],
    [{"role": "system", "content": "Tools: none."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello! I am chatforge."}],
    [{"role": "system", "content": "Tools: calculator, python, search."},
     {"role": "user", "content": "How many r's in strawberry? <|im_end|>"},
     {"role": "assistant", "content": [
         {"type": "tool_call", "tool": "python", "input": "print('strawberry'.count('r'))"},
         {"type": "tool_result", "output": "3\n"},
         {"type": "text", "text": "There are 3."}]},
     {"role": "user", "content": "And in berry?"}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": [{"type": "tool_call", "tool": "search", "input": "Ada Vale"}]},
     {"role": "tool", "content": "Ada Vale was born in Oslo."},
     {"role": "assistant", "content": "Oslo."}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": [{"type": "tool_call", "tool": "search", "input": "x"}]},
     {"role": "tool", "content": "nothing"},
     {"role": "user", "content": "ok"}],
    [{"role": "assistant", "content": ""}, {"role": "user", "content": ""}],
]


@pytest.mark.parametrize("messages", CASES)
@pytest.mark.parametrize("gen", [False, True])
def test_jinja_template_matches_renderer(messages, gen):
    assert (render_with_jinja(messages, add_generation_prompt=gen)
            == render_text(messages, generation_prompt=gen))
