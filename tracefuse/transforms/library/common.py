"""Helpers the library functions' derivative and batching rules share (transforms/library):
a call's axis and parameters, the same call on other operands, the rules of functions with no
derivative, operands made batched, rows that depend on a parameter (`ByParam`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from ...ir.library import full_params
from ..emit import Emitter


class ByParam(NamedTuple):
    """A table row that depends on the value of one of the call's parameters (the scatter's
    `mode`): `rows[value]`, a rule or an `Unsupported`."""

    param: str
    rows: dict[Any, Any]

    def pick(self, op):
        return self.rows[full_params(op.attrs)[self.param]]


def axis_of(op, ndim: int) -> int:
    """The call's `axis` parameter as a non-negative axis of an operand of rank `ndim` (None:
    the only axis of a 1-d operand)."""
    axis = full_params(op.attrs)["axis"]
    return 0 if axis is None else axis % ndim


def params_of(op, **changes):
    """The call's parameters (its attributes but `fn`), with `changes`."""
    p = {k: v for k, v in op.attrs.items() if k != "fn"}
    p.update(changes)
    return p


def same_call(op, e: Emitter, *xs):
    """The call again, on other operands (a linear function's tangent)."""
    return e.call(op.attrs["fn"], *xs, **params_of(op))


def no_tangent(e, op, xs, ts, outs):
    """Integer results: no tangent."""
    return [None] * len(outs)


def no_cotangent(e, op, xs, outs, cts, wants):
    """Integer results: no cotangent."""
    return [None] * len(xs)


def all_batched(e: Emitter, xs, batched, size):
    """The operands, each with the batch axis first (an unbatched one repeated)."""
    return [x if b else e.materialize(x, size) for x, b in zip(xs, batched)]


def along_axis_batch(e, op, xs, batched, size):
    """A function of one operand along `axis`: the same call one axis further."""
    (x,) = xs
    return e.call(op.attrs["fn"], x, **params_of(op, axis=axis_of(op, x.type.ndim - 1) + 1))


def batch_dims_batch(e, op, xs, batched, size):
    """A function that loops over `batch_dims` leading axes (searchsorted, nonzero, unique):
    every operand batched, one more batch axis."""
    xs = all_batched(e, xs, batched, size)
    b = full_params(op.attrs)["batch_dims"]
    return e.call(op.attrs["fn"], *xs, **params_of(op, batch_dims=b + 1))
