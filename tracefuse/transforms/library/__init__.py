"""Derivative and batching rules of the library functions (ir/library), keyed by name, one
module per family (`sorting`, `indexing` ...): the entries `JVP_RULES[call]`,
`VJP_RULES[call]` and `BATCH_RULES[call]` are the tables `JVP`, `VJP`, `BATCH` here, and the
drivers pick the row of the call's `fn`. A function without a rule has an explicit
`Unsupported(reason)` row; a test checks that every table covers every function. A row may
depend on a parameter's value (`ByParam`: the scatter's derivative by its `mode`).

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

from ...ir.opcodes import Unsupported
from . import fft, indexing, linalg, searching, sets, sorting
from .common import ByParam

FAMILIES = (sorting, indexing, searching, sets, linalg, fft)

JVP = {k: v for m in FAMILIES for k, v in m.JVP.items()}
VJP = {k: v for m in FAMILIES for k, v in m.VJP.items()}
BATCH = {k: v for m in FAMILIES for k, v in m.BATCH.items()}
TABLES = {"JVP": JVP, "VJP": VJP, "BATCH": BATCH}


def op_name(op) -> str:
    """How errors name an op: a call by its function (`sort`), any other op by its code."""
    return op.attrs["fn"] if op.code.value == "call" else op.code.value


def rule_of(table: dict, op):
    """The row of `table` for the call `op` (Unsupported when the function has none)."""
    fn = op.attrs["fn"]
    row = table.get(fn, Unsupported(f"library function {fn!r} has no rule here yet"))
    return row.pick(op) if isinstance(row, ByParam) else row

