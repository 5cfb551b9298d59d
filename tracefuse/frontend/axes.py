"""What the manipulation modules share (manipulation, manipulation_more, linear_algebra,
linalg_compose): checking an `axis` argument, shape errors at the user's line, one `slice`
op, and results that stay Tensors when no op was needed.

An axis out of range raises `AxisError`, a ShapeError (so a ValueError) that is also an
IndexError, as NumPy's AxisError is and as the array API asks.
"""

from __future__ import annotations

from .dispatch import bind, type_of
from .elementwise import astype
from . import tensor as _tensor
from ..errors import AxisError, ShapeError, user_location, with_location
from ..ir import Attrs, OpCode
from ..ir.rules import normalize_axis
from ..tracer.tracer import Tracer


def shape_error(message: str) -> ShapeError:
    return ShapeError(with_location(message, user_location()))


def check_axis(axis: int, ndim: int) -> int:
    """`axis` in [0, ndim); out of range: AxisError (a ShapeError and an IndexError)."""
    if isinstance(axis, int) and not isinstance(axis, bool) and not -ndim <= axis < ndim:
        raise AxisError(with_location(
            f"axis {axis} is out of bounds for an array of {ndim} dimensions", user_location()))
    try:
        return normalize_axis(axis, ndim)
    except ShapeError as e:
        raise shape_error(str(e)) from None


def check_axes(axis, ndim: int) -> tuple[int, ...]:
    """`axis` (an int, a sequence or None: all) as sorted non-negative axes, each checked as
    `check_axis` does; a repeated axis is a ShapeError."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    norm = [check_axis(a, ndim) for a in axes]
    if len(set(norm)) != len(norm):
        raise shape_error(f"repeated axis in {axes}")
    return tuple(sorted(norm))


def same_or_tensor(x, t):
    """x itself when it is already a Tensor or Tracer (they are immutable), else as a Tensor."""
    if isinstance(x, (_tensor.Tensor, Tracer)):
        return x
    return astype(x, t.dtype)


def slice_op(x, t, starts, sizes, steps):
    """x[starts : starts + sizes * steps : steps] per axis (x itself if that is all of it)."""
    if all(s == 0 and n == d and st == 1 for s, n, st, d in zip(starts, sizes, steps, t.shape)):
        return x
    return bind(OpCode.SLICE, (x,), Attrs(starts=tuple(starts), sizes=tuple(sizes),
                                          steps=tuple(steps)))


def slice_axis(x, axis: int, start: int, size: int, step: int = 1):
    """x[..., start : start + size * step : step, ...] along `axis` (size may be 0)."""
    t = type_of(x)
    starts, sizes, steps = [0] * t.ndim, list(t.shape), [1] * t.ndim
    starts[axis], sizes[axis], steps[axis] = (start if size else 0), size, (step if size else 1)
    return slice_op(x, t, starts, sizes, steps)
