"""The FineWeb recipe as datatrove executors.

    filter  (tasks=N): read -> URL filter -> extract -> language ID -> Gopher repetition ->
                       Gopher quality -> C4 quality -> FineWeb quality -> _work/filtered/*.jsonl.gz
    sigs    (tasks=N): MinHash signatures of the filtered documents
    buckets (tasks=B): candidate pairs per LSH bucket
    cluster (tasks=1): duplicate clusters -> ids to remove (one document kept per cluster)
    final   (tasks=N): drop duplicates -> PII masking -> docs/<rank>.parquet (atomic)

Each executor keeps per-task completion markers and per-task stats in _work/logs/<name>/, so a
killed run started again redoes only the unfinished tasks, and because every task rewrites its
outputs whole, the result is identical to an uninterrupted run. `make_executor` is the one place
that knows the executor class: `local_executor` (the default), `ray_executor` (datatrove's
RayPipelineExecutor on a running Ray cluster, `chatforge data --executor ray`), or your own
(SlurmPipelineExecutor, docs/data.md). A task runs the same steps on the same files whatever
runs it, so every executor writes the same documents in the same order.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor, RayPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
from loguru import logger

from chatforge.core.errors import UserError
from chatforge.data.config import DataConfig
from chatforge.data.inputs import InputFile
from chatforge.data.steps import (
    EnsureShard,
    Extract,
    FastEnglishTokenizer,
    InputReader,
    LanguageID,
    RejectSampler,
    ShardWriter,
)
from chatforge.data.urlfilter import URLFilter

# datatrove's MinHash cluster step draws a tqdm bar; tqdm reads this when it is first imported
os.environ.setdefault("TQDM_DISABLE", "1")


def local_executor(pipeline, tasks: int, workers: int, logging_dir: str, depends=None):
    """The default: run_pipelines runs the stages in order itself, so `depends` is not passed
    on (datatrove's local executor would poll an unfinished dependency every 2 minutes)."""

    return LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                                 logging_dir=logging_dir, skip_completed=True, start_method="fork")


EXECUTORS = ("local", "ray")


def connect_ray(address: str) -> None:
    """Attach this process to a running Ray cluster (`ray start --head`, or RAY_ADDRESS), once.
    Everything that can go wrong here is setup, so it ends in one sentence."""

    try:
        import ray  # noqa: PLC0415 - optional: ray
    except ImportError:
        raise UserError("the ray executor needs the ray package: pip install -e '.[ray]' -c "
                        "constraints.txt (or pip install ray).") from None
    if ray.is_initialized():
        return
    fail = (f"cannot reach a Ray cluster at address '{address}' ({{}}); start one with `ray start "
            "--head` from this environment, or pass its address with --ray-address.")
    reason = _probe_gcs(address)
    if reason:
        raise UserError(fail.format(reason))
    try:
        # log_to_driver off: each task's log is copied to _work/logs/<stage>/logs/ by datatrove
        ray.init(address=address, log_to_driver=False, logging_level="ERROR",
                 runtime_env={"env_vars": {"TQDM_DISABLE": "1"}})
    except Exception as e:  # ConnectionError, a bad address, a version mismatch...
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise UserError(fail.format(msg)) from None


def _probe_gcs(address: str) -> str | None:
    """Why the cluster's head (GCS) at `address` cannot be reached, or None. ray.init retries a
    dead host:port for minutes, so a refused TCP connection is caught here first."""

    if address.startswith("ray://"):  # Ray Client: ray.init reports it itself
        return None
    host_port = address
    if address == "auto":
        try:  # where `ray start` recorded its cluster (or $RAY_ADDRESS); private, hence the guard
            from ray._private.services import canonicalize_bootstrap_address_or_die  # noqa: PLC0415 - optional: ray

            host_port = canonicalize_bootstrap_address_or_die("auto")
        except ConnectionError as e:
            return (str(e).strip().splitlines() or ["no running cluster found"])[0][:200]
        except Exception:  # another ray version: leave it to ray.init
            return None
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        return "expected host:port, auto or ray://host:port"
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as e:
        return f"{host_port}: {e.strerror or e}"
    return None


def ray_executor(pipeline, tasks: int, workers: int, logging_dir: str, depends=None):
    """datatrove's RayPipelineExecutor: one Ray actor (1 CPU) per task, at most `workers` at
    once. The cluster's nodes must see `logging_dir` and the inputs/outputs at the same paths (one
    machine, or a shared filesystem). `depends` is not passed on, as for the local executor:
    run_pipelines runs the stages in order, and datatrove's Ray executor would poll an unfinished
    dependency every 2 minutes rather than fail."""
    # its constructor warns, for every stage, that a local logging_dir must be shared by the nodes
    logger.disable("datatrove.executor.ray")
    try:
        return RayPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                                   logging_dir=logging_dir, skip_completed=True, cpus_per_task=1,
                                   mem_per_cpu_gb=1)
    finally:
        logger.enable("datatrove.executor.ray")


def _filters(cfg: DataConfig, files: list[InputFile], rejected: str) -> list[tuple[str, object]]:
    """The per-document steps, in order: read, URL filter, extract, language, quality filters."""
    tok = FastEnglishTokenizer()

    def rej(step: str, f):
        f.exclusion_writer = RejectSampler(rejected, step, cfg.rejected_samples)
        return f

    steps: list[tuple[str, object]] = [("read", InputReader(files, cfg.max_doc_bytes))]
    if cfg.url_filter:
        steps.append(("url_filter", rej("url_filter", URLFilter(
            cfg.url_soft_word_threshold, cfg.url_extra_domains, cfg.url_extra_banned_words))))
    steps.append(("extract", rej("extract", Extract(cfg.extractor))))
    steps.append(("language", rej("language", LanguageID(cfg.langid_backend, cfg.languages,
                                                         cfg.language_threshold))))
    if cfg.gopher_repetition:
        steps.append(("gopher_repetition", rej("gopher_repetition", GopherRepetitionFilter(
            dup_line_frac=cfg.dup_line_frac, dup_para_frac=cfg.dup_para_frac,
            dup_line_char_frac=cfg.dup_line_char_frac, dup_para_char_frac=cfg.dup_para_char_frac,
            top_n_grams=tuple(zip((2, 3, 4), cfg.top_ngram_fracs)),
            dup_n_grams=tuple(zip(range(5, 11), cfg.dup_ngram_fracs)), language=tok))))
    if cfg.gopher_quality:
        steps.append(("gopher_quality", rej("gopher_quality", GopherQualityFilter(
            min_doc_words=cfg.min_doc_words, max_doc_words=cfg.max_doc_words,
            min_avg_word_length=cfg.min_avg_word_length, max_avg_word_length=cfg.max_avg_word_length,
            max_symbol_word_ratio=cfg.max_symbol_word_ratio,
            max_bullet_lines_ratio=cfg.max_bullet_lines_ratio,
            max_ellipsis_lines_ratio=cfg.max_ellipsis_lines_ratio,
            max_non_alpha_words_ratio=cfg.max_non_alpha_words_ratio,
            min_stop_words=cfg.min_stop_words, language=tok))))
    if cfg.c4_quality:
        steps.append(("c4_quality", rej("c4_quality", C4QualityFilter(
            filter_no_terminal_punct=False, language=tok))))
    if cfg.fineweb_quality:
        steps.append(("fineweb_quality", rej("fineweb_quality", FineWebQualityFilter(
            line_punct_thr=cfg.line_punct_thr, short_line_thr=cfg.short_line_thr,
            char_duplicates_ratio=cfg.char_duplicates_ratio, new_line_ratio=cfg.new_line_ratio,
            language=tok))))
    return steps


def _minhash(cfg: DataConfig, work: Path, filtered: str, tasks: int, workers: int, filt,
             make_executor: Callable) -> list[tuple[str, object, list[str]]]:
    """The three MinHash deduplication pipelines: signatures, buckets, clusters."""
    logs = work / "logs"
    mh = MinhashConfig(n_grams=cfg.minhash_ngrams, num_buckets=cfg.minhash_buckets,
                       hashes_per_bucket=cfg.minhash_hashes_per_bucket,
                       # datatrove 0.10's xxhash path is handed str and fails; sha1 is its other choice
                       hash_config=HashConfig(precision=64, hash_fc="sha1"))
    sigs = make_executor([JsonlReader(filtered),
                          MinhashDedupSignature(str(work / "sigs"), config=mh,
                                                language=FastEnglishTokenizer())],
                         tasks, workers, str(logs / "sigs"), depends=filt)
    buckets = make_executor([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=mh)],
                            cfg.minhash_buckets, workers, str(logs / "buckets"), depends=sigs)
    cluster = make_executor([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=mh)],
                            1, 1, str(logs / "cluster"), depends=buckets)
    return [("sigs", sigs, ["read_filtered", "minhash_signatures"]),
            ("buckets", buckets, ["minhash_buckets"]),
            ("cluster", cluster, ["minhash_cluster"])]


def build_pipelines(cfg: DataConfig, files: list[InputFile], out: Path,
                    make_executor: Callable = local_executor) -> list[tuple[str, object, list[str]]]:
    """[(name, executor, step labels)] in run order."""
    work = out / "_work"
    tasks = max(1, min(cfg.tasks, max(1, len(files))))
    workers = max(1, cfg.workers)
    rejected = str(work / "rejected")
    steps = _filters(cfg, files, rejected)
    filtered = str(work / "filtered")
    steps.append(("write_filtered", JsonlWriter(filtered, output_filename="${rank}.jsonl.gz")))
    steps.append(("ensure_filtered", EnsureShard(filtered)))

    logs = work / "logs"
    plans: list[tuple[str, object, list[str]]] = []
    filt = make_executor([s for _, s in steps], tasks, workers, str(logs / "filter"), depends=None)
    plans.append(("filter", filt, [n for n, _ in steps]))

    final_steps: list[tuple[str, object]] = [("read_filtered", JsonlReader(filtered))]
    if cfg.minhash:
        plans += _minhash(cfg, work, filtered, tasks, workers, filt, make_executor)
        final_steps.append(("minhash_dedup", MinhashDedupFilter(
            str(work / "remove"),
            exclusion_writer=RejectSampler(rejected, "near-duplicate", cfg.rejected_samples))))
    if cfg.pii:
        final_steps.append(("pii", PIIFormatter(email_replacement=cfg.email_replacement,
                                                ip_replacement=cfg.ip_replacement)))
    final_steps.append(("write_docs", ShardWriter(str(out / "docs"))))
    final = make_executor([s for _, s in final_steps], tasks, workers, str(logs / "final"),
                          depends=plans[-1][1])
    plans.append(("final", final, [n for n, _ in final_steps]))
    return plans


def run_pipelines(plans, on_start: Callable[[str], None] | None = None) -> None:
    for name, ex, _ in plans:
        if on_start:
            on_start(name)
        ex.run()
        # The local executor raises a failed task's error; the Ray executor logs it and returns,
        # so a stage only counts as run when every task left its completion marker.
        left = ex.get_incomplete_ranks(range(ex.world_size), skip_completed=True)
        if left:
            raise UserError(f"{len(left)} of {ex.world_size} tasks of datatrove stage '{name}' did "
                            f"not finish; their logs are in {ex.logging_dir.path}/logs/ (a rerun "
                            "redoes only those tasks).")
