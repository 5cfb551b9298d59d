"""`dce`: dead-code elimination, one backward sweep with a `used` set.

An op survives when one of its outputs is a graph output or is read by a surviving op. Graph
inputs are kept even when unused (they are the function's signature). No op has side effects:
a control-flow op whose results are all unused goes too (a loop that computes nothing anyone
reads is not run), and inside every region dead ops go as well (`regions.in_regions`).
"""

from __future__ import annotations

from ..ir import Graph
from .regions import in_regions


@in_regions
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
