"""Input discovery and reading: WARC / WARC.gz, HTML files, JSONL and parquet, mixed.

The kind of each file is sniffed from its first bytes (the name is only a hint), so a
`.warc.gz.bad` is still read as a WARC and a binary file is skipped instead of parsed. Nothing
here raises on bad data: a broken record, an undecodable page or an oversize document is
skipped, counted under a reason, and warned about once per file. Only a path that does not
exist is a UserError, raised before any work starts.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from warcio.archiveiterator import ArchiveIterator

from chatforge.core.errors import UserError

WARC, HTML, JSONL, PARQUET, TEXT, EMPTY, UNKNOWN = (
    "warc", "html", "jsonl", "parquet", "text", "empty", "unknown")


@dataclass(frozen=True)
class InputFile:
    path: str
    kind: str
    name: str  # path relative to the input it came from; used in document ids


def _peek(path: Path, n: int = 512) -> bytes:
    with open(path, "rb") as f:
        head = f.read(n)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as g:
                return g.read(n)
        except (OSError, EOFError):
            return b""
    return head


def sniff(path: Path) -> str:
    try:
        if path.stat().st_size == 0:
            return EMPTY
        head = _peek(path)
        with open(path, "rb") as f:
            raw = f.read(4)
    except OSError:
        return UNKNOWN
    if raw == b"PAR1":
        return PARQUET
    if head.startswith(b"WARC/"):
        return WARC
    if not head.strip():
        return EMPTY
    name = path.name.lower()
    if b"\x00" in head:
        return UNKNOWN
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] == b"{" or name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
        return JSONL
    low = stripped[:256].lower()
    if low.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"<!--", b"<meta", b"<div")) \
            or name.endswith((".html", ".htm", ".xhtml")):
        return HTML
    if name.endswith((".txt", ".md")):
        return TEXT
    return UNKNOWN


def discover(paths: list[str]) -> list[InputFile]:
    """Every input file under `paths`, in a stable order, with its sniffed kind."""
    if not paths:
        raise UserError("no input given; pass --input PATH (a WARC, HTML folder, JSONL or parquet file).")
    out: list[InputFile] = []
    for p in paths:
        root = Path(p)
        if not root.exists():
            raise UserError(f"input '{p}' does not exist.")
        if root.is_dir():
            files = sorted(f for f in root.rglob("*") if f.is_file() and not f.name.startswith("."))
            for f in files:
                out.append(InputFile(str(f), sniff(f), f"{root.name}/{f.relative_to(root)}"))
        else:
            out.append(InputFile(str(root), sniff(root), root.name))
    return out


# ---------------------------------------------------------------------------------- decoding

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


def _charset_from_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", content_type, re.IGNORECASE)
    return m.group(1) if m else None


def decode(data: bytes, declared: str | None = None) -> str:
    """Bytes of a page to str: declared charset, then a <meta> charset, then UTF-8, then detection.

    Never raises; bytes no charset explains become U+FFFD.
    """
    candidates = [declared]
    m = _META_CHARSET.search(data[:4096])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    candidates.append("utf-8")
    for cs in candidates:
        if not cs:
            continue
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        from resiliparse.parse.encoding import bytes_to_str, detect_encoding  # noqa: PLC0415 - fallback

        return bytes_to_str(data, detect_encoding(data))
    except Exception:  # resiliparse missing or confused: lose a few bytes, not the page
        return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------- readers
# Each reader yields dicts {id, url, text, format} and calls skip(reason, detail) for anything
# it drops; the datatrove step turns those into stats and warnings.

Skip = Callable[[str, str], None]


def _warc_records(stream, f: InputFile, max_bytes: int, skip: Skip, start: int) -> Iterator[dict]:
    i = -1
    for rec in ArchiveIterator(stream):
        if rec.rec_type != "response":
            continue
        i += 1
        if i < start:
            continue
        url = rec.rec_headers.get_header("WARC-Target-URI") or ""
        url = url.strip().strip("<>").replace(" ", "%20")
        http = rec.http_headers
        ctype = http.get_header("Content-Type") if http else None
        if http is not None:
            status = http.get_statuscode() or ""
            if not status.startswith("2"):
                skip("http_status", f"{url} ({status})")
                continue
        if ctype and not any(t in ctype.lower() for t in ("html", "xml", "text/plain")):
            skip("not_html", f"{url} ({ctype})")
            continue
        try:
            body = rec.content_stream().read(max_bytes + 1)
        except Exception as e:  # bad chunked encoding, truncated gzip member, ...
            skip("broken_record", f"{url}: {type(e).__name__}: {e}")
            continue
        if len(body) > max_bytes:
            skip("too_large", f"{url} is over {max_bytes} bytes")
            continue
        if not body.strip():
            skip("empty_record", url)
            continue
        rid = rec.rec_headers.get_header("WARC-Record-ID") or f"{i}"
        yield {"id": f"{f.name}#{i}", "url": url, "text": decode(body, _charset_from_header(ctype)),
               "format": "html", "warc_record_id": rid.strip("<>")}


def read_warc(f: InputFile, max_bytes: int, skip: Skip) -> Iterator[dict]:
    done = 0
    try:
        with open(f.path, "rb") as fh:
            for doc in _warc_records(fh, f, max_bytes, skip, 0):
                done += 1
                yield doc
        return
    except Exception as e:
        msg = " ".join(str(e).split())
        if "non-chunked gzip" not in msg:
            skip("broken_record", f"{f.path}: {type(e).__name__}: {msg[:200]}; rest of file skipped")
            return
    # A WARC gzipped as one member instead of one member per record: warcio refuses it, but
    # it is readable as a plain stream once decompressed; continue after the records we have.
    try:
        with gzip.open(f.path, "rb") as g:
            for doc in _warc_records(g, f, max_bytes, skip, done):
                yield doc
        skip("recovered_non_chunked_gzip", f"{f.path}: gzipped as one member, read as one stream")
    except Exception as e:
        skip("broken_record", f"{f.path}: {type(e).__name__}: {' '.join(str(e).split())[:200]}")


def read_html(f: InputFile, max_bytes: int, skip: Skip) -> Iterator[dict]:
    size = os.path.getsize(f.path)
    if size > max_bytes:
        skip("too_large", f"{f.path} is {size} bytes (limit {max_bytes})")
        return
    data = Path(f.path).read_bytes()
    yield {"id": f.name, "url": "", "text": decode(data), "format": "html"}


def read_text(f: InputFile, max_bytes: int, skip: Skip) -> Iterator[dict]:
    size = os.path.getsize(f.path)
    if size > max_bytes:
        skip("too_large", f"{f.path} is {size} bytes (limit {max_bytes})")
        return
    yield {"id": f.name, "url": "", "text": decode(Path(f.path).read_bytes()), "format": "text"}


def _record(obj: dict, default_id: str, max_bytes: int, skip: Skip) -> dict | None:
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        skip("no_text", default_id)
        return None
    if len(text) > max_bytes:
        skip("too_large", f"{default_id} has {len(text)} characters (limit {max_bytes})")
        return None
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    url = obj.get("url") or meta.get("url") or ""
    did = obj.get("id")
    return {"id": str(did) if did not in (None, "") else default_id, "url": str(url), "text": text,
            "format": "text"}


def read_jsonl(f: InputFile, max_bytes: int, skip: Skip) -> Iterator[dict]:
    opener = gzip.open if _is_gzip(f.path) else open
    try:
        with opener(f.path, "rb") as fh:
            for ln, raw in enumerate(fh):
                if not raw.strip():
                    continue
                if len(raw) > max_bytes * 2:
                    skip("too_large", f"{f.path}:{ln + 1} is {len(raw)} bytes")
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8", errors="replace"))
                except ValueError:
                    skip("bad_json_line", f"{f.path}:{ln + 1}")
                    continue
                if not isinstance(obj, dict):
                    skip("bad_json_line", f"{f.path}:{ln + 1}")
                    continue
                rec = _record(obj, f"{f.name}#{ln}", max_bytes, skip)
                if rec:
                    yield rec
    except (OSError, EOFError) as e:
        skip("broken_file", f"{f.path}: {e}")


def read_parquet(f: InputFile, max_bytes: int, skip: Skip) -> Iterator[dict]:
    try:
        pf = pq.ParquetFile(f.path)
    except Exception as e:
        skip("broken_file", f"{f.path}: {e}")
        return
    names = set(pf.schema_arrow.names)
    if "text" not in names:
        skip("no_text_column", f"{f.path} has no 'text' column (columns: {', '.join(sorted(names))})")
        return
    cols = [c for c in ("id", "url", "text") if c in names]
    n = 0
    for batch in pf.iter_batches(batch_size=1024, columns=cols):
        for obj in batch.to_pylist():
            rec = _record(obj, f"{f.name}#{n}", max_bytes, skip)
            n += 1
            if rec:
                yield rec


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


READERS = {WARC: read_warc, HTML: read_html, JSONL: read_jsonl, PARQUET: read_parquet, TEXT: read_text}


def read_file(f: InputFile, max_bytes: int, skip: Skip) -> Iterator[dict]:
    if f.kind == EMPTY:
        skip("empty_file", f.path)
        return
    reader = READERS.get(f.kind)
    if reader is None:
        skip("unrecognized_file", f"{f.path} (not WARC, HTML, JSONL, parquet or text)")
        return
    yield from reader(f, max_bytes, skip)


def read_all(files: list[InputFile], max_bytes: int = 5_000_000) -> Iterator[dict]:
    """Plain iteration over every document (tests, benchmarks); skips are silent here."""
    for f in files:
        yield from read_file(f, max_bytes, lambda r, d: None)


__all__ = ["InputFile", "decode", "discover", "read_all", "read_file", "sniff"]
