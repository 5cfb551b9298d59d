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
`nan`, `-nan`, `inf`, `-0.0`, 17 significant digits), complex numbers as `complex(re, im)`
with both parts so written, tuples `(0, 1)`, dtypes by short name
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

Regions. A control-flow op (`cond`, `while`, `scan`) prints its graph attributes as blocks
indented below its line, in the order of `opcodes.GRAPH_ATTRS`: a `Graph` attribute as a block
of its own name (`cond`, `body`), a tuple of them numbered (`branches`: `branch0`, `branch1`
...); its other attributes stay in braces. Each region names its values from `%0` again (a
region reads only its own parameters), and the kernels a region's ops call print below that
region, at its indentation:

```
  %3: f32[4], %4: i32[] = while %0, %2, %1 {num_carries=2}  # loop.py:7
    cond (%0: f32[4], %1: i32[], %2: f32[4]) -> (bool[]) {
      %3: i32[] = constant {value=dense<5>}
      %4: bool[] = less %1, %3
      return %4
    }
    body (%0: f32[4], %1: i32[], %2: f32[4]) -> (f32[4], i32[]) {
      %3: f32[4] = kernel @k0(%0, %2)
      ...
      return %3, %5
    }
    kernel @k0 elementwise(%0: f32[4], %1: f32[4]) -> (f32[4]) over [d0=4] {
      ...
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
from .opcodes import GRAPH_ATTRS, REGIONS, OpCode
from .types import Literal

# the attributes of a kernel op that say how its body lies over its loops (see the docstring)
KERNEL_LAYOUT_ATTRS = ("space", "reduced", "maps", "reads")

MAX_LIST_LITERAL = 64
LOC_COLUMN = 56
# a tuple-of-graphs attribute prints as numbered blocks: `branches` -> branch0, branch1, ...
REGION_LIST_NAMES = {"branches": "branch"}
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
    if isinstance(x, (complex, np.complexfloating)):
        # both parts exactly, NaN signs and -0.0 included: complex(1.5, -0.0)
        return f"complex({format_float(x.real)}, {format_float(x.imag)})"
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
    if isinstance(value, (bool, int, float, complex, np.generic)):
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


def region_blocks(op: Op) -> list[tuple[str, Graph]]:
    """(block name, graph) of each region of a control-flow op, in printed order."""
    blocks: list[tuple[str, Graph]] = []
    for attr in GRAPH_ATTRS[op.code]:
        value = op.attrs[attr]
        if attr in REGION_LIST_NAMES:
            blocks += [(f"{REGION_LIST_NAMES[attr]}{i}", g) for i, g in enumerate(value)]
        else:
            blocks.append((attr, value))
    return blocks


def format_op(op: Op, namer: Namer, elide: bool = False, suffix: str = "",
              column: int = LOC_COLUMN - 2) -> str:
    """One op line (without indentation); `suffix` goes before the location comment, which
    starts at `column` (less the line's indentation, so comments line up at any depth).
    Graph attributes (a kernel's body, a region) are not on the line: they print as blocks."""
    lhs = ", ".join(f"{namer.define(v)}: {v.type}" for v in op.outputs)
    text = f"{lhs} = {op.code.value}"
    if op.code is OpCode.KERNEL:
        # the body prints below the function, as `kernel @name kind(...) -> (...) { ... }`
        text += f" @{op.attrs['name']}(" + ", ".join(namer(v) for v in op.inputs) + ")"
    elif op.inputs:
        text += " " + ", ".join(namer(v) for v in op.inputs)
    shown = {} if op.code is OpCode.KERNEL else \
        {k: v for k, v in op.attrs.items() if k not in GRAPH_ATTRS.get(op.code, ())}
    if shown:
        text += " {" + ", ".join(f"{k}={format_attr(v, elide)}" for k, v in shown.items()) + "}"
    text += suffix
    if op.loc.line:
        text = text.ljust(column) + f"  # {op.loc.short()}"
    return text


def _map_suffix(index_map: tuple | None, read: tuple | None) -> str:
    if index_map is None:
        return ""
    text = " at " + format_index_map(index_map)
    return text + (" from " + format_index_map(read) if read is not None else "")


def _block(header: str, graph: Graph, elide: bool, kernel: Op | None = None,
           indent: str = "") -> list[str]:
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
    inner = indent + "  "
    lines = [indent + head + " {"]
    for op, suffix in zip(graph.ops, suffixes):
        lines.append(inner + format_op(op, namer, elide, suffix, LOC_COLUMN - len(inner)))
        if op.code in REGIONS:
            for name, region in region_blocks(op):
                lines += _with_kernels(f"{name} ", region, elide, inner + "  ")
    lines.append(inner + "return " + ", ".join(namer(v) for v in graph.outputs))
    lines.append(indent + "}")
    return lines


def _with_kernels(header: str, graph: Graph, elide: bool, indent: str) -> list[str]:
    """A graph's block, then the block of each kernel it calls, in order of the calls (the
    function's kernels after a blank line each; a region's right below it)."""
    lines = _block(header, graph, elide, indent=indent)
    for op in graph.ops:
        if op.code is OpCode.KERNEL:
            kernel_header = f"kernel @{op.attrs['name']} {op.attrs['kind']}"
            lines += ([] if indent else [""]) + _block(kernel_header, op.attrs["body"], elide,
                                                       op, indent)
    return lines


def print_graph(graph: Graph, elide_constants: bool = False) -> str:
    """The function, then the body of each kernel it calls, in order of the calls; regions
    below their ops."""
    return "\n".join(_with_kernels(f"func @{sanitize_name(graph.name)}", graph,
                                   elide_constants, "")) + "\n"
