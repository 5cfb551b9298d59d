"""Partitioning a traced graph for Dask (no Dask imported here): which values live on dask
arrays, how their axes line up, which reductions Dask must tree-reduce, and the blockwise
regions run on every chunk, with the chunk function that runs a region (`ChunkFunction`).

Axis labels. Every axis of every value gets a label; labels of axes that must be chunked
alike are unified (an elementwise op unifies the axes of its operands that are not broadcast,
a reduction keeps the labels of the axes it keeps, a reshape that only adds or drops size-1
axes keeps the others'). A label's class is *chunked* when one of the function's dask
arguments has more than one chunk along an axis of that class. The labels become the indices
of `da.blockwise` (dask unifies the chunks of axes with the same index).

Values. A value that depends on no dask argument is *eager*: computed at the call with the
reference interpreter (NumPy, cheap: constants, NumPy arguments, ops on them) and handed to Dask
as one chunk (a 0-d one goes to each chunk function whole, a Python scalar for a weak value). A
reduction of a dask value over an axis of a chunked class is a *tree reduction* (dask_apply.py
runs it with `da.reduction`), unless it is a *row op*: a reduction, not over every axis, whose
result is used again together with values along a reduced chunked axis (softmax, layernorm: the
result broadcast back). With rechunk=True the classes of a row op's reduced axes become one
chunk (the dask arguments are rechunked along them, `rechunk_axes`), so the row op, its
reductions and their users, runs blockwise; with rechunk=False it raises ValueError naming the
axis; with rechunk="tree" it stays a tree reduction whose result the chunk functions after it
get broadcast (the operand read again). Any other op on a dask value is *blockwise*: elementwise
ops, cast, where, clip, broadcasts, reshapes that add or drop size-1 axes, and reductions whose
reduced axes are each in one chunk. Other ops on dask values raise NotImplementedError naming
the op and its line.

Regions. The value a region computes (a function result, or the operand of a tree reduction)
is made by the blockwise ops it depends on, back to dask arguments, tree reductions and eager
values: that slice is a graph of its own (typed at the full shapes). A tree reduction's chunk
step is the region computing its operand with the reduction appended (keepdims: one partial
per chunk), so `tx.sum(x * x)` runs one fused kernel per chunk (`chunk_step`; argmax and
argmin excepted: Dask's own). `ChunkFunction` runs it
on one chunk: `replay` re-emits its ops on the chunk's shapes (each value's chunk shape is the
chunk size of each of its axis labels; broadcast and reshape targets follow), a `tx.function`
over the replay compiles once per chunk shape, and the object pickles as the region's IR text
(parsed again, once per process, where it is unpickled). `TreeStep` is a tree reduction's
combine or aggregate step, compiled too: the same reduction over the partials (a sum of
partial sums, a max of maxes), one `tx.function` per process for each (op, axes, keepdims,
dtype, backend), pickled as those fields. A tree reduction that is a variance's sum of
squared deviations (`moments`, dask_moments.py) runs in one pass instead: its chunk step
gives each chunk's (count, mean, M2), its combine is Chan's; the ops between its mean and it
do not make the mean a row op, and a sum of x over the same axes (a mean also returned,
`moment_sums`) is taken from the moments too.
"""

from __future__ import annotations

import hashlib
from collections import deque
import threading
from typing import Any

import numpy as np

from ..errors import with_location
from ..ir import Graph, Op, OpCode, TensorType, Value, parse_graph, print_graph
from ..ir.convert import is_dask_array  # noqa: F401  (dask_apply and function.py use it)
from ..ir.numpy_impl import MULTI_RESULT, NUMPY_IMPL
from ..ir.opcodes import ELEMENTWISE, REDUCE, Unsupported
from ..tracer.tracer import Tracer, current_builder
from .dask_moments import FIELDS, chunk_moments, match_moments

G = OpCode

SHAPED = frozenset({G.BROADCAST_TO, G.RESHAPE})  # blockwise ops whose attrs hold a shape
SUPPORTED_NOW = (
    "On dask arrays a tx.function runs elementwise ops (with cast, where, clip), broadcasts, "
    "reshapes that add or drop size-1 axes, the reductions sum, prod, max, min, all, any, "
    "argmax, argmin (so mean and var) over any axes, row ops (softmax, layernorm) along "
    "any axis, and matmul (Dask's blocked matmul); indexing and slicing, transposes, "
    "concatenation, library calls (sort, cumsum, linalg, fft) and control flow on dask "
    "values come later. Compute that "
    "part outside the function, or run the function on each chunk with dask's map_blocks")


class Labels:
    """Union-find over axis labels (ints), with each class's full size and chunkedness."""

    def __init__(self):
        self.parent: list[int] = []
        self.size: list[int] = []
        self.chunked: list[bool] = []
        self.n_chunks: list[int] = []  # the most chunks a dask argument has along the class

    def fresh(self, size: int, n_chunks: int = 1) -> int:
        self.parent.append(len(self.parent))
        self.size.append(size)
        self.chunked.append(n_chunks > 1)
        self.n_chunks.append(n_chunks)
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a
            self.chunked[a] = self.chunked[a] or self.chunked[b]
            self.n_chunks[a] = max(self.n_chunks[a], self.n_chunks[b])
        return a


def unsupported(op, why: str = "") -> NotImplementedError:
    name = f"call {op.attrs['fn']}" if op.code is G.CALL else op.code.value
    return NotImplementedError(with_location(
        f"{name} on a dask array is not supported yet{why}. {SUPPORTED_NOW}", op.loc))


def reduced_axes(op) -> tuple[int, ...]:
    """The axes a reduction op reduces (argmax/argmin with axis=None: all of them)."""
    ndim = len(op.inputs[0].type.shape)
    if op.code in (G.ARGMAX, G.ARGMIN):
        axis = op.attrs.get("axis")
        return tuple(range(ndim)) if axis is None else (axis % ndim,)
    return tuple(a % ndim for a in op.attrs["axes"])


def eager_op(op, args: list) -> list:
    """The results of one op on NumPy values (the reference interpreter)."""
    impl = NUMPY_IMPL[op.code]
    if isinstance(impl, Unsupported):
        raise NotImplementedError(with_location(f"{op.code.value}: {impl.reason}", op.loc))
    with np.errstate(all="ignore"):
        result = impl(args, [v.type for v in op.inputs], op.attrs,
                      op.outputs[0].type if op.outputs else None)
    if len(op.outputs) != 1 or op.code in MULTI_RESULT:
        return [np.asarray(r) for r in result]
    return [np.asarray(result)]


class Partition:
    """One graph split for Dask. `dask_chunks`: graph input index -> the chunks of the dask
    argument there; `eager_inputs`: graph input index -> the NumPy value of every other input.
    `rechunk`: what to do with a row op over a chunked axis (rechunk the axis into one chunk,
    recorded in `rechunk_axes`: graph input index -> the axes to rechunk; or raise)."""

    def __init__(self, graph: Graph, dask_chunks: dict[int, tuple], eager_inputs: dict[int, Any],
                 name: str, backend: str, factory: Any, fastmath: bool = False,
                 rechunk: bool | str = True):
        self.graph, self.name, self.backend, self.factory = graph, name, backend, factory
        self.fastmath, self.dask_chunks = fastmath, dask_chunks
        self.labels = Labels()
        self.axes: dict[Value, list[int]] = {}  # value -> one label per axis
        self.eager: dict[Value, np.ndarray] = {}  # values that depend on no dask argument
        self.producer = graph.producers()
        self.users: dict[Value, list] = {}  # value -> the ops that read it
        for op in graph.ops:
            for v in op.inputs:
                self.users.setdefault(v, []).append(op)
        self.tree: set = set()  # ops that dask tree-reduces
        self.matmul: set = set()  # matmuls that dask runs blocked (da.matmul)
        self.row_ops: list = []  # reductions whose result is broadcast back along the axis
        self.rechunked: set[int] = set()  # label classes rechunked into one chunk
        self.rechunk_axes: dict[int, tuple[int, ...]] = {}
        self.moments: dict = {}  # tree reduce_sum of (x - mean(x))**2 -> x (one pass)
        self.n_regions = 0
        for i, v in enumerate(graph.inputs):
            if i in dask_chunks:
                self.axes[v] = [self.labels.fresh(d, len(c))
                                for d, c in zip(v.type.shape, dask_chunks[i])]
            else:
                self.eager[v] = np.asarray(eager_inputs[i], dtype=v.type.dtype.np)
                self.axes[v] = [self.labels.fresh(d) for d in v.type.shape]
        for op in graph.ops:
            if all(v in self.eager for v in op.inputs):
                for v, r in zip(op.outputs, eager_op(op, [self.eager[v] for v in op.inputs])):
                    self.eager[v] = r
                    self.axes[v] = [self.labels.fresh(d) for d in v.type.shape]
            else:
                self.axes[op.output] = self.label_op(op)  # raises first for an op it cannot run
        # the chunked classes are known once every op is labelled
        self.tree = {op for op in graph.ops if op.code in REDUCE and op.output not in self.eager
                     and self.chunked_axes(op)}
        self.find_moments()
        self.plan_row_ops(rechunk)
        self.tree = {op for op in self.tree if self.chunked_axes(op)}
        self.moments = {op: x for op, x in self.moments.items() if op in self.tree}
        # a sum of x over a one-pass variance's axes (a mean beside the variance): taken from
        # its moments (count * mean), so x is read once for both
        self.moment_sums: dict = {}
        self.raw_moments: dict = {}  # dask_apply's cache: moments op -> its dask array
        for op in self.tree:
            if op.code is G.SUM and op not in self.moments and \
                    op.output.type.dtype == op.inputs[0].type.dtype:
                for m, x in self.moments.items():
                    if x is op.inputs[0] and sorted(reduced_axes(op)) == sorted(reduced_axes(m)):
                        self.moment_sums[op] = m
                        break
        find = self.labels.find
        for i, v in enumerate(graph.inputs):
            axes = tuple(k for k, a in enumerate(self.axes[v])
                         if i in dask_chunks and find(a) in self.rechunked
                         and len(dask_chunks[i][k]) > 1)
            if axes:
                self.rechunk_axes[i] = axes

    def chunked_axes(self, op) -> list[int]:
        """The axes (of its operand) that a reduction reduces and that are split in chunks."""
        x, shape, L = self.axes[op.inputs[0]], op.inputs[0].type.shape, self.labels
        return [a for a in reduced_axes(op) if shape[a] > 1 and L.chunked[L.find(x[a])]]

    def find_moments(self) -> None:
        """The tree reductions that are a variance's sum of squared deviations, run in one
        pass (dask_moments.py); the ops between its mean and it (centre, difference, square)
        are its `interior` when nothing else uses them: the mean broadcast back there does not
        make the mean a row op."""
        users = self.users
        self.interior: set = set()
        for op in self.tree:
            found = match_moments(op, self.producer, self.eager, reduced_axes(op))
            if found is None:
                continue
            x, (centre, diff, sq) = found
            if set(users.get(diff.output, ())) <= {sq} and set(users.get(sq.output, ())) <= {op}:
                self.moments[op] = x
                # the mean's other users (a mean also returned) are walked as any value's
                alone = set(users.get(centre.output, ())) <= {diff}
                self.interior.update([diff, sq] + ([centre] if alone else []))

    def plan_row_ops(self, rechunk: bool | str) -> None:
        """Find the row ops among the tree reductions: a reduction (not over every axis) whose
        result is used again together with values along a reduced chunked axis (softmax,
        layernorm: the result broadcast back). rechunk: their chunked axes become one chunk
        (and the row op, reductions and users, one blockwise region); else ValueError."""
        find, L, users = self.labels.find, self.labels, self.users
        for op in sorted(self.tree, key=self.graph.ops.index):
            x = op.inputs[0]
            if len(reduced_axes(op)) == len(x.type.shape):
                continue  # a full reduction stays a tree reduction
            axes = self.chunked_axes(op)
            classes = {find(self.axes[x][a]) for a in axes}
            stack, seen, back = [op.output], set(), False
            while stack and not back:
                for user in users.get(stack.pop(), ()):
                    if user in seen or user in self.interior or (
                            user.code in REDUCE and len(reduced_axes(user))
                            == len(user.inputs[0].type.shape)):
                        continue
                    seen.add(user)
                    for out in user.outputs:
                        back = back or any(find(a) in classes for a in self.axes[out])
                        stack.append(out)
            if not back or rechunk == "tree":  # "tree": reduced by Dask, broadcast back
                continue
            if not rechunk:
                a = axes[0]
                raise ValueError(with_location(
                    f"{op.code.value} over axis {a} (of a value of shape "
                    f"{list(x.type.shape)}) is a row op: its result is used again along that "
                    f"axis, so each row must be in one chunk, and the dask arguments split "
                    f"axis {a} (size {x.type.shape[a]}) into "
                    f"{L.n_chunks[find(self.axes[x][a])]} chunks. Pass rechunk=True to "
                    "tx.function (the default) to rechunk that axis into one chunk, "
                    "rechunk=\"tree\" to tree-reduce it and broadcast the result back (the "
                    "data read again, no chunk holding a whole row), or rechunk the argument "
                    f"yourself (x.rechunk({{{a}: -1}}))", op.loc))
            self.row_ops.append(op)
            for c in classes:
                L.chunked[c] = False
                self.rechunked.add(c)

    # --- labels -----------------------------------------------------------------------------
    def broadcast(self, out: tuple, sources: list) -> list[int]:
        """The labels of a broadcast result of shape `out` from `sources` ((labels, shape)
        pairs, aligned on the right): axes of the same size as the result's are unified."""
        L, labels = self.labels, []
        for j, d in enumerate(out):
            same = []
            for axes, shape in sources:
                k = j - (len(out) - len(shape))
                if k >= 0 and shape[k] == d:
                    same.append(axes[k])
            label = same[0] if same else L.fresh(d)
            for other in same[1:]:
                label = L.union(label, other)
            labels.append(label)
        return labels

    def label_matmul(self, op) -> list[int]:
        """A matmul's result labels: batch axes broadcast, the rows of the first operand and
        the columns of the second (the contracted axes are left apart: `da.matmul` aligns
        its operands' chunks itself, and `x @ x` needs no axis of x chunked like another)."""
        (a, la), (b, lb) = ((v.type.shape, self.axes[v]) for v in op.inputs)
        if len(b) == 1:
            return list(la[:-1])
        if len(a) == 1:
            return list(lb[:-2] + lb[-1:])
        batch = op.output.type.shape[:-2]
        return self.broadcast(batch, [(la[:-2], a[:-2]), (lb[:-2], b[:-2])]) + [la[-2], lb[-1]]

    def label_op(self, op) -> list[int]:
        """The labels of a dask op's result, unifying its operands' axes as the op requires."""
        L, out = self.labels, op.outputs[0].type.shape if len(op.outputs) == 1 else None
        if op.code is G.MATMUL:
            self.matmul.add(op)
            return self.label_matmul(op)
        if len(op.outputs) != 1 or not (op.code in ELEMENTWISE or op.code in REDUCE
                                         or op.code in SHAPED):
            raise unsupported(op)
        if op.code in ELEMENTWISE or op.code is G.BROADCAST_TO:
            sources = op.inputs if op.code in ELEMENTWISE else op.inputs[:1]
            return self.broadcast(out, [(self.axes[v], v.type.shape) for v in sources])
        x, shape = self.axes[op.inputs[0]], op.inputs[0].type.shape
        if op.code is G.RESHAPE:
            kept = [(x[k], d) for k, d in enumerate(shape) if d != 1]
            if [d for _, d in kept] != [d for d in out if d != 1]:
                raise unsupported(op, f" (from {list(shape)} to {list(out)}: only a reshape "
                                      "that adds or drops size-1 axes runs chunk by chunk)")
            it = iter(kept)
            return [next(it)[0] if d != 1 else L.fresh(1) for d in out]
        axes = reduced_axes(op)  # a reduction
        keep = op.attrs.get("keepdims", False)
        return [L.fresh(1) if a in axes else x[a] for a in range(len(shape))
                if keep or a not in axes]

    def index(self, v: Value) -> tuple[int, ...]:
        """The blockwise index of a value: its axes' label classes."""
        index = tuple(self.labels.find(a) for a in self.axes[v])
        if len(set(index)) != len(index):
            op = self.producer.get(v)
            raise NotImplementedError(with_location(
                f"a value of shape {list(v.type.shape)} has two axes that must be chunked "
                "alike (as in x + x.T); that does not run on dask arrays yet",
                op.loc if op is not None else None))
        return index

    # --- regions ----------------------------------------------------------------------------
    def kind(self, v: Value) -> str:
        """"eager", "input" (a dask argument), "tree" (a tree reduction), "matmul" (Dask's
        blocked matmul) or "region"."""
        if v in self.eager:
            return "eager"
        op = self.producer.get(v)
        if op is None:
            return "input"
        return "tree" if op in self.tree else "matmul" if op in self.matmul else "region"

    def members(self, v: Value) -> tuple[list, list[Value]]:
        """The ops of the region computing `v` (in graph order) and its operands (the values
        it reads that it does not compute)."""
        members: set = set()
        operands: list[Value] = []
        stack = [v]
        while stack:
            u = stack.pop()
            op = self.producer.get(u)
            if u in operands or (op is not None and op in members):
                continue
            kind = self.kind(u)
            if kind == "region" or (kind == "eager" and op is not None and op.code is G.CONSTANT
                                    and u.type.shape == ()):
                members.add(op)
                stack.extend(op.inputs)
            else:
                operands.append(u)
        return [op for op in self.graph.ops if op in members], operands

    def plan(self) -> list[Value]:
        """The values that become dask arrays, each after those it needs: dask arguments,
        eager arrays, tree reductions, matmuls and region results."""
        order: list[Value] = []
        seen: set = set()

        def visit(v: Value) -> None:
            if v in seen:
                return
            seen.add(v)
            kind, op = self.kind(v), self.producer.get(v)
            if kind == "tree" and op in self.moment_sums:
                needs = [self.moment_sums[op].output]
            elif kind == "matmul" or (kind == "tree" and op.code in (G.ARGMAX, G.ARGMIN)):
                needs = op.inputs[:1 if kind == "tree" else 2]
            elif kind in ("tree", "region"):  # a tree reduction's chunk step: its operand's
                made = v if kind == "region" else self.moments.get(op, op.inputs[0])
                needs = [u for u in self.members(made)[1]
                         if not (u in self.eager and u.type.shape == ())]  # region, fused
            else:
                needs = []
            for u in needs:
                visit(u)
            order.append(v)

        for v in self.graph.outputs:
            visit(v)
        return order

    def region(self, v: Value) -> tuple["ChunkFunction", list[Value], list[Value]]:
        """The region computing `v`: its chunk function, its dask operands (values that are
        dask arguments, tree reductions or eager arrays of rank > 0, in order) and its whole
        operands (eager 0-d values: each chunk function gets them as they are)."""
        ops, operands = self.members(v)
        return self.chunk_function(ops, operands, v)

    def chunk_step(self, op) -> tuple["ChunkFunction", list[Value], list[Value], Value]:
        """A tree reduction's chunk step, fused: the region computing its operand and the
        reduction of each chunk (keepdims: one partial per chunk along the reduced axes), one
        chunk function (`region`'s results, and the partials' value, whose labels are the
        operand's with a fresh size-1 label on each reduced axis)."""
        x = op.inputs[0]
        ops, operands = self.members(x)
        axes = reduced_axes(op)
        partial = Value(TensorType(
            tuple(1 if a in axes else d for a, d in enumerate(x.type.shape)),
            op.output.type.dtype))
        self.axes[partial] = [self.labels.fresh(1) if a in axes else label
                              for a, label in enumerate(self.axes[x])]
        step = Op(op.code, (x,), op.attrs.replace(keepdims=True), (partial,), op.loc)
        return (*self.chunk_function(ops + [step], operands, partial), partial)

    def moments_step(self, op) -> tuple["ChunkFunction", list[Value], list[Value], Value]:
        """A one-pass variance's chunk step (`op` in `moments`, dask_moments.py): the region
        computing x, then each chunk's (count, mean, M2) along the reduced axes (float64, a
        last axis of 3 with a fresh label), one chunk function; as `chunk_step`."""
        x, axes = self.moments[op], reduced_axes(op)
        ops, operands = self.members(x)
        partial = Value(TensorType(
            tuple(1 if a in axes else d for a, d in enumerate(x.type.shape)) + (FIELDS,),
            np.dtype(np.float64)))
        self.axes[partial] = [self.labels.fresh(1) if a in axes else label
                              for a, label in enumerate(self.axes[x])] + [
                                  self.labels.fresh(FIELDS)]
        return (*self.chunk_function(ops, operands, x, moments=axes), partial)

    def chunk_function(self, ops: list, operands: list[Value], v: Value,
                       moments: tuple[int, ...] | None = None
                       ) -> tuple["ChunkFunction", list[Value], list[Value]]:
        """The chunk function running `ops` (computing `v` from `operands`), as `region`;
        `moments`: it gives v's moments along those axes instead (`chunk_moments`)."""
        dask_operands = [u for u in operands if not (u in self.eager and u.type.shape == ())]
        whole = [u for u in operands if u in self.eager and u.type.shape == ()]
        inputs = dask_operands + whole
        region = Graph(tuple(inputs), tuple(ops), (v,),
                       f"{self.name}_region{self.n_regions}")
        self.n_regions += 1
        find = self.labels.find
        in_labels = tuple(tuple(find(a) for a in self.axes[u]) for u in inputs)
        op_labels = tuple(tuple(find(a) for a in self.axes[op.output]) for op in ops)
        sizes = {}
        for labels, u in zip(in_labels + op_labels, inputs + [op.output for op in ops]):
            sizes.update(zip(labels, u.type.shape))
        fn = ChunkFunction(print_graph(region), self.backend, in_labels, op_labels,
                           tuple(sorted(sizes.items())), self.factory, self.fastmath, moments)
        return fn, dask_operands, whole

    def whole_value(self, v: Value) -> Any:
        """An eager 0-d value as a chunk function takes it: a Python scalar when weak."""
        value = self.eager[v]
        return value.item() if v.type.weak else value


# --- the chunk function ---------------------------------------------------------------------
_COMPILED: dict[tuple, Any] = {}  # per process: a region's fields -> its tx.function
_LOCK = threading.Lock()


def chunk_shapes(in_labels: tuple, op_labels: tuple, sizes: dict, shapes: list) -> list:
    """Each region op's result shape on one chunk: its labels' chunk sizes, read from the
    inputs' chunk shapes (a label no input has is whole: its full size)."""
    size = dict(sizes)
    for labels, shape in zip(in_labels, shapes):
        size.update(zip(labels, shape))
    return [tuple(size[a] for a in labels) for labels in op_labels]


def replay(graph: Graph, in_labels: tuple, op_labels: tuple, sizes: dict, args: tuple):
    """Re-emit the region graph's ops, in the trace being recorded, on `args` (Tracers of the
    chunk's shapes): each op typed again by its rules, broadcast and reshape targets set to
    the chunk's shape. Returns the Tracer of the region's result."""
    builder = current_builder()
    env = {v: builder.lift(a) for v, a in zip(graph.inputs, args)}
    shapes = chunk_shapes(in_labels, op_labels, sizes, [env[v].type.shape for v in graph.inputs])
    for op, shape in zip(graph.ops, shapes):
        attrs = op.attrs.replace(shape=shape) if op.code in SHAPED else op.attrs
        out = builder.emit(op.code, [env[v] for v in op.inputs], attrs, op.loc)
        if out.type.shape != shape:
            raise AssertionError(with_location(
                f"{op.code.value} on a chunk gave shape {list(out.type.shape)}, expected "
                f"{list(shape)} (a bug of the dask partition: please report it)", op.loc))
        env[op.output] = out
    return Tracer(builder, env[graph.outputs[0]])


class ChunkFunction:
    """One region run on one chunk: called with the chunk's arrays (and whole 0-d operands),
    returns the region's result on that chunk as a NumPy array. Compiled once per chunk shape
    (a `tx.function` over `replay`), cached per process; pickles as its IR text and labels."""

    def __init__(self, ir_text: str, backend: str, in_labels: tuple, op_labels: tuple,
                 sizes: tuple, factory: Any, fastmath: bool = False,
                 moments: tuple[int, ...] | None = None):
        self.ir_text, self.backend = ir_text, backend
        self.in_labels, self.op_labels, self.sizes = in_labels, op_labels, sizes
        self.factory = factory  # the tx.function class (pickled by reference)
        self.fields = (ir_text, backend, in_labels, op_labels, sizes, bool(fastmath), moments)
        self.name = ir_text.split("(", 1)[0].removeprefix("func @") + (
            "_moments" if moments is not None else "")

    def __reduce__(self):
        return ChunkFunction, self.fields[:5] + (self.factory,) + self.fields[5:]

    def __dask_tokenize__(self):
        return hashlib.sha1(repr(self.fields).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<tracefuse chunk function {self.name} backend={self.backend}>"

    def function(self) -> Any:
        """The tx.function of this region in this process (made at the first call)."""
        fn = _COMPILED.get(self.fields)
        if fn is None:
            with _LOCK:
                fn = _COMPILED.get(self.fields)
                if fn is None:
                    graph = parse_graph(self.ir_text)
                    fields = (graph, self.in_labels, self.op_labels, dict(self.sizes))
                    moments = self.fields[6]

                    def region(*args):
                        x = replay(*fields, args)
                        return x if moments is None else chunk_moments(x, moments)
                    fn = self.factory(region, backend=self.backend, name=self.name,
                                      autograph=False, fastmath=self.fields[5])
                    # a region traces once per chunk shape it meets (edge chunks, chunks that
                    # dask aligned): expected, so its function keeps no retrace log (no
                    # RetraceWarning; a warnings filter would not outlive catch_warnings)
                    if hasattr(fn, "_log"):
                        fn._log.retraces = deque(maxlen=0)
                    _COMPILED[self.fields] = fn
        return fn

    def __call__(self, *blocks: Any) -> np.ndarray:
        return self.function()(*blocks).numpy()


class TreeStep:
    """A tree reduction's combine and aggregate step: the reduction `code` over the axes Dask
    passes (`axis`, `keepdims`) of concatenated partials, giving `dtype` (a sum of partial
    sums, a max of maxes). Compiled per process, once for each (op, axes, keepdims, dtype,
    backend, fastmath) (each tree level's shape traces once); pickles as its fields."""

    def __init__(self, code: Any, dtype: str, backend: str, factory: Any,
                 fastmath: bool = False):
        self.code, self.dtype, self.backend = code, np.dtype(dtype).name, backend
        self.factory, self.fastmath = factory, bool(fastmath)
        self.name = f"tracefuse_{code.value}_partials"

    def __reduce__(self):
        return TreeStep, (self.code, self.dtype, self.backend, self.factory, self.fastmath)

    def __dask_tokenize__(self):
        return hashlib.sha1(repr(("tree-step", self.code.value, self.dtype, self.backend,
                                  self.fastmath)).encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<tracefuse tree step {self.code.value} -> {self.dtype} backend={self.backend}>"

    def function(self, axes: tuple[int, ...], keepdims: bool) -> Any:
        """The tx.function reducing `axes` of the partials in this process (made at first use)."""
        key = ("tree-step", self.code, axes, keepdims, self.dtype, self.backend, self.fastmath)
        fn = _COMPILED.get(key)
        if fn is None:
            with _LOCK:
                fn = _COMPILED.get(key)
                if fn is None:
                    code, dtype = self.code, self.dtype

                    def step(x):
                        from ..frontend.dispatch import bind
                        from ..frontend.elementwise import astype
                        from ..ir import Attrs

                        out = bind(code, (x,), Attrs(axes=axes, keepdims=keepdims))
                        return out if out.dtype.np == np.dtype(dtype) else astype(out, dtype)
                    fn = self.factory(step, backend=self.backend, name=self.name,
                                      autograph=False, fastmath=self.fastmath)
                    # each level of Dask's tree has partials of another shape: retraces are
                    # expected, so the function keeps no retrace log (no RetraceWarning; a
                    # warnings filter would not outlive a caller's catch_warnings)
                    if hasattr(fn, "_log"):
                        fn._log.retraces = deque(maxlen=0)
                    _COMPILED[key] = fn
        return fn

    def __call__(self, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        ndim = np.ndim(x)
        axes = tuple(range(ndim)) if axis is None else tuple(
            sorted(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))))
        return self.function(axes, bool(keepdims))(x).numpy()
