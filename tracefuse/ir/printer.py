"""The IR's text form: `print_graph(graph)`. `parser.parse_graph` reads the same text back.

```
func @gelu(%0: f32[1024]) -> (f32[1024]) {
  %1: f32[1024] = multiply %0, %0                # gelu.py:5
  %2: f32[] = reduce_sum %1 {axes=(0,), keepdims=false}
  return %2
}
```

Values are numbered at print time: inputs first, then op outputs in order, so the text is
deterministic. Attribute values print as: ints, `true`/`false`, `none`, floats by `repr` (exact:
`nan`, `-nan`, `inf`, `-0.0`, 17 significant digits), tuples `(0, 1)`, dtypes by short name
(`f32`), strings in double quotes, and constants as `dense<[...]>` (a nested list) or, past
`MAX_LIST_LITERAL` elements, `dense<0x...>` (the little-endian bytes in hex). With
`elide_constants=True` large constants print as `dense<elided N elements>` for display; such
text cannot be parsed back.

Kernels. A `kernel` op prints as a call, `%5: f32[4,4] = kernel @k0(%0)`; its body prints below
the function as a block whose header carries the op's other attributes: its `kind`, and its
iteration space (`space`, the size of each loop axis d0, d1, ...; `reduced`, the axes its
reductions run over). Each body op computed in the kernel ends with its index map (`maps`):
`at [d0, 0]` says the value's element (i, 0) is computed in iteration d0 = i (a `0` is a
broadcast size-1 dimension); a reduction adds its operand's map (`reads`), `from [d0, d1]`:

```
kernel @k0 row(%0: f32[4,4]) -> (f32[4,4]) over [d0=4, d1=4] reduced [d1] {
  %1: f32[4,1] = reduce_max %0 {axes=(1,), keepdims=true} at [d0, 0] from [d0, d1]
  %2: f32[4,4] = subtract %0, %1 at [d0, d1]
  return %2
}
```

docs/ir.md gives the whole grammar.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from .dtypes import DType
from .graph import Graph, Op, Value
from .opcodes import OpCode
from .types import Literal

# the attributes of a kernel op that say how its body lies over its loops (see the docstring)
KERNEL_LAYOUT_ATTRS = ("space", "reduced", "maps", "reads")

MAX_LIST_LITERAL = 64
LOC_COLUMN = 56
_NAME_RE = re.compile(r"[^A-Za-z0-9_.]")


def format_float(x: float) -> str:
    """A float written so that parsing it back gives the same bits (`nan`, `inf`, `-0.0`)."""
    x = float(x)
    if math.isnan(x):
        # keep the sign bit: signbit/copysign of a folded constant must survive a round trip
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return repr(x)


def format_scalar(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return format_float(x)


def format_literal(lit: Literal, elide: bool = False) -> str:
    arr = lit.array
    if arr.size > MAX_LIST_LITERAL:
        if elide:
            return f"dense<elided {arr.size} elements>"
        return "dense<0x" + arr.astype(arr.dtype.newbyteorder("<")).tobytes().hex() + ">"

    def nested(a: np.ndarray) -> str:
        if a.ndim == 0:
            return format_scalar(a.item())
        return "[" + ", ".join(nested(sub) for sub in a) + "]"

    return f"dense<{nested(arr)}>"


def format_attr(value: Any, elide: bool = False) -> str:
    if value is None:
        return "none"
    if isinstance(value, (bool, int, float, np.generic)):
        return format_scalar(value)
    if isinstance(value, DType):
        return value.short
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        items = [format_attr(v, elide) for v in value]
        return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if isinstance(value, Literal):
        return format_literal(value, elide)
    raise TypeError(f"cannot print attribute value {value!r} of type {type(value).__name__}")


def sanitize_name(name: str) -> str:
    """A function name safe to print after `@` (and to use in generated code)."""
    cleaned = _NAME_RE.sub("_", name) or "main"
    return cleaned if not cleaned[0].isdigit() else "_" + cleaned


class Namer:
    """Names values `%0`, `%1`, ... in the order they are defined."""

    def __init__(self) -> None:
        self.names: dict[Value, str] = {}

    def define(self, v: Value) -> str:
        name = f"%{len(self.names)}"
        self.names[v] = name
        return name

    def __call__(self, v: Value) -> str:
        # an undefined value still prints (as %?N) so a broken graph can be shown in errors
        return self.names.get(v) or f"%?{id(v) % 10000}"


def axis_name(axis: int | None) -> str:
    """An iteration axis as written in index maps: `d3`; a broadcast dimension (None) is `0`."""
    return "0" if axis is None else f"d{axis}"


def format_index_map(index_map: tuple) -> str:
    return "[" + ", ".join(axis_name(a) for a in index_map) + "]"


def format_op(op: Op, namer: Namer, elide: bool = False, suffix: str = "") -> str:
    """One op line (without indentation); `suffix` goes before the location comment."""
    lhs = ", ".join(f"{namer.define(v)}: {v.type}" for v in op.outputs)
    text = f"{lhs} = {op.code.value}"
    if op.code is OpCode.KERNEL:
        # the body prints below the function, as `kernel @name kind(...) -> (...) { ... }`
        text += f" @{op.attrs['name']}(" + ", ".join(namer(v) for v in op.inputs) + ")"
    elif op.inputs:
        text += " " + ", ".join(namer(v) for v in op.inputs)
    if op.attrs and op.code is not OpCode.KERNEL:
        text += " {" + ", ".join(f"{k}={format_attr(v, elide)}" for k, v in op.attrs.items()) + "}"
    text += suffix
    if op.loc.line:
        text = text.ljust(LOC_COLUMN - 2) + f"  # {op.loc.short()}"
    return text


def _map_suffix(index_map: tuple | None, read: tuple | None) -> str:
    if index_map is None:
        return ""
    text = " at " + format_index_map(index_map)
    return text + (" from " + format_index_map(read) if read is not None else "")


def _block(header: str, graph: Graph, elide: bool, kernel: Op | None = None) -> list[str]:
    namer = Namer()
    params = ", ".join(f"{namer.define(v)}: {v.type}" for v in graph.inputs)
    results = ", ".join(str(v.type) for v in graph.outputs)
    head = f"{header}({params}) -> ({results})"
    suffixes = [""] * len(graph.ops)
    if kernel is not None and all(k in kernel.attrs for k in KERNEL_LAYOUT_ATTRS):
        attrs = kernel.attrs
        head += " over [" + ", ".join(f"d{a}={n}" for a, n in enumerate(attrs["space"])) + "]"
        if attrs["reduced"]:
            head += " reduced [" + ", ".join(axis_name(a) for a in attrs["reduced"]) + "]"
        suffixes = [_map_suffix(m, r) for m, r in zip(attrs["maps"], attrs["reads"])]
    lines = [head + " {"]
    for op, suffix in zip(graph.ops, suffixes):
        lines.append("  " + format_op(op, namer, elide, suffix))
    lines.append("  return " + ", ".join(namer(v) for v in graph.outputs))
    lines.append("}")
    return lines


def print_graph(graph: Graph, elide_constants: bool = False) -> str:
    """The function, then the body of each kernel it calls, in order of the calls."""
    lines = _block(f"func @{sanitize_name(graph.name)}", graph, elide_constants)
    for op in graph.ops:
        if op.code is OpCode.KERNEL:
            header = f"kernel @{op.attrs['name']} {op.attrs['kind']}"
            lines += [""] + _block(header, op.attrs["body"], elide_constants, op)
    return "\n".join(lines) + "\n"
