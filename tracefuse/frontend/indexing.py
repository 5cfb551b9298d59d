"""Integer-array and boolean-mask indexing (`x[key]` with NumPy's advanced indexing) and `take`.

A key with an index array, a list, a boolean mask or a bool among its entries is split in two:
its basic part (slices, None, Ellipsis) is applied first by `manipulation.getitem` (slices and
reshapes), with a full slice standing for each advanced entry; the advanced entries (integer
arrays, ints, the nonzero positions of a mask, a bool as a new axis of length 1 or 0) are
then one library call `gather` (ir/library/indexing.py) over the axes they index. Where the
result's broadcast index axes go is NumPy's rule: in place of the advanced entries when these
stand next to each other in the key, else first (an Ellipsis or None between them separates
them, even one that adds no axis).

Masks must be concrete (a NumPy array or an eager Tensor; a NumPy mask inside a trace is a
static constant): the result's shape is the number of True elements. A traced mask raises
`ConcretizationError` naming the line, with the shape-keeping alternative `tx.where`.
Concrete index arrays out of range raise IndexError at the user's line (also while tracing);
traced ones when the gather runs (its library step checks them). The plan of a key (`plan_key`) is shared with the functional updates (updates.py).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConcretizationError, DTypeError, user_location, with_location
from ..tracer.tracer import Tracer
from . import device as _device
from . import manipulation
from . import tensor as _tensor
from .dispatch import call, type_of


def _index_error(message: str) -> IndexError:
    return IndexError(with_location(message, user_location()))


_VALID = ("only integers, slices (`:`), ellipsis (`...`), None (tx.newaxis) and integer or "
          "boolean arrays are valid indices")


def _host(k: Any) -> np.ndarray:
    """A concrete key entry (Tensor, NumPy or CuPy array, list) as a NumPy array."""
    if isinstance(k, _tensor.Tensor):
        return _device.to_host(k._array)
    if _device.is_gpu_array(k):
        return _device.to_host(k)
    arr = np.asarray(k)
    if arr.size == 0 and arr.dtype.kind == "f" and isinstance(k, (list, tuple)):
        arr = arr.astype(np.intp)  # [] is an empty index array, as NumPy
    return arr


def is_advanced_entry(k: Any) -> bool:
    """Whether a key entry makes the key advanced: an index array, a mask, a list, a bool, a
    traced integer (a 0-d traced index is a gather too: its value is unknown)."""
    if isinstance(k, (bool, np.bool_, list)):
        return True
    if isinstance(k, Tracer):
        return True
    if isinstance(k, _tensor.Tensor):
        return k.ndim > 0 or k.dtype.is_bool
    if isinstance(k, np.ndarray) or _device.is_gpu_array(k):
        return k.ndim > 0 or k.dtype.kind == "b"
    return False


def has_advanced(key: Any) -> bool:
    key = key if isinstance(key, tuple) else (key,)
    return any(is_advanced_entry(k) for k in key)


@dataclass
class Plan:
    """A key split into its basic part and its advanced index arrays.

    `basic`: the key of slices and None (advanced entries as full slices) that
    `manipulation.getitem` applies first; `indices`: the advanced index arrays (NumPy arrays,
    Tensors, Tracers), `axes`: the axis of the basic result each indexes (consecutive when
    `adjacent`); `position`: where the broadcast index axes go in the result (the first
    indexed axis when adjacent, else 0)."""

    basic: tuple
    indices: list
    axes: list
    adjacent: bool

    @property
    def position(self) -> int:
        return self.axes[0] if self.adjacent else 0


def _traced_mask_error() -> ConcretizationError:
    return ConcretizationError(with_location(
        "indexing with a boolean mask that is being traced by @tx.function: the result's "
        "shape is the number of True elements, which is only known when the compiled function "
        "runs. Keep the shape with tx.where(mask, x, 0) (or a reduction such as "
        "tx.sum(tx.where(mask, x, 0))), use tx.nonzero(mask, size=n) for at most n positions, "
        "or index outside tx.function", user_location()))


def _entry(k: Any, ints_as_arrays: bool):
    """(kind, value, axes consumed) of one key entry: kind is "none", "ellipsis", "slice",
    "int", "array" (an integer index array), "mask" (a concrete NumPy bool array) or
    "bool" (a Python or 0-d bool)."""
    if k is None:
        return "none", None, 0
    if k is Ellipsis:
        return "ellipsis", None, 0
    if isinstance(k, slice):
        return "slice", k, 1
    if isinstance(k, (bool, np.bool_)):
        return "bool", bool(k), 0
    if isinstance(k, Tracer):
        if k.dtype.is_bool:
            raise _traced_mask_error()
        if not k.dtype.is_integer:
            raise _index_error(f"an index of dtype {k.dtype.name}: {_VALID}")
        return "array", k, 1
    if isinstance(k, (list, np.ndarray, _tensor.Tensor)) or _device.is_gpu_array(k):
        arr = _host(k)
        if arr.dtype.kind == "b":
            return ("bool", bool(arr), 0) if arr.ndim == 0 else ("mask", arr, arr.ndim)
        if arr.dtype.kind not in "iu":
            raise _index_error(f"an index array of dtype {arr.dtype}: {_VALID}")
        if arr.ndim == 0 and not ints_as_arrays:
            return "int", int(arr), 1
        return "array", arr, 1
    if hasattr(k, "__index__") and not isinstance(k, float):
        i = operator.index(k)
        return ("array", np.asarray(i, np.int64), 1) if ints_as_arrays else ("int", i, 1)
    raise _index_error(f"index {k!r} of type {type(k).__name__}: {_VALID}")


def _check_bounds(arr: Any, n: int, axis: int) -> None:
    """A concrete index array out of range raises IndexError at the user's line, as NumPy."""
    if not isinstance(arr, np.ndarray) or arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    for i in (lo, hi):
        if not -n <= i < n:
            raise _index_error(f"index {i} is out of bounds for axis {axis} with size {n}")


def plan_key(shape: tuple[int, ...], key: Any, *, ints_as_arrays: bool = False,
             check_bounds: bool = True) -> Plan:
    """The plan of `x[key]` for an x of `shape` (see `Plan`). `ints_as_arrays`: ints become
    0-d index arrays (the updates' rule: out of range is then dropped, not an error)."""
    key = key if isinstance(key, tuple) else (key,)
    entries = [_entry(k, ints_as_arrays) for k in key]
    if sum(kind == "ellipsis" for kind, _, _ in entries) > 1:
        raise _index_error("an index can only have a single ellipsis ('...')")
    consumed = sum(n for _, _, n in entries)
    ndim = len(shape)
    if consumed > ndim:
        raise _index_error(f"too many indices: {consumed} for an array of {ndim} dimensions")
    advanced = [j for j, (kind, _, _) in enumerate(entries)
                if kind in ("int", "array", "mask", "bool")]
    adjacent = bool(advanced) and advanced[-1] - advanced[0] + 1 == len(advanced)
    if not any(kind == "ellipsis" for kind, _, _ in entries):
        entries.append(("ellipsis", None, 0))
    basic, indices, axes = [], [], []
    xaxis = 0  # the axis of x the next entry indexes
    for kind, value, _ in entries:
        if kind == "ellipsis":
            fill = ndim - consumed
            basic += [slice(None)] * fill
            xaxis += fill
        elif kind in ("none", "slice"):
            basic.append(value)
            xaxis += kind == "slice"
        elif kind == "bool":  # a new axis of length 1, indexed by [0] (True) or [] (False)
            axes.append(len(basic))
            basic.append(None)
            indices.append(np.zeros(1 if value else 0, np.int64))
        elif kind == "mask":
            dims = shape[xaxis:xaxis + value.ndim]
            if value.shape != dims:
                raise _index_error(f"boolean index did not match the indexed array: mask of "
                                   f"shape {value.shape} for axes {xaxis}..{xaxis + value.ndim - 1}"
                                   f" of shape {dims}")
            for nz in np.nonzero(value):
                axes.append(len(basic))
                basic.append(slice(None))
                indices.append(nz.astype(np.int64))
            xaxis += value.ndim
        else:  # an int or an index array
            n = shape[xaxis]
            if kind == "int":
                value = np.asarray(value, np.int64)
            if check_bounds:
                _check_bounds(value, n, xaxis)
            axes.append(len(basic))
            basic.append(slice(None))
            indices.append(value)
            xaxis += 1
    return Plan(tuple(basic), indices, axes, adjacent)


def gather_planned(y: Any, plan: Plan):
    """The advanced part of a plan on `y`, the basic part's result."""
    n = type_of(y).ndim
    if plan.adjacent:
        (out,) = call("gather", [y, *plan.indices], axis=plan.axes[0], mode="raise")
        return out
    order = plan.axes + [a for a in range(n) if a not in plan.axes]
    (out,) = call("gather", [manipulation.permute_dims(y, order), *plan.indices], axis=0,
                  mode="raise")
    return out


def getitem(x: Any, key: Any):
    """`x[key]`, NumPy's basic and advanced indexing (see the module docstring)."""
    if not has_advanced(key):
        return manipulation.getitem(x, key)
    plan = plan_key(type_of(x).shape, key)
    y = manipulation.getitem(x, plan.basic)
    return gather_planned(y, plan)


def take(x: Any, indices: Any, /, *, axis: int | None = None):
    """The elements of `x` at the integer `indices` along `axis` (None: of x flattened, as
    NumPy; the array API standard asks for it only when x is 1-d). Negative indices count from
    the end; one out of range raises IndexError (concrete indices at once, also while
    tracing; traced ones when the gather runs). The result has x's axes with `axis`
    replaced by the indices' axes."""
    if axis is None:
        x, axis = manipulation.reshape(x, (-1,)), 0
    t = type_of(x)
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise _index_error(f"take: axis must be an int, got {axis!r}")
    if not -t.ndim <= axis < t.ndim:
        raise _index_error(f"take: axis {axis} is out of range for an array of {t.ndim} "
                           "dimension(s)")
    axis %= t.ndim
    if isinstance(indices, (list, tuple, np.ndarray, int, np.integer)):
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu" and indices.size:
            raise DTypeError(with_location(f"take needs integer indices, got {indices.dtype}",
                                           user_location()))
        indices = indices.astype(np.int64) if indices.dtype.kind not in "iu" else indices
        _check_bounds(indices, t.shape[axis], axis)
    (out,) = call("gather", [x, indices], axis=axis, mode="raise")
    return out
