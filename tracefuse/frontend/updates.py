"""Functional updates, JAX's `x.at[key].set(v)` / `.add` / `.multiply` / `.min` / `.max` /
`.get()`: a new array equal to x but at the positions `x[key]` selects (tracefuse arrays are
immutable; `x[key] = v` raises TypeError pointing here).

`key` is anything `x[key]` accepts (indexing.py). The values broadcast to the shape of
`x[key]` and are cast to x's dtype. Semantics, as JAX: an integer index out of range
(an int or an index array entry, also a negative one below -n) drops its update instead of
raising; repeated positions accumulate for add / multiply / min / max, and for set one of the
updates wins (which one is not defined). `.get()` is `x[key]`.

How: the key's plan (indexing.plan_key, ints as 0-d index arrays) splits it into a basic part
(slices, None) and advanced index arrays. The region the basic part selects (slices and
reshapes of x) gets the update: a `scatter` call (ir/library/indexing.py) over the advanced
index arrays, or, without any, plain elementwise math. The region is then written back into
x by one `scatter` "set" over static `arange` index arrays of the slices that do not span
their axis (skipped when every slice does). Gradients (set, add) and vmap follow from those
of the slices and the scatter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, user_location, with_location
from . import elementwise as ew
from . import manipulation
from .dispatch import call, type_of
from .indexing import getitem, plan_key

MODES = ("set", "add", "multiply", "min", "max")

# the update of a region without index arrays (no repeated positions): elementwise math
_ELEMENTWISE = {
    "set": lambda y, v: v,
    "add": ew.add,
    "multiply": ew.multiply,
    "min": ew.minimum,
    "max": ew.maximum,
}
_BOOL = {"add": ew.logical_or, "multiply": ew.logical_and, "min": ew.logical_and,
         "max": ew.logical_or}  # NumPy's add.at etc. on bool arrays


def _values(values: Any, dtype, shape: tuple[int, ...], mode: str):
    v = ew.astype(values, dtype, copy=False)
    vshape = type_of(v).shape
    try:
        ok = np.broadcast_shapes(vshape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(with_location(
            f"x.at[...].{mode}: values of shape {vshape} do not broadcast to the indexed "
            f"shape {shape}", user_location()))
    return manipulation.broadcast_to(v, shape)


def _gathered_shape(yshape, plan) -> tuple[int, ...]:
    b = np.broadcast_shapes(*(type_of(i).shape for i in plan.indices))
    rest = [d for a, d in enumerate(yshape) if a not in plan.axes]
    p = plan.position
    return tuple(rest[:p]) + tuple(b) + tuple(rest[p:])


def _update_region(y, plan, values, mode: str):
    """The region y (the basic part's result) with the update applied."""
    t = type_of(y)
    if not plan.indices:
        v = _values(values, t.dtype, t.shape, mode)
        rule = _BOOL.get(mode, _ELEMENTWISE[mode]) if t.dtype.is_bool else _ELEMENTWISE[mode]
        return rule(y, v)
    v = _values(values, t.dtype, _gathered_shape(t.shape, plan), mode)
    if plan.adjacent:
        (out,) = call("scatter", [y, v, *plan.indices], axis=plan.axes[0], mode=mode)
        return out
    order = plan.axes + [a for a in range(t.ndim) if a not in plan.axes]
    (out,) = call("scatter", [manipulation.permute_dims(y, order), v, *plan.indices], axis=0,
                  mode=mode)
    return manipulation.permute_dims(out, tuple(int(i) for i in np.argsort(order)))


def _write_back(x, shape: tuple[int, ...], basic: tuple, region):
    """x with the region its basic key selects replaced by `region`."""
    slices = [k for k in basic if k is not None]  # one per axis of x
    ranges = [range(*s.indices(n)) for s, n in zip(slices, shape)]
    region = manipulation.reshape(region, tuple(len(r) for r in ranges))  # the None axes go
    partial = [a for a, (r, n) in enumerate(zip(ranges, shape)) if r != range(n)]
    if not partial:
        return region
    first, last = partial[0], partial[-1]
    m = last - first + 1
    idx = [np.asarray(ranges[a], np.int64).reshape((1,) * j + (-1,) + (1,) * (m - 1 - j))
           for j, a in enumerate(range(first, last + 1))]
    (out,) = call("scatter", [x, region, *idx], axis=first, mode="set")
    return out


def index_update(x: Any, key: Any, values: Any, mode: str):
    """`x.at[key].<mode>(values)`: see the module docstring."""
    if mode == "get":
        return getitem(x, key)
    if mode not in MODES:
        raise ValueError(f"x.at[...] has no update {mode!r} (it has {', '.join(MODES)}, get)")
    shape = type_of(x).shape
    plan = plan_key(shape, key, ints_as_arrays=True, check_bounds=False)
    region = _update_region(manipulation.getitem(x, plan.basic), plan, values, mode)
    return _write_back(x, shape, plan.basic, region)
