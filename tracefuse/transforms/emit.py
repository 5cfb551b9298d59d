"""`Emitter`: how a transform's rules write ops. It appends typed ops to a `GraphBuilder` on
graph `Value`s, every op carrying the user's line of the op the rule differentiates or batches
(so `cf.ir()` of a gradient shows the user's lines on the backward ops too).

The helpers are the handful of compositions rules share: a weak scalar (takes the dtype of the
tensor it meets, NEP 50), zeros, a cast, summing a broadcast value back to an operand's shape
(`unbroadcast`), putting a reduced value back on its axes (`expand_reduced`). Rules stay
dtype-generic by writing constants as weak scalars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import Loc
from ..ir import Attrs, Literal, OpCode, TensorType, Value
from ..ir.dtypes import DType
from ..ir.rules import infer_types
from ..tracer.tracer import GraphBuilder

G = OpCode


class Emitter:
    """Ops appended to `builder`, each at `loc` (the user's line they come from)."""

    __slots__ = ("builder", "loc")

    def __init__(self, builder: GraphBuilder, loc: Loc):
        self.builder = builder
        self.loc = loc

    def at(self, loc: Loc) -> "Emitter":
        return Emitter(self.builder, loc)

    def op(self, code: OpCode, *inputs: Value, **attrs: Any) -> Value:
        return self.builder.emit(code, inputs, Attrs(attrs), self.loc)

    def call(self, fn: str, *inputs: Value, **params: Any) -> list[Value]:
        """A library call (ir/library): one value per result of function `fn`."""
        attrs = Attrs({"fn": fn, **params})
        types = infer_types(G.CALL, [v.type for v in inputs], attrs, self.loc)
        return self.builder.emit_many(G.CALL, inputs, attrs, self.loc, types)

    def slice_axis(self, x: Value, axis: int, start: int, size: int, step: int = 1) -> Value:
        """`size` elements of `x` along `axis` from `start` by `step` (which may be -1)."""
        shape = x.type.shape
        starts = tuple(start if i == axis else 0 for i in range(len(shape)))
        sizes = tuple(size if i == axis else d for i, d in enumerate(shape))
        steps = tuple(step if i == axis else 1 for i in range(len(shape)))
        return self.op(G.SLICE, x, starts=starts, sizes=sizes, steps=steps)

    def flip(self, x: Value, axis: int) -> Value:
        n = x.type.shape[axis]
        return x if n <= 1 else self.slice_axis(x, axis, n - 1, n, -1)

    # --- sources ------------------------------------------------------------------------------
    def scalar(self, value: Any, dtype: DType | None = None) -> Value:
        """A 0-d constant: weak (it takes the dtype of the operand it meets) unless `dtype`."""
        if dtype is None:
            arr = np.asarray(value, dtype=np.float64 if isinstance(value, float) else None)
            return self.op(G.CONSTANT, value=Literal(arr), weak=True)
        return self.op(G.CONSTANT, value=Literal(np.asarray(value, dtype=dtype.np)))

    def full(self, type: TensorType, value: Any) -> Value:
        return self.op(G.FULL, shape=tuple(type.shape), dtype=type.dtype, value=value)

    def zeros(self, type: TensorType) -> Value:
        return self.full(type, False if type.dtype.is_bool else 0)

    def constant(self, array: np.ndarray) -> Value:
        return self.op(G.CONSTANT, value=Literal(array))

    # --- arithmetic ---------------------------------------------------------------------------
    def add(self, a: Value, b: Value) -> Value:
        return self.op(G.ADD, a, b)

    def sub(self, a: Value, b: Value) -> Value:
        return self.op(G.SUBTRACT, a, b)

    def mul(self, a: Value, b: Value) -> Value:
        return self.op(G.MULTIPLY, a, b)

    def div(self, a: Value, b: Value) -> Value:
        return self.op(G.DIVIDE, a, b)

    def neg(self, a: Value) -> Value:
        return self.op(G.NEGATIVE, a)

    def where(self, cond: Value, a: Value, b: Value) -> Value:
        return self.op(G.WHERE, cond, a, b)

    def cast(self, x: Value, dtype: DType) -> Value:
        if x.type.dtype == dtype and not x.type.weak:
            return x
        if x.type.dtype.is_complex and not dtype.is_complex:
            # a complex derivative of a real value: its real part (JAX's convention: the
            # transpose of real -> complex is taking the real part)
            x = self.op(G.REAL, x)
            if x.type.dtype == dtype:
                return x
        return self.op(G.CAST, x, dtype=dtype)

    def like(self, x: Value, type: TensorType) -> Value:
        """`x` (a derivative) in the dtype of `type` (the primal it belongs to)."""
        return self.cast(x, type.dtype)

    # --- shapes -------------------------------------------------------------------------------
    def reshape(self, x: Value, shape: Sequence[int]) -> Value:
        shape = tuple(shape)
        return x if shape == x.type.shape else self.op(G.RESHAPE, x, shape=shape)

    def permute(self, x: Value, axes: Sequence[int]) -> Value:
        axes = tuple(axes)
        return x if axes == tuple(range(len(axes))) else self.op(G.PERMUTE, x, axes=axes)

    def broadcast(self, x: Value, shape: Sequence[int]) -> Value:
        shape = tuple(shape)
        return x if shape == x.type.shape else self.op(G.BROADCAST_TO, x, shape=shape)

    def sum(self, x: Value, axes: Sequence[int], keepdims: bool = False) -> Value:
        axes = tuple(sorted(axes))
        if not axes:
            return x
        out = self.op(G.SUM, x, axes=axes, keepdims=keepdims)
        return self.cast(out, x.type.dtype)  # sums of small floats stay in their dtype

    def unbroadcast(self, x: Value, type: TensorType) -> Value:
        """`x` (shaped like a broadcast result) summed back to `type`'s shape and dtype: the
        cotangent of an operand that broadcasting stretched."""
        shape, target = x.type.shape, tuple(type.shape)
        if shape != target:
            lead = len(shape) - len(target)
            axes = tuple(range(lead)) + tuple(
                lead + i for i, d in enumerate(target) if d == 1 and shape[lead + i] != 1)
            x = self.sum(x, axes, keepdims=False) if axes else x
            x = self.reshape(x, target)
        return self.like(x, type)

    def expand_reduced(self, x: Value, axes: Sequence[int], keepdims: bool,
                       shape: Sequence[int]) -> Value:
        """A reduction's result (or cotangent) put back on the reduced `axes`, broadcast to the
        operand's `shape`."""
        shape = tuple(shape)
        if not keepdims:
            x = self.reshape(x, tuple(1 if i in axes else d for i, d in enumerate(shape)))
        return self.broadcast(x, shape)

    def materialize(self, x: Value, size: int) -> Value:
        """An unbatched value repeated along a new leading batch axis of `size` (vmap)."""
        shape = x.type.shape
        return self.broadcast(self.reshape(x, (1,) + shape), (size,) + shape)

    def move_axis(self, x: Value, source: int, destination: int) -> Value:
        order = [i for i in range(x.type.ndim) if i != source]
        order.insert(destination, source)
        return self.permute(x, order)

    def mT(self, x: Value) -> Value:
        n = x.type.ndim
        return self.permute(x, tuple(range(n - 2)) + (n - 1, n - 2))


def is_float(t: TensorType) -> bool:
    """Whether values of this type have derivatives (real or complex floating point)."""
    return t.dtype.is_inexact

