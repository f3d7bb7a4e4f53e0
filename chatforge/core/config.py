"""Configuration: one dataclass per section, presets as TOML files, `--set section.key=value`.

A resolved `Config` holds one instance per section it is given: the sections the pipeline's
stages (and commands) declare (`chatforge.pipeline.load_config` passes them).
Presets live in `chatforge/presets/<name>.toml`; a preset may say `extends = "other"` to start
from another preset. Every key is checked against its dataclass: an unknown key or a value of
the wrong type is one clear UserError naming the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from chatforge.core.errors import UserError


@dataclass
class RunConfig:
    """Settings shared by every stage."""

    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | mps
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default
    # stages this run leaves out (a preset's choice: `smol` has no RL stages yet); a stage that
    # reads a left-out stage's outputs stops with a sentence, the eval stage evaluates what exists
    skip: list[str] = field(default_factory=list)


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(_type_name(a) for a in args) + " (or none)"
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        return f"a list of {_type_name(inner)}"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert `value` (a TOML value or a command-line string) to type `tp`, or raise UserError."""
    origin = typing.get_origin(tp)
    bad = UserError(f"config key '{key}' expects {_type_name(tp)}, got {value!r}.")
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        for a in args:
            try:
                return coerce(value, a, key)
            except UserError:
                continue
        raise bad
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        if isinstance(value, str):
            s = value.strip()
            if s.startswith("["):
                try:
                    value = json.loads(s)
                except json.JSONDecodeError:
                    raise bad from None
            else:
                value = [v.strip() for v in s.split(",") if v.strip()] if s else []
        if not isinstance(value, (list, tuple)):
            raise bad
        items = [coerce(v, inner, key) if inner is not Any else v for v in value]
        return items if origin is list else tuple(items)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise bad
    if tp is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                try:
                    f = float(value)
                except ValueError:
                    raise bad from None
                if f.is_integer():
                    return int(f)
        raise bad
    if tp is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    return value


class Config:
    """The resolved configuration of a run: `cfg.pretrain.steps`, `cfg.run.seed`, ..."""

    def __init__(self, sections: dict[str, Any], preset: str = "custom"):
        self._sections = sections
        self.preset = preset

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_sections"][name]
        except KeyError:
            raise AttributeError(f"no config section '{name}'") from None

    def has(self, name: str) -> bool:
        return name in self._sections

    def section_names(self) -> list[str]:
        return list(self._sections)

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, **{k: dataclasses.asdict(v) for k, v in self._sections.items()}}

    def section_hash(self, *names: str) -> str:
        """Stable hash of some sections (plus the run seed), used by the completion protocol."""
        blob = {n: dataclasses.asdict(self._sections[n]) for n in names if n in self._sections}
        blob["run.seed"] = self._sections["run"].seed
        return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def set(self, key: str, value: Any) -> None:
        """Apply one override `section.key` = value (string or already typed)."""
        section, _, field = key.partition(".")
        if not field:
            raise UserError(f"config override '{key}' must look like section.key=value.")
        if section not in self._sections:
            raise UserError(
                f"unknown config section '{section}' (known: {', '.join(self._sections)})."
            )
        obj = self._sections[section]
        types_ = _field_types(type(obj))
        if field not in types_:
            names = ", ".join(f.name for f in fields(obj))
            raise UserError(f"unknown config key '{section}.{field}' ({section} has: {names}).")
        setattr(obj, field, coerce(value, types_[field], f"{section}.{field}"))


def _preset_text(name: str) -> str:
    if "/" in name or name.endswith(".toml"):
        p = Path(name)
        if not p.is_file():
            raise UserError(f"preset file '{name}' does not exist.")
        return p.read_text()
    res = importlib.resources.files("chatforge.presets") / f"{name}.toml"
    if not res.is_file():
        raise UserError(f"unknown preset '{name}' (available: {', '.join(list_presets())}).")
    return res.read_text()


def list_presets() -> list[str]:
    root = importlib.resources.files("chatforge.presets")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


def _preset_values(name: str, seen: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    if name in seen:
        raise UserError(f"preset '{name}' extends itself through {' -> '.join(seen)}.")
    try:
        data = tomllib.loads(_preset_text(name))
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"preset '{name}' is not valid TOML: {e}.") from None
    base: dict[str, dict[str, Any]] = {}
    parent = data.pop("extends", None)
    if parent:
        base = _preset_values(parent, seen + (name,))
    for section, values in data.items():
        if not isinstance(values, dict):
            raise UserError(f"preset '{name}': top-level key '{section}' must be a [section] table.")
        base.setdefault(section, {}).update(values)
    return base


def build_config(values: dict[str, dict[str, Any]], sections: dict[str, type],
                 preset: str = "custom") -> Config:
    """Instantiate every section with its defaults, then apply `values` with type checks."""
    cfg = Config({"run": RunConfig(), **{n: cls() for n, cls in sections.items()}}, preset)
    for section, kv in values.items():
        if not isinstance(kv, dict):
            raise UserError(f"config section '{section}' must be a table of keys.")
        for key, value in kv.items():
            cfg.set(f"{section}.{key}", value)
    return cfg


def load_config(preset: str | None = None, overrides: list[str] | None = None,
                saved: dict[str, Any] | None = None, *, sections: dict[str, type]) -> Config:
    """Resolve a config of these `sections`: a preset (default 'cpu') or a saved run config, then
    `--set` overrides."""
    if preset is None and saved is not None:
        name = saved.get("preset", "custom")
        cfg = build_config({k: v for k, v in saved.items() if k != "preset"}, sections, name)
    else:
        name = preset or "cpu"
        cfg = build_config(_preset_values(name), sections, name)
    for item in overrides or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"override '{item}' must look like section.key=value.")
        cfg.set(key.strip(), value.strip())
    return cfg


def preset_section(preset: str, section: str, cls: type) -> Any:
    """One section of a preset (with its `extends` chain), type-checked, defaults where unset."""
    return getattr(build_config({section: _preset_values(preset).get(section, {})}, {section: cls}, preset),
                   section)
