"""Reductions and statistics of the array API: `sum`, `prod`, `max`, `min`, `all`, `any`,
`argmax`, `argmin`, `mean`, `var`, `std`.

`mean`, `var` and `std` are written with sums and arithmetic the way NumPy computes them
(so their results agree with NumPy bit for bit on the reference backend, and fusion sees plain
ops); every other function is one op.
"""

from __future__ import annotations

import builtins
import math

from .dispatch import bind, type_of
from .elementwise import add, astype, divide, imag, multiply, real, sqrt, subtract
from ..errors import ShapeError, user_location, with_location
from ..ir import Attrs, OpCode
from ..ir import dtypes as dt
from ..ir.rules import normalize_axes, normalize_axis

G = OpCode


def _axes(x, axis) -> tuple[int, ...]:
    try:
        return normalize_axes(axis, type_of(x).ndim)
    except ShapeError as e:
        raise ShapeError(with_location(str(e), user_location())) from None


def _reduction(code: OpCode, name: str, doc: str, with_dtype: bool):
    if with_dtype:
        def fn(x, /, *, axis=None, dtype=None, keepdims=False):
            if dtype is not None:
                x = astype(x, dtype, copy=False)
            out = bind(code, (x,), Attrs(axes=_axes(x, axis), keepdims=bool(keepdims)))
            # the op widens small ints; dtype= asks for that accumulator (wraps mod 2**bits)
            return out if dtype is None else astype(out, dtype, copy=False)
    else:
        def fn(x, /, *, axis=None, keepdims=False):
            return bind(code, (x,), Attrs(axes=_axes(x, axis), keepdims=bool(keepdims)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


sum = _reduction(G.SUM, "sum", "Sum over `axis` (None: all). Ints accumulate in int64/uint64.", True)
prod = _reduction(G.PROD, "prod", "Product over `axis` (None: all).", True)
max = _reduction(G.MAX, "max", "Maximum over `axis`; NaN if any element is NaN.", False)
min = _reduction(G.MIN, "min", "Minimum over `axis`; NaN if any element is NaN.", False)
all = _reduction(G.ALL, "all", "Whether every element over `axis` is true.", False)
any = _reduction(G.ANY, "any", "Whether some element over `axis` is true.", False)


def _arg_reduction(code: OpCode, name: str, doc: str):
    def fn(x, /, *, axis=None, keepdims=False):
        if axis is not None:
            try:
                axis = normalize_axis(axis, type_of(x).ndim)
            except ShapeError as e:
                raise ShapeError(with_location(str(e), user_location())) from None
        return bind(code, (x,), Attrs(axis=axis, keepdims=bool(keepdims)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


argmax = _arg_reduction(G.ARGMAX, "argmax", "Index of the first maximum (over all if axis=None).")
argmin = _arg_reduction(G.ARGMIN, "argmin", "Index of the first minimum (over all if axis=None).")


def _float_operand(x):
    t = type_of(x)
    return x if t.dtype.is_inexact else astype(x, dt.DEFAULT_FLOAT)


def _abs_square(x):
    """|x|^2 in x's real dtype: x * x for real x, real^2 + imag^2 for complex (as NumPy's var)."""
    if not type_of(x).dtype.is_complex:
        return multiply(x, x)
    re, im = real(x), imag(x)
    return add(multiply(re, re), multiply(im, im))


def _count(x, axes) -> int:
    shape = type_of(x).shape
    return math.prod(shape[a] for a in axes)


def mean(x, /, *, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; integers are averaged in float64. Empty: NaN."""
    x = _float_operand(x)
    axes = _axes(x, axis)
    if type_of(x).dtype == dt.float16:  # NumPy accumulates float16 in float32, then rounds
        total = sum(x, axis=axes, dtype=dt.float32, keepdims=keepdims)
        return astype(divide(total, _count(x, axes)), dt.float16, copy=False)
    return divide(sum(x, axis=axes, keepdims=keepdims), _count(x, axes))


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance over `axis`: sum(|x - mean|**2) / (N - correction), computed like NumPy (a
    complex x gives its real dtype)."""
    x = _float_operand(x)
    axes = _axes(x, axis)
    n = _count(x, axes)
    centered = subtract(x, divide(sum(x, axis=axes, keepdims=True), n))
    total = sum(_abs_square(centered), axis=axes, keepdims=keepdims)
    return divide(total, builtins.max(n - correction, 0))


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Standard deviation over `axis`: sqrt(var(x))."""
    return sqrt(var(x, axis=axis, correction=correction, keepdims=keepdims))
