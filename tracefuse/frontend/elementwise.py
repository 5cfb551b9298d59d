"""Elementwise functions of the array API: math of one and two operands, comparisons, logical
and bitwise ops, `where`, `clip`, `positive` and the cast `astype` (plus the NumPy aliases users
reach for: `arcsin`, `power`, `true_divide` ...). Each builds one op through `bind`.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from .dispatch import bind, type_of
from ..errors import DTypeError, user_location, with_location
from ..tracer import pytree
from ..ir import Attrs, OpCode
from ..ir import dtypes as dt
from ..tracer.operators import ArrayMethods

G = OpCode


def _unary(code: OpCode, name: str, doc: str):
    def fn(x, /):
        return bind(code, (x,))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _binary(code: OpCode, name: str, doc: str):
    def fn(x1, x2, /):
        return bind(code, (x1, x2))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


# --- elementwise, one operand -----------------------------------------------------------------
negative = _unary(G.NEGATIVE, "negative", "-x, elementwise.")
abs = _unary(G.ABS, "abs", "|x|, elementwise.")
sign = _unary(G.SIGN, "sign", "-1, 0 or 1 by the sign of x (NaN stays NaN).")
sqrt = _unary(G.SQRT, "sqrt", "Square root.")
square = _unary(G.SQUARE, "square", "x * x.")
reciprocal = _unary(G.RECIPROCAL, "reciprocal", "1 / x (floating-point result).")
exp = _unary(G.EXP, "exp", "e ** x.")
expm1 = _unary(G.EXPM1, "expm1", "e ** x - 1, accurate near 0.")
log = _unary(G.LOG, "log", "Natural logarithm.")
log1p = _unary(G.LOG1P, "log1p", "log(1 + x), accurate near 0.")
log2 = _unary(G.LOG2, "log2", "Base-2 logarithm.")
log10 = _unary(G.LOG10, "log10", "Base-10 logarithm.")
sin = _unary(G.SIN, "sin", "Sine.")
cos = _unary(G.COS, "cos", "Cosine.")
tan = _unary(G.TAN, "tan", "Tangent.")
asin = _unary(G.ASIN, "asin", "Inverse sine.")
acos = _unary(G.ACOS, "acos", "Inverse cosine.")
atan = _unary(G.ATAN, "atan", "Inverse tangent.")
sinh = _unary(G.SINH, "sinh", "Hyperbolic sine.")
cosh = _unary(G.COSH, "cosh", "Hyperbolic cosine.")
tanh = _unary(G.TANH, "tanh", "Hyperbolic tangent.")
asinh = _unary(G.ASINH, "asinh", "Inverse hyperbolic sine.")
acosh = _unary(G.ACOSH, "acosh", "Inverse hyperbolic cosine.")
atanh = _unary(G.ATANH, "atanh", "Inverse hyperbolic tangent.")
erf = _unary(G.ERF, "erf", "The error function, 2/sqrt(pi) * integral from 0 to x of exp(-t**2) dt "
             "(as scipy.special.erf: float32 stays float32, integers give float64).")
erfc = _unary(G.ERFC, "erfc", "1 - erf(x), accurate where it is tiny (erfc(10) = 2.09e-45 in "
              "float64), as scipy.special.erfc.")
floor = _unary(G.FLOOR, "floor", "Round toward -inf (integers unchanged).")
ceil = _unary(G.CEIL, "ceil", "Round toward +inf (integers unchanged).")
trunc = _unary(G.TRUNC, "trunc", "Round toward 0 (integers unchanged).")
round = _unary(G.ROUND, "round", "Round half to even (integers unchanged).")
isnan = _unary(G.ISNAN, "isnan", "True where x is NaN.")
isinf = _unary(G.ISINF, "isinf", "True where x is +inf or -inf.")
isfinite = _unary(G.ISFINITE, "isfinite", "True where x is neither NaN nor infinite.")
signbit = _unary(G.SIGNBIT, "signbit", "True where the sign bit is set (incl. -0.0).")
logical_not = _unary(G.LOGICAL_NOT, "logical_not", "not x, elementwise (result bool).")
bitwise_invert = _unary(G.BITWISE_INVERT, "bitwise_invert", "~x for integers, not x for bools.")
real = _unary(G.REAL, "real", "The real part (complex64 gives float32, complex128 float64; a "
              "real-valued x is returned as it is, a copy).")
imag = _unary(G.IMAG, "imag", "The imaginary part (complex64 gives float32, complex128 float64; "
              "zeros of x's dtype for a real-valued x).")
conj = _unary(G.CONJ, "conj", "The complex conjugate, real - imag*1j (a real-valued x unchanged).")
angle = _unary(G.ANGLE, "angle", "The argument of a complex number, atan2(imag(x), real(x)), "
               "in [-pi, pi] (complex64 gives float32).")

# array API aliases and NumPy names users reach for
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
invert = bitwise_invert
conjugate = conj


def stop_gradient(x):
    """x itself, with no derivative: grad, vjp, jvp and the tape treat it as a constant
    (JAX's `stop_gradient`; TensorFlow's `tf.stop_gradient`). Takes a pytree of arrays."""
    leaves, treedef = pytree.flatten(x)
    return pytree.unflatten(treedef, [bind(G.STOP_GRADIENT, (leaf,)) for leaf in leaves])


def positive(x, /):
    """+x: the same values (a new array)."""
    t = type_of(x)
    if t.dtype.is_bool:
        raise DTypeError(with_location("positive: needs a numeric dtype, got bool", user_location()))
    return astype(x, t.dtype, copy=True)


# --- elementwise, two operands -----------------------------------------------------------------
add = _binary(G.ADD, "add", "x1 + x2.")
subtract = _binary(G.SUBTRACT, "subtract", "x1 - x2.")
multiply = _binary(G.MULTIPLY, "multiply", "x1 * x2.")
divide = _binary(G.DIVIDE, "divide", "x1 / x2 (true division; integers give float64).")
floor_divide = _binary(G.FLOOR_DIVIDE, "floor_divide", "x1 // x2 (integer division by 0 gives 0).")
remainder = _binary(G.REMAINDER, "remainder", "x1 % x2 with the sign of x2, like Python.")
pow = _binary(G.POW, "pow", "x1 ** x2.")
maximum = _binary(G.MAXIMUM, "maximum", "The larger of x1, x2 (NaN if either is NaN).")
minimum = _binary(G.MINIMUM, "minimum", "The smaller of x1, x2 (NaN if either is NaN).")
atan2 = _binary(G.ATAN2, "atan2", "The angle of the point (x2, x1).")
hypot = _binary(G.HYPOT, "hypot", "sqrt(x1**2 + x2**2) without overflow.")
logaddexp = _binary(G.LOGADDEXP, "logaddexp", "log(exp(x1) + exp(x2)) without overflow.")
copysign = _binary(G.COPYSIGN, "copysign", "|x1| with the sign of x2.")
nextafter = _binary(G.NEXTAFTER, "nextafter", "The next float after x1 toward x2.")
equal = _binary(G.EQUAL, "equal", "x1 == x2.")
not_equal = _binary(G.NOT_EQUAL, "not_equal", "x1 != x2.")
less = _binary(G.LESS, "less", "x1 < x2.")
less_equal = _binary(G.LESS_EQUAL, "less_equal", "x1 <= x2.")
greater = _binary(G.GREATER, "greater", "x1 > x2.")
greater_equal = _binary(G.GREATER_EQUAL, "greater_equal", "x1 >= x2.")
logical_and = _binary(G.LOGICAL_AND, "logical_and", "x1 and x2, elementwise (result bool).")
logical_or = _binary(G.LOGICAL_OR, "logical_or", "x1 or x2, elementwise (result bool).")
logical_xor = _binary(G.LOGICAL_XOR, "logical_xor", "x1 xor x2, elementwise (result bool).")
bitwise_and = _binary(G.BITWISE_AND, "bitwise_and", "x1 & x2.")
bitwise_or = _binary(G.BITWISE_OR, "bitwise_or", "x1 | x2.")
bitwise_xor = _binary(G.BITWISE_XOR, "bitwise_xor", "x1 ^ x2.")
bitwise_left_shift = _binary(G.LEFT_SHIFT, "bitwise_left_shift", "x1 << x2.")
bitwise_right_shift = _binary(G.RIGHT_SHIFT, "bitwise_right_shift", "x1 >> x2 (arithmetic).")
arctan2, power, true_divide = atan2, pow, divide


# --- three operands, casts -----------------------------------------------------------------------
def where(condition, x1, x2, /):
    """x1 where condition is true, else x2 (broadcast together; dtype of x1 and x2 promoted)."""
    return bind(G.WHERE, (condition, x1, x2))


def _bound(value: Any, t, upper: bool):
    """A clip bound: None becomes the dtype's extreme; a Python int is clamped into range."""
    d = t.dtype
    if value is None:
        if d.is_integer:
            info = np.iinfo(d.np)
            return np.asarray(info.max if upper else info.min, dtype=d.np)
        return np.asarray(np.inf if upper else -np.inf, dtype=d.np)
    if d.is_integer and isinstance(value, (int, float)) and not isinstance(value, bool):
        info = np.iinfo(d.np)
        value = math.floor(value) if upper else math.ceil(value)
        return np.asarray(builtins.min(builtins.max(value, info.min), info.max), dtype=d.np)
    return value


def clip(x, /, min=None, max=None):
    """x limited to [min, max]; the result has x's dtype. None leaves that side open."""
    t = type_of(x)
    return bind(G.CLIP, (x, _bound(min, t, False), _bound(max, t, True)))


def astype(x, dtype, /, *, copy: bool = True, device=None):
    """x converted to `dtype` (floats to ints truncate toward 0, as in NumPy)."""
    d = dt.as_dtype(dtype)
    t = type_of(x)
    if t.dtype == d and not t.weak and not copy and isinstance(x, ArrayMethods):
        return x  # a Tensor or Tracer as it is; NumPy arrays, lists ... still become Tensors
    return bind(G.CAST, (x,), Attrs(dtype=d))
