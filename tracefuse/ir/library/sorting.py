"""Library functions that sort and accumulate along an axis: `sort`, `argsort`
(`descending`, `stable`, as the array API standard) and `cumulative_sum`, `cumulative_prod`
(`include_initial`, `dtype`). Types and NumPy implementations; their derivative and batching
rules are in transforms/library.

Semantics, as NumPy and the standard: NaN sorts last ascending (and first descending, the
reverse of the ascending order); a stable descending sort keeps equal elements in their
original order (argsort: reverse the array, sort ascending stably, reverse back and map the
indices, so ties keep their order).
"""

from __future__ import annotations

from ...errors import DTypeError, ShapeError
from .. import dtypes as dt
from ..dtypes import as_dtype
from ..types import TensorType
from .base import LibraryFunction, is_real, norm_axis, require_kind

_SORT_PARAMS = {"axis": -1, "descending": False, "stable": True}


def _sort_operand(name, t: TensorType, axis) -> int:
    require_kind(name, t, is_real, "a real-valued (bool, integer or floating) array")
    if t.ndim == 0:
        raise ShapeError(f"{name} needs an array of at least one dimension, got a 0-d array")
    return norm_axis(axis, t.ndim)


def _sort_types(ts, p):
    (t,) = ts
    _sort_operand("sort", t, p["axis"])
    return (t.strong(),)


def _argsort_types(ts, p):
    (t,) = ts
    _sort_operand("argsort", t, p["axis"])
    return (TensorType(t.shape, dt.DEFAULT_INDEX),)


def _kind(xp, stable: bool) -> dict:
    """NumPy's `kind` for a stable sort; CuPy's sorts are stable and take no other kind."""
    return {"kind": "stable"} if stable and xp.__name__ == "numpy" else {}


def _argsort(xp, x, axis, descending, stable):
    if not descending:
        return xp.argsort(x, axis=axis, **_kind(xp, stable))
    n = x.shape[axis]
    flipped = xp.flip(x, axis=axis)
    return (n - 1) - xp.flip(xp.argsort(flipped, axis=axis, **_kind(xp, True)), axis=axis)


def _sort_impl(xp, arrays, p, outs):
    (x,) = arrays
    axis = p["axis"] % x.ndim
    if p["descending"]:
        return [xp.flip(xp.sort(x, axis=axis, **_kind(xp, True)), axis=axis)]
    return [xp.sort(x, axis=axis, **_kind(xp, p["stable"]))]


def _argsort_impl(xp, arrays, p, outs):
    (x,) = arrays
    return [_argsort(xp, x, p["axis"] % x.ndim, p["descending"], p["stable"])]


_CUMULATIVE_PARAMS = {"axis": None, "dtype": None, "include_initial": False}


def _cumulative_types(name):
    def rule(ts, p):
        (t,) = ts
        require_kind(name, t, lambda d: d.is_numeric or d.is_bool, "a numeric or bool array")
        if t.ndim == 0:
            raise ShapeError(f"{name} needs an array of at least one dimension, got a 0-d "
                             "array")
        if p["axis"] is None:
            if t.ndim != 1:
                raise ShapeError(f"{name}: axis=None needs a 1-d array, got {t.ndim} "
                                 "dimensions: give the axis")
            axis = 0
        else:
            axis = norm_axis(p["axis"], t.ndim)
        if p["dtype"] is None:
            dtype = dt.sum_dtype(t.dtype)
        else:
            try:
                dtype = as_dtype(p["dtype"])
            except TypeError as e:
                raise DTypeError(f"{name}: {e}") from None
        shape = list(t.shape)
        shape[axis] += 1 if p["include_initial"] else 0
        return (TensorType(tuple(shape), dtype),)
    return rule


def _cumulative_impl(reducer, initial):
    def impl(xp, arrays, p, outs):
        (x,) = arrays
        (out,) = outs
        axis = 0 if p["axis"] is None else p["axis"] % x.ndim
        y = reducer(xp, x.astype(out.dtype.np, copy=False), axis)
        if p["include_initial"]:
            shape = list(y.shape)
            shape[axis] = 1
            y = xp.concatenate([xp.full(shape, initial, out.dtype.np), y], axis=axis)
        return [y]
    return impl


FUNCTIONS = (
    LibraryFunction("sort", (1, 1), _SORT_PARAMS, _sort_types, _sort_impl,
                    "the values sorted along `axis`"),
    LibraryFunction("argsort", (1, 1), _SORT_PARAMS, _argsort_types, _argsort_impl,
                    "the indices that sort along `axis` (int64)"),
    LibraryFunction("cumulative_sum", (1, 1), _CUMULATIVE_PARAMS,
                    _cumulative_types("cumulative_sum"),
                    _cumulative_impl(lambda xp, x, axis: xp.cumsum(x, axis=axis), 0),
                    "running sums along `axis`"),
    LibraryFunction("cumulative_prod", (1, 1), _CUMULATIVE_PARAMS,
                    _cumulative_types("cumulative_prod"),
                    _cumulative_impl(lambda xp, x, axis: xp.cumprod(x, axis=axis), 1),
                    "running products along `axis`"),
)
