"""What the public transforms share: a user's arguments as leaves with a way back to the call
(`Arguments`), naming an argument the way the user wrote it, tracing the user's function into a
sub-graph, and running a transformed graph (`apply_graph`): inlined into the trace in progress,
or — with nothing being traced (`tx.config.run_functions_eagerly(True)`, `tx.vjp` called
eagerly) — evaluated op by op with the NumPy table, as eager ops are.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import user_location, with_location
from ..frontend.device import is_gpu_array
from ..frontend.tensor import Tensor
from ..ir import Graph, TensorType
from ..ir.convert import to_array
from ..ir.numpy_impl import evaluate_graph
from ..tracer import pytree
from ..tracer.tracer import Tracer, current_builder
from ..transforms.graphs import Traced, inline, leaf_type, trace_graph


def fn_name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def param_names(fn: Any, count: int) -> list[str]:
    """The names of the first `count` positional parameters of `fn` (arg0 ... where unknown)."""
    names: list[str] = []
    try:
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
            elif p.kind is p.VAR_POSITIONAL:
                names += [f"{p.name}[{i}]" for i in range(count - len(names))]
                break
    except (TypeError, ValueError):
        pass
    return names[:count] + [f"arg{i}" for i in range(len(names), count)]


class Arguments:
    """A call's positional and keyword arguments flattened into leaves, each leaf knowing which
    positional argument it belongs to (-1: a keyword argument)."""

    def __init__(self, fn: Any, args: tuple, kwargs: dict):
        self.fn = fn
        self.args, self.kwargs = args, kwargs
        self.treedefs, self.leaves, self.owner = [], [], []
        for i, a in enumerate(args):
            leaves, td = pytree.flatten(a)
            self.treedefs.append(td)
            self.leaves += leaves
            self.owner += [i] * len(leaves)
        kw_leaves, self.kw_treedef = pytree.flatten(kwargs)
        self.leaves += kw_leaves
        self.owner += [-1] * len(kw_leaves)
        self.names = param_names(fn, len(args))

    def leaves_of(self, argnum: int) -> list[int]:
        return [i for i, o in enumerate(self.owner) if o == argnum]

    def leaf_path(self, index: int) -> str:
        argnum = self.owner[index]
        if argnum < 0:
            return "a keyword argument"
        first = self.leaves_of(argnum)[0]
        paths = pytree.leaf_paths(self.treedefs[argnum], self.names[argnum])
        return paths[index - first]

    def rebuild(self, leaves: Sequence[Any]) -> tuple[tuple, dict]:
        args, at = [], 0
        for td in self.treedefs:
            n = pytree.num_leaves(td)
            args.append(pytree.unflatten(td, list(leaves[at:at + n])))
            at += n
        kwargs = pytree.unflatten(self.kw_treedef, list(leaves[at:]))
        return tuple(args), kwargs

    def unflatten_arg(self, argnum: int, leaves: Sequence[Any]) -> Any:
        return pytree.unflatten(self.treedefs[argnum], list(leaves))

    def trace(self, fn: Any, name: str, types: Sequence[TensorType] | None = None) -> Traced:
        """`fn` traced into a sub-graph with one input per leaf (of `types`, or the leaves')."""
        types = [leaf_type(x) for x in self.leaves] if types is None else types
        return trace_graph(fn, types, self.rebuild, name)


def outer_values(traced: Traced, leaves: Sequence[Any]) -> list[Any]:
    """The caller's values for a sub-graph's inputs: the argument leaves, then the captures."""
    return list(leaves) + list(traced.captured)


def _eager_array(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._array
    if isinstance(x, np.ndarray) or is_gpu_array(x):
        return x
    return to_array(x)[0]


def apply_graph(graph: Graph, values: Sequence[Any]) -> list[Any]:
    """Run `graph` on `values` (Tracers, Tensors, arrays, Python scalars): inlined into the trace
    in progress (returning Tracers), else evaluated now op by op (returning Tensors)."""
    builder = current_builder()
    if builder is None:
        for v in values:
            if isinstance(v, Tracer):
                builder = v._builder
                break
    if builder is not None:
        inputs = [builder.lift(v) for v in values]
        return [Tracer(builder, v) for v in inline(builder, graph, inputs)]
    with np.errstate(all="ignore"):
        outs = evaluate_graph(graph, [_eager_array(v) for v in values])
    return [Tensor._wrap(o) for o in outs]


def located(error: type, message: str) -> Exception:
    return error(with_location(message, user_location()))
