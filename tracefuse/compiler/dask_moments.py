"""One-pass variance on dask arrays: recognising `sum((x - mean(x))**2)` over chunked axes in
a traced graph (what `tx.var` and `tx.std` trace to), and the compiled steps that tree-reduce
it as Dask's own `da.var` does, with Chan's pairwise-stable combine, in one read of x.

The traced graph computes a variance in two passes (the mean, then the centred squares), which
on dask arrays means every chunk of x is made twice, or held in memory until the mean is known.
Instead, each chunk gives its moments along the reduced axes, `(count, mean, M2)` in float64
(`chunk_moments`, appended to the chunk step that makes x: one compiled function per chunk, two
passes over the chunk inside it, the mean summed in float64), and Dask's tree combines them
pairwise (`MomentStep`, compiled too):

    n = sum(n_i);  mean = sum(n_i * mean_i) / n;  M2 = sum(M2_i + n_i * (mean_i - mean)**2)

(Chan, Golub & LeVeque, 1979), which loses no more than the chunks' own sums do, however far
the data sit from zero. The aggregate's M2 is the sum of squared deviations the graph wanted;
the division by N - correction stays in the region after it. No Dask import here.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from typing import Any

import numpy as np

from ..ir import OpCode

G = OpCode
FIELDS = 3  # a partial's last axis: count, mean, M2
_COMPILED: dict[tuple, Any] = {}  # per process: (axes, keepdims, backend, fastmath) -> step
_LOCK = threading.Lock()


def match_moments(op, producer: dict, eager: dict, axes: tuple[int, ...]) -> Any:
    """(x, (centre, diff, square)) when `op` (a reduce_sum over `axes`) sums
    `(x - mean(x))**2` with the mean over the same axes (`reduce_sum(x, keepdims) * (1/N)` or
    `/ N`, as tx.mean and tx.var trace) and x is float32 or float64: the ops that make the
    mean, the difference and its square; else None."""
    def made(v, *codes):
        p = producer.get(v)
        return p if p is not None and p.code in codes else None

    def scalar(v):
        value = eager.get(v)
        return float(value) if value is not None and np.ndim(value) == 0 else None

    if op.code is not G.SUM or op.output.type.dtype != op.inputs[0].type.dtype:
        return None
    sq = made(op.inputs[0], G.MULTIPLY, G.SQUARE, G.POW)
    if sq is None or (sq.code is G.MULTIPLY and sq.inputs[0] is not sq.inputs[1]) or (
            sq.code is G.POW and scalar(sq.inputs[1]) != 2.0):
        return None
    diff = made(sq.inputs[0], G.SUBTRACT)
    if diff is None:
        return None
    x, centre = diff.inputs
    scale = made(centre, G.MULTIPLY, G.DIVIDE)
    if scale is None or x.type.dtype.np not in (np.float32, np.float64):
        return None
    n = math.prod(x.type.shape[a] for a in axes)
    total, factor = scale.inputs
    if scale.code is G.MULTIPLY and scalar(total) is not None:
        total, factor = factor, total
    k = scalar(factor)
    if k is None or not (abs(k * n - 1) < 1e-12 if scale.code is G.MULTIPLY else k == n):
        return None
    mean_sum = made(total, G.SUM)
    ndim = len(x.type.shape)
    if (mean_sum is None or mean_sum.inputs[0] is not x or not mean_sum.attrs.get("keepdims")
            or sorted(a % ndim for a in mean_sum.attrs["axes"]) != sorted(axes)
            or mean_sum.output.type.dtype != x.type.dtype):
        return None
    return x, (scale, diff, sq)


def chunk_moments(x: Any, axes: tuple[int, ...]) -> Any:
    """One chunk's moments along `axes` (a Tracer x, in the chunk function's trace): its
    shape with those axes 1 and a last axis (count, mean, M2), float64."""
    from ..frontend.creation import full, zeros
    from ..frontend.elementwise import astype, multiply, subtract
    from ..frontend.manipulation import stack
    from ..frontend.reductions import sum as total

    n = math.prod(x.shape[a] for a in axes)
    shape = tuple(1 if a in axes else d for a, d in enumerate(x.shape))
    if n == 0:  # an empty chunk weighs nothing in the combine
        return zeros(shape + (FIELDS,), dtype=np.float64)
    # the mean accumulated in float64 (the combine weighs each chunk's mean, so its rounding
    # would spread into the variance); the squares about that mean rounded to x's dtype, in
    # x's dtype, and M2 about the float64 mean: sum((x - m)**2) - n * (mean - m)**2
    mean = total(x, axis=axes, keepdims=True, dtype=np.float64) / n
    near = astype(mean, x.dtype)
    centred = subtract(x, near)
    off = subtract(mean, astype(near, np.float64))
    m2 = astype(total(multiply(centred, centred), axis=axes, keepdims=True), np.float64)
    return stack([full(shape, float(n), dtype=np.float64), mean,
                  m2 - multiply(off, off) * n], axis=-1)


def combine_moments(p: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """Chan's pairwise combine of moments partials `p` (last axis: count, mean, M2) over
    `axes` (a Tracer, in the step's trace)."""
    from ..frontend.elementwise import multiply, subtract, where
    from ..frontend.manipulation import concat, squeeze
    from ..frontend.reductions import sum as total

    n_i, mean_i, m2_i = p[..., 0:1], p[..., 1:2], p[..., 2:3]
    n = total(n_i, axis=axes, keepdims=True)
    mean = total(multiply(n_i, mean_i), axis=axes, keepdims=True) / where(n > 0, n, 1.0)
    spread = subtract(mean_i, mean)
    m2 = total(m2_i + multiply(n_i, multiply(spread, spread)), axis=axes, keepdims=True)
    out = concat([n, mean, m2], axis=-1)
    return out if keepdims else squeeze(out, axis=axes)


class MomentStep:
    """The combine and aggregate steps of a one-pass variance's tree reduction (`da.reduction`
    calls it with the concatenated partials, the axes and keepdims): `combine_moments`,
    compiled once per process for each (axes, keepdims, backend, fastmath) (each tree level's
    shape traces once); pickles as those fields."""

    def __init__(self, backend: str, factory: Any, fastmath: bool = False):
        self.backend, self.factory, self.fastmath = backend, factory, bool(fastmath)
        self.name = "tracefuse_moments_partials"

    def __reduce__(self):
        return MomentStep, (self.backend, self.factory, self.fastmath)

    def __dask_tokenize__(self):
        return hashlib.sha1(repr(("moments", self.backend, self.fastmath)).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<tracefuse moments step (count, mean, M2) backend={self.backend}>"

    def function(self, axes: tuple[int, ...], keepdims: bool) -> Any:
        """The tx.function combining moments over `axes` in this process (made at first use)."""
        key = (axes, keepdims, self.backend, self.fastmath)
        fn = _COMPILED.get(key)
        if fn is None:
            with _LOCK:
                fn = _COMPILED.get(key)
                if fn is None:
                    def step(p):
                        return combine_moments(p, axes, keepdims)
                    fn = self.factory(step, backend=self.backend, name=self.name,
                                      autograph=False, fastmath=self.fastmath)
                    if hasattr(fn, "_log"):  # each tree level retraces: expected, not logged
                        fn._log.retraces = deque(maxlen=0)
                    _COMPILED[key] = fn
        return fn

    def __call__(self, p: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        ndim = np.ndim(p)
        axes = tuple(range(ndim - 1)) if axis is None else tuple(
            sorted(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))))
        return self.function(axes, bool(keepdims))(p).numpy()
