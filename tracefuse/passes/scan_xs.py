"""`hoist_xs`: work a scan's body does on its xs alone, done for every step at once before it.

In `h = tanh(h @ W + x_t @ U + b)` the product `x_t @ U` reads only the step's slice of the xs
and loop constants: it does not wait for the carry. Computed inside the loop it is 1,000
vector-matrix products of one row each; computed before it, one matrix product `xs @ U` of
all the rows (what cuDNN does to an RNN's input projection), whose rows the body then reads as
a new xs. The rewrite runs on the optimized graph of each scan (innermost first, `in_regions`):

- the ops moved are the body's ops whose operands are all xs slices, constants of the loop,
  literals, or results of ops already moved, with at least one operand depending on an xs;
  and of those only the kinds whose version over all steps is the same op on operands with a
  leading step axis: elementwise ops (and `cast`) whose xs-derived operands have the op's own
  shape (constants broadcast from the right, as they did per step, and have at most its rank),
  and `matmul` whose left operand is the xs-derived one (`(T, k) @ (k, n)` is each `(k,) @ (k, n)`
  stacked; batch dimensions are matmul's own). A random draw, a library call, a reduction or a
  control-flow op stops the move (their batched forms are not one op);
- their results are computed for all `length` steps in front of the scan (row t from xs row t,
  the same for a reverse scan, which reads xs row t at step t) and enter the body as new xs
  (after the old ones), replacing the moved ops. Each value moved adds `length` times its size
  in memory: a value over `MAX_BYTES` stays in the loop;
- literals a moved op reads are copied out with it; an xs no longer read leaves the loop in
  the `dce` after this pass.

Results are the same numbers: each moved op computes exactly what it computed per step (a
matrix product row is the same dot product; BLAS may sum it in another order, within float
rounding, as any two BLAS calls may).
"""

from __future__ import annotations

from ..ir import Graph, Op, OpCode, TensorType, Value, infer_type
from ..ir.opcodes import ELEMENTWISE, SOURCES
from .regions import in_regions

G = OpCode
MAX_BYTES = 256 << 20  # the most one hoisted value may take for all steps


def _movable(op: Op, derived: set[Value]) -> bool:
    """Whether `op` has a batched form that is the same op on stacked operands."""
    out = op.outputs[0].type
    if op.code in ELEMENTWISE:
        return all(v.type.shape == out.shape if v in derived else v.type.ndim <= out.ndim
                   for v in op.inputs)
    if op.code is G.MATMUL:
        a, b = op.inputs
        return a in derived and b not in derived and a.type.ndim >= 1 and b.type.ndim >= 1
    return False


def _plan(body: Graph, nc: int, nx: int) -> list[Op]:
    """The body ops to move out, in order."""
    first_const = nc + nx
    derived = set(body.inputs[nc:first_const])  # values that vary with the step, not the carry
    invariant = set(body.inputs[first_const:])
    moving: list[Op] = []
    for op in body.ops:
        if op.code in SOURCES:
            invariant.update(op.outputs)
            continue
        if len(op.outputs) != 1 or not op.inputs:
            continue
        if not all(v in derived or v in invariant for v in op.inputs):
            continue
        if not any(v in derived for v in op.inputs):
            continue  # invariant: licm's job
        if not _movable(op, derived):
            continue
        moving.append(op)
        derived.add(op.output)
    return moving


def _stacked(t: TensorType, length: int) -> TensorType:
    return TensorType((length, *t.shape), t.dtype, t.weak)


def _hoist(op: Op, outer: list[Op]) -> Op:
    a = op.attrs
    nc, nx, length = a["num_carries"], a["num_xs"], a["length"]
    body: Graph = a["body"]
    moving = _plan(body, nc, nx)
    if not moving:
        return op
    first_const = nc + nx
    producers = {v: o for o in body.ops for v in o.outputs}
    # inner value -> outer value: xs slices -> the xs arrays (stacked), constants -> themselves
    env: dict[Value, Value] = dict(zip(body.inputs[nc:], op.inputs[nc:]))
    moved: dict[Value, Value] = {}
    for o in moving:
        if any(v not in env and producers[v].code not in SOURCES for v in o.inputs):
            continue  # reads a value that stayed in the loop
        ins = []
        for v in o.inputs:
            if v not in env:  # a literal the op reads: copied out
                src = producers[v]
                outs = tuple(Value(u.type) for u in src.outputs)
                outer.append(src.replace(outputs=outs))
                env.update(zip(src.outputs, outs))
            ins.append(env[v])
        t = infer_type(o.code, [v.type for v in ins], o.attrs, o.loc)
        if t != _stacked(o.output.type, length) or \
                t.size * t.dtype.np.itemsize > MAX_BYTES:
            continue  # not the stacked per-step value (or too big): it stays in the loop
        new = Value(t)
        outer.append(o.replace(inputs=tuple(ins), outputs=(new,)))
        env[o.output] = new
        moved[o.output] = new
    if not moved:
        return op
    staying = [o for o in body.ops if not (len(o.outputs) == 1 and o.outputs[0] in moved)]
    used = {v for o in staying for v in o.inputs} | set(body.outputs)
    needed = [v for v in moved if v in used]
    slices = {v: Value(v.type) for v in needed}  # the new xs inputs of the body
    ops = tuple(o.replace(inputs=tuple(slices.get(v, v) for v in o.inputs)) for o in staying)
    inputs = body.inputs[:first_const] + tuple(slices[v] for v in needed) + \
        body.inputs[first_const:]
    new_body = Graph(inputs, ops, tuple(slices.get(v, v) for v in body.outputs), body.name)
    operands = op.inputs[:first_const] + tuple(moved[v] for v in needed) + op.inputs[first_const:]
    return op.replace(inputs=operands,
                      attrs=a.replace(body=new_body, num_xs=nx + len(needed)))


@in_regions
def hoist_xs(graph: Graph) -> Graph:
    """The graph with each scan's xs-only work done for all steps in front of it."""
    if not any(op.code is G.SCAN for op in graph.ops):
        return graph
    ops: list[Op] = []
    changed = False
    for op in graph.ops:
        if op.code is G.SCAN:
            new = _hoist(op, ops)
            changed |= new is not op
            op = new
        ops.append(op)
    return graph.replace(ops=tuple(ops)) if changed else graph
