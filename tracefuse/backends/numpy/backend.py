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

from ...ir import NUMPY_IMPL, Graph, OpCode
from ..base import CompileOptions, LoweredGraph


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
            if op.code is OpCode.KERNEL:  # a fused kernel: run its body, several results
                impl, out_slot = Interpreter(op.attrs["body"]), tuple(slots[v] for v in op.outputs)
            else:
                impl, out_slot = NUMPY_IMPL[op.code], slots[op.output]
            self.steps.append((impl, tuple(slots[v] for v in op.inputs),
                               tuple(v.type for v in op.inputs), op.attrs, op.outputs[0].type,
                               out_slot, free))
        self.out_slots = tuple(slots[v] for v in graph.outputs)

    def __call__(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        results = []
        for out in self.run(arrays):
            if any(np.may_share_memory(out, a) for a in arrays):
                out = out.copy()
            results.append(out)
        return results

    def run(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The outputs, which may be views of the inputs (a kernel body's are)."""
        env: list = list(arrays) + [None] * (self.n_slots - self.n_inputs)
        with np.errstate(all="ignore"):
            for impl, ins, in_types, attrs, out_type, slot, free in self.steps:
                if type(slot) is tuple:
                    for s, value in zip(slot, impl.run([env[i] for i in ins])):
                        env[s] = value
                else:
                    env[slot] = impl([env[i] for i in ins], in_types, attrs, out_type)
                for s in free:
                    env[s] = None
        return [env[s] for s in self.out_slots]


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
        return LoweredGraph(self.name, graph, (), (note,))

    def load(self, lowered: LoweredGraph) -> Interpreter:
        return Interpreter(lowered.graph)
