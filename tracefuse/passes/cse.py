"""`cse`: common-subexpression elimination, one forward sweep with a table of ops seen.

Two ops are the same computation when they have the same opcode, the same operands (by
identity, after earlier merges) and equal attributes, and give results of the same types; the
later one is dropped and its results are read from the first. So `exp(x) + exp(x)` computes
`exp` once, and two `constant` ops holding equal literals of the same type become one.

Equality is exact, never numeric: a `Literal` compares by its bytes (so `-0.0` and `0.0`, or
two NaNs with different payloads, stay distinct), and float attributes (a `full`'s value)
compare by their bits, not by `==` (where `0.0 == -0.0` and `nan != nan`). Operands of
`COMMUTATIVE` binary ops are compared as an unordered pair (`x*y` and `y*x` merge; not float
`maximum`/`minimum`, whose result for -0.0 and 0.0 depends on the order). Graphs are compared
by identity, never structurally: two control-flow ops on the same operands whose regions are
the same `Graph` objects are one computation (they have no side effects); a kernel is only ever
equal to itself. The pass runs inside every region too (`regions.in_regions`); a region reads
only its parameters, so nothing merges across a region's boundary.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable
from typing import Any

import numpy as np

from ..ir import Graph, Literal, Op, OpCode, Value
from ..ir.opcodes import COMMUTATIVE, REGIONS
from .fold import has_graph_attr
from .regions import in_regions


def _attr_key(value: Any) -> Hashable:
    """A key equal for two attribute values exactly when they are the same value, bit for bit."""
    if isinstance(value, (bool, np.bool_)):
        return ("bool", bool(value))
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    if isinstance(value, np.floating):
        return (value.dtype.str, value.tobytes())
    if isinstance(value, (int, np.integer)):
        return ("int", int(value))
    if isinstance(value, tuple):
        return ("tuple",) + tuple(_attr_key(v) for v in value)
    if isinstance(value, Literal):
        return value  # hashes and compares by shape, dtype and bytes
    if isinstance(value, Graph):
        return ("graph", value)  # by identity (Graph defines no __eq__)
    return (type(value).__name__, value)


# maximum(-0.0, 0.0) and maximum(0.0, -0.0) differ (NumPy returns one operand as it is), so
# for floats the order of their operands matters
_ORDERED_FOR_FLOATS = frozenset({OpCode.MAXIMUM, OpCode.MINIMUM})


def _operand_key(op: Op) -> tuple[Value, ...]:
    if op.code in COMMUTATIVE and len(op.inputs) == 2:
        if not (op.code in _ORDERED_FOR_FLOATS and any(v.type.dtype.is_float for v in op.inputs)):
            return tuple(sorted(op.inputs, key=id))
    return op.inputs


def op_key(op: Op) -> Hashable | None:
    """The key under which `op` is one computation, or None when it must stay on its own."""
    if has_graph_attr(op) and op.code not in REGIONS:
        return None
    attrs = tuple((name, _attr_key(v)) for name, v in op.attrs.items())
    key = (op.code, _operand_key(op), attrs, tuple(v.type for v in op.outputs))
    try:
        hash(key)
    except TypeError:  # an attribute the verifier would reject: leave the op alone
        return None
    return key


@in_regions
def cse(graph: Graph) -> Graph:
    subst: dict[Value, Value] = {}
    seen: dict[Hashable, Op] = {}
    ops: list[Op] = []
    for op in graph.ops:
        inputs = tuple(subst.get(v, v) for v in op.inputs)
        if inputs != op.inputs:
            op = op.replace(inputs=inputs)
        key = op_key(op)
        first = seen.get(key) if key is not None else None
        if first is None:
            if key is not None:
                seen[key] = op
            ops.append(op)
            continue
        for old, new in zip(op.outputs, first.outputs):
            subst[old] = new
    if not subst:
        return graph
    outputs = tuple(subst.get(v, v) for v in graph.outputs)
    return graph.replace(ops=tuple(ops), outputs=outputs)
