"""The derivative pieces that reductions, slices and matmul share between their JVP and VJP
rules: how a max/min shares its derivative between ties, the product of the other elements
(exact with zeros), the zero-padding that undoes a slice, and matmul's rank bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ir import OpCode, TensorType, Value
from ..ir.rules import broadcast_shapes
from .emit import Emitter

G = OpCode


def chooser_share(e: Emitter, x: Value, out: Value, axes: Sequence[int],
                  keepdims: bool) -> Value:
    """d max(x) / dx (or min): 1/count at each element equal to the result, 0 elsewhere (ties
    share equally, as in JAX); NaN where the result is NaN."""
    at = e.op(G.EQUAL, x, e.expand_reduced(out, axes, keepdims, x.type.shape))
    hits = e.cast(at, x.type.dtype)
    count = e.sum(hits, axes, keepdims=True)
    return e.div(hits, count)


def product_of_others(e: Emitter, x: Value, axes: Sequence[int]) -> Value:
    """For each element, the product of the other elements over `axes`: d prod(x) / dx, exact
    where x has zeros (no division by zero): with no zero it is prod/x, at the single zero it
    is the product of the rest, and it is 0 everywhere when there are two or more zeros."""
    zero, one = e.scalar(0.0), e.scalar(1.0)
    is_zero = e.op(G.EQUAL, x, zero)
    nonzero = e.where(is_zero, one, x)
    p = e.cast(e.op(G.PROD, nonzero, axes=tuple(axes), keepdims=True), x.type.dtype)
    zeros = e.sum(e.cast(is_zero, x.type.dtype), axes, keepdims=True)
    p = e.broadcast(p, x.type.shape)
    no_zero = e.div(p, nonzero)
    one_zero = e.where(is_zero, p, zero)
    return e.where(e.op(G.EQUAL, zeros, zero), no_zero,
                   e.where(e.op(G.EQUAL, zeros, one), one_zero, zero))


def pad_axis(e: Emitter, ct: Value, axis: int, dim: int, start: int, step: int) -> Value:
    """The transpose of slicing `ct.shape[axis]` elements at `start, start+step, ...` from an
    axis of length `dim`: `ct`'s elements put back at those places, zeros elsewhere."""
    shape = ct.type.shape
    n = shape[axis]
    if n == 0:
        return e.zeros(TensorType(shape[:axis] + (dim,) + shape[axis + 1:], ct.type.dtype))
    if step < 0:  # walk the same places in increasing order
        ct = e.op(G.SLICE, ct, starts=tuple(n - 1 if i == axis else 0 for i in range(len(shape))),
                  sizes=shape, steps=tuple(-1 if i == axis else 1 for i in range(len(shape))))
        start, step = start + (n - 1) * step, -step
    if step > 1:  # interleave step-1 zeros after each element, then drop the trailing ones
        spread = shape[:axis + 1] + (1,) + shape[axis + 1:]
        gaps = TensorType(shape[:axis + 1] + (step - 1,) + shape[axis + 1:], ct.type.dtype)
        joined = e.op(G.CONCAT, e.reshape(ct, spread), e.zeros(gaps), axis=axis + 1)
        flat = shape[:axis] + (n * step,) + shape[axis + 1:]
        ct = e.reshape(joined, flat)
        keep = (n - 1) * step + 1
        ct = e.op(G.SLICE, ct, starts=(0,) * len(shape),
                  sizes=shape[:axis] + (keep,) + shape[axis + 1:], steps=(1,) * len(shape))
    length = ct.type.shape[axis]
    before, after = start, dim - start - length
    parts = []
    for size in (before, None, after):
        if size is None:
            parts.append(ct)
        elif size > 0:
            t = ct.type
            parts.append(e.zeros(TensorType(t.shape[:axis] + (size,) + t.shape[axis + 1:],
                                            t.dtype)))
    return parts[0] if len(parts) == 1 else e.op(G.CONCAT, *parts, axis=axis)


def unslice(e: Emitter, ct: Value, shape: Sequence[int], starts: Sequence[int],
            steps: Sequence[int]) -> Value:
    """The cotangent of a slice's operand of `shape`: `ct` padded back axis by axis."""
    for axis, (dim, start, step) in enumerate(zip(shape, starts, steps)):
        if ct.type.shape[axis] != dim or step != 1:
            ct = pad_axis(e, ct, axis, dim, start, step)
    return ct


def as_matrices(e: Emitter, a: Value, b: Value, ct: Value) -> tuple[Value, Value, Value]:
    """matmul's operands and result cotangent with 1-d operands made matrices (a: (1, k),
    b: (k, 1)), so the VJP can be written for matrices (and stacks of them) only."""
    if a.type.ndim == 1:
        a = e.reshape(a, (1,) + a.type.shape)
    if b.type.ndim == 1:
        b = e.reshape(b, b.type.shape + (1,))
    batch = broadcast_shapes(a.type.shape[:-2], b.type.shape[:-2])
    return a, b, e.reshape(ct, batch + (a.type.shape[-2], b.type.shape[-1]))
