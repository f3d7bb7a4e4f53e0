"""A report as plain data, rendered twice: one self-contained HTML page and its Markdown twin.

A section holds blocks: paragraphs, tables, figures (SVG text from `report.plot`), verdicts on
targets (met / missed, in plain words) and preformatted text. The HTML page inlines every figure
and its style, so it opens anywhere with no network and no files beside it; the Markdown puts the
figures in `fig/` next to it, where any Markdown viewer finds them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape


@dataclass
class Section:
    id: str
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def p(self, text: str) -> Section:
        self.blocks.append(("p", text))
        return self

    def table(self, head: list[str], rows: list[list], note: str = "") -> Section:
        self.blocks.append(("table", [str(h) for h in head],
                            [["" if c is None else str(c) for c in r] for r in rows], note))
        return self

    def figure(self, svg: str, caption: str) -> Section:
        self.blocks.append(("figure", svg, caption))
        return self

    def verdict(self, met: bool | None, text: str) -> Section:
        """A target: met (True), missed (False) or not measurable (None), said in words."""
        self.blocks.append(("verdict", met, text))
        return self

    def pre(self, text: str) -> Section:
        self.blocks.append(("pre", text))
        return self

    def misses(self) -> list[str]:
        return [b[2] for b in self.blocks if b[0] == "verdict" and b[1] is False]


WORD = {True: "Target met", False: "Target missed", None: "No verdict"}

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 0 auto;
       padding: 1rem 1.5rem 4rem; color: #1d1d1f; background: #fff; }
h1 { margin-bottom: .2rem; } .sub { color: #666; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
nav.toc { columns: 2; font-size: 14px; } nav.toc a { text-decoration: none; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 13px; display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f4f4f6; } td.num { text-align: right; white-space: nowrap; }
figure { margin: 1rem 0; } figcaption { color: #555; font-size: 13px; max-width: 640px; }
.verdict { padding: .35rem .7rem; border-radius: 6px; margin: .4rem 0; }
.verdict.met { background: #e8f5e9; } .verdict.missed { background: #fdecea; } \
.verdict.none { background: #f4f4f6; }
.note { color: #555; font-size: 13px; } \
pre { background: #f6f6f8; padding: .6rem; overflow-x: auto; font-size: 12px; }
"""

_NUM = re.compile(r"^[-+]?[\d.,]+\s*(%|s|x)?(\s*[\[±].*)?$")


def _inline(text: str) -> str:
    """Escape, then `code` and **bold** (the Markdown the sections use)."""
    out = escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)


def html(title: str, subtitle: str, sections: list[Section]) -> str:
    parts = [f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{escape(title)}</h1><p class=\"sub\">{_inline(subtitle)}</p>",
             "<nav class=\"toc\">"
             + "".join(f"<div><a href=\"#{s.id}\">{escape(s.title)}</a></div>" for s in sections)
             + "</nav>"]
    for s in sections:
        parts.append(f"<section id=\"{s.id}\"><h2>{escape(s.title)}</h2>")
        for b in s.blocks:
            if b[0] == "p":
                parts.append(f"<p>{_inline(b[1])}</p>")
            elif b[0] == "table":
                _, head, rows, note = b
                body = "".join("<tr>" + "".join(f"<td class=\"num\">{escape(c)}</td>" if _NUM.match(c)
                                                else f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                               for r in rows)
                parts.append("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head)
                             + f"</tr></thead><tbody>{body}</tbody></table>")
                if note:
                    parts.append(f"<p class=\"note\">{_inline(note)}</p>")
            elif b[0] == "figure":
                svg = b[1][b[1].find("<svg"):]  # inline: no XML declaration inside HTML
                parts.append(f"<figure>{svg}<figcaption>{_inline(b[2])}</figcaption></figure>")
            elif b[0] == "verdict":
                cls = {True: "met", False: "missed", None: "none"}[b[1]]
                parts.append(f"<div class=\"verdict {cls}\"><b>{WORD[b[1]]}:</b> {_inline(b[2])}</div>")
            elif b[0] == "pre":
                parts.append(f"<pre>{escape(b[1])}</pre>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _cell(c: str) -> str:
    return c.replace("|", "\\|").replace("\n", " ")


def markdown(title: str, subtitle: str, sections: list[Section],
             fig_dir: str = "fig") -> tuple[str, dict[str, str]]:
    """(Markdown text, {relative figure path: SVG text}) for the twin and its figures."""
    lines = [f"# {title}", "", subtitle, ""]
    figs: dict[str, str] = {}
    for s in sections:
        lines += [f"## {s.title}", ""]
        for b in s.blocks:
            if b[0] == "p":
                lines += [b[1], ""]
            elif b[0] == "table":
                _, head, rows, note = b
                lines.append("| " + " | ".join(_cell(h) for h in head) + " |")
                lines.append("|" + "|".join("---" for _ in head) + "|")
                lines += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
                lines.append("")
                if note:
                    lines += [note, ""]
            elif b[0] == "figure":
                name = f"{fig_dir}/{len(figs) + 1:02d}-{s.id}.svg"
                figs[name] = b[1]
                lines += [f"![{b[2]}]({name})", "", f"*{b[2]}*", ""]
            elif b[0] == "verdict":
                lines += [f"**{WORD[b[1]]}:** {b[2]}", ""]
            elif b[0] == "pre":
                lines += ["```", b[1], "```", ""]
    return "\n".join(lines).rstrip() + "\n", figs
