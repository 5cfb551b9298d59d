"""Array creation: `constant`, `asarray`, `zeros`, `ones`, `full`, `empty`, the `*_like` forms,
`arange`, `linspace`, `eye`.

Eagerly these build a `Tensor` with NumPy. While a function is being traced, `zeros`/`ones`/
`full`/`empty` (and the `_like` forms) and `eye` become `full`/`iota` ops, so a large array of
a known pattern is never baked into the graph as a literal; `arange` and `linspace` values
are computed with NumPy at trace time (exactly NumPy's numbers) and enter as constants.

Default dtypes: `asarray` and the array API functions use float64/int64 (as NumPy does);
`constant` infers like TensorFlow (Python float -> float32, int -> int32).
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from . import device as _device
from . import tensor as _tensor
from .dispatch import bind, type_of
from ..errors import DTypeError, user_location, with_location
from .elementwise import add, astype, equal
from ..ir import Attrs, OpCode
from ..ir import dtypes as dt
from ..ir.convert import PY_SCALARS, to_array
from ..tracer.tracer import ByReference, Tracer, current_builder

G = OpCode


def _check_device(device) -> str | None:
    """The normalized device; for "gpu", CuPy and a device must be there (else
    BackendUnavailableError saying what to install)."""
    device = _device.normalize(device)
    if device == "gpu":
        _device.cupy()
    return device


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, int) or hasattr(shape, "__index__"):
        shape = (operator.index(shape),)
    shape = tuple(operator.index(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(with_location(f"negative dimensions are not allowed: {shape}", user_location()))
    return shape


def _wrap(array: np.ndarray, device: str | None = None):
    return _tensor.Tensor._wrap(_device.move(array, device))


def _checked_array(value: Any, dtype=None) -> np.ndarray:
    try:
        arr, _ = to_array(value, "value")
    except DTypeError as e:
        raise DTypeError(with_location(str(e), user_location())) from None
    if dtype is not None:
        _check_complex_to_real(arr.dtype, dtype)
        arr = arr.astype(dt.as_dtype(dtype).np, copy=False)
    return arr


def _check_complex_to_real(src, dtype) -> None:
    """Complex values to a real dtype: a DTypeError, as astype's (the standard: say which part)."""
    to = dt.as_dtype(dtype)
    if np.dtype(src).kind == "c" and not (to.is_complex or to.is_bool):
        raise DTypeError(with_location(
            f"cannot convert complex values to {to.name}: take tx.real(...) or tx.imag(...) of "
            "them (or pass a complex dtype)", user_location()))


def asarray(obj, /, *, dtype=None, device=None, copy: bool | None = None):
    """An array from a Tensor, NumPy array, Python scalar or nested sequence.

    Python scalars take the array API defaults (bool, int64, float64). A Tensor is immutable, so
    a NumPy input is copied (as JAX does), and changing the NumPy array later changes nothing:
    `copy=None` and `copy=True` copy. `copy=False` never copies: it wraps a *read-only* NumPy
    array of the right dtype as it is (you promise not to write to its memory through another
    view), and raises ValueError for anything else. A Tensor input is returned as it is (unless
    `copy=True`); a CuPy array is wrapped without a copy unless `copy=True` (CuPy arrays have no
    read-only flag: do not write to it afterwards).
    """
    device = _check_device(device)
    if isinstance(obj, ByReference):  # a tx.Variable: its value (a Tensor, or traced)
        obj = obj.value()
    if isinstance(obj, Tracer):
        return obj if dtype is None else astype(obj, dtype, copy=False)
    if isinstance(obj, _tensor.Tensor):
        if device is not None and device != obj.device:
            obj = obj.to(device)
        if dtype is not None and dt.as_dtype(dtype) != obj.dtype:
            return astype(obj, dtype)
        return _wrap(obj._array.copy()) if copy else obj
    if isinstance(obj, (list, tuple)) and _holds_tracer(obj):  # [t0, t1] inside a trace
        stacked = _stack_nested(obj)
        return stacked if dtype is None else astype(stacked, dtype, copy=False)
    if _device.is_gpu_array(obj):  # a CuPy array: a GPU tensor (zero-copy unless copy=True)
        dt.as_dtype(obj.dtype)
        arr = obj.astype(dt.as_dtype(dtype).np, copy=False) if dtype is not None else obj
        return _wrap(arr.copy() if copy else arr, device)
    if copy is False:
        return _wrap(_shared(obj, dtype, device))
    arr = _checked_array(obj, dtype)
    if device != "gpu" and not _made_here(arr, obj):
        arr = np.array(arr, copy=True)  # the caller's memory (an ndarray, what __array__ gave)
    return _wrap(arr, device)


def _holds_tracer(obj) -> bool:
    return any(isinstance(o, Tracer) or (isinstance(o, (list, tuple)) and _holds_tracer(o))
               for o in obj)


def _stack_nested(obj):
    """A nested sequence holding traced values as one traced array (as JAX stacks them): each
    level's items get a new leading axis and are concatenated; Python scalars stay weak."""
    if not isinstance(obj, (list, tuple)):
        return obj
    if not obj:
        raise ValueError(with_location("asarray: an empty sequence among traced values has no "
                                       "shape to stack", user_location()))
    parts = []
    for item in obj:
        item = _stack_nested(item)
        shape = type_of(item).shape
        parts.append(bind(OpCode.RESHAPE, [item], Attrs(shape=(1,) + tuple(shape))))
    return parts[0] if len(parts) == 1 else bind(OpCode.CONCAT, parts, Attrs(axis=0))


def _made_here(arr: np.ndarray, obj) -> bool:
    """Whether `arr`, converted from `obj`, is new memory that nobody else holds."""
    if isinstance(obj, (list, tuple, np.generic) + PY_SCALARS):
        return True  # NumPy built a new array from Python objects
    if isinstance(obj, np.ndarray):
        return arr is not obj and not np.may_share_memory(arr, obj)  # a dtype conversion
    return False  # __array__, the buffer protocol ...: it may be the caller's memory


def _shared(obj, dtype, device) -> np.ndarray:
    """asarray(obj, copy=False): obj's own memory, or ValueError saying why that cannot be."""
    def refuse(why: str, fix: str = "pass copy=None (the default), which copies") -> ValueError:
        return ValueError(with_location(f"asarray(copy=False) cannot share memory: {why}; {fix}",
                                        user_location()))

    if not isinstance(obj, np.ndarray):
        raise refuse(f"a {type(obj).__name__} is not a NumPy array")
    arr = _checked_array(obj)
    if dtype is not None and dt.as_dtype(dtype) != arr.dtype:
        raise refuse(f"the array is {arr.dtype}, not {dt.as_dtype(dtype).name}")
    if device == "gpu":
        raise refuse("the array is in host memory, not on the GPU")
    if arr.flags.writeable:
        raise refuse("the NumPy array is writable, and writing to it would change the Tensor, "
                     "which is immutable", "make it read-only first (a.flags.writeable = False), "
                     "or pass copy=None (the default), which copies")
    return arr


def constant(value, dtype=None, device=None):
    """A tensor holding `value` (always copied). Dtypes are inferred as TensorFlow does: a Python
    float becomes float32, a Python int int32, a bool bool; NumPy values keep their dtype. A CuPy
    array stays on the GPU unless `device` says otherwise."""
    if device is None and _device.is_gpu_array(value):
        device = "gpu"
    device = _check_device(device)
    if isinstance(value, (_tensor.Tensor, Tracer)):
        return value if dtype is None else astype(value, dtype, copy=False)
    from_python = not isinstance(value, (np.ndarray, np.generic))
    arr = _checked_array(value)
    if dtype is None and from_python:
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.int64 and (arr.size == 0 or (
                arr.min() >= np.iinfo(np.int32).min and arr.max() <= np.iinfo(np.int32).max)):
            arr = arr.astype(np.int32)
    elif dtype is not None:
        arr = arr.astype(dt.as_dtype(dtype).np)
    return _wrap(np.array(arr, copy=True), device)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return dt.as_dtype(dtype)
    if isinstance(fill_value, PY_SCALARS):
        return dt.weak_dtype_of_scalar(fill_value)
    return type_of(fill_value).dtype


def full(shape, fill_value, *, dtype=None, device=None):
    """An array of `shape` with every element `fill_value` (dtype inferred from it)."""
    device = _check_device(device)
    shape = _shape(shape)
    d = _fill_dtype(fill_value, dtype)
    if isinstance(fill_value, complex) or getattr(getattr(fill_value, "dtype", None), "kind",
                                                  None) == "c":
        _check_complex_to_real(np.complex128, d)
    value = (np.asarray(_device.to_host(fill_value), dtype=d.np).item()
             if not isinstance(fill_value, Tracer) else None)
    if current_builder() is not None:
        if value is None:
            return bind(G.BROADCAST_TO, (astype(fill_value, d),), Attrs(shape=shape))
        return bind(G.FULL, (), Attrs(shape=shape, dtype=d, value=value))
    return _wrap(np.full(shape, value, dtype=d.np), device)


def zeros(shape, *, dtype=None, device=None):
    """An array of zeros (default float64)."""
    return full(shape, 0, dtype=dtype or dt.DEFAULT_FLOAT, device=device)


def ones(shape, *, dtype=None, device=None):
    """An array of ones (default float64)."""
    return full(shape, 1, dtype=dtype or dt.DEFAULT_FLOAT, device=device)


def empty(shape, *, dtype=None, device=None):
    """An array whose contents are unspecified (tracefuse fills it with zeros)."""
    return zeros(shape, dtype=dtype, device=device)


def _like(x, dtype):
    t = type_of(x)
    return t.shape, (dtype if dtype is not None else t.dtype)


def _like_device(x, device):
    """The array API's default for `*_like`: the device of `x`."""
    if device is not None or isinstance(x, Tracer):
        return device
    return _device.device_of(x._array if isinstance(x, _tensor.Tensor) else x)


def zeros_like(x, /, *, dtype=None, device=None):
    shape, d = _like(x, dtype)
    return full(shape, 0, dtype=d, device=_like_device(x, device))


def ones_like(x, /, *, dtype=None, device=None):
    shape, d = _like(x, dtype)
    return full(shape, 1, dtype=d, device=_like_device(x, device))


def empty_like(x, /, *, dtype=None, device=None):
    return zeros_like(x, dtype=dtype, device=device)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    shape, d = _like(x, dtype)
    return full(shape, fill_value, dtype=d, device=_like_device(x, device))


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    """Evenly spaced values in [start, stop): int64 for ints, else float64 (as NumPy)."""
    device = _check_device(device)
    if stop is None:
        start, stop = 0, start
    d = dt.as_dtype(dtype).np if dtype is not None else None
    if d is None and _all_int(start, stop, step):
        d = np.int64
    return _wrap(np.arange(start, stop, step, dtype=d), device)


def _all_int(*values) -> bool:
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    """`num` evenly spaced values from start to stop (stop included unless endpoint=False);
    default float64, complex128 when start or stop is complex."""
    device = _check_device(device)
    if dtype is None:
        d = np.complex128 if isinstance(start, complex) or isinstance(stop, complex) \
            else np.float64
    else:
        d = dt.as_dtype(dtype).np
    return _wrap(np.linspace(start, stop, num, endpoint=endpoint, dtype=d), device)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    """A 2-D array with ones on diagonal `k` and zeros elsewhere (default float64)."""
    device = _check_device(device)
    n_cols = n_rows if n_cols is None else n_cols
    d = dt.as_dtype(dtype) if dtype is not None else dt.DEFAULT_FLOAT
    if current_builder() is None:
        return _wrap(np.eye(n_rows, n_cols, k=k, dtype=d.np), device)
    shape = _shape((n_rows, n_cols))
    rows = bind(G.IOTA, (), Attrs(shape=shape, dtype=dt.int64, axis=0))
    cols = bind(G.IOTA, (), Attrs(shape=shape, dtype=dt.int64, axis=1))
    return astype(equal(add(rows, int(k)), cols), d)
