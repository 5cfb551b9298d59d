"""Compiled kernels, cached by structure: in memory per process, and on disk across processes.

A kernel's generated source holds no sizes, so its text *is* its structural key (body, dtypes,
rank, broadcast pattern, flags). The key is the SHA-256 of that text plus the versions of
tracefuse, Numba and NumPy. On disk, each kernel is a small Python module
`<cache dir>/kernels/tf_<key>.py`, written once (atomically: a temporary file renamed into
place; a second process racing to write the same key loses harmlessly), and imported with
Numba's own `cache=True`, which keeps the machine code beside it. The folder is created
private (0700). A damaged entry is rebuilt with a warning; the folder is kept under
`TRACEFUSE_CACHE_MAX_MB` (least recently used kernels go first). `python -m tracefuse cache
info | clear` shows or empties it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable

import numba
import numpy as np

from .. import config

_VERSION = "0.1.0"
_memory: dict[str, Callable] = {}
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    # Numba's own disk cache does not see changes to inlined helpers: version them in the key
    from .vmath import vmath_version

    return (f"tracefuse {_VERSION} numba {numba.__version__} numpy {np.__version__} "
            f"vmath {vmath_version()}")


def kernel_key(source: str) -> str:
    text = f"{_versions()}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _folder() -> str:
    return _usable_folder(os.path.join(config.cache_dir(), "kernels"))


@functools.lru_cache(maxsize=8)
def _usable_folder(folder: str) -> str:
    """`folder`, created private; or, if it cannot be used, a private temporary one (warned
    about once)."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
    except OSError as e:
        fallback = os.path.join(tempfile.gettempdir(), f"tracefuse-{os.getuid()}", "kernels")
        warnings.warn(f"tracefuse: cannot use the kernel cache {folder} ({e}); using {fallback} "
                      "for this process (set TRACEFUSE_CACHE_DIR to a writable folder)",
                      RuntimeWarning, stacklevel=4)
        os.makedirs(fallback, mode=0o700, exist_ok=True)
        folder = fallback
    return folder


def _write_once(path: str, source: str) -> None:
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == source:
                return
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w") as f:
        f.write(source)
    os.replace(tmp, path)


def load_kernel(source: str, name: str = "kernel") -> Callable:
    """The compiled function `name` of a generated module `source` (compiling at most once)."""
    key = kernel_key(source)
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
        except Exception as e:  # a damaged entry is rebuilt, never trusted
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
    return getattr(module, name)


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
OTHER_FOLDERS = {"sim": "gpu-sim kernel libraries (cuda_sim.py)",
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
