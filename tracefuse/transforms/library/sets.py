"""Derivative and batching rules of unique (ir/library/sets.py): vmap loops over one more
leading axis (`batch_dims`); no derivative (its values are a value-dependent selection of x:
differentiate `tx.take(x, indices)` with the indices unique_all gives instead)."""

from __future__ import annotations

from ...ir.opcodes import Unsupported
from .common import batch_dims_batch

_UNIQUE_NO = Unsupported(
    "unique picks elements by their values; differentiate tx.take(tx.reshape(x, (-1,)), "
    "indices) with the indices of tx.unique_all instead")

JVP = {"unique": _UNIQUE_NO}
VJP = {"unique": _UNIQUE_NO}
BATCH = {"unique": batch_dims_batch}
