"""The synthetic crawl: a WARC that warcio reads, HTML that parses, and labels that tell the truth."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chatforge.pipeline import load_config
from chatforge.world import load_world
from chatforge.world.build import build
from chatforge.world.crawl import BANNED, jaccard


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("crawlworld") / "w"
    root.mkdir()
    cfg = load_config("smoke")
    build(root, cfg.world, cfg.run.seed)
    return load_world(root)


def read_warc(path: Path) -> list[tuple[str, dict, bytes, int]]:
    from warcio.archiveiterator import ArchiveIterator

    out = []
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, check_digests="raise"):
            status = int(rec.http_headers.get_statuscode()) if rec.http_headers else 0
            out.append((rec.rec_type, dict(rec.rec_headers.headers), rec.content_stream().read(), status))
    return out


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.paras, self.tags = [], [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.stack.append(tag)
        if tag == "p":
            self.paras.append("")

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_data(self, data):
        if "article" in self.stack and self.stack and self.stack[-1] == "p":
            self.paras[-1] += data


def test_warcio_reads_every_record(world):
    labels = world.labels()
    recs = read_warc(world.crawl_warc)
    assert recs[0][0] == "warcinfo"
    responses = [r for r in recs if r[0] == "response"]
    assert len(responses) == len(labels) == len(recs) - 1
    for (_, headers, body, status), lab in zip(responses, labels):
        assert headers["WARC-Target-URI"] == lab["url"]
        assert status == 200 and body.startswith(b"<!DOCTYPE html>")
    # gzip members carry mtime 0 (bytes 4..8 of each member header)
    raw = world.crawl_warc.read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"
    assert gzip.decompress(raw).startswith(b"WARC/1.1\r\nWARC-Type: warcinfo")


def test_pages_parse_and_hold_their_document(world):
    docs = {d["id"]: d for d in world.documents()}
    pages = {h["WARC-Target-URI"]: body for t, h, body, _ in read_warc(world.crawl_warc) if t == "response"}
    good = [lab for lab in world.labels() if lab["keep"]][:10]
    for lab in good:
        p = _Text()
        p.feed(pages[lab["url"]].decode("utf-8"))
        assert {"html", "nav", "footer", "article", "h1"} <= p.tags
        assert "\n\n".join(x for x in p.paras if x) == docs[lab["doc_id"]]["text"]
        assert docs[lab["doc_id"]]["url"] == lab["url"]
    assert b"cookie" in pages[good[0]["url"]].lower()


def test_labels_are_the_ground_truth(world):
    labels = world.labels()
    docs = {d["id"]: d for d in world.documents()}
    assert len({lab["url"] for lab in labels}) == len(labels)
    keep = [lab for lab in labels if lab["keep"]]
    assert sorted(lab["doc_id"] for lab in keep) == sorted(docs)  # each document exactly once
    assert all(lab["reason"] is None for lab in keep)
    reasons = {lab["reason"] for lab in labels if not lab["keep"]}
    assert reasons == {"duplicate", "near-duplicate", "spam", "lorem", "language", "short", "blocklist"}
    first_seen = {}
    for i, lab in enumerate(labels):
        if lab["keep"]:
            first_seen[lab["doc_id"]] = i
        if lab["reason"] in ("duplicate", "near-duplicate"):
            assert lab["doc_id"] in first_seen, "a copy came before its original in WARC order"
    assert {lab["lang"] for lab in labels if lab["reason"] == "language"} >= {"de", "fr", "es"}
    for lab in labels:
        banned = any(b in lab["url"] for b in ("porn", "xxx", "sex"))
        assert banned == (lab["reason"] == "blocklist"), lab["url"]
    for lab in keep:
        assert not any(b in lab["url"] for b in BANNED)
    pii = [lab for lab in keep if lab["pii"]]
    assert pii
    for lab in pii:
        text = docs[lab["doc_id"]]["text"]
        assert re.search(r"[\w.]+@[\w.]+\.\w+", text) or re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text)


def test_copies_are_exact_or_near(world):
    docs = {d["id"]: d for d in world.documents()}
    pages = {h["WARC-Target-URI"]: body.decode() for t, h, body, _ in read_warc(world.crawl_warc)
             if t == "response"}
    n_near = n_refetch = 0
    for lab in world.labels():
        if lab["reason"] not in ("duplicate", "near-duplicate"):
            continue
        p = _Text()
        p.feed(pages[lab["url"]])
        text = "\n\n".join(x for x in p.paras if x)
        orig = docs[lab["doc_id"]]["text"]
        if lab["reason"] == "duplicate":
            assert text == orig
            if "?utm_source=" in lab["url"]:
                n_refetch += 1
                assert pages[lab["url"]] == pages[lab["url"].split("?")[0]]
        else:
            n_near += 1
            assert text != orig and jaccard(text, orig) >= 0.88
    assert n_near and n_refetch
