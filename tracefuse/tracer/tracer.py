"""Tracing: `Tracer` proxies record the ops applied to them into a `GraphBuilder`.

A trace is thread-local: `tracing(builder)` makes `builder` the current trace of this thread,
so creation functions (`tx.zeros`) called inside a traced function add ops to it, and two
threads can trace at once. A Tracer knows its static type (shape, dtype) but not its value:
asking for one (`bool(t)`, `float(t)`, `np.asarray(t)`, a Python `if`) raises
`ConcretizationError` naming the user's line. So does any use of a Tracer after its trace has
ended (one kept in a global, say): ops are recorded only into the trace in progress.

Anything that is not a Tracer of the current trace (a `tx.Tensor`, a NumPy array captured from a
closure, a Python scalar) enters the graph as a `constant` op; arrays are copied at trace time,
so later changes to a captured array do not reach the compiled function.

A transform (`tx.grad`, `tx.vmap`) traces the user's function into a *sub-graph* with a builder
whose `parent` is the trace in progress. A Tracer of an enclosing trace used inside it (a
closure over an outer traced value) is *captured*: it becomes an extra input of the sub-graph
(`builder.captures` maps the outer value to that input), so the transform treats it as a
constant and the outer trace still sees the dependence when the sub-graph is inlined.

A `ByReference` object (a `tx.Variable`, frontend/variable.py) is captured by reference, not by
value, in the trace of a `tx.function` (a builder made with `by_reference=True`): its first read
is an extra input of the graph, `assign_state` records a new value (reads after it see that
value), and `build` puts the last value of each assigned one among the outputs after the
function's own (`state_inputs`, `state_outputs`: what the compiled function reads from and
writes back to each Variable at every call). A transform's sub-trace captures the enclosing
trace's read like any outer value (so `tx.grad` treats a Variable as a constant); a trace that
runs at once (a transform called eagerly) takes its value now, as a constant.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from .operators import ArrayMethods
from ..errors import (ConcretizationError, DTypeError, concretization_error, user_location,
                      with_location)
from ..ir import Attrs, Graph, Literal, Op, OpCode, TensorType, Value, infer_type
from ..ir.convert import to_array
from ..ir.rules import infer_types, weak_int_limit, weak_int_overflow
from ..ir.verifier import verify


class Tracer(ArrayMethods):
    """A value being traced: its static type is known, its contents are not."""

    __slots__ = ("_builder", "_value")

    def __init__(self, builder: "GraphBuilder", value: Value):
        self._builder = builder
        self._value = value

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.type.shape

    @property
    def dtype(self):
        return self._value.type.dtype

    @property
    def device(self) -> str:
        return self._builder.device

    def to_device(self, device: Any, /, *, stream: Any = None) -> "Tracer":
        """The array API's `to_device` inside a trace: every traced value lives on the device
        the function is compiled for, so moving to that device is a no-op and any other
        raises (naming the line): move the function's inputs or results instead."""
        name = str(device).lower() if device is not None else None
        same = name is None or name == self.device or (
            name in ("host", "cpu") and self.device == "cpu") or (
            name in ("cuda", "cuda:0", "gpu:0") and self.device == "gpu")
        if same and stream is None:
            return self
        why = (f"stream={stream!r}: a compiled function runs on its backend's stream"
               if same else f"a traced value lives on the device the function is compiled for "
               f"({self.device!r}), so it cannot be moved to {device!r} inside the function")
        raise ValueError(with_location(
            f"x.to_device({device!r}) inside a @tx.function: {why}; call .to_device on the "
            "function's inputs or results, or compile for that device (backend='gpu' or "
            "'cpu')", user_location()))

    def __repr__(self) -> str:
        return f"Tracer<{self._value.type}>"

    def _concrete(self, what: str):
        if self._builder.finished:
            self._builder._check_active()  # the clearer error: this value escaped its trace
        raise concretization_error(what, user_location())

    def __bool__(self):
        self._concrete("bool(x) (or an `if`/`while`/`and`/`or` on a traced array)")

    def __int__(self):
        self._concrete("int(x)")

    def __float__(self):
        self._concrete("float(x)")

    def __complex__(self):
        self._concrete("complex(x)")

    def __index__(self):
        self._concrete("using a traced array as an index or size (x.__index__)")

    def item(self):
        self._concrete("x.item()")

    def tolist(self):
        self._concrete("x.tolist()")

    def numpy(self):
        self._concrete("x.numpy()")

    def __array__(self, dtype=None, copy=None):
        self._concrete("np.asarray(x) (converting a traced array to NumPy)")


class ByReference:
    """The base of objects a trace captures by reference: `tx.Variable` (frontend/variable.py).
    A subclass has a fixed `shape` and `dtype` (the type every read of it has), `value()` (a
    read: a Tracer of the trace in progress, else a Tensor, which tapes may watch) and
    `snapshot()` (its value now as a Tensor, read without a trace or a tape: what a trace that
    runs at once bakes in)."""

    __slots__ = ()

    def value(self) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def snapshot(self) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


class StateUse:
    """What one trace did with one `ByReference` object: `input`, the graph input its first
    read became (None if it was assigned before any read); `current`, the value a read sees
    now; `assigned`, whether the trace assigned it; `loc`, the user's line of the first use."""

    __slots__ = ("ref", "input", "current", "assigned", "loc", "versions")

    def __init__(self, ref: ByReference, input: Value | None, loc):
        self.ref = ref
        self.input = input
        self.current = input
        self.assigned = False
        self.loc = loc
        self.versions = [] if input is None else [input]  # every value a read could see


class GraphBuilder:
    """The graph being recorded: inputs, ops in order, and constants already lifted."""

    def __init__(self, name: str = "main", device: str = "cpu",
                 parent: "GraphBuilder | None" = None, by_reference: bool = False):
        self.name = name
        self.device = device
        self.parent = parent  # the enclosing trace of a transform's sub-graph, else None
        # a tx.function's trace: Variables are inputs and outputs (else constants, or captures
        # of the enclosing trace); id(object) -> StateUse, in the order of first use
        self.by_reference = by_reference
        self.state: dict[int, StateUse] = {}
        self.inputs: list[Value] = []
        # captured Tracers of enclosing traces: outer Tracer -> input of this graph, in order
        self.captures: dict[Value, Value] = {}
        self.captured: list[Tracer] = []
        self.ops: list[Op] = []
        self._lifted: dict[int, tuple[Any, Value]] = {}  # id(array) -> (array, constant value)
        self.finished = False  # set when the trace ends (returned or raised)
        # weak int inputs (Python int arguments) -> (dtype, loc) of each integer op they meet:
        # their values are known only at call time, where they are checked (NEP 50)
        self.int_limits: dict[Value, list] = {}

    def _check_active(self) -> None:
        """Ops may only be recorded while this trace is the current one of this thread: a
        Tracer kept past its trace (in a global, a closure, an attribute) is refused."""
        if current_builder() is not self:
            when = "after that trace ended" if self.finished else "outside that trace"
            raise ConcretizationError(with_location(
                f"a traced value of @tx.function {self.name} was used {when}. It escaped the "
                "function through a global, a closure, an attribute or a container; a traced "
                "value only exists while its function is being traced. Return it from the "
                "function instead and use the returned array", user_location()))

    def new_input(self, type: TensorType) -> Tracer:
        v = Value(type)
        self.inputs.append(v)
        return Tracer(self, v)

    def lift(self, x: Any, what: str = "operand") -> Value:
        """The graph value for `x`: a Tracer of this trace, else a new constant op."""
        if isinstance(x, Tracer):
            if x._builder is not self and self._encloses(x._builder):
                return self._capture(x)
            if x._builder is not self:
                raise ConcretizationError(
                    f"a traced value from another trace was used here (at {user_location()}). "
                    "It probably escaped a @tx.function through a global, a closure or an "
                    "attribute; return it from the function instead."
                )
            return x._value
        if isinstance(x, ByReference):
            return self.read_state(x)
        key = id(x)
        hit = self._lifted.get(key)
        if hit is not None and hit[0] is x:
            return hit[1]
        try:
            arr, t = to_array(x, what)
        except DTypeError as e:
            raise DTypeError(with_location(str(e), user_location())) from None
        attrs = Attrs(value=Literal(arr), weak=True) if t.weak else Attrs(value=Literal(arr))
        v = self._append(OpCode.CONSTANT, (), attrs, t, user_location())
        if not t.weak:
            self._lifted[key] = (x, v)  # keep x alive so its id stays unique
        return v

    def read_state(self, ref: ByReference) -> Value:
        """The value a read of `ref` (a Variable) sees in this trace: the graph input of its
        first read, or the value last assigned to it here. In a transform's sub-trace, the
        enclosing trace's read, captured; in a trace that runs at once, its value now."""
        self._check_active()
        return self._read_state(ref)

    def _read_state(self, ref: ByReference) -> Value:
        if self.parent is not None:  # the enclosing trace reads it (it is not the current one)
            return self._capture(Tracer(self.parent, self.parent._read_state(ref)))
        if not self.by_reference:
            return self.lift(ref.snapshot(), what="variable")
        use = self.state.get(id(ref))
        if use is None:
            v = Value(TensorType(tuple(ref.shape), ref.dtype))
            use = self.state[id(ref)] = StateUse(ref, v, user_location())
        return use.current

    def bind_state(self, ref: ByReference, input: Value) -> None:
        """Make `input` (an input of this graph) the value of `ref` in this trace: a Variable
        passed as an argument stands for that argument's input."""
        self.state[id(ref)] = StateUse(ref, input, None)

    def assign_state(self, ref: ByReference, value: Value, what: str) -> None:
        """Record `value` (of `ref`'s type) as `ref`'s new value: later reads here see it, and
        the compiled function writes it back after the call. Only the trace of a
        `tx.function` itself can: a transform's sub-trace or a trace run at once cannot."""
        self._check_active()
        if self.parent is not None or not self.by_reference:
            inside = ("a transform or control-flow body (tx.grad, tx.vmap, tx.cond, "
                      "tx.while_loop, tx.fori_loop, tx.scan, or an `if`/`for`/`while` that "
                      "AutoGraph converted)" if self.parent is not None else
                      "a function traced and run at once (a transform called outside "
                      "tx.function)")
            raise ConcretizationError(with_location(
                f"{what} inside {inside} is not supported: its effect could not be written "
                "back. Compute the new value there, return it, and assign it in the "
                "tx.function itself (for a conditional update: "
                "v.assign(tx.where(pred, new, v)))", user_location()))
        use = self.state.get(id(ref))
        if use is None:
            use = self.state[id(ref)] = StateUse(ref, None, user_location())
        use.current = value
        use.assigned = True
        use.versions.append(value)

    def state_versions(self, ref: ByReference) -> list[Value]:
        """Every value a read of `ref` could see in this trace (its input, then each value
        assigned to it); in a transform's sub-trace, those it captured."""
        if self.parent is not None:
            return [self.captures[v] for v in self.parent.state_versions(ref)
                    if v in self.captures]
        use = self.state.get(id(ref))
        return list(use.versions) if use is not None else []

    def state_inputs(self) -> list[StateUse]:
        """The uses whose first read is an extra input of the graph (after the declared ones),
        not counting Variables bound to a declared input (`bind_state`)."""
        declared = set(self.inputs)
        return [u for u in self.state.values() if u.input is not None
                and u.input not in declared]

    def state_outputs(self) -> list[StateUse]:
        """The uses assigned in this trace: their last values are the graph's extra outputs."""
        return [u for u in self.state.values() if u.assigned]

    def _encloses(self, other: "GraphBuilder") -> bool:
        parent = self.parent
        while parent is not None:
            if parent is other:
                return not other.finished
            parent = parent.parent
        return False

    def _capture(self, x: Tracer) -> Value:
        """An enclosing trace's value used here: an extra input of this graph (a constant to
        the transform tracing it; the enclosing trace passes its value in when inlining)."""
        outer = x if x._builder is self.parent else Tracer(self.parent, self.parent.lift(x))
        hit = self.captures.get(outer._value)
        if hit is None:
            hit = self.captures[outer._value] = Value(outer._value.type)
            self.captured.append(outer)
        return hit

    def build_with_captures(self, outputs: Sequence[Value], check: bool = True) -> Graph:
        """The graph with the captured values as inputs after the declared ones (in the order
        of `self.captured`)."""
        inputs = tuple(self.inputs) + tuple(self.captures[t._value] for t in self.captured)
        graph = Graph(inputs, tuple(self.ops), tuple(outputs), self.name)
        return verify(graph) if check else graph

    def emit(self, code: OpCode, inputs: Sequence[Value], attrs: Mapping, loc,
             out_type: TensorType | None = None) -> Value:
        """Append one op on graph values (what a transform's rules do), typed by the op's rules
        (or `out_type`, when the caller copies an op whose operands kept their types); errors
        name `loc`, the user's line the op comes from."""
        inputs = tuple(inputs)
        if out_type is None:
            out_type = infer_type(code, [v.type for v in inputs], attrs, loc)
        return self._append(code, inputs, attrs, out_type, loc)

    def emit_many(self, code: OpCode, inputs: Sequence[Value], attrs: Mapping, loc,
                  out_types: Sequence[TensorType]) -> list[Value]:
        """Append an op with several results of the given types (a control-flow op, whose
        result types are its regions'; the verifier checks they agree)."""
        outs = tuple(Value(t) for t in out_types)
        self.ops.append(Op(code, tuple(inputs), attrs, outs, loc))
        return list(outs)

    def bind(self, code: OpCode, args: Sequence[Any], attrs: Mapping = Attrs()) -> Tracer:
        self._check_active()
        loc = user_location()
        values = tuple(self.lift(a) for a in args)
        out_type = infer_type(code, [v.type for v in values], attrs, loc)
        self._check_weak_ints(code, values, out_type, loc)
        return Tracer(self, self._append(code, values, attrs, out_type, loc))

    def bind_call(self, args: Sequence[Any], attrs: Mapping) -> list[Tracer]:
        """A library call (`attrs["fn"]`, ir/library) on user values: one Tracer per result."""
        self._check_active()
        loc = user_location()
        values = tuple(self.lift(a) for a in args)
        types = infer_types(OpCode.CALL, [v.type for v in values], attrs, loc)
        return [Tracer(self, v) for v in self.emit_many(OpCode.CALL, values, attrs, loc, types)]

    def _check_weak_ints(self, code: OpCode, values: tuple[Value, ...], out: TensorType,
                         loc) -> None:
        """Out-of-range Python int constants raise as in NumPy (a kernel would wrap them)."""
        producers = ({v: op for op in self.ops[-len(values):] for v in op.outputs}
                     if values else {})
        known = [(v.type, producers[v].attrs["value"] if v in producers
                  and producers[v].code is OpCode.CONSTANT else None) for v in values]
        message = weak_int_overflow(code, known, out)
        if message:
            raise OverflowError(with_location(message, loc))
        for v in values:
            limit = weak_int_limit(code, v.type, out)
            if limit is not None and v in self.inputs:  # an argument: checked at each call
                self.int_limits.setdefault(v, []).append((limit, code, loc))

    def _append(self, code: OpCode, inputs: tuple[Value, ...], attrs: Mapping,
                out_type: TensorType, loc) -> Value:
        out = Value(out_type)
        self.ops.append(Op(code, inputs, attrs, (out,), loc))
        return out

    def build(self, outputs: Sequence[Value], check: bool = True) -> Graph:
        """The graph recorded; `check=False` skips the verifier (a transform's intermediate
        graph, built op by op through the type rules, is verified where it ends up). The
        inputs and outputs of captured state follow the declared ones (`state_inputs`,
        `state_outputs`)."""
        inputs, outputs = tuple(self.inputs), tuple(outputs)
        if self.state:
            inputs += tuple(u.input for u in self.state_inputs())
            outputs += tuple(u.current for u in self.state_outputs())
        graph = Graph(inputs, tuple(self.ops), outputs, self.name)
        return verify(graph) if check else graph


_state = threading.local()


def current_builder() -> GraphBuilder | None:
    """The trace in progress in this thread, or None when running eagerly."""
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


@contextmanager
def tracing(builder: GraphBuilder):
    stack = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    stack.append(builder)
    try:
        yield builder
    finally:
        stack.pop()
        builder.finished = True


@contextmanager
def outside_trace():
    """Run the block eagerly although a trace is in progress in this thread (TensorFlow's
    `tf.init_scope`): what it creates outlives the trace, as an optimizer's slot Variables made
    at the first `apply_gradients` of a compiled step must. Tracers of the suspended traces
    cannot be used inside the block (they raise as any escaped Tracer does)."""
    stack = getattr(_state, "stack", None)
    saved = list(stack) if stack else []
    if stack:
        stack.clear()
    try:
        yield
    finally:
        if saved:
            _state.stack[:] = saved
