"""Main-text extraction from HTML: trafilatura (FineWeb's choice) or resiliparse (fast).

Both are measured on the 204-page html-extraction benchmark (see docs/data.md and
`python -m chatforge.data.extract_bench`); the config picks one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from chatforge.core.errors import UserError


def trafilatura_extract(html: str) -> str:
    import trafilatura  # noqa: PLC0415 - start-up time

    # FineWeb's settings: favor_precision, no comments. deduplicate=False on purpose: trafilatura's
    # dedup is an LRU cache shared across documents, so the output of a page would depend on
    # which pages the same process saw before it (breaking resume == uninterrupted run).
    out = trafilatura.extract(html, favor_precision=True, include_comments=False,
                              include_tables=True, deduplicate=False)
    return out or ""


def resiliparse_extract(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text  # noqa: PLC0415 - start-up time
    from resiliparse.parse.html import HTMLTree  # noqa: PLC0415 - start-up time

    tree = HTMLTree.parse(html)
    return extract_plain_text(tree, main_content=True, alt_texts=False, links=False,
                              form_fields=False, noscript=False, list_bullets=True,
                              preserve_formatting=True)


EXTRACTORS: dict[str, Callable[[str], str]] = {
    "trafilatura": trafilatura_extract,
    "resiliparse": resiliparse_extract,
}
_MODULES = {"trafilatura": "trafilatura", "resiliparse": "resiliparse.extract.html2text"}


def get_extractor(name: str) -> Callable[[str], str]:
    if name not in EXTRACTORS:
        raise UserError(f"unknown extractor '{name}' (choose {' or '.join(EXTRACTORS)}).")
    # Imported here, outside the per-page guard: a package that does not import is a broken
    # install that must stop the stage, never a page dropped as an extraction error.
    importlib.import_module(_MODULES[name])
    return EXTRACTORS[name]
