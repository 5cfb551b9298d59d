"""Helpers for the IR tests: a small graph builder and the hand-built golden graphs."""

from __future__ import annotations

import math

import numpy as np

from tracefuse.errors import UNKNOWN_LOC, Loc
from tracefuse.ir import Attrs, Graph, Literal, Op, OpCode, TensorType, Value, infer_type
from tracefuse.ir import dtypes as dt

G = OpCode


class Builder:
    """Appends ops typed by `infer_type`, as the tracer does."""

    def __init__(self, name: str = "main"):
        self.name = name
        self.inputs: list[Value] = []
        self.ops: list[Op] = []

    def input(self, shape, dtype=dt.float32, weak: bool = False) -> Value:
        v = Value(TensorType(tuple(shape), dtype, weak))
        self.inputs.append(v)
        return v

    def op(self, code: OpCode, *inputs: Value, loc: Loc = UNKNOWN_LOC, **attrs) -> Value:
        attrs_ = Attrs(attrs)
        out = Value(infer_type(code, [v.type for v in inputs], attrs_, loc))
        self.ops.append(Op(code, tuple(inputs), attrs_, (out,), loc))
        return out

    def const(self, value, dtype=None, weak: bool = False, loc: Loc = UNKNOWN_LOC) -> Value:
        attrs = {"value": Literal(np.asarray(value, dtype=dtype))}
        if weak:
            attrs["weak"] = True
        return self.op(G.CONSTANT, loc=loc, **attrs)

    def graph(self, *outputs: Value) -> Graph:
        return Graph(tuple(self.inputs), tuple(self.ops), tuple(outputs), name=self.name)


def gelu_graph() -> Graph:
    """The tanh approximation of GELU, with source locations."""
    b = Builder("gelu")
    x = b.input((1024,))
    at = lambda line: Loc("/home/user/gelu.py", line)  # noqa: E731
    x3 = b.op(G.MULTIPLY, b.op(G.MULTIPLY, x, x, loc=at(5)), x, loc=at(5))
    inner = b.op(G.ADD, x, b.op(G.MULTIPLY, b.const(0.044715, weak=True, loc=at(6)), x3,
                                loc=at(6)), loc=at(6))
    t = b.op(G.TANH, b.op(G.MULTIPLY, b.const(math.sqrt(2 / math.pi), weak=True, loc=at(7)),
                          inner, loc=at(7)), loc=at(7))
    one_plus = b.op(G.ADD, t, b.const(1.0, weak=True, loc=at(8)), loc=at(8))
    half_x = b.op(G.MULTIPLY, x, b.const(0.5, weak=True, loc=at(8)), loc=at(8))
    return b.graph(b.op(G.MULTIPLY, half_x, one_plus, loc=at(8)))


def reduction_graph() -> Graph:
    b = Builder("softmax_parts")
    x = b.input((8, 16), dt.float64)
    m = b.op(G.MAX, x, axes=(1,), keepdims=True, loc=Loc("model.py", 3))
    e = b.op(G.EXP, b.op(G.SUBTRACT, x, m))
    s = b.op(G.SUM, e, axes=(1,), keepdims=False)
    i = b.op(G.ARGMAX, x, axis=None, keepdims=False)
    return b.graph(s, i)


def weak_scalar_graph() -> Graph:
    b = Builder("scale")
    x = b.input((2, 3), dt.int8)
    s = b.input((), dt.float64, weak=True)
    n = b.input((), dt.int64, weak=True)
    y = b.op(G.MULTIPLY, x, s)  # int8 * weak float -> float64
    z = b.op(G.ADD, x, n)  # int8 + weak int -> int8
    return b.graph(y, z, b.op(G.MULTIPLY, s, n))


def constants_graph() -> Graph:
    b = Builder("consts")
    x = b.input((4,))
    c = b.const([np.nan, -0.0, np.inf, -np.inf], dtype=np.float32)
    d = b.const(np.float64(0.1) + np.float64(0.2))
    e = b.const([[True, False]], dtype=np.bool_)
    f = b.op(G.FULL, shape=(2, 0), dtype=dt.uint8, value=255)
    g = b.op(G.IOTA, shape=(3,), dtype=dt.int32, axis=0)
    y = b.op(G.ADD, x, c)
    z = b.op(G.CAST, y, dtype=dt.float16)
    return b.graph(z, d, e, f, g)


def big_constant_graph() -> Graph:
    """A constant past printer.MAX_LIST_LITERAL elements, which prints as hex bytes."""
    b = Builder("big")
    x = b.input((5, 13), dt.uint8)
    c = b.const(np.arange(65, dtype=np.uint8).reshape(5, 13))
    return b.graph(b.op(G.ADD, x, c))


def big_signed_graph() -> Graph:
    b = Builder("big_signed")
    x = b.input((10, 10), dt.float32)
    f = b.const((np.arange(100, dtype=np.float32).reshape(10, 10) - 50) / 3)
    i = b.const(np.arange(100, dtype=np.int16).reshape(10, 10) - 50)
    return b.graph(b.op(G.ADD, b.op(G.ADD, x, f), b.op(G.CAST, i, dtype=dt.float32)))


GOLDEN_GRAPHS = {
    "gelu": gelu_graph,
    "reduction": reduction_graph,
    "weak_scalar": weak_scalar_graph,
    "constants": constants_graph,
    "big_constant": big_constant_graph,
    "big_signed": big_signed_graph,
}
