"""Moving graphs in and out of traces: `trace_graph` records a Python function into a sub-graph
(the first step of every transform), `inline` replays a graph's ops into the trace in progress,
`copy_op` replays one op. Transforms are `Graph -> Graph`; these are how the user's function
becomes a graph and how the transformed graph becomes part of the caller's trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import config
from ..errors import DTypeError, user_location, with_location
from ..ir import Graph, Op, TensorType, Value
from ..ir.convert import to_array
from ..ir.dtypes import as_dtype
from ..ir.opcodes import REGIONS, OpCode
from ..ir.rules import infer_types
from ..tracer import pytree
from ..tracer.tracer import GraphBuilder, Tracer, current_builder, tracing


def leaf_type(x: Any) -> TensorType:
    """The static type of an argument leaf: a Tracer's, an array's or Tensor's (strong), a
    Python scalar's (weak)."""
    if isinstance(x, Tracer):
        return x._value.type
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is not None and dtype is not None and not isinstance(x, (int, float, bool)):
        return TensorType(tuple(shape), as_dtype(dtype))
    try:
        return to_array(x)[1]
    except DTypeError as e:
        raise DTypeError(with_location(str(e), user_location())) from None


class Traced:
    """A function traced into a sub-graph: `graph` (inputs: the argument leaves, then the
    captured values), the output structure, the outer Tracers captured, and the sub-builder."""

    __slots__ = ("graph", "out_treedef", "captured", "builder")

    def __init__(self, graph: Graph, out_treedef: Any, captured: list[Tracer],
                 builder: GraphBuilder):
        self.graph = graph
        self.out_treedef = out_treedef
        self.captured = captured
        self.builder = builder


def trace_graph(fn: Any, in_types: Sequence[TensorType], rebuild: Any, name: str) -> Traced:
    """Trace `fn(*rebuild(tracers))` into a sub-graph of the trace in progress (or a free-
    standing graph when nothing is being traced): one input per type in `in_types`, then one
    per outer value the function captured. Output leaves that are not traced values (Python
    numbers, arrays) become constants."""
    parent = current_builder()
    device = parent.device if parent is not None else "cpu"
    builder = GraphBuilder(name, device, parent=parent)
    tracers = [builder.new_input(t) for t in in_types]
    with tracing(builder):
        args, kwargs = rebuild(tracers)
        out = fn(*args, **kwargs)
        leaves, treedef = pytree.flatten(out)
        values = [builder.lift(leaf, what="result") for leaf in leaves]
    graph = builder.build_with_captures(values, check=config.verify_passes())
    return Traced(graph, treedef, list(builder.captured), builder)


def copy_op(builder: GraphBuilder, op: Op, env: dict[Value, Value]) -> None:
    """Replay `op` into `builder` on the values `env` maps its operands to (the result is
    retyped by the op's rules, so a weak operand that became strong propagates; an op with
    several results, typed by its regions, keeps its result types)."""
    inputs = [env[v] for v in op.inputs]
    if op.code is OpCode.CALL:  # retyped by its function's rule, as any other op
        same = all(new.type == old.type for new, old in zip(inputs, op.inputs))
        types = ([v.type for v in op.outputs] if same else
                 infer_types(op.code, [v.type for v in inputs], op.attrs, op.loc))
        outs = builder.emit_many(op.code, inputs, op.attrs, op.loc, types)
        env.update(zip(op.outputs, outs))
        return
    if len(op.outputs) != 1 or op.code in REGIONS:
        outs = builder.emit_many(op.code, inputs, op.attrs, op.loc, [v.type for v in op.outputs])
        env.update(zip(op.outputs, outs))
        return
    same = all(new.type == old.type for new, old in zip(inputs, op.inputs))
    env[op.output] = builder.emit(op.code, inputs, op.attrs, op.loc,
                                  op.output.type if same else None)


def build_graph(name: str, in_types: Sequence[TensorType], fn: Any) -> Graph:
    """A graph made by `fn(builder, inputs) -> outputs`, on fresh inputs of `in_types` (how a
    transform builds the regions of a control-flow op)."""
    builder = GraphBuilder(name)
    inputs = [builder.new_input(t)._value for t in in_types]
    return builder.build(list(fn(builder, inputs)), check=config.verify_passes())


def inline(builder: GraphBuilder, graph: Graph, values: Sequence[Value]) -> list[Value]:
    """Replay `graph` into `builder` with its inputs bound to `values`; returns its outputs."""
    env: dict[Value, Value] = dict(zip(graph.inputs, values))
    for op in graph.ops:
        copy_op(builder, op, env)
    return [env[v] for v in graph.outputs]
