"""The backend interface: `lower` a graph to kernel sources and its execution plan (plan.py)
without touching a device, then `load` the result into an `Executable` that maps input arrays
to output arrays.

A backend is an object with a `name`, the `device` its arrays live on, `unavailable()` (None
when it can run here, else one line saying what is missing and how to get it), `lower` and
`load`. Backends never see Tensors, tracers or the API: arrays in, arrays out. Also the
helpers every backend uses for its `f.explain()` notes (`kernel_note`, `loop_extent`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..ir import Graph, Op
from .plan import Plan


@dataclass(frozen=True)
class CompileOptions:
    """Every flag that changes generated code; part of the concrete-function cache key."""

    fastmath: bool = False


@dataclass(frozen=True)
class LoweredGraph:
    """What `lower` produces: the graph, each kernel's source, notes for `f.explain()`, and the
    execution plan (the same `Plan` type on every backend; its kernel steps carry the backend's
    lowered kernels)."""

    backend: str
    graph: Graph
    kernels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    plan: Plan | None = field(default=None, compare=False)


class Executable(Protocol):
    def __call__(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]: ...


class Backend(Protocol):
    name: str
    device: str
    source_suffix: str  # the file suffix of its kernel sources (".py", ".cu"; "" if none)

    def unavailable(self) -> str | None: ...

    def lower(self, graph: Graph, options: CompileOptions) -> LoweredGraph: ...

    def load(self, lowered: LoweredGraph) -> Executable: ...


def user_lines(op: Op) -> list[str]:
    """The user's source lines (file:line) of the ops in a kernel op's body, sorted."""
    return sorted({o.loc.short() for o in op.attrs["body"].ops if o.loc.line})


def kernel_note(op: Op, how: str) -> str:
    """The `f.explain()` line of one kernel op: its name and kind, how the backend runs it,
    the ops of its body and the user's lines they came from."""
    ops = ", ".join(o.code.value for o in op.attrs["body"].ops)
    lines = user_lines(op)
    return (f"kernel @{op.attrs['name']} {op.attrs['kind']}: {how}; ops {ops}"
            + (f"; from {', '.join(lines)}" if lines else ""))


def loop_extent(loop: Any) -> str:
    """The loop sizes of a lowered kernel (a `LoopKernel`), outer then reduced: "64 x 1000"."""
    return " x ".join(str(loop.sizes[a]) for a in loop.outer + loop.reduced) or "one element"

