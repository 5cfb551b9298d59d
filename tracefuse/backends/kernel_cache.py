"""Compiled kernels, cached by structure: in memory per process, and on disk across processes.

A kernel's generated source holds no sizes, so its text *is* its structural key (body, dtypes,
rank, broadcast pattern, flags). The key is the SHA-256 of that text plus the versions of
tracefuse, Numba and NumPy and the caller's own key material (`salt`: the Numba backend passes
the version of the vmath helpers its kernels inline). Numba is imported at the first compile,
never by `import tracefuse`. On disk, each kernel is a small Python module
`<cache dir>/kernels/tf_<key>.py`, written once (atomically: a temporary file renamed into
place; a second process racing to write the same key loses harmlessly), and imported with
Numba's own `cache=True`, which keeps the machine code beside it. The folder is kept under
`TRACEFUSE_CACHE_MAX_MB` (least recently used kernels go first). `python -m tracefuse cache
info | clear` shows or empties it.

Damage: a module whose text is not its source (truncated, zeroed, garbage) is rewritten with a
warning; a Numba cache file (`.nbi` / `.nbc`) that does not load is removed with a warning and
the kernel recompiled. Numba's loads and saves of one kernel's cache files are serialized
across processes with an `flock` on `__pycache__/tf_<key>.lock` (Numba alone can pair one
process's index with another's data file when both compile one module at once).

Safety (`private_folder`, used by every folder of the cache dir: `kernels/`, `sim/`,
`nvrtc/`): loading a module or a library from the cache runs its code, so the cache must be
writable by this user only. Folders tracefuse creates (the base cache dir, its missing
parents, each subfolder) are created 0700. The base cache dir and the subfolder must be
directories owned by this user (the effective uid: root's cache must be root's) and not
writable by group or others; otherwise they are **refused**: this process does not read or
write them, warns once (one line: what is wrong, the path, how to fix it) and uses a private
temporary folder instead (`<tmp>/tracefuse-<uid>/<subfolder>`, itself checked; where someone
else made that one, a fresh `mkdtemp` folder). The same fallback, with a `cannot use` warning,
serves a cache dir that cannot be created or written. Nothing is ever loaded from a refused
folder. Each folder above the base must be owned by root or this user and, if group or
others can write it, sticky (a 1777 `/tmp` is fine: nobody else can rename the folders in it);
otherwise someone else could swap the cache folder for their own, and the cache is refused
too. `TRACEFUSE_CACHE_DIR=/tmp` itself is refused (writable by others).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import stat
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable

import numpy as np

from .. import config

_VERSION = "0.1.0"
_memory: dict[str, Callable] = {}
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    import numba  # here, not at the top: `import tracefuse` must not load Numba

    return f"tracefuse {_VERSION} numba {numba.__version__} numpy {np.__version__}"


def kernel_key(source: str, salt: str = "") -> str:
    """The cache key of a kernel module: a hash of its source, the versions of tracefuse,
    Numba and NumPy, and `salt`, the caller's own key material (what its generated code
    depends on that the source does not show, e.g. the version of inlined helpers)."""
    text = f"{_versions()}{' ' + salt if salt else ''}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _folder() -> str:
    return usable_folder(os.path.join(config.cache_dir(), "kernels"))


def _make_private(folder: str) -> None:
    """Create `folder` and its missing parents, each 0700 (os.makedirs' `mode` does not apply
    to the parents it creates)."""
    missing = []
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:  # another process made it first: checked below like any other
            continue
        os.chmod(path, 0o700)  # the umask may have taken bits away; never adds any


def unsafe_reason(path: str) -> str | None:
    """Why `path` (an existing folder) must not hold code this process loads: a one-line
    message saying what is wrong, the path and how to fix it; None if it is private."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{path} is not a directory")
    if st.st_uid != os.geteuid():
        return (f"tracefuse: refusing the cache folder {path}: it is owned by uid {st.st_uid}, "
                f"not by this user (uid {os.geteuid()}), and loading compiled code from it would "
                f"run code they can put there; fix: remove it or set TRACEFUSE_CACHE_DIR to a "
                f"folder of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = " and ".join(w for w, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH))
                           if st.st_mode & bit)
        return (f"tracefuse: refusing the cache folder {path}: it is writable by {who} "
                f"(mode {stat.S_IMODE(st.st_mode):04o}), and loading compiled code from it "
                f"would run code they can put there; fix: chmod 700 {path} or set "
                f"TRACEFUSE_CACHE_DIR to a private folder")
    return None


def unsafe_ancestor_reason(path: str) -> str | None:
    """Why a folder above `path` lets someone else replace `path` (they own it, or can write
    it without the sticky bit): a one-line message; None if every one is safe."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        st = os.stat(parent)
        if st.st_uid not in (0, os.geteuid()):
            return (f"tracefuse: refusing the cache folder {path}: the folder {parent} above it "
                    f"is owned by uid {st.st_uid}, who could replace the cache with code of "
                    f"theirs; fix: set TRACEFUSE_CACHE_DIR to a folder in your own tree")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
            return (f"tracefuse: refusing the cache folder {path}: the folder {parent} above it "
                    f"is writable by others without the sticky bit (mode "
                    f"{stat.S_IMODE(st.st_mode):04o}), so they could replace the cache with code "
                    f"of theirs; fix: chmod go-w (or +t) {parent}, or set TRACEFUSE_CACHE_DIR "
                    f"elsewhere")
        up = os.path.dirname(parent)
        if up == parent:
            return None
        parent = up


def private_folder(folder: str) -> tuple[str | None, str | None]:
    """(`folder`, None) when `folder` (a subfolder of the cache dir) is safe to load code from,
    creating it and its missing parents 0700; else (None, a one-line reason): refused (not
    owned by this user, writable by group or others; the base cache dir, `folder`'s parent, is
    checked too, and the folders above it) or unusable (cannot be created or written)."""
    base = os.path.dirname(os.path.abspath(folder))
    try:
        _make_private(base)
        reason = unsafe_reason(base) or unsafe_ancestor_reason(base)  # before making anything
        if reason is None:
            _make_private(folder)
            reason = unsafe_reason(folder)
        if reason:
            return None, reason
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(f"{folder} is not writable")
    except OSError as e:
        return None, (f"tracefuse: cannot use the kernel cache {folder} ({e}); set "
                      "TRACEFUSE_CACHE_DIR to a writable folder")
    return folder, None


def _fallback(name: str) -> str:
    """A private temporary folder for subfolder `name`: `<tmp>/tracefuse-<uid>/<name>`, unless
    someone else owns or can write that (a shared sticky /tmp), then a fresh mkdtemp one."""
    folder, _ = private_folder(
        os.path.join(tempfile.gettempdir(), f"tracefuse-{os.geteuid()}", name))
    if folder is None:
        folder = os.path.join(tempfile.mkdtemp(prefix="tracefuse-"), name)
        os.mkdir(folder, 0o700)
    return folder


@functools.lru_cache(maxsize=8)
def usable_folder(folder: str) -> str:
    """`folder` (a subfolder of the cache dir), created private; or, if it is refused or cannot
    be used (see `private_folder`), a private temporary one, warned about once per process.
    Every folder of the cache dir that holds code to load goes through here: `kernels/`, the
    gpu-sim libraries' `sim/`."""
    usable, reason = private_folder(folder)
    if usable is not None:
        return usable
    fallback = _fallback(os.path.basename(folder))
    warnings.warn(f"{reason}; using {fallback} for this process", RuntimeWarning, stacklevel=4)
    return fallback


def _write_once(path: str, source: str) -> None:
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                if f.read() == source:
                    return
        except OSError:
            pass
        # a key is a hash of the source: any other text is a damaged (truncated, zeroed) file
        warnings.warn(f"tracefuse: kernel cache entry {path} was damaged (its text is not the "
                      "kernel's source); rebuilding it", RuntimeWarning, stacklevel=3)
        _remove_entry(path)
    write_atomic(path, source)


def write_atomic(path: str, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one (a
    temporary file of this process and thread, then a rename), never a partial one."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def load_kernel(source: str, name: str = "kernel", salt: str = "") -> Callable:
    """The compiled function `name` of a generated module `source` (compiling at most once);
    `salt` joins the cache key (see `kernel_key`)."""
    key = kernel_key(source, salt)
    fn = _memory.get(key)
    if fn is not None:
        return fn
    with _lock:
        fn = _memory.get(key)
        if fn is not None:
            return fn
        path = os.path.join(_folder(), f"tf_{key}.py")
        _write_once(path, source)
        try:
            fn = _import(path, key, name)
        except Exception as e:  # noqa: BLE001  (a damaged entry is rebuilt, never trusted)
            warnings.warn(f"tracefuse: kernel cache entry {path} was damaged ({type(e).__name__}:"
                          f" {e}); rebuilding it", RuntimeWarning, stacklevel=2)
            _remove_entry(path)
            _write_once(path, source)
            fn = _import(path, key, name)
        _memory[key] = fn
        _evict(os.path.dirname(path), keep=path)
        return fn


def _import(path: str, key: str, name: str) -> Callable:
    module_name = f"tracefuse_kernels.tf_{key}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[module_name] = module
    fn = getattr(module, name)
    _guard_numba_cache(fn, path)
    return fn


# how many kernels this process took from Numba's disk cache, and how many it compiled
stats = {"loaded": 0, "compiled": 0}


@contextlib.contextmanager
def file_lock(path: str):
    """Hold an exclusive flock on `path` (created 0600 if missing) for the `with` block: one
    process at a time builds or loads one cache entry. Where flock is missing (not POSIX) the
    block runs without a lock."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _numba_files(path: str, folder: str) -> list[str]:
    """Numba's cache files (.nbi / .nbc) of the kernel module `path`, kept in `folder`."""
    stem = os.path.basename(path)[:-3] + "."
    try:
        return [os.path.join(folder, f) for f in os.listdir(folder)
                if f.startswith(stem) and f.endswith((".nbi", ".nbc"))]
    except OSError:
        return []


def _guard_numba_cache(fn, path: str) -> None:
    """Make Numba's disk cache of dispatcher `fn` safe: loads and saves hold a per-kernel
    flock (processes compiling one module at once), and a cache file that does not load is
    removed with a warning and the kernel compiled (Numba itself raises at the call)."""
    cache = getattr(fn, "_cache", None)
    if cache is None or not hasattr(cache, "load_overload") or not hasattr(cache, "save_overload"):
        return
    load, save = cache.load_overload, cache.save_overload
    folder = os.path.join(os.path.dirname(path), "__pycache__")
    lock = os.path.join(folder, os.path.basename(path)[:-3] + ".lock")
    # Numba keeps its files next to the module unless NUMBA_CACHE_DIR sends them elsewhere
    numba_folder = getattr(cache, "_cache_path", folder)

    def load_overload(sig, target_context):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            with file_lock(lock):
                try:
                    cres = load(sig, target_context)
                except Exception as e:  # noqa: BLE001  (truncated, zeroed or garbage .nbi/.nbc)
                    warnings.warn(f"tracefuse: Numba's cache of kernel {path} was damaged "
                                  f"({type(e).__name__}: {e}); recompiling it", RuntimeWarning,
                                  stacklevel=2)
                    for f in _numba_files(path, numba_folder):
                        with contextlib.suppress(OSError):
                            os.remove(f)
                    cres = None
        except OSError:
            cres = None
        stats["compiled" if cres is None else "loaded"] += 1
        return cres

    def save_overload(sig, data):
        try:
            with file_lock(lock):
                save(sig, data)
        except Exception as e:  # noqa: BLE001  (the disk cache is only a shortcut)
            warnings.warn(f"tracefuse: could not save Numba's cache of kernel {path} "
                          f"({type(e).__name__}: {e})", RuntimeWarning, stacklevel=2)

    cache.load_overload = load_overload
    cache.save_overload = save_overload


def _entries(folder: str) -> dict[str, list[str]]:
    """Each cached module's path -> its files (the module and Numba's cache files for it, in
    __pycache__, named after the module)."""
    entries = {os.path.join(folder, f): [os.path.join(folder, f)] for f in os.listdir(folder)
               if f.startswith("tf_") and f.endswith(".py")}
    pycache = os.path.join(folder, "__pycache__")
    if os.path.isdir(pycache):
        for f in os.listdir(pycache):
            stem = f.split(".")[0]
            path = os.path.join(folder, stem + ".py")
            if path in entries:
                entries[path].append(os.path.join(pycache, f))
    return entries


def _size(files: list[str]) -> int:
    total = 0
    for f in files:
        try:
            total += os.path.getsize(f)
        except OSError:
            pass
    return total


def _remove_entry(path: str) -> None:
    files = _entries(os.path.dirname(path)).get(path, [path])
    for f in files:
        try:
            os.remove(f)
        except OSError:
            pass


_writes = 0


def _evict(folder: str, keep: str) -> None:
    """Keep the cache under `config.cache_max_bytes()`: least recently used entries go first.
    Checked every 32 compiles in a process (a scan of the folder is not free)."""
    global _writes
    _writes += 1
    if _writes % 32 != 1:
        return
    limit = config.cache_max_bytes()
    entries = [(os.stat(p).st_atime, p, files, _size(files))
               for p, files in _entries(folder).items() if os.path.exists(p)]
    total = sum(e[3] for e in entries)
    for _, path, files, size in sorted(entries):
        if total <= limit:
            break
        if path != keep:
            for f in files:
                try:
                    os.remove(f)
                except OSError:
                    pass
            total -= size


def cache_info() -> dict:
    """Where the kernel cache is, how many kernels it holds, and their size in bytes."""
    folder = os.path.join(config.cache_dir(), "kernels")
    entries = _entries(folder) if os.path.isdir(folder) else {}
    return {"folder": folder, "kernels": len(entries),
            "bytes": sum(_size(files) for files in entries.values()),
            "limit": config.cache_max_bytes()}


def clear_cache() -> int:
    """Delete every cached kernel on disk (and forget them in this process); returns how many."""
    folder = os.path.join(config.cache_dir(), "kernels")
    _memory.clear()
    if not os.path.isdir(folder):
        return 0
    entries = _entries(folder)
    for files in entries.values():
        for f in files:
            try:
                os.remove(f)
            except OSError:
                pass
    return len(entries)


# the other folders of the cache dir, owned by the CUDA backends' builders
OTHER_FOLDERS = {"sim": "gpu-sim kernel libraries (backends/cuda/sim.py)",
                 "nvrtc": "kernels that passed the NVRTC compile gate (nvrtc_gate.py)"}


def folder_info(name: str) -> tuple[str, int, int]:
    """(path, files, bytes) of one of OTHER_FOLDERS."""
    folder = os.path.join(config.cache_dir(), name)
    files = [os.path.join(folder, f) for f in os.listdir(folder)] if os.path.isdir(folder) else []
    return folder, len(files), _size(files)


def clear_folder(name: str) -> int:
    """Delete the files of one of OTHER_FOLDERS; returns how many. (A gpu-sim library loaded
    in a running process stays usable: its file is unlinked, not changed.)"""
    folder, _, _ = folder_info(name)
    removed = 0
    for f in os.listdir(folder) if os.path.isdir(folder) else []:
        try:
            os.remove(os.path.join(folder, f))
            removed += 1
        except OSError:
            pass
    return removed


def clear_memory() -> None:
    """Forget the in-process cache (the disk cache stays)."""
    _memory.clear()
