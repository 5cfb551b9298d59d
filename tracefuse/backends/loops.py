"""Lowering: a fused kernel's body graph -> a `LoopKernel`, the loop description that every
code renderer (Numba now, CUDA next) turns into source.

A `LoopKernel` says:

- `views`: the body's movement ops on its inputs (transpose, slice, broadcast, reshape). They
  are applied with NumPy before the call (free: they make views), so the generated loops only
  ever index plain arrays;
- `arrays`: what the generated function takes, in order (kernel inputs or views of them);
- the iteration space: `outer` axes (not reduced, the parallel loops) and `reduced` axes, each
  with its static size;
- `nodes`: the scalar computation in SSA order: loads `arrays[k][i0, 0, i2]` (a broadcast
  dimension reads index 0), constants, loop indices (`iota`), counters (the linear index over
  some axes, for `random_bits`: ir/philox.py), elementwise ops, and reductions; each node knows which axes it varies along and its *level* (how many
  reductions must finish before it can be computed);
- `outputs`: which node each result array gets, and the axis written along each dimension.

An elementwise loop (a `scan` in the kernel's body, fusion's module docstring) lowers to a
`loop` node: its arguments are the carries' initial values and every value from outside the
loop its body reads (computed before it), its `value` a `LoopSpec` (trip count, the ids of its
body's nodes in order, the node of each carry's next value). In the body, a `carry` node is a
carry's value at the start of an iteration; after the loop, a `result` node is a carry's final
value. Body nodes name their loop (`loop`); the renderer writes them inside it, never apart.

Sizes are not part of the generated source (they are passed as arguments), so one compiled
kernel serves every shape of the same structure.

The iteration space and each value's index map are the kernel op's own attributes (`space`,
`reduced`, `maps`, `reads`: how fusion laid the body over its loops, printed and parsed with
the IR), so a kernel lowers from the op alone, whether fusion built it or it was read back
from text.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..ir import Graph, Op, OpCode, Value
from ..ir import dtypes as dt
from ..ir.dtypes import DType
from ..ir.philox import counter_dims
from ..ir.rules import broadcast_shapes, operand_dtype
from ..passes.fuse import AXIS_REDUCTIONS, VIEWS

G = OpCode
_COMPARISONS = frozenset({G.EQUAL, G.NOT_EQUAL, G.LESS, G.LESS_EQUAL, G.GREATER, G.GREATER_EQUAL})


@dataclass(frozen=True)
class Node:
    """One scalar value of the kernel body."""

    kind: str  # "load" | "const" | "index" | "counter" | "op" | "reduce" | loop kinds
    dtype: DType  # the scalar's dtype
    args: tuple[int, ...] = ()  # node ids of the operands
    code: OpCode | None = None  # for "op" and "reduce"
    arg_dtypes: tuple[DType, ...] = ()  # the operands' IR dtypes, as the rules saw them
    attrs: Any = None  # the op's attributes
    operand_dtype: DType | None = None  # elementwise: the promoted dtype operands convert to
    array: int = -1  # "load": which array
    index: tuple[int | None, ...] = ()  # "load": axis per array dimension (None: index 0)
    value: Any = None  # "const": the value; "index": the axis; "counter": the axes (below)
    axes: frozenset = frozenset()  # the axes this value varies along
    level: int = 0  # reductions that must complete before this node
    loop: int = -1  # the loop node whose body computes this node (-1: none)


@dataclass(frozen=True)
class LoopSpec:
    """The `value` of a `loop` node: `length` iterations of the nodes `body` (in order); carry
    k starts as the node `inits[k]` and becomes `next[k]` after each iteration."""

    length: int
    inits: tuple[int, ...]
    body: tuple[int, ...]
    next: tuple[int, ...]


@dataclass(frozen=True)
class Output:
    node: int
    index: tuple[int | None, ...]  # the axis written along each dimension (None: index 0)
    shape: tuple[int, ...]


@dataclass(frozen=True)
class LoopKernel:
    name: str
    kind: str
    inputs: tuple[Value, ...]  # the kernel op's operands (the body's inputs)
    views: tuple[Op, ...]  # body ops applied with NumPy before the call
    arrays: tuple[Value, ...]  # the arrays the generated code indexes, in argument order
    outer: tuple[int, ...]  # non-reduced axes, outermost first
    reduced: tuple[int, ...]  # reduced axes, outermost first
    sizes: dict  # axis -> size (static for this concrete function; passed at call time)
    nodes: tuple[Node, ...]
    outputs: tuple[Output, ...]

    @property
    def constants(self) -> tuple[int, ...]:
        """The ids of the constant nodes: the kernel takes their values as arguments."""
        return tuple(i for i, n in enumerate(self.nodes) if n.kind == "const")

    @property
    def max_level(self) -> int:
        return max((n.level for n in self.nodes), default=0)

    @property
    def trips(self) -> int:
        """Iterations of the loops inside each element (1 without loops): the work per element."""
        return max(1, sum(n.value.length for n in self.nodes if n.kind == "loop"))


def _scalar_like(op: Op) -> bool:
    return op.code is G.FULL or (op.code is G.CONSTANT and op.output.type.size == 1)


def _op_fields(op: Op, args: tuple[int, ...]) -> dict:
    """The fields of the node of elementwise op `op` on the nodes `args`."""
    code = op.code
    promoted = operand_dtype([(v.type.dtype, v.type.weak) for v in op.inputs]) \
        if code is not G.WHERE else operand_dtype([(v.type.dtype, v.type.weak)
                                                   for v in op.inputs[1:]])
    if (code in _COMPARISONS and promoted.is_integer
            and any(v.type.weak and v.type.dtype.is_integer for v in op.inputs)):
        # NEP 50: a Python int compares exactly even when it does not fit the array's
        # dtype (int8_x < 1000 is all True): compare in int64, which holds both; against
        # uint64 the renderer's exact signed/unsigned comparison takes over (float64 marks it)
        if promoted.itemsize < 8:
            promoted = dt.int64
        elif promoted.kind == "u":
            promoted = dt.float64
    return dict(kind="op", dtype=op.output.type.dtype, args=args, code=code,
                arg_dtypes=tuple(v.type.dtype for v in op.inputs), attrs=op.attrs,
                operand_dtype=promoted)


def lower_kernel(op: Op) -> LoopKernel:
    """The loop description of one `kernel` op."""
    body: Graph = op.attrs["body"]
    inputs = set(body.inputs)
    views, view_values = [], set()
    for inner in body.ops:
        if inner.code in VIEWS and all(v in inputs or v in view_values for v in inner.inputs):
            views.append(inner)
            view_values.add(inner.output)
    return _Lowering(op, inputs | view_values, tuple(views)).run()


class _Lowering:
    def __init__(self, op: Op, leaves: set, views: tuple[Op, ...]):
        attrs = op.attrs
        self.body: Graph = attrs["body"]
        self.name, self.kind, self.leaves, self.views = attrs["name"], attrs["kind"], leaves, views
        # the axes fusion laid the body over: their sizes (axes added here for outputs that
        # are views get the next numbers), the reduced ones, and each op's maps
        self.sizes: list[int] = list(attrs["space"])
        self.reduced_axes = frozenset(attrs["reduced"])
        self.op_maps = {inner.mapped: (m, r) for inner, m, r in
                        zip(self.body.ops, attrs["maps"], attrs["reads"]) if m is not None}
        self.maps: dict[Value, tuple] = {}  # index map of each computed value
        self.node_of: dict[Value, int] = {}
        self.nodes: list[dict] = []
        self.dedup: dict[tuple, int] = {}
        self.arrays: list[Value] = []
        self.red_order: list[int] = []  # reduced axes, in the order reductions meet them

    # --- nodes ------------------------------------------------------------------------------
    def add(self, **fields) -> int:
        """A new node; loads, constants and indices that already exist are shared."""
        shareable = fields["kind"] in ("load", "const", "index", "counter")
        if shareable:
            # repr keeps 0.0 and -0.0 (equal as floats) apart
            key = tuple(sorted((k, repr(v)) for k, v in fields.items()))
            if key in self.dedup:
                return self.dedup[key]
        self.nodes.append(fields)
        if shareable:
            self.dedup[key] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def array_index(self, v: Value) -> int:
        if v not in self.arrays:
            self.arrays.append(v)
        return self.arrays.index(v)

    def operand(self, v: Value, out_map: tuple, out_shape: tuple) -> int:
        """The node reading operand `v` of an op whose result has map `out_map`."""
        if v in self.node_of:
            return self.node_of[v]
        op = self.producer.get(v)
        if op is not None and _scalar_like(op):
            value = op.attrs["value"]
            value = value.array.reshape(()).item() if op.code is G.CONSTANT else value
            return self.add(kind="const", dtype=v.type.dtype, value=value)
        index = self.aligned(v.type.shape, out_map, out_shape)
        if op is not None and op.code is G.IOTA:
            axis = index[op.attrs["axis"]]
            if axis is None:
                return self.add(kind="const", dtype=v.type.dtype, value=0)
            return self.add(kind="index", dtype=v.type.dtype, value=axis)
        assert v in self.leaves, f"operand {v} of kernel {self.name} is neither computed nor read"
        return self.add(kind="load", dtype=v.type.dtype, array=self.array_index(v), index=index)

    def aligned(self, shape: tuple, out_map: tuple, out_shape: tuple) -> tuple:
        n = len(out_shape)
        result = []
        for j, d in enumerate(shape):
            k = j + n - len(shape)
            axis = out_map[k] if k >= 0 else None
            result.append(axis if d != 1 else None)
        return tuple(result)

    def run(self) -> LoopKernel:
        self.producer = {v: op for op in self.body.ops for v in op.outputs}
        for op in self.body.ops:
            if op in self.views or op.code in (G.FULL, G.IOTA) or _scalar_like(op):
                continue
            if op.code is G.SCAN:
                self.lower_loop(op)
                continue
            self.lower_op(op)
        outputs = []
        for v in self.body.outputs:
            if v not in self.node_of:  # an output that is a view or a source: copy it
                m = tuple(self.new_axis(d) if d != 1 else None for d in v.type.shape)
                self.node_of[v] = self.operand(v, m, v.type.shape)
                self.maps[v] = m
            index = tuple(None if d == 1 else a for a, d in zip(self.maps[v], v.type.shape))
            outputs.append(Output(self.node_of[v], index, v.type.shape))
        return self.finish(outputs)

    def new_axis(self, size: int) -> int:
        self.sizes.append(size)
        return len(self.sizes) - 1

    def lower_op(self, op: Op) -> None:
        code, out = op.code, op.output
        if out not in self.op_maps:
            raise ValueError(f"kernel @{self.name}: its {code.value} op has no index map "
                             "(`at [...]`); only views of its inputs and sources may go without")
        m, operand_map = self.op_maps[out]
        self.maps[out] = m
        if code in AXIS_REDUCTIONS:
            (v,) = op.inputs
            for a in operand_map:
                if a is not None and a in self.reduced_axes and a not in self.red_order:
                    self.red_order.append(a)
            arg = self.operand(v, operand_map, v.type.shape)
            self.node_of[out] = self.add(kind="reduce", dtype=out.type.dtype, args=(arg,),
                                         code=code, arg_dtypes=(v.type.dtype,), attrs=op.attrs)
            return
        if code in (G.PERMUTE, G.RESHAPE):  # a re-mapping of a computed value (fusion checked)
            self.node_of[out] = self.node_of[op.inputs[0]]
            return
        if code is G.BROADCAST_TO:
            self.node_of[out] = self.operand(op.inputs[0], m, out.type.shape)
            return
        args = tuple(self.operand(v, m, out.type.shape) for v in op.inputs)
        fields = _op_fields(op, args)
        if code is G.RANDOM_BITS:  # and the element's counter (ir/philox.py)
            keys = broadcast_shapes(*(v.type.shape for v in op.inputs))
            axes = tuple(m[d] for d in counter_dims(keys, out.type.shape) if m[d] is not None)
            counter = self.add(kind="counter", dtype=dt.uint64, value=axes)
            fields.update(args=args + (counter,), arg_dtypes=fields["arg_dtypes"] + (dt.uint64,))
        self.node_of[out] = self.add(**fields)

    def lower_loop(self, op: Op) -> None:
        """A scan over carries only whose body is elementwise (fusion checked): a `loop` node,
        its body's nodes, and a `result` node per carry (module docstring)."""
        out = op.mapped
        if out not in self.op_maps:
            raise ValueError(f"kernel @{self.name}: its scan has no index map (`at [...]`)")
        m, _ = self.op_maps[out]
        n, body = op.attrs["num_carries"], op.attrs["body"]
        outside = [self.operand(v, m, out.type.shape) for v in op.inputs]
        local: dict[Value, int] = dict(zip(body.inputs[n:], outside[n:]))
        for inner in body.ops:  # its constants: kernel arguments, read outside the loop
            if inner.code is G.FULL or _scalar_like(inner):
                value = inner.attrs["value"]
                if inner.code is G.CONSTANT:
                    value = value.array.reshape(()).item()
                local[inner.output] = self.add(kind="const", dtype=inner.output.type.dtype,
                                               value=value)
        reads = list(dict.fromkeys(outside + list(local.values())))
        loop = self.add(kind="loop", dtype=out.type.dtype, args=tuple(reads))
        ids = []
        for k, p in enumerate(body.inputs[:n]):
            local[p] = self.add(kind="carry", dtype=p.type.dtype, args=(loop,), value=k, loop=loop)
            ids.append(local[p])
        for inner in body.ops:
            if inner.output in local:
                continue
            args = tuple(local[v] for v in inner.inputs)
            local[inner.output] = self.add(**_op_fields(inner, args), loop=loop)
            ids.append(local[inner.output])
        self.nodes[loop]["value"] = LoopSpec(op.attrs["length"], tuple(outside[:n]), tuple(ids),
                                             tuple(local[v] for v in body.outputs))
        for k, v in enumerate(op.outputs):
            self.node_of[v] = self.add(kind="result", dtype=v.type.dtype, args=(loop,), value=k)
            self.maps[v] = m if v.type.ndim == len(m) else ()

    # --- finishing --------------------------------------------------------------------------
    def finish(self, outputs: list[Output]) -> LoopKernel:
        reduced = list(dict.fromkeys(self.red_order))
        nodes: list[Node] = []
        for fields in self.nodes:
            args = fields.get("args", ())
            if fields["kind"] == "load":
                axes = frozenset(a for a in fields["index"] if a is not None)
                level = 0
            elif fields["kind"] == "counter":
                axes, level = frozenset(fields["value"]), 0
            elif fields["kind"] == "index":
                axes, level = frozenset({fields["value"]}), 0
            elif fields["kind"] == "const":
                axes, level = frozenset(), 0
            else:
                axes = frozenset().union(*(nodes[a].axes for a in args)) if args else frozenset()
                level = max((nodes[a].level for a in args), default=0)
                if fields["kind"] == "reduce":
                    axes = axes - frozenset(reduced)
                    level += 1
            nodes.append(Node(axes=frozenset(axes), level=level, **fields))
        outs = outputs
        # outer loops follow the first output's dimensions, so its writes are contiguous
        outer: list[int] = []
        for o in outs:
            for a in o.index:
                if a is not None and a not in outer and a not in reduced:
                    outer.append(a)
        for n in nodes:
            for a in sorted(n.axes):
                if a not in outer and a not in reduced:
                    outer.append(a)
        # reduced loops follow the dimension order of the loads that read them
        red_order: list[int] = []
        for n in nodes:
            if n.kind == "load":
                for a in n.index:
                    if a in reduced and a not in red_order:
                        red_order.append(a)
        red_order += [a for a in reduced if a not in red_order]
        # axes renumbered 0, 1, ... in loop order: one kernel structure renders one source
        # wherever fusion met it (its axis ids are the whole graph's)
        new = {a: i for i, a in enumerate(outer + red_order)}.__getitem__

        def index(ix):
            return tuple(None if a is None else new(a) for a in ix)

        nodes = [dataclasses.replace(
            n, axes=frozenset(map(new, n.axes)), index=index(n.index),
            value=new(n.value) if n.kind == "index" else
            tuple(map(new, n.value)) if n.kind == "counter" else n.value) for n in nodes]
        outs = [dataclasses.replace(o, index=index(o.index)) for o in outs]
        sizes = {new(a): self.sizes[a] for a in outer + red_order}
        return LoopKernel(self.name, self.kind, self.body.inputs, self.views, tuple(self.arrays),
                          index(outer), index(red_order), sizes, tuple(nodes), tuple(outs))
