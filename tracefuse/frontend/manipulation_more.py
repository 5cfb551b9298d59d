"""More manipulation functions of the array API (2023.12, and `diff` of 2024.12): `tile`,
`repeat`, `roll`, `unstack`, `diff`, `meshgrid`, `tril`, `triu`, `pad`, and `count_nonzero`.

None has an op of its own: each is composed of the movement ops (`slice`, `concat`, `reshape`,
`broadcast_to`), elementwise ops, `iota` and reductions, so every backend runs it, the
transforms differentiate and batch it, and the fuser fuses it with its neighbours:

- `tile` and `repeat` by an int: a reshape adding a size-1 axis, a broadcast along it, a
  reshape merging it (per-element repeats: one such piece per run of equal counts, concatenated);
- `roll`: two slices swapped by a concat, per axis; `unstack`: one slice per index;
- `diff`: slices `[1:]` minus `[:-1]`, n times; `tril` / `triu`: `where` over an iota mask;
- `pad`: constant blocks (`full`) concatenated, or for "edge", "reflect", "symmetric" and "wrap"
  the index of each padded element, computed at trace time, taken as runs of slices.

`repeat` with an array of counts has an output shape that depends on their values: eagerly
(or with a NumPy array, which is static) it works; with a traced array of counts it raises
ConcretizationError naming the line.
"""

from __future__ import annotations

import operator

import numpy as np

from . import device as _device
from .creation import full
from .dispatch import bind, type_of
from .elementwise import astype, greater_equal, less_equal, not_equal, subtract, where
from .axes import check_axes, check_axis, same_or_tensor, shape_error, slice_axis
from .manipulation import broadcast_to, concat, reshape
from .reductions import sum as _sum
from ..errors import ConcretizationError, user_location, with_location
from ..ir import Attrs, OpCode
from ..ir import dtypes as dt
from ..tracer.tracer import ByReference, Tracer

G = OpCode


def _value_error(message: str) -> ValueError:
    return ValueError(with_location(message, user_location()))


def _repeat_each(x, axis: int, count: int):
    """Every element of x along `axis` repeated `count` times in place (count >= 0)."""
    shape = type_of(x).shape
    if count == 1:
        return x
    out = reshape(x, shape[:axis + 1] + (1,) + shape[axis + 1:])
    out = broadcast_to(out, shape[:axis + 1] + (count,) + shape[axis + 1:])
    return reshape(out, shape[:axis] + (shape[axis] * count,) + shape[axis + 1:])


def _as_result(out, x):
    """The function's result: a Tensor or Tracer even when no op was needed."""
    return same_or_tensor(out, type_of(x)) if out is x else out


# --- tile, repeat ---------------------------------------------------------------------------------
def tile(x, repetitions, /):
    """x repeated `repetitions[i]` times along axis i, as numpy.tile: a shorter tuple counts
    from the last axis; a longer one adds leading axes to x."""
    t = type_of(x)
    reps = ((operator.index(repetitions),) if not hasattr(repetitions, "__len__")
            else tuple(operator.index(r) for r in repetitions))
    if any(r < 0 for r in reps):
        raise _value_error(f"tile: repetitions must be non-negative, got {reps}")
    n = max(len(reps), t.ndim)
    shape = (1,) * (n - t.ndim) + t.shape
    reps = (1,) * (n - len(reps)) + reps
    if all(r == 1 for r in reps):
        return reshape(x, shape)
    # (d0, d1) tiled (r0, r1): reshape to (1, d0, 1, d1), broadcast to (r0, d0, r1, d1), merge
    spread = tuple(v for r, d in zip(reps, shape) for v in ((1, d) if r != 1 else (d,)))
    tiled = tuple(v for r, d in zip(reps, shape) for v in ((r, d) if r != 1 else (d,)))
    out = broadcast_to(reshape(x, spread), tiled)
    return reshape(out, tuple(r * d for r, d in zip(reps, shape)))


def _static_repeats(repeats, size: int):
    """`repeats` as an int (the same count for every element) or a tuple of `size` counts."""
    if isinstance(repeats, ByReference):  # a tx.Variable: its value now (traced: a Tracer)
        repeats = repeats.value()
    if isinstance(repeats, Tracer):
        raise ConcretizationError(with_location(
            "repeat: with an array of repeats the shape of the result depends on their values, "
            "but they are being traced by @tx.function", user_location())
            + ". Pass the repeats as a Python int or sequence or a NumPy array (static), make "
            "the argument static (static_argnums=... / static_argnames=...), or call tx.repeat "
            "outside the compiled function.")
    counts = np.asarray(_device.to_host(repeats))
    if counts.dtype.kind not in "biu":
        raise TypeError(with_location(
            f"repeat: repeats must be integers, got {counts.dtype}", user_location()))
    if counts.size and counts.min() < 0:
        raise _value_error(f"repeat: repeats must be non-negative, got {counts.tolist()}")
    if counts.ndim == 0 or counts.shape == (1,):
        return int(counts.reshape(()))
    if counts.ndim != 1 or counts.shape[0] != size:
        raise _value_error(f"repeat: {counts.shape} repeats for an axis of size {size}: give one "
                           "count, or one per element along the axis")
    return tuple(int(c) for c in counts)


def repeat(x, repeats, /, *, axis=None):
    """Each element of x repeated along `axis` (None: x flattened first): `repeats` times (an
    int), or repeats[i] times for element i (an array or sequence of one count per element)."""
    if axis is None:
        x = reshape(x, (-1,))
        axis = 0
    t = type_of(x)
    axis = check_axis(axis, t.ndim)
    counts = _static_repeats(repeats, t.shape[axis])
    if isinstance(counts, int):
        return _as_result(_repeat_each(x, axis, counts), x)
    pieces, start = [], 0
    while start < len(counts):  # one piece per run of equal counts
        stop = start + 1
        while stop < len(counts) and counts[stop] == counts[start]:
            stop += 1
        if counts[start]:
            pieces.append(_repeat_each(slice_axis(x, axis, start, stop - start), axis,
                                       counts[start]))
        start = stop
    if not pieces:
        return _as_result(slice_axis(x, axis, 0, 0), x)
    return _as_result(pieces[0] if len(pieces) == 1 else concat(pieces, axis=axis), x)


# --- roll, unstack, diff --------------------------------------------------------------------------
def _ints(value, name: str) -> tuple[int, ...]:
    try:
        if isinstance(value, (tuple, list)):
            return tuple(operator.index(v) for v in value)
        return (operator.index(value),)
    except TypeError:
        raise TypeError(with_location(f"{name} must be an int or a tuple of ints, got {value!r}",
                                      user_location())) from None


def roll(x, /, shift, *, axis=None):
    """x with its elements shifted by `shift` places along `axis` (ints or tuples, broadcast
    against each other as numpy.roll does), those pushed off the end coming back at the start;
    axis=None rolls the flattened array and restores the shape."""
    t = type_of(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, axis=0), t.shape)
    shifts, axes = _ints(shift, "roll: shift"), _ints(axis, "roll: axis")
    if len(shifts) != len(axes) and 1 not in (len(shifts), len(axes)):
        raise _value_error(f"roll: shift {shift} and axis {axis} have different lengths")
    n = max(len(shifts), len(axes))
    total = {}
    for s, a in zip(shifts * (n // len(shifts)), axes * (n // len(axes))):
        a = check_axis(a, t.ndim)
        total[a] = total.get(a, 0) + s
    out = x
    for a, s in total.items():
        d = t.shape[a]
        s = s % d if d else 0
        if s:
            out = concat([slice_axis(out, a, d - s, s), slice_axis(out, a, 0, d - s)], axis=a)
    return _as_result(out, x)


def unstack(x, /, *, axis=0):
    """The slices of x along `axis`, as a tuple of arrays of one dimension less."""
    t = type_of(x)
    axis = check_axis(axis, t.ndim)
    shape = t.shape[:axis] + t.shape[axis + 1:]
    return tuple(reshape(slice_axis(x, axis, i, 1), shape) for i in range(t.shape[axis]))


def _diff_operand(value, t, axis: int):
    """`prepend` / `append` of diff: a scalar (or 0-d array) is broadcast to x's shape with
    size 1 along `axis`; Python scalars take NumPy's dtypes (int64, float64, bool)."""
    if isinstance(value, (bool, int, float)):
        value = np.asarray(value)
    if type_of(value).ndim == 0:
        return broadcast_to(value, t.shape[:axis] + (1,) + t.shape[axis + 1:])
    return value


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """The n-th forward difference along `axis`: out[i] = x[i + 1] - x[i], n times (bools:
    x[i + 1] != x[i], as NumPy); `prepend` / `append` are joined to x first."""
    t = type_of(x)
    if t.ndim == 0:
        raise shape_error("diff needs an array of at least 1 dimension, got a 0-d one")
    n = operator.index(n)
    if n < 0:
        raise _value_error(f"diff: the order n must be non-negative, got {n}")
    axis = check_axis(axis, t.ndim)
    parts = [_diff_operand(prepend, t, axis)] if prepend is not None else []
    parts.append(x)
    if append is not None:
        parts.append(_diff_operand(append, t, axis))
    out = concat(parts, axis=axis) if len(parts) > 1 else x
    step = not_equal if type_of(out).dtype.is_bool else subtract
    for _ in range(n):
        size = max(type_of(out).shape[axis] - 1, 0)
        out = step(slice_axis(out, axis, 1, size), slice_axis(out, axis, 0, size))
    return _as_result(out, x)


# --- meshgrid, tril, triu -------------------------------------------------------------------------
def meshgrid(*arrays, indexing: str = "xy"):
    """Coordinate grids from 1-D arrays (others are flattened, as NumPy): a list with one array
    per input, each of the shape (len(a0), len(a1), ...); indexing="xy" (the default) swaps the
    first two axes, as for images (rows are y), "ij" keeps them."""
    if indexing not in ("xy", "ij"):
        raise _value_error(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    flats = [reshape(a, (-1,)) for a in arrays]
    sizes = [type_of(f).shape[0] for f in flats]
    n = len(flats)
    where_ = list(range(n))  # the output axis of each input
    if indexing == "xy" and n >= 2:
        where_[0], where_[1] = 1, 0
    shape = [0] * n
    for i, size in enumerate(sizes):
        shape[where_[i]] = size
    grids = []
    for i, f in enumerate(flats):
        spread = [1] * n
        spread[where_[i]] = sizes[i]
        grids.append(broadcast_to(reshape(f, tuple(spread)), tuple(shape)))
    return grids


def _triangle(x, k, lower: bool):
    t = type_of(x)
    if t.ndim == 0:
        raise shape_error(f"{'tril' if lower else 'triu'} needs at least 2 dimensions, got 0")
    if t.ndim == 1:  # NumPy takes a vector as the rows of a square matrix
        x = broadcast_to(x, t.shape * 2)
        t = type_of(x)
    k = operator.index(k)
    plane = t.shape[-2:]
    rows = bind(G.IOTA, (), Attrs(shape=plane, dtype=dt.int64, axis=0))
    cols = bind(G.IOTA, (), Attrs(shape=plane, dtype=dt.int64, axis=1))
    offset = subtract(cols, rows)
    keep = less_equal(offset, k) if lower else greater_equal(offset, k)
    return where(keep, x, np.zeros((), t.dtype.np))


def tril(x, /, *, k=0):
    """The lower triangle of the matrices in x's last two axes: elements on and below diagonal
    k (k > 0: above the main one) kept, the others zero."""
    return _triangle(x, k, True)


def triu(x, /, *, k=0):
    """The upper triangle of the matrices in x's last two axes: elements on and above diagonal
    k kept, the others zero."""
    return _triangle(x, k, False)


# --- pad ------------------------------------------------------------------------------------------
PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pairs(value, ndim: int, name: str) -> np.ndarray:
    """numpy.pad's reading of a width or value: one for all, (before, after) for all axes, or
    one pair per axis; an (ndim, 2) array."""
    arr = np.asarray(value)
    if arr.size == 1:
        return np.broadcast_to(arr.reshape(()), (ndim, 2))
    if arr.size == 2 and arr.shape != (2, 1):
        return np.broadcast_to(arr.reshape(2), (ndim, 2))
    try:
        return np.broadcast_to(arr, (ndim, 2))
    except ValueError:
        raise _value_error(f"pad: {name} of shape {arr.shape} does not fit an array of {ndim} "
                           "dimensions: give one int, a (before, after) pair, or a pair per "
                           "axis") from None


def _source(i: int, d: int, mode: str) -> int:
    """The index into an axis of size d that padded position i (-before <= i < d + after)
    copies, by `mode`."""
    if mode == "edge":
        return min(max(i, 0), d - 1)
    if mode == "wrap":
        return i % d
    if mode == "reflect":  # ... 2 1 [0 1 2] 1 0 ...: period 2(d - 1)
        if d == 1:
            return 0
        j = i % (2 * d - 2)
        return j if j < d else 2 * d - 2 - j
    j = i % (2 * d)  # symmetric: ... 1 0 [0 1 2] 2 1 ...: period 2d
    return j if j < d else 2 * d - 1 - j


def _take_runs(x, axis: int, index: list[int]) -> list:
    """The pieces of x along `axis` at positions `index`: one slice per run of indices that
    step by +1 or -1, one broadcast element per run of a repeated index."""
    pieces, i = [], 0
    while i < len(index):
        j = i + 1
        step = index[j] - index[i] if j < len(index) else 1
        if step not in (-1, 0, 1):
            step = 1
        while j < len(index) and index[j] - index[j - 1] == step:
            j += 1
        if step == 0:
            one = slice_axis(x, axis, index[i], 1)
            shape = list(type_of(one).shape)
            shape[axis] = j - i
            pieces.append(broadcast_to(one, tuple(shape)))
        else:
            pieces.append(slice_axis(x, axis, index[i], j - i, step))
        i = j
    return pieces


def pad(x, pad_width, mode: str = "constant", *, constant_values=0):
    """x padded as numpy.pad does: `pad_width` is an int, a (before, after) pair, or one pair
    per axis; modes "constant" (with `constant_values`, per axis like `pad_width`), "edge",
    "reflect", "symmetric" and "wrap". Axes are padded in order, so the corners come from the
    later axes."""
    t = type_of(x)
    if mode not in PAD_MODES:
        raise _value_error(f"pad: mode {mode!r} is not supported; tracefuse pads with "
                           f"{', '.join(repr(m) for m in PAD_MODES)}")
    widths = _pairs(pad_width, t.ndim, "pad_width")
    if widths.dtype.kind not in "iu":
        raise TypeError(with_location(f"pad: pad_width must be integers, got {widths.dtype}",
                                      user_location()))
    if (widths < 0).any():
        raise _value_error(f"pad: pad_width must be non-negative, got {widths.tolist()}")
    if mode == "constant":
        scalar = isinstance(constant_values, Tracer) or (
            not isinstance(constant_values, (tuple, list)) and type_of(constant_values).ndim == 0)
        values = None if scalar else _pairs(constant_values, t.ndim, "constant_values")
    out = x
    for axis, (before, after) in enumerate(widths.tolist()):
        if before == after == 0:
            continue
        shape = type_of(out).shape
        if mode == "constant":
            fills = [constant_values] * 2 if scalar else [v.item() for v in values[axis]]
            blocks = [full(shape[:axis] + (w,) + shape[axis + 1:], v, dtype=t.dtype) if w else None
                      for w, v in ((before, fills[0]), (after, fills[1]))]
            parts = [p for p in (blocks[0], out, blocks[1]) if p is not None]
        else:
            d = shape[axis]
            if d == 0:
                raise _value_error(f"pad: cannot extend the empty axis {axis} in mode {mode!r} "
                                   "(only 'constant' pads an empty axis)")
            parts = (_take_runs(out, axis, [_source(i, d, mode) for i in range(-before, 0)])
                     + [out] + _take_runs(out, axis, [_source(i, d, mode)
                                                      for i in range(d, d + after)]))
        out = concat(parts, axis=axis)
    return _as_result(out, x)


# --- count_nonzero --------------------------------------------------------------------------------
def count_nonzero(x, /, *, axis=None, keepdims=False):
    """How many elements of x over `axis` (None: all) are not zero (NaN counts), as int64."""
    axes = check_axes(axis, type_of(x).ndim)
    return _sum(astype(x, dt.bool_), axis=axes, keepdims=keepdims, dtype=dt.int64)

