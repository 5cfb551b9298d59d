"""The set functions of the array API standard (2023.12): `unique_values`, `unique_counts`,
`unique_inverse`, `unique_all`, with its semantics: x flattened, values sorted, NaNs distinct,
results as named tuples with the standard's field names (`values`, `indices`,
`inverse_indices`, `counts`), `inverse_indices` of x's shape.

Their result shapes depend on the values: eagerly they run at once (ir/library/sets.py
`unique_arrays`, on NumPy or CuPy arrays); traced they need a static `size=` (and
`fill_value=`), as JAX's `jnp.unique`, and are then one library call `unique`; without one
they raise ConcretizationError naming the line.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..ir.library import array_module
from ..ir.library.sets import unique_arrays
from . import tensor as _tensor
from .dispatch import call, eager_operand, is_traced
from .searching import value_dependent_error


class UniqueAllResult(NamedTuple):
    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    values: Any
    inverse_indices: Any


_FIELDS = {"values": "values", "indices": "indices", "inverse_indices": "inverse",
           "counts": "counts"}


def _unique(name: str, x: Any, fields: tuple[str, ...], size, fill_value) -> list:
    results = tuple(_FIELDS[f] for f in fields)
    if size is not None:
        fill = fill_value.item() if hasattr(fill_value, "item") else fill_value
        return call("unique", [x], size=int(size), fill_value=fill, results=results)
    if is_traced(x):
        raise value_dependent_error(f"tx.{name}(x)", "size=n (and fill_value=)")
    arr, _ = eager_operand(x)
    got = unique_arrays(array_module([arr]), arr)
    return [_tensor.Tensor._wrap(got[r]) for r in results]


def unique_values(x: Any, /, *, size: int | None = None, fill_value: Any = None):
    """The unique values of `x` (flattened), sorted; each NaN is its own value. `size` (and
    `fill_value`, default x's smallest value) for tx.function: the first `size`, padded."""
    (values,) = _unique("unique_values", x, ("values",), size, fill_value)
    return values


def unique_counts(x: Any, /, *, size: int | None = None, fill_value: Any = None):
    """(values, counts): the unique values and how often each occurs (int64)."""
    return UniqueCountsResult(*_unique("unique_counts", x, UniqueCountsResult._fields, size,
                                       fill_value))


def unique_inverse(x: Any, /, *, size: int | None = None, fill_value: Any = None):
    """(values, inverse_indices): the unique values and, for each element of x (x's shape),
    the index of its value: `values[inverse_indices]` is x."""
    return UniqueInverseResult(*_unique("unique_inverse", x, UniqueInverseResult._fields, size,
                                        fill_value))


def unique_all(x: Any, /, *, size: int | None = None, fill_value: Any = None):
    """(values, indices, inverse_indices, counts): indices are the first occurrences in x
    flattened."""
    return UniqueAllResult(*_unique("unique_all", x, UniqueAllResult._fields, size,
                                    fill_value))
