"""Packing conversations into rows and the resumable batch order."""

from __future__ import annotations

import torch

from chatforge.tune.pack import RowBatches, pack

PAD = 99


def _conv(n: int, start: int) -> tuple[list[int], list[int]]:
    ids = list(range(start, start + n))
    mask = [0] * (n // 2) + [1] * (n - n // 2)
    return ids, mask


def test_pack_keeps_conversations_whole_and_aligned():
    samples = [_conv(n, 1000 * i) for i, n in enumerate([5, 9, 3, 7, 2, 8, 4])]
    rows = pack(samples, seq_len=11, pad_id=PAD)  # rows of 12 tokens
    assert rows.ids.shape[1] == 12 and rows.n_truncated == 0 and rows.n_conversations == 7
    # every conversation appears once, contiguous, with its own mask
    found = {}
    for r in range(len(rows)):
        ids, mask = rows.ids[r].tolist(), rows.mask[r].tolist()
        for i, (ci, cm) in enumerate(samples):
            for s in range(12 - len(ci) + 1):
                if ids[s:s + len(ci)] == ci:
                    assert mask[s:s + len(ci)] == cm
                    found[i] = found.get(i, 0) + 1
        assert all(m == 0 for t, m in zip(ids, mask) if t == PAD)
    assert found == {i: 1 for i in range(7)}
    assert int(rows.mask.sum()) == sum(sum(m) for _, m in samples)


def test_pack_truncates_and_drops_untrained():
    rows = pack([_conv(30, 0), ([1, 2, 3], [0, 0, 0])], seq_len=15, pad_id=PAD)
    assert len(rows) == 1 and rows.n_truncated == 1 and rows.n_conversations == 1


def test_batches_resume_exactly():
    rows = pack([_conv(4 + i % 5, 100 * i) for i in range(40)], seq_len=15, pad_id=PAD)
    a = RowBatches(rows, batch_size=3, seed=7)
    seq = [a.next_batch() for _ in range(25)]  # crosses epoch boundaries
    b = RowBatches(rows, batch_size=3, seed=7)
    for _ in range(10):
        b.next_batch()
    state = b.state_dict()
    c = RowBatches(rows, batch_size=3, seed=7)
    c.load_state_dict(state)
    for want in seq[10:]:
        got = c.next_batch()
        assert all(torch.equal(x, y) for x, y in zip(want, got))
    x, y, m = seq[0]
    assert torch.equal(x[:, 1:], y[:, :-1]) and m.dtype == torch.float32
