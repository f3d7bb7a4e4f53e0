"""The run directory and the stage completion protocol.

    runs/<name>/
      config.json             the resolved config of the latest invocation
      <stage>/                one directory per stage
        _STARTED.json         hashes the stage was started with (so a resume can trust the dir)
        _COMPLETE.json        written last: config hash, inputs hash, wall time
        metrics.json          the stage's summary metrics
        metrics.jsonl         the stage's event stream (losses, samples, ...)

A stage is complete when `_COMPLETE.json` exists and its hashes match the current config
section(s) and the completion markers of the stages it reads. Running a complete stage skips it;
a changed config or changed inputs re-run it. A stage started with other hashes is moved aside to
`<stage>.prev/` before the new run starts, so nothing is overwritten in place and nothing
finished is thrown away without a trace. A stage interrupted with the same hashes is resumed:
the directory is left as it is and the stage continues from what it finds.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatforge.core.atomic import atomic_write_json, read_json
from chatforge.core.config import Config
from chatforge.core.deps import require
from chatforge.core.errors import UserError
from chatforge.core.log import Logger, say
from chatforge.core.stage import Pipeline, Stage

COMPLETE = "_COMPLETE.json"
STARTED = "_STARTED.json"


@dataclass
class StageContext:
    """What a stage's run() gets: where to write, what config, how to log, where inputs are."""

    name: str
    run_dir: Path
    out: Path
    config: Config
    log: Logger
    resuming: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # command-line extras a stage accepts
    pipeline: Pipeline | None = None  # the pipeline it runs in (the report reads every stage's sections)

    def input_dir(self, stage: str) -> Path:
        """The output directory of an earlier stage; it must be complete."""
        d = self.run_dir / stage
        if stage in self.config.run.skip:
            raise UserError(f"stage '{self.name}' reads the '{stage}' stage's outputs, which this run "
                            f"leaves out (run.skip = {self.config.run.skip}).")
        if not (d / COMPLETE).exists():
            raise UserError(
                f"stage '{self.name}' needs the '{stage}' stage of {self.run_dir} "
                f"(run `chatforge {stage} --run-dir {self.run_dir}` or `chatforge run` first)."
            )
        return d


def validate_run_dir(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"run directory '{run_dir}' exists and is not a directory.")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not (run_dir / "config.json").exists():
        raise UserError(
            f"'{run_dir}' is not empty and is not a chatforge run directory (no config.json); "
            "choose another --run-dir."
        )
    return run_dir


def save_config(run_dir: Path, cfg: Config) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "config.json", cfg.to_dict())


def saved_config(run_dir: Path) -> dict[str, Any] | None:
    return read_json(Path(run_dir) / "config.json")


def stage_hashes(pipeline: Pipeline, spec: Stage, run_dir: Path, cfg: Config) -> dict[str, str]:
    """The config hash of this stage and the hash of its inputs (its deps' completion markers)."""
    h = hashlib.sha256()
    for dep in pipeline.needs(spec):
        if dep.name in cfg.run.skip or dep.idle(cfg):
            h.update(f"{dep.name}:{'left out' if dep.name in cfg.run.skip else 'idle'}".encode())
            continue
        marker = read_json(run_dir / dep.name / COMPLETE) or {}
        h.update(f"{dep.name}:{marker.get('config_hash')}:{marker.get('inputs_hash')}:"
                 f"{marker.get('finished_at')}".encode())
    return {"config_hash": cfg.section_hash(*spec.sections), "inputs_hash": h.hexdigest()[:16]}


def is_complete(pipeline: Pipeline, spec: Stage, run_dir: Path, cfg: Config) -> bool:
    marker = read_json(run_dir / spec.name / COMPLETE)
    if not marker:
        return False
    want = stage_hashes(pipeline, spec, run_dir, cfg)
    return all(marker.get(k) == v for k, v in want.items())


def check_deps(pipeline: Pipeline, spec: Stage, run_dir: Path, cfg: Config) -> None:
    """Raise a UserError naming the first earlier stage that is missing or stale."""
    for dep in pipeline.needs(spec):
        if dep.name in cfg.run.skip or dep.idle(cfg):
            continue
        if not is_complete(pipeline, dep, Path(run_dir), cfg):
            raise UserError(
                f"stage '{spec.name}' needs the '{dep.name}' stage of {run_dir} to be complete with "
                f"this config (run `chatforge run --run-dir {run_dir}` first)."
            )


def _move_aside(out: Path, run_dir: Path, name: str) -> None:
    """Outputs started with other hashes go to <stage>.prev/ (an empty folder is just removed)."""
    if any(out.iterdir()):
        prev = run_dir / f"{name}.prev"
        if prev.exists():
            shutil.rmtree(prev)
        out.rename(prev)
        say(f"[{name}] config or inputs changed: previous outputs moved to {prev}")
    else:
        out.rmdir()


def run_stage(pipeline: Pipeline, name: str, run_dir: Path, cfg: Config, force: bool = False,
              extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Run one stage under the protocol. Returns its metrics, or None when it was skipped."""
    spec = pipeline.stage(name)
    run_dir = Path(run_dir)
    out = run_dir / name
    if name in cfg.run.skip:
        raise UserError(f"this run leaves the '{name}' stage out (run.skip = {cfg.run.skip}); "
                        f"drop it from run.skip to run it.")
    check_deps(pipeline, spec, run_dir, cfg)
    hashes = stage_hashes(pipeline, spec, run_dir, cfg)
    if not force and is_complete(pipeline, spec, run_dir, cfg):
        say(f"[{name}] complete, skipping ({out})")
        return None
    require(name, spec.checks(cfg))  # the packages it needs load and work, before anything is written
    started = read_json(out / STARTED)
    resuming = bool(started) and all(started.get(k) == v for k, v in hashes.items()) and not force
    if out.exists() and not resuming:
        _move_aside(out, run_dir, name)
    out.mkdir(parents=True, exist_ok=True)
    (out / COMPLETE).unlink(missing_ok=True)
    atomic_write_json(out / STARTED, {**hashes, "started_at": time.time()})
    ctx = StageContext(name=name, run_dir=run_dir, out=out, config=cfg,
                       log=Logger(out / "metrics.jsonl", prefix=name), resuming=resuming,
                       extra=dict(extra or {}), pipeline=pipeline)
    say(f"[{name}] {'resuming' if resuming else 'starting'} -> {out}")
    t0 = time.perf_counter()
    metrics = spec.run(ctx) or {}
    wall = time.perf_counter() - t0
    metrics = {**metrics, "wall_s": round(wall, 2)}
    atomic_write_json(out / "metrics.json", metrics)
    atomic_write_json(out / COMPLETE, {**hashes, "finished_at": time.time(), "wall_s": round(wall, 2)})
    say(f"[{name}] done in {wall:.1f}s -> {out}")
    return metrics
