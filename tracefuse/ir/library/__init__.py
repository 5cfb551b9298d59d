"""Library functions: what one `call` op runs (`sort`, `cumulative_sum`, `linalg.solve`,
`fft.fft` ...), one `LibraryFunction` per name in the table `FUNCTIONS`.

A `call` op (`%r = call(%x) {fn = "sort", axis = -1, descending = false, stable = true}`)
names its function in the attribute `fn`; its other attributes are the function's static
parameters. The function's entry here owns what the op means, as the per-OpCode tables own
it for the other ops: `types` (operand types and parameters -> the result types; it may have
several results, as `linalg.qr`) and `impl` (the NumPy implementation, which is the oracle,
written against an array module `xp` so that it runs on CuPy arrays too: the `gpu` backend
runs library calls through CuPy, cuSOLVER and cuFFT behind it). Derivative and batching rules
live with the other transform rules (transforms/library), keyed by the same names; a
test checks that every table covers every function.

A call is never fused: the execution plan runs it as a library step between kernels (NumPy's
LAPACK / pocketfft / sort on cpu, CuPy on gpu); elementwise work before and after fuses into
the kernels around it.

The table is assembled explicitly from the family modules (`sorting` ...): no registration by
import side effect.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from ...errors import ShapeError
from ..convert import is_gpu_array
from ..types import TensorType
from . import fft, indexing, linalg, searching, sets, sorting
from .base import REQUIRED, LibraryFunction

__all__ = ["FUNCTIONS", "LibraryFunction", "REQUIRED", "full_params", "lookup", "result_types",
           "run"]

FUNCTIONS: dict[str, LibraryFunction] = {
    f.name: f for f in (
        *sorting.FUNCTIONS,
        *indexing.FUNCTIONS,
        *fft.FUNCTIONS,
        *linalg.FUNCTIONS,
        *searching.FUNCTIONS,
        *sets.FUNCTIONS,
    )
}


def lookup(name: Any) -> LibraryFunction:
    fn = FUNCTIONS.get(name) if isinstance(name, str) else None
    if fn is None:
        raise ShapeError(f"unknown library function {name!r} (known: {', '.join(sorted(FUNCTIONS))})")
    return fn


def params_of(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A call's parameters: its attributes but `fn`."""
    return {k: v for k, v in attrs.items() if k != "fn"}


def result_types(in_types: Sequence[TensorType], attrs: Mapping[str, Any]) -> tuple[TensorType, ...]:
    """The result types of `call` with attributes `attrs` on operands of `in_types`; raises
    ShapeError / DTypeError with a message for people (the caller adds the op and the line)."""
    fn = lookup(attrs.get("fn"))
    lo, hi = fn.arity
    if len(in_types) < lo or (hi is not None and len(in_types) > hi):
        want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
        raise ShapeError(f"{fn.name} takes {want} operand(s), got {len(in_types)}")
    params = params_of(attrs)
    unknown = sorted(set(params) - set(fn.params))
    if unknown:
        raise ShapeError(f"{fn.name} has no parameter {', '.join(map(repr, unknown))} "
                         f"(it takes {', '.join(fn.params) or 'none'})")
    missing = [k for k, d in fn.params.items() if d is REQUIRED and k not in params]
    if missing:
        raise ShapeError(f"{fn.name} needs the parameter {', '.join(map(repr, missing))}")
    return tuple(fn.types(list(in_types), full_params(attrs)))


def full_params(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a call with the function's defaults filled in."""
    fn = lookup(attrs.get("fn"))
    params = params_of(attrs)
    return {k: params.get(k, d) for k, d in fn.params.items()}


def array_module(arrays: Sequence[Any]):
    """NumPy, or CuPy when an operand is a CuPy array (CuPy is then imported already)."""
    return sys.modules["cupy"] if any(is_gpu_array(a) for a in arrays) else np


@functools.lru_cache(maxsize=1024)
def _prepared(in_types: tuple[TensorType, ...], attrs: Mapping[str, Any]):
    """(function, result types, full parameters) of a call: checked once per signature, not
    at every run of a compiled plan's library step."""
    return (lookup(attrs.get("fn")), result_types(in_types, attrs),
            MappingProxyType(full_params(attrs)))


def run(arrays: Sequence[Any], in_types: Sequence[TensorType], attrs: Mapping[str, Any]
        ) -> list[Any]:
    """Run a call: one array per result, each of exactly its result type."""
    fn, outs, params = _prepared(tuple(in_types), attrs)
    xp = array_module(arrays)
    results = fn.impl(xp, list(arrays), params, outs)
    fixed = []
    for r, t in zip(results, outs):
        r = xp.asarray(r)
        if r.dtype != t.dtype.np:
            r = r.astype(t.dtype.np)
        if tuple(r.shape) != t.shape:
            r = xp.reshape(r, t.shape)
        fixed.append(r)
    return fixed
