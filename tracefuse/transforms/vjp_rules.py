"""`VJP_RULES[code]`: reverse-mode derivatives, one rule per OpCode.

A rule is `rule(e, op, xs, out, ct, wants) -> [cotangent | None per operand]`: `xs` are the
op's operands and `out` its result in the graph being built, `ct` the cotangent of the result
(its shape and dtype), `wants[i]` whether operand i needs one (it is floating point and depends
on what is differentiated). A rule may return a cotangent shaped like the *result* for an
operand that broadcasting stretched: the driver (autodiff.py) sums it back over the broadcast
axes and casts it to the operand's dtype, so rules never repeat that. None is a zero.

Elementwise ops come from `derivatives.PARTIALS`, shared with the JVP table.
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
Cotangent = Value | None
VjpRule = Callable[[Emitter, Op, Sequence[Value], Value, Value, Sequence[bool]],
                   Sequence[Cotangent]]


def _from_partials(partials) -> VjpRule:
    def rule(e, op, xs, out, ct, wants):
        ds = partials(e, xs, out)
        return [scale(e, ct, d) if want else None for d, want in zip(ds, wants)]
    return rule


def _none(e, op, xs, out, ct, wants):
    return [None] * len(xs)


def _cast(e, op, xs, out, ct, wants):
    return [ct]  # the driver casts it back to the operand's dtype


def _where(e, op, xs, out, ct, wants):
    cond = xs[0]
    zero = e.scalar(0.0)
    return [None,
            e.where(cond, ct, zero) if wants[1] else None,
            e.where(cond, zero, ct) if wants[2] else None]


def _expand(e: Emitter, op: Op, ct: Value, x: Value) -> Value:
    return e.expand_reduced(ct, op.attrs["axes"], op.attrs["keepdims"], x.type.shape)


def _sum(e, op, xs, out, ct, wants):
    return [_expand(e, op, ct, xs[0])]


def _prod(e, op, xs, out, ct, wants):
    (x,) = xs
    return [e.mul(_expand(e, op, ct, x), rm.product_of_others(e, x, op.attrs["axes"]))]


def _chooser(e, op, xs, out, ct, wants):
    (x,) = xs
    share = rm.chooser_share(e, x, out, op.attrs["axes"], op.attrs["keepdims"])
    return [e.mul(_expand(e, op, ct, x), share)]


def _reshape(e, op, xs, out, ct, wants):
    return [e.reshape(ct, xs[0].type.shape)]


def _permute(e, op, xs, out, ct, wants):
    axes = op.attrs["axes"]
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a] = i
    return [e.permute(ct, inverse)]


def _broadcast_to(e, op, xs, out, ct, wants):
    return [ct]  # the driver sums it over the broadcast axes


def _slice(e, op, xs, out, ct, wants):
    return [rm.unslice(e, ct, xs[0].type.shape, op.attrs["starts"], op.attrs["steps"])]


def _concat(e, op, xs, out, ct, wants):
    axis = op.attrs["axis"]
    result, offset = [], 0
    ndim = out.type.ndim
    for x, want in zip(xs, wants):
        n = x.type.shape[axis]
        if want:
            starts = tuple(offset if i == axis else 0 for i in range(ndim))
            sizes = tuple(n if i == axis else d for i, d in enumerate(out.type.shape))
            part = ct if sizes == out.type.shape else e.op(
                G.SLICE, ct, starts=starts, sizes=sizes, steps=(1,) * ndim)
            result.append(part)
        else:
            result.append(None)
        offset += n
    return result


def _matmul_small(e: Emitter, a: Value, b: Value, ct: Value, wants) -> list[Cotangent]:
    """matmul of operands of rank 1 or 2: vectors stay vectors (outer products are broadcast
    multiplies, which fuse) rather than becoming (n, 1) matrices."""
    ra, rb = a.type.ndim, b.type.ndim
    da = db = None
    if wants[0]:
        if rb == 1:  # ct * b, outer(ct, b) for a matrix a
            da = e.mul(ct, b) if ra == 1 else e.mul(e.reshape(ct, ct.type.shape + (1,)), b)
        else:  # ct @ b^T (b @ ct for a vector a)
            da = e.op(G.MATMUL, b, ct) if ra == 1 else e.op(G.MATMUL, ct, e.mT(b))
    if wants[1]:
        if ra == 1:  # ct * a, outer(a, ct) for a matrix b
            db = e.mul(ct, a) if rb == 1 else e.mul(e.reshape(a, a.type.shape + (1,)), ct)
        else:  # a^T @ ct
            db = e.op(G.MATMUL, e.mT(a), ct)
    return [da, db]


def _matmul(e, op, xs, out, ct, wants):
    a, b = xs
    if a.type.ndim <= 2 and b.type.ndim <= 2:
        return _matmul_small(e, a, b, ct, wants)
    a2, b2, ct2 = rm.as_matrices(e, a, b, ct)
    da = db = None
    if wants[0]:  # ct @ b^T, summed over the batch axes a was broadcast along
        da = e.unbroadcast(e.op(G.MATMUL, ct2, e.mT(b2)), a2.type.strong())
        da = e.reshape(da, a.type.shape)
    if wants[1]:  # a^T @ ct
        db = e.unbroadcast(e.op(G.MATMUL, e.mT(a2), ct2), b2.type.strong())
        db = e.reshape(db, b.type.shape)
    return [da, db]


VJP_RULES: dict[OpCode, VjpRule | Unsupported] = {
    G.CONSTANT: _none, G.FULL: _none, G.IOTA: _none,
    G.RANDOM_BITS: _none,  # integer bits of integer keys: no cotangent
    **{code: _from_partials(PARTIALS[code]) for code in PARTIALS},
    **complex_rules.VJP,  # real, imag, conj, angle; abs (of complex z: not holomorphic)
    **{code: _none for code in PREDICATES},
    **{code: _none for code in (G.BITWISE_INVERT, G.BITWISE_AND, G.BITWISE_OR, G.BITWISE_XOR,
                                G.LEFT_SHIFT, G.RIGHT_SHIFT)},
    G.STOP_GRADIENT: _none,
    G.CAST: _cast,
    G.WHERE: _where,
    G.CLIP: _from_partials(clip_partials),
    G.SUM: _sum,
    G.PROD: _prod,
    G.MAX: _chooser,
    G.MIN: _chooser,
    G.ALL: _none, G.ANY: _none, G.ARGMAX: _none, G.ARGMIN: _none,
    G.RESHAPE: _reshape,
    G.PERMUTE: _permute,
    G.BROADCAST_TO: _broadcast_to,
    G.SLICE: _slice,
    G.CONCAT: _concat,
    G.MATMUL: _matmul,
    G.KERNEL: Unsupported("kernels are made by fusion, after every transform has run: "
                          "differentiate the function before it is compiled"),
    # control flow: `rule(builder, op, xs, outs, cts, wants, emit_vjp=...)` -> a cotangent per
    # operand (cts: one per result, None where zero)
    G.COND: cf.cond_vjp, G.SCAN: cf.scan_vjp,
    # library calls: a table of rules by function name (transforms/library)
    G.CALL: library_rules.VJP,
    G.WHILE: Unsupported("reverse-mode differentiation of while_loop needs its trip count, "
                         "which is only known when it runs: use tx.fori_loop with Python int "
                         "bounds or tx.scan (forward mode, tx.jvp, works)"),
}
