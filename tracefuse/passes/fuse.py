"""`fuse`: group ops into kernels, so intermediates stay in registers instead of memory.

The graph is walked in order. Each elementwise op or reduction joins the kernel(s) of the
operands it reads when that is *legal* (`_Fuser.legal`), else starts a kernel of its own;
joining two kernels merges them. Legality is separate from profitability (`profitable`), and
every refusal is recorded with its reason: `fuse_with_report` returns them beside the graph
(the pipeline keeps them, `f.explain()` shows them); `fuse` is the same pass without them.

Index maps. A kernel runs over an iteration space of axes; every value computed in it has an
index map: for each of its dimensions, the iteration axis it runs along (or None for a
broadcast size-1 dimension). Elementwise ops unify their operands' axes under broadcasting;
a reduction marks axes as *reduced*; reshapes that only add or drop size-1 dimensions,
`broadcast_to` and `permute_dims` of a computed value only re-map axes. A kernel reduces one
set of axes; values of the reduced shape may broadcast back along them (a *row* kernel:
softmax, layernorm). Everything else that moves a computed value (a slice, a general reshape)
needs the value in memory, so it ends the kernel.

The kernel op carries how its body lies over its loops as attributes, printed and parsed with
the IR (printer.py): `space` (the size of each iteration axis, numbered 0, 1, ... in the order
of fusion's own axis ids), `reduced` (the reduced axes), and per body op its index map (`maps`)
and, for a reduction, its operand's (`reads`); None for ops that only describe how an input is
read (views of inputs, copied sources). Code generation (backends/loops.py) follows them, so
the printed fused IR alone rebuilds the same kernels.

What joins a kernel without computing anything: views (`reshape`, `permute_dims`,
`broadcast_to`, `slice`) of values in memory fold into the kernel as the way it reads that
input; scalar constants and `full`/`iota` are copied into each kernel that reads them.

Unrelated loops. A kernel's loops nest over all its axes, so a join that would put values over
unrelated iteration spaces in one kernel (neither space contains the other: two parameter
updates of shapes (64, 256) and (256, 10)) is refused; the op joins the largest set of its
operands' kernels that keeps one space (`legal_subset`), and reads the others from memory. A
kernel of scalars whose values several ops read (an optimizer's learning-rate factor) is not
merged into any of its readers that loop: it is computed once and read from memory
(`unshared`).

Multiple consumers. A value computed in a kernel and read outside it (by another kernel, a
matmul, or as a graph output) is *materialized*: it becomes a result of its kernel. Fusion
itself recomputes nothing across kernels; the `remat` pass before it copies cheap chains next
to consumers behind a matmul, so those values need not be materialized. A view that only
library ops read (`h.T` for a matmul) stays a view of the materialized value, not a copy. Graph outputs are always materialized; an output that is only a view of an input gets
a copy kernel. Matmul stays a library op: its elementwise consumers fuse into the kernel that
follows it. `concat`, `argmax` and `argmin` are not fused yet.

Control flow. A `cond`, `while` or `scan` op is in general not part of a kernel (like a
library op, it reads its operands from memory and writes its results there); the pass runs
inside its regions (`regions.map_regions`), so a loop body's elementwise ops become the body's
own kernels, run once per iteration. The exception is the *elementwise loop*: a `scan` over
carries only (a `fori_loop`) whose body is elementwise over one shape (`kernel_loop_problem` in
ir/verifier.py says when) joins a kernel like an elementwise op of that shape, with its body
unfused inside it: the kernel runs the whole loop for each element, its carries in registers
(backends/loops.py lowers it), instead of one round of kernels per iteration through memory.
Its operands' kernels and its results' consumers fuse with it as with any elementwise op; a
kernel never holds both a loop and a reduction. A loop whose scalar carries are read after it
(with carries of a larger shape) stays a loop of kernels: every element would write them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..ir import Attrs, Graph, Op, OpCode, Value
from ..ir.opcodes import ELEMENTWISE, RANDOM
from ..ir.verifier import kernel_loop_problem
from .regions import map_regions

G = OpCode
VIEWS = frozenset({G.RESHAPE, G.PERMUTE, G.BROADCAST_TO, G.SLICE})
AXIS_REDUCTIONS = frozenset({G.SUM, G.PROD, G.MAX, G.MIN, G.ALL, G.ANY})
FUSIBLE = ELEMENTWISE | AXIS_REDUCTIONS | RANDOM
UNRELATED = ("would merge kernels over unrelated iteration spaces (the loops would run over the "
             "axes of both, nested)")
MAX_KERNEL_OPS = 128  # profitability: past this, a kernel's compile time outweighs its gain

Map = tuple  # tuple[int | None, ...]: an iteration axis per dimension


class Axes:
    """Union-find over iteration axes, each with a size."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.size: list[int] = []

    def copy(self) -> "Axes":
        other = Axes()
        other.parent, other.size = list(self.parent), list(self.size)
        return other

    def new(self, size: int) -> int:
        self.parent.append(len(self.parent))
        self.size.append(size)
        return len(self.parent) - 1

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
        return min(ra, rb)

    def root_map(self, m: Map) -> Map:
        return tuple(None if a is None else self.find(a) for a in m)


@dataclass
class _Group:
    ops: list[Op]
    maps: dict[Value, Map]  # index map of each value computed in this group
    reduced: set[int] = field(default_factory=set)  # reduced iteration axes (any member)
    space: set[int] = field(default_factory=set)  # every iteration axis of the kernel
    has_reduction: bool = False
    has_loop: bool = False  # holds an elementwise loop (a scan run inside the kernel)
    reads: dict[Value, Map] = field(default_factory=dict)  # reduction result -> operand's map


@dataclass
class _Plan:
    """A tentative change: the groups to merge, the op's map, the axes after unification."""

    groups: list[_Group]
    axes: Axes
    out_map: Map
    reduced: set[int]
    space: set[int]
    operand_map: Map = ()  # a reduction's operand (which may be read from memory)


def _layout(body_ops: Sequence[Op], g: _Group | None, axes: Axes) -> dict[str, tuple]:
    """The index-map attributes of a kernel op (see the module docstring); `g` None: a copy
    kernel, whose ops only read its inputs."""
    if g is None:
        none = (None,) * len(body_ops)
        return {"space": (), "reduced": (), "maps": none, "reads": none}
    maps = {v: axes.root_map(m) for v, m in g.maps.items()}
    reads = {v: axes.root_map(m) for v, m in g.reads.items()}
    reduced = {axes.find(a) for a in g.reduced}
    used = reduced | {a for m in (*maps.values(), *reads.values()) for a in m if a is not None}
    # dense numbers in the order of the axis ids, so the loops come out as they did before
    dense = {a: i for i, a in enumerate(sorted(used))}

    def renumber(m: Map | None) -> Map | None:
        return None if m is None else tuple(None if a is None else dense[a] for a in m)

    return {"space": tuple(axes.size[a] for a in sorted(used)),
            "reduced": tuple(sorted(dense[a] for a in reduced)),
            "maps": tuple(renumber(maps.get(op.mapped)) for op in body_ops),
            "reads": tuple(renumber(reads.get(op.mapped)) for op in body_ops)}


def profitable(group_ops: int, op: Op) -> bool:
    """Whether joining `op` to a kernel of `group_ops` ops pays (legality is checked apart)."""
    return group_ops + 1 <= MAX_KERNEL_OPS


class _Fuser:
    def __init__(self, graph: Graph, loops: frozenset[Op] = frozenset()):
        self.graph = graph
        self.loops = loops  # the scans that run inside a kernel (`elementwise_loops`)
        self.axes = Axes()
        self.group_of: dict[Value, _Group] = {}
        self.deferred: dict[Value, Op] = {}  # views and cheap sources, copied into consumers
        self.producer: dict[Value, Op] = {v: op for op in graph.ops for v in op.outputs}
        self.refusals: list[str] = []

    # --- dependencies (for cycle checks) ----------------------------------------------------
    def value_deps(self, roots: Sequence[Value]) -> set[int]:
        """ids of the groups these values depend on (incl. their own), through anything."""
        seen_values: set[Value] = set()
        seen_groups: set[int] = set()
        stack = list(roots)
        while stack:
            v = stack.pop()
            if v in seen_values:
                continue
            seen_values.add(v)
            g = self.group_of.get(v)
            if g is not None:
                if id(g) not in seen_groups:
                    seen_groups.add(id(g))
                    stack.extend(self.external_inputs(g))
                continue
            op = self.producer.get(v)
            if op is not None:
                stack.extend(op.inputs)
        return seen_groups

    def operand_groups(self, op: Op) -> list[_Group]:
        """The kernels computing `op`'s operands, each once, in operand order."""
        groups: list[_Group] = []
        for v in op.inputs:
            g = self.group_of.get(v)
            if g is not None and all(g is not h for h in groups):
                groups.append(g)
        return groups

    def groups_of(self, values) -> list[_Group]:
        return [self.group_of[v] for v in values if v in self.group_of]

    def external_inputs(self, g: _Group) -> list[Value]:
        return [v for op in g.ops for v in op.inputs if self.group_of.get(v) is not g]

    # --- legality ---------------------------------------------------------------------------
    def legal(self, op: Op, among: list[_Group] | None = None) -> _Plan | str:
        """How `op` joins the kernels of its operands (or only those `among` them, reading the
        others' values from memory), or why it cannot."""
        groups = [g for g in self.operand_groups(op)
                  if among is None or any(g is h for h in among)]
        ids = {id(g) for g in groups}
        outside = [v for v in op.inputs if id(self.group_of.get(v)) not in ids]
        if ids & self.value_deps(outside):
            return "would create a cycle: an operand depends on this kernel through an op outside it"
        for g in groups:
            if ids & self.value_deps(self.external_inputs(g)):
                return "would create a cycle: the kernels to merge depend on each other"
        if groups and not profitable(sum(len(g.ops) for g in groups), op):
            return f"kernel would exceed {MAX_KERNEL_OPS} ops"
        axes = self.axes.copy()
        reducing = [g for g in groups if g.has_reduction]
        if ((reducing or op.code in AXIS_REDUCTIONS)
                and (op.code is G.SCAN or any(g.has_loop for g in groups))):
            return "a kernel does not hold both a loop and a reduction"
        if len(reducing) > 1:
            # two row kernels over rows of one length merge into one: their reduced axes unify
            sets = [sorted({axes.find(a) for a in g.reduced}, key=lambda r: axes.size[r])
                    for g in reducing]
            sizes = [[axes.size[r] for r in s] for s in sets]
            if any(sz != sizes[0] for sz in sizes) or len(set(sizes[0])) != len(sizes[0]):
                return "would merge kernels that reduce axes of different lengths"
            for other in sets[1:]:
                for a, b in zip(sets[0], other):
                    axes.union(a, b)
        reduced = {axes.find(a) for g in groups for a in g.reduced}
        maps = {v: m for g in groups for v, m in g.maps.items()}
        code = op.code
        if code is G.SLICE:
            return "a slice of a value computed in this kernel needs it in memory"
        if code in AXIS_REDUCTIONS:
            result = self._reduce_map(op, axes, maps, reduced)
        elif code is G.PERMUTE:
            result = tuple(maps[op.inputs[0]][a] for a in op.attrs["axes"])
        elif code is G.RESHAPE:
            result = self._unit_reshape_map(op, maps[op.inputs[0]])
        else:  # elementwise, broadcast_to
            result = self._broadcast_map(op, axes, maps, reduced)
        if isinstance(result, str):
            return result
        operand_axes: Map = ()
        if code in AXIS_REDUCTIONS:
            result, reduced, operand_axes = result
        for m in list(maps.values()) + [result]:
            roots = [a for a in axes.root_map(m) if a is not None]
            if len(roots) != len(set(roots)):
                return "index maps disagree: a value would be read along one axis twice"
        space = ({axes.find(a) for g in groups for a in g.space}
                 | {a for a in axes.root_map(result + operand_axes) if a is not None})
        for g in reducing:
            if {axes.find(a) for a in g.space} != space:
                return "the reductions would run over a different iteration space"
        own = {a for a in axes.root_map(result + operand_axes) if a is not None}
        for g in groups:
            theirs = {axes.find(a) for a in g.space}
            if not (theirs <= own or own <= theirs):
                # the loops nest over every axis of both: work over unrelated axes would repeat
                # (two parameter updates of shapes (64, 256) and (256, 10) that read one scalar)
                return UNRELATED
        empty = {a for a in space if axes.size[a] == 0 and a not in reduced}
        if empty and any(not empty & {a for a in axes.root_map(m) if a is not None}
                         for m in list(maps.values()) + [result]):
            # an empty loop would never write a value that does not run along the empty axis
            return "an empty iteration space would leave a non-empty value unwritten"
        return _Plan(groups, axes, result, reduced, space, operand_axes)

    def _broadcast_map(self, op: Op, axes: Axes, maps, reduced: set[int]) -> Map | str:
        shape = op.mapped.type.shape  # a loop's: the shape of its carries (or scalars)
        n = len(shape)
        operands = op.inputs if op.code is not G.BROADCAST_TO else op.inputs[:1]
        out: list[int | None] = []
        for k, size in enumerate(shape):
            found = []
            for v in operands:
                j = k - (n - v.type.ndim)
                if j >= 0 and v in maps and maps[v][j] is not None:
                    a = maps[v][j]
                    if axes.size[axes.find(a)] == size:
                        found.append(a)
            if found:
                root = found[0]
                for a in found[1:]:
                    root = axes.union(root, a)
                out.append(axes.find(root))
            elif size == 1:
                out.append(None)
            elif reduced:
                used = {axes.find(a) for a in out if a is not None}
                fits = [r for r in reduced if axes.size[r] == size and r not in used]
                if len(fits) != 1:
                    return ("broadcasts a reduced value along an axis that is not (exactly one "
                            "of) the reduced axes")
                out.append(fits[0])
            else:
                out.append(axes.new(size))
        return tuple(out)

    def _reduce_map(self, op: Op, axes: Axes, maps, reduced: set[int]):
        (v,) = op.inputs
        if v in maps:
            m = axes.root_map(maps[v])
            space = {axes.find(a) for g in self.groups_of([v]) for a in g.space}
            if {a for a in m if a is not None} != space:
                return "reduces a value that does not span the kernel's whole iteration space"
        else:
            m = tuple(axes.new(d) for d in v.type.shape)
        red_axes = op.attrs["axes"]
        new_reduced = {m[a] for a in red_axes if m[a] is not None}
        if not new_reduced and red_axes and any(a is not None for a in m):
            # only size-1 dimensions of a computed value: no loop of the kernel to reduce
            return "reduces only size-1 dimensions of a value computed in this kernel"
        if reduced and new_reduced != reduced:
            return "reduces other axes than the kernel's other reductions"
        if op.attrs["keepdims"]:
            out = tuple(None if i in red_axes else a for i, a in enumerate(m))
        else:
            out = tuple(a for i, a in enumerate(m) if i not in red_axes)
        return out, (reduced or new_reduced), m

    @staticmethod
    def _unit_reshape_map(op: Op, m: Map) -> Map | str:
        src, dst = op.inputs[0].type.shape, op.output.type.shape
        if [d for d in src if d != 1] != [d for d in dst if d != 1]:
            return "a reshape of a value computed in this kernel needs it in memory"
        kept = iter([a for a, d in zip(m, src) if d != 1])
        return tuple(None if d == 1 else next(kept) for d in dst)

    # --- the walk ---------------------------------------------------------------------------
    def note(self, op: Op, reason: str) -> None:
        where = f" ({op.loc.short()})" if op.loc.line else ""
        self.refusals.append(f"{op.code.value}{where}: {reason}")

    def join(self, op: Op, plan: _Plan) -> None:
        self.axes = plan.axes
        if plan.groups:
            group = plan.groups[0]
            for other in plan.groups[1:]:
                group.ops.extend(other.ops)
                group.maps.update(other.maps)
                group.reads.update(other.reads)
                group.has_reduction |= other.has_reduction
                group.has_loop |= other.has_loop
                for v in other.maps:
                    self.group_of[v] = group
            group.ops.sort(key=self.order.__getitem__)
        else:
            group = _Group([], {})
        group.ops.append(op)
        for v in op.outputs:  # a loop's scalar carries run along no axis
            group.maps[v] = plan.out_map if v.type.ndim == len(plan.out_map) else ()
            self.group_of[v] = group
        group.reduced = set(plan.reduced)
        group.space = set(plan.space)
        group.has_reduction |= op.code in AXIS_REDUCTIONS
        group.has_loop |= op.code is G.SCAN
        if op.code in AXIS_REDUCTIONS:
            group.reads[op.output] = plan.operand_map

    def run(self) -> list[_Group]:
        self.order = {op: i for i, op in enumerate(self.graph.ops)}
        self.users = self.graph.users()
        self.outputs = set(self.graph.outputs)
        for op in self.graph.ops:
            code = op.code
            if code in (G.FULL, G.IOTA) or (code is G.CONSTANT and op.output.type.size == 1):
                self.deferred[op.output] = op
                continue
            in_kernel = any(v in self.group_of for v in op.inputs)
            if code in VIEWS and (not in_kernel or self.library_only(op)):
                # a view of memory, read by its consumers; a view only library ops read
                # (h.T for a matmul) stays a view of the materialized value, not a copy
                self.deferred[op.output] = op
                continue
            if code not in FUSIBLE and code not in VIEWS and op not in self.loops:
                continue  # a library op or one not fused yet: stays as it is
            plan = self.legal(op, self.unshared(op))
            if plan is UNRELATED:
                plan = self.legal_subset(op) or plan
            if isinstance(plan, str):
                self.note(op, plan)
                if code in VIEWS:
                    self.deferred[op.output] = op  # reads the materialized value
                    continue
                plan = self.legal_alone(op)
            self.join(op, plan)
        return self.groups()

    def library_only(self, op: Op) -> bool:
        """Whether only library ops (matmul ...) read `op`'s result, never a kernel nor the
        graph's outputs."""
        readers = self.users.get(op.output, ())
        return (bool(readers) and op.output not in self.outputs
                and all(u.code not in FUSIBLE and u.code not in VIEWS and u not in self.loops
                        for u in readers))

    def unshared(self, op: Op) -> list[_Group] | None:
        """The kernels `op` may join: all its operands' (None), but a kernel of scalars (no
        loop) whose values other ops read too, when `op` has loops: computed once and read from
        memory (a few bytes) by each, rather than merged into the first reader's kernel (the
        learning-rate factor every parameter update of an optimizer reads)."""
        if op.mapped.type.size <= 1:
            return None
        groups = self.operand_groups(op)
        kept = [g for g in groups if g.space or not any(
            u is not op and u not in g.ops for w in g.maps for u in self.users.get(w, ()))]
        return kept if len(kept) < len(groups) else None

    def legal_subset(self, op: Op) -> _Plan | None:
        """Where joining every operand's kernel would merge unrelated iteration spaces: join as
        many of them as can be (the largest first; a scalar every parameter update reads stays
        in memory, each update fuses with its own slots' kernel), or None."""
        chosen: list[_Group] = []
        plan = None
        for g in sorted(self.operand_groups(op), key=lambda g: -len(g.space)):
            trial = self.legal(op, chosen + [g])
            if not isinstance(trial, str):
                chosen.append(g)
                plan = trial
        return plan

    def legal_alone(self, op: Op) -> _Plan:
        """The plan for `op` starting a kernel of its own (always legal)."""
        axes = self.axes.copy()
        if op.code in AXIS_REDUCTIONS:
            out, reduced, operand = self._reduce_map(op, axes, {}, set())
        else:
            out, reduced, operand = self._broadcast_map(op, axes, {}, set()), set(), ()
        return _Plan([], axes, out, reduced, {a for a in out + operand if a is not None}, operand)

    def groups(self) -> list[_Group]:
        seen, result = set(), []
        for g in self.group_of.values():
            if id(g) not in seen:
                seen.add(id(g))
                result.append(g)
        return result


def _pull(values, deferred: dict[Value, Op], into: dict[Op, None]) -> None:
    """Add the deferred ops (views, sources) that `values` come from, transitively."""
    stack = [v for v in values if v in deferred]
    while stack:
        op = deferred[stack.pop()]
        if op not in into:
            into[op] = None
            stack.extend(v for v in op.inputs if v in deferred)


def _kind(group_ops: list[Op], maps: dict[Value, Map], reduced: set[int], axes: Axes) -> str:
    if not any(op.code in AXIS_REDUCTIONS for op in group_ops):
        return "elementwise"
    red = {axes.find(a) for a in reduced}
    for op in group_ops:
        m = maps.get(op.mapped, ())
        if op.code not in AXIS_REDUCTIONS and any(
                a is not None and axes.find(a) in red for a in m):
            if any(op2.code in AXIS_REDUCTIONS for op2 in group_ops
                   if group_ops.index(op2) < group_ops.index(op)):
                return "row"
    return "reduction"


def fuse(graph: Graph) -> Graph:
    """The graph with its elementwise ops and reductions grouped into `kernel` ops."""
    return fuse_with_report(graph)[0]


def elementwise_loops(graph: Graph) -> tuple[frozenset[Op], list[str]]:
    """The scans of `graph` that run inside a kernel (module docstring), and for each other
    scan why not (`scan (file:line): reason`)."""
    users = graph.users()
    outputs = set(graph.outputs)
    loops, notes = set(), []
    for op in graph.ops:
        if op.code is not G.SCAN:
            continue
        problem = kernel_loop_problem(op)
        if problem is None and op.mapped.type.ndim and any(
                v.type.ndim == 0 and (v in outputs or users.get(v)) for v in op.outputs):
            problem = "a scalar carry is read after the loop, which every element would write"
        if problem is None:
            loops.add(op)
        else:
            where = f" ({op.loc.short()})" if op.loc.line else ""
            notes.append(f"scan{where}: runs as a loop of kernels, not inside one: {problem}")
    return frozenset(loops), notes


def fuse_with_report(graph: Graph) -> tuple[Graph, tuple[str, ...]]:
    """`fuse`, and why each op that could not join a kernel did not (`op (file:line): reason`),
    in every region too (the regions' reasons first). The regions of control-flow ops are
    fused first (innermost first), but the bodies of elementwise loops, which go into a kernel
    as they are."""
    loops, loop_notes = elementwise_loops(graph)
    notes: list[str] = []

    def region(g: Graph) -> Graph:
        new, region_notes = fuse_with_report(g)
        notes.extend(region_notes)
        return new

    graph = map_regions(graph, region, keep=loops)
    new, own = _fuse_flat(graph, loops)
    return new, tuple(notes) + tuple(loop_notes) + own


def _fuse_flat(graph: Graph, loops: frozenset[Op]) -> tuple[Graph, tuple[str, ...]]:
    """The fusion of one graph (its regions already fused): (graph, refusals)."""
    fuser = _Fuser(graph, loops)
    groups = fuser.run()
    order = fuser.order
    outputs = set(graph.outputs)
    deferred = fuser.deferred

    # graph outputs that are only views or sources get a copy kernel: outputs are materialized
    copies: list[dict[Op, None]] = []
    for v in dict.fromkeys(graph.outputs):
        if v in deferred:
            chain: dict[Op, None] = {}
            _pull([v], deferred, chain)
            copies.append(chain)

    # the nodes of the fused graph: kernels, and ops left as they are
    kernel_of: dict[Op, int] = {}
    bodies: list[tuple[list[Op], str, dict[str, tuple]]] = []
    for g in groups:
        pulled: dict[Op, None] = {}
        _pull([v for op in g.ops for v in op.inputs], deferred, pulled)
        body_ops = sorted(list(pulled) + g.ops, key=order.__getitem__)
        bodies.append((body_ops, _kind(g.ops, g.maps, g.reduced, fuser.axes),
                       _layout(body_ops, g, fuser.axes)))
        for op in g.ops:
            kernel_of[op] = len(bodies) - 1
    for chain in copies:
        body_ops = sorted(chain, key=order.__getitem__)
        bodies.append((body_ops, "elementwise", _layout(body_ops, None, fuser.axes)))
        kernel_of[body_ops[-1]] = len(bodies) - 1  # the output's own op is the kernel's
    computed_by = {v: kernel_of[op] for op in kernel_of for v in op.outputs}

    # ops that stay outside kernels, and the deferred ops they (or other such ops) still read
    outer = [op for op in graph.ops if op not in kernel_of and not any(v in deferred for v in op.outputs)]
    needed: dict[Op, None] = {}
    _pull([v for op in outer for v in op.inputs if v not in computed_by], deferred, needed)
    outer = sorted(outer + [op for op in needed if op not in kernel_of], key=order.__getitem__)

    # each kernel's inputs (values its body reads but does not define) and results
    readers: dict[Value, set] = {}
    for op in outer:
        for v in op.inputs:
            readers.setdefault(v, set()).add(("op", op))
    kernel_io = []
    for k, (body_ops, kind, _) in enumerate(bodies):
        defined = {v for op in body_ops for v in op.outputs}
        ins: dict[Value, None] = {}
        for op in body_ops:
            for v in op.inputs:
                if v not in defined:
                    ins[v] = None
        for v in ins:
            readers.setdefault(v, set()).add(("kernel", k))
        kernel_io.append((list(ins), defined))
    nodes = []  # (first op index, kind, payload)
    for k, (body_ops, kind, _) in enumerate(bodies):
        ins, defined = kernel_io[k]
        results = [v for op in body_ops if kernel_of.get(op) == k for v in op.outputs if (
            v in outputs or any(r != ("kernel", k) for r in readers.get(v, ())))]
        nodes.append((min(order[op] for op in body_ops), "kernel", (k, ins, results)))
    for op in outer:
        nodes.append((order[op], "op", op))

    # topological order of the nodes, earliest first
    defines: dict[Value, int] = {}
    for i, (_, kind, payload) in enumerate(nodes):
        for v in (payload[2] if kind == "kernel" else payload.outputs):
            defines[v] = i
    deps = []
    for i, (_, kind, payload) in enumerate(nodes):
        reads = payload[1] if kind == "kernel" else payload.inputs
        deps.append({defines[v] for v in reads if v in defines and defines[v] != i})
    users: dict[int, list[int]] = {}
    for i, d in enumerate(deps):
        for j in d:
            users.setdefault(j, []).append(i)
    waiting = [len(d) for d in deps]
    ready = [(nodes[i][0], i) for i in range(len(nodes)) if not waiting[i]]
    heapq.heapify(ready)
    new_ops: list[Op] = []
    names = 0
    while ready:
        _, i = heapq.heappop(ready)
        _, kind, payload = nodes[i]
        if kind == "op":
            new_ops.append(payload)
        else:
            k, ins, results = payload
            body_ops, kernel_kind, layout = bodies[k]
            body = Graph(tuple(ins), tuple(body_ops), tuple(results), name=f"k{names}")
            loc = next((op.loc for op in reversed(body_ops) if op.loc.line), body_ops[-1].loc)
            attrs = Attrs(layout, body=body, kind=kernel_kind, name=f"k{names}")
            new_ops.append(Op(G.KERNEL, tuple(ins), attrs, tuple(results), loc))
            names += 1
        for j in users.get(i, ()):
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(ready, (nodes[j][0], j))
    if len(new_ops) != len(nodes):
        raise RuntimeError("fuse: the kernels form a cycle (a legality check missed it)")
    return graph.replace(ops=tuple(new_ops)), tuple(fuser.refusals)


def can_fuse(graph: Graph, producer: Op, consumer: Op) -> str | None:
    """None when `consumer` may join the kernel holding `producer` in `graph`, else the reason.

    The graph is fused up to `consumer` first, so the answer is the one the pass would give."""
    fuser = _Fuser(graph)
    fuser.order = {op: i for i, op in enumerate(graph.ops)}
    stop = graph.ops.index(consumer)
    sub = graph.replace(ops=graph.ops[:stop])
    fuser.graph = sub
    fuser.run()
    if producer.output not in fuser.group_of:
        return f"{producer.code.value} is not computed in a kernel"
    plan = fuser.legal(consumer)
    if isinstance(plan, str):
        return plan
    if all(g is not fuser.group_of[producer.output] for g in plan.groups):
        return "the consumer does not read the producer's kernel"
    return None
