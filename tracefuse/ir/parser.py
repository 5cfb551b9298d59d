"""`parse_graph(text)`: the IR text that `printer.print_graph` writes, read back into a `Graph`.

A small hand-written parser: each line is split into tokens by one regular expression, and a
recursive descent over the tokens builds the ops. Every construct sits on one line:

```
func @name(%a: f32[3,4], %b: f64[]{weak}) -> (f32[3,4]) {
  %c: f32[3,4] = multiply %a, %b {k=v, ...}      # model.py:12
  return %c
}
```

A kernel block also gives the kernel op's iteration space and its body ops' index maps
(`over [...] reduced [...]`, `at [...] from [...]`: the example in printer.py, the grammar in
docs/ir.md).

A control-flow op (`cond`, `while`, `scan`) is followed by its regions, one block each
(`branch0 (%0: f32[4]) -> (f32[4]) {` ... `}`, `cond`, `body`: printer.py), each block
followed by the kernel blocks its own ops call. A region is parsed as a graph of its own: its
value and kernel names are local to it. Indentation is not significant.

Value names are any `%name` tokens; they are only looked up, never renumbered. Nothing is
inferred silently: each op gets its outputs typed as written, and the written type must equal
what `rules.infer_type` computes (the verifier's `check_op` runs on each op as it is read).
A `dense<...>` literal takes its dtype and shape from the op's written result type; a complex
element or attribute is written `complex(re, im)`. Every
problem raises `IRParseError` naming the line, the column, the offending text and what to do.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import UNKNOWN_LOC, IRParseError, Loc
from . import dtypes as dt
from .graph import Attrs, Graph, Op, Value, mapped_index
from .opcodes import BY_NAME, GRAPH_ATTRS, REDUCE, REGIONS, OpCode
from .printer import REGION_LIST_NAMES
from .types import Literal, TensorType
from .verifier import check_index_map, check_op

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#.*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<dense>dense<[^>]*>)
  | (?P<value>%[A-Za-z0-9_.?$]+)
  | (?P<symbol>@[A-Za-z0-9_.]+)
  | (?P<number>[-+]?(?:inf|nan|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
        (?![A-Za-z0-9_.]))
  | (?P<hex>0x[0-9a-fA-F]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>->|[()\[\]{},:=])
""", re.VERBOSE)
_INT_RE = re.compile(r"[-+]?\d+")
_LOC_RE = re.compile(r"#\s*(.+):(\d+)\s*")
_DTYPE_NAMES = {d.short: d for d in dt.ALL_DTYPES}
_WORDS = {"true": True, "false": False, "none": None}
_TYPE_HINT = "write a type like f32[3,4], i64[] or f64[]{weak}"
_AXIS_RE = re.compile(r"d(0|[1-9][0-9]*)")
_SPACE_HINT = ("after the result types a kernel names its loops and their sizes: "
               "`over [d0=4, d1=8]`, then `reduced [d1]` if it reduces, then `{`")
_MAP_HINT = ("an index map names, for each dimension of the value, the loop it runs along "
             "(d0, d1, ...) or 0 for a broadcast size-1 dimension: at [d0, 0]")
_CHECK_HINTS = {
    "type": "write the type the op computes, or fix its operands and attributes",
    "attrs": "give the op the attributes it needs, with values of the right kind",
    "operands": "give the op the number of operands it takes",
}


class _Line:
    """The tokens of one line (kind, text, column), with a cursor and error reporting."""

    def __init__(self, lineno: int, text: str, col_offset: int = 0, tokenize: str | None = None):
        self.lineno, self.text = lineno, text
        self.tokens: list[tuple[str, str, int]] = []
        self.comment: tuple[str, int] | None = None
        self.pos = 0
        source = text if tokenize is None else tokenize
        i = 0
        while i < len(source):
            m = _TOKEN_RE.match(source, i)
            if m is None:
                raise self.error(col_offset + i + 1, f"unexpected character {source[i]!r}",
                                 "remove it; see printer.py for the IR text format")
            kind, col = m.lastgroup, col_offset + i + 1
            if kind == "comment":
                self.comment = (m.group(), col)
            elif kind != "ws":
                self.tokens.append((kind, m.group(), col))
            i = m.end()

    def error(self, col: int, message: str, hint: str) -> IRParseError:
        caret = " " * (col - 1) + "^"
        return IRParseError(f"line {self.lineno}, column {col}: {message}\n"
                            f"    {self.text}\n    {caret}\n{hint}")

    def peek(self) -> tuple[str, str, int]:
        if self.pos < len(self.tokens):
            return self.tokens[self.pos]
        end_col = self.comment[1] if self.comment else len(self.text.rstrip()) + 1
        return ("end", "end of line", end_col)

    def at(self, text: str) -> bool:
        kind, tok, _ = self.peek()
        return tok == text and kind in ("punct", "word")

    def next(self, kind: str | None = None, text: str | None = None,
             what: str = "", hint: str = "") -> tuple[str, str, int]:
        tok = self.peek()
        if (kind is not None and tok[0] != kind) or (text is not None and tok[1] != text):
            want = what or (f"`{text}`" if text else kind)
            raise self.error(tok[2], f"expected {want}, found `{tok[1]}`",
                             hint or "see printer.py for the IR text format")
        self.pos += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.pos += 1
            return True
        return False

    def end(self) -> None:
        self.next("end", what="the end of the line",
                  hint="remove the extra text, or start a comment with #")


def _items(line: _Line, close: str, item: Callable[[], Any]) -> list[Any]:
    """`item, item, ...` up to and past `close` (the opener is already read)."""
    items = []
    while not line.accept(close):
        items.append(item())
        if not line.at(close):
            line.next("punct", ",", what=f"`,` or `{close}`")
    return items


def _dim(line: _Line) -> int:
    _, dim, col = line.next("number", what="a dimension", hint=_TYPE_HINT)
    if not dim.isdigit():
        raise line.error(col, f"bad dimension `{dim}`", "a dimension is an int >= 0")
    return int(dim)


def _number(text: str) -> int | float:
    return int(text) if _INT_RE.fullmatch(text) else float(text)


def _complex(line: "_Line") -> complex:
    """The rest of `complex(re, im)` after the word `complex`: both parts as floats."""
    line.next("punct", "(", what="`(` after complex")
    parts = []
    for close in (",", ")"):
        _, text, col = line.next("number", what="a number", hint="write complex(1.5, -2.0)")
        parts.append(float(text))
        line.next("punct", close, what=f"`{close}`", hint="write complex(1.5, -2.0)")
    return complex(*parts)


def parse_graph(text: str) -> Graph:
    """The `Graph` that `text` (as `print_graph` writes it) describes; `IRParseError` if bad."""
    rows = [_Line(i + 1, line) for i, line in enumerate(text.splitlines())
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise IRParseError("line 1, column 1: no IR found\n"
                           "write `func @name(%0: f32[3]) -> (f32[3]) {`, ops, `return`, `}`")
    return _Parser(rows).parse()


def _region_hint(code: OpCode) -> str:
    names = [f"{REGION_LIST_NAMES[a]}0, {REGION_LIST_NAMES[a]}1, ..." if a in REGION_LIST_NAMES
             else a for a in GRAPH_ATTRS[code]]
    return (f"a {code.value} op is followed by its regions ({', then '.join(names)}), each a "
            "block `name (%0: f32[4], ...) -> (f32[4], ...) {` ... `return ...` `}`")


class _Parser:
    def __init__(self, rows: list[_Line], scope: str = "func"):
        self.rows = rows
        self.scope = scope  # what the values are local to, for error messages
        self.values: dict[str, Value] = {}
        self.kernel_calls: dict[Op, tuple[_Line, int]] = {}
        self.space: tuple[int, ...] | None = None  # in a kernel block: its loops' sizes
        self.index_maps: dict[Op, tuple[tuple | None, tuple | None]] = {}  # op -> (at, from)

    def parse(self) -> Graph:
        graph, index = self.parse_with_kernels(0, "func")
        if index < len(self.rows):
            line = self.rows[index]
            raise line.error(line.peek()[2], "text after the end of the function",
                             "after the func only `kernel @name kind(...) -> (...) "
                             "over [...] {` blocks may follow; remove this line or comment "
                             "it out")
        return graph

    def parse_with_kernels(self, start: int, keyword: str) -> tuple[Graph, int]:
        """A `func` block or a region block from row `start`, then the kernel blocks that
        follow it (the kernels its ops call): (the graph with its kernels attached, next row)."""
        graph, _, index = self.parse_block(start, keyword)
        kernels: dict[str, tuple[Graph, dict[str, Any], _Line]] = {}
        while index < len(self.rows) and self.rows[index].at("kernel"):
            line = self.rows[index]
            body, attrs, index = _Parser(self.rows, "kernel").parse_block(index, "kernel")
            if body.name in kernels:
                raise line.error(line.tokens[1][2], f"kernel @{body.name} is defined twice",
                                 "give each kernel its own name")
            kernels[body.name] = (body, attrs, line)
        return self.resolve(graph, kernels), index

    def parse_block(self, start: int, keyword: str) -> tuple[Graph, dict[str, Any], int]:
        """A `func`, `kernel` or region (`body`, `branch0` ...) block from row `start`:
        (graph, the kernel op's attributes written in the block, next row)."""
        header = self.rows[start]
        region = keyword not in ("func", "kernel")
        form = {"func": "`func @name(...) -> (...) {`",
                "kernel": "`kernel @name kind(...) -> (...) over [...] {`"}.get(
                    keyword, f"`{keyword} (...) -> (...) {{`")
        header.next("word", keyword, what=form)
        if region:
            name = keyword
        else:
            name = header.next("symbol", what=f"a {keyword} name like @main")[1][1:]
        attrs: dict[str, Any] = {}
        if keyword == "kernel":
            attrs["kind"] = header.next("word", what="a kernel kind like elementwise")[1]
        header.next("punct", "(")
        inputs = _items(header, ")", lambda: self.param(header))
        header.next("punct", "->")
        header.next("punct", "(")
        result_types = _items(header, ")", lambda: self.parse_type(header))
        if keyword == "kernel":
            attrs.update(self.parse_space(header))
        header.next("punct", "{")
        header.end()
        ops: list[Op] = []
        i = start + 1
        while i < len(self.rows):
            line = self.rows[i]
            if line.at("return"):
                outputs = self.parse_return(line, result_types)
                self.close(i + 1)
                if keyword == "kernel":
                    attrs["maps"] = tuple(self.index_maps.get(op, (None, None))[0] for op in ops)
                    attrs["reads"] = tuple(self.index_maps.get(op, (None, None))[1] for op in ops)
                return Graph(tuple(inputs), tuple(ops), outputs, name=name), attrs, i + 2
            if line.at("}"):
                raise line.error(line.peek()[2], f"the {keyword} ends without `return`",
                                 "add `return %v, ...` before the closing `}`")
            op, i = self.parse_op(i)
            ops.append(op)
        last = self.rows[-1]
        raise last.error(len(last.text) + 1, "unexpected end of text",
                         f"end the {keyword} with `return %v, ...` and `}}`")

    def close(self, index: int) -> None:
        if index >= len(self.rows):
            last = self.rows[-1]
            raise last.error(len(last.text) + 1, "missing `}`", "close the function with `}`")
        line = self.rows[index]
        line.next("punct", "}", hint="nothing may follow `return` but the closing `}`")
        line.end()

    def parse_space(self, line: _Line) -> dict[str, Any]:
        """`over [d0=4, d1=8]` and, if the kernel reduces, `reduced [d1]`."""
        line.next("word", "over", what="`over [d0=..., ...]`", hint=_SPACE_HINT)
        line.next("punct", "[", hint=_SPACE_HINT)
        sizes: list[int] = []

        def axis_size() -> None:
            _, text, col = line.next("word", what=f"the axis d{len(sizes)}", hint=_SPACE_HINT)
            if text != f"d{len(sizes)}":
                raise line.error(col, f"expected the axis d{len(sizes)}, found `{text}`",
                                 "name the loops d0, d1, ... in order")
            line.next("punct", "=", hint=_SPACE_HINT)
            sizes.append(_dim(line))

        _items(line, "]", axis_size)
        self.space = tuple(sizes)
        reduced: list[int] = []
        if line.accept("reduced"):
            col = line.next("punct", "[", hint=_SPACE_HINT)[2]
            reduced = _items(line, "]", lambda: self.parse_axis(line, allow_zero=False))
            if len(set(reduced)) != len(reduced):
                raise line.error(col, "an axis is listed twice in `reduced`", "list it once")
        return {"space": self.space, "reduced": tuple(reduced)}

    def parse_axis(self, line: _Line, allow_zero: bool = True) -> int | None:
        """`d3` (an axis of this kernel), or `0` (a broadcast dimension) where `allow_zero`."""
        kind, text, col = line.next(what="an axis like d0" + (" or 0" if allow_zero else ""),
                                    hint=_MAP_HINT)
        if allow_zero and kind == "number" and text == "0":
            return None
        m = _AXIS_RE.fullmatch(text) if kind == "word" else None
        if m is None:
            raise line.error(col, f"`{text}` is not an axis", _MAP_HINT)
        axis = int(m.group(1))
        assert self.space is not None
        if axis >= len(self.space):
            raise line.error(col, f"the kernel has no axis {text} (its loops: "
                             f"{', '.join(f'd{a}' for a in range(len(self.space))) or 'none'})",
                             "add it to the kernel's `over [...]`, or use one of those")
        return axis

    def parse_index_maps(self, line: _Line, op_inputs: list[Value], result: TensorType,
                         code: OpCode) -> tuple[tuple | None, tuple | None]:
        """An op's optional `at [...]` and, for a reduction, `from [...]`, in a kernel block."""
        if not line.at("at"):
            return None, None
        if self.space is None:
            raise line.error(line.peek()[2], "an index map outside a kernel",
                             "only the ops of a kernel block carry `at [...]`; remove it")
        line.next()
        index_map = self.parse_index_map(line, result.shape, "the result")
        if line.at("from") != (code in REDUCE):
            raise line.error(line.peek()[2], f"{code.value} " + (
                "needs its operand's index map too: `at [...] from [...]`" if code in REDUCE
                else "takes no `from [...]`: only a reduction gives its operand's map"), _MAP_HINT)
        if not line.accept("from"):
            return index_map, None
        return index_map, self.parse_index_map(line, op_inputs[0].type.shape, "the operand")

    def parse_index_map(self, line: _Line, shape: tuple[int, ...], what: str) -> tuple:
        col = line.next("punct", "[", hint=_MAP_HINT)[2]
        index_map = tuple(_items(line, "]", lambda: self.parse_axis(line)))
        assert self.space is not None
        problem = check_index_map(index_map, shape, self.space)
        if problem is not None:
            raise line.error(col, f"index map of {what}: {problem}", _MAP_HINT)
        return index_map

    def resolve(self, graph: Graph, kernels: dict[str, tuple[Graph, dict, "_Line"]]) -> Graph:
        """Give each `kernel @name(...)` op the body of the kernel block of that name."""
        ops, used = [], set()
        for op in graph.ops:
            if op.code is OpCode.KERNEL:
                name = op.attrs["name"]
                line, col = self.kernel_calls[op]
                if name not in kernels:
                    raise line.error(col, f"kernel @{name} is called but not defined",
                                     f"add a `kernel @{name} kind(...) -> (...) over [...] {{` "
                                     "block after the function")
                body, attrs, _ = kernels[name]
                used.add(name)
                op = op.replace(attrs=Attrs(attrs, body=body, name=name))
                problem = check_op(op)
                if problem is not None:
                    raise line.error(col, problem[1], _CHECK_HINTS.get(problem[0], "fix the op"))
            ops.append(op)
        for name, (_, _, line) in kernels.items():
            if name not in used:
                raise line.error(line.tokens[1][2], f"kernel @{name} is defined but never called",
                                 "remove the block or call it from the function")
        return graph.replace(ops=tuple(ops))

    # --- values and types

    def param(self, line: _Line) -> Value:
        (_, name, _), type_ = self.parse_typed_name(line, ())
        value = self.values[name] = Value(type_)
        return value

    def use(self, line: _Line) -> Value:
        _, name, col = line.next("value", what="a value like %0")
        if name not in self.values:
            local = ("" if self.scope == "func" else
                     f" (names are local to each {self.scope}: it reads only its parameters)")
            raise line.error(col, f"undefined value {name}",
                             f"define {name} before this line, as a parameter of the "
                             f"{self.scope} or as the result of an earlier op{local}")
        return self.values[name]

    def parse_typed_name(self, line: _Line, pending: Any) -> tuple[Any, TensorType]:
        """`%name: type`, where %name is new: neither defined yet nor among `pending`."""
        value_tok = _, name, col = line.next("value", what="a value like %0")
        if name in self.values or name in pending:
            raise line.error(col, f"{name} is defined twice",
                             "give each value its own name (single assignment)")
        line.next("punct", ":", hint=f"write the value's type after a colon: {name}: f32[3]")
        return value_tok, self.parse_type(line)

    def parse_type(self, line: _Line) -> TensorType:
        _, short, col = line.next("word", what="a type", hint=_TYPE_HINT)
        if short not in _DTYPE_NAMES:
            raise line.error(col, f"unknown dtype `{short}`",
                             "use one of " + ", ".join(_DTYPE_NAMES))
        line.next("punct", "[", hint=_TYPE_HINT)
        shape = _items(line, "]", lambda: _dim(line))
        weak = False
        if line.accept("{"):
            line.next("word", "weak", hint="the only type flag is {weak}")
            line.next("punct", "}")
            weak = True
        return TensorType(tuple(shape), _DTYPE_NAMES[short], weak)

    # --- ops

    def parse_op(self, row: int) -> tuple[Op, int]:
        """The op on row `row` (with its regions, for a control-flow op), and the next row."""
        line = self.rows[row]
        lhs = [self.parse_typed_name(line, ())]
        while line.accept(","):
            lhs.append(self.parse_typed_name(line, {tok[1] for tok, _ in lhs}))
        line.next("punct", "=", what="`=` or `,`")
        _, opname, op_col = line.next("word", what="an op name")
        if opname not in BY_NAME:
            close = ([n for n in BY_NAME if opname in n][:3]
                     or difflib.get_close_matches(opname, BY_NAME, n=3, cutoff=0.7))
            raise line.error(op_col, f"unknown op `{opname}`",
                             ("did you mean " + " or ".join(close) + "?") if close
                             else "see OpCode in tracefuse/ir/opcodes.py for the op names")
        if BY_NAME[opname] is OpCode.KERNEL:
            return self.parse_kernel_call(line, lhs, op_col), row + 1
        inputs = []
        if line.peek()[0] == "value":
            inputs.append(self.use(line))
            while line.accept(","):
                inputs.append(self.use(line))
        attrs_col = line.peek()[2]
        attrs: dict[str, Any] = {}
        if line.accept("{"):
            _items(line, "}", lambda: self.parse_attr_item(line, attrs, lhs[0][1]))
        mapped = lhs[mapped_index([t for _, t in lhs])][1]  # what `at [...]` describes
        index_maps = self.parse_index_maps(line, inputs, mapped, BY_NAME[opname])
        loc = self.parse_loc(line)
        line.end()
        row += 1
        if BY_NAME[opname] in REGIONS:
            regions, row = self.parse_regions(BY_NAME[opname], row, line)
            attrs.update(regions)
        outputs = tuple(Value(t) for _, t in lhs)
        op = Op(BY_NAME[opname], tuple(inputs), Attrs(attrs), outputs, loc)
        if index_maps[0] is not None:
            self.index_maps[op] = index_maps
        problem = check_op(op)
        if problem is not None:
            part, message = problem
            lhs_col = lhs[0][0][2]
            col = {"attrs": attrs_col, "type": lhs_col, "outputs": lhs_col}.get(part, op_col)
            raise line.error(col, message, _CHECK_HINTS.get(part, "fix the op"))
        for (value_tok, _), value in zip(lhs, outputs):
            self.values[value_tok[1]] = value
        return op, row

    def parse_regions(self, code: OpCode, row: int, op_line: _Line) -> tuple[dict[str, Any], int]:
        """The region blocks (and their kernels) below a control-flow op from row `row`: (its
        graph attributes, the next row)."""
        attrs: dict[str, Any] = {}
        for attr in GRAPH_ATTRS[code]:
            prefix = REGION_LIST_NAMES.get(attr)
            names = (f"{prefix}{i}" for i in range(len(self.rows))) if prefix else iter([attr])
            graphs = []
            for name in names:
                if row < len(self.rows) and self.rows[row].at(name):
                    graph, row = _Parser(self.rows, "region").parse_with_kernels(row, name)
                    graphs.append(graph)
                    continue
                if not graphs:
                    line = self.rows[row] if row < len(self.rows) else op_line
                    col = line.peek()[2] if line is not op_line else len(line.text) + 1
                    raise line.error(col, f"expected the `{name}` region of the "
                                     f"{code.value} op on line {op_line.lineno}",
                                     _region_hint(code))
                break
            attrs[attr] = tuple(graphs) if prefix else graphs[0]
        return attrs, row

    def parse_kernel_call(self, line: _Line, lhs: list, op_col: int) -> Op:
        """`%r: t, ... = kernel @name(%a, %b)`; the body is attached by `resolve`."""
        _, symbol, col = line.next("symbol", what="a kernel name like @k0")
        line.next("punct", "(")
        inputs = _items(line, ")", lambda: self.use(line))
        loc = self.parse_loc(line)
        line.end()
        outputs = tuple(Value(t) for _, t in lhs)
        op = Op(OpCode.KERNEL, tuple(inputs), Attrs(name=symbol[1:]), outputs, loc)
        self.kernel_calls[op] = (line, col)
        for (value_tok, _), value in zip(lhs, outputs):
            self.values[value_tok[1]] = value
        return op

    def parse_loc(self, line: _Line) -> Loc:
        if line.comment is None:
            return UNKNOWN_LOC
        text, col = line.comment
        m = _LOC_RE.fullmatch(text)
        if m is None:
            raise line.error(col, f"`{text}` is not a source location",
                             "a comment after an op names its source line: # model.py:12")
        return Loc(m.group(1), int(m.group(2)))

    def parse_return(self, line: _Line, result_types: list[TensorType]) -> tuple[Value, ...]:
        _, _, col = line.next("word", "return")
        uses: list[tuple[int, Value]] = []
        while line.peek()[0] != "end":
            if uses:
                line.next("punct", ",", what="`,` or the end of the line")
            uses.append((line.peek()[2], self.use(line)))
        if len(uses) != len(result_types):
            raise line.error(col, f"returns {len(uses)} value(s), the func header declares "
                             f"{len(result_types)}", "make `return` and `-> (...)` agree")
        for (col, value), declared in zip(uses, result_types):
            if value.type != declared:
                raise line.error(col, f"returns a {value.type}, the func header declares "
                                 f"{declared}", "make `return` and `-> (...)` agree")
        return tuple(value for _, value in uses)

    # --- attribute values

    def parse_attr_item(self, line: _Line, attrs: dict[str, Any], result: TensorType) -> None:
        _, key, col = line.next("word", what="an attribute name")
        if key in attrs:
            raise line.error(col, f"attribute {key} is given twice", "give it once")
        line.next("punct", "=")
        attrs[key] = self.parse_attr(line, result)

    def parse_attr(self, line: _Line, result: TensorType) -> Any:
        kind, text, col = line.peek()
        if line.accept("("):
            items = _items(line, ")", lambda: self.parse_attr(line, result))
            if len(items) == 1 and line.tokens[line.pos - 2][1] != ",":
                raise line.error(col, "a one-element tuple needs a trailing comma", "write (x,)")
            return tuple(items)
        line.pos += 1
        if kind == "number":
            return _number(text)
        if kind == "string":
            return json.loads(text)
        if kind == "dense":
            return self.parse_dense(line, text, col, result)
        if kind == "word" and text in _WORDS:
            return _WORDS[text]
        if kind == "word" and text == "complex":
            return _complex(line)
        if kind == "word" and text in _DTYPE_NAMES:
            return _DTYPE_NAMES[text]
        raise line.error(col, f"`{text}` is not an attribute value",
                         "write an int, a float, true/false/none, a dtype like f32, a \"string\", "
                         "a tuple (1, 2) or a dense<...> literal")

    def parse_dense(self, line: _Line, text: str, col: int, result: TensorType) -> Literal:
        body = text[len("dense<"):-1]
        dtype = result.dtype.np
        if body.strip().startswith("elided"):
            raise line.error(col, f"the constant `{text}` was elided when printed",
                             "print the graph with elide_constants=False to parse it back")
        if body.strip().startswith("0x"):
            try:
                raw = bytes.fromhex(body.strip()[2:])
            except ValueError:
                raise line.error(col, f"bad hex literal `{text}`", "write an even number "
                                 "of hex digits: the little-endian bytes of the array") from None
            if len(raw) != result.size * dtype.itemsize:
                raise line.error(col, f"the hex literal holds {len(raw)} bytes, the result "
                                 f"type {result} needs {result.size * dtype.itemsize}",
                                 "make the literal and the result type agree")
            arr = np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype).reshape(result.shape)
            return Literal(arr)
        inner = _Line(line.lineno, line.text, col - 1 + len("dense<"), tokenize=body)
        nested = self.parse_nested(inner, result.dtype)
        inner.end()
        try:
            arr = np.array(nested, dtype=dtype)
        except (ValueError, OverflowError) as e:
            raise line.error(col, f"bad constant `{text}` for {result}: {e}",
                             "write a rectangular nested list of values that fit the dtype")
        if arr.shape != result.shape and not (arr.size == 0 == result.size):
            raise line.error(col, f"the constant has shape {arr.shape}, the result type {result} "
                             f"says {result.shape}", "make the literal and the result type agree")
        return Literal(arr.reshape(result.shape))

    def parse_nested(self, line: _Line, dtype: dt.DType) -> Any:
        if line.accept("["):
            return _items(line, "]", lambda: self.parse_nested(line, dtype))
        kind, text, col = line.next(what="a number, true or false")
        if kind == "word" and text in ("true", "false"):
            value: Any = text == "true"
        elif kind == "number":
            value = _number(text)
        elif kind == "word" and text == "complex":
            value = _complex(line)
        else:
            raise line.error(col, f"`{text}` is not an element value",
                             "write a number, true or false")
        ok = (isinstance(value, bool) if dtype.is_bool
              else isinstance(value, int) and not isinstance(value, bool) if dtype.is_integer
              else isinstance(value, complex) if dtype.is_complex
              else not isinstance(value, (bool, complex)))
        if not ok:
            raise line.error(col, f"`{text}` is not a {dtype.name} element",
                             "write true/false for bool, ints for integer, numbers for float "
                             "and complex(re, im) for complex dtypes")
        return value
