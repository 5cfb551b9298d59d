"""The one walk over a `LoopKernel` that every target shares; targets supply tables.

`Renderer.render(kernel, parallel)` emits, in order: the signature, the outer (non-reduced)
loops, then for each reduction level a pass over the reduced axes that accumulates that
level's reductions, and last the results, written either at the outer depth or (for a row
kernel's results that vary along the reduced axes) in one more pass over the reduced axes.
Values used in several passes are recomputed from the inputs in each (they are cheap next to a
round trip through memory), except one on targets that set `cache_row_values` (Numba): a value
with a transcendental function in it (softmax's `exp`) that the last reduction pass computes and
the result pass needs again is stored into the result's own row in that pass and read back in
the result pass (`row_cache`), which costs no extra memory and halves a softmax's `exp` work
(measured in docs/performance.md).

Float sums accumulate in blocks of `BLOCK` elements in the value's dtype (a vectorizable inner
loop) and add the blocks in a wider accumulator, which keeps a float32 sum of 50M elements
within 1e-7 of the exact result.

The code of each op comes from the target's op table `ops` (NUMBA_OPS, CUDA_OPS: a dict with an
entry for every OpCode, checked by tests/ir/test_tables.py). An entry is one of

- a format template over the operands, `"({0} + {1})"`;
- a function `(renderer, operands, operand_dtype, result_dtype) -> str`, where the code depends
  on the dtypes or needs the target's helpers (`literal`, `cast`, `maxmin`, imports);
- `Unsupported(reason)` for an op that never reaches a kernel's body (a source or a view, which
  lowering turns into constants and index maps; matmul, concat, argmax, which the execution plan
  runs as library calls); rendering one raises an error that quotes the reason.

An elementwise loop (a `loop` node, loops.py) is written where its value is needed, like any
node: its carries as variables, then a serial loop over its body's nodes (`render_loop`).

Before the entry runs, the walk converts the operands as NumPy does, the same on every target
(`CONVERSIONS`: to the promoted dtype by default); the entry gets the converted operand texts.
A reduction's entry is its combine step, `acc = entry(acc, value)` with both operands and the
result in the accumulator's dtype; its starting value is `IDENTITY`'s, shared by the targets.
`COMMON_OPS` holds the entries every target spells with its own hooks (`cast`, `select`,
`maxmin`) and the `Unsupported` ones; a target's table starts from it.

A target subclass provides: `ops` and `target` (its name, for errors), `type_name`, `literal`,
`cast`, `convert`, `select`, `maxmin`, and the statement syntax (`begin_function`,
`begin_loop`, `end_block`, `declare`, `update`, `store`, `load`). The places where targets map
the iteration space onto their hardware differently are methods too: `open_outer` (Numba:
nested loops, the first one `prange`; CUDA: a grid-stride loop or one block per row),
`reduced_loops` (Numba: blocked loops; CUDA: the block's threads striding over the reduced
space), `finish_reductions` (CUDA: combine the threads' partial results), and
`begin_flat_stores` / `begin_row_pass`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import ClassVar

import numpy as np

from ..ir import OpCode
from ..ir import dtypes as dt
from ..ir.dtypes import DType
from ..ir.opcodes import Unsupported
from .loops import LoopKernel, Node

G = OpCode
# the comparison that holds with the operands swapped
MIRROR = {G.LESS: G.GREATER, G.GREATER: G.LESS, G.LESS_EQUAL: G.GREATER_EQUAL,
          G.GREATER_EQUAL: G.LESS_EQUAL, G.EQUAL: G.EQUAL, G.NOT_EQUAL: G.NOT_EQUAL}
COMPARE = {G.LESS: "<", G.GREATER: ">", G.LESS_EQUAL: "<=", G.GREATER_EQUAL: ">=",
           G.EQUAL: "==", G.NOT_EQUAL: "!="}
# ops computed in their (float) result dtype whatever the operands' dtypes
FLOAT_RESULT = frozenset({
    G.SQRT, G.RECIPROCAL, G.EXP, G.EXPM1, G.LOG, G.LOG1P, G.LOG2, G.LOG10, G.SIN, G.COS, G.TAN,
    G.ASIN, G.ACOS, G.ATAN, G.SINH, G.COSH, G.TANH, G.ASINH, G.ACOSH, G.ATANH, G.ERF, G.ERFC,
    G.DIVIDE, G.ATAN2, G.HYPOT, G.LOGADDEXP, G.COPYSIGN, G.NEXTAFTER,
})
BLOCK = 1024  # elements per inner accumulation block

# an op table's entry: a template over the operands, a function, or an explicit Unsupported
OpEntry = str | Callable[["Renderer", list, DType, DType], str] | Unsupported


# --- operand conversion: which dtype each operand converts to, and the operand dtype the entry
# --- gets (the same on every target: NumPy's rules) ----------------------------------------------
def _promoted(n: Node) -> tuple[DType, tuple[DType, ...]]:
    """Every operand to the promoted dtype (the default)."""
    return n.operand_dtype, (n.operand_dtype,) * len(n.args)


def _in_result_dtype(n: Node) -> tuple[DType, tuple[DType, ...]]:
    """Every operand to the result's dtype (float functions of int operands; clip)."""
    return n.dtype, (n.dtype,) * len(n.args)


def _unconverted(n: Node) -> tuple[DType, tuple[DType, ...]]:
    """The operand as it is (cast: the entry converts it)."""
    return n.arg_dtypes[0], n.arg_dtypes


def _condition_and_branches(n: Node) -> tuple[DType, tuple[DType, ...]]:
    """where(cond, x, y): the condition to bool, the branches to the result's dtype."""
    return n.dtype, (dt.bool_, n.dtype, n.dtype)


CONVERSIONS: dict[OpCode, Callable[[Node], tuple[DType, tuple[DType, ...]]]] = {
    **{code: _in_result_dtype for code in FLOAT_RESULT},
    G.CAST: _unconverted, G.WHERE: _condition_and_branches, G.CLIP: _in_result_dtype,
    G.RANDOM_BITS: _unconverted,  # the key words, the offset and the counter, as they are
}


# --- a reduction's starting value -------------------------------------------------------------
def _lowest(d: DType):
    if d.is_bool:
        return False
    return np.iinfo(d.np).min if d.is_integer else -math.inf


def _highest(d: DType):
    if d.is_bool:
        return True
    return np.iinfo(d.np).max if d.is_integer else math.inf


IDENTITY: dict[OpCode, Callable[[DType], object]] = {
    G.SUM: lambda d: 0, G.ANY: lambda d: 0, G.PROD: lambda d: 1, G.ALL: lambda d: 1,
    G.MAX: _lowest, G.MIN: _highest,
}


# --- entries every target spells with its own hooks -------------------------------------------
def _cast(r: Renderer, ops: list, od: DType, out: DType) -> str:
    return r.cast(ops[0], od, out)


def _where(r: Renderer, ops: list, od: DType, out: DType) -> str:
    return r.select(*ops)


def _clip(r: Renderer, ops: list, od: DType, out: DType) -> str:
    x, lo, hi = ops
    return r.maxmin(False, r.maxmin(True, x, lo, out), hi, out)


def _maximum(r: Renderer, ops: list, od: DType, out: DType) -> str:
    return r.maxmin(True, ops[0], ops[1], od)


def _minimum(r: Renderer, ops: list, od: DType, out: DType) -> str:
    return r.maxmin(False, ops[0], ops[1], od)


_LOWERED = ("lowering (backends/loops.py) turns it into {}, so no kernel body holds it")
_LIBRARY = ("{} runs as a library call in the execution plan (NumPy on cpu, CuPy on gpu), not "
            "inside a kernel")

COMMON_OPS: dict[OpCode, OpEntry] = {
    G.CAST: _cast, G.WHERE: _where, G.CLIP: _clip, G.MAXIMUM: _maximum, G.MINIMUM: _minimum,
    **{code: f"({{0}} {sym} {{1}})" for code, sym in COMPARE.items()},
    G.LOGICAL_NOT: "({0} == 0)",
    G.STOP_GRADIENT: "{0}",  # the identity (simplify removes it before fusion anyway)
    G.CONSTANT: Unsupported(_LOWERED.format("a kernel constant (a scalar) or an array it loads")),
    G.FULL: Unsupported(_LOWERED.format("a kernel constant")),
    G.IOTA: Unsupported(_LOWERED.format("an index variable of the loops")),
    **{code: Unsupported(_LOWERED.format("index maps of the values it feeds, or a view made "
                                         "before the kernel runs"))
       for code in (G.RESHAPE, G.PERMUTE, G.BROADCAST_TO)},
    G.SLICE: Unsupported(_LOWERED.format("a view made before the kernel runs")),
    G.CONCAT: Unsupported(_LIBRARY.format("concat")),
    G.ARGMAX: Unsupported(_LIBRARY.format("argmax")),
    G.ARGMIN: Unsupported(_LIBRARY.format("argmin")),
    G.MATMUL: Unsupported("matmul runs as a BLAS/cuBLAS library call in the execution plan, "
                          "not inside a kernel"),
    G.CALL: Unsupported(_LIBRARY.format("a library function (sort, linalg, fft ...)")),
    G.KERNEL: Unsupported("a kernel is what the renderer renders: the ops of its body have "
                          "entries, a kernel inside a kernel does not occur"),
    **{code: Unsupported("a control-flow op runs as a step of the execution plan that runs its "
                         "regions, not inside a kernel")
       for code in (G.COND, G.WHILE)},
    G.SCAN: Unsupported("a scan inside a kernel is lowered to a `loop` node (backends/loops.py) "
                        "that the walk writes as a loop (`Renderer.render_loop`), not spelled "
                        "as one op"),
}


# ops whose code is a function call (libm or vmath): worth storing rather than computing twice
EXPENSIVE = frozenset({
    G.EXP, G.EXPM1, G.LOG, G.LOG1P, G.LOG2, G.LOG10, G.SIN, G.COS, G.TAN, G.ASIN, G.ACOS,
    G.ATAN, G.SINH, G.COSH, G.TANH, G.ASINH, G.ACOSH, G.ATANH, G.ERF, G.ERFC, G.POW, G.ATAN2,
    G.HYPOT, G.LOGADDEXP})


class Renderer:
    indent_unit = "    "
    nested_outer = True  # outer axes are nested loops (CUDA: one grid-stride loop instead)
    cache_row_values = False  # store an expensive value in the result row (module docstring)
    row_cache: tuple[int, int] | None = None  # (node, output) while rendering, if any

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    # --- target hooks (overridden) -----------------------------------------------------------
    ops: ClassVar[Mapping[OpCode, OpEntry]]  # the target's op table
    target: ClassVar[str]  # the target's name, for errors

    def type_name(self, d: DType) -> str: raise NotImplementedError
    def literal(self, value, d: DType) -> str: raise NotImplementedError
    def select(self, cond: str, x: str, y: str) -> str: raise NotImplementedError
    def maxmin(self, is_max: bool, a: str, b: str, d: DType) -> str: raise NotImplementedError
    def convert(self, text: str, d: DType) -> str: raise NotImplementedError  # a plain conversion
    logical_or, logical_and = "|", "&"  # of two bools
    def cast(self, text: str, src: DType, dst: DType) -> str: raise NotImplementedError
    def begin_function(self, name: str, params: list[str], parallel: bool) -> None: raise NotImplementedError
    def begin_loop(self, var: str, start: str, stop: str, parallel: bool, step: str = "1") -> None: raise NotImplementedError
    def end_block(self) -> None: raise NotImplementedError
    def declare(self, var: str, text: str, d: DType) -> None: raise NotImplementedError
    def update(self, var: str, text: str) -> None: raise NotImplementedError
    def load(self, array: str, index: list[str]) -> str: raise NotImplementedError
    def store(self, array: str, index: list[str], text: str) -> None: raise NotImplementedError
    def declare_partials(self, var: str, count: str, d: DType) -> None: raise NotImplementedError

    # --- the op table ---------------------------------------------------------------------------
    def spell(self, code: OpCode, ops: list[str], od: DType, out: DType) -> str:
        """The code of op `code` on the (converted) operand texts `ops`, from the target's table."""
        entry = self.ops[code]
        if isinstance(entry, str):
            return entry.format(*ops)
        if isinstance(entry, Unsupported):
            raise NotImplementedError(f"the {self.target} renderer has no code for "
                                      f"{code.value}: {entry.reason}")
        return entry(self, ops, od, out)

    def identity(self, code: OpCode, d: DType) -> str:
        """The starting value of a reduction's accumulator."""
        return self.literal(IDENTITY[code](d), d)

    def combine(self, code: OpCode, d: DType, acc: str, value: str) -> str:
        """A reduction's combine step (its table entry) in the accumulator's dtype `d`."""
        return self.spell(code, [acc, value], d, d)

    # --- the op semantics every target shares ------------------------------------------------
    def _mixed_sign_compare(self, code: OpCode, args: list[str], dtypes) -> str:
        """A signed int against a uint64 (NumPy's promotion is float64, which rounds above
        2**53): compared exactly, as NumPy 2 does."""
        a, b = args
        if dtypes[0].kind == "u":  # put the signed operand first
            a, b, code = b, a, MIRROR[code]
        s, u = self.convert(a, dt.int64), self.convert(b, dt.uint64)
        exact = f"({self.convert(s, dt.uint64)} {COMPARE[code]} {u})"
        if code in (G.LESS, G.LESS_EQUAL, G.NOT_EQUAL):
            return f"(({s} < 0) {self.logical_or} {exact})"
        return f"(({s} >= 0) {self.logical_and} {exact})"

    def expr(self, n: Node, args: list[str]) -> str:
        """One elementwise op: which operands convert to which dtype is the same on every
        target (NumPy's rules, `CONVERSIONS`); the target's table spells the operation."""
        if n.code in COMPARE and n.operand_dtype.is_float and \
                all(d.is_integer for d in n.arg_dtypes):
            return self._mixed_sign_compare(n.code, args, n.arg_dtypes)
        od, targets = CONVERSIONS.get(n.code, _promoted)(n)
        ops = [self.cast(a, s, t) for a, s, t in zip(args, n.arg_dtypes, targets)]
        return self.spell(n.code, ops, od, n.dtype)

    # --- helpers ------------------------------------------------------------------------------
    def line(self, text: str) -> None:
        self.lines.append(self.indent_unit * self.depth + text)

    @staticmethod
    def axis_var(a: int) -> str:
        return f"i{a}"

    @staticmethod
    def extent(a: int) -> str:
        return f"n{a}"

    def acc_dtype(self, node: Node) -> DType:
        """The accumulator dtype across blocks: float sums widen to float64, complex ones to
        complex128."""
        if node.code is G.SUM and node.dtype.is_float:
            return dt.float64
        if node.code is G.SUM and node.dtype.is_complex:
            return dt.complex128
        return node.dtype

    # --- the walk -------------------------------------------------------------------------------
    def params(self, k: LoopKernel) -> list[str]:
        params = [f"a{i}" for i in range(len(k.arrays))] + [f"o{i}" for i in range(len(k.outputs))]
        params += [self.extent(a) for a in k.outer + k.reduced]
        return params + list(self.const_names.values())

    def render(self, k: LoopKernel, name: str, parallel: bool) -> str:
        self.k, self.lines, self.depth = k, [], 0
        # constants are arguments too, so kernels differing only in a constant (a mean's
        # element count, a scale) share one compiled function
        self.const_names = {id(k.nodes[i]): f"c{j}" for j, i in enumerate(k.constants)}
        self.begin_function(name, self.params(k), parallel)
        if self.nested_outer and k.max_level == 0:
            self.render_nested_elementwise(parallel)
            self.end_block()
            return "\n".join(self.lines) + "\n"
        self.open_outer(parallel)
        self.row_cache = None
        for level in range(1, k.max_level + 1):
            reds = [i for i, n in enumerate(k.nodes) if n.kind == "reduce" and n.level == level]
            if level == k.max_level and self.cache_row_values:
                self.row_cache = self.cached_row_value(reds)
            self.reduction_pass(reds)
        self.write_outputs()
        while self.depth > 1:
            self.end_block()
        self.end_block()
        return "\n".join(self.lines) + "\n"

    def render_nested_elementwise(self, parallel: bool) -> None:
        """An elementwise kernel as nested loops, each value computed (and each result stored)
        in the outermost loop where all its axes are known: `o0[i0] = f(a0[i0])` beside
        `o1[i1, i2, i0] = g(...)` runs f once per i0, not once per (i0, i1, i2). (Left inside
        the innermost loop, such code also made LLVM's loop passes take minutes: fuzz seed 4.)"""
        k = self.k
        todo = self.needed([o.node for o in k.outputs])
        stores = list(enumerate(k.outputs))
        self.open_nested(k.outer, parallel, todo, stores)
        assert not todo and not stores, "an elementwise value or result was never placed"
        for _ in k.outer:
            self.end_block()

    def open_nested(self, axes, parallel: bool, todo: list[int], stores: list) -> None:
        """Open nested loops over `axes` (the first parallel), computing each node of `todo`
        and storing each result of `stores` in the outermost loop where all its axes are
        open; what is placed leaves the two lists."""
        k, opened = self.k, set()

        def emit() -> None:
            ready = [i for i in todo if k.nodes[i].axes <= opened]
            self.compute(ready)
            todo[:] = [i for i in todo if i not in set(ready)]
            for j, o in [(j, o) for j, o in stores if {a for a in o.index if a is not None}
                         <= opened and o.node not in todo]:
                self.store_output(j, o)
                stores.remove((j, o))

        emit()
        for i, a in enumerate(axes):
            self.begin_loop(self.axis_var(a), "0", self.extent(a), parallel and i == 0)
            opened.add(a)
            emit()

    def open_outer(self, parallel: bool) -> None:
        """Open the loops over the outer (not reduced) axes: nested, the first parallel."""
        for i, a in enumerate(self.k.outer):
            self.begin_loop(self.axis_var(a), "0", self.extent(a), parallel and i == 0)

    def needed(self, targets: list[int], stop: int = -1) -> list[int]:
        """The nodes to compute for `targets`, in order, stopping at finished reductions (and
        at the node `stop`, itself included)."""
        need: set[int] = set()
        stack = list(targets)
        while stack:
            i = stack.pop()
            if i in need:
                continue
            need.add(i)
            if self.k.nodes[i].kind != "reduce" and i != stop:
                stack.extend(self.k.nodes[i].args)
        return sorted(need)

    def compute(self, ids: list[int]) -> None:
        for i in ids:
            n = self.k.nodes[i]
            if n.kind == "reduce":
                continue  # its value is the variable its pass finished
            if n.kind == "loop":
                self.render_loop(i, n)
                continue
            self.declare(f"v{i}", self.scalar(n), n.dtype)

    def render_loop(self, i: int, n: Node) -> None:
        """An elementwise loop (loops.py): its carries as variables `l<i>_<k>`, set from their
        initial values, then `length` iterations of its body, each starting with a copy of the
        carries (the `carry` nodes) and ending with their update; the `result` nodes after it
        read the variables."""
        k, spec = self.k, n.value
        for j, init in enumerate(spec.inits):
            d = k.nodes[init].dtype
            self.declare(f"l{i}_{j}", self.convert(f"v{init}", d), d)
        self.begin_loop(f"t{i}", "0", str(spec.length), False)
        for b in spec.body:
            nb = k.nodes[b]
            text = f"l{i}_{nb.value}" if nb.kind == "carry" else self.scalar(nb)
            self.declare(f"v{b}", text, nb.dtype)
        for j, nxt in enumerate(spec.next):
            self.update(f"l{i}_{j}", self.convert(f"v{nxt}", k.nodes[spec.inits[j]].dtype))
        self.end_block()

    def scalar(self, n: Node) -> str:
        if n.kind == "load":
            index = [self.axis_var(a) if a is not None else "0" for a in n.index]
            return self.load(f"a{n.array}", index)
        if n.kind == "const":
            return self.const_names[id(n)]
        if n.kind == "index":
            return self.cast(self.axis_var(n.value), dt.int64, n.dtype)
        if n.kind == "counter":  # the linear index over its axes (C order), in uint64
            text = self.literal(0, dt.uint64)
            for i, a in enumerate(n.value):
                index = self.convert(self.axis_var(a), dt.uint64)
                text = index if i == 0 else \
                    f"({text} * {self.convert(self.extent(a), dt.uint64)} + {index})"
            return text
        if n.kind == "result":  # a loop's carry after its last iteration
            return f"l{n.args[0]}_{n.value}"
        return self.expr(n, [f"v{a}" for a in n.args])

    def cached_row_value(self, reds: list[int]) -> tuple[int, int] | None:
        """(node, output) for `row_cache`: the last node the reduction pass `reds` computes
        that the result pass needs again, varies along every axis, has an EXPENSIVE op among
        the nodes it is computed from in that pass, and has the dtype of a row result that
        is indexed by every axis in loop order, whose own value depends on it; else None."""
        k = self.k
        if getattr(self, "full_parallel", False) or not k.reduced:
            return None
        every = set(k.outer) | set(k.reduced)
        order = [*k.outer, *k.reduced]
        in_pass = set(self.needed([k.nodes[r].args[0] for r in reds]))
        for j, o in enumerate(k.outputs):
            if [a for a in o.index if a is not None] != order:  # None: a size-1 axis, index 0
                continue
            later = set(self.needed([o.node]))
            for c in sorted(in_pass & later, reverse=True):
                n = k.nodes[c]
                if n.kind != "op" or n.dtype != k.nodes[o.node].dtype or n.axes != every \
                        or n.loop != -1:
                    continue
                if any(k.nodes[x].kind == "op" and k.nodes[x].code in EXPENSIVE
                       for x in self.needed([c]) if x in in_pass):
                    return c, j
        return None

    def accumulate_body(self, reds: list[int], blk: bool) -> None:
        args = [self.k.nodes[r].args[0] for r in reds]
        self.compute(self.needed(args))
        if self.row_cache is not None:
            c, j = self.row_cache
            self.store_output(j, dataclasses.replace(self.k.outputs[j], node=c))
        for r in reds:
            n = self.k.nodes[r]
            value = self.cast(f"v{n.args[0]}", n.arg_dtypes[0], n.dtype)
            acc = f"b{r}" if blk else f"acc{r}"
            d = n.dtype if blk else self.acc_dtype(n)
            self.update(acc, self.combine(n.code, d, acc, self.cast(value, n.dtype, d)))

    def reduced_loops(self, reds: list[int], first_range: tuple[str, str] | None = None) -> None:
        """Loops over the reduced axes accumulating `reds`; the innermost loop is blocked."""
        k = self.k
        axes = list(k.reduced)
        if not axes:  # every reduced dimension has size 1: one value each
            self.accumulate_body(reds, blk=False)
            return
        opened = 0
        for j, a in enumerate(axes[:-1]):
            start, stop = first_range if (j == 0 and first_range) else ("0", self.extent(a))
            self.begin_loop(self.axis_var(a), start, stop, False)
            opened += 1
        last = axes[-1]
        start, stop = first_range if (len(axes) == 1 and first_range) else ("0", self.extent(last))
        self.begin_loop(f"blk{last}", start, stop, False, step=str(BLOCK))
        for r in reds:
            n = k.nodes[r]
            self.declare(f"b{r}", self.identity(n.code, n.dtype), n.dtype)
        self.begin_loop(self.axis_var(last), f"blk{last}", f"min(blk{last} + {BLOCK}, {stop})",
                        False)
        self.accumulate_body(reds, blk=True)
        self.end_block()
        for r in reds:
            n = k.nodes[r]
            acc_d = self.acc_dtype(n)
            self.update(f"acc{r}", self.combine(n.code, acc_d, f"acc{r}",
                                               self.cast(f"b{r}", n.dtype, acc_d)))
        self.end_block()
        for _ in range(opened):
            self.end_block()

    def reduction_pass(self, reds: list[int]) -> None:
        for r in reds:
            n = self.k.nodes[r]
            self.declare(f"acc{r}", self.identity(n.code, self.acc_dtype(n)), self.acc_dtype(n))
        self.reduced_loops(reds)
        self.finish_reductions(reds)
        for r in reds:
            n = self.k.nodes[r]
            self.declare(f"v{r}", self.cast(f"acc{r}", self.acc_dtype(n), n.dtype), n.dtype)

    def finish_reductions(self, reds: list[int]) -> None:
        """Combine partial accumulators after the reduced loops (nothing in a serial loop)."""

    def write_outputs(self) -> None:
        k = self.k
        reduced = set(k.reduced)
        flat = [o for o in k.outputs if not (set(o.index) & reduced)]
        rows = [o for o in k.outputs if set(o.index) & reduced]
        if flat:
            opened = self.begin_flat_stores()
            self.compute(self.needed([o.node for o in flat]))
            for j, o in enumerate(k.outputs):
                if o in flat:
                    self.store_output(j, o)
            if opened:
                self.end_block()
        if rows:
            opened = self.begin_row_pass()
            targets = [o.node for o in rows]
            if self.row_cache is not None:
                c, j = self.row_cache
                index = [self.axis_var(a) if a is not None else "0" for a in k.outputs[j].index]
                self.declare(f"v{c}", self.load(f"o{j}", index), k.nodes[c].dtype)
                self.compute([x for x in self.needed(targets, stop=c) if x != c])
            else:
                self.compute(self.needed(targets))
            for j, o in enumerate(k.outputs):
                if o in rows:
                    self.store_output(j, o)
            for _ in range(opened):
                self.end_block()

    def begin_flat_stores(self) -> bool:
        """Open a block around the stores of results that do not vary along reduced axes
        (CUDA: one thread of the block writes them); True if a block was opened."""
        return False

    def begin_row_pass(self) -> int:
        """Open a pass over the reduced axes that writes the row results; blocks opened."""
        for a in self.k.reduced:
            self.begin_loop(self.axis_var(a), "0", self.extent(a), False)
        return len(self.k.reduced)

    def store_output(self, j: int, o) -> None:
        index = [self.axis_var(a) if a is not None else "0" for a in o.index] or ["0"]
        self.store(f"o{j}", index, f"v{o.node}")  # compute() assigned it, constants included
