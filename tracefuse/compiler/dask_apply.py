"""A `tx.function` called with dask arrays: the traced graph (partitioned by
dask_partition.py) turned into dask arrays, lazily. Imported at the first such call; it
imports Dask (`pip install tracefuse[dask]`).

Each value the result needs becomes a dask array once: a dask argument as it is (rechunked
into one chunk along a row op's axes, rechunk=True); an eager value of rank > 0 (computed
with NumPy at the call) as one chunk; a tree reduction with `da.reduction` (its chunk step a
region's chunk function, its combine and aggregate steps compiled too, `TreeStep`: the same
reduction over the partials, giving the op's dtype; Dask's tree; a variance's squared
deviations in one pass, `MomentStep`) or `da.argmax` / `da.argmin`; a
matmul with `da.matmul` (Dask's blocked matmul; the epilogue after it is a region on the
product's chunks); a region with `da.blockwise`, its chunk function on every chunk
(indices: the axis labels, so Dask unifies the chunks of axes that must agree; a region's
result axis that no operand has is a new axis of one chunk). Results come back in the
structure the Python function returned; a result that depends on no dask argument is a dask
array of one chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import user_location, with_location
from ..frontend.tensor import Tensor
from ..ir import OpCode
from ..tracer import pytree
from .dask_moments import MomentStep
from .dask_partition import Partition, TreeStep, is_dask_array, reduced_axes

G = OpCode

def stand_in(x: Any) -> np.ndarray:
    """A NumPy array of a dask array's shape and dtype, with no memory (zero strides): what
    the trace keys on in place of the dask array."""
    if any(np.isnan(c) for chunks in x.chunks for c in chunks):
        raise ValueError(with_location(
            f"a dask array of unknown chunk sizes (shape {x.shape}) was passed to a "
            "tx.function; call x.compute_chunk_sizes() (or rechunk it) first",
            user_location()))
    return np.broadcast_to(np.zeros((), dtype=x.dtype), x.shape)


def partition(cf: Any, leaves: list, factory: Any, rechunk: bool | str = True) -> Partition:
    """The partition of the concrete function `cf` (traced at the dask arguments' full
    shapes) for `leaves` (the call's flattened arguments, some dask arrays)."""
    if cf.reads or cf.writes:
        raise NotImplementedError(with_location(
            f"{cf.function.__name__} reads or assigns tx.Variables; a tx.function over dask "
            "arrays does not support Variables yet: pass their values as arguments",
            user_location()))
    stages = [s for s in ("remat", "optimized") if s in cf.stage_names]
    graph = cf.stage_graph(stages[0])
    dask_chunks, eager = {}, {}
    for i, leaf in enumerate(leaves):
        if is_dask_array(leaf):
            dask_chunks[i] = leaf.chunks
        else:
            eager[i] = leaf.numpy() if isinstance(leaf, Tensor) else leaf
    return Partition(graph, dask_chunks, eager, cf.function.__name__, cf.backend, factory,
                     cf.key.options.fastmath, rechunk)


def call_on_dask(cf: Any, leaves: list, factory: Any, rechunk: bool | str = True) -> Any:
    """The results of the concrete function `cf` (traced at the dask arguments' full shapes)
    on `leaves` (the call's flattened arguments, some dask arrays), as lazy dask arrays; a
    row op's chunked axes rechunked into one chunk (rechunk=True) or a ValueError."""
    import dask.array as da

    part = partition(cf, leaves, factory, rechunk)
    graph = part.graph
    arrays: dict = {}
    for i, v in enumerate(graph.inputs):
        if is_dask_array(leaves[i]):
            axes = part.rechunk_axes.get(i)
            arrays[v] = leaves[i].rechunk({a: -1 for a in axes}) if axes else leaves[i]

    def array(v) -> Any:
        a = arrays.get(v)
        if a is None:
            kind = part.kind(v)
            if kind == "eager":
                value = part.eager[v]
                a = da.from_array(value, chunks=value.shape or ())
            elif kind == "tree":
                a = tree_reduction(da, part, part.producer[v], array)
            elif kind == "matmul":
                a = da.matmul(*(array(u) for u in part.producer[v].inputs))
                a = a if a.dtype == v.type.dtype.np else a.astype(v.type.dtype.np)
            else:
                a = blockwise(da, part, v, array)
            arrays[v] = a
        return a

    outs = [array(v) for v in graph.outputs]
    return pytree.unflatten(cf.out_treedef, outs)


def keep(x: Any, axis: Any = None, keepdims: bool = True) -> Any:
    """The chunk step of `da.reduction` over partials already reduced per chunk."""
    return x


def tree_reduction(da: Any, part: Partition, op: Any, array: Any) -> Any:
    """A reduction over chunked axes, tree-reduced by Dask: its chunk step compiled, fused
    with the region computing its operand (one chunk function, `da.blockwise`: one partial
    per chunk along the reduced axes, of the result's dtype), then compiled combine and
    aggregate steps of that dtype over Dask's tree (`TreeStep`), its tasks named after the
    chunk step's region ("tracefuse-f_region1_reduce_sum-partial": a combine step);
    argmax/argmin: `da.argmax`/`da.argmin` on the operand."""
    out = op.output.type
    keepdims = bool(op.attrs.get("keepdims", False))
    if op.code in (G.ARGMAX, G.ARGMIN):
        fn = da.argmax if op.code is G.ARGMAX else da.argmin
        r = fn(array(op.inputs[0]), axis=op.attrs.get("axis"), keepdims=keepdims)
        return r if r.dtype == out.dtype.np else r.astype(out.dtype.np)
    if op in part.moments or op in part.moment_sums:
        # a one-pass variance's squared deviations (M2), or a sum beside it (count * mean)
        m = part.moment_sums.get(op, op)
        r = raw_moments(da, part, m, array)
        r = r[..., 2] if m is op else r[..., 0] * r[..., 1]
        return (r if keepdims else r.squeeze(axis=reduced_axes(op))).astype(out.dtype.np)
    fn, operands, whole, partial = part.chunk_step(op)
    index = part.index(op.inputs[0])
    axes = reduced_axes(op)
    partials = apply_blockwise(da, part, fn, operands, whole, partial, array, index,
                               {index[a]: 1 for a in axes})
    reducer = TreeStep(op.code, out.dtype.np, part.backend, part.factory, part.fastmath)
    r = da.reduction(partials, keep, reducer, combine=reducer, axis=axes,
                     keepdims=keepdims, dtype=out.dtype.np,
                     meta=np.empty((0,) * len(out.shape), out.dtype.np),
                     name=f"tracefuse-{fn.name}_{op.code.value}")
    return r if r.dtype == out.dtype.np else r.astype(out.dtype.np)


def raw_moments(da: Any, part: Partition, op: Any, array: Any) -> Any:
    """The moments of a one-pass variance `op`'s operand over its axes (dask_moments.py),
    made once per call (`part.raw_moments`): each chunk's (count, mean, M2) from one compiled
    chunk function fused with the region making the operand, Chan's pairwise combine compiled
    over Dask's tree (`MomentStep`); float64, keepdims, a last axis (count, mean, M2)."""
    r = part.raw_moments.get(op)
    if r is None:
        fn, operands, whole, partial = part.moments_step(op)
        axes = reduced_axes(op)
        index = part.index(part.moments[op]) + (part.labels.find(part.axes[partial][-1]),)
        partials = apply_blockwise(da, part, fn, operands, whole, partial, array, index,
                                   {index[a]: 1 for a in axes})
        step = MomentStep(part.backend, part.factory, part.fastmath)
        r = da.reduction(partials, keep, step, combine=step, axis=axes, keepdims=True,
                         dtype=np.float64,
                         meta=np.empty((0,) * len(partial.type.shape), np.float64),
                         name=f"tracefuse-{fn.name}")
        part.raw_moments[op] = r
    return r


def blockwise(da: Any, part: Partition, v: Any, array: Any) -> Any:
    """The region computing `v`, its chunk function on every chunk (`da.blockwise`)."""
    fn, operands, whole = part.region(v)
    return apply_blockwise(da, part, fn, operands, whole, v, array, part.index(v))


def apply_blockwise(da: Any, part: Partition, fn: Any, operands: list, whole: list, v: Any,
                    array: Any, out_index: tuple, adjust: dict | None = None) -> Any:
    """`fn` (computing `v`, of blockwise index `out_index`) on every chunk of its dask
    operands, with its whole operands as they are; `adjust`: index -> each chunk's new size."""
    args: list = []
    seen: set = set()
    for u in operands:
        index = part.index(u)
        seen.update(index)
        args += [array(u), index]
    for u in whole:
        args += [part.whole_value(u), None]
    new_axes = {a: part.labels.size[a] for a in out_index if a not in seen}
    t = v.type
    return da.blockwise(fn, out_index, *args, dtype=t.dtype.np, new_axes=new_axes or None,
                        adjust_chunks=adjust, concatenate=True, align_arrays=True,
                        meta=np.empty((0,) * len(t.shape), t.dtype.np),
                        token=f"tracefuse-{fn.name}")
