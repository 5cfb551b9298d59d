"""`JVP_RULES[code]`: forward-mode derivatives, one rule per OpCode.

A rule is `rule(e, op, xs, ts, out) -> tangent | None`: `xs` are the op's operands and `out`
its result in the graph being built, `ts` the operands' tangents (`None` where an operand has
none: a symbolic zero, never materialized). It returns the result's tangent, or None when the
result does not depend on any tangent. The driver (autodiff.py) calls a rule only when some
operand has a tangent and the result is floating point, and it broadcasts and casts what the
rule returns to the result's shape and dtype, so rules may return anything broadcastable.

Elementwise ops come from `derivatives.PARTIALS` (the same calculus as the VJP table); the
rest are written here. Ops that have no derivative say why with `Unsupported`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..ir import Op, OpCode, Value
from ..ir.opcodes import PREDICATES, Unsupported
from . import control_flow_rules as cf
from . import complex_rules
from . import library as library_rules  # the rules of library calls
from . import reduction_math as rm
from .derivatives import PARTIALS, clip_partials, scale
from .emit import Emitter

G = OpCode
Tangent = Value | None
JvpRule = Callable[[Emitter, Op, Sequence[Value], Sequence[Tangent], Value], Tangent]


def _sum_tangents(e: Emitter, terms: Sequence[Tangent]) -> Tangent:
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else e.add(total, term)
    return total


def _from_partials(partials) -> JvpRule:
    def rule(e, op, xs, ts, out):
        ds = partials(e, xs, out)
        return _sum_tangents(e, [scale(e, t, d) if t is not None else None
                                 for t, d in zip(ts, ds)])
    return rule


def _zero(e, op, xs, ts, out):
    return None


def _cast(e, op, xs, ts, out):
    return e.cast(ts[0], out.type.dtype)


def _where(e, op, xs, ts, out):
    _, tx, ty = ts
    if tx is None and ty is None:
        return None
    zero = e.scalar(0.0)
    return e.where(xs[0], zero if tx is None else tx, zero if ty is None else ty)


def _same_op(e, op, xs, ts, out):
    """A linear op of one operand (reshape, permute, broadcast, slice, sum): itself on the
    tangent."""
    return e.builder.emit(op.code, (ts[0],), op.attrs, e.loc)


def _chooser(e, op, xs, ts, out):
    """max/min over axes: the tangent at the maximum, shared equally between ties."""
    (x,), (t,) = xs, ts
    share = rm.chooser_share(e, x, out, op.attrs["axes"], op.attrs["keepdims"])
    return e.sum(e.mul(t, share), op.attrs["axes"], op.attrs["keepdims"])


def _prod(e, op, xs, ts, out):
    (x,), (t,) = xs, ts
    others = rm.product_of_others(e, x, op.attrs["axes"])
    return e.sum(e.mul(t, others), op.attrs["axes"], op.attrs["keepdims"])


def _concat(e, op, xs, ts, out):
    parts = [t if t is not None else e.zeros(x.type.strong()) for x, t in zip(xs, ts)]
    parts = [e.cast(p, out.type.dtype) for p in parts]
    return e.op(G.CONCAT, *parts, axis=op.attrs["axis"])


def _matmul(e, op, xs, ts, out):
    (a, b), (ta, tb) = xs, ts
    terms = []
    if ta is not None:
        terms.append(e.op(G.MATMUL, ta, b))
    if tb is not None:
        terms.append(e.op(G.MATMUL, a, tb))
    return _sum_tangents(e, terms)


_NO_DERIVATIVE = _zero  # integer, boolean and piecewise-constant results

JVP_RULES: dict[OpCode, JvpRule | Unsupported] = {
    G.CONSTANT: _zero, G.FULL: _zero, G.IOTA: _zero,
    G.RANDOM_BITS: _NO_DERIVATIVE,  # integer bits of integer keys
    **{code: _from_partials(PARTIALS[code]) for code in PARTIALS},
    **complex_rules.JVP,  # real, imag, conj, angle; abs (of complex z: not holomorphic)
    **{code: _NO_DERIVATIVE for code in PREDICATES},
    **{code: _NO_DERIVATIVE for code in (G.BITWISE_INVERT, G.BITWISE_AND, G.BITWISE_OR,
                                         G.BITWISE_XOR, G.LEFT_SHIFT, G.RIGHT_SHIFT)},
    G.STOP_GRADIENT: _zero,
    G.CAST: _cast,
    G.WHERE: _where,
    G.CLIP: _from_partials(clip_partials),
    G.SUM: _same_op,
    G.PROD: _prod,
    G.MAX: _chooser,
    G.MIN: _chooser,
    G.ALL: _zero, G.ANY: _zero, G.ARGMAX: _zero, G.ARGMIN: _zero,
    G.RESHAPE: _same_op,
    G.PERMUTE: _same_op,
    G.BROADCAST_TO: _same_op,
    G.SLICE: _same_op,
    G.CONCAT: _concat,
    G.MATMUL: _matmul,
    G.KERNEL: Unsupported("kernels are made by fusion, after every transform has run: "
                          "differentiate the function before it is compiled"),
    # control flow: rules of another signature, `rule(builder, op, xs, ts, emit_jvp=...)` ->
    # (results, their tangents): they emit the op and its derivative together
    G.COND: cf.cond_jvp, G.WHILE: cf.while_jvp, G.SCAN: cf.scan_jvp,
    # library calls: a table of rules by function name (transforms/library)
    G.CALL: library_rules.JVP,
}
