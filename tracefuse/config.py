"""Every environment variable and global switch of tracefuse, read in this one module.

Environment variables (read when first needed, so tests may set them with monkeypatch):

- ``TRACEFUSE_BACKEND``: the default backend of ``@tx.function`` (``cpu``, ``gpu``, ``numpy``,
  ``gpu-sim``); default ``cpu``.
- ``TRACEFUSE_DUMP_DIR``: a folder; when set, every concrete function writes its IR after each
  stage there as numbered ``.ir`` files.
- ``TRACEFUSE_CACHE_DIR``: where compiled kernels are kept on disk (used by compiling backends).
- ``TRACEFUSE_CACHE_MAX_MB``: the most the on-disk kernel cache may hold (default 512).
- ``TRACEFUSE_NVRTC_GATE``: ``1`` compiles every CUDA kernel the ``gpu`` / ``gpu-sim``
  backends render to cubin for sm_80 and sm_90 with NVRTC as it is lowered (the CI compile
  gate, TESTING.md tier 1; needs ``pip install -e '.[gate]'``); ``batch`` queues them and
  compiles them together when ``backends.cuda_backend.flush_gate()`` is called or 64 are
  waiting (half the cost; the test suite flushes after each test module).
- ``TRACEFUSE_VERIFY_PASSES``: ``1`` runs the IR verifier after every pass (the test suite sets
  it; off by default, since a trace is verified once anyway).

Global switches (per process): ``run_functions_eagerly``.
"""

from __future__ import annotations

import os

BACKENDS = ("cpu", "gpu", "numpy", "gpu-sim")
RETRACE_WINDOW = 10  # calls looked at when deciding whether a function retraces too often
RETRACE_LIMIT = 5  # retraces within the window that trigger a RetraceWarning

_run_eagerly = False


def run_functions_eagerly(run_eagerly: bool) -> None:
    """When True, every ``@tx.function`` runs its Python body op by op (print and pdb work)."""
    global _run_eagerly
    _run_eagerly = bool(run_eagerly)


def functions_run_eagerly() -> bool:
    """Whether ``run_functions_eagerly(True)`` is in force."""
    return _run_eagerly


def default_backend() -> str:
    name = os.environ.get("TRACEFUSE_BACKEND", "cpu").strip() or "cpu"
    if name not in BACKENDS:
        raise ValueError(
            f"TRACEFUSE_BACKEND={name!r} is not a backend; choose one of {', '.join(BACKENDS)}"
        )
    return name


def dump_dir() -> str | None:
    return os.environ.get("TRACEFUSE_DUMP_DIR") or None


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
