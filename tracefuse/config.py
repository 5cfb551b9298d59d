"""Every environment variable and global switch of tracefuse, read in this one module.

Environment variables (read when first needed, so tests may set them with monkeypatch):

- ``TRACEFUSE_BACKEND``: the default backend of ``@tx.function`` (``cpu``, ``gpu``, ``numpy``,
  ``gpu-sim``); default ``cpu``. Read once, at the first call that needs it;
  ``set_backend(None)`` forgets it, so the next call reads it again.
- ``TRACEFUSE_DUMP_DIR``: a folder; when set, every concrete function writes its IR after each
  stage there as numbered ``.ir`` files.
- ``TRACEFUSE_CACHE_DIR``: where compiled kernels are kept on disk (used by compiling backends).
- ``TRACEFUSE_CACHE_MAX_MB``: the most the on-disk kernel cache may hold (default 512).
- ``TRACEFUSE_NVRTC_GATE``: ``1`` compiles every CUDA kernel the ``gpu`` / ``gpu-sim``
  backends render to cubin for sm_80 and sm_90 with NVRTC as it is lowered (the CI compile
  gate, TESTING.md tier 1; needs ``pip install -e '.[gate]'``); ``batch`` queues them and
  compiles them together when ``backends.cuda.backend.flush_gate()`` is called or 64 are
  waiting (half the cost; the test suite flushes after each test module).
- ``TRACEFUSE_CHECK``: ``1`` checks every call of every compiled function against the
  reference interpreter, kernel by kernel (``f.check``, compiler/check.py), and raises
  ``tx.CheckError`` at the first kernel that differs (slow; for debugging). Read once, at the
  first call; ``set_check_calls(None)`` forgets it, so the next call reads it again.
- ``TRACEFUSE_CHECK_RTOL``, ``TRACEFUSE_CHECK_ATOL``: the tolerances of that check (floats;
  default: ``f.check``'s per-dtype defaults). Read with ``TRACEFUSE_CHECK``.
- ``TRACEFUSE_VERIFY_PASSES``: ``1`` runs the IR verifier after every pass (the test suite sets
  it; off by default, since a trace is verified once anyway).

Global switches: ``run_functions_eagerly`` (per process); the default backend (below);
``record_profiles`` (per process, set by ``python -m tracefuse profile``): concrete functions
loaded while it is on run timed, and their profiles are printed at exit.

The default backend of a ``tx.function`` made without ``backend=``, looked up at every call:
the innermost ``with config.backend(name):`` block of the calling thread, else
``set_backend(name)`` (per process), else ``TRACEFUSE_BACKEND``, else ``cpu``. The ``with``
block is per thread: other threads, and threads started inside the block, do not see it. What
is stored is the backend *object* (``tracefuse.backends``), resolved from its name once, when
it is chosen; a call reads one thread-local and at most two globals (``current_backend``).
This module imports nothing of the package: tracefuse/__init__.py hands it the name-to-backend
resolver with ``use_backends`` when the package is assembled.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

BACKENDS = ("cpu", "gpu", "numpy", "gpu-sim")
RETRACE_WINDOW = 10  # calls looked at when deciding whether a function retraces too often
RETRACE_LIMIT = 5  # retraces within the window that trigger a RetraceWarning

_run_eagerly = False
_record_profiles = False


def run_functions_eagerly(run_eagerly: bool) -> None:
    """When True, every ``@tx.function`` runs its Python body op by op (print and pdb work)."""
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether ``run_functions_eagerly(True)`` is in force."""
    return _run_eagerly


# --- the default backend ------------------------------------------------------------------
_resolve: Callable[[Any], Any] | None = None  # name (or backend) -> backend object
_chosen: Any = None  # set_backend's backend, or TRACEFUSE_BACKEND's once read; None: not yet


class _PerThread(threading.local):
    backend: Any = None  # the innermost `with backend(...)` block's backend in this thread


_thread = _PerThread()


def use_backends(resolve: Callable[[Any], Any]) -> None:
    """Install the function that turns a backend name into its backend object (raising
    ValueError for an unknown name). Called once, by tracefuse/__init__.py."""
    global _resolve
    _resolve = resolve


def _backend_object(name: Any) -> Any:
    if _resolve is None:
        raise RuntimeError("tracefuse.config: no backend table installed; import tracefuse first")
    return _resolve(name)


def current_backend() -> Any:
    """The backend object a `tx.function` without `backend=` runs on now (see the module's
    docstring for the order). Cheap: called on every such call."""
    backend = _thread.backend
    if backend is None:
        backend = _chosen
        if backend is None:
            backend = _backend_from_environment()
    return backend


def _backend_from_environment() -> Any:
    global _chosen
    name = os.environ.get("TRACEFUSE_BACKEND", "cpu").strip() or "cpu"
    if name not in BACKENDS:
        raise ValueError(
            f"TRACEFUSE_BACKEND={name!r} is not a backend; choose one of {', '.join(BACKENDS)}"
        )
    _chosen = _backend_object(name)
    return _chosen


def set_backend(name: Any) -> None:
    """Make `name` ("cpu", "gpu", "numpy", "gpu-sim", or a backend object) the default backend
    of every thread, overriding TRACEFUSE_BACKEND; `with backend(...)` blocks still win inside
    them. `set_backend(None)` goes back to TRACEFUSE_BACKEND, read again at the next need."""
    global _chosen
    _chosen = None if name is None else _backend_object(name)


def default_backend() -> str:
    """The name of the current default backend (`current_backend().name`)."""
    return current_backend().name


@contextmanager
def backend(name: Any) -> Iterator[Any]:
    """`with tx.config.backend("gpu-sim"):` runs every `tx.function` without `backend=` on
    that backend within the block, in this thread only; blocks nest, and the previous choice
    comes back when the block ends, by an exception too. Yields the backend object."""
    chosen = _backend_object(name)
    previous = _thread.backend
    _thread.backend = chosen
    try:
        yield chosen
    finally:
        _thread.backend = previous


def record_profiles(on: bool) -> None:
    """Load every concrete function from now on with timers around its plan's steps (read
    once per concrete function, when it is loaded: a normal call checks nothing)."""
    global _record_profiles
    _record_profiles = bool(on)


def profiles_recorded() -> bool:
    return _record_profiles


def dump_dir() -> str | None:
    return os.environ.get("TRACEFUSE_DUMP_DIR") or None


_check_calls: bool | None = None  # TRACEFUSE_CHECK once read (or set_check_calls); None: not yet


_check_tolerances: tuple[float | None, float | None] = (None, None)


def _tolerance(name: str) -> float | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number: give a tolerance such as 1e-4, "
                         "or unset it for the per-dtype default") from None
    if not value >= 0:
        raise ValueError(f"{name}={text!r}: a tolerance must be >= 0")
    return value


def check_calls() -> bool:
    """Whether every compiled call is checked (``TRACEFUSE_CHECK=1`` or ``set_check_calls``)."""
    global _check_calls, _check_tolerances
    if _check_calls is None:
        _check_calls = os.environ.get("TRACEFUSE_CHECK", "").strip() not in ("", "0")
        _check_tolerances = (_tolerance("TRACEFUSE_CHECK_RTOL"),
                             _tolerance("TRACEFUSE_CHECK_ATOL"))
    return _check_calls


def check_tolerances() -> tuple[float | None, float | None]:
    """(rtol, atol) of the check of every call (``TRACEFUSE_CHECK_RTOL`` / ``_ATOL``; None:
    the per-dtype default), read with ``TRACEFUSE_CHECK``."""
    return _check_tolerances


def set_check_calls(on: bool | None) -> None:
    """Check every compiled call (True), none (False), or as ``TRACEFUSE_CHECK`` says (None:
    read it again at the next call)."""
    global _check_calls
    _check_calls = None if on is None else bool(on)


def verify_passes() -> bool:
    return os.environ.get("TRACEFUSE_VERIFY_PASSES", "") not in ("", "0")


def nvrtc_gate() -> str:
    """"off", "on" or "batch" (TRACEFUSE_NVRTC_GATE: unset/0, 1, batch)."""
    value = os.environ.get("TRACEFUSE_NVRTC_GATE", "").strip().lower()
    if value in ("", "0", "off"):
        return "off"
    return "batch" if value == "batch" else "on"


def cache_max_bytes() -> int:
    return int(float(os.environ.get("TRACEFUSE_CACHE_MAX_MB", "512")) * 2**20)


def cache_dir() -> str:
    path = os.environ.get("TRACEFUSE_CACHE_DIR")
    if path:
        return path
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tracefuse")
