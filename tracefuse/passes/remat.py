"""`remat`: recompute cheap elementwise values where they are used across a library op,
instead of storing them (rematerialization).

A gradient graph reads forward values after a matmul that depends on them: the relu mask of an
MLP's backward pass is computed from `x @ W1 + b1` in the forward kernel, but used after the
backward matmuls. Fusion never puts a value and a consumer that sits behind a matmul depending
on it in one kernel, so the value would be written to memory by one kernel and read back by the
other (two passes over it). If the value is a short chain of cheap elementwise ops (no
transcendental function) over at most one full-size array in memory (a graph input or a library
op's result) plus small or constant operands, the consumer recomputes it from that array instead:
one read replaces a write and a read, and the forward kernel may not need to store it at all.

The pass copies the chain (the same ops on the same operands, at the same source lines) next to
each such consumer; fusion then puts the copy in the consumer's kernel. It runs after CSE (which
would merge the copies again) and before fusion.

Control-flow ops are left as they are and count as library ops (they run outside kernels, and
their results are in memory); inside their regions the pass runs as in the function
(`regions.in_regions`).
"""

from __future__ import annotations

from ..ir import Graph, Op, OpCode, Value
from ..ir.opcodes import ELEMENTWISE, REGIONS, SOURCES, TRANSCENDENTAL
from .dce import dce
from .regions import in_regions

G = OpCode
MAX_CHAIN_OPS = 16  # a longer chain is not "cheap" to recompute
# ops that run outside kernels
LIBRARY = frozenset({G.MATMUL, G.CONCAT, G.ARGMAX, G.ARGMIN, G.CALL}) | REGIONS
CHEAP = ELEMENTWISE - TRANSCENDENTAL


def _chain(v: Value, producers: dict[Value, Op]) -> list[Op] | None:
    """The cheap elementwise ops computing `v` from memory (in graph order is the caller's job),
    or None when `v` is not such a chain of at most MAX_CHAIN_OPS ops over at most one
    full-size array."""
    size = v.type.size
    ops: dict[Op, None] = {}
    big: set[Value] = set()
    stack = [v]
    while stack:
        u = stack.pop()
        op = producers.get(u)
        if op is None or op.code in LIBRARY:  # an input or a library result: in memory
            if u.type.size >= size and u.type.size > 1:
                big.add(u)
            continue
        if op.code in SOURCES:
            continue
        if op.code not in CHEAP:
            return None
        if op not in ops:
            ops[op] = None
            if len(ops) > MAX_CHAIN_OPS:
                return None
            stack.extend(op.inputs)
    return list(ops) if ops and len(big) <= 1 else None


@in_regions
def remat(graph: Graph) -> Graph:
    """The graph with cheap forward chains recomputed next to consumers behind library ops."""
    ops = graph.ops
    if not any(op.code in LIBRARY for op in ops):
        return graph
    producers = graph.producers()
    users = graph.users()
    # the library ops each value depends on (`below`) and that depend on it (`above`): few
    none: frozenset = frozenset()
    below: dict[Value, frozenset] = {}
    for op in ops:
        libs = none.union(*(below.get(v, none) for v in op.inputs))
        for out in op.outputs:
            below[out] = libs | {op} if op.code in LIBRARY else libs
    above: dict[Value, frozenset] = {}
    for op in reversed(ops):
        for out in op.outputs:
            above[out] = none.union(*(above.get(o, none) | ({u} if u.code in LIBRARY else none)
                                      for u in users.get(out, ()) for o in u.outputs))
    order = {op: i for i, op in enumerate(ops)}
    new_ops: list[Op] = []
    changed = False
    for op in ops:
        if op.code in ELEMENTWISE or op.code in (G.SUM, G.PROD, G.MAX, G.MIN, G.ALL, G.ANY):
            libs = none.union(*(below.get(v, none) for v in op.inputs))
            replaced = list(op.inputs)
            for i, v in enumerate(op.inputs):
                p = producers.get(v)
                if p is None or p.code not in CHEAP:
                    continue
                chain = _chain(v, producers)
                if chain is None or not any(above.get(u, none) & libs
                                            for c in chain for u in c.outputs):
                    # no library op between v's chain and this consumer: fusion can put them
                    # in one kernel as they are
                    continue
                env: dict[Value, Value] = {}
                for c in sorted(chain, key=order.__getitem__):
                    outs = tuple(Value(o.type) for o in c.outputs)
                    new_ops.append(c.replace(inputs=tuple(env.get(u, u) for u in c.inputs),
                                             outputs=outs))
                    env.update(zip(c.outputs, outs))
                replaced[i] = env[v]
                changed = True
            if tuple(replaced) != op.inputs:
                op = op.replace(inputs=tuple(replaced))
        new_ops.append(op)
    # the original chains may now be unused
    return dce(graph.replace(ops=tuple(new_ops))) if changed else graph
