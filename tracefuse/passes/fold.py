"""`fold_constants`: evaluate at compile time the ops whose operands are all known.

An operand is known when a source op defines it: a `constant` (a literal array), a `full`
(every element one scalar) or an `iota`. Such ops are run with the NumPy table
(`ir.numpy_impl.evaluate`), the code eager mode runs, so a folded value has exactly the dtype
and the bits eager mode would compute. A folded op becomes

- a `full` of its result shape, when its result is still one scalar everywhere: elementwise ops
  whose operands are all uniform (a `full`, or a constant of one element) and `reshape`,
  `broadcast_to`, `permute_dims`, `slice` of a uniform value. Only the scalar is computed, so
  `tx.zeros((4096, 4096)) + 1` folds to one `full` op at no cost. A 0-d or weak result becomes
  a `constant` instead (the form the tracer gives Python scalars; `full` is never weak);
- otherwise a `constant` with the exact `Literal`, but only when the result has at most
  `FOLD_MAX_ELEMENTS` elements and no operand has more than `FOLD_MAX_INPUT_ELEMENTS` (large
  literals would bloat the IR and the cache keys, and evaluating big operands costs compile
  time; such ops are left to run at run time).

A constant keeps the `weak` flag when the result type is weak. An op whose evaluation raises
(a Python int that overflows its operand's dtype, an integer to a negative power) is left as
it is, to fail at run time as it does eagerly. Ops the NumPy table does not know, ops with
several results and ops that hold a `Graph` attribute (kernels, control flow) pass through,
with one exception: a `cond` whose index is known is replaced by the branch it selects, its
ops copied in place of the cond (on the cond's operands) and folded in turn. Inside regions
the pass runs as in the function (`regions.in_regions`); a region's parameters are unknown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..ir import NUMPY_IMPL, Attrs, Graph, Literal, Op, OpCode, TensorType, Value, evaluate
from ..ir import infer_type
from ..ir.opcodes import ELEMENTWISE
from .regions import in_regions

G = OpCode

# A folded result with more elements than this stays an op (unless it is a `full`). 64 is the
# printer's MAX_LIST_LITERAL, so every folded literal prints as a readable list.
FOLD_MAX_ELEMENTS = 64
# Operands larger than this are not materialized for folding (compile time, memory).
FOLD_MAX_INPUT_ELEMENTS = 1 << 16

# ops that keep a uniform operand uniform: every result element is some operand element
_UNIFORM_MOVEMENT = frozenset({G.RESHAPE, G.BROADCAST_TO, G.PERMUTE, G.SLICE})


def has_graph_attr(op: Op) -> bool:
    """Whether an attribute of `op` holds a Graph (a kernel body, a control-flow branch)."""
    return any(_holds_graph(v) for v in op.attrs.values())


def _holds_graph(value: Any) -> bool:
    if isinstance(value, Graph):
        return True
    if isinstance(value, (tuple, list, frozenset)):
        return any(_holds_graph(v) for v in value)
    if isinstance(value, Mapping):
        return any(_holds_graph(v) for v in value.values())
    return False


class _Known:
    """What is known of the values defined so far: literal arrays and uniform scalars."""

    def __init__(self) -> None:
        self.arrays: dict[Value, np.ndarray] = {}  # the whole value, materialized
        self.scalars: dict[Value, np.ndarray] = {}  # uniform values: their element, 0-d
        self.iotas: dict[Value, Op] = {}  # materialized on demand

    def record_source(self, op: Op) -> None:
        out = op.output
        if op.code is G.CONSTANT:
            arr = op.attrs["value"].array
            self.arrays[out] = arr
            if arr.size == 1:
                self.scalars[out] = arr.reshape(())
        elif op.code is G.FULL:
            self.scalars[out] = np.asarray(op.attrs["value"], dtype=out.type.dtype.np)
        elif op.code is G.IOTA:
            self.iotas[out] = op

    def __contains__(self, v: Value) -> bool:
        return v in self.arrays or v in self.scalars or v in self.iotas

    def array(self, v: Value) -> np.ndarray | None:
        """The whole value of `v`, or None when it is too large to materialize."""
        if v.type.size > FOLD_MAX_INPUT_ELEMENTS:
            return None
        if v in self.arrays:
            return self.arrays[v]
        if v in self.scalars:
            return np.broadcast_to(self.scalars[v], v.type.shape)
        op = self.iotas[v]
        return evaluate(op.code, [], [], op.attrs, v.type)


def _scalar_type(t: TensorType) -> TensorType:
    return TensorType((), t.dtype, t.weak)


def _fold_uniform(op: Op, known: _Known) -> np.ndarray | None:
    """The single element of `op`'s result when its operands are uniform and it keeps them so."""
    if not all(v in known.scalars for v in op.inputs):
        return None
    if op.code in _UNIFORM_MOVEMENT:
        return known.scalars[op.inputs[0]]
    if op.code in ELEMENTWISE:
        # elementwise ops map elements to elements: run the op once, on 0-d operands
        args = [known.scalars[v] for v in op.inputs]
        in_types = [_scalar_type(v.type) for v in op.inputs]
        out = _scalar_type(op.output.type)
        result = np.asarray(evaluate(op.code, args, in_types, op.attrs, out))
        return result if result.shape == () else None
    return None


def _constant_op(op: Op, array: np.ndarray) -> Op | None:
    out = op.output.type
    array = np.asarray(array)
    if array.shape != out.shape or array.dtype != out.dtype.np:
        return None
    attrs = Attrs(value=Literal(array), weak=True) if out.weak else Attrs(value=Literal(array))
    return _checked(op, G.CONSTANT, attrs)


def _full_op(op: Op, scalar: np.ndarray) -> Op | None:
    out = op.output.type
    if scalar.dtype != out.dtype.np:
        return None
    attrs = Attrs(shape=out.shape, dtype=out.dtype, value=scalar.item())
    return _checked(op, G.FULL, attrs)


def _checked(op: Op, code: OpCode, attrs: Attrs) -> Op | None:
    """The source op replacing `op`, defining the same value, if the type rules agree."""
    try:
        if infer_type(code, (), attrs) != op.output.type:
            return None
    except (ValueError, TypeError):
        return None
    return Op(code, (), attrs, op.outputs, op.loc)


def _fold(op: Op, known: _Known) -> Op | None:
    """The source op that `op` folds to, or None to keep it."""
    out = op.output.type
    scalar = _fold_uniform(op, known)
    if scalar is not None:
        if out.weak or out.ndim == 0:
            if out.size <= FOLD_MAX_ELEMENTS:
                return _constant_op(op, np.broadcast_to(scalar, out.shape))
            return None
        return _full_op(op, scalar)
    if out.size > FOLD_MAX_ELEMENTS:
        return None
    args = [known.array(v) for v in op.inputs]
    if any(a is None for a in args):
        return None
    result = evaluate(op.code, args, [v.type for v in op.inputs], op.attrs, out)
    return _constant_op(op, result)


def _foldable(op: Op, known: _Known) -> bool:
    return (op.code in NUMPY_IMPL and op.code not in (G.CONSTANT, G.FULL, G.IOTA, G.CALL)
            and len(op.outputs) == 1 and all(v in known for v in op.inputs)
            and not has_graph_attr(op))


def inline_branch(op: Op, index: Any) -> tuple[list[Op], list[Value]]:
    """The ops of the branch that `cond` op `op` runs for `index` (clipped to the branches,
    as the op does), copied with fresh values onto the cond's operands, and the values that
    stand for the cond's results."""
    branches = op.attrs["branches"]
    branch = branches[min(max(int(index), 0), len(branches) - 1)]
    env: dict[Value, Value] = dict(zip(branch.inputs, op.inputs[1:]))
    ops = []
    for inner in branch.ops:
        inputs = tuple(env[v] for v in inner.inputs)
        outputs = tuple(Value(v.type) for v in inner.outputs)
        env.update(zip(inner.outputs, outputs))
        ops.append(inner.replace(inputs=inputs, outputs=outputs))
    return ops, [env[v] for v in branch.outputs]


@in_regions
def fold_constants(graph: Graph) -> Graph:
    known = _Known()
    ops: list[Op] = []
    subst: dict[Value, Value] = {}  # results of inlined conds -> their branch's values
    pending = deque(graph.ops)
    changed = False

    def resolve(v: Value) -> Value:  # an inlined cond's result may be an inlined cond's too
        while v in subst:
            v = subst[v]
        return v

    while pending:
        op = pending.popleft()
        inputs = tuple(resolve(v) for v in op.inputs)
        if inputs != op.inputs:
            op = op.replace(inputs=inputs)
        if op.code is G.COND and op.inputs[0] in known.scalars:
            inlined, results = inline_branch(op, known.scalars[op.inputs[0]])
            subst.update(zip(op.outputs, results))
            pending.extendleft(reversed(inlined))  # folded in turn, in order
            changed = True
            continue
        if _foldable(op, known):
            try:
                folded = _fold(op, known)
            except Exception:  # it fails at run time too (as it does eagerly): leave it there
                folded = None
            if folded is not None:
                op, changed = folded, True
        if op.code in (G.CONSTANT, G.FULL, G.IOTA) and len(op.outputs) == 1:
            known.record_source(op)
        ops.append(op)
    if not changed:
        return graph
    return graph.replace(ops=tuple(ops), outputs=tuple(resolve(v) for v in graph.outputs))
