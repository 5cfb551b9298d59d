"""`LibraryFunction`, the entry of a library function in `ir.library.FUNCTIONS`, and the
helpers its type rules share (axis normalization, dtype checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import AxisError, DTypeError, ShapeError
from ..dtypes import DType
from ..types import TensorType

TypesRule = Callable[[Sequence[TensorType], Mapping[str, Any]], tuple[TensorType, ...]]
Impl = Callable[[Any, Sequence[Any], Mapping[str, Any], Sequence[TensorType]], Sequence[Any]]

REQUIRED = object()  # a parameter without a default


@dataclass(frozen=True)
class LibraryFunction:
    """One library function: its name (the `fn` attribute of its `call` ops), how many
    operands it takes (`arity`: fewest, most; most None for any number), its parameters and
    their defaults (`params`: name -> default, or REQUIRED), its type rule (operand types and
    the full parameters -> one TensorType per result) and its implementation
    (`impl(xp, arrays, params, out_types)` -> one array per result; `xp` is NumPy or CuPy,
    whichever holds the operands), and a line for people (`doc`)."""

    name: str
    arity: tuple[int, int | None]
    params: Mapping[str, Any]
    types: TypesRule
    impl: Impl
    doc: str = ""


def norm_axis(axis: Any, ndim: int, what: str = "axis") -> int:
    """`axis` in [-ndim, ndim) as a non-negative int; IndexError otherwise (as NumPy)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ShapeError(f"{what} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise AxisError(f"{what} {axis} is out of range for an array of {ndim} dimension(s)")
    return axis % ndim


def require_kind(name: str, t: TensorType, ok: Callable[[DType], bool], want: str) -> None:
    if not ok(t.dtype):
        raise DTypeError(f"{name} needs {want}, got {t.dtype.name}")


def is_real(d: DType) -> bool:
    return d.is_integer or d.is_float or d.is_bool


def is_index(d: DType) -> bool:
    return d.is_integer
