"""The operators and methods shared by the eager `Tensor` and the tracer's `Tracer`.

Each operator calls the public function of the same meaning (`x + y` is `tx.add(x, y)`), so
an expression behaves the same eagerly and under `@tx.function`. The reflected operators make
`2 * x` and `numpy_array + tensor` work (`__array_ufunc__ = None` makes NumPy defer to us).

The functions live above this module (in `frontend/`, which imports the tracer), so they are
reached late, through the one namespace object that `tracefuse/__init__.py` hands to
`use_functions` when the package is assembled: no import points up, and there is no cycle.
"""

from __future__ import annotations

from typing import Any

from ..errors import user_location, with_location


class _Unassembled:
    """Stands for the namespace until the package has wired it (never seen by users)."""

    def __getattr__(self, name: str):
        raise RuntimeError("tracefuse.tracer.operators.use_functions() was not called: import "
                           "tracefuse (the package), not its submodules alone")


F: Any = _Unassembled()  # the array functions (frontend), set once by use_functions
M: Any = F
NAMESPACE: Any = F  # what __array_namespace__ returns: the `tracefuse` module
API_VERSIONS = ("2023.12",)  # the array API versions __array_namespace__ accepts


def use_functions(functions: Any, namespace: Any) -> None:
    """Wire the operators to the functions they call (`functions.add`, `functions.getitem`
    ...) and name the namespace `__array_namespace__` returns. Called once, by
    `tracefuse/__init__.py`."""
    global F, M, NAMESPACE
    F = M = functions
    NAMESPACE = namespace


def _no_out(out: Any, method: str) -> None:
    if out is not None:
        raise TypeError(
            f"{method}(out=...): tracefuse arrays are immutable, and {method} returns a new "
            f"one rather than writing into `out` (while tracing there is no value to write "
            f"yet); leave out=None and use the result, e.g. `out[...] = np.{method}(t)`")


def _as_float(x: Any, dtype: Any, method: str) -> Any:
    """x cast to `dtype` for mean/var/std (NumPy's dtype=: the float type to compute in)."""
    if dtype is None:
        return x
    if not F.isdtype(dtype, "real floating"):
        raise TypeError(f"{method}(dtype={dtype!r}): tracefuse computes {method} in a floating "
                        "dtype; pass float16, float32 or float64, or cast the result")
    return F.astype(x, dtype, copy=False)


def _correction(ddof: Any, correction: Any, method: str) -> Any:
    """NumPy's `ddof` and the array API's `correction` are one parameter under two names."""
    if correction is None:
        return ddof
    if ddof != 0:
        raise TypeError(f"{method}: pass ddof or correction, not both")
    return correction


class ArrayMethods:
    __slots__ = ()
    __array_ufunc__ = None  # NumPy defers binary operators to ours: np_array + tensor -> Tensor
    __array_priority__ = 1000

    def __array_namespace__(self, *, api_version: str | None = None):
        if api_version is not None and api_version not in API_VERSIONS:
            raise ValueError(
                f"tracefuse implements the array API standard {', '.join(API_VERSIONS)}, not "
                f"api_version={api_version!r}; call __array_namespace__() without api_version "
                "for the namespace")
        return NAMESPACE

    # arithmetic
    def __add__(self, other): return F.add(self, other)
    def __radd__(self, other): return F.add(other, self)
    def __sub__(self, other): return F.subtract(self, other)
    def __rsub__(self, other): return F.subtract(other, self)
    def __mul__(self, other): return F.multiply(self, other)
    def __rmul__(self, other): return F.multiply(other, self)
    def __truediv__(self, other): return F.divide(self, other)
    def __rtruediv__(self, other): return F.divide(other, self)
    def __floordiv__(self, other): return F.floor_divide(self, other)
    def __rfloordiv__(self, other): return F.floor_divide(other, self)
    def __mod__(self, other): return F.remainder(self, other)
    def __rmod__(self, other): return F.remainder(other, self)
    def __pow__(self, other): return F.pow(self, other)
    def __rpow__(self, other): return F.pow(other, self)
    def __matmul__(self, other): return F.matmul(self, other)
    def __rmatmul__(self, other): return F.matmul(other, self)
    def __neg__(self): return F.negative(self)
    def __pos__(self): return F.positive(self)
    def __abs__(self): return F.abs(self)

    # bitwise and logical
    def __invert__(self): return F.bitwise_invert(self)
    def __and__(self, other): return F.bitwise_and(self, other)
    def __rand__(self, other): return F.bitwise_and(other, self)
    def __or__(self, other): return F.bitwise_or(self, other)
    def __ror__(self, other): return F.bitwise_or(other, self)
    def __xor__(self, other): return F.bitwise_xor(self, other)
    def __rxor__(self, other): return F.bitwise_xor(other, self)
    def __lshift__(self, other): return F.bitwise_left_shift(self, other)
    def __rlshift__(self, other): return F.bitwise_left_shift(other, self)
    def __rshift__(self, other): return F.bitwise_right_shift(self, other)
    def __rrshift__(self, other): return F.bitwise_right_shift(other, self)

    # comparisons (elementwise; so these objects are unhashable, like NumPy arrays)
    def __eq__(self, other): return F.equal(self, other)  # type: ignore[override]
    def __ne__(self, other): return F.not_equal(self, other)  # type: ignore[override]
    def __lt__(self, other): return F.less(self, other)
    def __le__(self, other): return F.less_equal(self, other)
    def __gt__(self, other): return F.greater(self, other)
    def __ge__(self, other): return F.greater_equal(self, other)
    __hash__ = None  # type: ignore[assignment]

    # indexing and shape
    def __getitem__(self, key): return M.getitem(self, key)

    def __setitem__(self, key, value):
        raise TypeError(with_location(
            "tracefuse arrays are immutable: x[idx] = v cannot write into x; write "
            "x = x.at[idx].set(v) (a new array; also .add(v), .multiply(v), .min(v), .max(v)), "
            "or select per element with tx.where(mask, v, x)", user_location()))

    @property
    def at(self) -> IndexUpdateHelper:
        """Functional updates, as JAX: `x.at[idx].set(v)`, `.add(v)`, `.multiply(v)`,
        `.min(v)`, `.max(v)`, `.get()` return a new array (frontend/updates.py)."""
        return IndexUpdateHelper(self)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def T(self):
        """All axes reversed (NumPy's `.T`; the array API defines it for 2-D arrays)."""
        return M.permute_dims(self, tuple(reversed(range(self.ndim))))

    @property
    def mT(self):
        """The last two axes swapped."""
        return M.matrix_transpose(self)

    # NumPy-style methods
    def astype(self, dtype, /, *, copy: bool = True): return F.astype(self, dtype, copy=copy)
    def reshape(self, *shape):
        return M.reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)
    def transpose(self, *axes):
        if not axes:
            return self.T
        return M.permute_dims(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)
    def flatten(self): return M.reshape(self, (-1,))
    ravel = flatten
    def squeeze(self, axis=None): return M.squeeze(self, axis)
    # reductions, with the signatures of NumPy's ndarray methods: np.sum(t), np.mean(t) ...
    # call them with out=, dtype=, ddof= (out must be None: these arrays are immutable)
    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        _no_out(out, "sum")
        return F.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        _no_out(out, "prod")
        return F.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, out=None, keepdims=False):
        _no_out(out, "max")
        return F.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        _no_out(out, "min")
        return F.min(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        _no_out(out, "mean")
        return F.mean(_as_float(self, dtype, "mean"), axis=axis, keepdims=keepdims)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
        _no_out(out, "var")
        return F.var(_as_float(self, dtype, "var"), axis=axis,
                     correction=_correction(ddof, correction, "var"), keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, correction=None):
        _no_out(out, "std")
        return F.std(_as_float(self, dtype, "std"), axis=axis,
                     correction=_correction(ddof, correction, "std"), keepdims=keepdims)

    def all(self, axis=None, out=None, keepdims=False):
        _no_out(out, "all")
        return F.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        _no_out(out, "any")
        return F.any(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, out=None, *, keepdims=False):
        _no_out(out, "argmax")
        return F.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, out=None, *, keepdims=False):
        _no_out(out, "argmin")
        return F.argmin(self, axis=axis, keepdims=keepdims)

    def clip(self, min=None, max=None, out=None):
        _no_out(out, "clip")
        return F.clip(self, min, max)

    def __format__(self, spec: str) -> str:
        if spec:
            return format(self.__float__() if self.dtype.is_float else self.__int__(), spec)
        return str(self)

    def _describe(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError



class IndexUpdateHelper:
    """`x.at`: indexing it (`x.at[idx]`) gives the updates of those positions."""

    __slots__ = ("array",)

    def __init__(self, array: Any):
        self.array = array

    def __getitem__(self, key) -> IndexUpdateRef:
        return IndexUpdateRef(self.array, key)

    def __repr__(self) -> str:
        return f"IndexUpdateHelper({self.array!r})"


class IndexUpdateRef:
    """`x.at[idx]`: `.set(v)`, `.add(v)`, `.multiply(v)`, `.min(v)`, `.max(v)` return x
    updated at `idx` (out-of-range indices drop their update; repeated ones accumulate, or
    for set one wins), `.get()` returns `x[idx]`."""

    __slots__ = ("array", "key")

    def __init__(self, array: Any, key: Any):
        self.array, self.key = array, key

    def get(self): return M.index_update(self.array, self.key, None, "get")
    def set(self, values): return M.index_update(self.array, self.key, values, "set")
    def add(self, values): return M.index_update(self.array, self.key, values, "add")
    def multiply(self, values): return M.index_update(self.array, self.key, values, "multiply")
    def min(self, values): return M.index_update(self.array, self.key, values, "min")
    def max(self, values): return M.index_update(self.array, self.key, values, "max")
