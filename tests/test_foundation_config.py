"""Config presets, overrides and their error messages."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from chatforge.core.config import Config, RunConfig, coerce, list_presets
from chatforge.core.errors import UserError
from chatforge.pipeline import load_config


def test_presets_ship_with_the_package():
    from chatforge.pretrain.stage import _validate

    assert {"smoke", "cpu", "laptop"} <= set(list_presets())
    for name in ("smoke", "cpu", "laptop"):
        cfg = load_config(name)
        assert cfg.preset == name
        assert isinstance(cfg.run.seed, int)
        _validate(cfg.pretrain)  # every shipped preset passes its own stage's checks
    laptop = load_config("laptop")
    assert laptop.pretrain.init == "induction" and laptop.sft.reading_rows == 2
    assert laptop.model == dataclasses.replace(load_config("cpu").model, rope_theta=1e6)  # cpu's model


def test_override_is_typed():
    cfg = load_config("smoke", ["run.seed=42", "run.device=cpu"])
    assert cfg.run.seed == 42 and cfg.run.device == "cpu"


@pytest.mark.parametrize("override, needle", [
    ("run.nosuch=1", "run.nosuch"),
    ("nosuch.key=1", "nosuch"),
    ("run.seed=abc", "run.seed"),
    ("run.seed", "section.key=value"),
    ("seed=1", "section.key"),
])
def test_bad_override_names_the_key(override, needle):
    with pytest.raises(UserError) as e:
        load_config("smoke", [override])
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_preset():
    with pytest.raises(UserError, match="unknown preset 'nosuch'"):
        load_config("nosuch")


def test_preset_file_with_extends(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text('extends = "smoke"\n[run]\nseed = 7\n')
    cfg = load_config(str(p))
    assert cfg.run.seed == 7
    bad = tmp_path / "bad.toml"
    bad.write_text("[run]\nseed = 'x'\n")
    with pytest.raises(UserError, match="run.seed"):
        load_config(str(bad))
    loop = tmp_path / "loop.toml"
    loop.write_text(f'extends = "{loop}"\n')
    with pytest.raises(UserError, match="extends itself"):
        load_config(str(loop))


@dataclass
class _Typed:
    n: int = 1
    x: float = 0.5
    flag: bool = False
    name: str = "a"
    maybe: int | None = None
    names: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)


def test_coercion_of_every_supported_type():
    cfg = Config({"run": RunConfig(), "t": _Typed()})
    cfg.set("t.n", "1_000")
    cfg.set("t.x", "3e-4")
    cfg.set("t.flag", "yes")
    cfg.set("t.maybe", "none")
    cfg.set("t.names", "a, b")
    cfg.set("t.sizes", "[1, 2, 3]")
    assert (cfg.t.n, cfg.t.x, cfg.t.flag, cfg.t.maybe) == (1000, 3e-4, True, None)
    assert cfg.t.names == ["a", "b"] and cfg.t.sizes == [1, 2, 3]
    cfg.set("t.maybe", "5")
    assert cfg.t.maybe == 5
    for key, value in [("t.n", "1.5"), ("t.flag", "maybe"), ("t.sizes", "[1, 'x']"), ("t.n", True)]:
        with pytest.raises(UserError):
            cfg.set(key, value)
    assert coerce(2, float, "k") == 2.0


def test_saved_config_round_trips():
    cfg = load_config("smoke", ["run.seed=9"])
    again = load_config(None, saved=cfg.to_dict())
    assert again.to_dict() == cfg.to_dict()
    assert again.section_hash("run") == cfg.section_hash("run")
