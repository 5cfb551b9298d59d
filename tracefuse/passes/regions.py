"""Running a pass inside regions: the one helper every pass uses for control-flow ops.

A control-flow op (`cond`, `while`, `scan`: `opcodes.REGIONS`) holds its branches and loop
bodies as graph attributes (`opcodes.GRAPH_ATTRS`). Each region is a graph of its own that
reads only its parameters, so a pass applies to it exactly as to a function. `in_regions(fn)`
makes a pass over flat graphs into one that first runs itself on every region (innermost
first, so a region op's graphs are already optimized when the pass meets the op), then on the
graph; the op gets new graph attributes only where a region changed. Kernel bodies are not
regions: fusion made them, and no pass runs inside them.

A region graph used by several ops (the same `Graph` object) is rewritten once, and every op
gets the same new object: CSE merges region ops whose graphs are the same objects, and a pass
must not make two copies of one body look different.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Container
from typing import Any

from ..ir import Graph, Op
from ..ir.opcodes import GRAPH_ATTRS, REGIONS

Notes = tuple[str, ...]


def map_regions(graph: Graph, fn: Callable[[Graph], Graph], keep: Container[Op] = ()) -> Graph:
    """`graph` with each region of its control-flow ops (one level down) replaced by
    `fn(region)`, but the ops in `keep`; `graph` itself when no region changed."""
    done: dict[Graph, Graph] = {}  # by identity: one body used twice is rewritten once

    def apply(g: Graph) -> Graph:
        if g not in done:
            done[g] = fn(g)
        return done[g]

    ops = []
    changed = False
    for op in graph.ops:
        if op.code in REGIONS and op not in keep:
            new: dict[str, Any] = {}
            for name in GRAPH_ATTRS[op.code]:
                old = op.attrs[name]
                value = tuple(apply(g) for g in old) if isinstance(old, tuple) else apply(old)
                if value is not old and (not isinstance(old, tuple)
                                         or any(a is not b for a, b in zip(value, old))):
                    new[name] = value
            if new:
                op = op.replace(attrs=op.attrs.replace(**new))
                changed = True
        ops.append(op)
    return graph.replace(ops=tuple(ops)) if changed else graph


def in_regions(fn: Callable[..., Graph]) -> Callable[..., Graph]:
    """The pass `fn` (a `Graph -> Graph` over one flat graph, with keyword options) run in
    every region, innermost first, and then on the graph itself."""

    @functools.wraps(fn)
    def run(graph: Graph, *args: Any, **options: Any) -> Graph:
        inner = map_regions(graph, lambda g: run(g, *args, **options))
        return fn(inner, *args, **options)

    return run


def in_regions_report(fn: Callable[[Graph], tuple[Graph, Notes]]
                      ) -> Callable[[Graph], tuple[Graph, Notes]]:
    """`in_regions` for a pass that also returns notes (fusion's refusals): the notes of the
    regions, innermost first, then the graph's own."""

    @functools.wraps(fn)
    def run(graph: Graph) -> tuple[Graph, Notes]:
        notes: list[str] = []

        def region(g: Graph) -> Graph:
            new, region_notes = run(g)
            notes.extend(region_notes)
            return new

        new, own = fn(map_regions(graph, region))
        return new, tuple(notes) + tuple(own)

    return run
