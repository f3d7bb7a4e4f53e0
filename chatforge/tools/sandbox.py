"""Run untrusted Python in a separate, confined, short-lived process.

The layers, outermost first (docs/tools.md says what each does and does not stop):
- a fresh interpreter `python -I -S -u`: no site-packages, no PYTHON* variables, no user site;
  a scrubbed environment; an empty temporary working directory that is deleted afterwards;
- its own session/process group, killed as a whole at the wall-clock timeout;
- resource limits: CPU seconds, address space, file size, processes, open files, no core dumps;
- a network namespace of its own (no interfaces but a down loopback) where the OS allows;
- Landlock (Linux >= 5.13): reads only of the interpreter and system libraries, writes only in
  the working directory, no TCP, no signals to processes outside the sandbox;
- as root: a throwaway uid/gid per run, so file permissions, RLIMIT_NPROC and the final sweep
  ("kill every process of this uid") apply to the sandbox alone;
- an audit hook inside the interpreter that refuses subprocesses, sockets, ctypes and file access
  outside the working directory with a readable message.
The setup runs in the child (see _sandbox_child.py), never in a preexec_fn: the parent may be a
multi-threaded inference server, where code between fork and exec can deadlock.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from chatforge.tools.config import ToolsConfig

# exit codes the child uses for an uncaught failure that a limit caused (see _sandbox_child.py)
_EXIT_LABELS = {90: "memory", 91: "policy", 92: "nproc", 93: "file_size", 94: "network",
                95: "permission", 99: "setup"}


@dataclass
class SandboxLimits:
    timeout_s: float = 5.0
    cpu_s: int = 3
    memory_mb: int = 512
    file_mb: int = 8
    max_procs: int = 8
    max_open_files: int = 64
    max_output: int = 4000
    max_code_bytes: int = 100_000

    @classmethod
    def from_config(cls, cfg: ToolsConfig) -> SandboxLimits:
        return cls(timeout_s=cfg.python_timeout_s, cpu_s=cfg.python_cpu_s,
                   memory_mb=cfg.python_memory_mb, file_mb=cfg.python_file_mb,
                   max_procs=cfg.python_max_procs, max_open_files=cfg.python_max_open_files,
                   max_output=cfg.python_max_output)


@dataclass
class SandboxResult:
    ok: bool
    output: str  # stdout and stderr interleaved, as the code wrote them (possibly truncated)
    error: str | None = None
    # timeout | cpu | memory | output | nproc | file_size | network | permission | policy | crash | setup
    limit: str | None = None
    exit_code: int | None = None
    layers: list[str] = field(default_factory=list)  # the isolation layers that took effect
    wall_s: float = 0.0


@functools.lru_cache(maxsize=1)
def _child_source() -> str:
    return (Path(__file__).with_name("_sandbox_child.py")).read_text()


def _interpreter() -> str:
    # the base interpreter: a venv's python is a symlink to it, and -S ignores the venv anyway
    return getattr(sys, "_base_executable", None) or sys.executable


def _throwaway_id() -> int:
    # far above any real account; unique per run so the process sweep and RLIMIT_NPROC see
    # this sandbox only, even with many sandboxes running side by side
    return 1_000_000_000 + secrets.randbelow(1_000_000_000)


def _kill_uid(uid: int) -> int:
    """SIGKILL every live process owned by `uid` (race-free through pidfds). Returns how many."""
    killed = 0
    if not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"):
        return 0
    for _ in range(50):
        found = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                if os.stat(f"/proc/{name}").st_uid != uid:
                    continue
                fd = os.pidfd_open(int(name))
            except OSError:
                continue
            try:
                # re-check through the pinned pid: the number may have been reused meanwhile
                with open(f"/proc/{name}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[-1].split()[0]
                if state != b"Z" and os.stat(f"/proc/{name}").st_uid == uid:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                    found += 1
            except OSError:
                pass
            finally:
                os.close(fd)
        if not found:
            break
        killed += found
        time.sleep(0.01)
    return killed


def _last_line(text: str) -> str:
    for line in reversed(text.strip().splitlines()):
        if line.strip():
            return line.strip()[:200]
    return ""


def run_python(code: str, limits: SandboxLimits | None = None, *, policy: bool = True,
               landlock: bool = True, network_isolation: bool = True,
               preload: tuple[str, ...] = ()) -> SandboxResult:
    """Run `code` in a fresh sandboxed interpreter and return what it printed and how it ended.

    `policy`, `landlock` and `network_isolation` exist so the tests can switch one layer off and
    show that the others still hold; leave them on. `preload` names extra modules to import
    before privileges are dropped (a Python under /root is unreadable to the sandbox uid).
    """
    lim = limits or SandboxLimits()
    data = code.encode("utf-8", "replace")
    if len(data) > lim.max_code_bytes:
        return SandboxResult(False, "", f"code too long (limit {lim.max_code_bytes} bytes)", "setup")
    t0 = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="chatforge-sandbox-")
    uid = gid = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        uid = gid = _throwaway_id()
        os.chown(workdir, uid, gid)
    os.chmod(workdir, 0o700)
    settings = {"workdir": workdir, "uid": "" if uid is None else uid, "gid": "" if gid is None else gid,
                "cpu_s": max(1, int(lim.cpu_s)), "memory_mb": int(lim.memory_mb), "file_mb": int(lim.file_mb),
                "max_procs": int(lim.max_procs), "max_open_files": int(lim.max_open_files),
                "max_code_bytes": int(lim.max_code_bytes), "policy": int(policy), "landlock": int(landlock),
                "network_isolation": int(network_isolation), "preload": ",".join(preload)}
    r_status, w_status = os.pipe()
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "CHATFORGE_SANDBOX_STATUS_FD": str(w_status)}
    proc = None
    status = b""
    try:
        proc = subprocess.Popen(
            [_interpreter(), "-I", "-S", "-u", "-B", "-c", _child_source(),
             *(f"{k}={v}" for k, v in settings.items())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workdir,
            env=env, start_new_session=True, pass_fds=(w_status,), close_fds=True)
        os.close(w_status)
        w_status = -1
        try:  # the child reads all of stdin before anything else, so this cannot deadlock
            proc.stdin.write(data)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        out, status, why = _collect(proc, r_status, lim, t0)
    finally:
        if w_status >= 0:
            os.close(w_status)
        os.close(r_status)
        if proc is not None:
            # sweep by uid only when the throwaway uid took effect (not the nobody fallback)
            _reap(proc, uid if b'"uid"' in status else None)
        shutil.rmtree(workdir, ignore_errors=True)
    return _result(proc, out, status, why, lim, time.perf_counter() - t0)


def _collect(proc: subprocess.Popen, r_status: int, lim: SandboxLimits, t0: float):
    """Read output and status until the process exits, the deadline passes or output overflows."""
    out = bytearray()
    status = bytearray()
    fd_out = proc.stdout.fileno()
    open_fds = {fd_out, r_status}
    deadline = t0 + lim.timeout_s
    why = None
    while True:
        if proc.poll() is not None:
            # drain what the process left in the pipes; forked leftovers may hold them open,
            # so do not wait for EOF
            while open_fds:
                ready, _, _ = select.select(list(open_fds), [], [], 0)
                if not ready:
                    break
                for fd in ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        open_fds.discard(fd)
                    (out if fd == fd_out else status).extend(chunk)
            break
        left = deadline - time.perf_counter()
        if left <= 0:
            why = "timeout"
            break
        ready, _, _ = select.select(list(open_fds), [], [], min(left, 0.05))
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
                continue
            (out if fd == fd_out else status).extend(chunk)
        if len(out) > lim.max_output:
            why = "output"
            break
        if not open_fds:
            # both pipes closed: the process is exiting; wait for it within the deadline
            try:
                proc.wait(timeout=max(0.0, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                why = "timeout"
            break
    return bytes(out), bytes(status), why


def _reap(proc: subprocess.Popen, uid: int | None) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # start_new_session made the child its group leader
    except (ProcessLookupError, PermissionError):
        pass
    if uid is not None:
        _kill_uid(uid)  # anything that left the process group (setsid) still has our uid
    proc.stdout.close()
    proc.wait()


def _result(proc, out: bytes, status: bytes, why: str | None, lim: SandboxLimits,
            wall: float) -> SandboxResult:
    layers: list[str] = []
    setup_error = None
    for line in status.decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        layers = msg.get("layers", layers)
        setup_error = msg.get("setup_error", setup_error)
    truncated = len(out) > lim.max_output
    text = out[: lim.max_output].decode("utf-8", "replace").rstrip()
    if truncated:
        text += "\n[output truncated]"
    rc = proc.returncode
    res = SandboxResult(ok=False, output=text, exit_code=rc, layers=layers, wall_s=round(wall, 4))
    if why == "timeout":
        res.limit, res.error = "timeout", f"timed out after {lim.timeout_s:g} s"
    elif why == "output":
        res.limit, res.error = "output", f"output exceeded {lim.max_output} bytes"
    elif rc is not None and rc < 0:
        sig = -rc
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            res.limit, res.error = "cpu", f"CPU time limit of {lim.cpu_s} s exceeded"
        else:
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            res.limit, res.error = "crash", f"the process was killed by {name}"
    elif rc in _EXIT_LABELS:
        res.limit = _EXIT_LABELS[rc]
        res.error = {
            "memory": f"memory limit of {lim.memory_mb} MB reached",
            "nproc": f"process limit of {lim.max_procs} reached",
            "file_size": f"file size limit of {lim.file_mb} MB reached",
            "network": "no network access in the sandbox",
            "permission": "permission denied: the sandbox may only use its working directory",
            "policy": _last_line(text) or "blocked by the sandbox",
            "setup": f"sandbox setup failed: {setup_error or 'unknown error'}",
        }[res.limit]
    elif rc == 0:
        res.ok = True
    else:
        res.error = _last_line(text) or f"exited with status {rc}"
    return res
