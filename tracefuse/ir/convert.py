"""Turning user values (Python scalars, NumPy arrays and scalars, array-likes) into an array and
its `TensorType`, the one place both eager mode and the tracer do it.

Python `bool`/`int`/`float`/`complex` become *weak* 0-d values (NEP 50); NumPy scalars and arrays are
strong and keep their dtype; anything with `__array__` (a `tx.Tensor`) is asked for its array,
and a CuPy array is copied to the host (a constant captured by a traced function).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError
from . import dtypes as dt
from .types import TensorType

PY_SCALARS = (bool, int, float, complex)


def is_gpu_array(a: Any) -> bool:
    """A CuPy array (recognised by its type's module, without importing CuPy)."""
    return type(a).__module__.partition(".")[0] == "cupy" and hasattr(a, "__cuda_array_interface__")


def is_dask_array(a: Any) -> bool:
    """A dask array (recognised by its type's module, without importing Dask)."""
    return type(a).__module__.startswith("dask.") and hasattr(a, "chunks")


def scalar_type(value: Any) -> TensorType:
    """The weak 0-d type of a Python scalar."""
    return TensorType((), dt.weak_dtype_of_scalar(value), weak=True)


def scalar_array(value: Any) -> np.ndarray:
    """A Python scalar as the 0-d array of its weak dtype (int64 overflow is an error)."""
    d = dt.weak_dtype_of_scalar(value)
    if d is dt.int64 and not -(2**63) <= value < 2**63:
        raise OverflowError(
            f"Python int {value} does not fit int64; pass np.uint64({value}) or an array instead"
        )
    return np.asarray(value, dtype=d.np)


def to_array(value: Any, what: str = "argument") -> tuple[np.ndarray, TensorType]:
    """(array, type) of a value that is not a Tracer. DTypeError names `what` when unsupported."""
    if isinstance(value, np.ndarray):
        arr = value
        weak = False
    elif isinstance(value, np.generic):  # np.float64 subclasses float, yet is typed (strong)
        arr = np.asarray(value)
        weak = False
    elif isinstance(value, PY_SCALARS):
        return scalar_array(value), scalar_type(value)
    elif is_gpu_array(value):  # CuPy refuses np.asarray: an explicit device-to-host copy
        arr = value.get()
        weak = False
    else:
        if isinstance(value, (str, bytes)) or value is None:
            raise DTypeError(f"{what} is a {type(value).__name__}, not an array or number")
        try:
            arr = np.asarray(value)
        except Exception as e:  # ragged lists and such
            raise DTypeError(f"{what} cannot be converted to an array: {e}") from None
        weak = False
    try:
        dtype = dt.as_dtype(arr.dtype)
    except TypeError:
        raise DTypeError(
            f"{what} has dtype {arr.dtype}, which tracefuse does not support; supported dtypes: "
            + ", ".join(d.name for d in dt.ALL_DTYPES)
        ) from None
    return arr, TensorType(arr.shape, dtype, weak)
