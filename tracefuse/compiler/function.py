"""`@tx.function` (alias `tx.jit`): the `Function`, its cache of `ConcreteFunction`s, and its
call paths.

A call is keyed on its signature (signature.py). A key seen before runs its concrete function
at once; a new key traces the Python function (trace.py) and caches the result. A trace that
raises caches nothing; `f.lower(...)` caches what it traced, so the next call does not trace.

The backend is an object (`tracefuse.backends`), resolved from its name once: at decoration
for `tx.function(backend="cpu")`, or when the default is chosen (`tx.config.set_backend`,
`with tx.config.backend(...)`, `TRACEFUSE_BACKEND`) for a Function without one, which follows
the current default at each call. It is part of the key: switching backends traces again.

The cached call path: a call of positional arguments only, each a NumPy array, a host Tensor
or a Python scalar, on a function whose parameters are all positional (no static arguments,
no input_signature), is keyed by a flat tuple of the backend and each argument's shape and
dtype (or scalar type), looked up in a second dict; any other call takes the general path
(binding, pytrees, `Signature.key`) and fills that dict for the next one.
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import config
from ..backends import BACKENDS, Backend, CompileOptions, get_backend
from ..frontend.creation import asarray
from ..frontend.device import is_gpu_array
from ..frontend.tape import record_graph, recording_tapes
from ..frontend.tensor import Tensor
from ..frontend.variable import Variable
from ..tracer import pytree
from ..tracer.tracer import current_builder
from ..errors import DTypeError, SignatureError, user_location
from .autograph import converted
from .check import CheckReport, check_concrete, raise_on_mismatch
from .concrete import ConcreteFunction, Lowered
from .dask_partition import is_dask_array
from .explain import RetraceLog, dask_explain_text, differences, explain_text
from .profile import Profile, profile_concrete
from .signature import INT64_END, INT64_MIN, Key, Signature, TensorSpec
from .trace import trace

__all__ = ["ConcreteFunction", "Function", "Lowered", "Profile", "TensorSpec", "function", "jit"]

_PY_DTYPES = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64)}


def resolve_backend(backend: Any) -> Backend:
    """The backend object for a name ("cpu", "gpu", "numpy", "gpu-sim") or a backend object."""
    if isinstance(backend, str):
        return get_backend(backend)
    if BACKENDS.get(getattr(backend, "name", None)) is backend:
        return backend
    raise TypeError(f"backend must be one of {', '.join(map(repr, BACKENDS))} or a backend "
                    f"object (tx.function(...).backend), not {type(backend).__name__}")



def eager_value(leaf: Any) -> Any:
    """An argument leaf as a compiled function's body would see it, for running eagerly: arrays
    become Tensors (a copy: the body cannot change, nor return, the caller's array), Python
    scalars stay as they are (tracing treats them as weak scalars)."""
    if isinstance(leaf, Tensor) or type(leaf) in _PY_DTYPES:
        return leaf
    if isinstance(leaf, (np.ndarray, np.generic)) or is_gpu_array(leaf):
        return asarray(leaf, copy=True)
    return leaf


class Function:
    """A Python function compiled per input signature. Made by `@tx.function`."""

    def __init__(self, fn: Callable, *, backend: Any = None, static_argnums=(),
                 static_argnames=(), input_signature=None, fastmath: bool = False,
                 name: str | None = None, autograph: bool = True, rechunk: bool | str = True):
        if not callable(fn):
            raise TypeError(f"@tx.function needs a callable, got {type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.python_function = fn
        self.__name__ = name or getattr(fn, "__name__", "function")
        # unknown names fail at decoration time
        self._fixed_backend = None if backend is None else resolve_backend(backend)
        self._options = CompileOptions(fastmath=bool(fastmath))
        self._signature = Signature(fn, self.__name__, static_argnums, static_argnames,
                                    input_signature)
        self._fast_arity = self._signature.fast_arity
        self._init_options = dict(backend=backend, input_signature=input_signature,
                                  fastmath=fastmath, name=name, autograph=autograph,
                                  rechunk=rechunk)
        self.autograph = bool(autograph)
        # calls with dask arrays only: what a row op over a chunked axis does (the traced
        # graph does not depend on it, so it is not part of the key)
        if rechunk not in (True, False, "tree"):
            raise ValueError(f"tx.function: rechunk={rechunk!r}; expected True (rechunk a row "
                             "op's chunked axis into one chunk), False (raise ValueError) or "
                             "'tree' (tree-reduce it and broadcast the result back)")
        self.rechunk = rechunk if rechunk == "tree" else bool(rechunk)
        self._traced_fn: Callable | None = None  # the function traced: converted at first use
        self._bound: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._attr_name = f"_tracefuse_function_{id(self)}"
        self._cache: dict[Key, ConcreteFunction] = {}
        self._fast: dict[tuple, Callable] = {}  # the cached call path: flat key -> cf.runner()
        self._lock = threading.RLock()
        self._log = RetraceLog(self.__name__)
        self.trace_count = 0

    @property
    def backend(self) -> Backend:
        """The backend object this Function runs on now: the one given to `tx.function`, else
        the current default (`with tx.config.backend(...)`, `tx.config.set_backend`,
        `TRACEFUSE_BACKEND`). It has `.name` ("cpu", "gpu", "numpy", "gpu-sim"), `.device`
        ("cpu" or "gpu"), `.source_suffix` and `.unavailable()` (None, or what is missing)."""
        return self._fixed_backend or config.current_backend()

    # --- calling ----------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any):
        if current_builder() is not None:
            return self.traced_function(*args, **kwargs)  # called while tracing: inline it
        if config.functions_run_eagerly():
            return self._call_eagerly(args, kwargs)
        if config.check_calls():
            return self._call_checked(args, kwargs)
        if recording_tapes():
            return self._call_recorded(args, kwargs)
        backend = self._fixed_backend or config.current_backend()
        fast = None
        if len(args) == self._fast_arity and not kwargs:
            parts, arrays = [backend], []
            for a in args:
                t = type(a)
                if t is Tensor:
                    a = a._array
                    t = type(a)
                if t is np.ndarray:
                    parts.append(a.shape)
                    parts.append(a.dtype)
                    arrays.append(a)
                elif t is float or t is bool or (t is int and INT64_MIN <= a < INT64_END):
                    parts.append(t)
                    arrays.append(np.asarray(a, _PY_DTYPES[t]))
                else:
                    break
            else:
                fast = tuple(parts)
                run = self._fast.get(fast)
                if run is not None:
                    self._log.calls += 1
                    return run(args, arrays)
        try:
            key, leaves, _ = self._signature.key(backend, self._options, args, kwargs)
        except (DTypeError, SignatureError):
            if any(map(is_dask_array, pytree.flatten((args, kwargs))[0])):
                return self._call_on_dask(backend, args, kwargs)
            raise
        cf = self._cache.get(key)
        if cf is None:
            cf = self._compile(key)
        else:
            self._log.hit()
        out = cf.run(leaves)
        if fast is not None:
            self._fast[fast] = cf.runner()
        return out

    def _on_dask(self, backend: Backend, args: tuple, kwargs: dict, need_device: bool = True):
        """The concrete function of a call with dask arrays among its arguments, traced at
        their full shapes (each stood in for by a NumPy array of no memory), and the call's
        flattened arguments."""
        from .dask_apply import stand_in

        names, values, static = self._signature.bind(args, kwargs)
        leaves, treedef = pytree.flatten(values)
        stand_ins = [stand_in(x) if is_dask_array(x) else x for x in leaves]
        call_args, call_kwargs = self._signature.rebuild(
            names, pytree.unflatten(treedef, stand_ins), static)
        key, _, _ = self._signature.key(backend, self._options, call_args, call_kwargs)
        return self._cache.get(key) or self._compile(key, need_device), leaves

    def _dask_partition(self, args: tuple, kwargs: dict, need_device: bool = True):
        """The concrete function of a call with dask arrays, and the partition of the call
        (`dask_partition.Partition`; raises the ValueError or NotImplementedError the call
        would raise) with its flattened arguments."""
        from .dask_apply import partition

        cf, leaves = self._on_dask(self.backend, args, kwargs, need_device)
        return cf, partition(cf, leaves, Function, self.rechunk), leaves

    def _call_on_dask(self, backend: Backend, args: tuple, kwargs: dict):
        """A call with dask arrays among its arguments: the graph run chunk by chunk by Dask
        (dask_apply.py); returns dask arrays, lazily."""
        from .dask_apply import call_on_dask

        cf, leaves = self._on_dask(backend, args, kwargs)
        return call_on_dask(cf, leaves, Function, self.rechunk)

    @property
    def traced_function(self) -> Callable:
        """What a trace runs: with autograph (the default), the Python function with its
        `if`/`while`/`for` converted (AutoGraph, `tx.autograph.to_code`), made at the first
        trace; the function itself without autograph or when it cannot be converted."""
        fn = self._traced_fn
        if fn is None:
            fn = converted(self.python_function) if self.autograph else self.python_function
            self._traced_fn = fn
        return fn

    def _call_recorded(self, args: tuple, kwargs: dict):
        """A call while a GradientTape records: compiled as usual, and the tapes that track an
        argument record the function's traced ops (as TensorFlow records a tf.function)."""
        key, leaves, _ = self._signature.key(self.backend, self._options, args, kwargs)
        cf = self._cache.get(key) or self._compile(key)
        # the values the call reads, before it writes Variables back: a Variable's read is
        # a Tensor the tapes watch when it is trainable (the graph's extra inputs follow)
        seen = [leaf.value() if type(leaf) is Variable else leaf for leaf in leaves]
        seen += [v.value() for v in cf.reads]
        out = cf.run(leaves)
        record_graph(cf.stage_graph("traced"), seen, pytree.flatten(out)[0])
        return out

    def _call_checked(self, args: tuple, kwargs: dict):
        """`TRACEFUSE_CHECK=1`: each call checked kernel by kernel (compiler/check.py) before
        it runs; CheckError at the first kernel that differs from the reference. With dask
        arrays: the call as usual, each chunk function (a tx.function too) checked where it
        runs on a chunk."""
        loc = user_location()
        try:
            key, leaves, _ = self._signature.key(self.backend, self._options, args, kwargs)
        except (DTypeError, SignatureError):
            if any(map(is_dask_array, pytree.flatten((args, kwargs))[0])):
                return self._call_on_dask(self._fixed_backend or config.current_backend(),
                                          args, kwargs)
            raise
        cf = self._cache.get(key) or self._compile(key)
        rtol, atol = config.check_tolerances()
        raise_on_mismatch(check_concrete(cf, leaves, rtol=rtol, atol=atol), loc)
        return cf.run(leaves)

    def check(self, *args: Any, rtol: float | None = None, atol: float | None = None,
              **kwargs: Any) -> CheckReport:
        """Run this call's compiled graph kernel by kernel against the reference interpreter
        (each kernel on the reference's values of its inputs) and report the first kernel whose
        outputs differ beyond tolerance: its ops, their user lines, the max abs and rel error
        and the element that shows it (`report.ok`, `str(report)`). rtol/atol default per
        dtype (compiler/check.py: float32 1e-5, float64 1e-12, ints exactly, atol scaled to
        each array's magnitude). Variables are read, not assigned."""
        key, leaves, _ = self._signature.key(self.backend, self._options, args, kwargs)
        cf = self._cache.get(key) or self._compile(key)
        return check_concrete(cf, leaves, rtol, atol)

    def _call_eagerly(self, args: tuple, kwargs: dict):
        """The body run op by op on Tensors, as compiled code would see them; the arguments
        are checked (and static ones hashed) as for a compiled call."""
        key, leaves, names = self._signature.key(self.backend, self._options, args, kwargs)
        values = pytree.unflatten(key.treedef, [eager_value(leaf) for leaf in leaves])
        call_args, call_kwargs = self._signature.rebuild(names, values, key.static)
        out = self.python_function(*call_args, **call_kwargs)
        out_leaves, treedef = pytree.flatten(out)
        return pytree.unflatten(treedef, [x if isinstance(x, Tensor) else asarray(x)
                                          for x in out_leaves])

    def _compile(self, key: Key, need_device: bool = True) -> ConcreteFunction:
        with self._lock:
            cf = self._cache.get(key)
            if cf is not None:
                self._log.hit()
                return cf
            previous = next(reversed(self._cache)) if self._cache else None
            cf = trace(self, self._signature, key, need_device)
            self._cache[key] = cf
            self._log.traced(differences(previous, key))
            return cf

    # --- inspection -------------------------------------------------------------------------
    def get_concrete_function(self, *args: Any, **kwargs: Any) -> ConcreteFunction:
        """The concrete function for these arguments (tracing if needed). With an
        input_signature of fully known shapes, no arguments are needed."""
        if not args and not kwargs and self._signature.input_signature is not None:
            args = self._signature.example_arguments()
        key, _, _ = self._signature.key(self.backend, self._options, args, kwargs)
        cf = self._cache.get(key)
        return cf if cf is not None else self._compile(key)

    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """Trace, optimize and render kernel source without running anything (and without
        a device: `backend="gpu"` renders its CUDA C on a machine with no GPU). The concrete
        function is cached: the next call with these arguments runs it without tracing.
        With dask arrays among the arguments: traced at their full shapes, and
        `.ir("partition")` says how the call is partitioned for Dask (as `f.explain`)."""
        if any(map(is_dask_array, pytree.flatten((args, kwargs))[0])):
            cf, part, leaves = self._dask_partition(args, kwargs, need_device=False)
            return Lowered(cf, dask_explain_text(self.__name__, part, leaves))
        key, _, _ = self._signature.key(self.backend, self._options, args, kwargs)
        cf = self._cache.get(key)
        return Lowered(cf if cf is not None else self._compile(key, need_device=False))

    def profile(self, *args: Any, repeat: int = 10, **kwargs: Any) -> Profile:
        """`repeat` timed calls with these arguments (after one untimed warm-up): a `Profile`
        with a row per kernel, library op and control-flow step of the plan, its user lines,
        median time, bytes and GB/s (compiler/profile.py). Variables are not written back."""
        key, leaves, _ = self._signature.key(self.backend, self._options, args, kwargs)
        cf = self._cache.get(key)
        return profile_concrete(cf if cf is not None else self._compile(key), leaves, repeat)

    def explain(self, *args: Any, **kwargs: Any) -> str:
        """Whether this call would hit the cache, what would retrace it, and what runs. With
        dask arrays among the arguments: how the call is partitioned for Dask (traced if
        needed; nothing runs on the chunks): its blockwise regions, tree reductions, blocked
        matmuls and rechunks, their ops' user lines, the axis labels and their chunks."""
        if any(map(is_dask_array, pytree.flatten((args, kwargs))[0])):
            try:
                _, part, leaves = self._dask_partition(args, kwargs)
            except (ValueError, NotImplementedError) as e:
                return f"{self.__name__}: on dask arrays, the call would raise " \
                       f"{type(e).__name__}: {e}"
            return dask_explain_text(self.__name__, part, leaves)
        key, _, _ = self._signature.key(self.backend, self._options, args, kwargs)
        return explain_text(self.__name__, key, self._cache, self.trace_count)

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
            sig = self._signature
            first = sig.params[0].name if sig.params else None
            options = dict(self._init_options,
                           static_argnums=tuple(n - 1 if n > 0 else n for n in sig.call_nums),
                           static_argnames=tuple(n for n in sig.static if n != first))
            bound = Function(types.MethodType(self.python_function, obj), **options)
            try:
                self._bound[obj] = bound
            except TypeError:
                if hasattr(obj, "__dict__"):
                    obj.__dict__[self._attr_name] = bound
        return bound

    def __repr__(self) -> str:
        try:
            backend = self.backend.name
        except ValueError as e:  # a bad TRACEFUSE_BACKEND
            backend = f"? ({e})"
        return f"<tx.function {self.__name__} backend={backend}>"


def function(fn: Callable | None = None, *, backend: Any = None, static_argnums=(),
             static_argnames=(), input_signature=None, fastmath: bool = False,
             name: str | None = None, autograph: bool = True, rechunk: bool | str = True):
    """Compile `fn` per input signature: `@tx.function` or `@tx.function(backend="numpy", ...)`.

    backend: "cpu" (Numba), "gpu" (CUDA via CuPy), "numpy" (reference interpreter) or "gpu-sim"
    (or a backend object, `g.backend`); without it, the current default at each call
    (`with tx.config.backend(...)`, `tx.config.set_backend`, `TRACEFUSE_BACKEND`, "cpu").
    static_argnums / static_argnames: arguments whose *values* are part of the trace (they must
    be hashable; a new value retraces); static_argnums index the call's positional arguments,
    *args included. Parameters left at their default are constants of the trace.
    input_signature: a list of `tx.TensorSpec`, one per parameter; calls must match it.
    fastmath: allow rewrites that change floating-point results (reassociation, x*0 -> 0).
    autograph: convert Python `if`, `while` and `for` whose condition or iterable is traced into
    `cond`, `while_loop`, `fori_loop` and `scan` (AutoGraph; `tx.autograph.to_code(f)` shows
    the converted source). With False, such a statement raises ConcretizationError.
    rechunk: for calls with dask arrays, a row op (a reduction whose result is used again along
    the reduced axis: softmax, layernorm) over an axis split into chunks rechunks that axis into
    one chunk and runs blockwise (True), or raises ValueError naming the axis (False), or
    ("tree") is tree-reduced like any reduction and its result broadcast back to the chunks
    (the operand read again; no chunk ever holds a whole row: for an axis too long for memory).
    """
    options = dict(backend=backend, static_argnums=static_argnums, static_argnames=static_argnames,
                   input_signature=input_signature, fastmath=fastmath, name=name,
                   autograph=autograph, rechunk=rechunk)
    if fn is None:
        return lambda f: Function(f, **options)
    return Function(fn, **options)


jit = function
