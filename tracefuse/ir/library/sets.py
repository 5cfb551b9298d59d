"""The set function `unique` with a static `size`, what a traced `tx.unique_values`,
`unique_counts`, `unique_inverse` or `unique_all` becomes (as JAX's `jnp.unique(x, size=,
fill_value=)`); eagerly without `size` the frontend calls `unique_arrays` directly
(frontend/sets.py). Types and NumPy implementations; its rules are in transforms/library/sets.py.

Semantics, the array API standard's (2023.12): the unique values of the flattened array,
sorted; NaNs are all distinct (each NaN is its own value: NaN != NaN), -0.0 and 0.0 are one
value; `indices` are the first occurrences (in x flattened), `inverse` has x's shape,
`counts` how often each value occurs. With `size`: the first `size` unique values, padded
with `fill_value` (default: x's smallest value; 0 for an empty x), indices and counts padded
with 0; the inverse is unchanged (it may point past `size` when values were cut off).
`results` names which of the four outputs the call has, in that order.
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from .. import dtypes as dt
from ..types import TensorType
from .base import REQUIRED, LibraryFunction, is_real, require_kind
from .searching import batch_dims_of, per_batch

RESULTS = ("values", "indices", "inverse", "counts")


def unique_arrays(xp, x) -> dict:
    """values, indices, inverse (x's shape), counts of `x` (NumPy or CuPy), by one stable sort:
    a value starts a group where it differs from the one before (NaN differs from everything,
    so NaNs stay distinct)."""
    flat = x.reshape(-1)
    n = flat.shape[0]
    order = xp.argsort(flat, kind="stable") if xp.__name__ == "numpy" else xp.argsort(flat)
    s = flat[order]
    new = xp.ones(n, dtype=bool)
    if n > 1:
        new[1:] = s[1:] != s[:-1]
    group = xp.cumsum(new) - 1
    inverse = xp.empty(n, dtype=np.int64)
    inverse[order] = group
    starts = xp.nonzero(new)[0]
    counts = xp.diff(xp.concatenate([starts, xp.asarray([n], dtype=starts.dtype)]))
    return {"values": s[starts], "indices": order[starts].astype(np.int64),
            "inverse": inverse.reshape(x.shape), "counts": counts.astype(np.int64)}


def _results_of(p) -> tuple[str, ...]:
    results = p["results"]
    if (not isinstance(results, tuple) or not results
            or any(r not in RESULTS for r in results)):
        raise ShapeError(f"results must be a tuple of names from {RESULTS}, got "
                         f"{results!r}")
    return results


def _unique_types(ts, p):
    (x,) = ts
    b = batch_dims_of("unique", p, x)
    require_kind("unique", x, is_real, "a real-valued (bool, integer or floating) array")
    size = p["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ShapeError(f"size must be a non-negative int, got {size!r}")
    lead = x.shape[:b]
    types = {"values": TensorType(lead + (size,), x.dtype),
             "indices": TensorType(lead + (size,), dt.DEFAULT_INDEX),
             "inverse": TensorType(x.shape, dt.DEFAULT_INDEX),
             "counts": TensorType(lead + (size,), dt.DEFAULT_INDEX)}
    return tuple(types[r] for r in _results_of(p))


def _fit(xp, a, size, fill):
    a = a[:size]
    if a.shape[0] == size:
        return a
    return xp.concatenate([a, xp.full(size - a.shape[0], fill, a.dtype)])


def _unique_impl(xp, arrays, p, outs):
    size, results = p["size"], _results_of(p)

    def one(x):
        u = unique_arrays(xp, x)
        fill = p["fill_value"]
        if fill is None:
            fill = u["values"][0].item() if x.size else 0  # the smallest (NaN sorts last)
        u["values"] = _fit(xp, u["values"], size, fill)
        u["indices"] = _fit(xp, u["indices"], size, 0)
        u["counts"] = _fit(xp, u["counts"], size, 0)
        return [u[r] for r in results]

    got = per_batch(xp, arrays, p["batch_dims"], one)
    return [xp.zeros(t.shape, t.dtype.np) for t in outs] if got is None else got


FUNCTIONS = (
    LibraryFunction("unique", (1, 1), {"size": REQUIRED, "fill_value": None,
                                       "results": ("values",), "batch_dims": 0},
                    _unique_types, _unique_impl,
                    "the first `size` unique values (and first indices, inverse, counts)"),
)
