"""Backends, by name: the table `get_backend` reads. See base.py for the interface.

- `numpy`: the reference interpreter (numpy_backend.py).
- `cpu`: Numba kernels (numba_backend.py: lowering in loops.py, source from render.py and
  numba_render.py, compiled once per structure by kernel_cache.py).
- `gpu`: CUDA C (cuda_render.py) launched through CuPy (cuda_backend.py); CuPy is imported
  only when the backend is first used, and without it or a device `unavailable()` says what
  to install.
- `gpu-sim`: the same CUDA C and the same executor, the kernels built with the host C++
  compiler and our shim header and run on the CPU (cuda_sim.py): the GPU backend's tests run
  on machines with no GPU.
"""

from __future__ import annotations

from .base import Backend, CompileOptions, Executable, LoweredGraph
from .cuda.backend import CudaBackend, CupyRuntime, SimRuntime
from .numba.backend import NumbaBackend
from .numpy.backend import Interpreter, NumpyBackend


BACKENDS: dict[str, Backend] = {
    "numpy": NumpyBackend(),
    "cpu": NumbaBackend(),
    "gpu": CudaBackend(CupyRuntime(), device="gpu"),
    "gpu-sim": CudaBackend(SimRuntime(), device="cpu"),
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
