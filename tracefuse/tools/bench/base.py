"""What a benchmark workload is (`Workload`, its `Target`) and the helpers every table of
workloads draws its inputs with: `normal` (never zero) and `grid` (values on a power-of-two
grid, for sums a float32 kernel computes exactly in any order). The workloads themselves and
the conventions they follow are described in `workloads.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tracefuse as tx

SEED = 20240604
SIZES = ("full", "small", "alt_full", "alt_small")


@dataclass(frozen=True)
class Target:
    """A target of issue 4: a minimum speedup over NumPy, a minimum % of the bandwidth floor,
    and/or a maximum time per call."""

    text: str
    min_ratio: float | None = None
    min_floor_pct: float | None = None
    max_time_s: float | None = None

    def met(self, ratio: float | None, floor_pct: float | None,
            time_s: float | None) -> bool | None:
        checks = []
        if self.min_ratio is not None:
            checks.append(ratio is not None and ratio >= self.min_ratio)
        if self.min_floor_pct is not None:
            checks.append(floor_pct is not None and floor_pct >= self.min_floor_pct)
        if self.max_time_s is not None:
            checks.append(time_s is not None and time_s <= self.max_time_s)
        return all(checks) if checks else None


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    dims: dict[str, dict[str, int]]
    make: Callable[[np.random.Generator, dict[str, int]], tuple[np.ndarray, ...]]
    numpy: Callable[..., Any]
    tx_fn: Callable[..., Any]
    target: Target
    floor: str | None = "copy"
    numexpr: Callable[[Any], Callable[..., Any]] | None = None
    jax: Callable[[Any], Callable[..., Any]] | None = None
    rtol: float = 1e-4
    atol_scale: float = 1e-6
    max_mismatch_frac: float = 0.0  # elements allowed outside the tolerance (mandelbrot)
    distribution: Callable[[np.ndarray, tuple], list[str]] | None = None  # random draws
    per_call_us: bool = False  # report this workload's times in microseconds
    notes: tuple[str, ...] = field(default=())

    def inputs(self, size: str = "full", seed: int = SEED) -> tuple[np.ndarray, ...]:
        return self.make(np.random.default_rng(seed), self.dims[size])

    def compile(self, backend: str = "cpu") -> tx.Function:
        return tx.function(self.tx_fn, backend=backend)

    def describe(self, size: str) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims[size].items())


def leaves(result: Any) -> list[Any]:
    """The arrays of a result: itself, or the items of a tuple / list of arrays (a gradient with
    respect to several arguments)."""
    return list(result) if isinstance(result, (tuple, list)) else [result]


def bytes_moved(inputs: tuple[np.ndarray, ...], output: Any) -> int:
    """The minimum memory traffic of one call: every input read once, the output (every array of
    a tuple output) written once."""
    return int(sum(np.asarray(a).nbytes for a in inputs)
               + sum(np.asarray(a).nbytes for a in leaves(output)))


def normal(rng: np.random.Generator, shape, dtype=np.float32, scale: float = 1.0) -> np.ndarray:
    x = rng.standard_normal(shape, dtype=np.float64) * scale
    x[x == 0] = 1.0  # never zero (standard_normal almost never gives 0; make it never)
    return x.astype(dtype)


# --- gelu (tanh form, x**3) --------------------------------------------------------------
def grid(rng, shape, step: float, scale: float = 1.0) -> np.ndarray:
    """Normal values rounded to multiples of `step` (a power of two), zeros replaced by `step`."""
    q = np.round(rng.standard_normal(shape) * (scale / step))
    q[q == 0] = 1.0
    return (q * step).astype(np.float32)
