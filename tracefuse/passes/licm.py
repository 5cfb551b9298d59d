"""`licm`: loop-invariant code motion for `while` and `scan`.

A loop's regions read the loop's constants (the operands after the carries, and after the xs
of a scan) the same way on every iteration: an op of the cond or the body whose operands are
all constants, values computed from constants only, or literals, computes the same value every
time. Such ops move out, in front of the loop op, and their results enter the loop as new
constants (appended after the old ones, in every region of the loop, so `cond` and `body` keep
one signature). A transpose of a weight matrix, a scale computed from a constant, a whole
inner loop over constants: computed once instead of once per iteration.

Literals (`constant`, `full`, `iota`) are not moved on their own (fusion puts them in kernels
as immediates); they are copied out when a moved op reads them. The loop may run zero times:
the moved ops then run anyway, which costs time but cannot fail (ops have no side effects).
Nested loops: the pass runs innermost first (`in_regions`), so an inner loop's invariants
move into the outer body, and out of it too when they are invariant there as well.
"""

from __future__ import annotations

from ..ir import Graph, Op, OpCode, Value
from ..ir.opcodes import SOURCES
from .regions import in_regions

G = OpCode
# the regions of each loop op, and where its constants start among the operands
LOOPS = {G.WHILE: ("cond", "body"), G.SCAN: ("body",)}


def _first_const(op: Op) -> int:
    a = op.attrs
    return a["num_carries"] + (a["num_xs"] if op.code is G.SCAN else 0)


def _invariants(g: Graph, first: int) -> list[Op]:
    """The ops of region `g` that depend only on its constants (inputs from `first` on) and
    literals, in order; literals themselves are not listed unless an invariant op reads them."""
    known = set(g.inputs[first:])
    sources: set[Value] = set()
    hoist: list[Op] = []
    for op in g.ops:
        if op.code in SOURCES:
            sources.update(op.outputs)
            continue
        if op.inputs and all(v in known or v in sources for v in op.inputs) \
                and any(v in known for v in op.inputs):
            hoist.append(op)
            known.update(op.outputs)
    return hoist


def _hoist(op: Op, outer: list[Op]) -> Op:
    """Move the invariant ops of loop `op` in front of it (appending them to `outer`); the op
    with its new constants and regions (itself when nothing moves)."""
    first = _first_const(op)
    names = LOOPS[op.code]
    graphs = {name: op.attrs[name] for name in names}
    moving = {name: _invariants(g, first) for name, g in graphs.items()}
    if not any(moving.values()):
        return op
    new_consts: list[Value] = []  # outer values appended to the operands
    inner_of: dict[str, dict[Value, int]] = {}  # region -> moved value -> new const index
    for name, g in graphs.items():
        ops = moving[name]
        if not ops:
            inner_of[name] = {}
            continue
        producers = {v: o for o in g.ops for v in o.outputs}
        env: dict[Value, Value] = dict(zip(g.inputs[first:], op.inputs[first:]))
        moved = {v for o in ops for v in o.outputs}
        for o in ops:  # copy out, with the literals it reads
            for v in o.inputs:
                if v not in env:
                    src = producers[v]
                    outs = tuple(Value(u.type) for u in src.outputs)
                    outer.append(src.replace(outputs=outs))
                    env.update(zip(src.outputs, outs))
            outs = tuple(Value(u.type) for u in o.outputs)
            outer.append(o.replace(inputs=tuple(env[v] for v in o.inputs), outputs=outs))
            env.update(zip(o.outputs, outs))
        staying = [o for o in g.ops if o not in set(ops)]
        used = {v for o in staying for v in o.inputs} | set(g.outputs)
        needed = [v for o in ops for v in o.outputs if v in used and v in moved]
        inner_of[name] = {}
        for v in needed:
            inner_of[name][v] = len(new_consts)
            new_consts.append(env[v])
    extra_types = [v.type for v in new_consts]
    attrs = {}
    for name, g in graphs.items():
        extra = [Value(t) for t in extra_types]
        remap = {v: extra[k] for v, k in inner_of[name].items()}
        gone = set(moving[name])
        ops = tuple(o.replace(inputs=tuple(remap.get(v, v) for v in o.inputs))
                    for o in g.ops if o not in gone)
        attrs[name] = Graph(g.inputs + tuple(extra), ops,
                            tuple(remap.get(v, v) for v in g.outputs), g.name)
    return op.replace(inputs=op.inputs + tuple(new_consts), attrs=op.attrs.replace(**attrs))


@in_regions
def licm(graph: Graph) -> Graph:
    """The graph with each while/scan's loop-invariant ops moved in front of it."""
    if not any(op.code in LOOPS for op in graph.ops):
        return graph
    ops: list[Op] = []
    changed = False
    for op in graph.ops:
        if op.code in LOOPS:
            new = _hoist(op, ops)
            changed |= new is not op
            op = new
        ops.append(op)
    return graph.replace(ops=tuple(ops)) if changed else graph
