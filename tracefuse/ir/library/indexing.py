"""Library functions that gather and scatter: `take_along_axis` (the array API function) and
`scatter_add_along_axis`, its transpose (what the derivative of a gather emits: `zeros(shape)`
with `updates` added at `indices` along `axis`, repeated indices adding up); `gather` and
`scatter`, what `take`, integer-array `x[key]` and the functional updates `x.at[key].set(v)`
... become (frontend/indexing.py, frontend/updates.py). Types and NumPy implementations;
derivative and batching rules in transforms/library.

`gather(x, i_1, ..., i_k, axis=a)` indexes the k consecutive axes a .. a+k-1 of x with the
integer arrays i_j, broadcast together to a shape B: the result is
`x.shape[:a] + B + x.shape[a+k:]`, NumPy's `x[:, ..., :, i_1, ..., i_k]` (a slices first).
`scatter(x, updates, i_1, ..., i_k, axis=a, mode=m)` is x with `updates` (of that gather's
result shape) written at those positions: "set" (among repeated positions one update wins,
which one is not defined, as JAX), "add", "multiply", "min", "max" (repeated positions
accumulate).

Indices: negative ones count from the end, as NumPy. An index out of range raises IndexError
when a gather (mode "raise") or `take_along_axis` runs (eagerly, and in compiled code: the
library step checks, on CuPy too). A gather of mode "fill" gives 0 there (the derivative of a
scatter uses it). A scatter drops the updates at indices out of range, as JAX.
"""

from __future__ import annotations

import numpy as np

from ...errors import DTypeError, ShapeError
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
    common = list(np.broadcast_shapes(tuple(a), tuple(b)))  # shapes only: any xp
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


# --- gather and scatter over consecutive axes ---------------------------------------------------
GATHER_MODES = ("raise", "fill")
SCATTER_MODES = ("set", "add", "multiply", "min", "max")


def _index_shape(name, x: TensorType, idx, axis, what="array") -> tuple[int, tuple[int, ...]]:
    """The axis the indices start at and their broadcast shape B."""
    for i in idx:
        require_kind(name, i, is_index, "integer index arrays")
    if isinstance(axis, bool) or not isinstance(axis, int) or not 0 <= axis <= x.ndim - len(idx):
        raise ShapeError(f"{len(idx)} index array(s) from axis {axis!r} do not fit an "
                         f"{what} of {x.ndim} dimension(s)")
    try:
        b = tuple(np.broadcast_shapes(*(i.shape for i in idx)))
    except ValueError:
        raise ShapeError(f"the index arrays' shapes "
                         f"{', '.join(str(i.shape) for i in idx)} do not broadcast together"
                         ) from None
    return axis, b


def gathered_shape(x: TensorType, idx, axis) -> tuple[int, ...]:
    """The shape of `gather(x, *idx, axis=axis)` (idx: the index arrays' types)."""
    axis, b = _index_shape("gather", x, idx, axis)
    return x.shape[:axis] + b + x.shape[axis + len(idx):]


def _gather_nd_types(ts, p):
    x, *idx = ts
    if p["mode"] not in GATHER_MODES:
        raise ShapeError(f"mode must be one of {GATHER_MODES}, got {p['mode']!r}")
    return (TensorType(gathered_shape(x, idx, p["axis"]), x.dtype),)


def _scatter_nd_types(ts, p):
    x, updates, *idx = ts
    if p["mode"] not in SCATTER_MODES:
        raise ShapeError(f"mode must be one of {SCATTER_MODES}, got {p['mode']!r}")
    shape = gathered_shape(x, idx, p["axis"])
    if updates.shape != shape:
        raise ShapeError(f"the updates' shape {updates.shape} is not the indexed "
                         f"positions' shape {shape}")
    if updates.dtype != x.dtype:
        raise DTypeError(f"updates of dtype {updates.dtype.name} into an array of "
                         f"{x.dtype.name} (cast them first)")
    return (TensorType(x.shape, x.dtype),)


def wrap_indices(xp, idx, sizes, axis, raise_out_of_range):
    """The index arrays as int64 in [0, n) (negative ones wrapped) and where all of them were
    in range (None: everywhere); out of range raises IndexError if `raise_out_of_range`."""
    wrapped, valid = [], None
    for j, (i, n) in enumerate(zip(idx, sizes)):
        if i.dtype == np.uint64:  # past int64's range is out of range anyway
            i = xp.minimum(i, np.uint64(np.iinfo(np.int64).max))
        i = i.astype(np.int64, copy=False)
        bad = (i < -n) | (i >= n)
        if bool(bad.any()):
            if raise_out_of_range:
                first = int(i[bad].ravel()[0])
                raise IndexError(f"index {first} is out of bounds for axis {axis + j} with "
                                 f"size {n}")
            valid = ~bad if valid is None else valid & ~bad
        wrapped.append(xp.where(i < 0, i + n, i))
    return wrapped, valid


def _gather_nd_impl(xp, arrays, p, outs):
    x, *idx = arrays
    (out,) = outs
    axis = p["axis"]
    sizes = x.shape[axis:axis + len(idx)]
    wrapped, valid = wrap_indices(xp, idx, sizes, axis, p["mode"] == "raise")
    if valid is None:
        return [x[(slice(None),) * axis + tuple(wrapped)]]
    if not all(sizes):  # nothing to gather from: every index is out of range
        return [xp.zeros(out.shape, out.dtype.np)]
    b = tuple(np.broadcast_shapes(*(i.shape for i in idx)))
    safe = [xp.where(valid, i, 0) for i in wrapped]
    got = x[(slice(None),) * axis + tuple(safe)]
    mask = xp.broadcast_to(valid, b).reshape((1,) * axis + b + (1,) * (got.ndim - axis - len(b)))
    return [xp.where(mask, got, xp.zeros((), got.dtype))]


_UFUNCS = {"add": "add", "multiply": "multiply", "min": "minimum", "max": "maximum"}


def _scatter_nd_impl(xp, arrays, p, outs):
    x, updates, *idx = arrays
    axis, mode = p["axis"], p["mode"]
    sizes = x.shape[axis:axis + len(idx)]
    wrapped, valid = wrap_indices(xp, idx, sizes, axis, False)
    b = tuple(np.broadcast_shapes(*(i.shape for i in idx)))
    if valid is not None:  # keep the updates at indices in range (JAX drops the others)
        valid = xp.broadcast_to(valid, b)
        wrapped = [xp.broadcast_to(i, b)[valid] for i in wrapped]
        updates = updates[(slice(None),) * axis + (valid,)]
    out = x.copy()
    key = (slice(None),) * axis + tuple(wrapped)
    if mode == "set":
        out[key] = updates
    elif xp.__name__ == "numpy":
        getattr(np, _UFUNCS[mode]).at(out, key, updates)
    else:
        out = _cupy_scatter(xp, out, key, updates, mode)
    return [out]


def _cupy_scatter(xp, out, key, updates, mode):
    """CuPy's atomic scatters (cupyx.scatter_add/max/min) for the dtypes CUDA's atomics take;
    anything else (multiply, int64, small ints, bool) through NumPy on the host."""
    import cupyx  # noqa: PLC0415 - CuPy is imported already when its arrays are here

    fn = {"add": "scatter_add", "max": "scatter_max", "min": "scatter_min"}.get(mode)
    if fn is not None and out.dtype in (np.float32, np.float64, np.int32, np.uint32, np.uint64):
        getattr(cupyx, fn)(out, key, updates)
        return out
    host = out.get()
    getattr(np, _UFUNCS[mode]).at(host, tuple(k if isinstance(k, slice) else k.get()
                                             for k in key), updates.get())
    return xp.asarray(host)


FUNCTIONS = (
    LibraryFunction("take_along_axis", (2, 2), {"axis": -1}, _gather_types, _gather_impl,
                    "x's elements at `indices` along `axis`"),
    LibraryFunction("scatter_add_along_axis", (2, 2), {"axis": REQUIRED, "shape": REQUIRED},
                    _scatter_types, _scatter_impl,
                    "zeros of `shape` with `updates` added at `indices` along `axis`"),
    LibraryFunction("gather", (2, None), {"axis": 0, "mode": "raise"}, _gather_nd_types,
                    _gather_nd_impl,
                    "x at the index arrays (broadcast together) over axes axis, axis+1 ..."),
    LibraryFunction("scatter", (3, None), {"axis": 0, "mode": "set"}, _scatter_nd_types,
                    _scatter_nd_impl,
                    "x with `updates` set, added, multiplied, min'd or max'd at the indices"),
)
