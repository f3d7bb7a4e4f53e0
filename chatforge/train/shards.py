"""Pre-tokenized, memory-mapped token shards and the resumable batch source that reads them.

Building (once per run, reused on resume):

    tokens/index.json          {"dtype", "bos_id", "train": [{"file", "tokens"}], "val": [...], ...}
    tokens/train_00000.bin     raw little-endian uint16 (vocab <= 65536) or uint32 token ids
    tokens/val_00000.bin

Every document becomes `<|endoftext|>` + its tokens, so the boundary token also serves as BOS.
A document goes to the validation split when a hash of its id falls under `val_frac`: the split
is the same whatever order or sharding the documents arrive in.

Reading: each split is cut into windows of seq_len+1 tokens (inputs and shifted targets). An
epoch visits every window once in an order drawn from (seed, epoch), with the window grid shifted
by a per-epoch offset so a token is seen in different contexts across epochs. The whole position
is (epoch, cursor): two integers in every checkpoint, enough to resume at the exact window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from chatforge.core.atomic import atomic_dir, atomic_write_json, read_json
from chatforge.core.errors import UserError

INDEX = "index.json"


def _is_val(doc_id: str, val_frac: float) -> bool:
    h = int.from_bytes(hashlib.sha1(doc_id.encode("utf-8")).digest()[:8], "big")
    return h / 2 ** 64 < val_frac


class _ShardWriter:
    def __init__(self, out: Path, split: str, dtype: np.dtype, shard_tokens: int):
        self.out, self.split, self.dtype, self.shard_tokens = out, split, dtype, shard_tokens
        self.buf: list[np.ndarray] = []
        self.n_buf = 0
        self.shards: list[dict] = []
        self.docs = 0

    def add(self, ids: list[int]) -> None:
        self.buf.append(np.asarray(ids, dtype=self.dtype))
        self.n_buf += len(ids)
        self.docs += 1
        while self.n_buf >= self.shard_tokens:
            self._flush(self.shard_tokens)

    def _flush(self, n: int) -> None:
        flat = np.concatenate(self.buf) if self.buf else np.zeros(0, self.dtype)
        chunk, rest = flat[:n], flat[n:]
        name = f"{self.split}_{len(self.shards):05d}.bin"
        chunk.tofile(self.out / name)
        self.shards.append({"file": name, "tokens": int(len(chunk))})
        self.buf, self.n_buf = ([rest] if len(rest) else []), len(rest)

    def close(self) -> None:
        if self.n_buf:
            self._flush(self.n_buf)


def build_shards(out_dir: str | Path, documents: Iterable[dict], tokenizer, val_frac: float = 0.02,
                 shard_tokens: int = 1 << 24, batch_docs: int = 512,
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Tokenize `documents` ({"id", "text"} dicts) into `out_dir` (replaced as a whole, atomically).
    A document may bring its token `ids` instead of text, and its `split` ("train"/"val").
    Returns the index. progress(docs, tokens) is called after every batch."""
    out_dir = Path(out_dir)
    bos = tokenizer.special("<|endoftext|>")
    dtype = np.dtype(np.uint16 if tokenizer.n_vocab <= 1 << 16 else np.uint32)
    with atomic_dir(out_dir) as tmp:
        writers = {s: _ShardWriter(tmp, s, dtype, shard_tokens) for s in ("train", "val")}
        n_docs = n_tokens = 0
        last_doc: list[int] | None = None
        for batch in _batched(documents, batch_docs):
            texts = [d.get("text", "") for d in batch]
            for doc, ids in zip(batch, tokenizer.encode_batch(texts)):
                ids = list(doc["ids"]) if "ids" in doc else ids  # already token ids (a chat rendered)
                if not ids:
                    continue
                ids = [bos] + ids
                split = doc.get("split") or ("val" if _is_val(str(doc.get("id") or doc["text"]), val_frac)
                                             else "train")
                writers[split].add(ids)
                last_doc = ids
                n_docs += 1
                n_tokens += len(ids)
            if progress:
                progress(n_docs, n_tokens)
        if n_docs == 0:
            raise UserError("no documents to pretrain on (the data stage produced no text).")
        note = None
        if writers["val"].docs == 0:  # tiny corpora: keep the pipeline working, say so
            writers["val"].add(last_doc)
            note = "no document fell in the validation split; the last training document is reused"
        if writers["train"].docs == 0:
            raise UserError("every document fell in the validation split; lower pretrain.val_frac.")
        for w in writers.values():
            w.close()
        index = {
            "dtype": dtype.name, "bos_id": bos, "n_vocab": tokenizer.n_vocab,
            "docs": {s: w.docs for s, w in writers.items()},
            "tokens": {s: sum(x["tokens"] for x in w.shards) for s, w in writers.items()},
            "train": writers["train"].shards, "val": writers["val"].shards, "note": note,
        }

        atomic_write_json(tmp / INDEX, index)
    return index


def _batched(it: Iterable[dict], n: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for x in it:
        batch.append(x)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def load_index(tokens_dir: str | Path) -> dict | None:
    return read_json(Path(tokens_dir) / INDEX)


def open_split(tokens_dir: str | Path, split: str) -> list[np.ndarray]:
    """The split's shards as read-only memory maps."""
    tokens_dir = Path(tokens_dir)
    index = load_index(tokens_dir)
    if index is None:
        raise UserError(f"no token shards in '{tokens_dir}'.")
    dtype = np.dtype(index["dtype"])
    return [np.memmap(tokens_dir / s["file"], dtype=dtype, mode="r") for s in index[split] if s["tokens"]]


class TokenBatches:
    """Resumable batches of (inputs, targets) LongTensors [batch, seq_len] for one rank.

    A micro-batch takes `batch` windows per rank; rank r of `world` takes the r-th slice of each
    global group of batch*world windows, so N ranks see exactly what one process with N times
    the gradient accumulation would see."""

    def __init__(self, shards: list[np.ndarray], seq_len: int, batch: int, seed: int,
                 rank: int = 0, world: int = 1, shuffle: bool = True, require: bool = True):
        self.shards, self.seq_len, self.batch = shards, seq_len, batch
        self.seed, self.rank, self.world, self.shuffle = seed, rank, world, shuffle
        self.epoch, self.cursor = 0, 0
        self._grid_epoch = -1
        self._grid()
        if require and len(self._starts) < batch * world:
            raise UserError(
                f"the training data holds {len(self._starts)} windows of {seq_len + 1} tokens, fewer "
                f"than one batch ({batch} x {world} ranks); lower the batch size or seq_len, or add data.")

    def _grid(self) -> None:
        """Window (shard, start) list and visiting order for the current epoch."""
        if self._grid_epoch == self.epoch:
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        span = self.seq_len + 1
        shard_ids, starts = [], []
        for i, s in enumerate(self.shards):
            offset = int(rng.integers(0, self.seq_len)) if (self.shuffle and self.epoch > 0) else 0
            n = max(0, (len(s) - offset - 1) // self.seq_len) if len(s) - offset >= span else 0
            shard_ids.append(np.full(n, i, dtype=np.int64))
            starts.append(offset + self.seq_len * np.arange(n, dtype=np.int64))
        self._shard_of = np.concatenate(shard_ids) if shard_ids else np.zeros(0, np.int64)
        self._starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        n = len(self._starts)
        self._order = rng.permutation(n) if self.shuffle else np.arange(n)
        self._grid_epoch = self.epoch

    def windows_per_epoch(self) -> int:
        return len(self._starts)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        group = self.batch * self.world
        if self.cursor + group > len(self._order):
            self.epoch, self.cursor = self.epoch + 1, 0
            self._grid()
        lo = self.cursor + self.rank * self.batch
        picks = self._order[lo: lo + self.batch]
        self.cursor += group
        span = self.seq_len + 1
        rows = np.stack([self.shards[self._shard_of[w]][self._starts[w]: self._starts[w] + span]
                         for w in picks])
        t = torch.from_numpy(rows.astype(np.int64))
        return t[:, :-1], t[:, 1:]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.cursor = int(state["epoch"]), int(state["cursor"])
        self._grid()

    def all_windows(self, limit: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's share of the first `limit` windows in fixed order (for validation)."""
        n = len(self._starts) if limit is None else min(limit, len(self._starts))
        mine = np.arange(n)[self.rank::self.world]
        span = self.seq_len + 1
        for i in range(0, len(mine), self.batch):
            rows = np.stack([self.shards[self._shard_of[w]][self._starts[w]: self._starts[w] + span]
                             for w in mine[i: i + self.batch]])
            t = torch.from_numpy(rows.astype(np.int64))
            yield t[:, :-1], t[:, 1:]
