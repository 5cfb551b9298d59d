"""The Numba target: Python source for `@njit` from a `LoopKernel` (the walk is render.py's).

Semantics follow NumPy exactly where the IR says so: every integer result is wrapped to its
dtype (Numba computes small ints in int64), operands convert to the promoted dtype first,
`maximum`/`minimum` propagate NaN and return the second operand on ties as NumPy's loops do,
shifts by the bit width or more give NumPy's values, and division uses `error_model='numpy'`
(x/0 is inf or nan, integer x//0 and x%0 are 0). Transcendental functions call the
vectorizable versions of `vmath.py` when it has one for the op and dtype (they keep the loop
SIMD), else NumPy's scalar function.
"""

from __future__ import annotations

import math

from ...ir import OpCode
from ...ir.dtypes import DType
from ..render import Renderer

CHUNK = 65536  # elements per parallel chunk of a full reduction

G = OpCode

_NP_FUNCS = {
    G.SQRT: "np.sqrt", G.EXP: "np.exp", G.EXPM1: "np.expm1", G.LOG: "np.log",
    G.LOG1P: "np.log1p", G.LOG2: "np.log2", G.LOG10: "np.log10", G.SIN: "np.sin",
    G.COS: "np.cos", G.TAN: "np.tan", G.ASIN: "np.arcsin", G.ACOS: "np.arccos",
    G.ATAN: "np.arctan", G.SINH: "np.sinh", G.COSH: "np.cosh", G.TANH: "np.tanh",
    G.ASINH: "np.arcsinh", G.ACOSH: "np.arccosh", G.ATANH: "np.arctanh",
    G.FLOOR: "np.floor", G.CEIL: "np.ceil", G.TRUNC: "np.trunc", G.ROUND: "np.rint",
    G.ISINF: "np.isinf", G.ISFINITE: "np.isfinite", G.SIGNBIT: "np.signbit",
    G.ATAN2: "np.arctan2", G.HYPOT: "np.hypot", G.LOGADDEXP: "np.logaddexp",
    G.COPYSIGN: "np.copysign", G.NEXTAFTER: "np.nextafter",
}
_INFIX = {
    G.ADD: "+", G.SUBTRACT: "-", G.MULTIPLY: "*", G.DIVIDE: "/", G.FLOOR_DIVIDE: "//",
    G.REMAINDER: "%", G.POW: "**", G.EQUAL: "==", G.NOT_EQUAL: "!=", G.LESS: "<",
    G.LESS_EQUAL: "<=", G.GREATER: ">", G.GREATER_EQUAL: ">=", G.BITWISE_AND: "&",
    G.BITWISE_OR: "|", G.BITWISE_XOR: "^",
}



def _is_int64(d: DType) -> bool:
    return d.kind == "i" and d.itemsize == 8


def _vmath_table():
    try:
        from ..vmath import functions as vmath
    except ImportError:  # pragma: no cover - vmath is part of the package
        return {}
    public = {id(obj): name for name, obj in vars(vmath).items()
              if not name.startswith("_") and name.endswith(("_f32", "_f64"))}
    return {key: public[id(fn)] for key, fn in getattr(vmath, "VMATH", {}).items()
            if id(fn) in public}


class NumbaRenderer(Renderer):
    def __init__(self, use_vmath: bool = True) -> None:
        super().__init__()
        self.vmath = _vmath_table() if use_vmath else {}
        self.imports: set[str] = set()
        self.intrinsics: set[str] = set()

    # --- types and values --------------------------------------------------------------------
    def type_name(self, d: DType) -> str:
        return "np.bool_" if d.is_bool else f"np.{d.name}"

    def convert(self, text: str, d: DType) -> str:
        return f"{self.type_name(d)}({text})"

    def literal(self, value, d: DType) -> str:
        if d.is_bool:
            return "True" if value else "False"
        if d.is_integer:
            return f"{self.type_name(d)}({int(value)})"
        value = float(value)
        if math.isnan(value):
            text = "np.nan"
        elif math.isinf(value):
            text = "np.inf" if value > 0 else "-np.inf"
        else:
            text = repr(value)
        return f"{self.type_name(d)}({text})"

    def cast(self, text: str, src: DType, dst: DType) -> str:
        if src == dst:
            return text
        if dst.is_bool:
            return f"({text} != 0)"
        return f"{self.type_name(dst)}({text})"

    def combine(self, code: OpCode, d: DType, acc: str, value: str) -> str:
        if code is G.SUM:
            return f"{acc} | {value}" if d.is_bool else self._arith("+", acc, value, d)
        if code is G.PROD:
            return f"{acc} & {value}" if d.is_bool else self._arith("*", acc, value, d)
        if code is G.ALL:
            return f"{acc} & ({value} != 0)"
        if code is G.ANY:
            return f"{acc} | ({value} != 0)"
        if d.is_float:  # vectorizes, unlike the select form (numba_intrinsics.py)
            fn = "nan_max" if code is G.MAX else "nan_min"
            self.intrinsics.add(fn)
            return f"{fn}({acc}, {value})"
        return self._maxmin(code is G.MAX, acc, value, d)

    # --- statements --------------------------------------------------------------------------
    def begin_function(self, name: str, params: list[str], parallel: bool) -> None:
        self.line(f"def {name}({', '.join(params)}):")
        self.depth += 1

    def begin_loop(self, var: str, start: str, stop: str, parallel: bool, step: str = "1") -> None:
        rng = "prange" if parallel else "range"
        if parallel and start == "0" and step == "1":
            self.line(f"for {var} in prange({stop}):")
        elif step == "1":
            self.line(f"for {var} in {rng}({start}, {stop}):")
        else:
            self.line(f"for {var} in {rng}({start}, {stop}, {step}):")
        self.depth += 1

    def end_block(self) -> None:
        self.depth -= 1

    def declare(self, var: str, text: str, d: DType) -> None:
        self.line(f"{var} = {text}")

    def update(self, var: str, text: str) -> None:
        self.line(f"{var} = {text}")

    # --- the iteration space --------------------------------------------------------------------
    def open_outer(self, parallel: bool) -> None:
        k = self.k
        # a full reduction (no outer loop to run in parallel) splits its first reduced axis
        # into CHUNK-element chunks that run in parallel, combined in order afterwards
        self.full_parallel = parallel and not k.outer and bool(k.reduced) and k.max_level == 1
        super().open_outer(parallel)

    def reduction_pass(self, reds: list[int]) -> None:
        if self.full_parallel:
            self.parallel_full_reduction(reds)
        else:
            super().reduction_pass(reds)

    def parallel_full_reduction(self, reds: list[int]) -> None:
        first = self.k.reduced[0]
        size = self.extent(first)
        self.update("nchunks", f"({size} + {CHUNK - 1}) // {CHUNK}")
        for r in reds:
            self.declare_partials(f"part{r}", "nchunks", self.acc_dtype(self.k.nodes[r]))
        self.begin_loop("chunk", "0", "nchunks", True)
        for r in reds:
            n = self.k.nodes[r]
            self.update(f"acc{r}", self.identity(n.code, self.acc_dtype(n)))
        lo, hi = f"chunk * {CHUNK}", f"min(chunk * {CHUNK} + {CHUNK}, {size})"
        self.reduced_loops(reds, first_range=(lo, hi))
        for r in reds:
            self.store(f"part{r}", ["chunk"], f"acc{r}")
        self.end_block()
        for r in reds:
            n = self.k.nodes[r]
            d = self.acc_dtype(n)
            self.update(f"acc{r}", self.identity(n.code, d))
        self.begin_loop("chunk", "0", "nchunks", False)
        for r in reds:
            n = self.k.nodes[r]
            d = self.acc_dtype(n)
            self.update(f"acc{r}", self.combine(n.code, d, f"acc{r}", self.load(f"part{r}", ["chunk"])))
        self.end_block()
        for r in reds:
            n = self.k.nodes[r]
            self.update(f"v{r}", self.cast(f"acc{r}", self.acc_dtype(n), n.dtype))


    @staticmethod
    def _index(index: list[str]) -> str:
        # unsigned indices: Numba then skips its negative-index wraparound, which otherwise
        # blocks vectorization of any loop that does not start at 0 (measured 16x on a sum)
        return ", ".join(i if i == "0" else f"np.uintp({i})" for i in index)

    def load(self, array: str, index: list[str]) -> str:
        return f"{array}[{self._index(index)}]" if index else array

    def store(self, array: str, index: list[str], text: str) -> None:
        self.line(f"{array}[{self._index(index)}] = {text}")

    def declare_partials(self, var: str, count: str, d: DType) -> None:
        self.line(f"{var} = np.empty({count}, {self.type_name(d)})")

    # --- the op table --------------------------------------------------------------------------
    def _arith(self, sym: str, a: str, b: str, d: DType) -> str:
        """`a sym b` (+ - *) in dtype d, wrapping as NumPy does. Numba marks int64 arithmetic
        no-signed-wrap, so LLVM may assume it never overflows (sign(x * x) became x != 0):
        int64 goes through uint64, whose wraparound is defined."""
        if _is_int64(d):
            return f"np.int64(np.uint64({a}) {sym} np.uint64({b}))"
        return self._wrap(f"{a} {sym} {b}", d)

    def _neg(self, a: str, d: DType) -> str:
        return self._arith("-", "0", a, d) if _is_int64(d) else self._wrap(f"-{a}", d)

    def _wrap(self, text: str, d: DType) -> str:
        """Numba computes small ints in int64 and bool arithmetic in ints: convert back."""
        if d.is_bool:
            return f"({text})"
        return f"{self.type_name(d)}({text})"

    def select(self, cond: str, x: str, y: str) -> str:
        return f"({x} if {cond} else {y})"

    def _maxmin(self, is_max: bool, a: str, b: str, d: DType) -> str:
        op = ">" if is_max else "<"
        if d.is_float:  # NaN in either propagates; a tie returns b, as NumPy's loop does
            return f"({a} if (({a} {op} {b}) | ({a} != {a})) else {b})"
        return f"({a} if {a} {op} {b} else {b})"

    def _op(self, code: OpCode, ops: list[str], od: DType, out: DType) -> str:
        a = ops[0]
        b = ops[1] if len(ops) > 1 else None
        if code in (G.ADD, G.MULTIPLY) and od.is_bool:
            return f"({a} {'|' if code is G.ADD else '&'} {b})"
        if code in (G.EQUAL, G.NOT_EQUAL, G.LESS, G.LESS_EQUAL, G.GREATER, G.GREATER_EQUAL):
            return f"({a} {_INFIX[code]} {b})"
        if code in (G.LOGICAL_AND, G.LOGICAL_OR, G.LOGICAL_XOR):
            sym = {G.LOGICAL_AND: "&", G.LOGICAL_OR: "|", G.LOGICAL_XOR: "^"}[code]
            return f"(({a} != 0) {sym} ({b} != 0))"
        if code is G.LOGICAL_NOT:
            return f"({a} == 0)"
        if code in (G.MAXIMUM, G.MINIMUM):
            return self._maxmin(code is G.MAXIMUM, a, b, od)
        if code is G.LEFT_SHIFT:
            bits = od.itemsize * 8
            return f"({self._wrap(f'{a} << {b}', out)} if 0 <= {b} < {bits} else {self.literal(0, out)})"
        if code is G.RIGHT_SHIFT:
            bits = od.itemsize * 8
            fill = f"({self.literal(-1, out)} if {a} < 0 else {self.literal(0, out)})" \
                if od.kind == "i" else self.literal(0, out)
            return f"({self._wrap(f'{a} >> {b}', out)} if 0 <= {b} < {bits} else {fill})"
        if code in (G.BITWISE_AND, G.BITWISE_OR, G.BITWISE_XOR):
            return self._wrap(f"{a} {_INFIX[code]} {b}", out)
        if code is G.POW and od.is_integer:  # in 64 bits, wrapped to the result's width
            fn, wide = ("ipow_i64", "np.int64") if od.kind == "i" else ("ipow_u64", "np.uint64")
            self.imports.add(fn)
            return self._wrap(f"{fn}({wide}({a}), {wide}({b}))", out)
        if code is G.FLOOR_DIVIDE and _is_int64(od):
            # Numba gives 0 for MIN // -1; NumPy wraps the quotient (MIN), as -MIN does
            return f"({self._neg(a, od)} if {b} == -1 else {self._wrap(f'{a} // {b}', out)})"
        if code in (G.ADD, G.SUBTRACT, G.MULTIPLY):
            return self._arith(_INFIX[code], a, b, od) if out == od else \
                self._wrap(f"{a} {_INFIX[code]} {b}", out)
        if code in _INFIX:
            return self._wrap(f"{a} {_INFIX[code]} {b}", out)
        if code is G.NEGATIVE:
            return self._neg(a, od) if out == od else self._wrap(f"-{a}", out)
        if code is G.ABS:
            if _is_int64(od):
                return f"({a} if {a} >= 0 else {self._neg(a, od)})"
            return a if od.is_bool else self._wrap(f"abs({a})", out)
        if code is G.SIGN:
            if od.is_float:
                return f"({a} if {a} != {a} else {self._wrap(f'({a} > 0) - ({a} < 0)', out)})"
            return self._wrap(f"({a} > 0) - ({a} < 0)", out)
        if code is G.SQUARE:
            return self._arith("*", a, a, od) if out == od else self._wrap(f"{a} * {a}", out)
        if code is G.RECIPROCAL:
            return self._wrap(f"{self.literal(1.0, od)} / {a}", out)
        if code is G.BITWISE_INVERT:
            return f"(not {a})" if od.is_bool else self._wrap(f"~{a}", out)
        if code is G.ISNAN:
            return f"({a} != {a})" if od.is_float else "False"
        if code in (G.ISINF, G.SIGNBIT, G.ISFINITE) and not od.is_float:
            if code is G.SIGNBIT:
                return f"({a} < 0)" if od.kind == "i" else "False"
            return "True" if code is G.ISFINITE else "False"
        if code in (G.FLOOR, G.CEIL, G.TRUNC, G.ROUND) and not od.is_float:
            return a
        fn = self.vmath.get((code.value, od.name))
        if fn is not None:
            self.imports.add(fn)
            return f"{fn}({', '.join(ops)})"
        if code in _NP_FUNCS:
            text = f"{_NP_FUNCS[code]}({', '.join(ops)})"
            return text if out.is_bool else self._wrap(text, out)
        raise NotImplementedError(f"the Numba backend has no template for {code.value}")
