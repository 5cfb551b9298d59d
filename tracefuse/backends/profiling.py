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

The bandwidth ceiling (`bandwidth_ceiling`): the best of a few copies of a 64 MiB array on the
device the backend's arrays live on (the host for numpy, cpu and gpu-sim; the GPU for gpu),
read plus written bytes per second. Measured once per machine and device, then kept in memory
and in `bandwidth.json` under the cache folder (`TRACEFUSE_CACHE_DIR`); delete that file to
measure again.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import config
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


# --- the bandwidth ceiling ----------------------------------------------------------------------
CEILING_BYTES = 1 << 26  # 64 MiB: past the caches of today's CPUs
CEILING_TRIES = 5
_measured: dict[str, float] = {}


def _device(backend: Any) -> tuple[str, Any, Callable[[], None]]:
    """The key of the device `backend`'s arrays live on, its array library and its sync."""
    host = f"host {platform.node()} {platform.machine()} {os.cpu_count()} cpus"
    if backend.name != "gpu":
        return host, np, _no_sync
    import cupy

    dev = cupy.cuda.Device()
    name = cupy.cuda.runtime.getDeviceProperties(dev.id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    return (f"{host} gpu {dev.id} {name}", cupy,
            lambda: cupy.cuda.get_current_stream().synchronize())


def _cache_file() -> str:
    return os.path.join(config.cache_dir(), "bandwidth.json")


def _read_cache() -> dict:
    try:
        with open(_cache_file(), encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(key: str, value: float) -> None:
    data = _read_cache()
    data[key] = value
    try:
        os.makedirs(os.path.dirname(_cache_file()), exist_ok=True)
        tmp = f"{_cache_file()}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, _cache_file())
    except OSError:
        pass  # a read-only cache folder: measured again by the next process


def measure_copy_bandwidth(xp: Any, sync: Callable[[], None]) -> float:
    """GB/s of the best of CEILING_TRIES copies of a CEILING_BYTES array (read + written)."""
    src = xp.ones(CEILING_BYTES // 8)
    dst = xp.empty_like(src)
    best = float("inf")
    clock = time.perf_counter
    for _ in range(CEILING_TRIES):
        sync()
        start = clock()
        dst[...] = src
        sync()
        best = min(best, clock() - start)
    return 2 * src.nbytes / max(best, 1e-9) / 1e9


def bandwidth_ceiling(backend: Any) -> tuple[str, float]:
    """The device's key and its measured copy bandwidth in GB/s (measured once per machine)."""
    key, xp, sync = _device(backend)
    value = _measured.get(key)
    if value is None:
        cached = _read_cache().get(key)
        if isinstance(cached, (int, float)) and cached > 0:
            value = float(cached)
        else:
            value = measure_copy_bandwidth(xp, sync)
            _write_cache(key, value)
        _measured[key] = value
    return key, value
