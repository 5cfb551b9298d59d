"""Signatures: how the arguments of one call of a `Function` become its cache key.

`TensorSpec` (the shape and dtype an argument must have); `Signature`, made once per Function
from its Python signature, which binds a call's arguments to parameters, separates the static
ones (`static_argnums`, `static_argnames`), checks `input_signature`, and builds the `Key`.

A key holds the backend object and compile options, the names of the parameters passed, the
pytree structure of their values, each array leaf's shape and dtype, each Python scalar's kind
(a weak 0-d input, so its value may change freely), and the static arguments' values. A
`tx.Variable` passed as an argument is keyed by its shape and dtype like an array, and in
`Key.variables` by its position, whether it is trainable (a tape inside watches it or not) and
which earlier argument is the same Variable (the trace reads and assigns one Variable once).
Variables the function closes over are not in the key: their shape and dtype never change,
and their values are read at each call.

Parameters left at their default are part of the function, as in `jax.jit` and `tf.function`:
they are not arguments of the trace and not in the key (the body sees the default value; a
default that is an array is a constant of the trace). A static parameter's default is keyed
like a value passed, so `f(x)` and `f(x, n=1)` share one trace (and with an `input_signature`,
every default is checked against its TensorSpec as if passed).

`static_argnums` index the call's positional arguments, as in JAX: on a function with
`*args`, a position past the named parameters is an element of `*args`, keyed by its value
(a negative position counts from the end of the call's positional arguments).
"""

from __future__ import annotations

import inspect
import struct
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import (ConcretizationError, DTypeError, SignatureError, TracefuseError,
                      user_location, with_location)
from ..frontend.device import is_gpu_array
from ..frontend.tensor import Tensor
from ..frontend.variable import Variable
from ..ir import dtypes as dt
from ..tracer import pytree
from ..tracer.tracer import Tracer

P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
INT64_MIN, INT64_END = -(2**63), 2**63
# the leaf key of each Python scalar type: a weak 0-d value of the array API's default dtype
PY_KEYS = {bool: ((), np.dtype(bool), True), int: ((), np.dtype(np.int64), True),
           float: ((), np.dtype(np.float64), True), complex: ((), np.dtype(np.complex128), True)}
PY_NAMES = {"b": "Python bool", "i": "Python int", "f": "Python float", "c": "Python complex"}


class ExactFloat(float):
    """A static float argument as the cache key sees it: equal only to the same bits, so a
    static -0.0 gets its own trace (it equals 0.0 as a float) and a static NaN finds its trace
    again (it equals nothing as a float). Otherwise a float: the function receives it."""

    __slots__ = ()

    def bits(self) -> bytes:
        return struct.pack("<d", self)  # the sign of a NaN too (float.hex drops it)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, float) and self.bits() == struct.pack("<d", other)

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.bits())


class ExactComplex(complex):
    """A static complex argument as the cache key sees it: equal only to the same bits of both
    parts (as ExactFloat: `complex(-0.0, 0)` gets its own trace)."""

    __slots__ = ()

    def bits(self) -> bytes:
        return struct.pack("<dd", self.real, self.imag)

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, complex)
                and self.bits() == struct.pack("<dd", other.real, other.imag))

    def __ne__(self, other: Any) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.bits())


def exact_static(value: Any) -> Any:
    """`value` with its floats and complex numbers (also inside plain tuples) made ExactFloat /
    ExactComplex, for the cache key."""
    if type(value) is float:
        return ExactFloat(value)
    if type(value) is complex:
        return ExactComplex(value)
    if type(value) is tuple:
        return tuple(exact_static(v) for v in value)
    return value


class Key(NamedTuple):
    """The cache key of one call (hashable). `leaves`: (shape, numpy dtype, weak) per leaf;
    `static`: (name, type, value) per static argument; `variables`: (leaf index, trainable,
    leaf index of its first occurrence) per leaf that is a tx.Variable."""

    backend: Any
    options: Any
    names: tuple
    treedef: Any
    leaves: tuple
    static: tuple
    variables: tuple = ()


def variable_keys(leaves: list) -> tuple:
    """(leaf index, trainable, index of the first leaf that is the same Variable) per Variable
    leaf."""
    first: dict[int, int] = {}
    out = []
    for i, leaf in enumerate(leaves):
        if type(leaf) is Variable:
            out.append((i, leaf.trainable, first.setdefault(id(leaf), i)))
    return tuple(out)


def fmt_leaf(leaf_key: tuple) -> str:
    """`float32[3, 4]` or `Python float`: one leaf of a key, for reports."""
    shape, dtype, weak = leaf_key
    return PY_NAMES[dtype.kind] if weak else f"{dtype.name}{list(shape)}"


class TensorSpec:
    """The shape and dtype an argument must have; `None` in the shape accepts any size."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape: Sequence[int | None], dtype: Any = dt.float32, name: str | None = None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dt.as_dtype(dtype)
        self.name = name

    @classmethod
    def from_tensor(cls, x: Any, name: str | None = None) -> "TensorSpec":
        if isinstance(x, Tensor) or is_gpu_array(x):  # no copy (CuPy refuses np.asarray)
            return cls(x.shape, x.dtype, name)
        arr = np.asarray(x)
        return cls(arr.shape, arr.dtype, name)

    @property
    def fully_defined(self) -> bool:
        return None not in self.shape

    def matches(self, shape: tuple[int, ...], dtype: Any) -> bool:
        return (self.dtype == dtype and len(shape) == len(self.shape)
                and all(s is None or s == d for s, d in zip(self.shape, shape)))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TensorSpec) and (self.shape, self.dtype, self.name) == (
            other.shape, other.dtype, other.name)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.name))

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        return f"TensorSpec(shape={self.shape}, dtype={self.dtype.name}{name})"


def _as_tuple(value: Any, one: type) -> tuple:
    return (value,) if isinstance(value, one) else tuple(value)


class Signature:
    """A Function's parameters and what is static among them; binds calls and builds keys."""

    def __init__(self, fn: Callable, name: str, static_argnums: Any = (),
                 static_argnames: Any = (), input_signature: Any = None):
        self.name = name
        self.sig = inspect.signature(fn)
        self.params = list(self.sig.parameters.values())
        positional = [p for p in self.params if p.kind in POSITIONAL]
        self.n_named = len(positional)
        self.var_positional = next((p.name for p in self.params if p.kind == P.VAR_POSITIONAL),
                                   None)
        static = set(_as_tuple(static_argnames, str))
        call_nums = []  # positions resolved per call (functions with *args)
        for n in _as_tuple(static_argnums, int):
            if self.var_positional is not None and not 0 <= n < len(positional):
                call_nums.append(n)
            elif -len(positional) <= n < len(positional):
                static.add(positional[n].name)
            else:
                raise ValueError(f"static_argnums {n} is out of range for {name}{self.sig} "
                                 f"({len(positional)} positional parameters)")
        self.call_nums = tuple(call_nums)
        known = {p.name for p in self.params}
        if not any(p.kind == P.VAR_KEYWORD for p in self.params):
            for n in sorted(static - known):
                raise ValueError(f"static_argnames {n!r} is not a parameter of {name}{self.sig}")
        self.static = frozenset(static)
        self.param_names = tuple(p.name for p in self.params)
        # a call of only positional arguments, one per parameter, binds without inspect
        self.simple = not static and not call_nums and len(positional) == len(self.params)
        self.input_signature = None
        if input_signature is not None:
            specs = tuple(input_signature)
            if not all(isinstance(s, TensorSpec) for s in pytree.flatten(specs)[0]):
                raise TypeError("input_signature must be a sequence of tx.TensorSpec (or pytrees of them)")
            dynamic = [p for p in self.params if p.name not in self.static]
            if len(specs) != len(dynamic) or any(p.kind not in POSITIONAL for p in dynamic):
                raise ValueError(
                    f"input_signature has {len(specs)} specs but {name}{self.sig} has "
                    f"{len(dynamic)} non-static parameters; give one TensorSpec per parameter")
            self.input_signature = specs
            self.spec_leaves, self.spec_treedef = pytree.flatten(specs)
        # calls of this many positional arrays or Python scalars may take Function's fast path
        self.fast_arity = len(self.params) if self.simple and input_signature is None else -1

    # --- binding ----------------------------------------------------------------------------
    def bind(self, args: tuple, kwargs: dict) -> tuple[tuple, tuple, tuple]:
        """(dynamic parameter names, their values, static (name, type, value) triples)."""
        if self.simple and not kwargs and len(args) == len(self.params):
            return self.param_names, args, ()
        try:
            arguments = self.sig.bind(*args, **kwargs).arguments
        except TypeError as e:
            raise TypeError(with_location(f"{self.name}(): {e}", user_location())) from None
        static_names, var_static = self.static, ()
        if self.call_nums:
            static_names, var_static = self._call_statics(len(args))
        names, values, static = [], [], []
        for p in self.params:
            if p.name in arguments:
                value = arguments[p.name]
            elif p.default is not P.empty and (p.name in static_names
                                               or self.input_signature is not None):
                value = p.default  # keyed (and checked against its TensorSpec) as if passed
            else:
                continue  # a default not passed: part of the function, not an argument
            if p.kind == P.VAR_KEYWORD:
                for k, v in value.items():
                    if k in static_names:
                        static.append((k, type(v), exact_static(v)))
                    else:
                        names.append(k)
                        values.append(v)
            elif p.kind == P.VAR_POSITIONAL and var_static:
                static.extend((f"{p.name}[{j}]", type(value[j]), exact_static(value[j]))
                              for j in var_static)
                names.append(p.name)
                values.append(tuple(v for j, v in enumerate(value) if j not in var_static))
            elif p.name in static_names:
                static.append((p.name, type(value), exact_static(value)))
            else:
                names.append(p.name)
                values.append(value)
        return tuple(names), tuple(values), tuple(static)

    def _call_statics(self, n_args: int) -> tuple[frozenset, tuple]:
        """The static names and the static positions within *args for a call of n_args
        positional arguments (static_argnums that index past the named parameters)."""
        names, var_static = set(self.static), set()
        for n in self.call_nums:
            at = n + n_args if n < 0 else n
            if not 0 <= at < n_args:
                raise TypeError(with_location(
                    f"{self.name}() has static_argnums {n} but was called with {n_args} "
                    "positional arguments; pass the static argument by position",
                    user_location()))
            if at < self.n_named:
                names.add(self.params[at].name)
            else:
                var_static.add(at - self.n_named)
        return frozenset(names), tuple(sorted(var_static))

    def rebuild(self, names: tuple, values: Any, static: tuple) -> tuple[list, dict]:
        """The (args, kwargs) to call the Python function with: `bind` undone, the dynamic
        values replaced (by tracers, or Tensors when running eagerly)."""
        given = dict(zip(names, values))
        fixed = {name: value for name, _, value in static}
        args: list = []
        kwargs: dict = {}
        by_keyword = False  # after a positional parameter left at its default
        for p in self.params:
            if p.kind in POSITIONAL or p.kind == P.KEYWORD_ONLY:
                if p.name in given:
                    value = given.pop(p.name)
                elif p.name in fixed:
                    value = fixed.pop(p.name)
                else:
                    by_keyword = True
                    continue
                if p.kind == P.KEYWORD_ONLY or (by_keyword and p.kind == P.POSITIONAL_OR_KEYWORD):
                    kwargs[p.name] = value
                else:
                    args.append(value)
            elif p.kind == P.VAR_POSITIONAL:
                dynamic = tuple(given.pop(p.name, ()))
                n_static = sum(k.startswith(p.name + "[") for k in fixed)  # `bind`'s names
                rest = iter(dynamic)
                for j in range(len(dynamic) + n_static):
                    k = f"{p.name}[{j}]"
                    args.append(fixed.pop(k) if k in fixed else next(rest))
        kwargs.update(given)  # what is left came through **kwargs
        kwargs.update(fixed)
        return args, kwargs

    # --- keys -------------------------------------------------------------------------------
    def key(self, backend: Any, options: Any, args: tuple, kwargs: dict
            ) -> tuple[Key, list, tuple]:
        """(key, the flattened dynamic leaves, the dynamic parameter names) of one call."""
        names, values, static = self.bind(args, kwargs)
        leaves, treedef = pytree.flatten(values)
        if self.input_signature is not None:
            leaf_keys = self._check_signature(names, treedef, leaves)
        else:
            leaf_keys = []
            for i, leaf in enumerate(leaves):
                t = type(leaf)
                if t is Tensor:
                    a = leaf._array
                    leaf_keys.append((a.shape, a.dtype, False))
                elif t is np.ndarray or isinstance(leaf, np.ndarray) or is_gpu_array(leaf):
                    # a CuPy array keys like a NumPy array of its shape and dtype: where the
                    # data lives is the backend's business (gpu copies host inputs over)
                    leaf_keys.append((leaf.shape, np.dtype(leaf.dtype), False))
                elif t in PY_KEYS:
                    if t is int and not INT64_MIN <= leaf < INT64_END:
                        raise self._int_error(names, treedef, i, leaf)
                    leaf_keys.append(PY_KEYS[t])
                elif isinstance(leaf, np.generic):
                    leaf_keys.append(((), leaf.dtype, False))
                elif t is Variable:
                    leaf_keys.append((leaf.shape, leaf.dtype.np, False))
                else:
                    raise self._leaf_error(names, treedef, i, leaf)
        variables = variable_keys(leaves) if Variable in map(type, leaves) else ()
        key = Key(backend, options, names, treedef, tuple(leaf_keys), static, variables)
        try:
            hash(key)
        except TypeError:
            for name, _, value in static:
                try:
                    hash(value)
                except TypeError:
                    raise SignatureError(with_location(
                        f"{self.name}(): static argument {name!r} has an unhashable value of "
                        f"type {type(value).__name__}; static values are part of the cache key, "
                        "so pass a hashable one (a tuple instead of a list, say)",
                        user_location())) from None
            raise
        return key, leaves, names

    @staticmethod
    def paths(names: tuple, treedef: Any) -> list[str]:
        """Each leaf's path as the user would write it: `params['w']`, `xs[0]`."""
        paths = []
        for name, sub in zip(names, treedef[1:]):
            paths.extend(pytree.leaf_paths(sub, name))
        return paths

    def example_arguments(self) -> tuple:
        """Zeros matching an input_signature of fully known shapes (else SignatureError)."""
        if not all(s.fully_defined for s in self.spec_leaves):
            raise SignatureError(
                f"{self.name}.get_concrete_function(): input_signature "
                f"{list(self.input_signature)} has unknown (None) dimensions; pass example "
                "arguments to choose the shapes")
        return tuple(pytree.unflatten(self.spec_treedef,
                                      [np.zeros(s.shape, s.dtype.np) for s in self.spec_leaves]))

    # --- errors -----------------------------------------------------------------------------
    def _int_error(self, names, treedef, i, leaf) -> OverflowError:
        path = self.paths(names, treedef)[i]
        return OverflowError(with_location(
            f"{self.name}(): argument {path} is the Python int {leaf}, which does not fit "
            f"int64 (Python ints are passed as int64); pass np.uint64({leaf}) or an array of the "
            "dtype you need", user_location()))

    def _leaf_error(self, names, treedef, i, leaf) -> TracefuseError:
        path = self.paths(names, treedef)[i]
        if isinstance(leaf, Tracer):
            return ConcretizationError(with_location(
                f"{self.name}(): argument {path} is a traced value (a Tracer) that escaped the "
                "@tx.function trace that made it (through a global, a closure or an attribute); "
                "return arrays from a compiled function and pass those instead", user_location()))
        return DTypeError(with_location(
            f"{self.name}(): argument {path} is a {type(leaf).__name__}, not an array or a "
            "number; pass arrays (tx.Tensor, NumPy), Python scalars, or tuples/lists/dicts of "
            "them, or mark the argument static (static_argnames=...)", user_location()))

    def _check_signature(self, names, treedef, leaves) -> list[tuple]:
        paths = self.paths(names, self.spec_treedef)
        if treedef != self.spec_treedef:
            raise SignatureError(with_location(
                f"{self.name}(): the arguments' structure does not match input_signature "
                f"{list(self.input_signature)}", user_location()))
        keys = []
        for path, leaf, spec in zip(paths, leaves, self.spec_leaves):
            if type(leaf) in PY_KEYS or isinstance(leaf, np.generic):
                shape, dtype = (), spec.dtype.np  # scalars convert to the spec's dtype
                try:
                    with np.errstate(all="ignore"):
                        np.asarray(leaf, dtype=dtype)
                except (OverflowError, ValueError, TypeError) as e:
                    raise SignatureError(with_location(
                        f"{self.name}(): argument {path} = {leaf!r} cannot be converted to "
                        f"{spec}: {e}", user_location())) from None
            elif isinstance(leaf, (Tensor, np.ndarray)) or is_gpu_array(leaf):
                shape, dtype = leaf.shape, np.dtype(getattr(leaf, "_array", leaf).dtype)
            elif isinstance(leaf, Variable):
                shape, dtype = leaf.shape, leaf.dtype.np
            else:
                if isinstance(leaf, Tracer):
                    raise self._leaf_error(names, treedef, len(keys), leaf)
                raise SignatureError(with_location(
                    f"{self.name}(): argument {path} is a {type(leaf).__name__}, expected "
                    f"an array matching {spec}", user_location()))
            if not spec.matches(shape, dtype):
                raise SignatureError(with_location(
                    f"{self.name}(): argument {path} is {dt.as_dtype(dtype).name}"
                    f"{list(shape)}, which does not match {spec}", user_location()))
            keys.append((tuple(shape), np.dtype(dtype), False))
        return keys
