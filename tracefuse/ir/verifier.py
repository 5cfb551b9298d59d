"""`verify(graph)`: the IR's invariants, checked. Returns the graph unchanged or raises
`VerificationError`.

Invariants: SSA order (every operand is a graph input or an earlier op's output), single
assignment (no value defined twice), graph outputs defined in the graph, each op's operand
count (`ARITY`) and required attributes (`REQUIRED_ATTRS`) present, attribute values hashable,
and each op's result type equal to what the shape/dtype rules compute from its operands.
A kernel op agrees with its body, and its index maps (`space`, `reduced`, `maps`, `reads`, see
printer.py) are well formed: one entry per body op, each map naming existing axes of the
right sizes, every elementwise op and reduction of the body mapped. A kernel body may hold a
`scan` (a loop each element runs in registers) when `kernel_loop_problem` finds none.

`check_op` holds the per-op checks, so the parser reports the same problems for IR text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import UNKNOWN_LOC, DTypeError, ShapeError, VerificationError
from .dtypes import DType
from .graph import Graph, Op, Value
from . import dtypes as dt
from .opcodes import (BINARY, ELEMENTWISE, GRAPH_ATTRS, MOVEMENT, REDUCE, REGIONS, TERNARY,
                      UNARY, OpCode)
from .printer import KERNEL_LAYOUT_ATTRS, Namer, format_attr, format_op
from .rules import infer_type, infer_types
from .types import Literal, TensorType

G = OpCode
UNBOUNDED = None

# (fewest, most) operands of each op; most is UNBOUNDED for variadic ops
ARITY: dict[OpCode, tuple[int, int | None]] = {
    G.CONSTANT: (0, 0),
    G.FULL: (0, 0),
    G.IOTA: (0, 0),
    G.RANDOM_BITS: (3, 3),
    **{code: (1, 1) for code in UNARY},
    **{code: (2, 2) for code in BINARY},
    **{code: (3, 3) for code in TERNARY},
    **{code: (1, 1) for code in REDUCE},
    **{code: (1, 1) for code in MOVEMENT - {G.CONCAT}},
    G.CONCAT: (1, UNBOUNDED),
    G.MATMUL: (2, 2),
    G.CALL: (0, UNBOUNDED),  # the library function's own arity is checked by its rule
    G.KERNEL: (0, UNBOUNDED),
    G.COND: (1, UNBOUNDED),
    G.WHILE: (0, UNBOUNDED),
    G.SCAN: (0, UNBOUNDED),
}

_REDUCE_ATTRS = ("axes", "keepdims")

# the attributes each op cannot do without (others, like a constant's `weak`, are optional)
REQUIRED_ATTRS: dict[OpCode, tuple[str, ...]] = {
    **{code: () for code in UNARY | BINARY | TERNARY | {G.MATMUL}},
    G.CAST: ("dtype",),
    G.CONSTANT: ("value",),
    G.FULL: ("shape", "dtype", "value"),
    G.IOTA: ("shape", "dtype", "axis"),
    G.RANDOM_BITS: ("shape",),
    G.SUM: _REDUCE_ATTRS,
    G.PROD: _REDUCE_ATTRS,
    G.MAX: _REDUCE_ATTRS,
    G.MIN: _REDUCE_ATTRS,
    G.ALL: _REDUCE_ATTRS,
    G.ANY: _REDUCE_ATTRS,
    G.ARGMAX: ("axis", "keepdims"),
    G.ARGMIN: ("axis", "keepdims"),
    G.RESHAPE: ("shape",),
    G.BROADCAST_TO: ("shape",),
    G.PERMUTE: ("axes",),
    G.SLICE: ("starts", "sizes", "steps"),
    G.CONCAT: ("axis",),
    G.CALL: ("fn",),
    G.KERNEL: ("body", "kind", "name") + KERNEL_LAYOUT_ATTRS,
    G.COND: ("branches",),
    G.WHILE: ("cond", "body", "num_carries"),
    G.SCAN: ("body", "num_carries", "num_xs", "length", "reverse"),
}

KERNEL_KINDS = ("elementwise", "reduction", "row")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_ints(x: Any) -> bool:
    return isinstance(x, tuple) and all(_is_int(v) for v in x)


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (bool, int, float, complex, np.bool_, np.integer, np.floating,
                          np.complexfloating))


# what a well-formed value of an attribute looks like, by attribute name
_ATTR_KINDS: dict[str, tuple[Any, str]] = {
    "dtype": (lambda x: isinstance(x, DType), "a dtype"),
    "keepdims": (lambda x: isinstance(x, (bool, np.bool_)), "true or false"),
    "weak": (lambda x: isinstance(x, (bool, np.bool_)), "true or false"),
    "shape": (_is_ints, "a tuple of ints"),
    "axes": (_is_ints, "a tuple of ints"),
    "starts": (_is_ints, "a tuple of ints"),
    "sizes": (_is_ints, "a tuple of ints"),
    "steps": (_is_ints, "a tuple of ints"),
    "fn": (lambda x: isinstance(x, str), "a library function's name (a string)"),
}
_AXIS_KIND = (_is_int, "an int")
_ARG_AXIS_KIND = (lambda x: x is None or _is_int(x), "an int or none")
_VALUE_KIND = {
    G.CONSTANT: (lambda x: isinstance(x, Literal), "a Literal"),
    G.FULL: (_is_scalar, "a Python scalar (bool, int, float or complex)"),
}


def _attr_kind(code: OpCode, name: str):
    if code is G.CALL:  # the parameters are the library function's rule to check
        return _ATTR_KINDS["fn"] if name == "fn" else None
    if name == "axis":
        return _ARG_AXIS_KIND if code in (G.ARGMAX, G.ARGMIN) else _AXIS_KIND
    if name == "value":
        return _VALUE_KIND.get(code)
    return _ATTR_KINDS.get(name)


def _show(value: Any) -> str:
    try:
        return format_attr(value, elide=True)
    except TypeError:
        return repr(value)


def check_op(op: Op) -> tuple[str, str] | None:
    """The first problem of one op on its own, as (part, message), or None when it is sound.

    `part` says where the problem is: "operands", "outputs", "attrs" or "type". Whether its
    operands are defined is the caller's business (it depends on the graph around the op).
    """
    code = op.code
    if not isinstance(code, OpCode):
        return "op", f"{code!r} is not an OpCode"
    lo, hi = ARITY[code]
    n = len(op.inputs)
    if n < lo or (hi is not None and n > hi):
        want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
        return "operands", f"{code.value} takes {want} operand(s), got {n}"
    if code is G.KERNEL:
        return _check_kernel(op)
    if code in REGION_CHECKS:
        return _check_region(op)
    if len(op.outputs) != 1 and code is not G.CALL:
        return "outputs", f"{code.value} has exactly one result, got {len(op.outputs)}"
    attrs: Mapping[str, Any] = op.attrs
    missing = [name for name in REQUIRED_ATTRS[code] if name not in attrs]
    if missing:
        return "attrs", (
            f"missing attribute {', '.join(repr(m) for m in missing)} "
            f"({code.value} needs {', '.join(REQUIRED_ATTRS[code])})"
        )
    for name, value in attrs.items():
        try:
            hash(value)
        except TypeError:
            return "attrs", (
                f"attribute {name!r} = {value!r} is not hashable "
                f"(use a tuple, not a {type(value).__name__})"
            )
        kind = _attr_kind(code, name)
        if kind is not None and not kind[0](value):
            return "attrs", (f"attribute {name!r} of {code.value} must be {kind[1]}, "
                             f"got {_show(value)}")
    try:
        expected = infer_types(code, [v.type for v in op.inputs], attrs)
    except (ShapeError, DTypeError) as e:
        return "type", f"the type rule rejects it: {e}"
    except Exception as e:  # a rule tripped over malformed attributes
        return "type", f"the type rule failed: {type(e).__name__}: {e}"
    got = tuple(v.type for v in op.outputs)
    if len(expected) == 1 and len(got) == 1:
        expected, got = expected[0], got[0]
    if got != expected:
        return "type", (f"result type differs from what {code.value} computes: "
                        f"expected {expected}, got {got}")
    return None


def _types(values) -> str:
    return "(" + ", ".join(str(v.type if hasattr(v, "type") else v) for v in values) + ")"


def _check_cond(op: Op, attrs: Mapping) -> tuple[str, str] | None:
    branches = attrs["branches"]
    if not isinstance(branches, tuple) or not branches:
        return "attrs", "cond needs a non-empty tuple of branch graphs"
    index = op.inputs[0].type
    if index.shape != () or not (index.dtype.is_bool or index.dtype.is_integer):
        return "operands", f"the index of cond must be a bool or integer scalar, got {index}"
    args = [v.type for v in op.inputs[1:]]
    for i, g in enumerate(branches):
        if [v.type for v in g.inputs] != args:
            return "operands", (f"branch {i} takes {_types(g.inputs)}, but cond passes "
                                f"{_types(op.inputs[1:])}")
        if [v.type for v in g.outputs] != [v.type for v in op.outputs]:
            return "type", (f"branch {i} returns {_types(g.outputs)}, but cond's results are "
                            f"{_types(op.outputs)}")
    return None


def _check_while(op: Op, attrs: Mapping) -> tuple[str, str] | None:
    n = attrs["num_carries"]
    if not _is_int(n) or not 0 <= n <= len(op.inputs):
        return "attrs", f"num_carries must be an int within the {len(op.inputs)} operands"
    ins = [v.type for v in op.inputs]
    carries = ins[:n]
    for name in ("cond", "body"):
        g = attrs[name]
        if [v.type for v in g.inputs] != ins:
            return "operands", (f"the {name} of while takes {_types(g.inputs)}, but the loop "
                                f"passes {_types(op.inputs)}")
    if [v.type.strong() for v in attrs["cond"].outputs] != [TensorType((), dt.bool_)]:
        return "type", f"the cond of while must return one bool[], got {_types(attrs['cond'].outputs)}"
    if [v.type for v in attrs["body"].outputs] != carries:
        return "type", (f"the body of while returns {_types(attrs['body'].outputs)}, but its "
                        f"carries are ({', '.join(map(str, carries))})")
    if [v.type for v in op.outputs] != carries:
        return "type", f"while's results {_types(op.outputs)} differ from its carries"
    return None


def _check_scan(op: Op, attrs: Mapping) -> tuple[str, str] | None:
    n, m, length = attrs["num_carries"], attrs["num_xs"], attrs["length"]
    if not (_is_int(n) and _is_int(m) and _is_int(length)) or n < 0 or m < 0 or length < 0 \
            or n + m > len(op.inputs) or not isinstance(attrs["reverse"], bool):
        return "attrs", "scan needs int num_carries, num_xs, length >= 0 and a bool reverse"
    ins = [v.type for v in op.inputs]
    carries, xs, consts = ins[:n], ins[n:n + m], ins[n + m:]
    for x in xs:
        if not x.shape or x.shape[0] != length:
            return "operands", f"every xs of scan has leading size length={length}, got {x}"
    body = attrs["body"]
    want = carries + [TensorType(x.shape[1:], x.dtype, x.weak) for x in xs] + consts
    if [v.type for v in body.inputs] != want:
        return "operands", (f"the body of scan takes {_types(body.inputs)}, but the scan "
                            f"passes ({', '.join(map(str, want))})")
    outs = [v.type for v in body.outputs]
    if outs[:n] != carries:
        return "type", (f"the body of scan returns carries {_types(body.outputs[:n])}, but "
                        f"its carries are ({', '.join(map(str, carries))})")
    ys = [TensorType((length,) + t.shape, t.dtype) for t in outs[n:]]
    if [v.type for v in op.outputs] != carries + ys:
        return "type", (f"scan's results {_types(op.outputs)} differ from its carries and "
                        f"stacked ys ({', '.join(map(str, carries + ys))})")
    return None


REGION_CHECKS = {G.COND: _check_cond, G.WHILE: _check_while, G.SCAN: _check_scan}


def _check_region(op: Op) -> tuple[str, str] | None:
    """A control-flow op agrees with its regions (operands with their inputs, results with
    their outputs), and each region is itself a valid graph."""
    attrs = op.attrs
    missing = [name for name in REQUIRED_ATTRS[op.code] if name not in attrs]
    if missing:
        return "attrs", (f"missing attribute {', '.join(repr(m) for m in missing)} "
                         f"({op.code.value} needs {', '.join(REQUIRED_ATTRS[op.code])})")
    graphs = [g for name in GRAPH_ATTRS[op.code]
              for g in (attrs[name] if isinstance(attrs[name], tuple) else (attrs[name],))]
    if not all(isinstance(g, Graph) for g in graphs):
        return "attrs", f"the regions of {op.code.value} must be Graphs"
    problem = REGION_CHECKS[op.code](op, attrs)
    if problem is not None:
        return problem
    for g in graphs:
        try:
            verify(g)
        except VerificationError as e:
            return "attrs", f"a region of {op.code.value} is invalid: {e}"
    return None


def _check_kernel(op: Op) -> tuple[str, str] | None:
    """A kernel op agrees with its body: operands with body inputs, results with body outputs."""
    attrs = op.attrs
    missing = [name for name in REQUIRED_ATTRS[G.KERNEL] if name not in attrs]
    if missing:
        return "attrs", (f"missing attribute {', '.join(repr(m) for m in missing)} (kernel "
                         f"needs {', '.join(REQUIRED_ATTRS[G.KERNEL])})")
    body = attrs["body"]
    if not isinstance(body, Graph):
        return "attrs", f"attribute 'body' of kernel must be a Graph, got {type(body).__name__}"
    if attrs["kind"] not in KERNEL_KINDS:
        return "attrs", f"kernel kind must be one of {', '.join(KERNEL_KINDS)}, got {attrs['kind']!r}"
    if not op.outputs:
        return "outputs", "a kernel has at least one result"
    if [v.type for v in op.inputs] != [v.type for v in body.inputs]:
        return "operands", (f"kernel @{attrs['name']} operands "
                            f"({', '.join(str(v.type) for v in op.inputs)}) differ from its body's "
                            f"inputs ({', '.join(str(v.type) for v in body.inputs)})")
    if [v.type for v in op.outputs] != [v.type for v in body.outputs]:
        return "type", (f"kernel @{attrs['name']} results "
                        f"({', '.join(str(v.type) for v in op.outputs)}) differ from its body's "
                        f"outputs ({', '.join(str(v.type) for v in body.outputs)})")
    if any(inner.code is G.KERNEL for inner in body.ops):
        return "attrs", f"kernel @{attrs['name']} contains another kernel; kernels do not nest"
    try:
        verify(body)
    except VerificationError as e:
        return "attrs", f"the body of kernel @{attrs['name']} is invalid: {e}"
    problem = _check_layout(attrs)
    return None if problem is None else ("attrs", f"kernel @{attrs['name']}: {problem}")


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    return len(shape) <= len(target) and all(
        d == 1 or d == t for d, t in zip(reversed(shape), reversed(target)))


def kernel_loop_problem(op: Op) -> str | None:
    """Why the `scan` op `op` cannot run inside a kernel, each element iterating in registers
    (None: it can). It can when it has no xs and no ys (a `fori_loop`), its carries have the
    loop's shape S (its first result of the greatest rank) or are scalars, every operand
    broadcasts to S, and its body holds only elementwise ops and scalar constants."""
    if op.code is not G.SCAN:
        return f"only a scan loops inside a kernel, not {op.code.value}"
    attrs = op.attrs
    n = attrs.get("num_carries", 0)
    if attrs.get("num_xs", 0) or len(op.outputs) != n:
        return "it slices xs or stacks ys (only a loop over carries runs inside a kernel)"
    shape = op.mapped.type.shape
    if any(v.type.shape not in (shape, ()) for v in op.outputs):
        return ("its carries have different shapes "
                f"({', '.join(str(v.type) for v in op.outputs)}; one shape or scalars)")
    if any(not _broadcasts_to(v.type.shape, shape) for v in op.inputs):
        return "an operand does not broadcast to the loop's shape"
    for inner in attrs["body"].ops:
        if inner.code in ELEMENTWISE or inner.code is G.FULL or (
                inner.code is G.CONSTANT and inner.output.type.size == 1):
            if not _broadcasts_to(inner.output.type.shape, shape):
                return f"its body's {inner.code.value} does not broadcast to the loop's shape"
            continue
        where = f" ({inner.loc.short()})" if inner.loc.line else ""
        return (f"its body holds {inner.code.value}{where}: only elementwise ops and scalar "
                "constants run inside a kernel's loop")
    return None


def check_index_map(index_map: Any, shape: tuple[int, ...], space: tuple[int, ...]) -> str | None:
    """What is wrong with `index_map` for a value of `shape` in a kernel over loops of sizes
    `space`, or None. Each dimension runs along an axis of its size, or is a size-1 dimension
    broadcast (None); no axis twice."""
    if not isinstance(index_map, tuple) or len(index_map) != len(shape):
        return (f"it must name an axis (or 0) for each of the value's {len(shape)} "
                f"dimension(s), got {_show(index_map)}")
    for a, d in zip(index_map, shape):
        if a is None:
            if d != 1:
                return f"a dimension of size {d} must run along an axis (0 fits size 1 only)"
        elif not _is_int(a) or not 0 <= a < len(space):
            return f"axis {a!r} is not one of the kernel's {len(space)} axes"
        elif space[a] != d:
            return f"a dimension of size {d} runs along d{a}, of size {space[a]}"
    named = [a for a in index_map if a is not None]
    for a in named:
        if named.count(a) > 1:
            return f"it names d{a} twice; a value runs along each axis once at most"
    return None


def _check_layout(attrs: Mapping[str, Any]) -> str | None:
    """The kernel's index maps agree with its body (see printer.py for what they mean)."""
    body: Graph = attrs["body"]
    space, reduced, maps, reads = (attrs[k] for k in KERNEL_LAYOUT_ATTRS)
    if not _is_ints(space) or any(n < 0 for n in space):
        return f"attribute 'space' must be a tuple of axis sizes, got {_show(space)}"
    if not _is_ints(reduced) or len(set(reduced)) != len(reduced) \
            or any(not 0 <= a < len(space) for a in reduced):
        return f"attribute 'reduced' must name distinct axes of the kernel, got {_show(reduced)}"
    for name, value in (("maps", maps), ("reads", reads)):
        if not isinstance(value, tuple) or len(value) != len(body.ops):
            return (f"attribute {name!r} must hold one entry (an index map or none) per body "
                    f"op ({len(body.ops)})")
    for i, (op, m, r) in enumerate(zip(body.ops, maps, reads)):
        where = f"op {i} ({op.code.value})"
        if m is None:
            if op.code in ELEMENTWISE or op.code in REDUCE or op.code is G.SCAN:
                return f"{where} is computed in the kernel but has no index map"
            if r is not None:
                return f"{where} has an operand map (reads) but no index map"
            continue
        problem = check_index_map(m, op.mapped.type.shape, space)
        if problem is not None:
            return f"{where}: {problem}"
        if op.code in REGIONS:
            problem = kernel_loop_problem(op)
            if problem is not None:
                return f"{where} cannot run inside a kernel: {problem}"
        if (r is not None) != (op.code in REDUCE):
            return (f"{where}: " + ("a reduction needs its operand's map (reads)" if r is None
                                    else "only a reduction has an operand map (reads)"))
        if r is not None:
            problem = check_index_map(r, op.inputs[0].type.shape, space)
            if problem is not None:
                return f"{where}, its operand: {problem}"
    return None


def _fail(graph: Graph, index: int, op: Op, namer: Namer, message: str) -> VerificationError:
    # print the op with a throwaway copy of the namer, so its outputs get the next numbers
    scratch = Namer()
    scratch.names = dict(namer.names)
    try:
        text = format_op(op, scratch, elide=True)
    except Exception:  # an attribute the printer cannot show: fall back to repr
        scratch.names = dict(namer.names)
        lhs = ", ".join(f"{scratch.define(v)}: {v.type}" for v in op.outputs)
        ins = ", ".join(scratch(v) for v in op.inputs)
        text = f"{lhs} = {getattr(op.code, 'value', op.code)} {ins} {dict(op.attrs)!r}"
    where = "an unknown location" if op.loc == UNKNOWN_LOC else str(op.loc)
    return VerificationError(
        f"invalid IR in @{graph.name}: op {index} ({getattr(op.code, 'value', op.code)}) at "
        f"{where}: {message}\n    {text}"
    )


def verify(graph: Graph) -> Graph:
    """Check every invariant of `graph`; return it unchanged, or raise `VerificationError`."""
    namer = Namer()
    defined: set[Value] = set()
    for i, v in enumerate(graph.inputs):
        if v in defined:
            raise VerificationError(
                f"invalid IR in @{graph.name}: input {i} ({namer(v)}: {v.type}) is listed twice; "
                "a value is defined once (single assignment)"
            )
        defined.add(v)
        namer.define(v)
    for i, op in enumerate(graph.ops):
        for k, v in enumerate(op.inputs):
            if v not in defined:
                raise _fail(graph, i, op, namer, (
                    f"operand {k} ({namer(v)}: {v.type}) is used before it is defined; "
                    "every operand must be a graph input or an earlier op's output (SSA order)"
                ))
        problem = check_op(op)
        if problem is not None:
            raise _fail(graph, i, op, namer, problem[1])
        for v in op.outputs:
            if v in defined:
                raise _fail(graph, i, op, namer, (
                    f"result {namer(v)} is defined twice (already a graph input or an earlier "
                    "op's result); a value is assigned once (single assignment)"
                ))
            defined.add(v)
            namer.define(v)
    for i, v in enumerate(graph.outputs):
        if v not in defined:
            raise VerificationError(
                f"invalid IR in @{graph.name}: output {i} ({namer(v)}: {v.type}) is not defined "
                "in the graph (neither an input nor an op's result)"
            )
    return graph
