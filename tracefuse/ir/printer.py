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


class _Namer:
    def __init__(self) -> None:
        self.names: dict[Value, str] = {}

    def define(self, v: Value) -> str:
        name = f"%{len(self.names)}"
        self.names[v] = name
        return name

    def __call__(self, v: Value) -> str:
        # an undefined value still prints (as %?N) so a broken graph can be shown in errors
        return self.names.get(v) or f"%?{id(v) % 10000}"


def format_op(op: Op, namer: _Namer, elide: bool = False) -> str:
    lhs = ", ".join(f"{namer.define(v)}: {v.type}" for v in op.outputs)
    text = f"{lhs} = {op.code.value}"
    if op.code is OpCode.KERNEL:
        # the body prints below the function, as `kernel @name kind(...) -> (...) { ... }`
        text += f" @{op.attrs['name']}(" + ", ".join(namer(v) for v in op.inputs) + ")"
    elif op.inputs:
        text += " " + ", ".join(namer(v) for v in op.inputs)
    if op.attrs and op.code is not OpCode.KERNEL:
        text += " {" + ", ".join(f"{k}={format_attr(v, elide)}" for k, v in op.attrs.items()) + "}"
    if op.loc.line:
        text = text.ljust(LOC_COLUMN - 2) + f"  # {op.loc.short()}"
    return text


def _block(header: str, graph: Graph, elide: bool) -> list[str]:
    namer = _Namer()
    params = ", ".join(f"{namer.define(v)}: {v.type}" for v in graph.inputs)
    results = ", ".join(str(v.type) for v in graph.outputs)
    lines = [f"{header}({params}) -> ({results}) {{"]
    for op in graph.ops:
        lines.append("  " + format_op(op, namer, elide))
    lines.append("  return " + ", ".join(namer(v) for v in graph.outputs))
    lines.append("}")
    return lines


def print_graph(graph: Graph, elide_constants: bool = False) -> str:
    """The function, then the body of each kernel it calls, in order of the calls."""
    lines = _block(f"func @{sanitize_name(graph.name)}", graph, elide_constants)
    for op in graph.ops:
        if op.code is OpCode.KERNEL:
            header = f"kernel @{op.attrs['name']} {op.attrs['kind']}"
            lines += [""] + _block(header, op.attrs["body"], elide_constants)
    return "\n".join(lines) + "\n"
