"""Derivative and batching rules of the library functions (ir/library), keyed by name: the
entries `JVP_RULES[call]`, `VJP_RULES[call]` and `BATCH_RULES[call]` are these tables, and the
drivers pick the row of the call's `fn`. A function without a rule has an explicit
`Unsupported(reason)` row; a test checks that every table covers every function.

Signatures (a call may have several results):
- JVP: `rule(e, op, xs, ts, outs) -> [tangent | None per result]`; `ts[i]` is None where
  operand i has a zero tangent, `outs` are the call's results already emitted.
- VJP: `rule(e, op, xs, outs, cts, wants) -> [cotangent | None per operand]`; `cts[j]` is None
  where result j has a zero cotangent. As for the other ops, a cotangent shaped like a
  broadcast operand's stretched shape is summed back by the driver.
- Batching: `rule(e, op, xs, batched, size) -> [result per result]`, each with the batch axis
  first (batched operands have it first).
"""

from __future__ import annotations

from ..ir.library import full_params
from ..ir.opcodes import Unsupported
from .emit import Emitter


def _axis(op, ndim: int) -> int:
    """The call's `axis` parameter as a non-negative axis of an operand of rank `ndim` (None:
    the only axis of a 1-d operand)."""
    axis = full_params(op.attrs)["axis"]
    return 0 if axis is None else axis % ndim


def _params(op, **changes):
    p = {k: v for k, v in op.attrs.items() if k != "fn"}
    p.update(changes)
    return p


def _same_call(op, e: Emitter, *xs):
    """The call again, on other operands (a linear function's tangent)."""
    return e.call(op.attrs["fn"], *xs, **_params(op))


# --- sort and argsort -----------------------------------------------------------------------
def _sorting_indices(e: Emitter, op, x):
    p = full_params(op.attrs)
    (idx,) = e.call("argsort", x, axis=p["axis"], descending=p["descending"], stable=True)
    return idx


def _sort_jvp(e, op, xs, ts, outs):
    (x,), (t,) = xs, ts
    idx = _sorting_indices(e, op, x)
    return [e.call("take_along_axis", t, idx, axis=_axis(op, x.type.ndim))[0]]


def _sort_vjp(e, op, xs, outs, cts, wants):
    (x,), (ct,) = xs, cts
    idx = _sorting_indices(e, op, x)
    axis = _axis(op, x.type.ndim)
    return [e.call("scatter_add_along_axis", ct, idx, axis=axis, shape=x.type.shape)[0]]


def _along_axis_batch(e, op, xs, batched, size):
    """A function of one operand along `axis`: the same call one axis further."""
    (x,) = xs
    return e.call(op.attrs["fn"], x, **_params(op, axis=_axis(op, x.type.ndim - 1) + 1))


# --- cumulative sums and products -----------------------------------------------------------
def _cumsum_vjp(e, op, xs, outs, cts, wants):
    (x,), (ct,) = xs, cts
    axis = _axis(op, x.type.ndim)
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


# --- gathers and scatters -------------------------------------------------------------------
def _gather_jvp(e, op, xs, ts, outs):
    x, idx = xs
    return [_same_call(op, e, ts[0], idx)[0] if ts[0] is not None else None]


def _gather_vjp(e, op, xs, outs, cts, wants):
    x, idx = xs
    (ct,), (out,) = cts, outs
    axis = _axis(op, x.type.ndim)
    idx = e.broadcast(idx, out.type.shape) if idx.type.shape != out.type.shape else idx
    shape = tuple(x.type.shape[axis] if i == axis else d for i, d in enumerate(out.type.shape))
    return [e.call("scatter_add_along_axis", ct, idx, axis=axis, shape=shape)[0], None]


def _scatter_jvp(e, op, xs, ts, outs):
    updates, idx = xs
    return [_same_call(op, e, ts[0], idx)[0] if ts[0] is not None else None]


def _scatter_vjp(e, op, xs, outs, cts, wants):
    updates, idx = xs
    (ct,) = cts
    axis = _axis(op, updates.type.ndim)
    return [e.call("take_along_axis", ct, idx, axis=axis)[0], None]


def _both_batched(e, xs, batched, size):
    return [x if b else e.materialize(x, size) for x, b in zip(xs, batched)]


def _gather_batch(e, op, xs, batched, size):
    x, idx = _both_batched(e, xs, batched, size)
    return e.call("take_along_axis", x, idx, axis=_axis(op, x.type.ndim - 1) + 1)


def _scatter_batch(e, op, xs, batched, size):
    updates, idx = _both_batched(e, xs, batched, size)
    p = full_params(op.attrs)
    return e.call("scatter_add_along_axis", updates, idx,
                  axis=_axis(op, updates.type.ndim - 1) + 1, shape=(size,) + tuple(p["shape"]))


def _no_tangent(e, op, xs, ts, outs):
    return [None] * len(outs)


def _no_cotangent(e, op, xs, outs, cts, wants):
    return [None] * len(xs)


JVP = {
    "sort": _sort_jvp,
    "argsort": _no_tangent,  # integer indices
    "cumulative_sum": lambda e, op, xs, ts, outs: _same_call(op, e, ts[0]),
    "cumulative_prod": _CUMPROD_NO,
    "take_along_axis": _gather_jvp,
    "scatter_add_along_axis": _scatter_jvp,
}

VJP = {
    "sort": _sort_vjp,
    "argsort": _no_cotangent,
    "cumulative_sum": _cumsum_vjp,
    "cumulative_prod": _CUMPROD_NO,
    "take_along_axis": _gather_vjp,
    "scatter_add_along_axis": _scatter_vjp,
}

BATCH = {
    "sort": _along_axis_batch,
    "argsort": _along_axis_batch,
    "cumulative_sum": _along_axis_batch,
    "cumulative_prod": _along_axis_batch,
    "take_along_axis": _gather_batch,
    "scatter_add_along_axis": _scatter_batch,
}

TABLES = {"JVP": JVP, "VJP": VJP, "BATCH": BATCH}


def op_name(op) -> str:
    """How errors name an op: a call by its function (`sort`), any other op by its code."""
    return op.attrs["fn"] if op.code.value == "call" else op.code.value


def rule_of(table: dict, op):
    """The row of `table` for the call `op` (Unsupported when the function has none)."""
    fn = op.attrs["fn"]
    return table.get(fn, Unsupported(f"library function {fn!r} has no rule here yet"))

