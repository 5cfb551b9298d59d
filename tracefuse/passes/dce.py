"""`dce`: dead-code elimination, one backward sweep with a `used` set.

An op survives when one of its outputs is a graph output or is read by a surviving op. Graph
inputs are kept even when unused (they are the function's signature).
"""

from __future__ import annotations

from ..ir import Graph


def dce(graph: Graph) -> Graph:
    used = set(graph.outputs)
    kept = []
    for op in reversed(graph.ops):
        if any(v in used for v in op.outputs):
            kept.append(op)
            used.update(op.inputs)
    if len(kept) == len(graph.ops):
        return graph
    return graph.replace(ops=tuple(reversed(kept)))
