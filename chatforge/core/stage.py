"""What a stage declares about itself, and the ordered pipeline of stages.

Each stage package declares one `Stage` beside its code: its name (also its folder in the run
directory), the function that runs it, the config sections it owns, the stages whose outputs it
reads, the dependency checks it needs before it touches any input, and the sections it adds to
the report card. `chatforge.pipeline` lists the declarations in order; nothing in `core` names a
stage. A pipeline whose stage names clash, or whose stage needs a stage that is not earlier in
it, does not build: a misspelled name is an error, not a silently skipped stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatforge.core.deps import Check
from chatforge.core.errors import UserError

ReportSection = Callable[[Path], Any]  # run directory -> a report.doc.Section (None: nothing to show)


def no_checks(cfg: Any = None) -> list[Check]:
    return []


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Any], dict]  # run(ctx: StageContext) -> the metrics for metrics.json
    config: dict[str, type] = field(default_factory=dict)  # config sections it owns: name -> dataclass
    needs: tuple[str, ...] = ()  # stages whose outputs it reads
    decides: tuple[str, ...] | None = None  # sections whose values make its outputs stale (default: its own)
    checks: Callable[[Any], list[Check]] = no_checks  # checks(cfg or None: every option) -> what must work
    report: tuple[ReportSection, ...] = ()  # its sections of the report card, in order
    # idle(cfg): under this config it has nothing to do (the import stage with no source), so the
    # stages that need it do not wait for it
    idle: Callable[[Any], bool] = lambda cfg: False

    @property
    def sections(self) -> tuple[str, ...]:
        return self.decides if self.decides is not None else tuple(self.config)


class Pipeline:
    """Stages in order, the config sections they (and commands) own, and the report's sections."""

    def __init__(self, stages: Iterable[Stage], *, sections: dict[str, type] | None = None,
                 reports: Iterable[ReportSection] = (),
                 checks: dict[str, Callable[[Any], list[Check]]] | None = None):
        self.stages: tuple[Stage, ...] = tuple(stages)
        self.sections: dict[str, type] = {}
        seen: list[str] = []
        for s in self.stages:
            if s.name in seen:
                raise ValueError(f"the pipeline lists the stage '{s.name}' twice.")
            for need in s.needs:
                if need not in seen:
                    raise ValueError(f"stage '{s.name}' needs '{need}', which is not an earlier stage of the "
                                     f"pipeline (earlier: {', '.join(seen) or 'none'}).")
            seen.append(s.name)
            self._add_sections(s.config, s.name)
        self._add_sections(sections or {}, "the pipeline")
        for s in self.stages:
            missing = [x for x in s.sections if x not in self.sections]
            if missing:
                raise ValueError(f"stage '{s.name}' is decided by config section '{missing[0]}', "
                                 "which nothing owns.")
        self.reports: tuple[ReportSection, ...] = (tuple(r for s in self.stages for r in s.report)
                                                   + tuple(reports))
        self.command_checks = dict(checks or {})  # commands that are not stages (export, serve)

    def _add_sections(self, sections: dict[str, type], owner: str) -> None:
        for name, cls in sections.items():
            if name in self.sections and self.sections[name] is not cls:
                raise ValueError(f"config section '{name}' is owned twice ({owner}).")
            self.sections[name] = cls

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise UserError(f"unknown stage '{name}' (stages: {', '.join(self.names)}).")

    def needs(self, stage: Stage) -> list[Stage]:
        return [self.stage(n) for n in stage.needs]

    def all_checks(self) -> list[tuple[str, list[Check]]]:
        """(stage or command, its checks with every option on), in pipeline order: what doctor runs."""
        out = [(s.name, s.checks(None)) for s in self.stages]
        return out + [(name, fn(None)) for name, fn in self.command_checks.items()]
