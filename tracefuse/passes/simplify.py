"""`simplify`: local algebra, as a table of small rewrite rules run to a fixpoint.

Each rule is one line of `RULES`: the opcode it applies to and a function of a `Match` that
returns the value replacing the op's result (an existing value, or the last of a few new ops
it emits), or something false when it does not apply. The trailing comment states the
identity. Rules on `COMMUTATIVE` ops are also tried with the two operands swapped, so `x*1`
covers `1*x`.

Safety:
- A replacement must have the op's exact `TensorType` (shape, dtype, weak flag). When it
  differs only in dtype or shape (`x_int32 * 1.0` is float64; `x * ones((3, 4))` is 2-D), a
  `cast` and/or `broadcast_to` is inserted, which computes exactly what the op did (the op
  converted its operand to the result dtype first). A weak result is never rebuilt that way;
  the rule is skipped. A rule that computes with an operand (`0-x -> -x`, `x**3 -> x*x*x`)
  converts it to the result dtype first (`m.conv`, `m.x`): `-x` in int8 is not `-x` in int64.
- Constants are scalars: the operand comes from a `constant` of one element or a `full`, and
  its element is read in its own dtype. Rules compare it with exact values (sign of zero
  included), so they are exact after the operand is converted to the op's dtype.
- No rule changes a floating-point result unless `fastmath=True`, with one documented
  tolerance: `x**n` for small integers n becomes multiplies (`x**3 -> x*x*x`), which differs
  from `np.power` by at most a couple of ulps but agrees on every NaN, inf and zero (checked in
  tests/passes/test_simplify.py against `np.power`). `x**0.5 -> sqrt(x)` and `x**-1 -> 1/x`
  are exact (NumPy's power computes them so). Other half-integer powers give NaN where
  `np.power(-inf, 1.5)` is inf, so they are fast-math only. Rules that are
  wrong for NaN, inf or -0.0 (`x*0 -> 0`, `x-x -> 0`, `x+0.0 -> x`) apply to floats only under
  fast math; for integers and bools they are exact.

New ops keep the source location of the op they replace. Ops without rules, and ops holding a
`Graph` attribute, pass through untouched; the rules run inside regions (the graphs of
control-flow ops, `regions.in_regions`) as in the function. Leftover dead ops are `dce`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..ir import Attrs, Graph, Literal, Op, OpCode, TensorType, Value, infer_type
from ..ir.opcodes import COMMUTATIVE, REDUCE
from .fold import has_graph_attr
from .regions import in_regions

G = OpCode
MAX_ROUNDS = 8  # sweeps over the graph; each sweep rewrites every op at most once
MAX_HALF_POWER = 3.5  # fast math: x**k for half-integer |k| <= this becomes multiplies and sqrt


class Match:
    """The op a rule looks at: operands (after earlier rewrites), constants, and a builder."""

    def __init__(self, op: Op, inputs: tuple[Value, ...], producers: dict[Value, Op],
                 fastmath: bool):
        self.op, self.args, self.fast = op, inputs, fastmath
        self.out: TensorType = op.outputs[0].type
        self.attrs = op.attrs
        # integers and bools: exact arithmetic (complex results are floating point, not exact)
        self.ints = not self.out.dtype.is_inexact
        self.floats = not self.ints
        # complex pow is NumPy's npy_cpow (exp(b log a), or repeated products from 1 + 0j):
        # x*x and sqrt(x) differ from it at infinite parts, so its rewrites stay off
        self.real = not self.out.dtype.is_complex
        # rewrites wrong for NaN, inf or -0.0 are allowed: exact for ints, fast math for floats
        self.loose = self.ints or fastmath
        self.emitted: list[Op] = []
        self._producers = producers
        self._x: Value | None = None

    # --- what the rules look at -----------------------------------------------------------
    @property
    def a(self) -> Value:
        return self.args[0]

    @property
    def b(self) -> Value:
        return self.args[1]

    @property
    def c(self) -> Value:
        return self.args[2]

    @property
    def x(self) -> Value | None:
        """The first operand in the result's dtype (what the op converts it to first)."""
        if self._x is None:
            self._x = self.in_result_dtype(self.args[0])
        return self._x

    def inner(self) -> Op | None:
        """The op defining the first operand, if it has the same opcode as this one."""
        op = self._producers.get(self.args[0])
        return op if op is not None and op.code is self.op.code else None

    def same_shape(self) -> bool:
        return self.args[0].type.shape == self.out.shape

    def identity_axes(self) -> bool:
        return tuple(self.attrs["axes"]) == tuple(range(self.out.ndim))

    def k(self, i: int) -> Any:
        """Operand `i`'s element as a Python scalar when the operand is a scalar constant."""
        return scalar_constant(self._producers.get(self.args[i]))

    def k_is(self, i: int, value: float) -> bool:
        """Operand `i` is a scalar constant equal to `value`, with the same sign if zero."""
        k = self.k(i)
        return k is not None and k == value and math.copysign(1, k) == math.copysign(1, value)

    def one(self, i: int) -> bool:
        return self.k_is(i, 1)

    def zero(self, i: int) -> bool:
        """+0.0, or an integer or bool zero."""
        return self.k_is(i, 0)

    def neg_zero(self, i: int) -> bool:
        return self.k_is(i, -0.0)

    def any_zero(self, i: int) -> bool:
        k = self.k(i)
        return k is not None and k == 0

    @property
    def n(self) -> int:
        """The exponent (operand 1) as an int; only after `exponent` matched."""
        return int(self.k(1))

    def exponent(self, lo: int, hi: int) -> bool:
        """Operand 1 is a scalar constant with an integer value in [lo, hi]."""
        k = self.k(1)
        return (isinstance(k, (int, float)) and not isinstance(k, bool) and lo <= k <= hi
                and float(k).is_integer())

    def half_exponent(self) -> bool:
        """Operand 1 is a scalar constant n + 1/2 with |n + 1/2| <= MAX_HALF_POWER."""
        k = self.k(1)
        return (isinstance(k, float) and not k.is_integer() and (2 * k).is_integer()
                and abs(k) <= MAX_HALF_POWER)

    # --- what the rules build -------------------------------------------------------------
    def emit(self, code: OpCode, *inputs: Value | None, **attrs: Any) -> Value | None:
        """Append a new op (at the replaced op's location); None if an operand is None."""
        if any(v is None for v in inputs):
            return None
        attrs_ = Attrs(attrs)
        out = Value(infer_type(code, [v.type for v in inputs], attrs_, self.op.loc))
        self.emitted.append(Op(code, tuple(inputs), attrs_, (out,), self.op.loc))
        return out

    def scalar(self, value: Any, like: TensorType) -> Value | None:
        """A 0-d constant that combines with a value of type `like` without changing its dtype:
        a weak Python scalar of `like`'s kind, as the tracer writes `1 / x`."""
        arr = np.asarray(value, dtype=np.float64 if like.dtype.is_inexact else np.int64)
        return self.emit(G.CONSTANT, value=Literal(arr), weak=True)

    def fill(self, value: Any) -> Value | None:
        """A value of the op's result type with every element `value`."""
        out = self.out
        arr = np.asarray(value, dtype=out.dtype.np)
        if out.ndim == 0:
            attrs = dict(value=Literal(arr), weak=True) if out.weak else dict(value=Literal(arr))
            return self.emit(G.CONSTANT, **attrs)
        if out.weak:
            return None
        return self.emit(G.FULL, shape=out.shape, dtype=out.dtype, value=arr.item())

    def in_result_dtype(self, v: Value | None) -> Value | None:
        """`v` converted to the result's dtype (what the op does to its operands first)."""
        if v is None or (v.type.dtype == self.out.dtype and v.type.weak == self.out.weak):
            return v
        if self.out.weak:
            return None
        return self.emit(G.CAST, v, dtype=self.out.dtype)

    def coerce(self, v: Value | None) -> Value | None:
        """`v` as a value of exactly the op's result type (cast, then broadcast), or None."""
        v = self.in_result_dtype(v)
        if v is not None and v.type.shape != self.out.shape and not self.out.weak:
            v = self.emit(G.BROADCAST_TO, v, shape=self.out.shape)
        return v if v is not None and v.type == self.out else None

    def conv(self, i: int) -> Value | None:
        """Operand `i` in the result's dtype. A rule that computes with an operand must use this:
        the op computes in its result dtype, and -x in int8 is not -x in int64."""
        return self.x if i == 0 else self.in_result_dtype(self.args[i])

    def neg(self, v: Value | None) -> Value | None:
        return self.emit(G.NEGATIVE, v)

    def power(self, n: int) -> Value | None:
        """x**n for 1 <= n <= 4 as multiplies: x, x*x, (x*x)*x, (x*x)*(x*x). Each is within a
        couple of ulps of `np.power` and agrees with it on every NaN, inf and signed zero."""
        x = self.x
        if n == 1:
            return x
        square = self.emit(G.MULTIPLY, x, x)
        if n == 2:
            return square
        return self.emit(G.MULTIPLY, square, x if n == 3 else square)

    def reciprocal(self, v: Value | None) -> Value | None:
        """1/v, written `divide 1, v`."""
        return None if v is None else self.emit(G.DIVIDE, self.scalar(1, v.type), v)

    def inverse(self) -> Value | None:
        """x**-n as 1/(x**n); x**-1 is exactly 1/x."""
        return self.reciprocal(self.power(-self.n))

    def half_power(self) -> Value | None:
        """x**k for k = +-(n + 1/2): x**n * sqrt(x), or its reciprocal. Not exact for x = -inf
        (NaN where np.power gives inf or 0) nor -0.0 with k < 0: fast math only."""
        k = self.k(1)
        n = int(abs(k))
        root = self.emit(G.SQRT, self.x)
        p = root if n == 0 else self.emit(G.MULTIPLY, self.power(n), root)
        return p if k > 0 else self.reciprocal(p)

    def scaled_by_inverse(self) -> Value | None:
        """x / 2**k as x * 2**-k, when the divisor (in the result dtype) is a power of two whose
        inverse is a normal number of that dtype: both compute the exact x * 2**-k and round
        it once, so they agree on every input (NaN, inf, -0.0 and subnormal results included).
        A multiply is several times cheaper than a divide in a vectorized loop. Not applied
        to a reduction's result (a mean's sum / N): that divide runs once per row, where it
        costs nothing, and rewriting it would make the kernel for a power-of-two N another
        kernel than for any other N (a new compile at each such change of shape)."""
        k = self.k(1)
        if k is None or isinstance(k, bool) or self.out.weak or not self.out.dtype.is_float:
            return None
        made = self._producers.get(self.args[0])
        if made is not None and made.code in REDUCE:
            return None
        c = float(np.asarray(k).astype(self.out.dtype.np))
        if not math.isfinite(c) or c == 0 or abs(math.frexp(c)[0]) != 0.5:
            return None
        inv, info = 1.0 / c, np.finfo(self.out.dtype.np)
        if not float(info.smallest_normal) <= abs(inv) <= float(info.max):
            return None
        return self.emit(G.MULTIPLY, self.x, self.scalar(inv, self.out))

    def permute_twice(self, inner: Op) -> Value | None:
        # permute(permute(x, a), b)[i] reads axis b[i] of the inner result: axis a[b[i]] of x
        axes = tuple(inner.attrs["axes"][i] for i in self.attrs["axes"])
        return self.emit(G.PERMUTE, inner.inputs[0], axes=axes)

    def again(self, inner: Op) -> Value | None:
        """This op applied to the operand of `inner`, an op of the same code: for reshape of a
        reshape and broadcast_to of a broadcast_to only the last shape matters."""
        return self.emit(self.op.code, inner.inputs[0], shape=self.out.shape)


def scalar_constant(op: Op | None) -> Any:
    """The element of a one-element `constant` or of a `full`, as a Python scalar; else None."""
    if op is None:
        return None
    if op.code is G.CONSTANT:
        arr = op.attrs["value"].array
        return arr.reshape(()).item() if arr.size == 1 else None
    if op.code is G.FULL:
        return np.asarray(op.attrs["value"], dtype=op.outputs[0].type.dtype.np).item()
    return None


RuleFn = Callable[[Match], Any]

# One rule a line: (opcode, rewrite), the identity in the comment. A rewrite returns the value
# replacing the op's result, or a false value when it does not apply. `m.a`, `m.b`, `m.c` are
# the operands (also tried swapped for COMMUTATIVE ops), `m.x` the first in the result dtype;
# `m.one(i)`, `m.zero(i)` (+0.0 or an integer 0), `m.neg_zero(i)`, `m.any_zero(i)` test a
# scalar constant operand; `m.ints`: integer or bool result; `m.fast`: fast math; `m.loose`:
# either of them (rules that are wrong for NaN, inf or -0.0 are allowed).
RULES: tuple[tuple[OpCode, RuleFn], ...] = (
    (G.STOP_GRADIENT, lambda m: m.a),                              # stop_gradient(x) -> x
    (G.MULTIPLY, lambda m: m.one(1) and m.a),                      # x*1 -> x, 1*x -> x
    (G.DIVIDE, lambda m: m.one(1) and m.a),                        # x/1 -> x
    (G.DIVIDE, lambda m: m.scaled_by_inverse()),                   # x/8.0 -> x*0.125 (exact)
    (G.FLOOR_DIVIDE, lambda m: m.ints and m.one(1) and m.a),       # x//1 -> x (ints)
    (G.ADD, lambda m: m.ints and m.zero(1) and m.a),               # x+0 -> x, 0+x -> x (ints)
    (G.ADD, lambda m: m.neg_zero(1) and m.a),                      # x+(-0.0) -> x
    (G.ADD, lambda m: m.fast and m.any_zero(1) and m.a),           # x+0.0 -> x (fastmath)
    (G.SUBTRACT, lambda m: m.zero(1) and m.a),                     # x-0 -> x, x-(+0.0) -> x
    (G.SUBTRACT, lambda m: m.fast and m.any_zero(1) and m.a),      # x-(-0.0) -> x (fastmath)
    (G.SUBTRACT, lambda m: m.ints and m.zero(0) and m.neg(m.conv(1))),  # 0-x -> -x (ints)
    (G.NEGATIVE, lambda m: (p := m.inner()) and p.inputs[0]),      # --x -> x
    (G.POW, lambda m: m.one(1) and m.a),                           # x**1 -> x
    (G.POW, lambda m: m.any_zero(1) and m.fill(1)),                # x**0 -> 1 (nan**0 = 1)
    (G.POW, lambda m: m.real and m.exponent(2, 4) and m.power(m.n)),  # x**3 -> x*x*x
    (G.POW, lambda m: m.real and m.floats and m.exponent(-4, -1) and m.inverse()),  # x**-2 -> 1/(x*x)
    (G.POW, lambda m: m.real and m.k_is(1, 0.5) and m.emit(G.SQRT, m.x)),  # x**0.5 -> sqrt(x)
    (G.POW, lambda m: m.real and m.fast and m.half_exponent() and m.half_power()),  # x**1.5 -> x*sqrt(x)
    (G.MULTIPLY, lambda m: m.loose and m.any_zero(1) and m.fill(0)),  # x*0 -> 0, 0*x -> 0
    (G.SUBTRACT, lambda m: m.loose and m.a is m.b and m.fill(0)),  # x-x -> 0
    (G.BITWISE_XOR, lambda m: m.a is m.b and m.fill(0)),           # x^x -> 0
    (G.BITWISE_AND, lambda m: m.a is m.b and m.a),                 # x&x -> x
    (G.BITWISE_OR, lambda m: m.a is m.b and m.a),                  # x|x -> x
    (G.MAXIMUM, lambda m: m.a is m.b and m.a),                     # maximum(x, x) -> x
    (G.MINIMUM, lambda m: m.a is m.b and m.a),                     # minimum(x, x) -> x
    (G.WHERE, lambda m: m.b is m.c and m.b),                       # where(c, x, x) -> x
    (G.WHERE, lambda m: m.k(0) is not None and (m.b if m.k(0) else m.c)),  # where(True, x, y) -> x
    (G.CAST, lambda m: m.a.type == m.out and m.a),                 # astype(x, x.dtype) -> x
    (G.RESHAPE, lambda m: m.same_shape() and m.a),                 # reshape(x, x.shape) -> x
    (G.BROADCAST_TO, lambda m: m.same_shape() and m.a),            # broadcast_to(x, x.shape) -> x
    (G.PERMUTE, lambda m: m.identity_axes() and m.a),              # permute_dims(x, identity) -> x
    (G.PERMUTE, lambda m: (p := m.inner()) and m.permute_twice(p)),  # x.T.T -> one permute_dims
    (G.RESHAPE, lambda m: (p := m.inner()) and m.again(p)),        # reshape(reshape(x)) -> reshape
    (G.BROADCAST_TO, lambda m: (p := m.inner()) and m.again(p)),   # broadcast_to twice -> once
)

RULES_BY_CODE: dict[OpCode, tuple[RuleFn, ...]] = {}
for _code, _fn in RULES:
    RULES_BY_CODE[_code] = RULES_BY_CODE.get(_code, ()) + (_fn,)


def _rewrite(op: Op, inputs: tuple[Value, ...], producers: dict[Value, Op],
             fastmath: bool) -> tuple[list[Op], Value] | None:
    """(new ops, the value replacing op's result) from the first rule that applies, or None."""
    rules = RULES_BY_CODE.get(op.code)
    if not rules or len(op.outputs) != 1 or has_graph_attr(op):
        return None
    orders = [inputs]
    if op.code in COMMUTATIVE and len(inputs) == 2 and inputs[0] is not inputs[1]:
        orders.append((inputs[1], inputs[0]))
    for args in orders:
        for rule in rules:
            m = Match(op, args, producers, fastmath)
            try:
                result = rule(m)
                value = m.coerce(result) if isinstance(result, Value) else None
            except (ValueError, TypeError, ArithmeticError):  # e.g. the type rules reject it
                value = None
            if value is None:
                continue
            emitted = m.emitted
            if (len(emitted) == 1 and emitted[0].code is op.code and emitted[0].attrs == op.attrs
                    and emitted[0].inputs == inputs):
                continue  # the rule rebuilt the op itself: no progress
            return emitted, value
    return None


def _sweep(graph: Graph, fastmath: bool) -> Graph | None:
    """One pass over the ops, each rewritten at most once; None when nothing changed."""
    subst: dict[Value, Value] = {}
    producers: dict[Value, Op] = {}
    ops: list[Op] = []
    changed = False
    for op in graph.ops:
        inputs = tuple(subst.get(v, v) for v in op.inputs)
        if inputs != op.inputs:
            op = op.replace(inputs=inputs)
        found = _rewrite(op, inputs, producers, fastmath)
        if found is None:
            new_ops = [op]
        else:
            changed = True
            new_ops, value = found
            if new_ops and new_ops[-1].outputs == (value,):
                # the last new op defines the result: let it define the op's own value
                new_ops[-1] = new_ops[-1].replace(outputs=op.outputs)
            else:
                subst[op.outputs[0]] = value
        for new in new_ops:
            ops.append(new)
            for v in new.outputs:
                producers[v] = new
    if not changed:
        return None
    outputs = tuple(subst.get(v, v) for v in graph.outputs)
    return graph.replace(ops=tuple(ops), outputs=outputs)


@in_regions
def simplify(graph: Graph, fastmath: bool = False) -> Graph:
    """Apply `RULES` until nothing changes (at most MAX_ROUNDS sweeps)."""
    for _ in range(MAX_ROUNDS):
        new = _sweep(graph, fastmath)
        if new is None:
            break
        graph = new
    return graph
