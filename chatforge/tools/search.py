"""Local search: BM25 over a document collection with SQLite FTS5, top-k snippets of bounded size.

FTS5 ships inside Python's sqlite3 on every mainstream build, so the index is one file and needs
no service. The index is built once by the tools stage (`run_dir/tools/search.sqlite`).

A query is free text from the model or a person: it is reduced to word tokens, each quoted, and
joined with OR, so nothing a user types can reach FTS5's own query syntax (AND, NEAR, column
filters, unbalanced quotes). FTS5 ranks the candidates with bm25(); a small re-rank then favours
documents that contain adjacent query words as a phrase (a full name beats two people who share
a first name and a surname). The snippet is the few sentences that match the query best, cut to a
character budget, because a small model reads whole sentences better than token windows.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chatforge.core.atomic import atomic_path
from chatforge.core.errors import UserError

SCHEMA_VERSION = 1
_WORD = re.compile(r"\w+", re.UNICODE)
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_STOP = frozenset("""a an and are as at be by did do does for from had has have he her his how i
in is it its me my of on or she that the their them they this to was were what when where which
who whom whose why will with you your tell about know please s""".split())
_DATE = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|"
                   r"september|october|november|december)\b", re.IGNORECASE)
_ASKS_DATE = {"when", "date", "year", "birthday", "old", "age"}
_ASKS_PLACE = {"where", "city", "hometown", "town", "place", "from", "native", "originally"}
_CANDIDATES = 20  # bm25 candidates re-ranked per query
# Questions about people name an attribute in other words than the page does ("where is she
# from" / "a native of"; "who employs" / "works at"). A few related words per cue widen both the
# match and the snippet choice; they count half as much as the words of the query itself.
_BIRTH = "born birth native originally comes grew raised hometown place"
_SCHOOL = ("university degree graduated graduate attended studied student school academy college "
           "polytechnic alma")
_FIELD = ("studied degree subject field major trained graduate concentrated specialise specialize "
          "focused pursued read")
_WORK = "works employer employs employed job position company joined firm career living workplace holds"
_RELATED = {
    "born": _BIRTH + " world date", "birth": _BIRTH + " world date", "birthday": "born birth date world",
    "from": _BIRTH, "native": _BIRTH, "originally": _BIRTH, "hometown": _BIRTH, "city": _BIRTH + " city",
    "when": "born birth date year world birthday", "old": "born year date", "age": "born year date",
    "university": _SCHOOL, "college": _SCHOOL, "school": _SCHOOL, "graduate": _SCHOOL, "alma": _SCHOOL,
    "mater": _SCHOOL, "attend": _SCHOOL, "degree": _SCHOOL + " " + _FIELD,
    "study": _FIELD + " " + _SCHOOL, "subject": _FIELD, "field": _FIELD, "major": _FIELD,
    "work": _WORK, "job": _WORK, "employer": _WORK, "employ": _WORK, "company": _WORK, "firm": _WORK,
    "hobby": "hobby enjoys free time fond spare relax", "free": "hobby enjoys free time fond spare relax",
}


@dataclass
class Hit:
    doc_id: str
    title: str
    snippet: str
    score: float


def fts5_available() -> bool:
    try:
        con = sqlite3.connect(":memory:")
        con.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        con.close()
        return True
    except sqlite3.Error:
        return False


def query_terms(query: str, max_terms: int = 32) -> list[str]:
    """The lowercase words of a query, stopwords and repeats removed, in order."""
    seen: list[str] = []
    for w in _WORD.findall(query.lower()):
        w = w.strip("_")
        if w and w not in _STOP and w not in seen:
            seen.append(w)
        if len(seen) >= max_terms:
            break
    return seen


def related_terms(query: str, terms: list[str]) -> list[str]:
    """Words related to the attribute a question asks about (see _RELATED), not already in terms."""
    out: list[str] = []
    for t in _WORD.findall(query.lower()):  # stopwords too: "when" asks for a date
        for w in _RELATED.get(t, _RELATED.get(_stem(t), "")).split():
            if w not in terms and w not in out:
                out.append(w)
    return out


def fts_query(terms: list[str]) -> str:
    # every term is a quoted string: FTS5 operators and punctuation lose their meaning
    return " OR ".join('"' + t.replace('"', "") + '"' for t in terms)


def build_index(docs: Iterable[dict], path: str | Path) -> dict:
    """Write an FTS5 index of `docs` ({id, text, [title]}) to `path` atomically; return stats."""
    if not fts5_available():
        raise UserError("this Python's sqlite3 has no FTS5; install a Python built with a recent SQLite.")
    t0 = time.perf_counter()
    n = chars = 0
    with atomic_path(path) as tmp:
        tmp.unlink()
        con = sqlite3.connect(tmp)
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)")
        con.execute("CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, title, text, "
                    "tokenize = 'porter unicode61 remove_diacritics 2')")
        batch = []
        for d in docs:
            text = str(d.get("text") or "")
            if not text.strip():
                continue
            batch.append((str(d.get("id", n)), str(d.get("title") or ""), text))
            n += 1
            chars += len(text)
            if len(batch) >= 1000:
                con.executemany("INSERT INTO docs(doc_id, title, text) VALUES (?, ?, ?)", batch)
                batch.clear()
        if batch:
            con.executemany("INSERT INTO docs(doc_id, title, text) VALUES (?, ?, ?)", batch)
        con.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        con.executemany("INSERT INTO meta VALUES (?, ?)",
                        [("schema", str(SCHEMA_VERSION)), ("n_docs", str(n))])
        con.commit()
        con.close()
    return {"n_docs": n, "n_chars": chars, "index_bytes": Path(path).stat().st_size,
            "build_s": round(time.perf_counter() - t0, 3)}


def _stem(w: str) -> str:
    if len(w) > 5 and w.endswith(("ied", "ies")):
        return w[:-3] + "y"
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def make_snippet(text: str, terms: list[str], max_chars: int, related: list[str] = (),
                 query: str = "") -> str:
    """The sentences that best match the query, in page order, within `max_chars`.

    A word counts more in a sentence the fewer sentences of the document share it: in a page
    about one person the name is everywhere, the word that answers the question is not. A
    question that asks "when" favours sentences with a date; one that asks "where", without.
    Picking the best sentences rather than one contiguous window puts the answer to the world's
    questions into the top results more often (docs/tools.md).
    """
    sents = [s.strip() for s in _SENT.split(text) if s and s.strip()]
    if not sents:
        return ""
    weights = {_stem(t): 1.0 for t in terms}
    for t in related:
        weights.setdefault(_stem(t), 0.5)
    bags = [{_stem(w) for w in _WORD.findall(s.lower())} for s in sents]
    df = {t: sum(1 for b in bags if t in b) for t in weights}
    scores = [sum(weights[t] / df[t] for t in weights if t in b) for b in bags]
    asked = set(_WORD.findall(query.lower()))
    date_bias = 1.0 if asked & _ASKS_DATE else (-0.5 if asked & _ASKS_PLACE else 0.0)
    if date_bias:
        scores = [sc + (date_bias if _DATE.search(s) else 0.0) for sc, s in zip(scores, sents)]
    # the best sentences, most useful first, until the budget is spent; shown in page order
    order = sorted(range(len(sents)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    used = -1
    for i in order:
        if not chosen or (scores[i] > 0 and used + 1 + len(sents[i]) <= max_chars):
            chosen.append(i)
            used += 1 + len(sents[i])
    out = " ".join(sents[i] for i in sorted(chosen))
    if len(out) > max_chars:
        cut = out[: max_chars - 1]
        out = (cut[: cut.rfind(" ")] if " " in cut[max_chars // 2:] else cut) + "…"
    return out


class SearchIndex:
    """A read-only handle on an index file; safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"no search index at '{self.path}' "
                            "(build it with `chatforge tools index --run-dir D`).")
        try:
            self._con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self.n_docs = int(self._con.execute("SELECT value FROM meta WHERE key='n_docs'").fetchone()[0])
        except (sqlite3.Error, TypeError) as e:
            raise UserError(f"'{self.path}' is not a chatforge search index ({e}).") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:  # never under a query running in another thread
            self._con.close()

    def search(self, query: str, k: int = 3, snippet_chars: int = 240, max_terms: int = 32) -> list[Hit]:
        terms = query_terms(query, max_terms)
        if not terms or k <= 0:
            return []
        related = related_terms(query, terms)
        with self._lock:
            rows = self._con.execute(
                "SELECT doc_id, title, text, bm25(docs, 0.0, 2.0, 1.0) AS s FROM docs "
                "WHERE docs MATCH ? ORDER BY s LIMIT ?",
                (fts_query(terms + related), max(_CANDIDATES, k))).fetchall()
        if not rows:
            return []
        # bm25() is lower-is-better; a phrase of two adjacent query words adds one point per
        # phrase found, on the scale of the spread of the candidates' scores
        # phrase bonus only for capitalised pairs (names): "alma mater" must not outweigh a name
        words = _WORD.findall(query)
        pairs = {f"{a} {b}".lower() for a, b in zip(words, words[1:])
                 if a[:1].isupper() and b[:1].isupper() and a.lower() not in _STOP and b.lower() not in _STOP}
        spread = max(1e-6, rows[-1][3] - rows[0][3]) if len(rows) > 1 else 1.0
        scored = []
        for rank, (doc_id, title, text, s) in enumerate(rows):
            low = " ".join(_WORD.findall((title + " " + text).lower()))
            bonus = sum(1 for p in pairs if p in low)
            scored.append((-s + bonus * max(spread, 1.0), -rank, doc_id, title, text))
        scored.sort(reverse=True)
        return [Hit(doc_id, title, make_snippet(text, terms, snippet_chars, related, query), round(sc, 4))
                for sc, _, doc_id, title, text in scored[:k]]


def format_hits(hits: list[Hit]) -> str:
    """What the model reads: one result per line, the title first when the snippet lacks it."""
    if not hits:
        return "no results"
    lines = []
    for h in hits:
        if h.title and h.title.lower() not in h.snippet.lower():
            lines.append(f"{h.title}: {h.snippet}")
        else:
            lines.append(h.snippet)
    return "\n".join(lines)
