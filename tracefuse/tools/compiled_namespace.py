"""A namespace like `tracefuse` whose every array function runs compiled: each is wrapped in
`tx.function(..., backend="cpu")`, so the array API test suite (benchmarks/conformance.py)
measures what the compiler does, not only the eager path. Import it as
`ARRAY_API_TESTS_MODULE=tracefuse.tools.compiled_namespace`.

Built explicitly from `tracefuse.__all__`: the array functions (the frontend's, less the data
type functions that take and return dtypes) are wrapped; everything else (dtypes, constants,
submodules, classes, `__array_namespace_info__`, the transforms) is passed through as it is.

The arguments of one call are split by value: arrays (Tensors, NumPy arrays and scalars, and
tuples or lists holding them, as `concat` takes) are the compiled function's inputs; every other
argument (axes, shapes, dtypes, Python scalars, nested lists given to `asarray`) is static, part
of the cache key, so a traced function never sees a traced shape or axis. Each function keeps one
`tx.function` per set of array parameters, and `inspect.signature` still reads the original's.
`tx.linalg` and `tx.fft` are wrapped the same way, function by function.

Functions whose result's shape depends on the values of an array (`nonzero`, `unique_*`
without `size=`, `repeat` with an array of counts) run eagerly here: inside `tx.function` they
raise `ConcretizationError` by design (as under `jax.jit`), and the user guide says to call
them outside or give `size=`; `VALUE_DEPENDENT` lists them, docs/conformance.md counts them.
Not used by the package itself; the tests use it to check that wrapping changes no result.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import types
from collections.abc import Callable
from typing import Any

import numpy as np

import tracefuse as _tx
from tracefuse import frontend as _frontend
from tracefuse.frontend.tensor import Tensor as _Tensor

BACKEND = "cpu"

# frontend functions that never return arrays (dtypes, bools, finfo, the inspection object),
# and from_dlpack, whose argument is any object with __dlpack__ (not an input a trace takes)
NOT_COMPILED = frozenset({"can_cast", "finfo", "iinfo", "isdtype", "result_type",
                          "__array_namespace_info__", "from_dlpack"})


def _holds_array(value: Any) -> bool:
    """Whether `value` is an array, or a tuple or list with an array somewhere inside."""
    if isinstance(value, (_Tensor, np.ndarray, np.generic)):
        return True
    if isinstance(value, (tuple, list)):
        return builtins.any(_holds_array(v) for v in value)  # `any` is tx.any here
    return False


def _hashable(value: Any) -> Any:
    """A static argument as a cache key can hold it: lists become tuples, all the way down."""
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


# functions whose result shape depends on values unless a static size is given
VALUE_DEPENDENT = frozenset({"nonzero", "unique_all", "unique_counts", "unique_inverse",
                             "unique_values", "repeat"})


def _value_dependent(name: str, arguments: dict) -> bool:
    if name not in VALUE_DEPENDENT:
        return False
    if name == "repeat":
        return _holds_array(arguments.get("repeats"))
    return arguments.get("size") is None


def compiled(fn: Callable, backend: str = BACKEND) -> Callable:
    """`fn` run through `tx.function(fn, backend=backend)`, with its non-array arguments
    static."""
    signature = inspect.signature(fn)
    by_arrays: dict[tuple, Callable] = {}  # array parameters -> tx.function

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{fn.__name__}(): {e}") from None
        arguments = bound.arguments  # (no frontend function takes **kwargs)
        arrays = tuple(n for n, v in arguments.items() if _holds_array(v))
        if _value_dependent(fn.__name__, arguments):
            return fn(*args, **kwargs)
        key = arrays
        f = by_arrays.get(key)
        if f is None:
            static = tuple(n for n in signature.parameters if n not in arrays)
            # autograph=False: library code branches on static values only, as when a user
            # calls it inside a tx.function (AutoGraph converts the user's function, not ours)
            f = by_arrays[key] = _tx.function(fn, backend=backend, static_argnames=static,
                                                 autograph=False)
        for name in arguments:
            if name not in arrays:
                bound.arguments[name] = _hashable(bound.arguments[name])
        return f(*bound.args, **bound.kwargs)

    call.compiled_by = by_arrays  # for tests: the tx.functions made so far
    return call


def _compiled_submodule(module: types.ModuleType) -> types.ModuleType:
    """`tx.linalg` or `tx.fft` with every function compiled (classes, the named tuples of
    linalg's results, pass through)."""
    wrapped = types.ModuleType(f"{__name__}.{module.__name__.rsplit('.', 1)[-1]}",
                               module.__doc__)
    for name in module.__all__:
        value = getattr(module, name)
        is_function = inspect.isfunction(value) or inspect.isbuiltin(value)
        setattr(wrapped, name, compiled(value) if is_function else value)
    wrapped.__all__ = list(module.__all__)
    return wrapped


def _build() -> dict[str, Any]:
    names = {}
    array_functions = set(_frontend.__all__) - NOT_COMPILED
    for name in _tx.__all__:
        value = getattr(_tx, name)
        if name in ("linalg", "fft"):
            value = _compiled_submodule(value)
        names[name] = compiled(value) if name in array_functions else value
    return names


globals().update(_build())
__all__ = list(_tx.__all__)
