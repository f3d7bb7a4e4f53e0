"""Varied text for tests and benchmarks: the corners where tokenizers disagree.

Prose, source code, numbers of every length, runs of spaces/tabs/newlines (and \\r\\n), contractions
in odd cases, emoji (with skin tones and ZWJ sequences), CJK, right-to-left scripts, combining
marks, unusual spaces, and special-token look-alikes. `varied_bytes` adds invalid UTF-8.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

PROSE = """\
The committee met on Tuesday; it didn't reach a decision. "We'll see," she said -- and left.
It's 3:45 p.m. on 2024-06-01, and the temperature is -12.5°C (9.5°F). Call +1 (555) 010-9999.
Mr. O'Neil's dog isn't HIS; THEY'LL say it's THEIRS. I'M sure you'VE noticed. WE'D better go.
naïve café résumé — coöperate façade Ångström; Straße, ﬁnance, ½ + ¼ = ¾, x² + y² = z².
"""

CODE = '''\
def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b  # 0x1F, 0b1010, 1e-9, 3.14159
    return a

if __name__ == "__main__":\r\n\tprint({k: v for k, v in zip("abc", [1, 22, 333])})
    s = "<|endoftext|>"; t = '<|im_start|>user\\n'  // not special
\t\t  \tmixed   \t whitespace\t\n
{"json": [1, 2.5e10, null, true], "nested": {"a": "b"}}
SELECT * FROM users WHERE id >= 1000 AND name LIKE '%o''brien%';
'''

NUMBERS = " ".join(["0", "7", "42", "123", "1234", "12345", "123456", "1234567", "3.14159",
                    "1,000,000", "1_000_000", "0007", "٣٤٥", "१२३", "Ⅻ", "²³", "9" * 40])

WHITESPACE = ["  ", "   ", "\t", "\n", "\n\n", "\n\n\n\n", "\r\n", "\r\n\r\n", " \n ", "\u00a0",
              "\u2003", "\u3000", "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "  \n  \n", "\t\n\t"]

WORLD = """\
🙂😀👍🏽👨‍👩‍👧‍👦🇯🇵 emoji!! 🎉🎉🎉
日本語のテキストを分割します。东京是一个城市，人口很多。한국어 문장입니다.
مرحبا بالعالم — שלום עולם — Привет, мир! Γειά σου Κόσμε — नमस्ते दुनिया
e\u0301 a\u0308 Z̤̈ ﬀ ㎏ 𝓗𝓮𝓵𝓵𝓸 𝟙𝟚𝟛 \U0001F9D1\u200D\U0001F680 ZWJ\u200dJ\u200cN \ufeffBOM
"""

SPECIAL_LOOKALIKES = """\
<|endoftext|><|im_start|>system<|im_end|><|tool_call|>x<|/tool_call|><|tool_result|>y<|/tool_result|><|pad|>
<|endoftext|  <|im_start|>> <|IM_START|> <| im_end |> <||> <|<|im_end|>|> \\<|pad|\\> <|endoftext|>>
"""


def varied_text(n_blocks: int = 200, seed: int = 0, extra: str = "") -> str:
    """A shuffled mix of the fragments above, joined by random whitespace, plus `extra`."""
    rng = random.Random(seed)
    blocks = [PROSE, CODE, NUMBERS, WORLD, SPECIAL_LOOKALIKES]
    out = []
    for _ in range(n_blocks):
        b = rng.choice(blocks)
        lines = b.splitlines(keepends=True)
        start = rng.randrange(len(lines))
        out.append("".join(lines[start:start + rng.randint(1, 4)]))
        out.append(rng.choice(WHITESPACE) * rng.randint(1, 3))
        if rng.random() < 0.2:
            out.append(str(rng.randrange(10 ** rng.randint(1, 12))))
    text = PROSE + CODE + NUMBERS + WORLD + SPECIAL_LOOKALIKES + "".join(WHITESPACE) + "".join(out)
    return text + extra + "  \n\n   "  # ends in whitespace: the \s++$ branch


def varied_bytes(seed: int = 0) -> bytes:
    """varied_text as UTF-8 with invalid sequences spliced in: lone continuation bytes, cut
    multi-byte characters, overlongs, surrogates encoded in UTF-8, bytes 0xF5..0xFF."""
    rng = random.Random(seed)
    data = bytearray(varied_text(60, seed).encode("utf-8"))
    bad = [b"\x80", b"\xbf\xbf", b"\xc3", b"\xe6\x97", b"\xf0\x9f\x98", b"\xc0\xaf", b"\xed\xa0\x80",
           b"\xff", b"\xfe\xfe", b"\xf5\x80\x80\x80", b"a\xffb", b" \x80 ", b"\n\xc3\n"]
    for _ in range(80):
        pos = rng.randrange(len(data))
        data[pos:pos] = rng.choice(bad)
    return bytes(data) + b"\xe2\x82"  # ends in the middle of a character


def shared_text(name: str = "tinyshakespeare.txt") -> str | None:
    """A text from the shared sample data (../shared/data/text), or None where it is absent."""

    root = os.environ.get("CHATFORGE_SHARED_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "data"
    p = base / "text" / name
    return p.read_text(encoding="utf-8") if p.is_file() else None
