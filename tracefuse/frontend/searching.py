"""Searching, as the array API standard spells it: `searchsorted` and `nonzero` (`argmax`,
`argmin` are reductions; `where` is elementwise; `count_nonzero` lives with the reductions).

`searchsorted` is one library call (ir/library/searching.py). `nonzero`'s result shape is the
number of nonzero elements, known only from the values: eagerly it runs NumPy (or CuPy) at
once; traced it needs a static `size=` (and `fill_value=`), as JAX's `jnp.nonzero`, and is then
a library call with results of shape (size,); without one it raises ConcretizationError
naming the line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConcretizationError, ShapeError, user_location, with_location
from ..ir.library import array_module
from . import tensor as _tensor
from .dispatch import call, eager_operand, is_traced, type_of


def searchsorted(x1: Any, x2: Any, /, *, side: str = "left", sorter: Any = None):
    """The int64 indices where the values of `x2` would be inserted into the 1-d `x1` (sorted
    ascending, or in the order of the indices `sorter`) to keep it sorted: before equal values
    with side "left", after them with "right". NaN sorts last, as NumPy."""
    operands = [x1, x2] if sorter is None else [x1, x2, sorter]
    (out,) = call("searchsorted", operands, side=str(side))
    return out


def value_dependent_error(what: str, size_hint: str) -> ConcretizationError:
    """The error of a function whose output shape depends on a traced value."""
    return ConcretizationError(with_location(
        f"{what}: its output shape depends on the values of an array that is being traced by "
        f"@tx.function, which are only known when the compiled function runs. Pass a static "
        f"{size_hint} (the results are then cut or padded to it, as JAX), or call it outside "
        "tx.function", user_location()))


def _fill(fill_value: Any):
    if fill_value is None or isinstance(fill_value, int):
        return fill_value
    if isinstance(fill_value, (tuple, list)):
        return tuple(int(f) for f in fill_value)
    return int(fill_value)


def nonzero(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> tuple:
    """The indices of the nonzero (True) elements of `x`, one int64 array per axis, in C
    order. With `size`: the first `size` of them, padded with `fill_value` (default 0; one
    value, or one per axis) — what tx.function needs. A 0-d x raises, as the standard asks."""
    if type_of(x).ndim == 0:
        raise ShapeError(with_location("nonzero needs an array of at least one dimension, got "
                                       "a 0-d array (use tx.reshape(x, (1,)))", user_location()))
    if size is not None:
        return tuple(call("nonzero", [x], size=int(size), fill_value=_fill(fill_value)))
    if is_traced(x):
        raise value_dependent_error("tx.nonzero(x)", "size=n (and fill_value=)")
    arr, _ = eager_operand(x)
    xp = array_module([arr])
    return tuple(_tensor.Tensor._wrap(i.astype(np.int64)) for i in xp.nonzero(arr))
