"""Atomic writes leave the old file or the new one, never a torn file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from chatforge.core.atomic import atomic_dir, atomic_path, atomic_write_json, atomic_write_text, read_json


def test_write_and_read(tmp_path):
    atomic_write_json(tmp_path / "a" / "b.json", {"x": 1})
    assert read_json(tmp_path / "a" / "b.json") == {"x": 1}
    assert read_json(tmp_path / "missing.json", default=3) == 3


def test_exception_keeps_old_content(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise ValueError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_atomic_dir_replaces_whole(tmp_path):
    d = tmp_path / "d"
    with atomic_dir(d) as tmp:
        (tmp / "one").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_dir(d) as tmp:
            (tmp / "two").write_text("2")
            raise RuntimeError
    assert sorted(os.listdir(d)) == ["one"]
    with atomic_dir(d) as tmp:
        (tmp / "two").write_text("2")
    assert sorted(os.listdir(d)) == ["two"]


def test_sigkill_mid_write_leaves_old_file(tmp_path):
    target = tmp_path / "big.bin"
    atomic_write_text(target, "old")
    code = f"""
import sys, time
from chatforge.core.atomic import atomic_path
with atomic_path({str(target)!r}) as tmp:
    with open(tmp, "wb") as f:
        f.write(b"x" * 1_000_000)
        f.flush()
        print("writing", flush=True)
        time.sleep(60)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_text() == "old"
