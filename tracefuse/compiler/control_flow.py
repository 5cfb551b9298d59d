"""Structured control flow, JAX's signatures (DESIGN.md, "Control flow"): `cond`, `switch`,
`while_loop`, `fori_loop`, `scan`.

Each traces the user's branches or body into sub-graphs (`trace_graph`: the arguments' leaves
as inputs, then the values the function closed over from the trace in progress as *captures*)
and records one region op (`cond`, `while`, `scan`: ir/opcodes.py) into the trace in progress,
returning Tracers of its results. The captures become the op's extra operands: for `cond`,
extra arguments of every branch (each branch graph takes the union of all branches' captures,
in one order); for `while` and `scan`, the consts after the carries and xs. Called eagerly (no
trace in progress), the op is built into a graph of its own and evaluated at once with the
NumPy table, returning Tensors, as eager transforms are (apply.py).

Types, as JAX: a body returns its carries' types and the branches of a `cond` agree. A weak
Python scalar stays weak in a carry; where the body turns it into a strong dtype (a Python
`0.0` carry plus a float32 array), the carry starts as that dtype and the body is traced again;
a weak Python scalar the body returns for a strong carry takes the carry's dtype (NEP 50).
Anything else that differs is a TypeError naming both types and the user's line.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import Loc, user_location, with_location
from ..frontend.elementwise import astype, not_equal
from ..ir import Attrs, Graph, OpCode, TensorType, Value
from ..ir import dtypes as dt
from ..tracer import pytree
from ..tracer.tracer import GraphBuilder, Tracer, current_builder
from ..transforms.graphs import Traced, leaf_type, trace_graph
from .apply import apply_graph

G = OpCode
INT32 = np.iinfo(np.int32)


# ---------------------------------------------------------------------------------------------
# tracing regions


def _fits(value: Any, target: TensorType) -> bool:
    """A weak Python scalar result that takes the strong `target` type (NEP 50)."""
    t = leaf_type(value)
    if not t.weak or target.weak or t.shape != target.shape or t == target:
        return False
    return dt.promote(t.dtype, True, target.dtype, False)[0] == target.dtype


def _cast_leaves(tree: Any, treedef: Any, targets: Sequence[TensorType | None]) -> Any:
    """`tree` with each weak leaf that fits its target type converted to it (the rest kept)."""
    leaves, td = pytree.flatten(tree)
    if td != treedef:
        return tree
    return pytree.unflatten(td, [astype(x, t.dtype) if t is not None and _fits(x, t) else x
                                 for x, t in zip(leaves, targets)])


def _trace(fn: Callable, types: Sequence[TensorType], rebuild: Callable, name: str,
           fix: Callable[[Any], Any] | None = None) -> Traced:
    """`fn` traced into a region with one input per type; `fix` adjusts its output first."""
    if fix is None:
        return trace_graph(fn, types, rebuild, name)

    def fixed(*args, **kwargs):
        return fix(fn(*args, **kwargs))

    return trace_graph(fixed, types, rebuild, name)


def _out_types(traced: Traced) -> list[TensorType]:
    return [v.type for v in traced.graph.outputs]


def _promote_weak(types: Sequence[TensorType], outs: Sequence[TensorType]) -> list[TensorType]:
    """Carry types where a weak carry the body made strong becomes that dtype (JAX's rule)."""
    new = []
    for t, o in zip(types, outs):
        if t != o and t.weak and t.shape == o.shape:
            d, weak = dt.promote(t.dtype, True, o.dtype, o.weak)
            t = TensorType(t.shape, d, weak)
        new.append(t)
    return new


def _union(regions: Sequence[Traced]) -> list[Tracer]:
    """The outer values any of the regions captured, each once, in order of first capture."""
    seen: dict[Value, Tracer] = {}
    for r in regions:
        for c in r.captured:
            seen.setdefault(c._value, c)
    return list(seen.values())


def _with_consts(region: Traced, num_args: int, consts: Sequence[Tracer]) -> Graph:
    """The region's graph taking its arguments, then every value of `consts` (the union of the
    captures of all regions of one op), whether this region reads it or not."""
    graph = region.graph
    own = dict(zip((c._value for c in region.captured), graph.inputs[num_args:]))
    extra = tuple(own.get(c._value) or Value(c._value.type) for c in consts)
    return graph.replace(inputs=graph.inputs[:num_args] + extra)


def _emit(code: OpCode, operands: Sequence[Any], types: Sequence[TensorType], attrs: Attrs,
          out_types: Sequence[TensorType], loc: Loc) -> list[Any]:
    """Record the op into the trace in progress (Tracers of its results), or, with nothing
    being traced, build it alone and evaluate it now with the NumPy table (Tensors)."""
    builder = current_builder()
    if builder is not None:
        values = [builder.lift(x) for x in operands]
        outs = builder.emit_many(code, values, attrs, loc, out_types)
        return [Tracer(builder, v) for v in outs]
    eager = GraphBuilder(code.value)
    for x in operands:
        if isinstance(x, Tracer):
            eager.lift(x)  # raises: a traced value that escaped its trace
    inputs = [eager.new_input(t)._value for t in types]
    graph = eager.build(eager.emit_many(code, inputs, attrs, loc, out_types))
    return apply_graph(graph, operands)


def _mismatch(what: str, message: str, loc: Loc) -> TypeError:
    return TypeError(with_location(f"{what}: {message}", loc))


def _check_carries(what: str, role: str, paths: Sequence[str], types: Sequence[TensorType],
                   outs: Sequence[TensorType], loc: Loc) -> None:
    """A TypeError naming the first carry whose type the body changed (and both types)."""
    differ = [(p, t, o) for p, t, o in zip(paths, types, outs) if t != o]
    if not differ:
        return
    path, t, o = differ[0]
    raise _mismatch(what, (
        f"{role} must return the types of its input carry, but {path} is {t} on input and "
        f"{o} on output. Convert the result (x.astype(...)), or start the loop "
        f"with a value of the type the body computes"), loc)


def _check_structure(what: str, role: str, got: Any, want: Any, loc: Loc) -> None:
    if got != want:
        raise _mismatch(what, (
            f"{role} must return a carry of the same structure as its input, got "
            f"{_tree_str(got)} for {_tree_str(want)}"), loc)


def _tree_str(treedef: Any) -> str:
    n = pytree.num_leaves(treedef)
    return pytree.unflatten(treedef, ["*"] * n).__repr__().replace("'*'", "*")


def _trace_loop(what: str, role: str, body: Callable, types: list[TensorType], num_carries: int,
                rebuild: Callable, carry_of: Callable[[Any], Any], carry_td: Any,
                check_tree: Callable[[Any], None], paths: Sequence[str],
                loc: Loc) -> tuple[Traced, list[TensorType]]:
    """The body of a loop traced until its carries' types are a fixed point: a weak carry the
    body makes strong starts strong (retraced once); returns the region and the carry types.
    `check_tree` checks the structure the body returned."""

    def traced(types):
        carry = types[:num_carries]
        region = _trace(body, types, rebuild, "body",
                        lambda out: carry_of(out, lambda c: _cast_leaves(c, carry_td, carry)))
        check_tree(region.out_treedef)
        return region, carry, _out_types(region)[:num_carries]

    region, carry, outs = traced(types)
    promoted = _promote_weak(carry, outs)
    if outs != carry and promoted != carry:
        types = promoted + types[num_carries:]
        region, carry, outs = traced(types)
    _check_carries(what, role, paths, carry, outs, loc)
    return region, types


def _converted(leaves: Sequence[Any], types: Sequence[TensorType]) -> list[Any]:
    """Initial carries converted to the carry types (a weak scalar the body made strong)."""
    return [x if leaf_type(x) == t else astype(x, t.dtype) for x, t in zip(leaves, types)]


# ---------------------------------------------------------------------------------------------
# cond and switch


def _scalar_index(what: str, name: str, index: Any, loc: Loc) -> TensorType:
    t = leaf_type(index)
    if t.shape != ():
        raise TypeError(with_location(
            f"{what}: {name} must be a scalar, got an array of type {t}. Reduce it to one value "
            "first (tx.all, tx.any), or select per element with tx.where", loc))
    return t


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any) -> Any:
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, as one op: both branches
    are traced (they must return the same structure and types) and the one `pred` selects runs.
    `pred` is a bool scalar (an integer scalar counts as `pred != 0`, as in JAX)."""
    loc = user_location()
    t = _scalar_index("cond", "pred", pred, loc)
    if t.dtype.is_integer:
        pred = not_equal(pred, 0)
    elif not t.dtype.is_bool:
        raise TypeError(with_location(
            f"cond: pred must be a bool scalar, got {t}. Compare it first (x > 0)", loc))
    return _cond_op("cond", pred, [false_fun, true_fun], ["false_fun", "true_fun"], operands,
                    loc)


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """`branches[index](*operands)` as one op, `index` clamped to `[0, len(branches) - 1]`
    (JAX's `lax.switch`); every branch is traced and must return the same types."""
    loc = user_location()
    branches = list(branches)
    if not branches:
        raise ValueError(with_location("switch: branches is empty; give at least one function",
                                       loc))
    t = _scalar_index("switch", "index", index, loc)
    if not t.dtype.is_integer:
        raise TypeError(with_location(
            f"switch: index must be an integer scalar, got {t}. Convert it "
            "(index.astype(tx.int32))", loc))
    names = [f"branches[{i}]" for i in range(len(branches))]
    return _cond_op("switch", index, branches, names, operands, loc)


def _join(types: Sequence[TensorType]) -> TensorType | None:
    """The type every branch's output converts to: the one strong type, which weak Python
    scalars of the same shape take; None when they do not agree."""
    strong = {t for t in types if not t.weak}
    if len(strong) > 1 or len({t.shape for t in types}) > 1:
        return None
    if strong:
        target = next(iter(strong))
        weak = [t for t in types if t.weak]
        return target if all(dt.promote(w.dtype, True, target.dtype, False)[0] == target.dtype
                             for w in weak) else None
    d, _ = dt.promote_all([(t.dtype, True) for t in types])
    return TensorType(types[0].shape, d)


def _cond_op(what: str, index: Any, branches: Sequence[Callable], names: Sequence[str],
             operands: tuple, loc: Loc) -> Any:
    leaves, td = pytree.flatten(tuple(operands))
    types = [leaf_type(x) for x in leaves]

    def rebuild(ts):
        return tuple(pytree.unflatten(td, ts)), {}

    regions = [_trace(fn, types, rebuild, f"branch{i}") for i, fn in enumerate(branches)]
    out_td = regions[0].out_treedef
    for name, r in zip(names[1:], regions[1:]):
        if r.out_treedef != out_td:
            raise _mismatch(what, (
                f"{names[0]} and {name} must return the same structure, got "
                f"{_tree_str(out_td)} and {_tree_str(r.out_treedef)}"), loc)
    per_branch = [_out_types(r) for r in regions]
    if any(outs != per_branch[0] for outs in per_branch):
        paths = pytree.leaf_paths(out_td, "output")
        joined = [_join(column) for column in zip(*per_branch)]
        for k, target in enumerate(joined):
            if target is None:
                i = next(i for i, outs in enumerate(per_branch) if outs[k] != per_branch[0][k])
                raise _mismatch(what, (
                    f"{names[0]} and {names[i]} must return the same types, but {paths[k]} "
                    f"is {per_branch[0][k]} from {names[0]} and {per_branch[i][k]} from "
                    f"{names[i]}. Convert one of them (x.astype(...))"), loc)
        regions = [r if outs == joined else _trace(
            fn, types, rebuild, f"branch{i}", lambda out: _cast_leaves(out, out_td, joined))
            for i, (fn, r, outs) in enumerate(zip(branches, regions, per_branch))]
    consts = _union(regions)
    graphs = tuple(_with_consts(r, len(types), consts) for r in regions)
    out_types = _out_types(regions[0])
    index_type = leaf_type(index)
    outs = _emit(G.COND, [index, *leaves, *consts], [index_type, *types, *[c._value.type
                 for c in consts]], Attrs(branches=graphs), out_types, loc)
    return pytree.unflatten(out_td, outs)


# ---------------------------------------------------------------------------------------------
# loops


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: Any) -> Any:
    """`val = init_val; while cond_fun(val): val = body_fun(val); return val` as one op
    (JAX's `lax.while_loop`). `val` is a pytree; `body_fun` returns its structure and types,
    `cond_fun` a bool scalar. Zero trips return `init_val`."""
    loc = user_location()
    return _while("while_loop", cond_fun, body_fun, init_val,
                  ("cond_fun", "body_fun"), None, loc)


def _while(what: str, cond_fun: Callable, body_fun: Callable, init_val: Any,
           roles: tuple[str, str], paths: Sequence[str] | None, loc: Loc) -> Any:
    leaves, td = pytree.flatten(init_val)
    types = [leaf_type(x) for x in leaves]
    paths = paths or pytree.leaf_paths(td, "val")
    n = len(types)

    def rebuild(ts):
        return (pytree.unflatten(td, ts),), {}

    body, types = _trace_loop(
        what, roles[1], body_fun, types, n, rebuild, lambda out, fix: fix(out), td,
        lambda got: _check_structure(what, roles[1], got, td, loc), paths, loc)
    test = _trace(cond_fun, types, rebuild, "cond")
    outs = _out_types(test)
    if test.out_treedef != pytree.LEAF or [t.strong() for t in outs] != \
            [TensorType((), dt.bool_)]:
        got = ", ".join(map(str, outs)) if test.out_treedef == pytree.LEAF \
            else _tree_str(test.out_treedef)
        raise TypeError(with_location(
            f"{what}: {roles[0]} must return a bool scalar, got {got}. Reduce an array "
            "condition first (tx.all, tx.any)", loc))
    consts = _union([test, body])
    attrs = Attrs(cond=_with_consts(test, n, consts), body=_with_consts(body, n, consts),
                  num_carries=n)
    out = _emit(G.WHILE, [*_converted(leaves, types), *consts],
                [*types, *(c._value.type for c in consts)], attrs, types, loc)
    return pytree.unflatten(td, out)


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False) -> tuple[Any, Any]:
    """JAX's `lax.scan`: `carry = init; for x in xs: carry, y = f(carry, x)`, returning
    `(carry, ys)` with the ys stacked along a new leading axis. `init`, `xs` and the ys are
    pytrees; every leaf of `xs` has the same leading size (`length`, which `xs=None` needs: `f`
    then gets `None`). With `reverse=True` the steps run from the last x to the first, and
    ys[t] is still the y of the step that read xs[t]."""
    loc = user_location()
    return _scan("scan", "f", f, init, xs, length, reverse, None, loc)


def _scan(what: str, role: str, f: Callable, init: Any, xs: Any, length: Any, reverse: bool,
          paths: Sequence[str] | None, loc: Loc) -> tuple[Any, Any]:
    c_leaves, c_td = pytree.flatten(init)
    x_leaves, x_td = pytree.flatten(xs)
    c_types = [leaf_type(x) for x in c_leaves]
    x_types = [leaf_type(x) for x in x_leaves]
    length = _scan_length(what, x_td, x_types, length, loc)
    paths = paths or pytree.leaf_paths(c_td, "carry")
    n, m = len(c_types), len(x_types)
    slices = [TensorType(t.shape[1:], t.dtype, t.weak) for t in x_types]

    def rebuild(ts):
        return (pytree.unflatten(c_td, ts[:n]), pytree.unflatten(x_td, ts[n:n + m])), {}

    def carry_of(out, fix):
        if isinstance(out, (tuple, list)) and len(out) == 2:
            return type(out)((fix(out[0]), out[1]))
        return out

    def check_tree(otd):
        if not (isinstance(otd, tuple) and otd[0] in ("tuple", "list") and len(otd) == 3):
            raise TypeError(with_location(
                f"{what}: {role} must return a pair (carry, y), got {_tree_str(otd)}", loc))
        _check_structure(what, role, otd[1], c_td, loc)

    body, types = _trace_loop(what, role, f, c_types + slices, n, rebuild, carry_of, c_td,
                              check_tree, paths, loc)
    c_types = types[:n]
    y_td = body.out_treedef[2]
    ys = [TensorType((length,) + t.shape, t.dtype) for t in _out_types(body)[n:]]
    consts = body.captured
    attrs = Attrs(body=body.graph, num_carries=n, num_xs=m, length=length,
                  reverse=bool(reverse))
    out = _emit(G.SCAN, [*_converted(c_leaves, c_types), *x_leaves, *consts],
                [*c_types, *x_types, *(c._value.type for c in consts)], attrs, c_types + ys,
                loc)
    return pytree.unflatten(c_td, out[:n]), pytree.unflatten(y_td, out[n:])


def _scan_length(what: str, x_td: Any, x_types: Sequence[TensorType], length: Any,
                 loc: Loc) -> int:
    """The trip count: every x's leading size, which `length` (if given) agrees with."""
    paths = pytree.leaf_paths(x_td, "xs")
    for p, t in zip(paths, x_types):
        if not t.shape:
            raise ValueError(with_location(
                f"{what}: every leaf of xs needs a leading axis to scan over, but {p} is a "
                f"scalar ({t})", loc))
    sizes = {t.shape[0] for t in x_types}
    if len(sizes) > 1:
        listed = ", ".join(f"{p}: {t.shape[0]}" for p, t in zip(paths, x_types))
        raise ValueError(with_location(
            f"{what}: the leaves of xs have different leading sizes ({listed}); they must all "
            "have the same length", loc))
    if length is not None:
        try:
            length = operator.index(length)
        except TypeError:
            raise TypeError(with_location(
                f"{what}: length must be a Python int, got {type(length).__name__}", loc)) \
                from None
        if length < 0:
            raise ValueError(with_location(f"{what}: length must be >= 0, got {length}", loc))
        if sizes and length != next(iter(sizes)):
            raise ValueError(with_location(
                f"{what}: length={length} differs from the leading size "
                f"{next(iter(sizes))} of xs", loc))
        return length
    if not sizes:
        raise ValueError(with_location(
            f"{what}: with xs=None (no arrays to scan over) give the number of steps as "
            "length=", loc))
    return sizes.pop()


def _static_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def fori_loop(lower: Any, upper: Any, body_fun: Callable, init_val: Any) -> Any:
    """`val = init_val; for i in range(lower, upper): val = body_fun(i, val); return val`
    (JAX's `lax.fori_loop`). With Python int bounds the trip count is static (a `scan`: `i` is
    an int32 counter); with traced bounds it is a `while_loop`, `i` of the bounds' dtype."""
    loc = user_location()
    v_td = pytree.flatten(init_val)[1]
    paths = ["i"] + pytree.leaf_paths(v_td, "val")

    def step(carry):
        i, val = carry
        return i + 1, body_fun(i, val)

    if _static_int(lower) and _static_int(upper):
        lower, upper = int(lower), int(upper)
        fits = INT32.min <= lower <= INT32.max and INT32.min <= upper <= INT32.max
        start = np.asarray(lower, np.int32 if fits else np.int64)
        (_, val), _ = _scan("fori_loop", "body_fun", lambda c, _: (step(c), None),
                            (start, init_val), None, max(upper - lower, 0), False, paths, loc)
        return val
    lt, ut = leaf_type(lower), leaf_type(upper)
    for name, t in (("lower", lt), ("upper", ut)):
        if t.shape != () or not t.dtype.is_integer:
            raise TypeError(with_location(
                f"fori_loop: {name} must be an integer scalar, got {t}", loc))
    d = dt.promote(lt.dtype, lt.weak, ut.dtype, ut.weak)[0]
    _, val = _while("fori_loop", lambda c: c[0] < upper, step, (astype(lower, d), init_val),
                    ("the loop test", "body_fun"), paths, loc)
    return val


__all__ = ["cond", "fori_loop", "scan", "switch", "while_loop"]
