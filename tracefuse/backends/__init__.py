"""Backends, by name: the table `get_backend` reads. See base.py for the interface.

- `numpy`: the reference interpreter (numpy_backend.py).
- `cpu`: Numba kernels (numba_backend.py: lowering in loops.py, source from render.py and
  numba_render.py, compiled once per structure by kernel_cache.py).
- `gpu`, `gpu-sim`: CUDA C through CuPy, and the same CUDA C run on the CPU for tests; not
  built yet, they raise `BackendUnavailableError`.
"""

from __future__ import annotations

from ..errors import BackendUnavailableError
from ..ir import Graph
from .base import Backend, CompileOptions, Executable, LoweredGraph
from .numba_backend import NumbaBackend
from .numpy_backend import Interpreter, NumpyBackend


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
    "cpu": NumbaBackend(),
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
