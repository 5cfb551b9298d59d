"""The `"numpy"` backend: the reference interpreter. It walks the graph's execution plan
(plan.py) with the NumPy table of `ir.numpy_impl`, the same code eager mode runs, so it is the
oracle every other backend is compared with. A fused kernel runs its body op by op.

The plan is made once per concrete function, at `lower`: numbered slots, each intermediate
released after its last use, constants made once; outputs that share memory with an input are
copied, so a returned array never aliases an argument.

Control flow (cond, while, scan) runs as the plan's region steps: each region graph lowered by
this backend (`lower_regions`), its plan walked with NumPy once per branch or iteration.
"""

from __future__ import annotations

from ...ir import Graph, OpCode
from ..base import CompileOptions, LoweredGraph
from ..plan import Plan, PlanWalker, array_runner, lower_regions, make_plan, region_notes


class Interpreter(PlanWalker):
    """Runs a graph (or its plan) with NumPy: `Interpreter(graph)(arrays) -> outputs`."""

    def __init__(self, graph: Graph | Plan):
        super().__init__(make_plan(graph) if isinstance(graph, Graph) else graph, array_runner)


class NumpyBackend:
    name = "numpy"
    device = "cpu"
    source_suffix = ""  # no kernel sources

    def unavailable(self) -> str | None:
        return None

    def lower(self, graph: Graph, options: CompileOptions) -> LoweredGraph:
        n_kernels = sum(op.code is OpCode.KERNEL for op in graph.ops)
        note = (f"numpy reference interpreter: {len(graph.ops)} ops ({n_kernels} fused kernels, "
                "their bodies run op by op with NumPy); no generated code")
        regions, nested = lower_regions(graph, lambda g: self.lower(g, options), options)
        return LoweredGraph(self.name, graph, (), (note, *region_notes(nested)),
                            plan=make_plan(graph, regions=regions))

    def load(self, lowered: LoweredGraph) -> Interpreter:
        return Interpreter(lowered.plan)
