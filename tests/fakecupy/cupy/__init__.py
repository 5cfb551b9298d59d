"""A fake `cupy` for tests on machines without a GPU: device arrays are NumPy arrays in a wrapper,
`RawModule` kernels run on the CPU simulator (tracefuse.backends.cuda.sim). Put tests/fakecupy
first on PYTHONPATH (only in a subprocess: tests/gpu/test_fake_cupy.py) and `import cupy` finds it.

Faithful to CuPy 14 in what tracefuse relies on, and strict where CuPy is strict, so that a bug
that would hit a real GPU shows here:

- `ndarray` is not a NumPy array: `np.asarray(x)` raises CuPy's TypeError ("Implicit conversion
  to a NumPy array is not allowed..."); `.get()` copies to the host. No `__array_interface__`,
  no buffer protocol, no `flags.writeable`.
- Operators, `__array_ufunc__` and `__array_function__` follow CuPy's core.pyx: a ufunc takes
  device arrays, Python scalars and NumPy scalars; a `numpy.ndarray` operand raises
  `TypeError: Unsupported type <class 'numpy.ndarray'>` (a 0-d one too, except in the six
  comparisons, where CuPy turns it into a Python scalar); an operand of another type returns
  NotImplemented (NumPy then raises). A NumPy function with a device array dispatches to the
  `cupy` function of the same name; one this fake lacks raises NumPy's "no implementation found
  for 'numpy.<name>'" TypeError (the same as a function real CuPy lacks). Module functions reject
  NumPy arrays (except `asarray`/`array`, the explicit host-to-device copies). Operators defer
  (NotImplemented) to an operand whose `__array_ufunc__` is None, as tracefuse's Tensor's is.
- Results are device arrays, 0-d ones included (never NumPy scalars).
- `empty` returns memory filled with 0xff bytes (NaN for floats, -1 for ints), as reused pool
  memory holds garbage: a kernel that leaves an output element unwritten shows.
- `RawModule(code=..., options=(...)).get_function(name)(grid, block, args)`: `grid`/`block`
  tuples (1-D: the simulator runs no 2-D launches), each in CUDA's range (a 0 is an error here;
  CuPy would silently launch 1); `args` one per parameter of the `extern "C" __global__`
  signature found in `code`; a pointer parameter takes a device array of exactly its pointee's
  dtype (CuPy passes any array's pointer unchecked: a wrong dtype reads garbage) or None; a scalar
  parameter takes a NumPy scalar of exactly its C type, or a Python int/float/bool that CuPy
  would pass as int64/float64/bool when that is the parameter's type (CuPy passes the value's
  own bytes, so a Python float for a `float` parameter reads garbage on a GPU). A NumPy array,
  a device array for a scalar parameter, or a mismatch is a TypeError naming the argument.
  All kernels of a module are built once per source text (g++, cached on disk by the simulator).
- `_fake_stats`: counts of host-to-device copies (`h2d`: `asarray`/`array` of host data,
  `ndarray.set`), device-to-host copies (`d2h`: `get`, `item`, `tolist`, `int()`, `float()`,
  `bool()`, `repr`, `str`) and kernel launches (`launches`); `_fake_reset_stats()` zeroes them.

What it cannot show: asynchronous execution and streams (every launch is synchronous, so a
missing synchronize goes unnoticed), device memory limits and out-of-memory, NVRTC itself (the
NVRTC compile gate, tier 1, covers that), CUDA's math library rounding (g++ links glibc's),
cuBLAS (matmul is NumPy's), CuPy's own elementwise kernels' numerics (they are NumPy's here),
`__dlpack__`, multiple devices, out-of-bounds fancy indexing (CuPy wraps, NumPy raises), speed.
"""

from __future__ import annotations

import builtins
import functools
import re
import threading
from typing import Any

import numpy as np

from . import cuda

# CuPy re-exports NumPy's scalar types and constants
(bool_, int8, int16, int32, int64, intp, uint8, uint16, uint32, uint64, float16, float32,
 float64, complex64, complex128, dtype, e, inf, nan, newaxis, pi) = (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.intp, np.uint8, np.uint16, np.uint32,
    np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128, np.dtype, np.e,
    np.inf, np.nan, np.newaxis, np.pi)

__version__ = "14.0.0"
_fake = True

_fake_stats = {"h2d": 0, "d2h": 0, "launches": 0}


def _fake_reset_stats() -> None:
    for k in _fake_stats:
        _fake_stats[k] = 0


_SUPPORTED_KINDS = "biufc"


def _check_dtype(d) -> np.dtype:
    d = np.dtype(d)
    if d.kind not in _SUPPORTED_KINDS:
        raise ValueError(f"Unsupported dtype {d}")
    return d


def _unsupported(x) -> TypeError:
    return TypeError(f"Unsupported type {type(x)}")


# --- the array --------------------------------------------------------------------------------
class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray):
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = bool(a.flags.owndata)

    def __getitem__(self, name: str) -> bool:
        key = {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
               "OWNDATA": "owndata"}.get(name)
        if key is None:
            raise KeyError(f"{name} is not defined for cupy.ndarray.flags")
        return getattr(self, key)

    def __repr__(self) -> str:
        return "\n".join(f"  {k.upper()} : {getattr(self, k)}" for k in self.__slots__)


class _MemoryPointer:
    __slots__ = ("ptr", "device_id")

    def __init__(self, ptr: int):
        self.ptr, self.device_id = ptr, 0

    def __int__(self) -> int:
        return self.ptr


def _should_use_rop(x, y) -> bool:
    """CuPy's rule (core.pyx): defer to `y` if its __array_ufunc__ is None, or, when it has
    none, if its __array_priority__ is higher."""
    try:
        y_ufunc = y.__array_ufunc__
    except AttributeError:
        return getattr(x, "__array_priority__", 0) < getattr(y, "__array_priority__", 0)
    return y_ufunc is None


class ndarray:
    """A device array: a NumPy array standing for GPU memory, reachable only through CuPy's API."""

    __array_priority__ = 100
    __slots__ = ("_a", "__weakref__")

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("fake cupy: ndarray(memptr=..., strides=...)")
        self._a = _alloc(shape, dtype, order)

    @classmethod
    def _wrap(cls, a) -> ndarray:
        if not isinstance(a, np.ndarray):
            a = np.asarray(a)
        _check_dtype(a.dtype)
        x = object.__new__(cls)
        x._a = a
        return x

    # attributes
    @property
    def shape(self) -> tuple:
        return self._a.shape

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    @property
    def strides(self) -> tuple:
        return self._a.strides

    @property
    def itemsize(self) -> int:
        return self._a.itemsize

    @property
    def nbytes(self) -> int:
        return self._a.nbytes

    @property
    def flags(self) -> _Flags:
        return _Flags(self._a)

    @property
    def data(self) -> _MemoryPointer:
        return _MemoryPointer(self._a.__array_interface__["data"][0])

    @property
    def device(self):
        return cuda.Device(0)

    @property
    def T(self) -> ndarray:
        return self if self.ndim < 2 else ndarray._wrap(self._a.T)

    @property
    def __cuda_array_interface__(self) -> dict:
        a = self._a
        return {"shape": a.shape, "typestr": a.dtype.str, "descr": a.dtype.descr,
                "stream": 1, "version": 3,
                "strides": None if a.flags.c_contiguous else a.strides,
                "data": (self.data.ptr if a.size else 0, False)}

    # conversion
    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream=None, order="C", out=None) -> np.ndarray:
        _fake_stats["d2h"] += 1
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            if out.dtype != self.dtype:
                raise TypeError(f"{out.dtype} array cannot be obtained from {self.dtype} array")
            if out.shape != self.shape:
                raise ValueError(f"Shape mismatch. Expected shape: {self.shape}, "
                                 f"actual shape: {out.shape}")
            out[...] = self._a
            return out
        order = order.upper()
        if order == "A":
            order = "F" if self._a.flags.f_contiguous else "C"
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None) -> None:
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if arr.dtype != self.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if arr.shape != self.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        _fake_stats["h2d"] += 1
        self._a[...] = arr

    def item(self):
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return self.get().item()

    def tolist(self):
        return self.get().tolist()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()" if self.size else
                             "The truth value of an empty array is ambiguous.")
        return bool(self.get())

    def __int__(self) -> int:
        return int(self.get())

    def __float__(self) -> float:
        return float(self.get())

    def __complex__(self) -> complex:
        return complex(self.get())

    def __index__(self) -> int:
        if self.ndim != 0 or self.dtype.kind not in "iu":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self.get())

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self._a.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __repr__(self) -> str:
        return repr(self.get())

    def __str__(self) -> str:
        return str(self.get())

    def __format__(self, spec: str) -> str:
        return format(self.get(), spec)

    def __reduce__(self):
        return array, (self.get(),)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # NumPy protocols (CuPy's core.pyx)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            return NotImplemented
        cp_ufunc = globals().get(ufunc.__name__)
        if not isinstance(cp_ufunc, _Ufunc):
            return NotImplemented
        inout = inputs + tuple(kwargs.get("out", ()) or ())
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            kwargs["out"] = out[0]
        for x in inout:
            if not (hasattr(x, "__cuda_array_interface__") or _is_scalar(x)
                    or isinstance(x, np.ndarray)):
                return NotImplemented
        if ufunc.__name__ in _COMPARISONS:  # CuPy's workaround for numpy/numpy#12142
            inputs = tuple(x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x
                           for x in inputs)
        return cp_ufunc(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        module = _this_module()
        try:
            for part in func.__module__.split(".")[1:]:
                module = getattr(module, part)
            cupy_func = getattr(module, func.__name__)
        except AttributeError:
            return NotImplemented
        if cupy_func is func:
            return NotImplemented
        for t in types:
            if t not in (ndarray, np.ndarray):
                return NotImplemented
        return cupy_func(*args, **kwargs)

    # indexing
    def __getitem__(self, key):
        key = _unwrap_index(key)
        r = self._a[key]
        if not isinstance(r, np.ndarray):  # a single element: CuPy returns a 0-d view
            k = key if isinstance(key, tuple) else (key,)
            if not any(i is Ellipsis for i in k):
                r = self._a[k + (Ellipsis,)]
        return ndarray._wrap(r)

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):
            raise _unsupported(value)
        self._a[_unwrap_index(key)] = value._a if isinstance(value, ndarray) else value

    # methods
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True) -> ndarray:
        d = _check_dtype(dtype)
        if not copy and d == self.dtype:
            return self
        return ndarray._wrap(self._a.astype(d, order=order))

    def copy(self, order="C") -> ndarray:
        return ndarray._wrap(np.array(self._a, order=order, copy=True))

    def view(self, dtype=None) -> ndarray:
        return ndarray._wrap(self._a.view() if dtype is None else self._a.view(dtype))

    def fill(self, value) -> None:
        if isinstance(value, np.ndarray):
            raise _unsupported(value)
        self._a.fill(value._a if isinstance(value, ndarray) else value)

    def reshape(self, *shape, order="C") -> ndarray:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return ndarray._wrap(self._a.reshape(shape, order=order))

    def transpose(self, *axes) -> ndarray:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        return ndarray._wrap(self._a.transpose(axes) if axes else self._a.transpose())

    def swapaxes(self, a1, a2) -> ndarray:
        return ndarray._wrap(self._a.swapaxes(a1, a2))

    def ravel(self, order="C") -> ndarray:
        return ndarray._wrap(self._a.ravel(order))

    def flatten(self, order="C") -> ndarray:
        return ndarray._wrap(self._a.flatten(order))

    def squeeze(self, axis=None) -> ndarray:
        return ndarray._wrap(self._a.squeeze(axis))

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        return max(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return min(self, axis=axis, out=out, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return var(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return std(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def all(self, axis=None, out=None, keepdims=False):
        return all(self, axis=axis, out=out, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        return any(self, axis=axis, out=out, keepdims=keepdims)

    def argmax(self, axis=None, out=None, dtype=None, keepdims=False):
        return argmax(self, axis=axis, out=out, dtype=dtype, keepdims=keepdims)

    def argmin(self, axis=None, out=None, dtype=None, keepdims=False):
        return argmin(self, axis=axis, out=out, dtype=dtype, keepdims=keepdims)

    def clip(self, min=None, max=None, out=None):
        return clip(self, min, max, out=out)

    def round(self, decimals=0, out=None):
        return round(self, decimals, out=out)

    def cumsum(self, axis=None, dtype=None, out=None):
        return cumsum(self, axis=axis, dtype=dtype, out=out)

    def nonzero(self):
        return nonzero(self)

    def dot(self, b, out=None):
        return dot(self, b, out=out)

    def take(self, indices, axis=None, out=None):
        return take(self, indices, axis=axis, out=out)

    def repeat(self, repeats, axis=None):
        return repeat(self, repeats, axis=axis)

    def conj(self):
        return conj(self)

    @property
    def real(self):
        return ndarray._wrap(self._a.real)

    @property
    def imag(self):
        return ndarray._wrap(self._a.imag)

    # operators (CuPy's: a device array operand runs the cupy ufunc; an operand that defers
    # (its __array_ufunc__ is None) gets NotImplemented; anything else goes through NumPy's
    # ufunc, which calls our __array_ufunc__ and so rejects NumPy arrays)
    def __richcmp(self, other, name):
        if isinstance(other, ndarray):
            return globals()[name](self, other)
        if not _should_use_rop(self, other):
            if isinstance(other, np.ndarray) and other.ndim == 0:
                other = other.item()
            return getattr(np, name)(self, other)
        return NotImplemented

    def __lt__(self, other): return self.__richcmp(other, "less")
    def __le__(self, other): return self.__richcmp(other, "less_equal")
    def __eq__(self, other): return self.__richcmp(other, "equal")  # type: ignore[override]
    def __ne__(self, other): return self.__richcmp(other, "not_equal")  # type: ignore[override]
    def __gt__(self, other): return self.__richcmp(other, "greater")
    def __ge__(self, other): return self.__richcmp(other, "greater_equal")
    __hash__ = None  # type: ignore[assignment]

    def __neg__(self): return negative(self)
    def __pos__(self): return self
    def __abs__(self): return absolute(self)
    def __invert__(self): return invert(self)

    def __matmul__(self, other):
        if not isinstance(other, ndarray) and _should_use_rop(self, other):
            return NotImplemented
        return matmul(self, other)

    def __rmatmul__(self, other):
        if _should_use_rop(self, other):
            return NotImplemented
        return matmul(other, self)


def _binop(name: str):
    def op(self, other):
        if isinstance(other, ndarray):
            return globals()[name](self, other)
        if _should_use_rop(self, other):
            return NotImplemented
        return getattr(np, name)(self, other)

    def rop(self, other):
        if _should_use_rop(self, other):
            return NotImplemented
        return getattr(np, name)(other, self)

    def iop(self, other):
        return globals()[name](self, other, out=self)

    return op, rop, iop


for _dunder, _name in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                       ("truediv", "true_divide"), ("floordiv", "floor_divide"),
                       ("mod", "remainder"), ("pow", "power"), ("lshift", "left_shift"),
                       ("rshift", "right_shift"), ("and", "bitwise_and"), ("or", "bitwise_or"),
                       ("xor", "bitwise_xor")]:
    _op, _rop, _iop = _binop(_name)
    setattr(ndarray, f"__{_dunder}__", _op)
    setattr(ndarray, f"__r{_dunder}__", _rop)
    setattr(ndarray, f"__i{_dunder}__", _iop)
del _dunder, _name, _op, _rop, _iop


def _this_module():
    import sys

    return sys.modules[__name__]


def _is_scalar(x) -> bool:
    """A scalar CuPy's kernels take: a Python bool/int/float/complex or a NumPy scalar."""
    return type(x) in (bool, int, float, complex) or isinstance(x, np.generic)


def _unwrap_index(key):
    if isinstance(key, tuple):
        return tuple(_unwrap_index(k) for k in key)
    if isinstance(key, ndarray):
        return key._a
    return key


def _alloc(shape, dtype=float, order="C") -> np.ndarray:
    a = np.empty(shape, _check_dtype(dtype), order=order)
    if a.size:
        a.reshape(-1, order="A").view(np.uint8).fill(0xFF)  # device memory is not zeroed
    return a


# --- ufuncs ---------------------------------------------------------------------------------
_COMPARISONS = ("greater", "greater_equal", "less", "less_equal", "equal", "not_equal")


def _ufunc_operand(x):
    if isinstance(x, ndarray):
        return x._a
    if _is_scalar(x):
        return x
    raise _unsupported(x)


def _wrap_result(r):
    if isinstance(r, tuple):
        return tuple(_wrap_result(v) for v in r)
    if isinstance(r, (np.ndarray, np.generic)):
        return ndarray._wrap(r)
    return r


class _Ufunc:
    """A CuPy ufunc: device arrays and scalars in, device arrays out; no warnings (a GPU
    raises none)."""

    def __init__(self, name: str):
        self.__name__ = self.name = name
        self._np = getattr(np, name)
        self.nin, self.nout = self._np.nin, self._np.nout

    def __call__(self, *args, out=None, dtype=None, casting="same_kind", **kwargs):
        if kwargs:
            raise TypeError(f"cupy.{self.name}: unsupported arguments {sorted(kwargs)}")
        if len(args) != self.nin:
            raise TypeError(f"Wrong number of arguments for {self.name}")
        ops = [_ufunc_operand(a) for a in args]
        extra: dict[str, Any] = {"casting": casting}
        if dtype is not None:
            extra["dtype"] = dtype
        if out is not None:
            if not isinstance(out, ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
            extra["out"] = out._a
        with np.errstate(all="ignore"):
            r = self._np(*ops, **extra)
        if out is not None:
            return out
        return _wrap_result(r)

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"


_UFUNC_NAMES = """
add subtract multiply divide true_divide floor_divide remainder mod fmod power float_power
maximum minimum fmax fmin arctan2 hypot logaddexp logaddexp2 copysign nextafter ldexp divmod
equal not_equal less less_equal greater greater_equal logical_and logical_or logical_xor
logical_not bitwise_and bitwise_or bitwise_xor invert left_shift right_shift negative positive
absolute fabs sign sqrt cbrt square reciprocal exp exp2 expm1 log log2 log10 log1p sin cos tan
arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh deg2rad rad2deg degrees radians
floor ceil trunc rint isnan isinf isfinite signbit conjugate matmul modf frexp heaviside gcd lcm""".split()
(add, subtract, multiply, divide, true_divide, floor_divide, remainder, mod, fmod, power,
 float_power, maximum, minimum, fmax, fmin, arctan2, hypot, logaddexp, logaddexp2, copysign,
 nextafter, ldexp, divmod, equal, not_equal, less, less_equal, greater, greater_equal,
 logical_and, logical_or, logical_xor, logical_not, bitwise_and, bitwise_or, bitwise_xor,
 invert, left_shift, right_shift, negative, positive, absolute, fabs, sign, sqrt, cbrt, square,
 reciprocal, exp, exp2, expm1, log, log2, log10, log1p, sin, cos, tan, arcsin, arccos, arctan,
 sinh, cosh, tanh, arcsinh, arccosh, arctanh, deg2rad, rad2deg, degrees, radians, floor, ceil,
 trunc, rint, isnan, isinf, isfinite, signbit, conjugate, matmul, modf, frexp, heaviside, gcd,
 lcm) = (
    _Ufunc(_name) for _name in _UFUNC_NAMES)
abs = absolute
conj = conjugate
bitwise_not = invert
assert [globals()[n].__name__ for n in _UFUNC_NAMES] == _UFUNC_NAMES


# --- functions --------------------------------------------------------------------------------
def _device_args(value, where: str):
    """Unwrap device arrays (in lists and tuples too); a NumPy array is a TypeError (CuPy
    functions take no host arrays)."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise TypeError(f"cupy.{where}: Unsupported type {type(value)} (a host array; "
                        "copy it with cupy.asarray first)")
    if isinstance(value, (list, tuple)):
        return type(value)(_device_args(v, where) for v in value)
    return value


def _from_numpy(np_func, name: str | None = None):
    """A cupy function made from the NumPy one: device arrays in, device arrays out."""
    name = name or np_func.__name__

    @functools.wraps(np_func)
    def f(*args, **kwargs):
        args = _device_args(args, name)
        out = kwargs.get("out")
        kwargs = {k: _device_args(v, name) for k, v in kwargs.items()}
        with np.errstate(all="ignore"):
            r = np_func(*args, **kwargs)
        if isinstance(out, ndarray):
            return out
        if isinstance(r, list):
            return [_wrap_result(v) for v in r]
        return _wrap_result(r)

    f.__module__ = __name__
    return f


_FUNCTION_NAMES = """
sum prod max min amax amin all any argmax argmin mean var std nanmax nanmin where concatenate
stack hstack vstack transpose broadcast_to broadcast_arrays reshape round around moveaxis
swapaxes expand_dims squeeze flip ravel clip cumsum cumprod nonzero count_nonzero sort argsort
dot take repeat tile isclose allclose array_equal atleast_1d atleast_2d diag tril triu outer
inner einsum pad roll split array_split copy""".split()
(sum, prod, max, min, amax, amin, all, any, argmax, argmin, mean, var, std, nanmax, nanmin,
 where, concatenate, stack, hstack, vstack, transpose, broadcast_to, broadcast_arrays, reshape,
 round, around, moveaxis, swapaxes, expand_dims, squeeze, flip, ravel, clip, cumsum, cumprod,
 nonzero, count_nonzero, sort, argsort, dot, take, repeat, tile, isclose, allclose, array_equal,
 atleast_1d, atleast_2d, diag, tril, triu, outer, inner, einsum, pad, roll, split, array_split,
 copy) = (
    _from_numpy(getattr(np, _name), _name) for _name in _FUNCTION_NAMES)
assert [globals()[n].__name__ for n in _FUNCTION_NAMES] == _FUNCTION_NAMES
# more of CuPy's functions that tracefuse's library calls use (CuPy has each)
take_along_axis, diff, indices, searchsorted = (
    _from_numpy(getattr(np, _name), _name)
    for _name in ("take_along_axis", "diff", "indices", "searchsorted"))


def may_share_memory(a, b, max_work=None) -> bool:
    if not isinstance(a, ndarray) or not isinstance(b, ndarray):
        raise TypeError("cupy.may_share_memory takes two cupy.ndarray "
                        f"(got {type(a).__name__}, {type(b).__name__})")
    return bool(np.may_share_memory(a._a, b._a))


def shares_memory(a, b, max_work=None) -> bool:
    if not isinstance(a, ndarray) or not isinstance(b, ndarray):
        raise TypeError("cupy.shares_memory takes two cupy.ndarray")
    return bool(np.shares_memory(a._a, b._a))


def _host_copy(obj, dtype=None, order="K") -> ndarray:
    _fake_stats["h2d"] += 1
    if isinstance(obj, (list, tuple)) and builtins.any(isinstance(v, ndarray) for v in obj):
        obj = [v.get() if isinstance(v, ndarray) else v for v in obj]
    a = np.array(obj, dtype=dtype, order=order, copy=True)
    return ndarray._wrap(a)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        a = obj._a
        a = np.array(a, dtype=dtype, copy=True, order=order, ndmin=ndmin) if copy or (
            dtype is not None and np.dtype(dtype) != a.dtype) else a
        return ndarray._wrap(a) if a is not obj._a else obj
    if hasattr(obj, "__cuda_array_interface__"):
        raise NotImplementedError("fake cupy: arrays of other libraries' device memory")
    r = _host_copy(obj, dtype, order)
    return ndarray._wrap(r._a.reshape((1,) * (ndmin - r.ndim) + r.shape)) if ndmin > r.ndim else r


def asarray(a, dtype=None, order=None, *, blocking=False):
    """A device array: `a` itself (cast if `dtype` differs) or a host-to-device copy."""
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return array(a, dtype=dtype, copy=True, order=order or "K")


def ascontiguousarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise _unsupported(a)
    d = a.dtype if dtype is None else _check_dtype(dtype)
    if a._a.flags.c_contiguous and d == a.dtype:
        return a
    return ndarray._wrap(np.ascontiguousarray(a._a, dtype=d))


def asfortranarray(a, dtype=None):
    if not isinstance(a, ndarray):
        raise _unsupported(a)
    return ndarray._wrap(np.asfortranarray(a._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None):
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    if builtins.any(isinstance(a, ndarray) for a in args):
        return _this_module()
    return np


def empty(shape, dtype=float, order="C") -> ndarray:
    return ndarray._wrap(_alloc(shape, dtype, order))


def full(shape, fill_value, dtype=None, order="C") -> ndarray:
    if isinstance(fill_value, np.ndarray):
        raise _unsupported(fill_value)
    if isinstance(fill_value, ndarray):
        fill_value = fill_value._a
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
    a = _alloc(shape, dtype, order)
    a[...] = fill_value
    return ndarray._wrap(a)


def zeros(shape, dtype=float, order="C") -> ndarray:
    return full(shape, 0, dtype, order)


def ones(shape, dtype=float, order="C") -> ndarray:
    return full(shape, 1, dtype, order)


def _like(a, dtype, shape):
    if not isinstance(a, ndarray):
        raise _unsupported(a)
    return (a.shape if shape is None else shape), (a.dtype if dtype is None else dtype)


def empty_like(a, dtype=None, order="K", subok=None, shape=None) -> ndarray:
    s, d = _like(a, dtype, shape)
    return empty(s, d)


def zeros_like(a, dtype=None, order="K", subok=None, shape=None) -> ndarray:
    s, d = _like(a, dtype, shape)
    return zeros(s, d)


def ones_like(a, dtype=None, order="K", subok=None, shape=None) -> ndarray:
    s, d = _like(a, dtype, shape)
    return ones(s, d)


def full_like(a, fill_value, dtype=None, order="K", subok=None, shape=None) -> ndarray:
    s, d = _like(a, dtype, shape)
    return full(s, fill_value, d)


def arange(start, stop=None, step=1, dtype=None) -> ndarray:
    return ndarray._wrap(np.arange(start, stop, step, dtype=dtype) if stop is not None
                         else np.arange(start, step=step, dtype=dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    r = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)
    return (ndarray._wrap(r[0]), r[1]) if retstep else ndarray._wrap(r)


def eye(N, M=None, k=0, dtype=float, order="C") -> ndarray:
    return ndarray._wrap(np.eye(N, M, k, dtype=dtype, order=order))


def result_type(*arrays_and_dtypes):
    return np.result_type(*[a.dtype if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


can_cast = np.can_cast
promote_types = np.promote_types
iinfo = np.iinfo
finfo = np.finfo
isscalar = np.isscalar
ndim = np.ndim
shape = np.shape
size = np.size


# --- memory pools -----------------------------------------------------------------------------
class _MemoryPool:
    def free_all_blocks(self, stream=None) -> None:
        pass

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def set_limit(self, size=None, fraction=None) -> None:
        pass

    def get_limit(self) -> int:
        return 0


_pool, _pinned_pool = _MemoryPool(), _MemoryPool()


def get_default_memory_pool() -> _MemoryPool:
    return _pool


def get_default_pinned_memory_pool() -> _MemoryPool:
    return _pinned_pool


# --- raw kernels --------------------------------------------------------------------------------
_KERNEL_RE = re.compile(
    r'extern\s+"C"\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+'
    r"(?:__launch_bounds__\s*\([^)]*\)\s+)?([A-Za-z_]\w*)\s*\(([^)]*)\)")
_modules: dict[str, Any] = {}
_modules_lock = threading.Lock()


def _signatures(code: str) -> dict[str, list[str]]:
    """{kernel name: [C parameter types]} of every `extern "C" __global__ void` in `code`."""
    from tracefuse.backends.cuda.sim import parse_param

    kernels: dict[str, list[str]] = {}
    for m in _KERNEL_RE.finditer(code):
        name, params = m.group(1), m.group(2).strip()
        types = []
        for p in ([] if params in ("", "void") else params.split(",")):
            words = p.replace("*", " * ").split()
            if len(words) < 2 or not re.fullmatch(r"[A-Za-z_]\w*", words[-1]) or \
                    words[-1] in ("const", "__restrict__"):
                raise ValueError(f"fake cupy: kernel {name}: parameter {p.strip()!r} has no name")
            t = " ".join(words[:-1]).replace(" * ", "* ").replace(" *", "*")
            parse_param(t)  # a type the simulator (and this fake) knows, or TypeError
            types.append(t)
        kernels[name] = types
    return kernels


class _Kernel:
    """`RawModule.get_function(name)`: call as kernel(grid, block, args)."""

    def __init__(self, module: RawModule, name: str):
        self.module, self.name = module, name
        self.params = module._params[name]

    @property
    def attributes(self) -> dict:
        return {"max_threads_per_block": 1024, "num_regs": 32, "shared_size_bytes": 0}

    @property
    def max_threads_per_block(self) -> int:
        return 1024

    def __call__(self, grid, block, args, *, shared_mem=0, stream=None,
                 enable_cooperative_groups=False):
        if not isinstance(grid, tuple) or not isinstance(block, tuple):
            raise TypeError(f"kernel {self.name}: grid and block must be tuples, got "
                            f"{type(grid).__name__} and {type(block).__name__}")
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"kernel {self.name}: args must be a tuple, got {type(args).__name__}")
        if shared_mem:
            raise NotImplementedError("fake cupy: dynamic shared memory (the simulator has none)")
        for what, dims, hi in (("grid", grid, 2**31 - 1), ("block", block, 1024)):
            if not 1 <= len(dims) <= 3:
                raise ValueError(f"kernel {self.name}: {what} {dims} must have 1 to 3 dims")
            for d in dims:
                if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
                    raise TypeError(f"kernel {self.name}: {what} {dims} holds a "
                                    f"{type(d).__name__}, not an int")
            if tuple(dims[1:]) not in ((), (1,), (1, 1)):
                raise NotImplementedError(f"fake cupy: kernel {self.name}: {what} {dims}: the "
                                          "simulator runs 1-D launches only")
            if not 1 <= dims[0] <= hi:
                raise ValueError(f"kernel {self.name}: {what} size {dims[0]} is outside 1..{hi} "
                                 "(CuPy would launch max(1, n); CUDA rejects more than the limit)")
        if len(args) != len(self.params):
            raise TypeError(f"kernel {self.name} takes {len(self.params)} arguments "
                            f"({', '.join(self.params)}), got {len(args)}")
        converted = [self._arg(i, t, a) for i, (t, a) in enumerate(zip(self.params, args))]
        sim = self.module._sim()
        _fake_stats["launches"] += 1
        sim.launch(self.name, int(grid[0]), int(block[0]), converted)

    def _arg(self, i: int, ctype: str, value):
        from tracefuse.backends.cuda.sim import parse_param

        p = parse_param(ctype)
        where = f"kernel {self.name}, argument {i} ({ctype})"
        if isinstance(value, np.ndarray):
            raise TypeError(f"{where}: Unsupported type {type(value)} (a host array: CuPy "
                            "passes only device arrays and scalars)")
        if p.pointer:
            if value is None:
                return None
            if not isinstance(value, ndarray):
                raise TypeError(f"{where}: expected a cupy.ndarray, got {type(value).__name__} "
                                f"{value!r:.60}")
            if value.dtype != p.dtype:
                raise TypeError(f"{where}: an array of {value.dtype} for a pointer to {p.base} "
                                f"({p.dtype}): the kernel would read its bytes as {p.base}")
            return value._a
        if isinstance(value, ndarray):
            raise TypeError(f"{where}: a cupy.ndarray for a scalar parameter: CuPy would pass "
                            "the array's pointer, read as the value")
        if type(value) is bool:
            d = np.dtype(np.bool_)
        elif type(value) is int:
            d = np.dtype(np.uint64 if value >= 2**63 else np.int64)
        elif type(value) is float:
            d = np.dtype(np.float64)
        elif isinstance(value, np.generic):
            d = value.dtype
        else:
            raise TypeError(f"{where}: Unsupported type {type(value)}")
        if d != p.dtype:
            how = (f"a Python {type(value).__name__}, which CuPy passes as {d}" if
                   not isinstance(value, np.generic) else f"a NumPy {d} scalar")
            raise TypeError(f"{where}: {how} ({d.itemsize} bytes) for a {p.base} parameter "
                            f"({p.dtype}, {p.dtype.itemsize} bytes): the kernel would read "
                            "the wrong bytes; pass a NumPy scalar of the parameter's type")
        return value


class RawModule:
    """CUDA C compiled once (by the simulator, g++); `get_function(name)` gives a kernel."""

    def __init__(self, code=None, *, path=None, options=(), backend="nvrtc",
                 translate_cucomplex=False, enable_cooperative_groups=False,
                 name_expressions=None, jitify=False):
        if code is None or path is not None:
            raise NotImplementedError("fake cupy: RawModule(path=...); pass code=")
        if not isinstance(code, str):
            raise TypeError(f"RawModule: code must be a str, got {type(code).__name__}")
        if not isinstance(options, tuple) or not builtins.all(isinstance(o, str) for o in options):
            raise TypeError(f"RawModule: options must be a tuple of str, got {options!r}")
        if name_expressions is not None or jitify:
            raise NotImplementedError("fake cupy: name_expressions / jitify")
        self.code, self.options, self.backend = code, options, backend
        self._params = _signatures(code)

    def _sim(self):
        with _modules_lock:
            mod = _modules.get(self.code)
            if mod is None:
                from tracefuse.backends.cuda.sim import SimModule

                mod = _modules[self.code] = SimModule(self.code, self._params)
        return mod

    def compile(self, log_stream=None) -> None:
        self._sim()

    def get_function(self, name: str) -> _Kernel:
        if name not in self._params:
            raise cuda.driver.CUDADriverError(
                f"CUDA_ERROR_NOT_FOUND: named symbol not found ({name!r}; the module's "
                f'extern "C" kernels: {", ".join(self._params) or "none"})')
        self._sim()
        return _Kernel(self, name)


class RawKernel:
    def __init__(self, code: str, name: str, options=(), backend="nvrtc", *,
                 translate_cucomplex=False, enable_cooperative_groups=False, jitify=False):
        self._fn = RawModule(code=code, options=options).get_function(name)

    def __call__(self, grid, block, args, **kwargs):
        return self._fn(grid, block, args, **kwargs)


from . import fft  # noqa: F401 - cupy.fft (cuFFT), after the helpers it is made with
from . import linalg  # noqa: F401 - cupy.linalg (cuSOLVER), as fft
