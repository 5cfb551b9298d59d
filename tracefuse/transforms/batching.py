"""`vmap` as a `Graph -> Graph` transform: `BATCH_RULES` (one rule per OpCode) and the driver.

Inside the transform every batched value carries its batch axis first (axis 0); inputs are
moved there once and outputs moved to `out_axes` at the end, so each rule handles one layout.
A rule is `rule(e, op, xs, batched, size) -> value`: `xs` are the operands in the graph being
built (a batched one has the batch axis first), `batched[i]` says which are, `size` is the
batch size; it returns the result with the batch axis first. Ops with no batched operand are
copied unchanged. The batched graph has as many ops for a batch of 3 as for 3,000: the batch is
an axis, not a loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import config
from ..errors import UNKNOWN_LOC, ShapeError, with_location
from ..ir import Graph, OpCode, TensorType, Value
from ..ir.opcodes import BINARY, REDUCE, REGIONS, TERNARY, UNARY, Unsupported
from ..tracer.tracer import GraphBuilder
from . import control_flow_rules as cf
from . import library as library_rules  # the rules of library calls
from .emit import Emitter
from .graphs import copy_op

G = OpCode


class UnbatchableError(TypeError):
    """An op of a vmapped function has no batching rule (the message says why)."""


def _lift(e: Emitter, x: Value, rank: int) -> Value:
    """A batched value of logical rank < `rank` with size-1 axes inserted after the batch axis
    (so NumPy broadcasting lines its logical axes up with the others')."""
    shape = x.type.shape
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return x
    return e.reshape(x, shape[:1] + (1,) * missing + shape[1:])


def _elementwise(e, op, xs, batched, size):
    rank = max(x.type.ndim - (1 if b else 0) for x, b in zip(xs, batched))
    xs = [_lift(e, x, rank) if b else x for x, b in zip(xs, batched)]
    return e.builder.emit(op.code, xs, op.attrs, e.loc)


def _reduce(e, op, xs, batched, size):
    attrs = op.attrs.replace(axes=tuple(a + 1 for a in op.attrs["axes"]))
    return e.builder.emit(op.code, xs, attrs, e.loc)


def _arg_reduce(e, op, xs, batched, size):
    (x,) = xs
    axis, keepdims = op.attrs["axis"], op.attrs["keepdims"]
    if axis is not None:
        return e.builder.emit(op.code, xs, op.attrs.replace(axis=axis + 1), e.loc)
    flat = e.reshape(x, (size, math.prod(x.type.shape[1:])))  # size 0: examples stay whole
    out = e.builder.emit(op.code, (flat,), op.attrs.replace(axis=1, keepdims=False), e.loc)
    return e.reshape(out, (size,) + (1,) * (x.type.ndim - 1)) if keepdims else out


def _reshape(e, op, xs, batched, size):
    return e.reshape(xs[0], (size,) + tuple(op.attrs["shape"]))


def _permute(e, op, xs, batched, size):
    return e.permute(xs[0], (0,) + tuple(a + 1 for a in op.attrs["axes"]))


def _broadcast_to(e, op, xs, batched, size):
    target = tuple(op.attrs["shape"])
    return e.broadcast(_lift(e, xs[0], len(target)), (size,) + target)


def _slice(e, op, xs, batched, size):
    a = op.attrs
    return e.op(G.SLICE, xs[0], starts=(0,) + tuple(a["starts"]),
                sizes=(size,) + tuple(a["sizes"]), steps=(1,) + tuple(a["steps"]))


def _concat(e, op, xs, batched, size):
    xs = [x if b else e.materialize(x, size) for x, b in zip(xs, batched)]
    return e.op(G.CONCAT, *xs, axis=op.attrs["axis"] + 1)


def _matmul(e, op, xs, batched, size):
    (a, b), (ba, bb) = xs, batched
    la, lb = a.type.ndim - ba, b.type.ndim - bb
    if ba and not bb and lb <= 2 and la <= 2:  # the batch is more rows of a: one matmul
        return e.op(G.MATMUL, a, b)
    if bb and not ba and la == 2 and lb == 1:  # a @ v for each v: V @ a^T, one matmul
        return e.op(G.MATMUL, b, e.mT(a))
    if la == 1:  # a vector is a (1, k) matrix
        a = e.reshape(a, a.type.shape[:-1] + (1,) + a.type.shape[-1:])
    if lb == 1:  # and b a (k, 1) one
        b = e.reshape(b, b.type.shape + (1,))
    stack = max(max(la, 2), max(lb, 2)) - 2
    a = _lift(e, a, stack + 2) if ba else a
    b = _lift(e, b, stack + 2) if bb else b
    out = e.op(G.MATMUL, a, b)
    return e.reshape(out, (size,) + op.output.type.shape)


def _random_bits(e, op, xs, batched, size):
    """Batched keys (or offsets) are independent streams: each batched operand gets its batch
    axis first and size-1 dimensions up to the result's rank, so the batch is a dimension along
    which the operands vary (ir/philox.py: the counter restarts for each) and each element of
    the batch draws what it would alone."""
    shape = tuple(op.attrs["shape"])
    keys = [e.reshape(x, (size,) + (1,) * (len(shape) - x.type.ndim + 1) + x.type.shape[1:])
            if b else x for x, b in zip(xs, batched)]
    return e.op(G.RANDOM_BITS, *keys, shape=(size,) + shape)


BATCH_RULES: dict[OpCode, object] = {
    **{code: _elementwise for code in UNARY | BINARY | TERNARY},
    **{code: _reduce for code in REDUCE - {G.ARGMAX, G.ARGMIN}},
    G.ARGMAX: _arg_reduce, G.ARGMIN: _arg_reduce,
    G.RESHAPE: _reshape,
    G.PERMUTE: _permute,
    G.BROADCAST_TO: _broadcast_to,
    G.SLICE: _slice,
    G.CONCAT: _concat,
    G.MATMUL: _matmul,
    G.RANDOM_BITS: _random_bits,
    # sources have no operands, so they are never batched: the driver copies them
    **{code: Unsupported("a source op has no operands to batch; the driver copies it")
       for code in (G.CONSTANT, G.FULL, G.IOTA)},
    G.KERNEL: Unsupported("kernels are made by fusion, after every transform has run: "
                          "vmap the function before it is compiled"),
    # control flow: `rule(e, op, xs, batched, size, emit_batched=...)` -> (results, batched)
    G.COND: cf.cond_batch, G.WHILE: cf.while_batch, G.SCAN: cf.scan_batch,
    # library calls: a table of rules by function name (transforms/library)
    G.CALL: library_rules.BATCH,
}


def emit_batched(builder: GraphBuilder, graph: Graph, args: Sequence[Value],
                 batched: Sequence[bool], size: int) -> tuple[list[Value], list[bool]]:
    """Emit `graph` batched into `builder`: `args` (batched ones with the batch axis first)
    bound to its inputs; returns the outputs and whether each is batched (axis 0)."""
    env: dict[Value, Value] = dict(zip(graph.inputs, args))
    is_batched = {v for v, b in zip(graph.inputs, batched) if b}
    for op in graph.ops:
        flags = [v in is_batched for v in op.inputs]
        if not any(flags):
            copy_op(builder, op, env)
            continue
        rule = BATCH_RULES[op.code]
        if op.code is G.CALL:
            rule = library_rules.rule_of(rule, op)
        if isinstance(rule, Unsupported):
            raise UnbatchableError(with_location(
                f"{library_rules.op_name(op)} cannot be batched by vmap: {rule.reason}",
                op.loc))
        if op.code is G.CALL:
            outs = rule(Emitter(builder, op.loc), op, [env[v] for v in op.inputs], flags, size)
            env.update(zip(op.outputs, outs))
            is_batched.update(op.outputs)
            continue
        if op.code in REGIONS:
            outs, oflags = rule(Emitter(builder, op.loc), op, [env[v] for v in op.inputs],
                                flags, size, emit_batched=emit_batched)
            env.update(zip(op.outputs, outs))
            is_batched.update(o for o, f in zip(op.outputs, oflags) if f)
            continue
        env[op.output] = rule(Emitter(builder, op.loc), op, [env[v] for v in op.inputs],
                              flags, size)
        is_batched.add(op.output)
    return [env[v] for v in graph.outputs], [v in is_batched for v in graph.outputs]


def vmap_graph(graph: Graph, in_axes: Sequence[int | None], size: int,
               out_axes: Sequence[int | None]) -> Graph:
    """`graph` mapped over a batch of `size`: input i gains a batch axis at `in_axes[i]`
    (None: shared by the whole batch), output j has it at `out_axes[j]` (None: the output must
    not depend on the batch)."""
    builder = GraphBuilder(f"{graph.name}_vmap")
    e = Emitter(builder, graph.ops[0].loc if graph.ops else UNKNOWN_LOC)
    args, flags = [], []
    for v, axis in zip(graph.inputs, in_axes):
        if axis is None:
            args.append(builder.new_input(v.type)._value)
            flags.append(False)
            continue
        shape = v.type.shape[:axis] + (size,) + v.type.shape[axis:]
        x = builder.new_input(TensorType(shape, v.type.dtype, v.type.weak))._value
        args.append(e.move_axis(x, axis, 0))
        flags.append(True)
    outs, out_flags = emit_batched(builder, graph, args, flags, size)
    results = []
    for i, (v, b, axis) in enumerate(zip(outs, out_flags, out_axes)):
        if axis is None:
            if b:
                raise ShapeError(with_location(
                    f"vmap: output {i} depends on the mapped axis but its out_axes is None; "
                    "give it an axis (0) or make it independent of the batch", e.loc))
            results.append(v)
            continue
        if not b:
            v = e.materialize(v, size)
        results.append(e.move_axis(v, 0, axis))
    return builder.build(results, check=config.verify_passes())
