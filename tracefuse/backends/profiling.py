"""Timed executables for `f.profile`: the same plan the backend runs, with a timer around each
of its steps, loaded only when profiling (the executables of normal calls have no timer).

`timed_executable(backend, lowered, executable, probe)` returns `run(arrays) -> outputs` that
calls `probe((step index, start, end))` after each step of `lowered.plan.steps` (perf_counter
seconds). How, per backend (`TIMED`, keyed by backend name):
- numpy, gpu-sim and gpu run a `PlanWalker`: a shallow copy of the loaded walker whose step
  callables are wrapped (the walker of normal calls is not touched). On gpu the wrapper
  synchronizes the device before and after the step, so a step's time is its kernels' time
  (plus a launch); the steps run one after another as they do anyway.
- cpu generates its runner from the plan: the Numba backend generates a second one with timer
  lines (`NumbaBackend.load_plan(plan, probe)`; its kernels come from the kernel cache).
A control-flow step is timed as one step (its loop and every iteration of it); a kernel that
runs its body op by op, as one step.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

from .base import LoweredGraph
from .plan import PlanWalker

Probe = Callable[[tuple[int, float, float]], Any]


def _no_sync() -> None:
    return None


def _timed_step(fn: Callable, index: int, probe: Probe, sync: Callable[[], None]) -> Callable:
    clock = time.perf_counter

    def run(inputs: Sequence) -> Any:
        sync()
        start = clock()
        out = fn(inputs)
        sync()
        probe((index, start, clock()))
        return out
    return run


def _device_sync(walker: PlanWalker) -> Callable[[], None]:
    """Waits for the device's queued work (CuPy's current stream); nothing on the host."""
    xp = walker.xp
    if getattr(xp, "cuda", None) is None:  # NumPy: steps are synchronous
        return _no_sync
    return lambda: xp.cuda.get_current_stream().synchronize()


def _timed_walker(backend: Any, lowered: LoweredGraph, executable: Any, probe: Probe) -> Callable:
    if not isinstance(executable, PlanWalker):
        raise TypeError(f"backend {backend.name!r} did not load a PlanWalker; f.profile cannot "
                        "time its steps")
    walker = copy.copy(executable)
    sync = _device_sync(walker)
    walker.steps = [(_timed_step(fn, i, probe, sync), ins, outs, free)
                    for i, (fn, ins, outs, free) in enumerate(executable.steps)]
    return walker


def _timed_numba(backend: Any, lowered: LoweredGraph, executable: Any, probe: Probe) -> Callable:
    return backend.load_plan(lowered.plan, probe)


TIMED: dict[str, Callable[[Any, LoweredGraph, Any, Probe], Callable]] = {
    "numpy": _timed_walker, "gpu-sim": _timed_walker, "gpu": _timed_walker,
    "cpu": _timed_numba}


def timed_executable(backend: Any, lowered: LoweredGraph, executable: Any,
                     probe: Probe) -> Callable[[Sequence], list]:
    """`executable` (the backend's loaded `lowered`) with each plan step timed into `probe`."""
    make = TIMED.get(backend.name)
    if make is None or lowered.plan is None:
        raise NotImplementedError(f"f.profile does not know how to time the steps of backend "
                                  f"{backend.name!r}; it profiles {', '.join(TIMED)}")
    return make(backend, lowered, executable, probe)
