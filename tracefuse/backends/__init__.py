"""Backends, by name: the table `get_backend` reads. See base.py for the interface and
plan.py for the execution plan every backend runs.

- `numpy`: the reference interpreter (numpy/backend.py): walks the plan with NumPy.
- `cpu`: Numba kernels (numba/backend.py: lowering in loops.py, source from render.py and
  numba/render.py, compiled once per structure by kernel_cache.py; a straight-line runner
  generated from the plan). Numba is imported at the first compile.
- `gpu`: CUDA C (cuda/render.py) launched through CuPy (cuda/backend.py); CuPy is imported
  only when the backend is first used, and without it or a device `unavailable()` says what
  to install.
- `gpu-sim`: the same CUDA C and the same executor, the kernels built with the host C++
  compiler and our shim header and run on the CPU (cuda/sim.py): the GPU backend's tests run
  on machines with no GPU.

Building this table imports no Numba, llvmlite or CuPy.
"""


from __future__ import annotations

from .base import Backend, CompileOptions, Executable, LoweredGraph
from .cuda.backend import CudaBackend, CupyRuntime, SimRuntime
from .numba.backend import NumbaBackend
from .numpy.backend import Interpreter, NumpyBackend
from .plan import Plan, make_plan

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
           "Plan", "get_backend", "make_plan"]
