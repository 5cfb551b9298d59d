"""`@tx.function` (alias `tx.jit`): trace, optimize, lower and cache; `ConcreteFunction`;
`TensorSpec`; retrace reports.

A call is keyed on its *signature*: the backend and compile flags, the pytree structure of the
arguments, each array leaf's shape and dtype, each Python scalar's kind (traced as a weak 0-d
input, so its value may change freely), and the values of static arguments. A key seen before
runs its `ConcreteFunction` at once; a new key traces the Python function, runs the pass
pipeline and the backend, and caches the result. A trace that raises caches nothing.
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import config
from ..backends import CompileOptions, LoweredGraph, get_backend
from ..frontend.device import is_gpu_array
from ..errors import (BackendUnavailableError, ConcretizationError, DTypeError, Loc, RetraceWarning,
                      SignatureError, TracefuseError, user_location, with_location)
from ..ir import TensorType, print_graph
from ..ir.printer import sanitize_name
from ..ir import dtypes as dt
from ..ir.convert import PY_SCALARS
from ..passes import build_pipeline, dump_stages, run_pipeline
from ..frontend.tensor import Tensor
from ..tracer import pytree
from ..tracer.tracer import GraphBuilder, Tracer, current_builder, tracing

_PY_KEYS = {bool: ((), np.dtype(bool), True), int: ((), np.dtype(np.int64), True),
            float: ((), np.dtype(np.float64), True)}
_PY_NAMES = {bool: "Python bool", int: "Python int", float: "Python float"}


def _none_paths(names: tuple, treedef: Any) -> list[str]:
    """The argument paths that are None (empty pytree nodes), for error hints."""
    out: list[str] = []

    def walk(td: Any, prefix: str) -> None:
        if td == pytree.LEAF:
            return
        kind = td[0]
        if kind == "none":
            out.append(prefix)
        elif kind in ("tuple", "list"):
            for i, c in enumerate(td[1:]):
                walk(c, f"{prefix}[{i}]")
        elif kind == "dict":
            for k, c in zip(td[1], td[2:]):
                walk(c, f"{prefix}[{k!r}]")
        elif kind == "namedtuple":
            for name, c in zip(td[1]._fields, td[2:]):
                walk(c, f"{prefix}.{name}")

    for name, sub in zip(names, treedef[1:]):
        walk(sub, name)
    return out


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


def _fmt_leaf(leaf_key: tuple) -> str:
    shape, dtype, weak = leaf_key
    if weak:
        return {"b": "Python bool", "i": "Python int", "f": "Python float"}[dtype.kind]
    return f"{dtype.name}{list(shape)}"


class ConcreteFunction:
    """One traced and compiled specialization of a `Function` for one signature."""

    def __init__(self, function: "Function", key: tuple, stages: dict, lowered: LoweredGraph,
                 in_types: list[TensorType], in_paths: list[str], out_treedef: Any,
                 static: tuple, executable=None):
        self.function = function
        self.key = key
        self._stages = stages
        self.lowered = lowered
        self.in_types = in_types
        self.in_paths = in_paths
        self._out_treedef = out_treedef
        self.static = static
        self._executable = executable
        self._host = get_backend(lowered.backend).device != "gpu"  # arrays go to the host
        self.int_limits: tuple = ()  # (leaf, dtype, op, loc): Python int arguments' bounds
        self.fusion_refusals: tuple[str, ...] = ()  # the fuse pass's, from the pipeline

    @property
    def graph(self):
        """The graph the backend runs (after every pass)."""
        return self.lowered.graph

    @property
    def backend(self) -> str:
        return self.lowered.backend

    @property
    def kernels(self) -> list[str]:
        """The source of each generated kernel (none for the numpy interpreter)."""
        return list(self.lowered.kernels)

    @property
    def signature(self) -> str:
        parts = [f"{p}: {t}" for p, t in zip(self.in_paths, self.in_types)]
        parts += [f"{name}={value!r}" for name, _, value in self.static]
        return ", ".join(parts)

    def ir(self, stage: str = "fused", *, elide_constants: bool = True) -> str:
        """The IR text after `stage`: "traced", "optimized" or "fused" (or a pass name)."""
        if stage not in self._stages:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(self._stages)}")
        return print_graph(self._stages[stage], elide_constants=elide_constants)

    def _check_ints(self, leaves: list[Any]) -> None:
        """A Python int argument must fit the integer dtype of each op it meets, as in NumPy
        (NEP 50: `int8_array + 300` raises); compiled code would wrap it."""
        for i, limit, code, loc in self.int_limits:
            value = leaves[i]
            if isinstance(value, int) and not dt.can_cast_value(value, limit):
                raise OverflowError(with_location(
                    f"{self.function.__name__}(): argument {self.in_paths[i]} is the Python int "
                    f"{value}, out of bounds for {limit.name} in {code.value} (as in NumPy); "
                    "pass a value that fits, or convert the array first", loc))

    def _run(self, leaves: list[Any]):
        if self.int_limits:
            self._check_ints(leaves)
        if self._executable is None:
            backend = get_backend(self.lowered.backend)
            reason = backend.unavailable()
            if reason is not None:  # traced by f.lower() on a machine without the device
                raise BackendUnavailableError(reason)
            self._executable = backend.load(self.lowered)
        arrays = []
        for leaf, t in zip(leaves, self.in_types):
            if isinstance(leaf, Tensor):
                leaf = leaf._array
            if isinstance(leaf, np.ndarray):
                arrays.append(leaf)
            elif is_gpu_array(leaf):  # a host backend copies GPU arguments to the host
                arrays.append(leaf.get() if self._host else leaf)
            else:
                arrays.append(np.asarray(leaf, dtype=t.dtype.np))
        outs = self._executable(arrays)
        return pytree.unflatten(self._out_treedef, [Tensor._wrap(o) for o in outs])

    def __call__(self, *args: Any, **kwargs: Any):
        key, leaves, _ = self.function._key(args, kwargs)
        if key != self.key:
            changes = self.function._differences(self.key, key)
            raise SignatureError(
                f"this concrete function of {self.function.__name__} was traced for "
                f"({self.signature}); the arguments differ: {'; '.join(changes) or 'structure'}"
            )
        return self._run(leaves)

    def __repr__(self) -> str:
        return f"<ConcreteFunction {self.function.__name__}({self.signature}) backend={self.backend}>"


class Lowered:
    """What `f.lower(...)` returns: the IR at each stage and the kernel sources, not run."""

    def __init__(self, cf: ConcreteFunction):
        self._cf = cf

    def ir(self, stage: str = "fused", *, elide_constants: bool = True) -> str:
        return self._cf.ir(stage, elide_constants=elide_constants)

    @property
    def kernels(self) -> list[str]:
        return self._cf.kernels

    @property
    def notes(self) -> list[str]:
        return list(self._cf.lowered.notes)

    def compile(self) -> ConcreteFunction:
        return self._cf


class Function:
    """A Python function compiled per input signature. Made by `@tx.function`."""

    def __init__(self, fn: Callable, *, backend: str | None = None, static_argnums=(),
                 static_argnames=(), input_signature=None, fastmath: bool = False,
                 name: str | None = None):
        if not callable(fn):
            raise TypeError(f"@tx.function needs a callable, got {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.python_function = fn
        self.__name__ = name or getattr(fn, "__name__", "function")
        self._backend = backend
        if backend is not None:
            get_backend(backend)  # unknown names fail at decoration time
        self._options = CompileOptions(fastmath=bool(fastmath))
        self._sig = inspect.signature(fn)
        params = list(self._sig.parameters.values())
        self._params = params
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        static = set(names)
        for n in nums:
            if not -len(positional) <= n < len(positional):
                raise ValueError(f"static_argnums {n} is out of range for {self.__name__}"
                                 f"{self._sig} ({len(positional)} positional parameters)")
            static.add(positional[n].name)
        known = {p.name for p in params}
        has_var_kw = any(p.kind == p.VAR_KEYWORD for p in params)
        for n in static - known:
            if not has_var_kw:
                raise ValueError(f"static_argnames {n!r} is not a parameter of {self.__name__}{self._sig}")
        self._static = frozenset(static)
        self._fast = (not static and len(positional) == len(params))
        self._n_params = len(params)
        self._input_signature = None
        if input_signature is not None:
            specs = tuple(input_signature)
            if not all(isinstance(s, TensorSpec) for s in pytree.flatten(specs)[0]):
                raise TypeError("input_signature must be a sequence of tx.TensorSpec (or pytrees of them)")
            dynamic = [p for p in params if p.name not in self._static]
            if len(specs) != len(dynamic) or any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in dynamic):
                raise ValueError(
                    f"input_signature has {len(specs)} specs but {self.__name__}{self._sig} has "
                    f"{len(dynamic)} non-static parameters; give one TensorSpec per parameter")
            self._input_signature = specs
            self._spec_leaves, self._spec_treedef = pytree.flatten(specs)
        self._init_options = dict(backend=backend, input_signature=input_signature,
                                  fastmath=fastmath, name=name)
        self._bound: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._attr_name = f"_tracefuse_function_{id(self)}"
        self._cache: dict[tuple, ConcreteFunction] = {}
        self._lock = threading.RLock()
        self._history: deque = deque(maxlen=config.RETRACE_WINDOW)  # per call: list of changes or None
        self._last_warning_call = -(10**9)
        self._calls = 0
        self.trace_count = 0

    # --- signatures -----------------------------------------------------------------------
    def _bind(self, args: tuple, kwargs: dict) -> tuple[tuple, tuple, tuple]:
        """(dynamic parameter names, their values, static (name, type, value) triples)."""
        if self._fast and not kwargs and len(args) == self._n_params:
            return tuple(p.name for p in self._params), args, ()
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(with_location(f"{self.__name__}(): {e}", user_location())) from None
        bound.apply_defaults()
        names, values, static = [], [], []
        for name, value in bound.arguments.items():
            param = self._sig.parameters[name]
            if param.kind == param.VAR_KEYWORD:
                for k, v in value.items():
                    if k in self._static:
                        static.append((k, type(v), v))
                    else:
                        names.append(k)
                        values.append(v)
                continue
            if name in self._static:
                static.append((name, type(value), value))
            else:
                names.append(name)
                values.append(value)
        return tuple(names), tuple(values), tuple(static)

    def _key(self, args: tuple, kwargs: dict):
        names, values, static = self._bind(args, kwargs)
        leaves, treedef = pytree.flatten(values)
        if self._input_signature is not None:
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
                elif t in _PY_KEYS:
                    if t is int and not -(2**63) <= leaf < 2**63:
                        raise self._int_error(names, treedef, i, leaf)
                    leaf_keys.append(_PY_KEYS[t])
                elif isinstance(leaf, np.generic):
                    leaf_keys.append(((), leaf.dtype, False))
                else:
                    raise self._leaf_error(names, treedef, i, leaf)
        backend = self._backend or config.default_backend()
        key = (backend, self._options, names, treedef, tuple(leaf_keys), static)
        try:
            hash(key)
        except TypeError:
            for name, _, value in static:
                try:
                    hash(value)
                except TypeError:
                    raise SignatureError(with_location(
                        f"{self.__name__}(): static argument {name!r} has an unhashable value of "
                        f"type {type(value).__name__}; static values are part of the cache key, "
                        "so pass a hashable one (a tuple instead of a list, say)",
                        user_location())) from None
            raise
        return key, leaves, names

    def _int_error(self, names, treedef, i, leaf) -> OverflowError:
        path = self._paths(names, treedef)[i]
        return OverflowError(with_location(
            f"{self.__name__}(): argument {path} is the Python int {leaf}, which does not fit "
            f"int64 (Python ints are passed as int64); pass np.uint64({leaf}) or an array of the "
            "dtype you need", user_location()))

    def _leaf_error(self, names, treedef, i, leaf) -> TracefuseError:
        path = self._paths(names, treedef)[i]
        if isinstance(leaf, Tracer):
            return ConcretizationError(with_location(
                f"{self.__name__}(): argument {path} is a traced value (a Tracer) that escaped the "
                "@tx.function trace that made it (through a global, a closure or an attribute); "
                "return arrays from a compiled function and pass those instead", user_location()))
        return DTypeError(with_location(
            f"{self.__name__}(): argument {path} is a {type(leaf).__name__}, not an array or a "
            "number; pass arrays (tx.Tensor, NumPy), Python scalars, or tuples/lists/dicts of "
            "them, or mark the argument static (static_argnames=...)", user_location()))

    @staticmethod
    def _paths(names: tuple, treedef: Any) -> list[str]:
        paths = []
        for name, sub in zip(names, treedef[1:]):
            paths.extend(pytree.leaf_paths(sub, name))
        return paths

    def _check_signature(self, names, treedef, leaves) -> list[tuple]:
        paths = self._paths(names, self._spec_treedef)
        if treedef != self._spec_treedef:
            raise SignatureError(with_location(
                f"{self.__name__}(): the arguments' structure does not match input_signature "
                f"{list(self._input_signature)}", user_location()))
        keys = []
        for path, leaf, spec in zip(paths, leaves, self._spec_leaves):
            if type(leaf) in _PY_KEYS or isinstance(leaf, np.generic):
                shape, dtype = (), spec.dtype.np  # scalars convert to the spec's dtype
                try:
                    with np.errstate(all="ignore"):
                        np.asarray(leaf, dtype=dtype)
                except (OverflowError, ValueError, TypeError) as e:
                    raise SignatureError(with_location(
                        f"{self.__name__}(): argument {path} = {leaf!r} cannot be converted to "
                        f"{spec}: {e}", user_location())) from None
            elif isinstance(leaf, (Tensor, np.ndarray)) or is_gpu_array(leaf):
                shape, dtype = leaf.shape, np.dtype(getattr(leaf, "_array", leaf).dtype)
            else:
                if isinstance(leaf, Tracer):
                    raise self._leaf_error(names, treedef, len(keys), leaf)
                raise SignatureError(with_location(
                    f"{self.__name__}(): argument {path} is a {type(leaf).__name__}, expected "
                    f"an array matching {spec}", user_location()))
            if not spec.matches(shape, dtype):
                raise SignatureError(with_location(
                    f"{self.__name__}(): argument {path} is {dt.as_dtype(dtype).name}"
                    f"{list(shape)}, which does not match {spec}", user_location()))
            keys.append((tuple(shape), np.dtype(dtype), False))
        return keys

    # --- calling --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any):
        if config.functions_run_eagerly():
            return self._call_eagerly(args, kwargs)
        if current_builder() is not None:
            return self.python_function(*args, **kwargs)  # called while tracing: inline it
        key, leaves, names = self._key(args, kwargs)
        cf = self._cache.get(key)
        if cf is None:
            cf = self._compile(key, args, kwargs)
        else:
            self._record(None)
        return cf._run(leaves)

    def _call_eagerly(self, args, kwargs):
        out = self.python_function(*args, **kwargs)
        leaves, treedef = pytree.flatten(out)
        from ..frontend.creation import asarray

        return pytree.unflatten(treedef, [asarray(x) if not isinstance(x, Tensor) else x for x in leaves])

    def _record(self, changes: list[str] | None) -> None:
        self._calls += 1
        self._history.append(changes)

    def _compile(self, key: tuple, args: tuple, kwargs: dict) -> ConcreteFunction:
        with self._lock:
            cf = self._cache.get(key)
            if cf is not None:
                self._record(None)
                return cf
            previous = next(reversed(self._cache)) if self._cache else None
            cf = self._trace(key, args, kwargs)
            self._cache[key] = cf
            self._record(self._differences(previous, key) if previous is not None else None)
            self._maybe_warn()
            return cf

    def _trace(self, key: tuple, args: tuple, kwargs: dict,
               need_device: bool = True) -> ConcreteFunction:
        backend_name, options, names, treedef, leaf_keys, static = key
        backend = get_backend(backend_name)
        reason = backend.unavailable() if need_device else None
        if reason is not None:
            raise BackendUnavailableError(reason)
        paths = self._paths(names, treedef)
        in_types = []
        for path, (shape, dtype, weak) in zip(paths, leaf_keys):
            try:
                in_types.append(TensorType(shape, dt.as_dtype(dtype), weak))
            except TypeError as e:
                raise DTypeError(with_location(f"{self.__name__}(): argument {path}: {e}",
                                               user_location())) from None
        builder = GraphBuilder(sanitize_name(self.__name__), backend.device)
        tracers = [builder.new_input(t) for t in in_types]
        values = pytree.unflatten(treedef, tracers)
        call_args, call_kwargs = self._rebuild(names, values, static)
        self.trace_count += 1
        with tracing(builder):
            try:
                out = self.python_function(*call_args, **call_kwargs)
            except Exception as e:  # the user's own exception, unchanged, perhaps with a hint
                nones = _none_paths(names, treedef)
                if nones and isinstance(e, (TypeError, AttributeError)):
                    e.add_note(f"note: {self.__name__} was traced with None for "
                               f"{', '.join(nones)}; tracefuse passes None through as an "
                               "empty structure, not an array")
                raise
            out_leaves, out_treedef = pytree.flatten(out)
            out_paths = pytree.leaf_paths(out_treedef, "result")
            out_values = []
            for path, leaf in zip(out_paths, out_leaves):
                if not isinstance(leaf, (Tracer, Tensor, np.ndarray, np.generic) + PY_SCALARS) \
                        and not is_gpu_array(leaf):
                    raise DTypeError(with_location(
                        f"{self.__name__} returned {path} = a {type(leaf).__name__}; a compiled "
                        "function may return arrays, Python numbers and tuples/lists/dicts of "
                        "them", self._def_location()))
                out_values.append(builder.lift(leaf, what=path))
        traced = builder.build(out_values)
        result = run_pipeline(traced, build_pipeline(options), verify_each=config.verify_passes())
        after = dict(result.after)
        stages = {"traced": traced, "optimized": after["dce"], "fused": result.graph}
        stages.update(after)
        lowered = backend.lower(result.graph, options)
        cf = ConcreteFunction(self, key, stages, lowered, in_types, paths, out_treedef, static)
        cf.fusion_refusals = result.fusion_refusals
        cf.int_limits = tuple((i, limit, code, loc) for i, v in enumerate(builder.inputs)
                              for limit, code, loc in builder.int_limits.get(v, ()))
        folder = config.dump_dir()
        if folder:
            texts = [("traced", print_graph(traced))]
            texts += [(name, print_graph(graph)) for name, graph in result.after]
            texts += [(f"kernel{i}", src) for i, src in enumerate(lowered.kernels)]
            dump_stages(folder, f"{sanitize_name(self.__name__)}.{self.trace_count}", texts)
        return cf

    def _def_location(self) -> Loc | None:
        code = getattr(inspect.unwrap(self.python_function), "__code__", None)
        return Loc(code.co_filename, code.co_firstlineno) if code is not None else None

    def _rebuild(self, names, values, static) -> tuple[list, dict]:
        given = dict(zip(names, values))
        given.update((name, value) for name, _, value in static)
        args, kwargs = [], {}
        for p in self._params:
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                args.append(given.pop(p.name))
            elif p.kind == p.VAR_POSITIONAL:
                args.extend(given.pop(p.name, ()))
            elif p.kind == p.KEYWORD_ONLY:
                kwargs[p.name] = given.pop(p.name)
        kwargs.update(given)  # what is left came through **kwargs
        return args, kwargs

    # --- retracing ------------------------------------------------------------------------
    def _differences(self, old: tuple | None, new: tuple) -> list[str]:
        if old is None:
            return []
        changes = []
        if old[0] != new[0]:
            changes.append(f"backend: {old[0]} -> {new[0]}")
        if old[1] != new[1]:
            changes.append(f"options: {old[1]} -> {new[1]}")
        o_names, o_td, o_leaves, o_static = old[2:]
        n_names, n_td, n_leaves, n_static = new[2:]
        if o_names != n_names:
            changes.append(f"arguments: ({', '.join(o_names)}) -> ({', '.join(n_names)})")
        else:
            o_it, n_it = iter(o_leaves), iter(n_leaves)
            for name, o_sub, n_sub in zip(n_names, o_td[1:], n_td[1:]):
                o_part = [next(o_it) for _ in range(pytree.num_leaves(o_sub))]
                n_part = [next(n_it) for _ in range(pytree.num_leaves(n_sub))]
                if o_sub != n_sub:
                    changes.append(f"{name}: structure {pytree.describe(o_sub)} -> "
                                   f"{pytree.describe(n_sub)}")
                    continue
                for path, a, b in zip(pytree.leaf_paths(n_sub, name), o_part, n_part):
                    if a == b:
                        continue
                    if a[1:] == b[1:]:
                        changes.append(f"{path}: shape {a[0]} -> {b[0]}")
                    elif a[0] == b[0] and not a[2] and not b[2]:
                        changes.append(f"{path}: dtype {a[1]} -> {b[1]}")
                    else:
                        changes.append(f"{path}: {_fmt_leaf(a)} -> {_fmt_leaf(b)}")
        o_map = {n: (t, v) for n, t, v in o_static}
        for name, t, v in n_static:
            if name in o_map and o_map[name] != (t, v):
                changes.append(f"{name}: static value {o_map[name][1]!r} -> {v!r}")
        return changes

    def _maybe_warn(self) -> None:
        retraces = [c for c in self._history if c]
        if len(retraces) < config.RETRACE_LIMIT:
            return
        if self._calls - self._last_warning_call < config.RETRACE_WINDOW:
            return
        self._last_warning_call = self._calls
        counts: dict[str, int] = {}
        for changes in retraces:
            for c in changes:
                what = c.split(":")[0]
                counts[what] = counts.get(what, 0) + 1
        example = next(c for changes in reversed(retraces) for c in changes)
        changing = ", ".join(f"{k} ({n} times)" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        warnings.warn(
            f"{self.__name__} has retraced {len(retraces)} times in its last "
            f"{len(self._history)} calls; what keeps changing: {changing} (latest: {example}). "
            "Every retrace traces and compiles again. Keep shapes and dtypes fixed (pad or "
            "bucket sizes), pass numbers that change as Python scalars or arrays rather than "
            "static arguments, or fix the signature with input_signature=[tx.TensorSpec(...)].",
            RetraceWarning, stacklevel=4)

    # --- inspection -----------------------------------------------------------------------
    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The concrete function for these arguments (tracing if needed). With an
        input_signature of fully known shapes, no arguments are needed."""
        if not args and not kwargs and self._input_signature is not None:
            if not all(s.fully_defined for s in self._spec_leaves):
                raise SignatureError(
                    f"{self.__name__}.get_concrete_function(): input_signature "
                    f"{list(self._input_signature)} has unknown (None) dimensions; pass example "
                    "arguments to choose the shapes")
            example = pytree.unflatten(self._spec_treedef,
                                       [np.zeros(s.shape, s.dtype.np) for s in self._spec_leaves])
            args = tuple(example)
        key, _, _ = self._key(args, kwargs)
        cf = self._cache.get(key)
        return cf if cf is not None else self._compile(key, args, kwargs)

    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """Trace, optimize and render kernel source without running anything (and without
        a device: `backend="gpu"` renders its CUDA C on a machine with no GPU)."""
        key, _, _ = self._key(args, kwargs)
        cf = self._cache.get(key)
        if cf is None:
            with self._lock:
                cf = self._trace(key, args, kwargs, need_device=False)
        return Lowered(cf)

    def explain(self, *args: Any, **kwargs: Any) -> str:
        """Whether this call would hit the cache, what would retrace it, and what runs."""
        key, _, names = self._key(args, kwargs)
        lines = []
        cf = self._cache.get(key)
        if cf is not None:
            lines.append(f"{self.__name__}: cache hit: concrete function traced for ({cf.signature}), "
                         f"backend {cf.backend}")
        elif not self._cache:
            lines.append(f"{self.__name__}: would trace: nothing traced yet (first call)")
        else:
            diffs = [(self._differences(k, key), k) for k in self._cache]
            best, _ = min(diffs, key=lambda d: len(d[0]))
            lines.append(f"{self.__name__}: would retrace: no concrete function matches; compared "
                         f"with the closest of {len(self._cache)} cached:")
            lines.extend(f"  {c}" for c in best or ["argument structure or keyword names changed"])
        backend = get_backend(key[0])
        reason = backend.unavailable()
        if reason:
            lines.append(f"backend: {reason}")
        elif cf is not None:
            lines.extend(f"note: {n}" for n in cf.lowered.notes)
            refusals = cf.fusion_refusals
            lines.append(f"fusion refusals: {len(refusals)}")
            lines.extend(f"  {r}" for r in refusals)
            lines.append(f"generated kernel sources: {len(cf.kernels)} (cf.kernels)")
        lines.append(f"traces so far: {self.trace_count}")
        return "\n".join(lines)

    @property
    def concrete_functions(self) -> list[ConcreteFunction]:
        return list(self._cache.values())

    def __get__(self, obj, objtype=None):
        """A method: one Function per instance, with the instance bound (its attributes are
        captured like closure values, at trace time)."""
        if obj is None:
            return self
        try:
            bound = self._bound.get(obj)
        except TypeError:  # unhashable or not weak-referenceable instance
            bound = obj.__dict__.get(self._attr_name) if hasattr(obj, "__dict__") else None
        if bound is None:
            first = self._params[0].name if self._params else None
            options = dict(self._init_options, static_argnums=(),
                           static_argnames=tuple(n for n in self._static if n != first))
            bound = Function(types.MethodType(self.python_function, obj), **options)
            try:
                self._bound[obj] = bound
            except TypeError:
                if hasattr(obj, "__dict__"):
                    obj.__dict__[self._attr_name] = bound
        return bound

    def __repr__(self) -> str:
        return f"<tx.function {self.__name__} backend={self._backend or config.default_backend()}>"


def function(fn: Callable | None = None, *, backend: str | None = None, static_argnums=(),
             static_argnames=(), input_signature=None, fastmath: bool = False,
             name: str | None = None):
    """Compile `fn` per input signature: `@tx.function` or `@tx.function(backend="numpy", ...)`.

    backend: "cpu" (Numba), "gpu" (CUDA via CuPy), "numpy" (reference interpreter) or "gpu-sim";
    default `TRACEFUSE_BACKEND` or "cpu". static_argnums / static_argnames: arguments whose
    *values* are part of the trace (they must be hashable; a new value retraces).
    input_signature: a list of `tx.TensorSpec`, one per parameter; calls must match it.
    fastmath: allow rewrites that change floating-point results (reassociation, x*0 -> 0).
    """
    options = dict(backend=backend, static_argnums=static_argnums, static_argnames=static_argnames,
                   input_signature=input_signature, fastmath=fastmath, name=name)
    if fn is None:
        return lambda f: Function(f, **options)
    return Function(fn, **options)


jit = function
