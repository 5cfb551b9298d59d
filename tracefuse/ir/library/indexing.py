"""Library functions that gather and scatter along an axis: `take_along_axis` (the array API
function) and `scatter_add_along_axis`, its transpose (what the derivative of a gather
emits: `zeros(shape)` with `updates` added at `indices` along `axis`, repeated indices adding
up). Types and NumPy implementations; derivative and batching rules in
transforms/library.

Indices: negative ones count from the end, as NumPy. An index out of range raises IndexError
when the call runs on NumPy (eagerly, and in compiled code on cpu: the library step raises);
CuPy does not check (see the user guide).
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ..types import TensorType
from .base import REQUIRED, LibraryFunction, is_index, norm_axis, require_kind


def _gather_types(ts, p):
    x, idx = ts
    require_kind("take_along_axis", idx, is_index, "integer indices")
    if x.ndim == 0 or x.ndim != idx.ndim:
        raise ShapeError(f"take_along_axis needs indices of the array's rank ({x.ndim}, at "
                         f"least 1), got {idx.ndim}")
    axis = norm_axis(p["axis"], x.ndim)
    a = list(x.shape)
    b = list(idx.shape)
    a[axis] = b[axis] = 1
    try:
        shape = list(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise ShapeError(f"take_along_axis: array {x.shape} and indices {idx.shape} do not "
                         f"broadcast off axis {axis}") from None
    shape[axis] = idx.shape[axis]
    return (TensorType(tuple(shape), x.dtype),)


def _broadcast_pair(xp, x, idx, axis):
    a, b = list(x.shape), list(idx.shape)
    a[axis] = b[axis] = 1
    common = list(xp.broadcast_shapes(tuple(a), tuple(b)))
    xs, ids = list(common), list(common)
    xs[axis], ids[axis] = x.shape[axis], idx.shape[axis]
    return xp.broadcast_to(x, tuple(xs)), xp.broadcast_to(idx, tuple(ids))


def _gather_impl(xp, arrays, p, outs):
    x, idx = arrays
    axis = p["axis"] % x.ndim
    x, idx = _broadcast_pair(xp, x, idx, axis)
    n = x.shape[axis]
    if idx.size and n and ((idx < -n).any() or (idx >= n).any()):
        raise IndexError(f"take_along_axis: an index is out of range for axis {p['axis']} "
                         f"of size {n}")
    return [xp.take_along_axis(x, idx, axis=axis)]


def _scatter_types(ts, p):
    updates, idx = ts
    require_kind("scatter_add_along_axis", idx, is_index, "integer indices")
    shape = tuple(p["shape"])
    if updates.shape != idx.shape or len(shape) != idx.ndim:
        raise ShapeError(f"scatter_add_along_axis needs updates and indices of one shape and "
                         f"a target of their rank: {updates.shape}, {idx.shape}, {shape}")
    axis = norm_axis(p["axis"], len(shape))
    if any(s != u for i, (s, u) in enumerate(zip(shape, idx.shape)) if i != axis):
        raise ShapeError(f"scatter_add_along_axis: target {shape} and indices {idx.shape} "
                         f"differ off axis {axis}")
    return (TensorType(shape, updates.dtype),)


def _scatter_impl(xp, arrays, p, outs):
    updates, idx = arrays
    (out,) = outs
    axis = p["axis"] % len(out.shape)
    result = xp.zeros(out.shape, out.dtype.np)
    if idx.size == 0:
        return [result]
    grid = list(xp.indices(idx.shape, sparse=True))
    grid[axis] = idx % out.shape[axis]
    if xp.__name__ == "numpy":
        xp.add.at(result, tuple(grid), updates)
    else:  # CuPy: scatter_add
        import cupyx  # noqa: PLC0415 - CuPy is imported already when its arrays are here

        cupyx.scatter_add(result, tuple(grid), updates)
    return [result]


FUNCTIONS = (
    LibraryFunction("take_along_axis", (2, 2), {"axis": -1}, _gather_types, _gather_impl,
                    "x's elements at `indices` along `axis`"),
    LibraryFunction("scatter_add_along_axis", (2, 2), {"axis": REQUIRED, "shape": REQUIRED},
                    _scatter_types, _scatter_impl,
                    "zeros of `shape` with `updates` added at `indices` along `axis`"),
)
