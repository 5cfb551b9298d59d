"""The backend interface: `lower` a graph to kernel sources and its execution plan (plan.py)
without touching a device, then `load` the result into an `Executable` that maps input arrays
to output arrays.

A backend is an object with a `name`, the `device` its arrays live on, `unavailable()` (None
when it can run here, else one line saying what is missing and how to get it), `lower` and
`load`. Backends never see Tensors, tracers or the API: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..ir import Graph
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
