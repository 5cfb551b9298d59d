"""Data type functions of the array API: `result_type`, `can_cast`, `finfo`, `iinfo`, `isdtype`.

They answer with tracefuse's promotion rules (ir/dtypes.py), which treat Python scalars as weak.
`finfo` and `iinfo` give the standard's fields as Python numbers (NumPy's are NumPy scalars:
`np.finfo(np.float32).max` is an `np.float32`, which is not a Python float).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..ir import dtypes as dt
from ..ir.convert import PY_SCALARS


def _dw(x: Any) -> tuple[dt.DType, bool]:
    if isinstance(x, PY_SCALARS):
        return dt.weak_dtype_of_scalar(x), True
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return dt.as_dtype(x.dtype), False
    return dt.as_dtype(x), False


def result_type(*arrays_and_dtypes: Any) -> dt.DType:
    """The dtype that combining these arrays, dtypes and Python scalars gives."""
    if not arrays_and_dtypes:
        raise ValueError("result_type needs at least one array or dtype")
    d, weak = dt.promote_all([_dw(x) for x in arrays_and_dtypes])
    return d


def can_cast(from_: Any, to: Any, /) -> bool:
    """Whether `from_` converts to `to` without loss under the promotion rules ("safe")."""
    return bool(np.can_cast(_dw(from_)[0].np, dt.as_dtype(to).np, casting="safe"))


class finfo_object(NamedTuple):
    """Machine limits of a floating-point dtype (for a complex one: of its real part)."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: dt.DType

    @property
    def tiny(self) -> float:  # NumPy's name for smallest_normal
        return self.smallest_normal


class iinfo_object(NamedTuple):
    """Machine limits of an integer dtype."""

    bits: int
    max: int
    min: int
    dtype: dt.DType


def finfo(type: Any, /) -> finfo_object:
    """The limits of a floating-point dtype (or of an array's dtype), as Python floats."""
    d = _dw(type)[0]
    if d.kind not in "fc":
        raise TypeError(f"finfo needs a floating-point dtype, not {d.name}; use iinfo for "
                        "integers")
    info = np.finfo(dt.real_dtype(d).np)  # a complex dtype: the limits of its parts
    return finfo_object(bits=int(info.bits), eps=float(info.eps), max=float(info.max),
                        min=float(info.min), smallest_normal=float(info.smallest_normal),
                        dtype=dt.as_dtype(info.dtype))


def iinfo(type: Any, /) -> iinfo_object:
    """The limits of an integer dtype (or of an array's dtype), as Python ints."""
    d = _dw(type)[0]
    if not d.is_integer:
        raise TypeError(f"iinfo needs an integer dtype, not {d.name}; use finfo for "
                        "floating-point types")
    info = np.iinfo(d.np)
    return iinfo_object(bits=int(info.bits), max=int(info.max), min=int(info.min), dtype=d)


_KINDS = {
    "bool": lambda d: d.is_bool,
    "signed integer": lambda d: d.kind == "i",
    "unsigned integer": lambda d: d.kind == "u",
    "integral": lambda d: d.is_integer,
    "real floating": lambda d: d.is_float,
    "complex floating": lambda d: d.is_complex,
    "numeric": lambda d: d.is_numeric,
}


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether `dtype` is of `kind`: a dtype, a kind name ("integral" ...), or a tuple of them."""
    d = dt.as_dtype(dtype)
    if isinstance(kind, tuple):
        return any(isdtype(d, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"unknown dtype kind {kind!r}; kinds: {', '.join(_KINDS)}")
        return _KINDS[kind](d)
    return d == dt.as_dtype(kind)
