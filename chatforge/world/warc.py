"""A minimal, deterministic WARC/1.1 writer: one gzip member per record, like Common Crawl.

We write it ourselves instead of through warcio because the world must be byte-identical for the
same seed: no wall-clock dates, record ids derived from the seed, gzip mtime 0.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import uuid
from typing import BinaryIO

BASE_DATE = dt.datetime(2024, 5, 20, 0, 0, 0, tzinfo=dt.UTC)


def record_id(seed: int, key: str) -> str:
    return f"<urn:uuid:{uuid.UUID(bytes=hashlib.sha1(f'{seed}:{key}'.encode()).digest()[:16])}>"


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return head.encode("utf-8") + block + b"\r\n\r\n"


class WarcWriter:
    def __init__(self, f: BinaryIO, seed: int, filename: str = "crawl.warc.gz"):
        self.f = f
        self.seed = seed
        self.n = 0
        self.info_id = record_id(seed, "warcinfo")
        fields = (f"software: chatforge-world\r\nformat: WARC File Format 1.1\r\n"
                  f"description: synthetic crawl of the chatforge built-in world (seed {seed})\r\n"
                  f"isPartOf: chatforge-world-{seed}\r\n").encode()
        self._write([("WARC-Type", "warcinfo"), ("WARC-Date", self._date(0)),
                     ("WARC-Filename", filename), ("WARC-Record-ID", self.info_id),
                     ("Content-Type", "application/warc-fields")], fields)

    @staticmethod
    def _date(i: int) -> str:
        return (BASE_DATE + dt.timedelta(seconds=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _write(self, headers: list[tuple[str, str]], block: bytes) -> None:
        self.f.write(gzip.compress(_record(headers, block), compresslevel=6, mtime=0))

    def response(self, url: str, html: str, ip: str) -> None:
        self.n += 1
        body = html.encode("utf-8")
        http_date = (BASE_DATE + dt.timedelta(seconds=7 * self.n)).strftime("%a, %d %b %Y %H:%M:%S GMT")
        http = (f"HTTP/1.1 200 OK\r\nDate: {http_date}\r\nServer: nginx\r\n"
                f"Content-Type: text/html; charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n").encode() + body
        self._write([("WARC-Type", "response"), ("WARC-Date", self._date(self.n)),
                     ("WARC-Record-ID", record_id(self.seed, url)), ("WARC-Target-URI", url),
                     ("WARC-IP-Address", ip), ("WARC-Warcinfo-ID", self.info_id),
                     ("WARC-Payload-Digest", sha1_b32(body)), ("WARC-Block-Digest", sha1_b32(http)),
                     ("WARC-Identified-Payload-Type", "text/html"),
                     ("Content-Type", "application/http; msgtype=response")], http)
