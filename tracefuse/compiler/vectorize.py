"""`tx.vmap(fn, in_axes=0, out_axes=0)` (JAX's signature): `fn` traced once for one example,
batched by `transforms/batching.py`'s `vmap_graph` (one rule per op: the batch is an axis of
every value, not a Python loop), and run with `apply_graph`. It returns a `tx.function`: called
eagerly it traces once per input signature and compiles; inside a trace it is inlined.

`in_axes` is an int, None, or a tuple with one entry per positional argument, each an int, None
or a pytree matching that argument (JAX's prefix rule); keyword arguments are mapped over axis
0. `out_axes` likewise for the output.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..errors import ShapeError
from ..ir import TensorType
from ..tracer import pytree
from ..transforms.batching import vmap_graph
from ..transforms.graphs import leaf_type
from .apply import Arguments, apply_graph, fn_name, located, outer_values
from .function import Function


def _prefix(spec: Any, tree: Any, what: str) -> list[Any]:
    """`spec` (an int/None, or a structure that is a prefix of `tree`'s) for each leaf."""
    if spec is None or isinstance(spec, int) and not isinstance(spec, bool):
        return [spec] * len(pytree.flatten(tree)[0])
    if isinstance(spec, (tuple, list)) and isinstance(tree, (tuple, list)) \
            and len(spec) == len(tree):
        return [a for s, t in zip(spec, tree) for a in _prefix(s, t, what)]
    if isinstance(spec, dict) and isinstance(tree, dict) and set(spec) == set(tree):
        return [a for k in tree for a in _prefix(spec[k], tree[k], what)]
    raise located(ValueError, f"vmap: {what} {spec!r} does not match the structure of the "
                  f"value it describes (a {type(tree).__name__}); give an int or None, or a "
                  "structure like the value's")


def _in_axes(A: Arguments, in_axes: Any) -> list[int | None]:
    if isinstance(in_axes, (tuple, list)):
        if len(in_axes) != len(A.args):
            raise located(ValueError, f"vmap: in_axes has {len(in_axes)} entries but the "
                          f"function was called with {len(A.args)} positional arguments")
        axes = [a for spec, arg in zip(in_axes, A.args) for a in _prefix(spec, arg, "in_axes")]
    else:
        axes = [a for arg in A.args for a in _prefix(in_axes, arg, "in_axes")]
    return axes + [0] * (len(A.leaves) - len(axes))  # keyword arguments: axis 0


def _out_axes(out_axes: Any, treedef: Any) -> list[Any]:
    n = pytree.num_leaves(treedef)
    if out_axes is None or isinstance(out_axes, int):
        return [out_axes] * n
    skeleton = pytree.unflatten(treedef, [0] * n)
    return _prefix(out_axes, skeleton, "out_axes")


def _batch(fn: Callable, in_axes: Any, out_axes: Any, args: tuple, kwargs: dict):
    name = fn_name(fn)
    A = Arguments(fn, args, kwargs)
    axes = _in_axes(A, in_axes)
    types, sizes, norm = [], [], []
    for i, (leaf, axis) in enumerate(zip(A.leaves, axes)):
        t = leaf_type(leaf)
        if axis is None:
            types.append(t)
            norm.append(None)
            continue
        if t.ndim == 0:
            raise located(ValueError, f"vmap: argument {A.leaf_path(i)} is a scalar (shape ()) "
                          f"but in_axes maps it over axis {axis}; give it in_axes None")
        if not -t.ndim <= axis < t.ndim:
            raise located(ValueError, f"vmap: in_axes {axis} is out of range for argument "
                          f"{A.leaf_path(i)} of shape {t.shape}")
        axis %= t.ndim
        norm.append(axis)
        sizes.append((A.leaf_path(i), t.shape[axis], axis))
        types.append(TensorType(t.shape[:axis] + t.shape[axis + 1:], t.dtype, t.weak))
    if not sizes:
        raise located(ValueError, "vmap: no argument is mapped (every in_axes is None); map "
                      "at least one argument over an axis")
    size = sizes[0][1]
    if any(s != size for _, s, _ in sizes):
        listed = ", ".join(f"{p} has size {s} on axis {a}" for p, s, a in sizes)
        raise located(ValueError, f"vmap got different sizes for the mapped axis: {listed}. "
                      "Every mapped argument needs the same size along its in_axes axis")
    traced = A.trace(fn, f"vmap_{name}", types)
    graph = traced.graph
    outs_axes = []
    for v, axis in zip(graph.outputs, _out_axes(out_axes, traced.out_treedef)):
        if axis is not None:
            rank = v.type.ndim + 1
            if not -rank <= axis < rank:
                raise located(ShapeError, f"vmap: out_axes {axis} is out of range for an "
                              f"output of {v.type.ndim} dimensions (plus the batch axis)")
            axis %= rank
        outs_axes.append(axis)
    mapped = vmap_graph(graph, norm + [None] * len(traced.captured), size, outs_axes)
    outs = apply_graph(mapped, outer_values(traced, A.leaves))
    return pytree.unflatten(traced.out_treedef, outs)


def vmap(fn: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Function:
    """`fn` mapped over an axis of its arguments (JAX's `vmap`): `in_axes` says which axis of
    each argument is the batch (None: not mapped), `out_axes` where the batch axis goes in each
    output. Composes with grad, jit and itself."""
    def body(*args, **kwargs):
        return _batch(fn, in_axes, out_axes, args, kwargs)

    functools.update_wrapper(body, fn, updated=())
    return Function(body, name=f"vmap({fn_name(fn)})")
