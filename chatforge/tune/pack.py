"""Packing rendered conversations into fixed-length rows, and a resumable batch iterator.

Conversations are never split: a continuation without its prompt would teach the model to
answer nothing in particular. Rows are filled first-fit over conversations sorted by length
(longest first), which wastes only a few percent on padding for chat-length conversations.
Padding has loss mask 0. Each conversation starts with <|endoftext|>, exactly like the packed
documents the base model was pretrained on, so attention across the boundary is what it is used
to.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch


@dataclass
class Rows:
    ids: torch.Tensor  # [N, L] int64, L = seq_len + 1
    mask: torch.Tensor  # [N, L] uint8; mask[:, t] says whether token t is a training target
    n_conversations: int
    n_truncated: int

    def __len__(self) -> int:
        return self.ids.shape[0]


def pack(samples: list[tuple[list[int], list[int]]], seq_len: int, pad_id: int) -> Rows:
    """(ids, mask) pairs -> rows of seq_len + 1 tokens (inputs are row[:-1], targets row[1:])."""
    L = seq_len + 1
    items, truncated = [], 0
    for ids, mask in samples:
        if len(ids) > L:
            ids, mask = ids[:L], mask[:L]
            truncated += 1
        if sum(mask[1:]):
            items.append((ids, mask))
    order = sorted(range(len(items)), key=lambda i: (-len(items[i][0]), i))
    rows: list[list[int]] = []  # indices into items
    space: list[int] = []
    for i in order:
        n = len(items[i][0])
        for r, free in enumerate(space):
            if free >= n:
                rows[r].append(i)
                space[r] -= n
                break
        else:
            rows.append([i])
            space.append(L - n)
    ids_t = torch.full((len(rows), L), pad_id, dtype=torch.long)
    mask_t = torch.zeros((len(rows), L), dtype=torch.uint8)
    for r, members in enumerate(rows):
        pos = 0
        for i in members:
            ids, mask = items[i]
            ids_t[r, pos:pos + len(ids)] = torch.tensor(ids, dtype=torch.long)
            mask_t[r, pos:pos + len(ids)] = torch.tensor(mask, dtype=torch.uint8)
            pos += len(ids)
    return Rows(ids_t, mask_t, len(items), truncated)


class RowBatches:
    """Shuffled batches of rows, epoch after epoch, with a state that resumes exactly (the
    training core's BatchSource).

    state = {"epoch": e, "index": i}: the next batch is rows perm_e[i : i + batch]; each epoch's
    permutation comes from (seed, epoch), so nothing random needs saving. A short final batch of
    an epoch is dropped only when it would be empty."""

    def __init__(self, rows: Rows, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.rows, self.batch_size, self.seed = rows, batch_size, seed
        self.rank, self.world = rank, world
        self.epoch, self.index = 0, 0
        self._perm: list[int] | None = None

    def steps_per_epoch(self) -> int:
        per_step = self.batch_size * self.world
        return max(1, -(-len(self.rows) // per_step))

    def _permutation(self) -> list[int]:
        if self._perm is None:
            p = list(range(len(self.rows)))
            random.Random(f"{self.seed}:{self.epoch}").shuffle(p)
            self._perm = p
        return self._perm

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (inputs [B,T], targets [B,T], loss mask [B,T] as float)."""
        perm = self._permutation()
        if self.index >= len(perm):
            self.epoch, self.index, self._perm = self.epoch + 1, 0, None
            perm = self._permutation()
        per_step = self.batch_size * self.world
        chunk = perm[self.index:self.index + per_step]
        self.index += per_step
        mine = chunk[self.rank::self.world] or chunk[:1]
        idx = torch.tensor(mine, dtype=torch.long)
        ids, mask = self.rows.ids[idx], self.rows.mask[idx]
        return ids[:, :-1], ids[:, 1:], mask[:, 1:].float()

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.index, self._perm = int(state["epoch"]), int(state["index"]), None
