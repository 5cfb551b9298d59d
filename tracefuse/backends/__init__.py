"""Backends, by name: the table `get_backend` reads. See base.py for the interface.

- `numpy`: the reference interpreter (numpy_backend.py).
- `cpu`: Numba kernels. Until that backend lands it runs the reference interpreter and says
  so in `f.explain()`.
- `gpu`, `gpu-sim`: CUDA C through CuPy, and the same CUDA C run on the CPU for tests; not
  built yet, they raise `BackendUnavailableError`.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import BackendUnavailableError
from ..ir import Graph
from .base import Backend, CompileOptions, Executable, LoweredGraph
from .numpy_backend import Interpreter, NumpyBackend


class CpuFallbackBackend(NumpyBackend):
    """`backend="cpu"` before the Numba backend exists: the reference interpreter, labelled."""

    name = "cpu"

    def lower(self, graph: Graph, options: CompileOptions) -> LoweredGraph:
        lowered = super().lower(graph, options)
        note = ("backend 'cpu': the Numba backend is not built yet, so this function runs on "
                "the 'numpy' reference interpreter (correct, not fast)")
        return replace(lowered, backend=self.name, notes=(note,) + lowered.notes)


class MissingBackend:
    """A backend that cannot run in this build; `unavailable()` says why."""

    def __init__(self, name: str, device: str, reason: str):
        self.name, self.device, self.reason = name, device, reason

    def unavailable(self) -> str | None:
        return self.reason

    def lower(self, graph: Graph, options: CompileOptions) -> LoweredGraph:
        raise BackendUnavailableError(self.reason)

    def load(self, lowered: LoweredGraph) -> Executable:
        raise BackendUnavailableError(self.reason)


_GPU_REASON = ("backend {0!r}: the CUDA backend is not part of this build yet; use backend='cpu' "
               "or 'numpy' (GPU support will need: pip install \"tracefuse[gpu]\" and a CUDA device)")

BACKENDS: dict[str, Backend] = {
    "numpy": NumpyBackend(),
    "cpu": CpuFallbackBackend(),
    "gpu": MissingBackend("gpu", "gpu", _GPU_REASON.format("gpu")),
    "gpu-sim": MissingBackend("gpu-sim", "cpu", _GPU_REASON.format("gpu-sim")),
}


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}"
        ) from None


__all__ = ["BACKENDS", "Backend", "CompileOptions", "Executable", "Interpreter", "LoweredGraph",
           "get_backend"]
