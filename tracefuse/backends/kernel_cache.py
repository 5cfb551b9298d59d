"""Compiled kernels, cached by structure: in memory per process, and on disk across processes.

A kernel's generated source holds no sizes, so its text *is* its structural key (body, dtypes,
rank, broadcast pattern, flags). The key is the SHA-256 of that text plus the versions of
tracefuse, Numba and NumPy. On disk, each kernel is a small Python module
`<cache dir>/kernels/tf_<key>.py`, written once (atomically: a temporary file renamed into
place; a second process racing to write the same key loses harmlessly), and imported with
Numba's own `cache=True`, which keeps the machine code beside it. The folder is created
private (0700).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import threading
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
    folder = os.path.join(config.cache_dir(), "kernels")
    os.makedirs(folder, mode=0o700, exist_ok=True)
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
        module_name = f"tracefuse_kernels.tf_{key}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        fn = getattr(module, name)
        _memory[key] = fn
        return fn


def clear_memory() -> None:
    """Forget the in-process cache (the disk cache stays)."""
    _memory.clear()
