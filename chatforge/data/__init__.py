"""The data stage: raw crawl (WARC / HTML / JSONL / parquet) -> clean, deduplicated documents.

`iter_documents(D)` is the contract for later stages; it needs only pyarrow (no datatrove).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from chatforge.core.errors import UserError
from chatforge.core.stage import Stage
from chatforge.data import card
from chatforge.data.checks import checks
from chatforge.data.config import DataConfig


def iter_documents(data_dir: str | Path, columns: list[str] | None = None) -> Iterator[dict]:
    """Yield {id, url, text, ...} from D/docs/*.parquet, shards in sorted order, rows in order."""
    import pyarrow.parquet as pq  # noqa: PLC0415 - pyarrow: start-up time

    docs = Path(data_dir) / "docs"
    if not docs.is_dir():
        raise UserError(f"no documents in {data_dir} (expected {docs}/*.parquet); "
                        "run `chatforge data` first.")
    for shard in sorted(docs.glob("*.parquet")):
        pf = pq.ParquetFile(shard)
        for batch in pf.iter_batches(batch_size=1024, columns=columns):
            yield from batch.to_pylist()



def _run(ctx) -> dict:
    from chatforge.data.stage import run  # noqa: PLC0415 - start-up time

    return run(ctx)


STAGE = Stage("data", _run, config={"data": DataConfig}, needs=("world",), checks=checks,
              report=(card.section,))

__all__ = ["STAGE", "iter_documents"]
