"""Extraction quality on the html-extraction benchmark (204 real pages with expectations).

For each page, `with` lists snippets the main text must contain and `without` snippets it must
not (boilerplate). Must-contain recall = found `with` snippets / all; must-not-contain
precision = absent `without` snippets / all (both micro-averaged over snippets, after
whitespace normalisation). Speed is pages per CPU-second of the extractor alone (process time,
so other load on the machine does not skew it).

    python -m chatforge.data.extract_bench [/path/to/html-extraction]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from chatforge.data.extract import EXTRACTORS
from chatforge.data.inputs import decode


def _norm(s: str) -> str:
    return " ".join(s.split())


def load_pages(root: Path) -> list[tuple[str, str, dict]]:
    exp = json.loads((root / "expectations.json").read_text(encoding="utf-8"))
    pages = []
    for url, e in sorted(exp.items()):
        f = root / "pages" / e["file"]
        if f.is_file():
            pages.append((url, decode(f.read_bytes()), e))
    return pages


def measure(root: Path, names: list[str] | None = None) -> dict[str, dict]:
    pages = load_pages(root)
    results = {}
    for name in names or list(EXTRACTORS):
        fn = EXTRACTORS[name]
        fn(pages[0][1])  # import and warm up outside the timer
        found = want = absent = avoid = 0
        t = 0.0
        for _, html, e in pages:
            t0 = time.process_time()
            try:
                text = fn(html) or ""
            except Exception:
                text = ""
            t += time.process_time() - t0
            text = _norm(text)
            for s in e.get("with", []):
                want += 1
                found += _norm(s) in text
            for s in e.get("without", []):
                avoid += 1
                absent += _norm(s) not in text
        results[name] = {"pages": len(pages),
                         "must_contain_recall": round(found / want, 4) if want else 0.0,
                         "must_not_contain_precision": round(absent / avoid, 4) if avoid else 0.0,
                         "pages_per_s": round(len(pages) / t, 1) if t else 0.0}
    return results


def main(argv: list[str]) -> int:
    root = (Path(argv[0]) if argv
            else Path(__file__).resolve().parents[3] / "shared" / "data" / "html-extraction")
    res = measure(root)
    print(f"{'extractor':<14}{'pages':>6}{'recall':>9}{'precision':>11}{'pages/s':>9}")
    for name, r in res.items():
        print(f"{name:<14}{r['pages']:>6}{r['must_contain_recall']:>9.3f}"
              f"{r['must_not_contain_precision']:>11.3f}{r['pages_per_s']:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
