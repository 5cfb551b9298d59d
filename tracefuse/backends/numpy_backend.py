"""The `"numpy"` backend: the reference interpreter. It runs a graph op by op with the NumPy
table of `ir.numpy_impl`, the same code eager mode runs, so it is the oracle every other
backend is compared with.

The plan is made once per concrete function: a flat list of steps over numbered slots, with
each intermediate freed after its last use. Outputs that share memory with an input are
copied, so a returned array never aliases an argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..ir import NUMPY_IMPL, Graph
from .base import CompileOptions, LoweredGraph


class Interpreter:
    def __init__(self, graph: Graph):
        slots = {v: i for i, v in enumerate(graph.inputs)}
        for op in graph.ops:
            for v in op.outputs:
                slots.setdefault(v, len(slots))
        last_use: dict[int, int] = {}
        for i, op in enumerate(graph.ops):
            for v in op.inputs:
                last_use[slots[v]] = i
        outputs = {slots[v] for v in graph.outputs}
        self.n_inputs = len(graph.inputs)
        self.n_slots = len(slots)
        self.steps = []
        for i, op in enumerate(graph.ops):
            free = tuple(s for s, last in last_use.items()
                         if last == i and s >= self.n_inputs and s not in outputs)
            self.steps.append((NUMPY_IMPL[op.code], tuple(slots[v] for v in op.inputs),
                               tuple(v.type for v in op.inputs), op.attrs, op.output.type,
                               slots[op.output], free))
        self.out_slots = tuple(slots[v] for v in graph.outputs)

    def __call__(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        env: list = list(arrays) + [None] * (self.n_slots - self.n_inputs)
        with np.errstate(all="ignore"):
            for impl, ins, in_types, attrs, out_type, slot, free in self.steps:
                env[slot] = impl([env[i] for i in ins], in_types, attrs, out_type)
                for s in free:
                    env[s] = None
        results = []
        for s in self.out_slots:
            out = env[s]
            if any(np.may_share_memory(out, a) for a in arrays):
                out = out.copy()
            results.append(out)
        return results


class NumpyBackend:
    name = "numpy"
    device = "cpu"

    def unavailable(self) -> str | None:
        return None

    def lower(self, graph: Graph, options: CompileOptions) -> LoweredGraph:
        note = f"numpy reference interpreter: {len(graph.ops)} ops run one at a time, no kernels"
        return LoweredGraph(self.name, graph, (), (note,))

    def load(self, lowered: LoweredGraph) -> Interpreter:
        return Interpreter(lowered.graph)
