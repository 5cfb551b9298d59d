"""`PARTIALS[code]`: the partial derivatives of each elementwise op, the one place the calculus
of elementwise math is written. The JVP table (`t_out = sum_i t_i * d_i`) and the VJP table
(`ct_i = ct * d_i`) of every elementwise op are built from it, so the two cannot disagree.

A partials function takes the Emitter, the op's operand values and its result value, and returns
one entry per operand: a `Value` (broadcastable to the result), the number 1 or -1 (no op
emitted), or `None` (a zero derivative: the operand has no effect almost everywhere).

At kinks and singular points we follow JAX (docs/transforms.md lists them): `abs` has derivative
`sign(x)` (0 at 0); `maximum`/`minimum` (and `clip`, as `minimum(maximum(x, lo), hi)`) share the
derivative equally on ties (0.5 each); `pow(x, y)` has d/dx = 0 where y == 0 and d/dy = 0 where
x == 0; `hypot` has derivative 0 at the origin; `logaddexp` treats +inf operands as JAX does;
`sign`, `floor`, `ceil`, `trunc`, `round`, `floor_divide` and every comparison, logical, bitwise
or integer op have zero derivatives. `copysign(x, y)` is differentiable in x only, `nextafter`
has derivative 1 in x and 0 in y.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..ir import OpCode, Value
from .emit import Emitter

G = OpCode
Partial = Value | int | None
PartialsFn = Callable[[Emitter, Sequence[Value], Value], Sequence[Partial]]


def _unary(fn: Callable[[Emitter, Value, Value], Partial]) -> PartialsFn:
    return lambda e, xs, z: (fn(e, xs[0], z),)


def _inv_sqrt(e: Emitter, v: Value) -> Value:
    return e.div(e.scalar(1.0), e.op(G.SQRT, v))


def _square(e: Emitter, v: Value) -> Value:
    return e.mul(v, v)


def _erf_slope(e: Emitter, x: Value, sign: float) -> Value:
    """d erf / dx = 2/sqrt(pi) exp(-x^2) (erfc: its negative)."""
    return e.mul(e.scalar(sign * 2.0 / math.sqrt(math.pi)), e.op(G.EXP, e.neg(_square(e, x))))


def _balanced(e: Emitter, x: Value, y: Value, z: Value) -> Value:
    """d max(x, y) / dx (and d min / dx): 1 where x alone is the result, 0.5 on a tie, else 0
    (JAX's convention); NaN results give 0. In the result's dtype: a mask of weak constants
    would be float64, twice the memory if it is stored for a backward kernel."""
    d = z.type.dtype
    half_or_one = e.where(e.op(G.EQUAL, y, z), e.scalar(0.5, d), e.scalar(1.0, d))
    return e.where(e.op(G.EQUAL, x, z), half_or_one, e.scalar(0.0, d))


def _maxmin(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Value, Value]:
    x, y = xs
    return _balanced(e, x, y, z), _balanced(e, y, x, z)


def _pow(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Value, Value]:
    x, y = xs
    zero = e.scalar(0.0)
    dx = e.where(e.op(G.EQUAL, y, zero), zero,
                 e.mul(y, e.op(G.POW, x, e.sub(y, e.scalar(1.0)))))
    safe_x = e.where(e.op(G.EQUAL, x, zero), e.scalar(1.0), x)
    dy = e.mul(e.op(G.LOG, safe_x), z)
    return dx, dy


def _atan2(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Value, Value]:
    y, x = xs
    r2 = e.add(_square(e, x), _square(e, y))
    return e.div(x, r2), e.neg(e.div(y, r2))


def _hypot(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Value, Value]:
    x, y = xs
    safe = e.where(e.op(G.EQUAL, z, e.scalar(0.0)), e.scalar(1.0), z)
    return e.div(x, safe), e.div(y, safe)


def _logaddexp(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Value, Value]:
    def no_posinf(v: Value) -> Value:
        posinf = e.op(G.LOGICAL_AND, e.op(G.ISINF, v), e.op(G.GREATER, v, e.scalar(0.0)))
        return e.where(posinf, e.scalar(0.0), v)

    zz = no_posinf(z)
    return tuple(e.op(G.EXP, e.sub(no_posinf(v), zz)) for v in xs)


def _copysign(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Value, None]:
    x, y = xs
    d = z.type.dtype
    flip = e.where(e.op(G.SIGNBIT, y), e.scalar(-1.0, d), e.scalar(1.0, d))
    return e.mul(e.op(G.SIGN, x), flip), None


def _remainder(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[int, Value]:
    x, y = xs  # x - floor(x / y) * y
    return 1, e.neg(e.op(G.FLOOR_DIVIDE, x, y))


_ZERO_UNARY = (G.SIGN, G.FLOOR, G.CEIL, G.TRUNC, G.ROUND)

PARTIALS: dict[OpCode, PartialsFn] = {
    G.NEGATIVE: _unary(lambda e, x, z: -1),
    G.ABS: _unary(lambda e, x, z: e.op(G.SIGN, x)),
    **{code: _unary(lambda e, x, z: None) for code in _ZERO_UNARY},
    G.SQRT: _unary(lambda e, x, z: e.div(e.scalar(0.5), z)),
    G.SQUARE: _unary(lambda e, x, z: e.mul(e.scalar(2.0), x)),
    G.RECIPROCAL: _unary(lambda e, x, z: e.neg(_square(e, z))),
    G.EXP: _unary(lambda e, x, z: z),
    G.EXPM1: _unary(lambda e, x, z: e.add(z, e.scalar(1.0))),
    G.LOG: _unary(lambda e, x, z: e.div(e.scalar(1.0), x)),
    G.LOG1P: _unary(lambda e, x, z: e.div(e.scalar(1.0), e.add(x, e.scalar(1.0)))),
    G.LOG2: _unary(lambda e, x, z: e.div(e.scalar(1.0 / math.log(2.0)), x)),
    G.LOG10: _unary(lambda e, x, z: e.div(e.scalar(1.0 / math.log(10.0)), x)),
    G.SIN: _unary(lambda e, x, z: e.op(G.COS, x)),
    G.COS: _unary(lambda e, x, z: e.neg(e.op(G.SIN, x))),
    G.TAN: _unary(lambda e, x, z: e.add(e.scalar(1.0), _square(e, z))),
    G.ASIN: _unary(lambda e, x, z: _inv_sqrt(e, e.sub(e.scalar(1.0), _square(e, x)))),
    G.ACOS: _unary(lambda e, x, z: e.neg(_inv_sqrt(e, e.sub(e.scalar(1.0), _square(e, x))))),
    G.ATAN: _unary(lambda e, x, z: e.div(e.scalar(1.0), e.add(e.scalar(1.0), _square(e, x)))),
    G.SINH: _unary(lambda e, x, z: e.op(G.COSH, x)),
    G.COSH: _unary(lambda e, x, z: e.op(G.SINH, x)),
    G.TANH: _unary(lambda e, x, z: e.sub(e.scalar(1.0), _square(e, z))),
    G.ASINH: _unary(lambda e, x, z: _inv_sqrt(e, e.add(_square(e, x), e.scalar(1.0)))),
    # 1 / (sqrt(x - 1) sqrt(x + 1)), not 1 / sqrt(x^2 - 1): the same for real x > 1, and the
    # right branch for complex x (sqrt of the product flips sign where Re(x) < 0)
    G.ACOSH: _unary(lambda e, x, z: e.div(e.scalar(1.0), e.mul(
        e.op(G.SQRT, e.sub(x, e.scalar(1.0))), e.op(G.SQRT, e.add(x, e.scalar(1.0)))))),
    G.ATANH: _unary(lambda e, x, z: e.div(e.scalar(1.0), e.sub(e.scalar(1.0), _square(e, x)))),
    G.ERF: _unary(lambda e, x, z: _erf_slope(e, x, 1.0)),
    G.ERFC: _unary(lambda e, x, z: _erf_slope(e, x, -1.0)),
    G.ADD: lambda e, xs, z: (1, 1),
    G.SUBTRACT: lambda e, xs, z: (1, -1),
    G.MULTIPLY: lambda e, xs, z: (xs[1], xs[0]),
    G.DIVIDE: lambda e, xs, z: (e.div(e.scalar(1.0), xs[1]), e.neg(e.div(z, xs[1]))),
    G.FLOOR_DIVIDE: lambda e, xs, z: (None, None),
    G.REMAINDER: _remainder,
    G.POW: _pow,
    G.MAXIMUM: _maxmin,
    G.MINIMUM: _maxmin,
    G.ATAN2: _atan2,
    G.HYPOT: _hypot,
    G.LOGADDEXP: _logaddexp,
    G.COPYSIGN: _copysign,
    G.NEXTAFTER: lambda e, xs, z: (1, None),
}


def clip_partials(e: Emitter, xs: Sequence[Value], z: Value) -> tuple[Partial, ...]:
    """clip(x, lo, hi) = minimum(maximum(x, lo), hi): the chain rule through both, ties shared."""
    x, lo, hi = xs
    m = e.op(G.MAXIMUM, x, lo)
    dm_dx, dm_dlo = _maxmin(e, (x, lo), m)
    dz_dm, dz_dhi = _maxmin(e, (m, hi), z)
    return e.mul(dz_dm, dm_dx), e.mul(dz_dm, dm_dlo), dz_dhi


def scale(e: Emitter, v: Value, partial: Partial) -> Value | None:
    """`v * partial`, without emitting a multiply by 1 or -1."""
    if partial is None:
        return None
    if partial == 1 and not isinstance(partial, Value):
        return v
    if partial == -1 and not isinstance(partial, Value):
        return e.neg(v)
    return e.mul(v, partial)
