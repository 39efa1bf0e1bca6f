"""The layers that confine a method's encoder and decoder workers (Linux), applied in the worker
itself before it runs any method code, each probed once and named in every record.

Layers, in the order they are applied (`confine`):
- `netns`, `ipcns`: a network namespace of its own (no interface up: no TCP or UDP to anyone,
  no abstract UNIX socket of another process) and an IPC namespace (no SysV shared memory,
  semaphores or message queues of anyone else), with unshare(2); a user namespace is added where
  the worker is not root;
- `memcap`: an address-space limit (RLIMIT_AS): a worker that goes past it fails its job, and
  the other jobs go on;
- `landlock<ABI>`: file access (the `landlock` package): read only code, installed packages,
  system libraries and declared weights (plus, for the encoder, the run's sources), minus every
  denied path (for the decoder: the folders that hold the sources, the stores, the caches
  derived from sources); write only beneath the worker's scratch folder; `/dev/shm` and every
  other process's `/proc/PID` denied;
- `landlock-net` (ABI 4+): TCP bind and connect denied; `landlock-scope` (ABI 6+): abstract
  UNIX sockets and signals scoped to the worker (raw syscalls: the package predates them).

A layer the kernel does not offer is left out with a warning that the runner prints once, never
silently; the record's `isolation` then names only the layers in force. Landlock restricts by
allow-list, so a denied path inside an allowed folder is carved out: that folder is allowed
child by child, except along the path to the denied one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core.paths import REPO_ROOT

SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt", "/sys",
               "/run")
SHARED_MEMORY, PROC = "/dev/shm", "/proc"
# the device files a worker may read and write (every other, /dev/shm included, is denied)
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUSER = 0x40000000, 0x08000000, 0x10000000
# x86-64 and aarch64 share these numbers (the generic syscall table)
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_RESTRICT_SELF = 444, 446
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
PR_SET_NO_NEW_PRIVS = 38
DEFAULT_MEMORY_GB = 16.0   # per worker (virtual address space); `ulvr run --job-memory`


@dataclass(frozen=True)
class Confinement:
    """What one worker may do: read `readable` beyond code and packages, never read `denied`,
    and use at most `memory_gb` GiB of address space (0: no limit)."""

    role: str                                   # "encoder" or "decoder"
    denied: frozenset[str] = frozenset()
    readable: tuple[str, ...] = ()
    memory_gb: float = DEFAULT_MEMORY_GB
    extra: dict = field(default_factory=dict, compare=False)

    def covers(self, other: Confinement) -> bool:
        """Whether a worker confined by self may serve a job that needs `other`: it denies
        at least as much, may read everything `other` reads (inside one of its read roots:
        the harness's own checkpoints and the packaged sources already are) and has the same
        memory limit."""
        roots = read_roots(self.readable)
        return (self.role == other.role and other.denied <= self.denied
                and all(any(_inside(Path(p).resolve(), r) for r in roots)
                        for p in other.readable)
                and self.memory_gb == other.memory_gb)


def landlock_reason() -> str:
    """Why Landlock cannot be used here ('' when it can)."""
    try:
        import landlock
    except ImportError:
        return "the landlock package is not installed"
    try:
        version = landlock.landlock_abi_version()
    except Exception as exc:  # noqa: BLE001 - any failure of the probe means "not here"
        return f"this kernel does not offer Landlock ({type(exc).__name__}: {exc})"
    return "" if version >= 1 else "this kernel does not offer Landlock"


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    if landlock_reason():
        return 0
    import landlock

    return int(landlock.landlock_abi_version())


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def allowed_beneath(root: Path, denied: list[Path]) -> list[tuple[Path, bool]]:
    """(path, whole) pairs that cover `root` except every denied path (resolved paths): whole
    paths may be read; the folders on the way to a denied path may only be listed (finding
    installed distributions lists site-packages)."""
    if any(_inside(root, d) for d in denied):
        return []
    if not any(root in d.parents for d in denied):
        return [(root, True)]
    out: list[tuple[Path, bool]] = [(root, False)]
    try:
        children = sorted(root.iterdir())
    except OSError:
        return out
    for child in children:
        if child.is_symlink():
            target = child.resolve()
            if any(_inside(target, d) or target in d.parents for d in denied):
                continue
        out += allowed_beneath(child, denied)
    return out


def read_roots(extra: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """What a worker may read: system folders, Python's prefix and import path, the
    harness's code (with its method checkpoints) and `extra` (weights, the encoder's sources)."""
    roots = [*SYSTEM_READ, sys.prefix, sys.base_prefix, *sys.path, REPO_ROOT, *extra]
    seen, out = set(), []
    for root in roots:
        if not root:
            continue
        path = Path(root).resolve()
        if path.exists() and path not in seen:
            seen.add(path)
            out.append(path)
    return out


def other_processes() -> list[Path]:
    """Every /proc/PID but this process's own: their command lines, environments and memory."""
    own = str(os.getpid())
    return [p for p in Path(PROC).iterdir() if p.name.isdigit() and p.name != own]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def unshare_namespaces() -> list[str]:
    """A network and an IPC namespace of this process's own (with a user namespace when not
    root, mapping this user to itself); must run before the process starts a thread."""
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNET | CLONE_NEWIPC | (CLONE_NEWUSER if uid != 0 else 0)
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), f"unshare: {os.strerror(ctypes.get_errno())}")
    if uid != 0:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    return ["netns", "ipcns"]


def limit_memory(gigabytes: float) -> list[str]:
    """Cap this process's (and its children's) address space."""
    import resource

    if gigabytes <= 0:
        return []
    limit = int(gigabytes * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return ["memcap"]


def apply_landlock_files(scratch: Path, denied: Iterable[str | os.PathLike],
                         extra_read: Iterable[str | os.PathLike] = ()) -> None:
    """Restrict this process (and what it starts afterwards) to reading read_roots() minus
    `denied` and its own /proc entry, and to writing beneath `scratch`; of the devices only
    DEVICES (so never /dev/shm)."""
    import landlock
    from landlock import FSAccess

    denied_paths = [Path(d).resolve() for d in denied]
    read = FSAccess.EXECUTE | FSAccess.READ_FILE | FSAccess.READ_DIR
    rules = landlock.Ruleset()
    for root in read_roots(extra_read):
        for path, whole in allowed_beneath(root, denied_paths):
            if not whole:
                rules.allow(path, rules=FSAccess.READ_DIR)
            else:
                rules.allow(path, rules=read if path.is_dir() else read & FSAccess.all_file())
    for path, whole in allowed_beneath(Path(PROC), other_processes()):
        with contextlib.suppress(OSError, landlock.LandlockError):   # left denied
            rules.allow(path, rules=read if whole and path.is_dir() else
                        (read & FSAccess.all_file() if whole else FSAccess.READ_DIR))
    rules.allow(scratch, rules=FSAccess.all())
    for device in DEVICES:
        if os.path.exists(device):
            rules.allow(device, rules=(read | FSAccess.WRITE_FILE) & FSAccess.all_file())
    rules.apply()


def apply_landlock_net_and_scope(abi: int) -> list[str]:
    """A second Landlock domain (raw syscalls): no TCP bind or connect (ABI 4+), and abstract
    UNIX sockets and signals scoped to this process (ABI 6+)."""
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    if not net and not scoped:
        return []
    libc = _libc()
    size = 24 if abi >= 6 else 16
    attr = ctypes.create_string_buffer(struct.pack("QQQ", 0, net, scoped)[:size], size)
    fd = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(size), 0)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset (net, scope)")
    try:
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self (net, scope)")
    finally:
        os.close(fd)
    return (["landlock-net"] if net else []) + (["landlock-scope"] if scoped else [])


def confine(scratch: Path, confinement: Confinement) -> tuple[list[str], list[str]]:
    """Apply every layer this kernel offers to this process; returns the layers in force and,
    for each one that could not be, a warning saying why."""
    layers: list[str] = []
    warnings: list[str] = []

    def attempt(name: str, apply) -> None:
        try:
            layers.extend(apply())
        except Exception as exc:  # noqa: BLE001 - a missing layer is said, never fatal
            warnings.append(f"{confinement.role} sandbox: {name} not in force "
                            f"({type(exc).__name__}: {exc})")

    attempt("network and IPC namespaces", unshare_namespaces)
    attempt("memory cap", lambda: limit_memory(confinement.memory_gb))
    abi = landlock_abi()
    if abi:
        attempt("Landlock file rules", lambda: (apply_landlock_files(
            scratch, confinement.denied, confinement.readable), [f"landlock{abi}"])[1])
        attempt("Landlock network and scope rules", lambda: apply_landlock_net_and_scope(abi))
    else:
        warnings.append(f"{confinement.role} sandbox: Landlock not in force "
                        f"({landlock_reason()}): only the process boundary guards files")
    return layers, warnings


def isolation_name(layers: list[str]) -> str:
    """The record's `isolation` value for a worker with these layers in force."""
    return "+".join(["process", *layers])
