"""Derivative and batching rules of searchsorted and nonzero (ir/library/searching.py): integer
results, so no derivative; vmap loops over one more leading axis (`batch_dims`)."""

from __future__ import annotations

from .common import batch_dims_batch, no_cotangent, no_tangent

JVP = {"searchsorted": no_tangent, "nonzero": no_tangent}
VJP = {"searchsorted": no_cotangent, "nonzero": no_cotangent}
BATCH = {"searchsorted": batch_dims_batch, "nonzero": batch_dims_batch}
