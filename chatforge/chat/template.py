"""The chat format as a Jinja chat template, for the Hugging Face and GGUF exports.

Rendering a conversation through this template (with `bos_token="<|endoftext|>"`) gives exactly
`chatforge.chat.render.render_text(messages, add_generation_prompt)`; tests/test_chat_template.py
pins that. It accepts the same inputs as the renderer: string or segment-list assistant content,
and OpenAI-style `tool` messages, which continue the assistant turn before them as a
`<|tool_result|>` span. Only plain Jinja is used (no loop.previtem, no custom filters), so
Hugging Face's sandboxed Jinja and llama.cpp's minja both run it.
"""

from jinja2.sandbox import ImmutableSandboxedEnvironment

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- set prev = messages[loop.index0 - 1].role if loop.index0 > 0 else '' -%}"
    "{%- set next = messages[loop.index0 + 1].role if not loop.last else '' -%}"
    "{%- if message.role == 'tool' -%}"
    "{{- '<|tool_result|>' + message.content + '<|/tool_result|>' -}}"
    "{%- if next != 'assistant' and next != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}"
    "{%- elif message.role == 'assistant' -%}"
    "{%- if prev != 'tool' -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}"
    "{%- if message.content is string -%}"
    "{{- message.content -}}"
    "{%- elif message.content -%}"
    "{%- for seg in message.content -%}"
    "{%- if seg.type == 'text' -%}{{- seg.text -}}"
    "{%- elif seg.type == 'tool_call' -%}"
    "{{- '<|tool_call|>' + seg.tool + '\n' + seg.input + '<|/tool_call|>' -}}"
    "{%- elif seg.type == 'tool_result' -%}"
    "{{- '<|tool_result|>' + seg.output + '<|/tool_result|>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{%- if next != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}"
)



def chat_template(chat: dict | None = None) -> str:
    """The template for a tokenizer's chat format (`Tokenizer.chat`): CHAT_TEMPLATE for
    chatforge's own; an imported model's ChatML variant without the BOS (SmolLM2, Qwen3) and with
    the system prompt its template adds when a conversation has none."""
    chat = chat or {}
    t = CHAT_TEMPLATE if chat.get("bos", True) else CHAT_TEMPLATE.replace("{{- bos_token -}}", "", 1)
    system = chat.get("default_system")
    if system is not None:
        head = ("{%- if not messages or messages[0].role != 'system' -%}"
                "{{- '<|im_start|>system\n' + " + repr(system) + " + '<|im_end|>\n' -}}{%- endif -%}")
        t = t.replace("{%- for message in messages -%}", head + "{%- for message in messages -%}", 1)
    return t


BOS_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"


def render_with_jinja(messages, add_generation_prompt: bool = False) -> str:
    """Render through jinja2 the way Hugging Face does (sandboxed, trim_blocks, lstrip_blocks)."""

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(CHAT_TEMPLATE).render(
        messages=messages, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN,
        add_generation_prompt=add_generation_prompt)
