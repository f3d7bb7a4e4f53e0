"""Our datatrove PipelineSteps: the reader, extraction, offline language ID and URL filter,
a fast English word tokenizer for the stock Gopher/C4/FineWeb filters, a rejected-sample
writer and an atomic parquet shard writer.

Every step is a plain datatrove step, so the same pipeline runs under LocalPipelineExecutor,
SlurmPipelineExecutor or RayPipelineExecutor without change.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

import datatrove.executor.base as base
import datatrove.pipeline.dedup.minhash as minhash
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.utils.word_tokenizers import WordTokenizer
from loguru import logger
from tqdm import tqdm

from chatforge.core.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from chatforge.core.log import warn
from chatforge.data.extract import get_extractor
from chatforge.data.inputs import InputFile, read_file
from chatforge.data.langid import load_langid


def quiet_datatrove() -> None:
    """datatrove logs every task start and stats table at INFO on stderr; keep warnings and
    errors on the console and everything in the per-task log files under _work/logs/."""

    os.environ.setdefault("TQDM_DISABLE", "1")

    def console() -> None:
        logger.remove()
        logger.add(sys.stderr, level="WARNING", format="datatrove {level}: {message}")

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        console()
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        logger.add(logfile, level="DEBUG")
        return logfile

    def close_task_logger(logfile):
        logger.complete()
        console()
        logfile.close()

    # the MinHash cluster step draws a tqdm bar whatever TQDM_DISABLE says once tqdm is imported

    minhash.tqdm = functools.partial(tqdm, disable=True)
    base.add_task_logger = add_task_logger
    base.close_task_logger = close_task_logger
    console()


# Applied at import so that worker processes (which import this module to unpickle the
# steps) are quiet too.
quiet_datatrove()


class InputReader(PipelineStep):
    """Reads the input files of this task (files[rank::world_size]) into Documents.

    Skips are counted as stats `skipped_<reason>` and warned about once per (file, reason).
    """

    name = "📖 Read inputs"
    type = "📖 - READER"

    def __init__(self, files: list[InputFile], max_doc_bytes: int):
        super().__init__()
        self.files = files
        self.max_doc_bytes = max_doc_bytes

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for f in self.files[rank::world_size]:
            warned: dict[str, int] = defaultdict(int)

            # read_file calls skip only while this iteration reads f: bind this file's counts
            def skip(reason: str, detail: str, warned: dict[str, int] = warned) -> None:
                recovered = reason.startswith("recovered_")
                self.stat_update(reason if recovered else f"skipped_{reason}")
                warned[reason] += 1
                if warned[reason] == 1 and reason not in ("http_status", "not_html"):
                    what = "note" if recovered else f"skipped ({reason.replace('_', ' ')})"
                    warn(f"data: {what}: {detail}")

            for rec in read_file(f, self.max_doc_bytes, skip):
                self.stat_update("documents")
                doc = Document(text=rec.pop("text"), id=rec.pop("id"),
                               metadata={**rec, "source": f.path})
                self.update_doc_stats(doc)
                yield doc


class Extract(BaseFilter):
    """Main text from HTML documents; text documents pass through untouched."""

    name = "⛏ Extract"

    def __init__(self, extractor: str):
        super().__init__()
        self.extractor = extractor
        self._fn = None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.metadata.get("format") != "html":
            return True
        if self._fn is None:
            self._fn = get_extractor(self.extractor)
        try:
            text = self._fn(doc.text)
        except Exception as e:  # a page the extractor chokes on is one dropped page, not a crash
            # (kept with the rejected sample: when every page fails, the stage quotes it)
            doc.metadata["error"] = f"{type(e).__name__}: {e}"[:300]
            return False, "extract_error"
        text = (text or "").strip()
        if not text:
            return False, "no_text"
        doc.text = text
        doc.metadata["format"] = "text"
        return True


class LanguageID(BaseFilter):
    """Keeps documents whose score for a target language is above the threshold."""

    name = "🌍 Language ID"

    def __init__(self, backend: str, languages: list[str], threshold: float):
        super().__init__()
        self.backend, self.languages, self.threshold = backend, list(languages), threshold
        self._model = None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if self._model is None:
            self._model = load_langid(self.backend, self.languages)
        (lang, score), targets = self._model.predict(doc.text[:20000])
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = round(score, 4)
        if any(s > self.threshold for s in targets.values()):
            return True
        return False, "language"


_WORD = re.compile(r"\w+(?:[-'’.]\w+)*|[^\w\s]", re.UNICODE)
_SENT = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")


class FastEnglishTokenizer(WordTokenizer):
    """A regex stand-in for datatrove's English tokenizer (spaCy): words and punctuation marks
    as separate tokens, sentences split at . ! ? and newlines. Much faster than spaCy, and it
    needs no model; the stock filters take it through their `language=` argument."""

    def __init__(self):
        super().__init__("en")

    def word_tokenize(self, text: str) -> list[str]:
        return _WORD.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [text[a:b] for a, b in self.span_tokenize(text)]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in _SENT.finditer(text) if m.group().strip()]

    def __hash__(self) -> int:  # split_into_parts caches on (text, mode, tokenizer)
        return hash("FastEnglishTokenizer")

    def __eq__(self, other) -> bool:
        return isinstance(other, FastEnglishTokenizer)


class RejectSampler:
    """An exclusion writer that keeps the first `limit` documents per reason of one step.

    Files land in <folder>/<reason>.<rank>.jsonl; the stage merges ranks in order."""

    def __init__(self, folder: str, step: str, limit: int):
        self.folder, self.step, self.limit = folder, step, limit
        self._buf: dict[str, list[dict]] = defaultdict(list)
        self._rank = 0

    def __enter__(self):
        self._buf = defaultdict(list)
        return self

    def write(self, doc: Document, rank: int = 0, **kw) -> None:
        self._rank = rank
        reason = doc.metadata.get("filter_reason") or self.step
        buf = self._buf[reason]
        if len(buf) < self.limit:
            row = {"id": doc.id, "url": doc.metadata.get("url", ""), "step": self.step,
                   "reason": reason, "text": doc.text[:5000]}
            if doc.metadata.get("error"):
                row["error"] = doc.metadata["error"]
            buf.append(row)

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        for reason, rows in self._buf.items():
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", reason)
            path = Path(self.folder) / f"{safe}.{self._rank:05d}.jsonl"
            atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return False


class EnsureShard(PipelineStep):
    """Placed after the intermediate JsonlWriter: a task whose documents were all dropped
    leaves an empty <rank>.jsonl.gz, so the later stages (which read that folder) find input
    and every rank keeps reading its own file."""

    name = "📄 Ensure shard"
    type = "💽 - WRITER"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from data or []
        path = Path(self.folder) / f"{rank:05d}.jsonl.gz"
        if not path.exists():
            atomic_write_bytes(path, gzip.compress(b""))


class ShardWriter(PipelineStep):
    """Writes the surviving documents of one task to <folder>/<rank>.parquet, atomically:
    a task killed midway leaves no shard, and its rerun writes the whole shard again."""

    name = "💾 Parquet shards"
    type = "💽 - WRITER"

    def __init__(self, folder: str):
        super().__init__()
        self.folder = folder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        rows: dict[str, list] = defaultdict(list)
        for doc in data or []:
            m = doc.metadata
            rows["id"].append(str(doc.id))
            rows["url"].append(str(m.get("url", "")))
            rows["text"].append(doc.text)
            rows["source"].append(str(m.get("source", "")))
            rows["language"].append(str(m.get("language", "")))
            rows["language_score"].append(float(m.get("language_score", 0.0) or 0.0))
            rows["n_words"].append(len(doc.text.split()))
            self.stat_update("written")
            self.update_doc_stats(doc)
        schema = pa.schema([("id", pa.string()), ("url", pa.string()), ("text", pa.string()),
                            ("source", pa.string()), ("language", pa.string()),
                            ("language_score", pa.float64()), ("n_words", pa.int64())])
        table = pa.table({n: rows.get(n, []) for n in schema.names}, schema=schema)
        os.makedirs(self.folder, exist_ok=True)
        with atomic_path(Path(self.folder) / f"{rank:05d}.parquet") as tmp:
            pq.write_table(table, tmp, compression="zstd")
        return
        yield
