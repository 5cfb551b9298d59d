"""What AutoGraph's converted code calls at run time (`ag__` in `tx.autograph.to_code`):
`if_stmt`, `while_stmt`, `for_stmt`, `if_exp`, `and_`, `or_`, `not_`, `ld`, `range_`, and
`Undefined`;
plus `TxRange`, the object `tx.range` returns.

Each statement helper dispatches on its condition or iterable at run time: a concrete Python
value (a bool, a Tensor, a list, a `range`) runs the plain Python statement; a traced value
builds the structured op (`cond`, `while_loop`, `fori_loop`, `scan`: control_flow.py). The
converted code hands each helper its branches or body as functions that read and write the
statement's variables through `nonlocal`, and `get_state` / `set_state` functions that read
and write all of them (their names in `names`): a traced branch or body is run with the
variables set to the op's region inputs, and its outputs are read back the same way.

A variable's value is a pytree; its array leaves (Tracers, Tensors, NumPy arrays, Python
numbers) travel through the op, any other leaf (a string, a function) must be the same object
on every path. A variable assigned on one path only holds an `Undefined`, which raises when
used, naming the variable.
"""

from __future__ import annotations

import builtins
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import ConcretizationError, Loc, user_location, with_location
from ...frontend.elementwise import (
    astype,
    greater,
    less,
    logical_and,
    logical_not,
    logical_or,
    not_equal,
)
from ...frontend.tensor import Tensor
from ...ir import dtypes as dt
from ...tracer import pytree
from ...tracer.tracer import Tracer, current_builder
from ...transforms.graphs import leaf_type
from ..control_flow import cond, fori_loop, scan, while_loop

_NUMBERS = (bool, int, float)


def is_traced(x: Any) -> bool:
    return isinstance(x, Tracer)


# ---------------------------------------------------------------------------------------------
# undefined variables


class Undefined:
    """The value of a variable that has none here: assigned on a path that did not run, or only
    inside a traced loop. Using it raises UnboundLocalError naming the variable."""

    __slots__ = ("name", "reason")

    def __init__(self, name: str, reason: str | None = None):
        self.name = name
        self.reason = reason

    def message(self) -> str:
        return self.reason or (f"local variable '{self.name}' is used here but has no value: "
                               "it is assigned only on a path that did not run")

    def fail(self, *args: Any, **kwargs: Any):
        raise UnboundLocalError(with_location(self.message(), user_location()))

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        self.fail()

    def __repr__(self) -> str:
        return f"<undefined {self.name}>"

    __bool__ = __len__ = __iter__ = __getitem__ = __setitem__ = __call__ = __index__ = fail
    __int__ = __float__ = __complex__ = __array__ = __contains__ = fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = fail
    __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = fail
    __rpow__ = __matmul__ = __rmatmul__ = __neg__ = __pos__ = __abs__ = __invert__ = fail
    __and__ = __rand__ = __or__ = __ror__ = __xor__ = __rxor__ = __lt__ = __le__ = fail
    __gt__ = __ge__ = fail


def ld(read: Callable[[], Any], name: str) -> Any:
    """The variable's value (`read()`), or an `Undefined` when it has none yet."""
    try:
        return read()
    except NameError:
        return Undefined(name)


# ---------------------------------------------------------------------------------------------
# boolean operators of conditions


def _pred(x: Any) -> Any:
    """A traced value as a bool scalar (Python's truth: nonzero)."""
    return x if not is_traced(x) or x.dtype == dt.bool_ else not_equal(x, 0)


def not_(x: Any) -> Any:
    return logical_not(_pred(x)) if is_traced(x) else not x


def and_(*operands: Callable[[], Any]) -> Any:
    """`a and b and ...` with each operand a function: Python's short circuit on concrete
    values; once one is traced, every later operand is evaluated and combined."""
    value = operands[0]()
    for operand in operands[1:]:
        if is_traced(value):
            value = logical_and(_pred(value), _pred(operand()))
        elif not value:
            return value
        else:
            value = operand()
    return value


def or_(*operands: Callable[[], Any]) -> Any:
    value = operands[0]()
    for operand in operands[1:]:
        if is_traced(value):
            value = logical_or(_pred(value), _pred(operand()))
        elif value:
            return value
        else:
            value = operand()
    return value


def if_exp(test: Any, body: Callable[[], Any], orelse: Callable[[], Any]) -> Any:
    """`body() if test else orelse()`: Python's on a concrete test; on a traced scalar a
    `cond` (both branches traced, their results of one type); a traced array has no single
    truth value: the error says to select per element with `tx.where`."""
    if not is_traced(test):
        return body() if test else orelse()
    loc = user_location()
    if tuple(test.shape) != ():
        raise ConcretizationError(with_location(
            f"a conditional expression `a if test else b` tests a traced array of shape "
            f"{tuple(test.shape)}, which has no single truth value. Select per element with "
            "tx.where(test, a, b), or reduce the test to one value (tx.any, tx.all)", loc))
    return cond(_pred(test), body, orelse)


# ---------------------------------------------------------------------------------------------
# ranges


class TxRange:
    """`tx.range(stop)`, `tx.range(start, stop[, step])`: a range whose bounds may be traced.
    In a function AutoGraph converts, `for i in tx.range(...)` is one loop op (`fori_loop`, or
    a `while_loop` for traced bounds or a `break`), not unrolled. Elsewhere, with concrete
    bounds, it is Python's `range`."""

    __slots__ = ("start", "step", "stop")

    def __init__(self, *args: Any):
        if not 1 <= len(args) <= 3:
            raise TypeError(f"tx.range expected 1 to 3 arguments, got {len(args)}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
        for name, v in (("start", start), ("stop", stop), ("step", step)):
            if not is_traced(v):
                try:
                    operator.index(v if not isinstance(v, Tensor) else int(v))
                except TypeError:
                    raise TypeError(f"tx.range: {name} must be an integer, got "
                                    f"{type(v).__name__}") from None
        if not is_traced(step) and int(step) == 0:
            raise ValueError("tx.range: step must not be zero")
        self.start, self.stop, self.step = start, stop, step

    def traced(self) -> bool:
        return any(map(is_traced, (self.start, self.stop, self.step)))

    def python(self) -> range:
        if self.traced():
            raise ConcretizationError(with_location(
                "iterating a tx.range with a traced bound needs AutoGraph: write the loop as "
                "`for i in tx.range(n):` directly in a tx.function (autograph=True, the "
                "default), or use tx.fori_loop", user_location()))
        return range(int(self.start), int(self.stop), int(self.step))

    def __iter__(self):
        return iter(self.python())

    def __len__(self) -> int:
        return len(self.python())

    def __getitem__(self, i):
        return self.python()[i]

    def __reversed__(self):
        return reversed(self.python())

    def __contains__(self, x) -> bool:
        return x in self.python()

    def __repr__(self) -> str:
        return f"tx.range({self.start!r}, {self.stop!r}, {self.step!r})"


def range_(fn: Any, *args: Any) -> Any:
    """`range(...)` in a `for` statement: a `TxRange` when a bound is traced (so the loop
    becomes an op), else whatever `range` names here, called."""
    if fn is builtins.range and any(map(is_traced, args)):
        return TxRange(*args)
    return fn(*args)


# ---------------------------------------------------------------------------------------------
# variables as op operands


def _array_like(x: Any) -> bool:
    return isinstance(x, (Tracer, Tensor, np.ndarray, np.generic)) or type(x) in _NUMBERS


class _Var:
    """One variable's value split for an op: its treedef, which leaves are arrays (they become
    operands), and the other leaves (kept as they are)."""

    __slots__ = ("arrays", "mask", "others", "td")

    def __init__(self, value: Any):
        leaves, self.td = pytree.flatten(value)
        self.mask = tuple(_array_like(x) for x in leaves)
        self.arrays = tuple(x for x, a in zip(leaves, self.mask) if a)
        self.others = tuple(x for x, a in zip(leaves, self.mask) if not a)

    def same_shape(self, other: _Var) -> bool:
        return self.td == other.td and self.mask == other.mask

    def same_others(self, other: _Var) -> bool:
        return all(a is b or _equal(a, b) for a, b in zip(self.others, other.others))

    def rebuild(self, arrays: Sequence[Any]) -> Any:
        it, ot = iter(arrays), iter(self.others)
        return pytree.unflatten(self.td, [next(it) if a else next(ot) for a in self.mask])


def _equal(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # an == that is not a bool
        return False


def _describe(v: _Var) -> str:
    if not v.others:
        return f"arrays in the structure {pytree.unflatten(v.td, ['*'] * len(v.mask))!r}"
    return f"a Python {type(v.others[0]).__name__}"


# ---------------------------------------------------------------------------------------------
# if


def if_stmt(test: Any, body: Callable, orelse: Callable, get_state: Callable,
            set_state: Callable, names: Sequence[str], temps: Sequence[str] = (),
            returns: bool = False) -> Any:
    """`if test: body() else: orelse()`; a traced `test` makes it one `cond` op. `temps` are
    the variables not read after the statement (a traced `if` does not return them). With
    `returns`, the branches end the function and the value is what they return."""
    if not is_traced(test):
        return body() if test else orelse()
    return _traced_if(test, body, orelse, get_state, set_state, tuple(names), set(temps),
                      returns, user_location())


def _traced_if(test, body, orelse, get_state, set_state, names, temps, returns, loc: Loc):
    init = get_state()
    labels = names + (("the return value",) if returns else ())
    seen: dict[str, list] = {}  # branch -> each variable's _Var (or Undefined, or None: a temp)

    def branch(fn: Callable, which: str) -> Callable:
        def run():
            set_state(init)
            ret = fn()
            values = tuple(get_state()) + ((ret,) if returns else ())
            parts = [None if label in temps else v if isinstance(v, Undefined) else _Var(v)
                     for label, v in zip(labels, values)]
            seen[which] = parts
            _check_branches(seen, labels, loc)
            return tuple(p.arrays if isinstance(p, _Var) else () for p in parts)
        return run

    outs = cond(_pred(test), branch(body, "if"), branch(orelse, "else"))
    final = []
    parts = seen["if"]
    for i, part in enumerate(parts):
        if part is None or isinstance(part, Undefined):
            final.append(init[i] if part is None else part)
            continue
        arrays = list(outs[i])
        first = _Var(init[i]) if i < len(init) and not isinstance(init[i], Undefined) else None
        if first is not None and first.same_shape(part):
            # a leaf neither branch changed keeps its value (a Python number stays one)
            for k, old in enumerate(first.arrays):
                if all(seen[b][i].arrays[k] is old for b in seen):
                    arrays[k] = old
        final.append(part.rebuild(arrays))
    set_state(tuple(final[:len(names)]))
    return final[-1] if returns else None


def _check_branches(seen: dict, labels: Sequence[str], loc: Loc) -> None:
    if len(seen) < 2:
        return
    a, b = seen["if"], seen["else"]
    for label, x, y in zip(labels, a, b):
        ux, uy = isinstance(x, Undefined), isinstance(y, Undefined)
        if (ux and uy) or x is None:
            continue
        what = f"variable '{label}'" if label != "the return value" else label
        if ux or uy:
            has, lacks = ("else", "if") if ux else ("if", "else")
            if label == "the return value":
                raise ValueError(with_location(
                    f"a traced `if` returns a value from its {has} branch only: return a "
                    f"value of the same type from the {lacks} branch too", loc))
            raise ValueError(with_location(
                f"{what} is assigned in the {has} branch of a traced `if` but not in its "
                f"{lacks} branch, and it is used after the `if`: give it a value before the "
                f"`if` or in both branches", loc))
        if not x.same_shape(y) or not x.same_others(y):
            raise TypeError(with_location(
                f"{what} must have the same structure in both branches of a traced `if`, "
                f"got {_describe(x)} from the if branch and {_describe(y)} from the else "
                "branch; only arrays and numbers may differ between the branches", loc))


# ---------------------------------------------------------------------------------------------
# loops


class _LoopState:
    """The variables of a traced loop: those with a value on entry are carried (their array
    leaves; other leaves must not change), the rest are local to the body and undefined after
    the loop, as are the loop's targets."""

    def __init__(self, get_state, set_state, names, targets, loc: Loc, what: str):
        self.get, self.set, self.names, self.loc, self.what = get_state, set_state, names, loc, what
        self.init = tuple(get_state())
        self.vars = {}
        for name, v in zip(names, self.init):
            if name not in targets and not isinstance(v, Undefined):
                self.vars[name] = _Var(v)

    def carry(self) -> dict:
        return {n: v.arrays for n, v in self.vars.items()}

    def enter(self, carry: dict) -> None:
        self.set(tuple(self.vars[n].rebuild(carry[n]) if n in self.vars else v
                       for n, v in zip(self.names, self.init)))

    def read(self) -> dict:
        out = {}
        for name, value in zip(self.names, self.get()):
            old = self.vars.get(name)
            if old is None:
                continue
            if isinstance(value, Undefined):
                raise UnboundLocalError(with_location(
                    f"variable '{name}' has no value at the end of the body of a traced "
                    f"{self.what} loop (it is deleted or assigned on one path only)", self.loc))
            new = _Var(value)
            if not old.same_shape(new) or not old.same_others(new):
                raise TypeError(with_location(
                    f"variable '{name}' is {_describe(old)} before a traced {self.what} loop "
                    f"and {_describe(new)} after its body; a traced loop may only change "
                    "arrays and numbers, keeping their structure", self.loc))
            out[name] = new.arrays
        return out

    def leave(self, carry: dict, targets: Sequence[str] = ()) -> None:
        final = []
        for name, v in zip(self.names, self.init):
            if name in self.vars:
                final.append(self.vars[name].rebuild(carry[name]))
            else:
                kind = "loop variable" if name in targets else "variable"
                final.append(Undefined(name, with_location(
                    f"{kind} '{name}' has no value after the traced {self.what} loop that "
                    f"assigns it (at {self.loc}): a traced loop only carries the variables "
                    "that have a value before it; assign it before the loop", None)))
        self.set(tuple(final))


def while_stmt(test: Callable, body: Callable, get_state: Callable, set_state: Callable,
               names: Sequence[str]) -> None:
    """`while test(): body()`; once `test()` is traced the rest is one `while_loop` op."""
    while True:
        c = test()
        if is_traced(c):
            return _traced_while(test, body, get_state, set_state, tuple(names), user_location())
        if not c:
            return None
        body()


def _traced_while(test, body, get_state, set_state, names, loc: Loc) -> None:
    state = _LoopState(get_state, set_state, names, (), loc, "while")

    def cond_fun(carry):
        state.enter(carry)
        return _pred(test())

    def body_fun(carry):
        state.enter(carry)
        body()
        return state.read()

    state.leave(while_loop(cond_fun, body_fun, state.carry()))


def for_stmt(iterable: Any, extra_test: Callable | None, body: Callable, get_state: Callable,
             set_state: Callable, names: Sequence[str], targets: Sequence[str] = ()) -> None:
    """`for x in iterable: body(x)` (stopping when `extra_test()` is false: a `break`). A
    `tx.range` being traced is one loop op; so is a traced array (a `scan` over its leading
    axis); anything else is a Python loop."""
    if isinstance(iterable, TxRange) and (current_builder() is not None or iterable.traced()):
        return _range_loop(iterable, extra_test, body, get_state, set_state, tuple(names),
                           tuple(targets), user_location())
    if is_traced(iterable):
        return _scan_loop(iterable, extra_test, body, get_state, set_state, tuple(names),
                          tuple(targets), user_location())
    for x in iterable:
        body(x)
        if extra_test is not None:
            go = extra_test()
            if is_traced(go):
                raise ConcretizationError(with_location(
                    f"a `break` that depends on a traced value, in a Python `for` loop over a "
                    f"{type(iterable).__name__}: loop over tx.range(...) instead so the loop "
                    "is traced too", user_location()))
            if not go:
                break
    return None


def _range_loop(r: TxRange, extra_test, body, get_state, set_state, names, targets, loc):
    state = _LoopState(get_state, set_state, names, targets, loc, "for")
    static = not r.traced()
    if static and extra_test is None:
        start, step = int(r.start), int(r.step)
        n = len(range(start, int(r.stop), step))

        def fbody(k, carry):
            state.enter(carry)
            body(k if (start, step) == (0, 1) else k * step + start)
            return state.read()

        return state.leave(fori_loop(0, n, fbody, state.carry()), targets)
    bounds = [r.start, r.stop, r.step]
    types = [leaf_type(b) for b in bounds]
    d = dt.promote_all([(t.dtype, t.weak) for t in types])[0]
    for name, t in zip(("start", "stop", "step"), types):
        if t.shape != () or not t.dtype.is_integer:
            raise TypeError(with_location(f"tx.range: {name} must be an integer scalar, got {t}",
                                          loc))
    step = r.step

    def in_range(i):
        if not is_traced(step):
            return less(i, r.stop) if step > 0 else greater(i, r.stop)
        return logical_or(logical_and(greater(step, 0), less(i, r.stop)),
                          logical_and(less(step, 0), greater(i, r.stop)))

    def cond_fun(c):
        i, carry = c
        state.enter(carry)
        go = in_range(i)
        return go if extra_test is None else logical_and(go, _pred(extra_test()))

    def body_fun(c):
        i, carry = c
        state.enter(carry)
        body(i)
        return i + step, state.read()

    _, carry = while_loop(cond_fun, body_fun, (astype(r.start, d), state.carry()))
    state.leave(carry, targets)


def _scan_loop(xs: Tracer, extra_test, body, get_state, set_state, names, targets, loc):
    if extra_test is not None:
        raise NotImplementedError(with_location(
            "`break` in a loop over a traced array is not supported: loop over "
            "tx.range(len(x)) instead and read x[i] with a Python index, or use tx.while_loop",
            loc))
    if not xs.shape:
        raise TypeError(with_location(f"iteration over a 0-d traced array ({xs.dtype})", loc))
    state = _LoopState(get_state, set_state, names, targets, loc, "for")

    def f(carry, x):
        state.enter(carry)
        body(x)
        return state.read(), None

    carry, _ = scan(f, state.carry(), xs)
    state.leave(carry, targets)


__all__ = ["TxRange", "Undefined", "and_", "for_stmt", "if_stmt", "ld", "not_", "or_",
           "range_", "while_stmt"]
