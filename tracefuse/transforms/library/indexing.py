"""Derivative and batching rules of the gathers and scatters (ir/library/indexing.py).

`gather` is linear in x: its cotangent is a scatter-add into zeros. `scatter` "add" is linear
in (x, updates); "set" too, once it is known which update won at each position: the VJP
scatters the updates' own ids, gathers them back and gives the cotangent only to the winners
(so with repeated indices exactly one update gets it, the one the backend kept). "multiply",
"min" and "max" have no derivative here. Batched indices get one more index array, the batch
position, over the batch axis moved in front of the indexed axes.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir import OpCode
from ...ir import dtypes as dt
from ...ir.library import full_params
from ...ir.opcodes import Unsupported
from ...ir.types import TensorType
from .common import ByParam, all_batched, axis_of, same_call


# --- gathers and scatters -------------------------------------------------------------------
def _gather_jvp(e, op, xs, ts, outs):
    x, idx = xs
    return [same_call(op, e, ts[0], idx)[0] if ts[0] is not None else None]


def _gather_vjp(e, op, xs, outs, cts, wants):
    x, idx = xs
    (ct,), (out,) = cts, outs
    axis = axis_of(op, x.type.ndim)
    idx = e.broadcast(idx, out.type.shape) if idx.type.shape != out.type.shape else idx
    shape = tuple(x.type.shape[axis] if i == axis else d for i, d in enumerate(out.type.shape))
    return [e.call("scatter_add_along_axis", ct, idx, axis=axis, shape=shape)[0], None]


def _scatter_jvp(e, op, xs, ts, outs):
    updates, idx = xs
    return [same_call(op, e, ts[0], idx)[0] if ts[0] is not None else None]


def _scatter_vjp(e, op, xs, outs, cts, wants):
    updates, idx = xs
    (ct,) = cts
    axis = axis_of(op, updates.type.ndim)
    return [e.call("take_along_axis", ct, idx, axis=axis)[0], None]


def _gather_batch(e, op, xs, batched, size):
    x, idx = all_batched(e, xs, batched, size)
    return e.call("take_along_axis", x, idx, axis=axis_of(op, x.type.ndim - 1) + 1)


def _scatter_batch(e, op, xs, batched, size):
    updates, idx = all_batched(e, xs, batched, size)
    p = full_params(op.attrs)
    return e.call("scatter_add_along_axis", updates, idx,
                  axis=axis_of(op, updates.type.ndim - 1) + 1, shape=(size,) + tuple(p["shape"]))


# --- gather and scatter over consecutive axes -------------------------------------------------
def _gather_nd_jvp(e, op, xs, ts, outs):
    x, *idx = xs
    return [same_call(op, e, ts[0], *idx)[0] if ts[0] is not None else None]


def _gather_nd_vjp(e, op, xs, outs, cts, wants):
    x, *idx = xs
    (ct,) = cts
    axis = full_params(op.attrs)["axis"]
    (back,) = e.call("scatter", e.zeros(x.type), ct, *idx, axis=axis, mode="add")
    return [back] + [None] * len(idx)


def _scatter_add_jvp(e, op, xs, ts, outs):
    x, _, *idx = xs
    tx, tu = ts[0], ts[1]
    if tu is None:
        return [tx]
    return same_call(op, e, tx if tx is not None else e.zeros(x.type), tu, *idx)


def _scatter_set_jvp(e, op, xs, ts, outs):
    x, u, *idx = xs
    tx = ts[0] if ts[0] is not None else e.zeros(x.type)
    tu = ts[1] if ts[1] is not None else e.zeros(u.type)
    return same_call(op, e, tx, tu, *idx)


def _gather_back(e, op, ct, idx):
    """The cotangent at the scattered positions (0 where an index was out of range)."""
    axis = full_params(op.attrs)["axis"]
    return e.call("gather", ct, *idx, axis=axis, mode="fill")[0]


def _scatter_add_vjp(e, op, xs, outs, cts, wants):
    idx = xs[2:]
    (ct,) = cts
    return [ct, _gather_back(e, op, ct, idx) if wants[1] else None] + [None] * len(idx)


def _scatter_set_vjp(e, op, xs, outs, cts, wants):
    x, u, *idx = xs
    (ct,) = cts
    ct_x = same_call(op, e, ct, e.zeros(u.type), *idx)[0] if wants[0] else None
    ct_u = None
    if wants[1]:
        # which update each position kept: scatter the updates' ids, read them back
        index = TensorType(x.type.shape, dt.DEFAULT_INDEX)
        ids = e.constant(np.arange(math.prod(u.type.shape), dtype=np.int64)
                         .reshape(u.type.shape))
        (kept,) = same_call(op, e, e.full(index, -1), ids, *idx)
        won = e.op(OpCode.EQUAL, _gather_back(e, op, kept, idx), ids)
        ct_u = e.where(won, _gather_back(e, op, ct, idx), e.zeros(u.type))
    return [ct_x, ct_u] + [None] * len(idx)


_ACCUMULATE_NO = Unsupported(
    "the derivative of a scatter that multiplies, or keeps the min or max, depends on which "
    "updates met at a position; write it with .at[].set / .at[].add or tx.where")


def _batch_index(e, idx, batched, size):
    """The index arrays of a batched gather or scatter whose batch axis is indexed too: the
    batch position (`arange(size)`) first, each batched index array with its batch axis in
    front of the broadcast index shape B."""
    logical = [i.type.shape[1:] if b else i.type.shape for i, b in zip(idx, batched)]
    nb = len(np.broadcast_shapes(*logical))
    out = [e.constant(np.arange(size, dtype=np.int64).reshape((size,) + (1,) * nb))]
    for i, b, shape in zip(idx, batched, logical):
        out.append(e.reshape(i, (size,) + (1,) * (nb - len(shape)) + shape) if b else i)
    return out


def _gather_nd_batch(e, op, xs, batched, size):
    x, *idx = xs
    p = full_params(op.attrs)
    if not any(batched[1:]):
        return e.call("gather", x, *idx, axis=p["axis"] + 1, mode=p["mode"])
    x = x if batched[0] else e.materialize(x, size)
    x = e.move_axis(x, 0, p["axis"])
    (out,) = e.call("gather", x, *_batch_index(e, idx, batched[1:], size), axis=p["axis"],
                    mode=p["mode"])
    return [e.move_axis(out, p["axis"], 0)]


def _scatter_nd_batch(e, op, xs, batched, size):
    x, u, *idx = xs
    p = full_params(op.attrs)
    x, u = all_batched(e, [x, u], batched[:2], size)
    if not any(batched[2:]):
        return e.call("scatter", x, u, *idx, axis=p["axis"] + 1, mode=p["mode"])
    x, u = e.move_axis(x, 0, p["axis"]), e.move_axis(u, 0, p["axis"])
    (out,) = e.call("scatter", x, u, *_batch_index(e, idx, batched[2:], size), axis=p["axis"],
                    mode=p["mode"])
    return [e.move_axis(out, p["axis"], 0)]


JVP = {
    "take_along_axis": _gather_jvp,
    "scatter_add_along_axis": _scatter_jvp,
    "gather": _gather_nd_jvp,
    "scatter": ByParam("mode", {"set": _scatter_set_jvp, "add": _scatter_add_jvp,
                                "multiply": _ACCUMULATE_NO, "min": _ACCUMULATE_NO,
                                "max": _ACCUMULATE_NO}),
}

VJP = {
    "take_along_axis": _gather_vjp,
    "scatter_add_along_axis": _scatter_vjp,
    "gather": _gather_nd_vjp,
    "scatter": ByParam("mode", {"set": _scatter_set_vjp, "add": _scatter_add_vjp,
                                "multiply": _ACCUMULATE_NO, "min": _ACCUMULATE_NO,
                                "max": _ACCUMULATE_NO}),
}

BATCH = {
    "take_along_axis": _gather_batch,
    "scatter_add_along_axis": _scatter_batch,
    "gather": _gather_nd_batch,
    "scatter": _scatter_nd_batch,
}
