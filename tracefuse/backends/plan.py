"""The execution plan: one backend-independent description of how a concrete function runs,
made once per concrete function from its fused graph, and the one loop that walks it.

A `Plan` numbers the values of a graph as slots: the inputs first (0..n-1), then the
constants (every `constant`, `full` and `iota` op outside a kernel: made once when the plan
is loaded and kept, so their slots never change), then the intermediates. The steps run in
order; each names what it runs (a `kernel` op compiled by the backend, a kernel's `body` run op
by op, a library `op` such as matmul or a view, or a `constant`), its input slots and its
output slots. Buffer reuse: an intermediate's slot is released (`free`) right after the step
that uses it last, and a later step's result takes the lowest released slot, so a plan needs
as many slots as values live at once. Slots are reused, buffers are not: a released buffer may
still be seen through a view another slot holds, so every kernel result is freshly allocated.

Aliased outputs: a kernel's results are fresh arrays, but an input returned as is, a view of
one (`reshape`, `transpose`, a slice...) or a kept constant shares memory with an array the
caller (or the next call) still holds. `Plan.copies` lists each output that may: its position
and the input or constant slots it may share memory with; the runner copies it when it does.
Outputs that alias each other (the same value returned twice, a value and its reshape) are not
copied: results are immutable Tensors, so sharing between them is never visible.

Control flow (`cond`, `while`, `scan`: the ops of `ir.opcodes.REGIONS`) is a `region` step:
it holds a plan for each of the op's graphs (the branches; cond and body; body), lowered by the
same backend as the graph around it (`lower_regions`: a region graph that holds no `kernel` op
yet goes through the pass pipeline first), so a loop body runs as that backend's compiled
kernels. The loops themselves are here, once for every backend (`REGION_STEPS`): they call the
executables the backend loaded from those plans, one call per branch taken or iteration, and
read a predicate or an index on the host (`int(x)`, `bool(x)`: on a GPU, a read back that
waits for the kernels before it). A body's executable copies a result that shares memory with
its arguments (its plan's `copies`), so a carry never aliases an argument, an x or a const.
Scan stacks its ys in arrays it allocates with the backend's array library (`xp.empty`).

Each backend supplies only how a step runs: `PlanWalker` (the numpy interpreter, the CUDA
executor and the Numba backend's float16 bodies) asks a `runner(step)` for one callable per
step; `array_runner` runs library ops and constants with the NumPy table of `ir.numpy_impl` on
any array library. The Numba backend generates its straight-line Python from the same plan.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir import NUMPY_IMPL, Graph, Op, OpCode, Value
from ..ir.numpy_impl import MULTI_RESULT
from ..ir.opcodes import GRAPH_ATTRS, REGIONS, SOURCES
from ..passes import build_pipeline, run_pipeline

G = OpCode

# what a step runs
KERNEL = "kernel"  # a fused kernel the backend compiled (`Step.kernel`)
BODY = "body"  # a fused kernel the backend cannot compile: its body, op by op (`Step.body`)
OP = "op"  # one graph op through the array library (matmul, a view, concat, argmax...)
CONSTANT = "constant"  # an op without inputs, made once when the plan is loaded
REGION = "region"  # a control-flow op: the plans of its graphs (`Step.regions`), run by a loop


@dataclass(frozen=True, eq=False)
class Step:
    """One step: run `op` (as `kind` says) on the arrays in slots `ins`, store its results in
    slots `outs`, then release the slots in `free` (their values are not used again)."""

    kind: str
    op: Op
    ins: tuple[int, ...]
    outs: tuple[int, ...]
    free: tuple[int, ...] = ()
    kernel: Any = None  # KERNEL: the backend's lowered kernel (its source, launch data)
    body: Plan | None = None  # BODY: the plan of the kernel's body graph
    regions: tuple[Plan, ...] = ()  # REGION: the plan of each graph of the op (`region_graphs`)


@dataclass(frozen=True)
class Copy:
    """Output `position` may share memory with the arrays in `slots` (inputs or constants):
    the runner copies it where it does."""

    position: int
    slots: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Plan:
    """Slots, steps and outputs of one graph; see the module docstring."""

    name: str
    n_inputs: int
    n_slots: int
    constants: tuple[Step, ...]  # run once, at load; their slots follow the inputs'
    steps: tuple[Step, ...]  # run at every call, in order
    outputs: tuple[int, ...]  # the slot of each output
    copies: tuple[Copy, ...] = field(default=())

    @property
    def constant_slots(self) -> tuple[int, ...]:
        return tuple(s for step in self.constants for s in step.outs)

    def is_input(self, slot: int) -> bool:
        return slot < self.n_inputs

    def describe(self) -> str:
        """The plan as text: one line per step, a region step's plans indented below it (for
        tests, debugging and dumps)."""
        lines = [(f"plan @{self.name}: {self.n_inputs} inputs, {len(self.constants)} "
                  f"constants, {self.n_slots} slots")]

        def line(step: Step) -> str:
            what = step.op.code.value
            if step.kind is KERNEL or step.kind is BODY:
                what = f"{step.kind} @{step.op.attrs['name']}"
            text = (f"  {', '.join(f's{s}' for s in step.outs)} = {what}"
                    f"({', '.join(f's{s}' for s in step.ins)})")
            return text + (f"; free {', '.join(f's{s}' for s in step.free)}" if step.free else "")

        for step in self.constants + self.steps:
            lines.append(line(step))
            for label, plan in zip(region_labels(step.op), step.regions):
                lines.append(f"    {label}: " + plan.describe().replace("\n", "\n    "))
        lines.append(f"  return {', '.join(f's{s}' for s in self.outputs)}")
        for c in self.copies:
            lines.append(f"  copy output {c.position} where it shares memory with "
                         f"{', '.join(f's{s}' for s in c.slots)}")
        return "\n".join(lines)


# --- control flow: the graphs of a region op, lowered by the backend ------------------------------
def region_graphs(op: Op) -> tuple[Graph, ...]:
    """The graphs of a region op, in order: the branches of a cond; the cond and body of a
    while; the body of a scan (`ir.opcodes.GRAPH_ATTRS`)."""
    graphs: list[Graph] = []
    for attr in GRAPH_ATTRS[op.code]:
        value = op.attrs[attr]
        graphs += value if isinstance(value, tuple) else [value]
    return tuple(graphs)


def region_labels(op: Op) -> tuple[str, ...]:
    """The names of `region_graphs(op)` as the IR text prints them: branch0..., cond, body."""
    if op.code not in REGIONS:
        return ()
    if op.code is G.COND:
        return tuple(f"branch{i}" for i in range(len(op.attrs["branches"])))
    return GRAPH_ATTRS[op.code]


def fused_region(graph: Graph, options: Any = None) -> Graph:
    """A region graph ready to lower: as it is when the pass pipeline already ran inside it
    (it holds `kernel` ops), else after the pipeline (`options`: the compile options)."""
    if any(op.code is G.KERNEL for op in graph.ops):
        return graph
    return run_pipeline(graph, build_pipeline(options)).graph


def lower_regions(graph: Graph, lower: Callable[[Graph], Any], options: Any = None
                  ) -> tuple[dict[Op, tuple[Plan, ...]], list[tuple[Op, str, Any]]]:
    """Each region op of `graph` lowered by the backend: `lower(graph) -> LoweredGraph` is the
    backend's own lowering (which lowers nested regions in turn). Returns the plans of each
    region op's graphs (for `make_plan`) and (op, label, LoweredGraph) of every region graph,
    for the kernel sources and notes."""
    plans: dict[Op, tuple[Plan, ...]] = {}
    lowered: list[tuple[Op, str, Any]] = []
    for op in graph.ops:
        if op.code not in REGIONS:
            continue
        mine = []
        for label, g in zip(region_labels(op), region_graphs(op)):
            low = lower(fused_region(g, options))
            lowered.append((op, label, low))
            mine.append(low.plan)
        plans[op] = tuple(mine)
    return plans, lowered


def region_notes(lowered: Sequence[tuple[Op, str, Any]]) -> list[str]:
    """The `f.explain()` lines of the region graphs: one per graph, then its own notes."""
    notes = []
    for op, label, low in lowered:
        where = f" ({op.loc.short()})" if op.loc.line else ""
        notes.append(f"{op.code.value}{where} {label}: {len(low.kernels)} kernels, run once per "
                     f"{'branch taken' if op.code is G.COND else 'iteration'}")
        notes += [f"  {n}" for n in low.notes]
    return notes


def make_plan(graph: Graph, kernels: Mapping[Op, Any] | None = None,
              regions: Mapping[Op, tuple[Plan, ...]] | None = None) -> Plan:
    """The plan of `graph`. `kernels` maps each `kernel` op the backend compiled to its lowered
    kernel; a kernel op missing from it (or mapped to None) runs its body op by op. `regions`
    maps each region op to the plans of its graphs (`lower_regions`); a region op missing from
    it gets the plans of its graphs as they are (their kernels run op by op)."""
    kernels = kernels or {}
    regions = regions or {}
    slot: dict[Value, int] = {v: i for i, v in enumerate(graph.inputs)}
    roots: dict[Value, frozenset[int]] = {v: frozenset((i,)) for v, i in slot.items()}

    constants = []
    for op in graph.ops:  # ops without inputs depend on nothing: made first, once
        if op.code in SOURCES:
            outs = []
            for v in op.outputs:
                slot[v] = len(slot)
                roots[v] = frozenset((slot[v],))
                outs.append(slot[v])
            constants.append(Step(CONSTANT, op, (), tuple(outs)))
    fixed = len(slot)  # inputs and constants: never released

    body_ops = [op for op in graph.ops if op.code not in SOURCES]
    last_use: dict[Value, int] = {}
    for i, op in enumerate(body_ops):
        for v in op.inputs:
            last_use[v] = i
    returned = set(graph.outputs)

    n_slots = fixed
    released: list[int] = []  # a heap: the lowest released slot is taken first
    steps = []
    for i, op in enumerate(body_ops):
        ins = tuple(slot[v] for v in op.inputs)
        outs = []
        for v in op.outputs:
            if released:
                slot[v] = heapq.heappop(released)
            else:
                slot[v], n_slots = n_slots, n_slots + 1
            outs.append(slot[v])
        # dead after this step: inputs used here for the last time, results never used
        dead = {v for v in op.inputs if last_use[v] == i}
        dead |= {v for v in op.outputs if v not in last_use}
        free = tuple(sorted({slot[v] for v in dead if v not in returned and slot[v] >= fixed}))
        for s in free:
            heapq.heappush(released, s)

        if op.code is OpCode.KERNEL and kernels.get(op) is not None:
            step = Step(KERNEL, op, ins, tuple(outs), free, kernel=kernels[op])
            fresh = frozenset()  # a compiled kernel allocates its results
        elif op.code is OpCode.KERNEL:
            step = Step(BODY, op, ins, tuple(outs), free, body=make_plan(op.attrs["body"]))
            fresh = None
        elif op.code in REGIONS:
            plans = regions.get(op) or tuple(make_plan(g) for g in region_graphs(op))
            step = Step(REGION, op, ins, tuple(outs), free, regions=plans)
            fresh = None  # zero trips: the results are the operands
        else:
            step = Step(OP, op, ins, tuple(outs), free)
            fresh = None
        # a result that is not a kernel's may be a view of any of its operands
        shared = fresh if fresh is not None else frozenset().union(*(roots[v] for v in op.inputs))
        for v in op.outputs:
            roots[v] = shared
        steps.append(step)

    copies = tuple(Copy(j, tuple(sorted(roots[v]))) for j, v in enumerate(graph.outputs)
                   if roots[v])
    return Plan(graph.name, len(graph.inputs), n_slots, tuple(constants), tuple(steps),
                tuple(slot[v] for v in graph.outputs), copies)


# --- running a plan ------------------------------------------------------------------------------
class LibraryOp:
    """A graph op through the array library: the NumPy table of `ir.numpy_impl`, which runs on
    NumPy and CuPy arrays alike (`cupy.matmul` is cuBLAS)."""

    def __init__(self, op: Op):
        self.impl = NUMPY_IMPL[op.code]
        self.types = [v.type for v in op.inputs]
        self.attrs = op.attrs
        self.out_type = op.outputs[0].type if len(op.outputs) == 1 else None
        self.many = op.code in MULTI_RESULT  # control flow: a list, one array per result

    def __call__(self, inputs: Sequence) -> list:
        result = self.impl(list(inputs), self.types, self.attrs, self.out_type)
        return result if self.many else [result]


def constant_value(op: Op) -> np.ndarray:
    """The value of an op without inputs, made with NumPy, read-only (it is kept and shared)."""
    value = NUMPY_IMPL[op.code]([], [], op.attrs, op.outputs[0].type)
    value = np.asarray(value)
    if value.flags.writeable:
        value = value.view()
        value.flags.writeable = False
    return value


def array_runner(step: Step) -> Callable[[Sequence], Sequence]:
    """How a library op or a constant runs with the NumPy table (on NumPy arrays)."""
    if step.kind is OP:
        return LibraryOp(step.op)
    if step.kind is CONSTANT:
        value = constant_value(step.op)
        return lambda inputs: [value]
    raise TypeError(f"array_runner cannot run a {step.kind} step ({step.op.code.value}); "
                    "the backend's runner must handle it")


# --- the loops of control flow, on every backend --------------------------------------------------
# Each takes the region op, one executable per graph of it (`region_graphs` order: loaded by
# the backend from `Step.regions`; each maps arrays to arrays and copies a result that shares
# memory with its arguments) and the array library of the backend's arrays.
class CondStep:
    """cond: the index read on the host (`int`: a bool is 0 or 1), clamped to the branches,
    then that branch's executable on the arguments."""

    def __init__(self, op: Op, executables: Sequence[Callable], xp=np):
        self.branches = list(executables)

    def __call__(self, inputs: Sequence) -> list:
        index = min(max(int(inputs[0]), 0), len(self.branches) - 1)
        return list(self.branches[index](list(inputs[1:])))


class WhileStep:
    """while: the cond executable on carries and consts, its bool read on the host; the body
    while it is true (zero trips: the carries as given)."""

    def __init__(self, op: Op, executables: Sequence[Callable], xp=np):
        self.cond, self.body = executables
        self.n = op.attrs["num_carries"]

    def __call__(self, inputs: Sequence) -> list:
        carries, consts = list(inputs[:self.n]), list(inputs[self.n:])
        while bool(self.cond(carries + consts)[0]):
            carries = list(self.body(carries + consts))
        return carries


class ScanStep:
    """scan: the body once per step on the carries, slice t of each x and the consts; ys
    written into arrays allocated here with `xp` (NumPy or CuPy), ys[t] from the step that
    read xs[t] (reverse: t from length-1 down to 0)."""

    def __init__(self, op: Op, executables: Sequence[Callable], xp=np):
        (self.body,) = executables
        self.xp = xp
        self.n, self.m = op.attrs["num_carries"], op.attrs["num_xs"]
        length = op.attrs["length"]
        self.order = range(length - 1, -1, -1) if op.attrs["reverse"] else range(length)
        self.ys = [(v.type.shape, v.type.dtype.np) for v in op.outputs[self.n:]]

    def __call__(self, inputs: Sequence) -> list:
        n, m = self.n, self.m
        carries, xs, consts = list(inputs[:n]), list(inputs[n:n + m]), list(inputs[n + m:])
        ys = [self.xp.empty(shape, dtype) for shape, dtype in self.ys]
        for t in self.order:
            results = self.body(carries + [x[t] for x in xs] + consts)
            carries = list(results[:n])
            for y, r in zip(ys, results[n:]):
                y[t] = r
        return carries + ys


REGION_STEPS: dict[OpCode, Callable[..., Callable[[Sequence], list]]] = {
    G.COND: CondStep, G.WHILE: WhileStep, G.SCAN: ScanStep}


def region_step(step: Step, load: Callable[[Plan], Callable], xp=np) -> Callable[[Sequence], list]:
    """How a region step runs: its loop, over the executables `load` makes of its plans."""
    return REGION_STEPS[step.op.code](step.op, [load(p) for p in step.regions], xp)


class PlanWalker:
    """Runs a plan: each step's callable (from `runner`) reads its input slots and fills its
    output slots; released slots are cleared. Constants are made once, here; a `body` step
    walks its body's plan with the same runner, a `region` step runs its loop over walkers of
    its plans with the same runner. `xp` is the array library of the results (for
    `may_share_memory`, and a scan's ys)."""

    def __init__(self, plan: Plan, runner: Callable[[Step], Callable] = array_runner, xp=np):
        self.plan, self.xp = plan, xp
        template: list = [None] * plan.n_slots
        for step in plan.constants:
            for s, value in zip(step.outs, runner(step)(())):
                template[s] = value
        self.template = template[plan.n_inputs:]
        self.steps = []
        for step in plan.steps:
            if step.kind is BODY:
                fn = PlanWalker(step.body, runner, xp).run
            elif step.kind is REGION:
                fn = region_step(step, lambda plan: PlanWalker(plan, runner, xp), xp)
            else:
                fn = runner(step)
            self.steps.append((fn, step.ins, step.outs, step.free))
        self.outputs = plan.outputs
        # per output that may alias: the input slots and the kept constants it may share with
        self.copies = [(c.position, [s for s in c.slots if plan.is_input(s)],
                        [template[s] for s in c.slots if not plan.is_input(s)])
                       for c in plan.copies]

    def run(self, arrays: Sequence) -> list:
        """The outputs, which may be views of the inputs (a kernel body's are), never of a kept
        constant."""
        env = list(arrays) + self.template
        with np.errstate(all="ignore"):
            for fn, ins, outs, free in self.steps:
                for s, value in zip(outs, fn([env[i] for i in ins])):
                    env[s] = value
                for s in free:
                    env[s] = None
        results = [env[s] for s in self.outputs]
        share = self.xp.may_share_memory
        for j, _, kept in self.copies:
            if any(share(results[j], c) for c in kept):
                results[j] = results[j].copy()
        return results

    def __call__(self, arrays: Sequence) -> list:
        """The outputs, none sharing memory with an input or a kept constant."""
        results = self.run(arrays)
        share = self.xp.may_share_memory
        for j, slots, _ in self.copies:
            if any(share(results[j], arrays[s]) for s in slots):
                results[j] = results[j].copy()
        return results
