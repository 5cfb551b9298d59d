"""`tx.GradientTape`: TensorFlow's tape, over the same VJP rules as `tx.grad`.

Eagerly, a recording tape keeps the ops that touch a watched value (`tape.watch(x)`) or a value
derived from one: `dispatch.eager_bind` calls `record` for each op it runs while a tape is
recording. `tape.gradient(target, sources)` turns those ops into the reverse pass
(transforms/autodiff.py `emit_vjp`) over the recorded arrays — the forward is not recomputed —
and runs it op by op; a tape that is recording when that happens (an outer tape) records those
ops too, so nested tapes give higher derivatives.

Inside a trace (`tx.function`, `tx.grad`, `tx.vmap`), the tape marks where it starts in the
trace in progress; `gradient` emits the reverse pass over the ops traced since then into the
same graph, so it is compiled and fused with the rest.

A source the target does not depend on through watched values gets `None` (TensorFlow's
default). A non-persistent tape gives one `gradient`; a second raises RuntimeError.

Variables (frontend/variable.py): a tape watches a trainable Variable (with
`watch_accessed_variables`, the default) or one passed to `watch`. Eagerly, each read of it
while the tape records is a Tensor (`read_variable` tracks it); in a trace, its reads are the
values the trace's state holds for it (`GraphBuilder.state`: its input, then each value
assigned). The gradient with respect to a Variable is the sum over those reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import user_location, with_location
from ..ir import Graph, Op, OpCode, TensorType, Value, evaluate
from ..tracer import pytree
from ..tracer.tracer import ByReference, GraphBuilder, Tracer, current_builder
from ..transforms.autodiff import active_values, emit_vjp
from ..transforms.emit import Emitter
from ..transforms.graphs import copy_op
from . import device as _device
from . import tensor as _tensor

_state = threading.local()
# how many tapes record, in all threads: the cheap test of the hot paths (every eager op and
# every compiled call ask whether a tape records), changed under a lock, read without one
_recording = 0
_recording_lock = threading.Lock()


def recording_tapes() -> Sequence["GradientTape"]:
    """The tapes recording eager ops in this thread (innermost last)."""
    if not _recording:
        return ()
    return getattr(_state, "tapes", None) or ()


def record(code: OpCode, args: Sequence[Any], types: Sequence[TensorType], attrs: Mapping,
           result: Any, out_type: TensorType) -> None:
    """An eager op just ran (`result = code(args)`): each recording tape that tracks one of
    `args` keeps it. A library call passes a list of results and a tuple of their types."""
    for tape in recording_tapes():
        tape._record(code, args, types, attrs, result, out_type)


def read_variable(variable: ByReference, value: Any) -> None:
    """An eager read of `variable` gave the Tensor `value`: each recording tape that watches
    the Variable tracks `value` as one of its reads."""
    for tape in recording_tapes():
        if tape._watches(variable):
            tape._track(value)
            reads = tape._variable_reads.setdefault(id(variable), (variable, []))[1]
            if not any(r is value for r in reads):
                reads.append(value)


def record_graph(graph: Graph, args: Sequence[Any], results: Sequence[Any]) -> None:
    """A compiled function just ran (`results = graph(args)`, its traced graph): each recording
    tape that tracks one of `args` keeps its ops. Only the arguments' and results' arrays are
    kept; the reverse pass recomputes the function's intermediate values."""
    for tape in recording_tapes():
        tape._record_graph(graph, args, results)


class _Identity(dict):
    def __missing__(self, key):
        return key


class GradientTape:
    """Records operations for reverse-mode differentiation (TensorFlow's `tf.GradientTape`)."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._builder: GraphBuilder | None = None
        self._start = self._end = 0
        self._watched: set[Value] = set()  # traced: watched values of the builder
        self._paused: list[tuple[int, int]] = []  # traced: op index spans under stop_recording
        # eager: id(object) -> (object, Value); recorded ops; arrays of the values
        self._values: dict[int, tuple[Any, Value]] = {}
        self._ops: list[Op] = []
        self._arrays: dict[Value, Any] = {}
        # Variables: id -> Variable passed to watch(); id -> (Variable, [Tensors read]) (eager)
        self._watched_variables: dict[int, ByReference] = {}
        self._variable_reads: dict[int, tuple[ByReference, list]] = {}
        self._recording = False
        self._used = False

    # --- recording ----------------------------------------------------------------------------
    def __enter__(self) -> "GradientTape":
        self._builder = current_builder()
        if self._builder is not None:
            self._start = self._end = len(self._builder.ops)
        self._push()
        return self

    def __exit__(self, *exc) -> None:
        self._pop()
        if self._builder is not None:
            self._end = len(self._builder.ops)

    def _push(self) -> None:
        global _recording
        tapes = getattr(_state, "tapes", None)
        if tapes is None:
            tapes = _state.tapes = []
        tapes.append(self)
        self._recording = True
        with _recording_lock:
            _recording += 1

    def _pop(self) -> None:
        global _recording
        tapes = getattr(_state, "tapes", None) or []
        if self in tapes:
            tapes.remove(self)
            with _recording_lock:
                _recording -= 1
        self._recording = False

    @contextmanager
    def _not_recording(self):
        """While the tape runs its own reverse pass: not recorded by itself (outer tapes
        record it: nested tapes)."""
        was = self._recording
        if was:
            self._pop()
        try:
            yield
        finally:
            if was:
                self._push()

    def _value_of(self, x: Any) -> Value | None:
        """The value the tape tracks for object `x` (eager), or None."""
        hit = self._values.get(id(x))
        return hit[1] if hit is not None and hit[0] is x else None

    def stop_recording(self):
        """A context in which this tape does not record (TensorFlow's `stop_recording`)."""
        tape = self

        class _Paused:
            def __enter__(self_inner):
                tape._pop()
                self_inner.start = _op_count(tape._builder)

            def __exit__(self_inner, *exc):
                tape._push()
                end = _op_count(tape._builder)
                if end > self_inner.start:  # traced: these ops are not the tape's
                    tape._paused.append((self_inner.start, end))

        return _Paused()

    def reset(self) -> None:
        """Forget everything recorded so far (the tape keeps recording)."""
        self._values.clear()
        self._ops.clear()
        self._arrays.clear()
        self._watched.clear()
        self._watched_variables.clear()
        self._variable_reads.clear()
        self._paused.clear()
        if self._builder is not None:
            self._start = len(self._builder.ops)
        self._used = False

    def watch(self, tensor: Any) -> None:
        """Record the ops on `tensor` (a pytree of Tensors, arrays or traced values) so
        gradients with respect to it can be taken."""
        for leaf in pytree.flatten(tensor)[0]:
            if isinstance(leaf, ByReference):  # a Variable: its reads from now on
                self._watched_variables[id(leaf)] = leaf
            elif isinstance(leaf, Tracer):
                self._watched.add(leaf._value)
            else:
                self._track(leaf)

    def _watches(self, variable: ByReference) -> bool:
        """Whether this tape watches `variable`: a trainable one it may watch on access, or one
        passed to `watch`."""
        return (id(variable) in self._watched_variables
                or (self.watch_accessed_variables and getattr(variable, "trainable", False)))

    def _track(self, x: Any, type: TensorType | None = None) -> Value:
        v = self._value_of(x)
        if v is not None:
            return v
        if type is None:
            arr = x._array if isinstance(x, _tensor.Tensor) else np.asarray(x)
            type = TensorType(arr.shape, arr.dtype)
        v = Value(type)
        self._values[id(x)] = (x, v)
        self._arrays[v] = x  # the object itself: an outer tape tracks it by identity
        return v

    def _record(self, code, args, types, attrs, result, out_type) -> None:
        if any(isinstance(a, ByReference) for a in args):  # tx.add(v, x): v read as a Tensor
            args = [a.value() if isinstance(a, ByReference) else a for a in args]
        tracked = [self._value_of(a) for a in args]
        if all(v is None for v in tracked):
            return
        inputs = []
        for a, t, v in zip(args, types, tracked):
            if v is not None:
                inputs.append(v)
            else:  # an untracked operand: its value, as the op saw it
                v = Value(t)
                self._arrays[v] = _array_of(a, t)
                inputs.append(v)
        if isinstance(out_type, tuple):  # a library call's several results
            outs = tuple(self._track(r, t) for r, t in zip(result, out_type))
        else:
            outs = (self._track(result, out_type),)
        self._ops.append(Op(code, tuple(inputs), attrs, outs, user_location()))

    def _record_graph(self, graph: Graph, args: Sequence[Any], results: Sequence[Any]) -> None:
        tracked = [self._value_of(a) for a in args]
        if all(v is None for v in tracked):
            return
        env: dict[Value, Value] = {}
        for v, a, known in zip(graph.inputs, args, tracked):
            if known is not None:
                env[v] = known
            else:
                env[v] = Value(v.type)
                self._arrays[env[v]] = _array_of(a, v.type)
        for op in graph.ops:
            outs = tuple(Value(o.type) for o in op.outputs)
            self._ops.append(op.replace(inputs=tuple(env[x] for x in op.inputs), outputs=outs))
            env.update(zip(op.outputs, outs))
        for v, r in zip(graph.outputs, results):
            value = env[v]
            self._values[id(r)] = (r, value)
            self._arrays.setdefault(value, r)

    # --- gradients ----------------------------------------------------------------------------
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """d(target)/d(sources), as a structure like `sources` (None for a source the target
        does not depend on through watched values; zeros with unconnected_gradients="zero").
        A non-scalar target is summed (TensorFlow's rule) unless output_gradients weights it."""
        if self._used and not self.persistent:
            raise RuntimeError(with_location(
                "GradientTape.gradient can only be called once on a non-persistent tape; "
                "create it with tx.GradientTape(persistent=True) to take several gradients",
                user_location()))
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got "
                             f"{unconnected_gradients!r}")
        self._used = True
        src_leaves, src_tree = pytree.flatten(sources)
        tgt_leaves, _ = pytree.flatten(target)
        ct_leaves = [None] * len(tgt_leaves) if output_gradients is None else \
            pytree.flatten(output_gradients)[0]
        flat, counts = self._expand_variables(src_leaves)
        if self._builder is not None:
            grads = self._traced_gradient(tgt_leaves, flat, ct_leaves)
        else:
            grads = self._eager_gradient(tgt_leaves, flat, ct_leaves)
        grads = _sum_per_source(grads, counts)
        if unconnected_gradients == "zero":
            grads = [g if g is not None else
                     _zeros_like(s.value() if isinstance(s, ByReference) else s)
                     for g, s in zip(grads, src_leaves)]
        if not self.persistent:
            self._ops, self._arrays, self._values = [], {}, {}
            self._variable_reads = {}
        return pytree.unflatten(src_tree, grads)

    def _expand_variables(self, sources: list) -> tuple[list, list]:
        """Each source as the values to differentiate by: itself, or a watched Variable's
        reads (none for one not watched or never read); and how many values each source
        has (None: the source itself)."""
        flat, counts = [], []
        for s in sources:
            if not isinstance(s, ByReference):
                flat.append(s)
                counts.append(None)
                continue
            reads: list = []
            if self._watches(s):
                if self._builder is not None:
                    versions = self._builder.state_versions(s)
                    self._watched.update(versions)
                    reads = [Tracer(self._builder, v) for v in versions]
                else:
                    reads = list(self._variable_reads.get(id(s), (s, []))[1])
            flat.extend(reads)
            counts.append(len(reads))
        return flat, counts

    def _traced_gradient(self, targets, sources, cts) -> list[Any]:
        builder = self._builder
        if current_builder() is not builder:
            raise RuntimeError(with_location(
                "GradientTape.gradient was called outside the traced function the tape was "
                "created in; call it inside that function", user_location()))
        end = len(builder.ops) if self._recording else self._end
        ops = [op for i, op in enumerate(builder.ops[self._start:end], self._start)
               if not any(a <= i < b for a, b in self._paused)]
        tracked = active_values(ops, list(self._watched))
        tracked |= self._watched
        e = Emitter(builder, user_location())
        seeds = []
        for t, c in zip(targets, cts):
            if isinstance(t, Tracer) and t._value in tracked:
                seeds.append((t._value, builder.lift(c) if c is not None
                              else e.full(t._value.type.strong(), 1)))
        values = [s._value if isinstance(s, Tracer) and s._value in tracked else None
                  for s in sources]
        wanted = [v for v in values if v is not None]
        with self._not_recording():
            grads = emit_vjp(builder, ops, _Identity(), wanted, seeds) if seeds and wanted \
                else [None] * len(wanted)
        return _per_source(values, grads, lambda g: Tracer(builder, g))

    def _eager_gradient(self, targets, sources, cts) -> list[Any]:
        builder = GraphBuilder("tape")
        env: dict[Value, Value] = {}
        inputs: list[Any] = []

        def bind(v: Value) -> Value:
            if v not in env:
                env[v] = builder.new_input(v.type)._value
                inputs.append(self._arrays[v])
            return env[v]

        for op in self._ops:  # values a recorded compiled function computed are recomputed
            for v in op.inputs:
                if v not in env and v not in self._arrays:
                    raise RuntimeError(f"GradientTape: a recorded {op.code.value} reads a value "
                                       "the tape never saw (an internal error)")
                bind(v)
            if all(o in self._arrays for o in op.outputs):  # a call may have several
                for o in op.outputs:
                    bind(o)
            else:
                copy_op(builder, op, env)
        e = Emitter(builder, user_location())
        seeds = []
        for t, c in zip(targets, cts):
            v = self._value_of(t)
            if v is not None:
                bind(v)
                if c is None:
                    seed = e.full(v.type.strong(), 1)
                else:
                    seed = builder.new_input(v.type.strong())._value
                    inputs.append(_array_of(c, v.type.strong()))
                seeds.append((v, seed))
        values = [self._value_of(s) for s in sources]
        wanted = [v for v in values if v is not None]
        with self._not_recording():
            grads = emit_vjp(builder, self._ops, env, wanted, seeds) if seeds and wanted \
                else [None] * len(wanted)
            graph = builder.build([g for g in grads if g is not None])
            results = iter(_run_eagerly(graph, inputs))
        return _per_source(values, grads, lambda g: next(results))


def _per_source(values: Sequence, grads: Sequence, wrap) -> list:
    """One entry per source: None for a source the tape does not track (`values[i]` None) or
    whose gradient is zero (None in `grads`, one entry per tracked source), else `wrap(g)`."""
    found = iter(grads)
    out = []
    for v in values:
        g = next(found) if v is not None else None
        out.append(wrap(g) if g is not None else None)
    return out


def _sum_per_source(grads: list, counts: list) -> list:
    """Regroup gradients by the values `_expand_variables` made: a Variable's is the sum of
    its reads' (None when none has one)."""
    out, it = [], iter(grads)
    for n in counts:
        if n is None:
            out.append(next(it))
            continue
        total = None
        for g in [next(it) for _ in range(n)]:
            if g is not None:
                total = g if total is None else total + g
        out.append(total)
    return out


def _array_of(a: Any, t: TensorType) -> Any:
    if isinstance(a, _tensor.Tensor):
        return a._array
    if isinstance(a, np.ndarray) or _device.is_gpu_array(a):
        return a
    return np.asarray(a, dtype=t.dtype.np)


def _op_count(builder: GraphBuilder | None) -> int:
    return len(builder.ops) if builder is not None else 0


def _zeros_like(x: Any) -> Any:
    if isinstance(x, Tracer):
        # traced: a constant zero of x's type (not x * 0: NaN where x is inf or NaN)
        e = Emitter(x._builder, user_location())
        return Tracer(x._builder, e.full(x._value.type.strong(), 0))
    arr = x._array if isinstance(x, _tensor.Tensor) else np.asarray(x)
    return _tensor.Tensor._wrap(np.zeros(arr.shape, arr.dtype))


def _run_eagerly(graph, inputs: Sequence[Any]) -> list[Any]:
    """The graph run op by op, each op recorded by the tapes still recording (nested tapes)."""
    env = {v: a if isinstance(a, _tensor.Tensor) else _tensor.Tensor._wrap(a)
           for v, a in zip(graph.inputs, inputs)}
    for op in graph.ops:
        args = [env[v] for v in op.inputs]
        arrays = [a._array for a in args]
        types = [v.type for v in op.inputs]
        if op.code is OpCode.CALL:  # a library call: a list, one array per result
            outs = [_tensor.Tensor._wrap(r) for r in evaluate(op.code, arrays, types, op.attrs,
                                                              None)]
            if recording_tapes():
                record(op.code, args, types, op.attrs, outs, tuple(v.type for v in op.outputs))
            env.update(zip(op.outputs, outs))
            continue
        out = _tensor.Tensor._wrap(evaluate(op.code, arrays, types, op.attrs, op.output.type))
        if recording_tapes():
            record(op.code, args, types, op.attrs, out, op.output.type)
        env[op.output] = out
    return [env[v] for v in graph.outputs]
