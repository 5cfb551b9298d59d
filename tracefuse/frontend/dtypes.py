"""Data type functions of the array API: `result_type`, `can_cast`, `finfo`, `iinfo`, `isdtype`.

They answer with tracefuse's promotion rules (ir/dtypes.py), which treat Python scalars as weak.
"""

from __future__ import annotations

from typing import Any

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


def finfo(type: Any, /):
    """Machine limits of a floating-point dtype; of a complex dtype, those of its real and
    imaginary parts (the standard: finfo(complex64) is float32's)."""
    return np.finfo(dt.real_dtype(_dw(type)[0]).np)


def iinfo(type: Any, /):
    return np.iinfo(_dw(type)[0].np)


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
