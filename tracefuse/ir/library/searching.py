"""Library functions that search: `searchsorted` (where values would go in a sorted 1-d
array) and `nonzero` with a static `size` (the indices of the nonzero elements, truncated or
padded to `size`, as JAX's `jnp.nonzero(x, size=, fill_value=)`: what a traced `tx.nonzero`
becomes; an eager one without `size` runs NumPy directly, frontend/searching.py). Types and
NumPy implementations; their derivative (none: integer results) and batching rules are in
transforms/library/searching.py.

Both take `batch_dims`, leading axes that the implementation loops over (what `vmap` adds):
`searchsorted` of arrays `Bt + (n,)` and `Bt + S` is one search per element of `Bt`.

NaN, as NumPy: a NaN sorts after every number, so `searchsorted` puts NaN values at the end
(side "left": before the NaNs of the array, "right": after them).
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from .. import dtypes as dt
from ..types import TensorType
from .base import REQUIRED, LibraryFunction, is_index, is_real, require_kind


def batch_dims_of(name: str, p, *ts: TensorType) -> int:
    """The `batch_dims` parameter, checked against the operands' ranks."""
    b = p["batch_dims"]
    if isinstance(b, bool) or not isinstance(b, int) or b < 0 or any(t.ndim < b for t in ts):
        raise ShapeError(f"batch_dims={b!r} does not fit operands of rank "
                         f"{', '.join(str(t.ndim) for t in ts)}")
    return b


def per_batch(xp, arrays, b: int, fn) -> list:
    """`fn(*arrays)` (a list of results) on each element of the first `b` axes of the arrays,
    stacked back along those axes."""
    if b == 0:
        return fn(*arrays)
    lead = arrays[0].shape[:b]
    rows = [fn(*(a[i] for a in arrays)) for i in np.ndindex(*lead)]
    if not rows:  # an empty batch: results of the right shapes come from the caller's types
        return None
    return [xp.stack([r[j] for r in rows]).reshape(lead + rows[0][j].shape)
            for j in range(len(rows[0]))]


def _empty_results(xp, outs):
    return [xp.zeros(t.shape, t.dtype.np) for t in outs]


# --- searchsorted -----------------------------------------------------------------------------
def _searchsorted_types(ts, p):
    x1, x2, *sorter = ts
    b = batch_dims_of("searchsorted", p, *ts)
    for t in (x1, x2):
        require_kind("searchsorted", t, is_real, "real-valued arrays")
    if x1.ndim != b + 1:
        raise ShapeError(f"searchsorted needs a 1-d sorted array x1, got {x1.ndim - b} "
                         "dimension(s)")
    if x1.shape[:b] != x2.shape[:b]:
        raise ShapeError(f"batch axes {x1.shape[:b]} and {x2.shape[:b]} differ")
    if sorter:
        require_kind("searchsorted", sorter[0], is_index, "an integer sorter")
        if sorter[0].shape != x1.shape:
            raise ShapeError(f"sorter of shape {sorter[0].shape[b:]} for x1 of "
                             f"shape {x1.shape[b:]}")
    if p["side"] not in ("left", "right"):
        raise ShapeError(f"side must be 'left' or 'right', got {p['side']!r}")
    return (TensorType(x2.shape, dt.DEFAULT_INDEX),)


def _searchsorted_impl(xp, arrays, p, outs):
    common = np.result_type(*(a.dtype for a in arrays[:2]))

    def one(x1, x2, *sorter):
        x1, x2 = x1.astype(common, copy=False), x2.astype(common, copy=False)
        if sorter:
            n = x1.shape[0]
            s = sorter[0].astype(np.int64)
            if s.size and bool(((s < -n) | (s >= n)).any()):
                raise IndexError(f"searchsorted: a sorter index is out of range for x1 of "
                                 f"size {n}")
            x1 = x1[s]  # sorted by the sorter (negative entries count from the end)
        return [xp.searchsorted(x1, x2, side=p["side"])]

    got = per_batch(xp, arrays, p["batch_dims"], one)
    return _empty_results(xp, outs) if got is None else got


# --- nonzero with a static size ---------------------------------------------------------------
def _fill_values(fill_value, ndim: int) -> tuple:
    if fill_value is None:
        return (0,) * ndim
    if isinstance(fill_value, tuple):
        if len(fill_value) != ndim:
            raise ShapeError(f"fill_value has {len(fill_value)} entries for an array "
                             f"of {ndim} dimension(s)")
        return fill_value
    return (fill_value,) * ndim


def _nonzero_types(ts, p):
    (x,) = ts
    b = batch_dims_of("nonzero", p, x)
    size = p["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ShapeError(f"size must be a non-negative int, got {size!r}")
    if x.ndim - b == 0:
        raise ShapeError("nonzero needs an array of at least one dimension, got a 0-d array")
    _fill_values(p["fill_value"], x.ndim - b)
    return tuple(TensorType(x.shape[:b] + (size,), dt.DEFAULT_INDEX) for _ in range(x.ndim - b))


def _nonzero_impl(xp, arrays, p, outs):
    size = p["size"]

    def one(x):
        fills = _fill_values(p["fill_value"], x.ndim)
        result = []
        for i, f in zip(xp.nonzero(x), fills):
            i = i[:size].astype(np.int64)
            pad = xp.full(size - i.shape[0], f, np.int64)
            result.append(xp.concatenate([i, pad]))
        return result

    got = per_batch(xp, arrays, p["batch_dims"], one)
    return _empty_results(xp, outs) if got is None else got


FUNCTIONS = (
    LibraryFunction("searchsorted", (2, 3), {"side": "left", "batch_dims": 0},
                    _searchsorted_types, _searchsorted_impl,
                    "where the values x2 would go in the sorted x1 (int64; sorter optional)"),
    LibraryFunction("nonzero", (1, 1), {"size": REQUIRED, "fill_value": None, "batch_dims": 0},
                    _nonzero_types, _nonzero_impl,
                    "the indices of the first `size` nonzero elements, padded with fill_value"),
)
