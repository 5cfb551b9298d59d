"""Sorting, running sums and gathers along an axis, as the array API standard spells them:
`sort`, `argsort`, `cumulative_sum`, `cumulative_prod`, `take_along_axis`. Each is one library
call (ir/library): eager, traced, differentiable where it makes sense (transforms/
library_rules.py) and batched by `vmap`.
"""

from __future__ import annotations

from typing import Any

from ..ir.dtypes import as_dtype
from .dispatch import call


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True):
    """`x` sorted along `axis` (NaN last; `descending` reverses the order, keeping equal
    elements in their original order)."""
    (out,) = call("sort", [x], axis=int(axis), descending=bool(descending), stable=bool(stable))
    return out


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True):
    """The int64 indices that sort `x` along `axis` (ties in their original order)."""
    (out,) = call("argsort", [x], axis=int(axis), descending=bool(descending),
                  stable=bool(stable))
    return out


def _cumulative(fn: str, x: Any, axis, dtype, include_initial):
    (out,) = call(fn, [x], axis=None if axis is None else int(axis),
                  dtype=None if dtype is None else as_dtype(dtype),
                  include_initial=bool(include_initial))
    return out


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False):
    """Running sums along `axis` (needed unless `x` is 1-d); `include_initial` starts with 0.
    The dtype is `sum`'s (int64 for smaller signed ints, ...) unless given."""
    return _cumulative("cumulative_sum", x, axis, dtype, include_initial)


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                    include_initial: bool = False):
    """Running products along `axis`; `include_initial` starts with 1."""
    return _cumulative("cumulative_prod", x, axis, dtype, include_initial)


def take_along_axis(x: Any, indices: Any, /, *, axis: int = -1):
    """The elements of `x` at `indices` along `axis` (indices of x's rank; the other axes
    broadcast). Negative indices count from the end; one out of range raises IndexError
    on NumPy (eager, and compiled on cpu)."""
    (out,) = call("take_along_axis", [x, indices], axis=int(axis))
    return out
