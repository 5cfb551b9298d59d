"""Derivative and batching rules of sort, argsort and the running sums and products
(ir/library/sorting.py)."""

from __future__ import annotations

from ...ir.library import full_params
from ...ir.opcodes import Unsupported
from ..emit import Emitter
from .common import along_axis_batch, axis_of, no_cotangent, no_tangent, same_call


# --- sort and argsort -----------------------------------------------------------------------
def _sorting_indices(e: Emitter, op, x):
    p = full_params(op.attrs)
    (idx,) = e.call("argsort", x, axis=p["axis"], descending=p["descending"], stable=True)
    return idx


def _sort_jvp(e, op, xs, ts, outs):
    (x,), (t,) = xs, ts
    idx = _sorting_indices(e, op, x)
    return [e.call("take_along_axis", t, idx, axis=axis_of(op, x.type.ndim))[0]]


def _sort_vjp(e, op, xs, outs, cts, wants):
    (x,), (ct,) = xs, cts
    idx = _sorting_indices(e, op, x)
    axis = axis_of(op, x.type.ndim)
    return [e.call("scatter_add_along_axis", ct, idx, axis=axis, shape=x.type.shape)[0]]


# --- cumulative sums and products -----------------------------------------------------------
def _cumsum_vjp(e, op, xs, outs, cts, wants):
    (x,), (ct,) = xs, cts
    axis = axis_of(op, x.type.ndim)
    n = x.type.shape[axis]
    if full_params(op.attrs)["include_initial"]:
        ct = e.slice_axis(ct, axis, 1, n)  # the initial zero does not depend on x
    if n == 0:
        return [ct]
    # d sum_{i <= j} x_i / d x_i summed over j >= i: the running sum from the end
    (rev,) = e.call("cumulative_sum", e.flip(ct, axis), axis=axis)
    return [e.flip(rev, axis)]


_CUMPROD_NO = Unsupported(
    "the derivative of a running product divides by the factors, wrong where one is 0; "
    "write the product with tx.scan (differentiable) instead")


JVP = {
    "sort": _sort_jvp,
    "argsort": no_tangent,  # integer indices
    "cumulative_sum": lambda e, op, xs, ts, outs: same_call(op, e, ts[0]),
    "cumulative_prod": _CUMPROD_NO,
}

VJP = {
    "sort": _sort_vjp,
    "argsort": no_cotangent,
    "cumulative_sum": _cumsum_vjp,
    "cumulative_prod": _CUMPROD_NO,
}

BATCH = {
    "sort": along_axis_batch,
    "argsort": along_axis_batch,
    "cumulative_sum": along_axis_batch,
    "cumulative_prod": along_axis_batch,
}
