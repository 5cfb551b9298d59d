"""`dce`: dead-code elimination, one backward sweep with a `used` set.

An op survives when one of its outputs is a graph output or is read by a surviving op. Graph
inputs are kept even when unused (they are the function's signature). No op has side effects:
a control-flow op whose results are all unused goes too (a loop that computes nothing anyone
reads is not run), and inside every region dead ops go as well (`regions.in_regions`).

A surviving control-flow op loses what nobody needs (`prune`): a `cond` its unused results
(and the operands no branch reads then); a `scan` its unused ys, and the carries that neither
a used result, nor a used y, nor another live carry depends on (a fixpoint over the body), with
the xs and constants the rest no longer reads; a `while` the same, every carry its condition
reads being live.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..ir import Graph, Op, OpCode, Value
from .regions import in_regions

G = OpCode


def _reads(g: Graph, outputs: Iterable[Value]) -> set[Value]:
    """The inputs of `g` that the given outputs of `g` depend on."""
    need = set(outputs)
    for op in reversed(g.ops):
        if any(v in need for v in op.outputs):
            need.update(op.inputs)
    return need & set(g.inputs)


def _subgraph(g: Graph, inputs: Sequence[int], outputs: Sequence[int]) -> Graph:
    """`g` keeping the numbered inputs and outputs only, its dead ops removed."""
    return dce(Graph(tuple(g.inputs[i] for i in inputs), g.ops,
                     tuple(g.outputs[j] for j in outputs), g.name))


def _prune_cond(op: Op, used: set[Value]) -> Op:
    keep = [j for j, v in enumerate(op.outputs) if v in used]
    branches = op.attrs["branches"]
    reads = set().union(*(_reads(g, [g.outputs[j] for j in keep]) for g in branches))
    args = [i for i in range(len(op.inputs) - 1)
            if any(g.inputs[i] in reads for g in branches)]
    if len(keep) == len(op.outputs) and len(args) == len(op.inputs) - 1:
        return op
    new = tuple(_subgraph(g, args, keep) for g in branches)
    return op.replace(inputs=(op.inputs[0],) + tuple(op.inputs[1 + i] for i in args),
                      outputs=tuple(op.outputs[j] for j in keep),
                      attrs=op.attrs.replace(branches=new))


def _prune_loop(op: Op, used: set[Value]) -> Op:
    a = op.attrs
    n = a["num_carries"]
    m = a["num_xs"] if op.code is G.SCAN else 0
    body = a["body"]
    cond = a["cond"] if op.code is G.WHILE else None
    ys = [j for j in range(n, len(op.outputs)) if op.outputs[j] in used]
    live = {k for k in range(n) if op.outputs[k] in used}
    if cond is not None:
        live |= {k for k in range(n) if cond.inputs[k] in _reads(cond, cond.outputs)}
    while True:  # a live carry keeps alive the carries its next value reads
        reads = _reads(body, [body.outputs[k] for k in live] + [body.outputs[j] for j in ys])
        more = live | {k for k in range(n) if body.inputs[k] in reads}
        if more == live:
            break
        live = more
    carries = sorted(live)
    cond_reads = _reads(cond, cond.outputs) if cond is not None else set()
    rest = [i for i in range(n, len(op.inputs))
            if body.inputs[i] in reads or (cond is not None and cond.inputs[i] in cond_reads)]
    if len(carries) == n and len(ys) == len(op.outputs) - n and len(rest) == len(op.inputs) - n:
        return op
    inputs = carries + rest
    attrs = {"body": _subgraph(body, inputs, carries + ys), "num_carries": len(carries)}
    if cond is not None:
        attrs["cond"] = _subgraph(cond, inputs, range(len(cond.outputs)))
    else:
        attrs["num_xs"] = sum(1 for i in rest if i < n + m)
    return op.replace(inputs=tuple(op.inputs[i] for i in inputs),
                      outputs=tuple(op.outputs[j] for j in carries + ys),
                      attrs=a.replace(**attrs))


PRUNE = {G.COND: _prune_cond, G.WHILE: _prune_loop, G.SCAN: _prune_loop}


@in_regions
def dce(graph: Graph) -> Graph:
    used = set(graph.outputs)
    kept = []
    changed = False
    for op in reversed(graph.ops):
        if any(v in used for v in op.outputs):
            if op.code in PRUNE:
                new = PRUNE[op.code](op, used)
                changed |= new is not op
                op = new
            kept.append(op)
            used.update(op.inputs)
    if len(kept) == len(graph.ops) and not changed:
        return graph
    return graph.replace(ops=tuple(reversed(kept)))
