"""Derivative and batching rules of the gathers and scatters (ir/library/indexing.py)."""

from __future__ import annotations

from ...ir.library import full_params
from .common import all_batched, axis_of, same_call


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


JVP = {
    "take_along_axis": _gather_jvp,
    "scatter_add_along_axis": _scatter_jvp,
}

VJP = {
    "take_along_axis": _gather_vjp,
    "scatter_add_along_axis": _scatter_vjp,
}

BATCH = {
    "take_along_axis": _gather_batch,
    "scatter_add_along_axis": _scatter_batch,
}
