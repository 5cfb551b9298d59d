"""The one walk over a `LoopKernel` that every target shares; targets supply tables.

`Renderer.render(kernel, parallel)` emits, in order: the signature, the outer (non-reduced)
loops, then for each reduction level a pass over the reduced axes that accumulates that
level's reductions, and last the results, written either at the outer depth or (for a row
kernel's results that vary along the reduced axes) in one more pass over the reduced axes.
Values used in several passes are recomputed from the inputs in each (they are cheap next to a
round trip through memory).

Float sums accumulate in blocks of `BLOCK` elements in the value's dtype (a vectorizable inner
loop) and add the blocks in a wider accumulator, which keeps a float32 sum of 50M elements
within 1e-7 of the exact result. A full reduction (no outer axes) splits its first reduced axis
into `CHUNK`-element chunks that run in parallel and combines the per-chunk results in order.

A target subclass provides: `type_name`, `literal`, `expr` (the per-op table), `identity`,
`combine`, `cast`, and the statement syntax (`begin_function`, `begin_loop`, `end_block`,
`assign`, `store`, `load`).
"""

from __future__ import annotations

from ..ir import OpCode
from ..ir import dtypes as dt
from ..ir.dtypes import DType
from .loops import LoopKernel, Node

G = OpCode
BLOCK = 1024  # elements per inner accumulation block
CHUNK = 65536  # elements per parallel chunk of a full reduction


class Renderer:
    indent_unit = "    "

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    # --- target hooks (overridden) -----------------------------------------------------------
    def type_name(self, d: DType) -> str: raise NotImplementedError
    def literal(self, value, d: DType) -> str: raise NotImplementedError
    def expr(self, node: Node, args: list[str]) -> str: raise NotImplementedError
    def cast(self, text: str, src: DType, dst: DType) -> str: raise NotImplementedError
    def identity(self, code: OpCode, d: DType) -> str: raise NotImplementedError
    def combine(self, code: OpCode, d: DType, acc: str, value: str) -> str: raise NotImplementedError
    def begin_function(self, name: str, params: list[str], parallel: bool) -> None: raise NotImplementedError
    def begin_loop(self, var: str, start: str, stop: str, parallel: bool, step: str = "1") -> None: raise NotImplementedError
    def end_block(self) -> None: raise NotImplementedError
    def assign(self, var: str, text: str) -> None: raise NotImplementedError
    def load(self, array: str, index: list[str]) -> str: raise NotImplementedError
    def store(self, array: str, index: list[str], text: str) -> None: raise NotImplementedError
    def declare_partials(self, var: str, count: str, d: DType) -> None: raise NotImplementedError

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
        """The accumulator dtype across blocks: float sums widen to float64."""
        if node.code is G.SUM and node.dtype.is_float:
            return dt.float64
        return node.dtype

    # --- the walk -------------------------------------------------------------------------------
    def render(self, k: LoopKernel, name: str, parallel: bool) -> str:
        self.k, self.lines, self.depth = k, [], 0
        params = [f"a{i}" for i in range(len(k.arrays))] + [f"o{i}" for i in range(len(k.outputs))]
        params += [self.extent(a) for a in k.outer + k.reduced]
        # constants are arguments too, so kernels differing only in a constant (a mean's
        # element count, a scale) share one compiled function
        self.const_names = {id(k.nodes[i]): f"c{j}" for j, i in enumerate(k.constants)}
        params += list(self.const_names.values())
        self.begin_function(name, params, parallel)
        full_parallel = parallel and not k.outer and k.reduced and k.max_level == 1
        for i, a in enumerate(k.outer):
            self.begin_loop(self.axis_var(a), "0", self.extent(a), parallel and i == 0)
        self.emitted: set[int] = set()
        for level in range(1, k.max_level + 1):
            reds = [i for i, n in enumerate(k.nodes) if n.kind == "reduce" and n.level == level]
            if full_parallel:
                self.parallel_full_reduction(reds)
            else:
                self.reduction_pass(reds)
        self.write_outputs()
        while self.depth > 1:
            self.end_block()
        self.end_block()
        return "\n".join(self.lines) + "\n"

    def needed(self, targets: list[int]) -> list[int]:
        """The nodes to compute for `targets`, in order, stopping at finished reductions."""
        need: set[int] = set()
        stack = list(targets)
        while stack:
            i = stack.pop()
            if i in need:
                continue
            need.add(i)
            if self.k.nodes[i].kind != "reduce":
                stack.extend(self.k.nodes[i].args)
        return sorted(need)

    def compute(self, ids: list[int]) -> None:
        for i in ids:
            n = self.k.nodes[i]
            if n.kind == "reduce":
                continue  # its value is the variable its pass finished
            self.assign(f"v{i}", self.scalar(n))

    def scalar(self, n: Node) -> str:
        if n.kind == "load":
            index = [self.axis_var(a) if a is not None else "0" for a in n.index]
            return self.load(f"a{n.array}", index)
        if n.kind == "const":
            return self.const_names[id(n)]
        if n.kind == "index":
            return self.cast(self.axis_var(n.value), dt.int64, n.dtype)
        return self.expr(n, [f"v{a}" for a in n.args])

    def accumulate_body(self, reds: list[int], blk: bool) -> None:
        args = [self.k.nodes[r].args[0] for r in reds]
        self.compute(self.needed(args))
        for r in reds:
            n = self.k.nodes[r]
            value = self.cast(f"v{n.args[0]}", n.arg_dtypes[0], n.dtype)
            acc = f"b{r}" if blk else f"acc{r}"
            d = n.dtype if blk else self.acc_dtype(n)
            self.assign(acc, self.combine(n.code, d, acc, self.cast(value, n.dtype, d)))

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
            self.assign(f"b{r}", self.identity(n.code, n.dtype))
        self.begin_loop(self.axis_var(last), f"blk{last}", f"min(blk{last} + {BLOCK}, {stop})",
                        False)
        self.accumulate_body(reds, blk=True)
        self.end_block()
        for r in reds:
            n = k.nodes[r]
            acc_d = self.acc_dtype(n)
            self.assign(f"acc{r}", self.combine(n.code, acc_d, f"acc{r}",
                                               self.cast(f"b{r}", n.dtype, acc_d)))
        self.end_block()
        for _ in range(opened):
            self.end_block()

    def reduction_pass(self, reds: list[int]) -> None:
        for r in reds:
            n = self.k.nodes[r]
            self.assign(f"acc{r}", self.identity(n.code, self.acc_dtype(n)))
        self.reduced_loops(reds)
        for r in reds:
            n = self.k.nodes[r]
            self.assign(f"v{r}", self.cast(f"acc{r}", self.acc_dtype(n), n.dtype))

    def parallel_full_reduction(self, reds: list[int]) -> None:
        first = self.k.reduced[0]
        size = self.extent(first)
        self.assign("nchunks", f"({size} + {CHUNK - 1}) // {CHUNK}")
        for r in reds:
            self.declare_partials(f"part{r}", "nchunks", self.acc_dtype(self.k.nodes[r]))
        self.begin_loop("chunk", "0", "nchunks", True)
        for r in reds:
            n = self.k.nodes[r]
            self.assign(f"acc{r}", self.identity(n.code, self.acc_dtype(n)))
        lo, hi = f"chunk * {CHUNK}", f"min(chunk * {CHUNK} + {CHUNK}, {size})"
        self.reduced_loops(reds, first_range=(lo, hi))
        for r in reds:
            self.store(f"part{r}", ["chunk"], f"acc{r}")
        self.end_block()
        for r in reds:
            n = self.k.nodes[r]
            d = self.acc_dtype(n)
            self.assign(f"acc{r}", self.identity(n.code, d))
        self.begin_loop("chunk", "0", "nchunks", False)
        for r in reds:
            n = self.k.nodes[r]
            d = self.acc_dtype(n)
            self.assign(f"acc{r}", self.combine(n.code, d, f"acc{r}", self.load(f"part{r}", ["chunk"])))
        self.end_block()
        for r in reds:
            n = self.k.nodes[r]
            self.assign(f"v{r}", self.cast(f"acc{r}", self.acc_dtype(n), n.dtype))

    def write_outputs(self) -> None:
        k = self.k
        reduced = set(k.reduced)
        flat = [o for o in k.outputs if not (set(o.index) & reduced)]
        rows = [o for o in k.outputs if set(o.index) & reduced]
        self.compute(self.needed([o.node for o in flat]))
        for j, o in enumerate(k.outputs):
            if o in flat:
                self.store_output(j, o)
        if rows:
            for a in k.reduced:
                self.begin_loop(self.axis_var(a), "0", self.extent(a), False)
            self.compute(self.needed([o.node for o in rows]))
            for j, o in enumerate(k.outputs):
                if o in rows:
                    self.store_output(j, o)
            for _ in k.reduced:
                self.end_block()

    def store_output(self, j: int, o) -> None:
        index = [self.axis_var(a) if a is not None else "0" for a in o.index] or ["0"]
        self.store(f"o{j}", index, f"v{o.node}")  # compute() assigned it, constants included
