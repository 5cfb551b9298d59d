"""The tracer: `Tracer` proxies, the `GraphBuilder` they record into, and pytrees."""

from .pytree import flatten, leaf_paths, unflatten
from .tracer import GraphBuilder, Tracer, current_builder, tracing

__all__ = ["GraphBuilder", "Tracer", "current_builder", "flatten", "leaf_paths", "tracing",
           "unflatten"]
