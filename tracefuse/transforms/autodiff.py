"""Differentiation as `Graph -> Graph` transforms: `jvp_graph` (forward mode) and `vjp_graph`
(reverse mode), and `emit_vjp`, the reverse pass the tape runs over a span of recorded ops.

Forward mode walks the ops once, emitting each op and then its tangent by `JVP_RULES`. Reverse
mode emits the forward ops, then walks them backwards from the outputs' cotangents, emitting
each op's operand cotangents by `VJP_RULES` and adding up the cotangents of values used more
than once. Only *active* ops are differentiated: those with a floating-point (real or complex)
operand that depends on what is differentiated, whose result reaches an output. Complex values
follow JAX's convention (docs/transforms.md): a tangent is pushed forward by the derivative as
an R-linear map, and a cotangent is pulled back by that map's transpose conjugated on both
sides, so a holomorphic op's cotangent is `ct * f'(z)` (no conjugate) and `grad` of a
real-valued f(z) is df/dx - i df/dy. A zero is `None` all
through (no op); it becomes a `full 0` only where a transformed graph must return it.

The forward and the backward ops land in one graph, so the pass pipeline sees both: CSE merges
the forward ops a caller traced twice, DCE drops the forward values the gradient does not
need, and fusion puts the backward elementwise math in the same kernels as the forward values
it reads (recomputing cheap ones rather than storing them).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import config
from ..errors import UNKNOWN_LOC, with_location
from ..ir import Graph, Op, TensorType, Value
from ..ir import OpCode
from ..ir.opcodes import REGIONS, Unsupported
from . import library as library_rules  # the rules of library calls
from ..tracer.tracer import GraphBuilder
from .emit import Emitter
from .graphs import copy_op
from .jvp_rules import JVP_RULES
from .vjp_rules import VJP_RULES


class NonDifferentiableError(TypeError):
    """An op on the path being differentiated has no derivative rule (the message says why)."""


def _rule(table: dict, op: Op, mode: str):
    rule = table[op.code]
    if op.code is OpCode.CALL:
        rule = library_rules.rule_of(rule, op)
    if isinstance(rule, Unsupported):
        raise NonDifferentiableError(with_location(
            f"{library_rules.op_name(op)} cannot be differentiated in {mode} mode: "
            f"{rule.reason}", op.loc))
    return rule


def _check_rules(table: dict, graph: Graph, sources: Sequence[Value], mode: str) -> None:
    """Raise NonDifferentiableError for an op on a path from `sources` that has no rule, before
    anything is emitted: such an op (a fused kernel) may not even be copyable."""
    active = {v for v in sources if v.type.dtype.is_inexact}
    for op in graph.ops:
        if any(v in active for v in op.inputs):
            _rule(table, op, mode)
            active.update(v for v in op.outputs if v.type.dtype.is_inexact)


def _fit(e: Emitter, v: Value, type: TensorType) -> Value:
    """A tangent in its primal's shape and dtype."""
    if v.type.shape != type.shape:
        v = e.broadcast(v, type.shape)
    return e.like(v, type)


def emit_jvp(builder: GraphBuilder, graph: Graph, primals: Sequence[Value],
             tangents: Sequence[Value | None]) -> tuple[list[Value], list[Value | None]]:
    """Emit `graph` and its forward derivative into `builder`: returns the outputs and their
    tangents (None: zero)."""
    env: dict[Value, Value] = dict(zip(graph.inputs, primals))
    tan: dict[Value, Value] = {v: t for v, t in zip(graph.inputs, tangents) if t is not None}
    for op in graph.ops:
        if op.code in REGIONS:  # the rule emits the op and its derivative together
            ts = [tan.get(v) for v in op.inputs]
            if any(t is not None for t in ts):
                rule = _rule(JVP_RULES, op, "forward")
                outs, touts = rule(builder, op, [env[v] for v in op.inputs], ts, emit_jvp=emit_jvp)
                env.update(zip(op.outputs, outs))
                tan.update({o: t for o, t in zip(op.outputs, touts)
                            if t is not None and o.type.dtype.is_inexact})
            else:
                copy_op(builder, op, env)
            continue
        copy_op(builder, op, env)
        if op.code is OpCode.CALL:  # one tangent per result (several results, some integer)
            ts = [tan.get(v) for v in op.inputs]
            if any(t is not None for t in ts):
                e = Emitter(builder, op.loc)
                outs = [env[v] for v in op.outputs]
                touts = _rule(JVP_RULES, op, "forward")(e, op, [env[v] for v in op.inputs], ts,
                                                        outs)
                tan.update({o: _fit(e, t, env[o].type.strong())
                            for o, t in zip(op.outputs, touts)
                            if t is not None and o.type.dtype.is_inexact})
            continue
        if not tan or not op.output.type.dtype.is_inexact:
            continue
        ts = [tan.get(v) for v in op.inputs]
        if all(t is None for t in ts):
            continue
        e = Emitter(builder, op.loc)
        out = env[op.output]
        t = _rule(JVP_RULES, op, "forward")(e, op, [env[v] for v in op.inputs], ts, out)
        if t is not None:
            tan[op.output] = _fit(e, t, out.type.strong())
    return [env[v] for v in graph.outputs], [tan.get(v) for v in graph.outputs]


def active_values(ops: Sequence[Op], sources: Sequence[Value]) -> set[Value]:
    """The floating-point values that depend on `sources` through `ops`."""
    active = {v for v in sources if v.type.dtype.is_inexact}
    for op in ops:
        if any(v in active for v in op.inputs):
            active.update(v for v in op.outputs if v.type.dtype.is_inexact)
    return active


def emit_vjp(builder: GraphBuilder, ops: Sequence[Op], env: dict[Value, Value],
             sources: Sequence[Value], seeds: Sequence[tuple[Value, Value]]
             ) -> list[Value | None]:
    """The reverse pass over `ops` (already emitted: `env` maps their values into `builder`):
    `seeds` pairs values with their cotangents; returns the cotangent of each of `sources`
    (graph values: inputs or results of `ops`), None where it does not depend on a seed."""
    active = active_values(ops, sources)
    ct: dict[Value, Value] = {}

    def accumulate(e: Emitter, v: Value, c: Value) -> None:
        c = e.unbroadcast(c, v.type.strong())
        ct[v] = c if v not in ct else e.add(ct[v], c)

    for v, c in seeds:
        if v in active and c is not None:
            accumulate(Emitter(builder, ops[-1].loc if ops else UNKNOWN_LOC), v, c)
    for op in reversed(ops):
        if op.code in REGIONS:
            cts = [ct.get(v) for v in op.outputs]
            wants = [v in active for v in op.inputs]
            if all(c is None for c in cts) or not any(wants):
                continue
            e = Emitter(builder, op.loc)
            rule = _rule(VJP_RULES, op, "reverse")
            results = rule(builder, op, [env[v] for v in op.inputs],
                           [env[v] for v in op.outputs], cts, wants, emit_vjp=emit_vjp)
            for v, want, r in zip(op.inputs, wants, results):
                if want and r is not None:
                    accumulate(e, v, r)
            continue
        if op.code is OpCode.CALL:  # several results: a cotangent (or None) each
            cts = [ct.get(v) for v in op.outputs]
            wants = [v in active for v in op.inputs]
            if all(c is None for c in cts) or not any(wants):
                continue
            e = Emitter(builder, op.loc)
            results = _rule(VJP_RULES, op, "reverse")(
                e, op, [env[v] for v in op.inputs], [env[v] for v in op.outputs], cts, wants)
            for v, want, r in zip(op.inputs, wants, results):
                if want and r is not None:
                    accumulate(e, v, r)
            continue
        c = ct.get(op.output)
        if c is None:
            continue
        wants = [v in active for v in op.inputs]
        if not any(wants):
            continue
        e = Emitter(builder, op.loc)
        rule = _rule(VJP_RULES, op, "reverse")
        results = rule(e, op, [env[v] for v in op.inputs], env[op.output], c, wants)
        for v, want, r in zip(op.inputs, wants, results):
            if want and r is not None:
                accumulate(e, v, r)
    return [ct.get(v) for v in sources]


def jvp_graph(graph: Graph, with_tangent: Sequence[bool]) -> Graph:
    """`graph` with forward derivatives: inputs are `graph.inputs` then one tangent per input
    marked in `with_tangent`; outputs are `graph.outputs` then one tangent per output (zeros
    where an output does not depend on a tangent)."""
    _check_rules(JVP_RULES, graph, [v for v, w in zip(graph.inputs, with_tangent) if w],
                 "forward")
    builder = GraphBuilder(f"{graph.name}_jvp")
    primals = [builder.new_input(v.type)._value for v in graph.inputs]
    tangents = [builder.new_input(v.type.strong())._value if want else None
                for v, want in zip(graph.inputs, with_tangent)]
    outs, touts = emit_jvp(builder, graph, primals, tangents)
    e = Emitter(builder, graph.ops[-1].loc if graph.ops else UNKNOWN_LOC)
    touts = [t if t is not None else e.zeros(o.type.strong()) for o, t in zip(outs, touts)]
    return builder.build(outs + touts, check=config.verify_passes())


def vjp_graph(graph: Graph, wrt: Sequence[int], with_cotangent: Sequence[bool]) -> Graph:
    """`graph` with reverse derivatives: inputs are `graph.inputs` then one cotangent per output
    marked in `with_cotangent`; outputs are `graph.outputs` then the cotangent of each input
    numbered in `wrt` (zeros where it does not depend on a cotangent)."""
    _check_rules(VJP_RULES, graph, [graph.inputs[i] for i in wrt], "reverse")
    builder = GraphBuilder(f"{graph.name}_vjp")
    primals = [builder.new_input(v.type)._value for v in graph.inputs]
    cts = [builder.new_input(v.type.strong())._value if want else None
           for v, want in zip(graph.outputs, with_cotangent)]
    env: dict[Value, Value] = dict(zip(graph.inputs, primals))
    for op in graph.ops:
        copy_op(builder, op, env)
    sources = [graph.inputs[i] for i in wrt]
    grads = emit_vjp(builder, graph.ops, env, sources,
                     [(v, c) for v, c in zip(graph.outputs, cts) if c is not None])
    e = Emitter(builder, graph.ops[-1].loc if graph.ops else UNKNOWN_LOC)
    grads = [g if g is not None else e.zeros(s.type.strong()) for s, g in zip(sources, grads)]
    outs = [env[v] for v in graph.outputs]
    return builder.build(outs + grads, check=config.verify_passes())
