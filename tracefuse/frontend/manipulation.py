"""Shape manipulation and basic indexing: `reshape`, `permute_dims`, `expand_dims`, `squeeze`,
`broadcast_to`, `broadcast_arrays`, `concat`, `stack`, `flip`, `moveaxis`, and `x[key]`.

Everything here becomes the movement ops `reshape`, `permute_dims`, `broadcast_to`, `slice`,
`concat`: `expand_dims` and `squeeze` are reshapes; `flip` and negative steps are slices with a
negative step; an integer index is a one-element slice plus a reshape dropping that axis.
Ops that would change nothing are not emitted.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from .axes import (check_axes as _axes, check_axis as _axis, same_or_tensor as _copy_if_same,
                   shape_error as _shape_error, slice_op as _slice_op)  # this module's old names
from .dispatch import bind, type_of
from ..errors import ShapeError, user_location, with_location
from ..ir import Attrs, OpCode
from ..ir.rules import broadcast_shapes

G = OpCode


def reshape(x, /, shape, *, copy=None):
    """x with a new shape of the same size; one dimension may be -1 (inferred)."""
    t = type_of(x)
    scalar = isinstance(shape, int) or getattr(shape, "ndim", None) == 0  # NumPy ints too
    shape = (operator.index(shape),) if scalar else tuple(operator.index(d) for d in shape)
    if shape.count(-1) > 1:
        raise _shape_error(f"reshape: at most one -1 in shape {shape}")
    if -1 in shape:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or t.size % known:
            raise _shape_error(f"reshape: cannot reshape an array of shape {t.shape} into {shape}")
        shape = tuple(t.size // known if d == -1 else d for d in shape)
    if shape == t.shape:
        return _copy_if_same(x, t)
    return bind(G.RESHAPE, (x,), Attrs(shape=shape))


def permute_dims(x, /, axes):
    """x with its axes reordered: result axis i is input axis axes[i]."""
    t = type_of(x)
    axes = tuple(_axis(a, t.ndim) for a in axes)
    if axes == tuple(range(t.ndim)):
        return _copy_if_same(x, t)
    return bind(G.PERMUTE, (x,), Attrs(axes=axes))


def matrix_transpose(x, /):
    """The last two axes swapped (x must have at least 2)."""
    n = type_of(x).ndim
    if n < 2:
        raise _shape_error(f"matrix_transpose needs at least 2 dimensions, got {n}")
    return permute_dims(x, tuple(range(n - 2)) + (n - 1, n - 2))


def moveaxis(x, source, destination, /):
    """x with axis `source` moved to position `destination` (ints or sequences of one length,
    without repeats); the other axes keep their order."""
    n = type_of(x).ndim
    src = [_axis(a, n) for a in ((source,) if isinstance(source, int) else source)]
    dst = [_axis(a, n) for a in ((destination,) if isinstance(destination, int) else destination)]
    if len(src) != len(dst):
        raise _shape_error(f"moveaxis: source {source} and destination {destination} must have "
                           "the same number of axes")
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise _shape_error(f"moveaxis: repeated axis in source {source} or destination "
                           f"{destination}")
    order = [a for a in range(n) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute_dims(x, tuple(order))


def swapaxes(x, axis1, axis2, /):
    n = type_of(x).ndim
    order = list(range(n))
    a, b = _axis(axis1, n), _axis(axis2, n)
    order[a], order[b] = order[b], order[a]
    return permute_dims(x, tuple(order))


def expand_dims(x, /, axis=0):
    """x with new axes of size 1 inserted at `axis` (an int or, as in the 2024.12 standard, a
    tuple: positions in the result). Out of range: AxisError, an IndexError."""
    t = type_of(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    ndim = t.ndim + len(axes)
    norm = _axes(axes, ndim)
    dims = iter(t.shape)
    shape = tuple(1 if i in norm else next(dims) for i in range(ndim))
    return bind(G.RESHAPE, (x,), Attrs(shape=shape))


def squeeze(x, /, axis=None):
    """x without the axes of size 1 named by `axis` (None: all of them)."""
    t = type_of(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(t.shape) if d == 1)
    else:
        axes = _axes(axis, t.ndim)
        for a in axes:
            if t.shape[a] != 1:
                raise _shape_error(f"squeeze: axis {a} has size {t.shape[a]}, not 1 (shape {t.shape})")
    if not axes:
        return _copy_if_same(x, t)
    shape = tuple(d for i, d in enumerate(t.shape) if i not in axes)
    return bind(G.RESHAPE, (x,), Attrs(shape=shape))


def broadcast_to(x, /, shape):
    """x repeated along new or size-1 axes to `shape` (NumPy broadcasting rules)."""
    t = type_of(x)
    shape = tuple(operator.index(d) for d in shape)
    if shape == t.shape:
        return _copy_if_same(x, t)
    return bind(G.BROADCAST_TO, (x,), Attrs(shape=shape))


def broadcast_arrays(*arrays):
    """The arrays broadcast against each other to one shape (a list)."""
    try:
        shape = broadcast_shapes(*(type_of(a).shape for a in arrays))
    except ShapeError as e:
        raise _shape_error(f"broadcast_arrays: {e}") from None
    return [broadcast_to(a, shape) for a in arrays]


def concat(arrays, /, *, axis: int | None = 0):
    """The arrays joined along an existing `axis` (None: flattened first); dtypes promote."""
    arrays = list(arrays)
    if not arrays:
        raise _shape_error("concat needs at least one array")
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    axis = _axis(axis, type_of(arrays[0]).ndim)
    return bind(G.CONCAT, tuple(arrays), Attrs(axis=axis))


def stack(arrays, /, *, axis: int = 0):
    """The arrays (all of one shape) joined along a new `axis`."""
    arrays = list(arrays)
    if not arrays:
        raise _shape_error("stack needs at least one array")
    shapes = {type_of(a).shape for a in arrays}
    if len(shapes) != 1:
        raise _shape_error(f"stack: all arrays must have one shape, got {sorted(shapes)}")
    ndim = len(shapes.pop()) + 1
    axis = _axis(axis, ndim)
    return bind(G.CONCAT, tuple(expand_dims(a, axis) for a in arrays), Attrs(axis=axis))


def flip(x, /, *, axis=None):
    """x with the order of elements reversed along `axis` (None: every axis)."""
    t = type_of(x)
    axes = _axes(axis, t.ndim)
    starts, sizes, steps = [], [], []
    for i, d in enumerate(t.shape):
        reverse = i in axes and d > 0
        starts.append(d - 1 if reverse else 0)
        sizes.append(d)
        steps.append(-1 if reverse else 1)
    out = _slice_op(x, t, starts, sizes, steps)
    return _copy_if_same(out, t) if out is x else out


def _index_error(message: str) -> IndexError:
    return IndexError(with_location(message, user_location()))


def _is_array_key(k: Any) -> bool:
    """An index array or mask (NumPy, Tensor, Tracer): anything but a 0-d integer."""
    dtype = getattr(k, "dtype", None)
    return getattr(k, "shape", ()) != () or (dtype is not None and dtype.kind not in "iu")


def getitem(x, key: Any):
    """Basic indexing: ints (negative count from the end), slices with any step, None, `...`."""
    t = type_of(x)
    key = key if isinstance(key, tuple) else (key,)
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    ellipses = sum(1 for k in key if k is Ellipsis)
    if ellipses > 1:
        raise _index_error("an index can only have a single ellipsis ('...')")
    if consumed > t.ndim:
        raise _index_error(f"too many indices: {consumed} for an array of {t.ndim} dimensions")
    if ellipses:
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (t.ndim - consumed) + key[i + 1 :]
    else:
        key = key + (slice(None),) * (t.ndim - consumed)
    starts, sizes, steps, out_shape = [], [], [], []
    axis = 0
    for k in key:
        if k is None:
            out_shape.append(1)
            continue
        d = t.shape[axis]
        if isinstance(k, slice):
            start, stop, step = k.indices(d)
            size = len(range(start, stop, step))
            starts.append(start if size else 0)
            sizes.append(size)
            steps.append(step)
            out_shape.append(size)
        else:
            if isinstance(k, bool) or not hasattr(k, "__index__") or _is_array_key(k):
                raise _index_error(
                    f"index {k!r} of type {type(k).__name__} is not supported: an index is "
                    "an int, a slice, None, '...', or an integer or boolean array (x[mask] "
                    "keeps the True elements; tx.where(mask, x, 0) keeps the shape)"
                )
            i = operator.index(k)
            if not -d <= i < d:
                raise _index_error(f"index {i} is out of bounds for axis {axis} with size {d}")
            starts.append(i % d)
            sizes.append(1)
            steps.append(1)
        axis += 1
    out = _slice_op(x, t, starts, sizes, steps)
    out_shape = tuple(out_shape)
    if out_shape != tuple(sizes):
        out = bind(G.RESHAPE, (out,), Attrs(shape=out_shape))
    elif out is x:
        out = _copy_if_same(x, t)
    return out
