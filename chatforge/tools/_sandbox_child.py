"""The first code that runs inside a sandbox process; it sets the cage up, then runs the user's code.

Started by sandbox.py as `python -I -S -u -c <this file's text> key=value ...`, with the user's
code on stdin. Standard library only, and no chatforge imports: with -I -S nothing else is on the
path. Only built-in modules are imported up front (_ast, _signal, errno, resource, ctypes): ast,
json, traceback and linecache would pull in re, enum and tokenize and triple the start-up time.
Everything here happens in the fresh single-threaded interpreter, not in a preexec_fn of the
(possibly multi-threaded) parent, where forking and calling into libc is not safe.

Order matters:
  1. read the code, then point stdin at /dev/null;
  2. leave the network: a new network namespace (root), or a new user+network namespace;
  3. resource limits (address space, CPU seconds, file size, processes, open files, no core);
  4. Landlock: read-only access to the interpreter and system libraries, read-write to the
     working directory, nothing else; no TCP bind/connect; no signals out of the sandbox;
  5. import the (side-effect-free) modules the code names while the interpreter's files are
     still readable: the uid we drop to may not read a Python installed under /root;
  6. as root: drop to the throwaway uid/gid chosen by the parent (all capabilities go with it);
  7. no_new_privs, then a Python audit hook that refuses processes, sockets, ctypes and file
     access outside the working directory (defence in depth with a clear error message);
  8. report the layers that took effect on the status pipe and close it; run the code.
Exit codes 90+ tell the parent which limit stopped an uncaught failure (see LABELS).
"""

import _ast
import _signal
import errno
import os
import resource
import sys

LABELS = {"memory": 90, "policy": 91, "nproc": 92, "file_size": 93, "network": 94,
          "permission": 95, "setup": 99}
# Modules the code may import even when the sandbox uid cannot read the interpreter's files (a
# Python under /root): the ones the code names are imported before privileges are dropped.
# Only side-effect-free computation modules, so nothing runs as root that could do harm.
PRELOADABLE = frozenset("""math cmath decimal fractions numbers random statistics itertools
functools collections re string json datetime calendar heapq bisect operator textwrap
unicodedata copy time enum array struct dataclasses typing abc hashlib base64 binascii zlib
difflib pprint reprlib fnmatch glob io csv keyword locale codecs zoneinfo graphlib secrets
uuid sys os os.path pathlib shutil tempfile contextlib inspect types weakref
collections.abc importlib signal errno resource ast traceback linecache tokenize token
warnings gc threading queue""".split())
DENY_IMPORTS = {"ctypes", "_ctypes", "socket", "_socket", "subprocess", "_posixsubprocess",
                "multiprocessing", "_multiprocessing", "ssl", "_ssl", "pty", "asyncio",
                "urllib.request", "http.client", "ftplib", "smtplib", "telnetlib", "webbrowser"}
DENY_EVENTS = {"os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
               "subprocess.Popen", "os.kill", "os.killpg", "socket.__new__", "socket.connect",
               "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
               "socket.gethostbyaddr", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
               "ctypes.call_function", "ctypes.addressof", "ctypes.dlsym/handle", "webbrowser.open",
               "gc.get_referrers", "gc.get_referents", "gc.get_objects", "os.chroot",
               "os.setxattr", "os.removexattr", "code.__new__", "function.__new__"}


class SandboxViolation(PermissionError):
    pass


def _json_str(s):
    s = "".join(c if c >= " " else " " for c in str(s))
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _status(key, value):
    """One JSON line on the status pipe: {"layers": [...]} or {"setup_error": "..."}."""
    fd = int(os.environ.get("CHATFORGE_SANDBOX_STATUS_FD", "-1"))
    if fd >= 0:
        body = ("[" + ", ".join(_json_str(v) for v in value) + "]" if isinstance(value, list)
                else _json_str(value))
        try:
            os.write(fd, ("{" + _json_str(key) + ": " + body + "}\n").encode())
        except OSError:
            pass


def _fail_setup(msg):
    _status("setup_error", msg)
    os._exit(LABELS["setup"])


# ---- Linux syscalls through ctypes (only here, before the cage closes) ----

CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
PR_SET_NO_NEW_PRIVS = 38
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446


def _libc():
    try:
        import ctypes  # noqa: PLC0415 - optional: without ctypes the cage runs without those layers
        return ctypes, ctypes.CDLL(None, use_errno=True)
    except Exception:
        return None, None


def _leave_network(ctypes, libc):
    if libc.unshare(CLONE_NEWNET) == 0:
        return "netns"
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        try:  # map our own ids so files we create keep a sensible owner
            for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                               ("gid_map", f"{gid} {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError:
            pass
        return "userns+netns"
    return None


def _landlock(ctypes, libc, workdir):
    """Confine the filesystem (and TCP, and signals) for this process and all it starts."""
    if sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64", "arm64"):
        return None
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return None
    fs_all = (1 << 13) - 1  # execute .. make_sym
    if abi >= 2:
        fs_all |= 1 << 13  # refer
    if abi >= 3:
        fs_all |= 1 << 14  # truncate
    if abi >= 5:
        fs_all |= 1 << 15  # ioctl_dev
    net_all = 0b11 if abi >= 4 else 0  # bind_tcp | connect_tcp
    scoped = 0b11 if abi >= 6 else 0  # abstract unix sockets | signals

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    attr = RulesetAttr(fs_all, net_all, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    rfd = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                       ctypes.c_uint32(0))
    if rfd < 0:
        return None
    read_file, read_dir, write_file = 1 << 2, 1 << 3, 1 << 1
    file_rights = (1 << 0) | write_file | read_file | (1 << 14 if abi >= 3 else 0)
    read_only = read_file | read_dir
    workdir_rights = fs_all & ~(1 << 0) & ~(1 << 15)  # everything but execute and device ioctls
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                os.path.dirname(os.path.realpath(sys.executable))}
    rules = [(p, read_only) for p in prefixes]
    rules += [(p, read_only) for p in ("/usr/lib", "/usr/lib64", "/lib", "/lib64",
                                       "/usr/share/zoneinfo", "/etc/ld.so.cache", "/etc/localtime")]
    rules += [("/dev/null", read_file | write_file), ("/dev/urandom", read_file),
              (workdir, workdir_rights)]
    for path, rights in rules:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        if not os.path.isdir(path):
            rights &= file_rights
        rule = PathBeneath(rights, fd)
        libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(rfd), ctypes.c_int(1), ctypes.byref(rule),
                     ctypes.c_uint32(0))
        os.close(fd)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        os.close(rfd)
        return None
    ok = libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(rfd), ctypes.c_uint32(0)) == 0
    os.close(rfd)
    return f"landlock-abi{abi}" if ok else None


def _count_own_tasks(uid):
    n = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return n


def _set_limits(cfg, will_drop):
    mb = 1024 * 1024
    cpu = int(cfg["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (cfg["memory_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["file_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (cfg["max_open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # RLIMIT_NPROC counts every task of the real uid: exact for the parent's throwaway uid;
    # without one, allow what this user already runs plus the budget.
    procs = cfg["max_procs"] if will_drop else _count_own_tasks(os.getuid()) + cfg["max_procs"]
    resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)  # a too-big write raises EFBIG instead


def _install_policy(workdir):
    real = os.path.realpath
    work = real(workdir) + os.sep
    readable = tuple({real(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    devices = {"/dev/null", "/dev/urandom"}
    deny_events, deny_imports = frozenset(DENY_EVENTS), frozenset(DENY_IMPORTS)

    def hook(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            if isinstance(path, int):
                return
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            p = real(str(path))
            if p.startswith(work) or p + os.sep == work or p in devices:
                return
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if not writing and p.startswith(readable):
                return
            raise SandboxViolation(f"sandbox: access to '{path}' is not allowed (only the working directory)")
        if event in deny_events or event.startswith("ctypes."):
            raise SandboxViolation(f"sandbox: '{event}' is not allowed")
        if event == "import":
            name = args[0]
            if name in deny_imports or name.split(".")[0] in deny_imports:
                raise SandboxViolation(f"sandbox: module '{name}' is not available")

    class DenyFinder:
        # importlib.import_module() does not raise the "import" audit event; a finder does see it
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name in deny_imports or name.split(".")[0] in deny_imports:
                raise SandboxViolation(f"sandbox: module '{name}' is not available")
            return None

    for name in list(sys.modules):
        if name in deny_imports or name.split(".")[0] in deny_imports:
            del sys.modules[name]
    sys.meta_path.insert(0, DenyFinder)
    sys.addaudithook(hook)


def _classify(exc):
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, SandboxViolation):
        return "policy"
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return "nproc"
    if isinstance(exc, OSError):
        if exc.errno == errno.EAGAIN:
            return "nproc"
        if exc.errno == errno.EFBIG:
            return "file_size"
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ENETDOWN) \
                or type(exc).__name__ == "gaierror":
            return "network"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "permission"
    return None


def _walk(node):
    yield node
    for name in node._fields:
        child = getattr(node, name, None)
        if isinstance(child, list):
            for c in child:
                if isinstance(c, _ast.AST):
                    yield from _walk(c)
        elif isinstance(child, _ast.AST):
            yield from _walk(child)


def _format_exception(exc, lines):
    """A traceback of the user's frames (and library frames they called), not this bootstrap's."""
    out = ["Traceback (most recent call last):\n"]
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename != "<string>":
            out.append(f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}\n')
            if code.co_filename == "<code>" and 0 < tb.tb_lineno <= len(lines):
                out.append("    " + lines[tb.tb_lineno - 1].strip() + "\n")
        tb = tb.tb_next
    if len(out) == 1:
        out = []
    if isinstance(exc, SyntaxError) and exc.filename == "<code>":
        out.append(f'  File "<code>", line {exc.lineno}\n')
        if exc.text:
            text = exc.text.rstrip("\n")
            stripped = text.lstrip()
            out.append("    " + stripped + "\n")
            if exc.offset:
                out.append("    " + " " * max(0, exc.offset - 1 - (len(text) - len(stripped))) + "^\n")
        msg = exc.msg
    else:
        msg = str(exc)
    cls = type(exc)
    name = (cls.__qualname__ if cls.__module__ in ("builtins", "__main__")
            else f"{cls.__module__}.{cls.__qualname__}")
    out.append(f"{name}: {msg}\n" if msg else f"{name}\n")
    return "".join(out)


def _run_user_code(code):
    filename = "<code>"
    lines = code.splitlines()
    g = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        tree = compile(code, filename, "exec", _ast.PyCF_ONLY_AST)
        last = None
        if tree.body and isinstance(tree.body[-1], _ast.Expr):  # show a bare last expression, as a REPL does
            last = _ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), g)
        if last is not None:
            value = eval(compile(last, filename, "eval"), g)
            if value is not None:
                print(repr(value))
    except SystemExit as e:
        sys.stdout.flush()
        if e.code in (None, 0):
            return 0
        if not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        return 1
    except BaseException as e:  # every failure of user code is reported, none escapes
        sys.stdout.flush()
        label = _classify(e) if isinstance(e, Exception) else None
        if isinstance(e, MemoryError):
            sys.stderr.write("MemoryError: the sandbox memory limit was reached\n")
        else:
            try:
                sys.stderr.write(_format_exception(e, lines))
            except MemoryError:
                sys.stderr.write(f"{type(e).__name__}\n")
        sys.stderr.flush()
        return LABELS[label] if label else 1
    sys.stdout.flush()
    return 0


def _imported_names(code):
    try:
        tree = compile(code, "<code>", "exec", _ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    names = []
    for node in _walk(tree):
        if isinstance(node, _ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, _ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _settings(argv):
    """key=value arguments: integers, 0/1 flags, comma lists; an empty uid/gid means none."""
    cfg = {}
    for arg in argv:
        key, _, value = arg.partition("=")
        if key in ("workdir",):
            cfg[key] = value
        elif key == "preload":
            cfg[key] = [v for v in value.split(",") if v]
        elif key in ("uid", "gid"):
            cfg[key] = int(value) if value else None
        elif key in ("policy", "landlock", "network_isolation"):
            cfg[key] = value == "1"
        else:
            cfg[key] = int(value)
    return cfg


def main():
    cfg = _settings(sys.argv[1:])
    code = sys.stdin.buffer.read(cfg["max_code_bytes"] + 1)
    if len(code) > cfg["max_code_bytes"]:
        _fail_setup("code too long")
    code = code.decode("utf-8", "replace")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    workdir = cfg["workdir"]
    layers = []
    ctypes, libc = _libc()
    if cfg["network_isolation"] and libc is not None:
        net = _leave_network(ctypes, libc)
        if net:
            layers.append(net)
    drop = cfg.get("uid") is not None
    try:
        _set_limits(cfg, drop)
    except (ValueError, OSError) as e:
        _fail_setup(f"could not set resource limits: {e}")
    layers.append("rlimits")
    if cfg["landlock"] and libc is not None:
        ll = _landlock(ctypes, libc, workdir)
        if ll:
            layers.append(ll)
    # already confined (network, files, limits); only the uid is still ours
    wanted = [n for n in _imported_names(code) if n in PRELOADABLE] + list(cfg.get("preload", ()))
    for name in wanted:
        try:
            __import__(name)
        except Exception:
            pass
    if drop:
        try:
            os.setgroups([])
            try:
                os.setgid(cfg["gid"])
                os.setuid(cfg["uid"])
                layers.append("uid")
            except OSError as e:
                # a user namespace that maps only a few ids (rootless containers): fall back to
                # nobody, which such maps include; the parent then skips its sweep by uid
                if e.errno != errno.EINVAL:
                    raise
                os.setgid(65534)
                os.setuid(65534)
                layers.append("uid-nobody")
        except OSError as e:
            _fail_setup(f"could not drop privileges: {e}")
        if os.getuid() == 0 or os.geteuid() == 0:
            _fail_setup("still root after dropping privileges")
    if libc is not None:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    del ctypes, libc
    for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]
    if cfg["policy"]:
        layers.append("audit-hook")
    _status("layers", layers)
    fd = int(os.environ.pop("CHATFORGE_SANDBOX_STATUS_FD", "-1"))
    if fd >= 0:
        os.close(fd)  # closed before any user code runs, so the report cannot be forged
    if cfg["policy"]:
        _install_policy(workdir)
    rc = _run_user_code(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


main()
