"""The Numba target: Python source for `@njit` from a `LoopKernel` (the walk is render.py's).

Semantics follow NumPy exactly where the IR says so: every integer result is wrapped to its
dtype (Numba computes small ints in int64), operands convert to the promoted dtype first,
`maximum`/`minimum` propagate NaN and return the second operand on ties as NumPy's loops do,
shifts by the bit width or more give NumPy's values, and division uses `error_model='numpy'`
(x/0 is inf or nan, integer x//0 and x%0 are 0). Transcendental functions call the
vectorizable versions of `vmath.py` when it has one for the op and dtype (they keep the loop
SIMD), else NumPy's scalar function. vmath's sin/cos/tan reduce exactly only up to 2**45 in
the SIMD loop: a kernel that calls them checks their arguments there and, if one is beyond,
runs its body again with the exact (Payne-Hanek) functions (`NumbaRenderer.render`).
`NUMBA_OPS` holds each op's code (render.py says what an entry is); this module imports no
Numba, so the table can be read without it.
"""

from __future__ import annotations

import itertools
import math
import re

from ...ir import OpCode
from ...ir import dtypes as dt
from ...ir.dtypes import DType
from ..loops import LoopKernel
from ..render import COMMON_OPS, OpEntry, Renderer

CHUNK = 65536  # elements per parallel chunk of a full reduction
LOOP_BLOCK = 256  # elements per block of an elementwise loop (render_blocked_loop)
COLUMN_BLOCK = 2048  # columns per block of a column reduction (render_columns)
ROW_BLOCK = 256  # rows a column reduction adds in its own dtype before the wide accumulator
ROW_CHUNK = 256  # the fewest rows in one parallel chunk of a column reduction
MAX_ROW_CHUNKS = 64  # the most parallel chunks of rows (each keeps a row of partials)

G = OpCode

_NP_FUNCS = {
    G.SQRT: "np.sqrt", G.EXP: "np.exp", G.EXPM1: "np.expm1", G.LOG: "np.log",
    G.LOG1P: "np.log1p", G.LOG2: "np.log2", G.LOG10: "np.log10", G.SIN: "np.sin",
    G.COS: "np.cos", G.TAN: "np.tan", G.ASIN: "np.arcsin", G.ACOS: "np.arccos",
    G.ATAN: "np.arctan", G.SINH: "np.sinh", G.COSH: "np.cosh", G.TANH: "np.tanh",
    G.ASINH: "np.arcsinh", G.ACOSH: "np.arccosh", G.ATANH: "np.arctanh",
    G.ERF: "math.erf", G.ERFC: "math.erfc",  # NumPy has none; Numba compiles math's
    G.FLOOR: "np.floor", G.CEIL: "np.ceil", G.TRUNC: "np.trunc", G.ROUND: "np.rint",
    G.ISINF: "np.isinf", G.ISFINITE: "np.isfinite", G.SIGNBIT: "np.signbit",
    G.ATAN2: "np.arctan2", G.HYPOT: "np.hypot", G.LOGADDEXP: "np.logaddexp",
    G.COPYSIGN: "np.copysign", G.NEXTAFTER: "np.nextafter",
}


def _is_int64(d: DType) -> bool:
    return d.kind == "i" and d.itemsize == 8


def _type_name(d: DType) -> str:
    return "np.bool_" if d.is_bool else f"np.{d.name}"


def _wrap(text: str, d: DType) -> str:
    """Numba computes small ints in int64 and bool arithmetic in ints: convert back."""
    if d.is_bool:
        return f"({text})"
    return f"{_type_name(d)}({text})"


def _arith(sym: str, a: str, b: str, d: DType) -> str:
    """`a sym b` (+ - *) in dtype d, wrapping as NumPy does. Numba marks int64 arithmetic
    no-signed-wrap, so LLVM may assume it never overflows (sign(x * x) became x != 0):
    int64 goes through uint64, whose wraparound is defined."""
    if _is_int64(d):
        return f"np.int64(np.uint64({a}) {sym} np.uint64({b}))"
    return _wrap(f"{a} {sym} {b}", d)


def _neg(a: str, d: DType) -> str:
    return _arith("-", "0", a, d) if _is_int64(d) else _wrap(f"-{a}", d)


# --- the op table: entries (renderer, operands, operand dtype, result dtype) -> source ----------
def _arithmetic(sym: str, bool_sym: str | None = None):
    """+ - *: wrapped in the operand dtype (int64 through uint64); on bools `bool_sym`."""
    def entry(r, ops, od: DType, out: DType) -> str:
        a, b = ops
        if bool_sym and od.is_bool:
            return f"({a} {bool_sym} {b})"
        return _arith(sym, a, b, od) if out == od else _wrap(f"{a} {sym} {b}", out)
    return entry


def _wrapped(sym: str):
    """`a sym b` converted back to the result's dtype."""
    return lambda r, ops, od, out: _wrap(f"{ops[0]} {sym} {ops[1]}", out)


def _left_shift(r, ops, od: DType, out: DType) -> str:
    a, b = ops
    bits = od.itemsize * 8
    return f"({_wrap(f'{a} << {b}', out)} if 0 <= {b} < {bits} else {r.literal(0, out)})"


def _right_shift(r, ops, od: DType, out: DType) -> str:
    a, b = ops
    bits = od.itemsize * 8
    fill = f"({r.literal(-1, out)} if {a} < 0 else {r.literal(0, out)})" \
        if od.kind == "i" else r.literal(0, out)
    return f"({_wrap(f'{a} >> {b}', out)} if 0 <= {b} < {bits} else {fill})"


def _pow(r, ops, od: DType, out: DType) -> str:
    a, b = ops
    if od.is_complex:  # NumPy's cases (0 ** -1 is NaN, not a ZeroDivisionError)
        r.complex_imports.add("complex_pow")
        return _wrap(f"complex_pow({a}, {b})", out)
    if od.is_integer:  # in 64 bits, wrapped to the result's width
        fn, wide = ("ipow_i64", "np.int64") if od.kind == "i" else ("ipow_u64", "np.uint64")
        r.imports.add(fn)
        return _wrap(f"{fn}({wide}({a}), {wide}({b}))", out)
    return _wrap(f"{a} ** {b}", out)


def _floor_divide(r, ops, od: DType, out: DType) -> str:
    a, b = ops
    if _is_int64(od):  # Numba gives 0 for MIN // -1; NumPy wraps the quotient (MIN), as -MIN does
        return f"({_neg(a, od)} if {b} == -1 else {_wrap(f'{a} // {b}', out)})"
    return _wrap(f"{a} // {b}", out)


def _negative(r, ops, od: DType, out: DType) -> str:
    return _neg(ops[0], od) if out == od else _wrap(f"-{ops[0]}", out)


def _abs(r, ops, od: DType, out: DType) -> str:
    a = ops[0]
    if _is_int64(od):
        return f"({a} if {a} >= 0 else {_neg(a, od)})"
    return a if od.is_bool else _wrap(f"abs({a})", out)


def _sign(r, ops, od: DType, out: DType) -> str:
    a = ops[0]
    if od.is_complex:
        r.complex_imports.add("complex_sign")
        return _wrap(f"complex_sign({a})", out)
    text = _wrap(f"({a} > 0) - ({a} < 0)", out)
    return f"({a} if {a} != {a} else {text})" if od.is_float else text


def _square(r, ops, od: DType, out: DType) -> str:
    a = ops[0]
    return _arith("*", a, a, od) if out == od else _wrap(f"{a} * {a}", out)


def _reciprocal(r, ops, od: DType, out: DType) -> str:
    if od.is_complex:
        r.complex_imports.add("complex_reciprocal")
        return _wrap(f"complex_reciprocal({ops[0]})", out)
    return _wrap(f"{r.literal(1.0, od)} / {ops[0]}", out)


def _divide(r, ops, od: DType, out: DType) -> str:
    """x / y; complex by NumPy's loop (Numba's complex `/` raises ZeroDivisionError)."""
    if od.is_complex:
        r.complex_imports.add("complex_divide")
        return _wrap(f"complex_divide({ops[0]}, {ops[1]})", out)
    return _wrap(f"{ops[0]} / {ops[1]}", out)


def _bitwise_invert(r, ops, od: DType, out: DType) -> str:
    return f"(not {ops[0]})" if od.is_bool else _wrap(f"~{ops[0]}", out)


def _isnan(r, ops, od: DType, out: DType) -> str:
    if od.is_complex:  # NaN in either part
        return f"(({ops[0]}.real != {ops[0]}.real) | ({ops[0]}.imag != {ops[0]}.imag))"
    return f"({ops[0]} != {ops[0]})" if od.is_float else "False"


def _complex_parts(fn: str):
    """isinf/isfinite of complex: isinf if either part is infinite, isfinite if both are."""
    join = " | " if fn == "np.isinf" else " & "
    return lambda r, ops, od, out: (f"({fn}({ops[0]}.real){join}{fn}({ops[0]}.imag))")


def _real(r, ops, od: DType, out: DType) -> str:
    return f"{ops[0]}.real" if od.is_complex else ops[0]


def _imag(r, ops, od: DType, out: DType) -> str:
    return f"{ops[0]}.imag" if od.is_complex else r.literal(0, out)


def _conj(r, ops, od: DType, out: DType) -> str:
    return f"{ops[0]}.conjugate()" if od.is_complex else ops[0]


def _angle(r, ops, od: DType, out: DType) -> str:
    a = ops[0]
    if od.is_complex:
        return _wrap(f"np.arctan2({a}.imag, {a}.real)", out)
    return _wrap(f"np.arctan2({r.literal(0, out)}, {r.cast(a, od, out)})", out)


def _complex_round(r, ops, od: DType, out: DType) -> str:
    """round of complex: each part to the nearest even integer, as NumPy."""
    a = ops[0]
    return _wrap(f"complex(np.rint({a}.real), np.rint({a}.imag))", out)


def _libm(code: OpCode, otherwise=None, complex_entry=None):
    """A float function: vmath's vectorizable version for (op, dtype) where it has one (it keeps
    the loop SIMD), else NumPy's scalar function; the entry `otherwise` for integers and bools;
    for complex operands `complex_entry`, or NumPy's function (Numba has complex ones, and
    numba/intrinsics.py the few it lacks)."""
    def entry(r, ops, od: DType, out: DType) -> str:
        if od.is_complex:
            if complex_entry is not None:
                return complex_entry(r, ops, od, out)
            fn = COMPLEX_FUNCS.get(code)
            if fn is not None:
                r.complex_imports.add(fn)
                return _wrap(f"{fn}({', '.join(ops)})", out)
        elif otherwise is not None and not od.is_float:
            return otherwise(r, ops, od, out)
        fn = r.vmath.get((code.value, od.name))
        if fn is not None:
            return r.vmath_call(code.value, od.name, fn, ops)
        text = f"{_NP_FUNCS[code]}({', '.join(ops)})"
        return text if out.is_bool else _wrap(text, out)
    return entry


def _integer_rounding(r, ops, od: DType, out: DType) -> str:  # floor ... rint of an int: itself
    return ops[0]


def _integer_signbit(r, ops, od: DType, out: DType) -> str:
    return f"({ops[0]} < 0)" if od.kind == "i" else "False"


def _sum(r, ops, d: DType, out: DType) -> str:
    acc, value = ops
    return f"{acc} | {value}" if d.is_bool else _arith("+", acc, value, d)


def _prod(r, ops, d: DType, out: DType) -> str:
    acc, value = ops
    return f"{acc} & {value}" if d.is_bool else _arith("*", acc, value, d)


def _nan_maxmin(fn: str, is_max: bool):
    """reduce_max/min: float through the `numba/intrinsics.py` function `fn` (it vectorizes,
    unlike the select form), the others through the select form."""
    def entry(r, ops, d: DType, out: DType) -> str:
        if d.is_float:
            r.intrinsics.add(fn)
            return f"{fn}({ops[0]}, {ops[1]})"
        return r.maxmin(is_max, ops[0], ops[1], d)
    return entry


def _random_bits(r, ops, od: DType, out: DType) -> str:
    """The element's Philox word (numba/philox.py): key words, offset + the element's counter."""
    r.philox = True
    return f"philox_bits({ops[0]}, {ops[1]}, {ops[2]} + {ops[3]})"


# complex functions Numba lacks or gets wrong at the standard's special values: ours
# (backends/vmath/complex_numba.py), imported by name into the kernel's module
COMPLEX_FUNCS: dict[OpCode, str] = {
    G.EXP: "complex_exp", G.EXPM1: "complex_expm1", G.LOG: "complex_log",
    G.LOG1P: "complex_log1p", G.LOG2: "complex_log2", G.LOG10: "complex_log10", G.SIN: "complex_sin", G.COS: "complex_cos", G.TAN: "complex_tan",
    G.SINH: "complex_sinh", G.COSH: "complex_cosh", G.TANH: "complex_tanh",
    G.ASIN: "complex_asin", G.ACOS: "complex_acos", G.ATAN: "complex_atan",
    G.ASINH: "complex_asinh", G.ACOSH: "complex_acosh", G.ATANH: "complex_atanh",
}

NUMBA_OPS: dict[OpCode, OpEntry] = {
    **COMMON_OPS,
    G.ADD: _arithmetic("+", "|"), G.SUBTRACT: _arithmetic("-"), G.MULTIPLY: _arithmetic("*", "&"),
    G.DIVIDE: _divide, G.FLOOR_DIVIDE: _floor_divide, G.REMAINDER: _wrapped("%"),
    G.POW: _pow,
    G.BITWISE_AND: _wrapped("&"), G.BITWISE_OR: _wrapped("|"), G.BITWISE_XOR: _wrapped("^"),
    G.LEFT_SHIFT: _left_shift, G.RIGHT_SHIFT: _right_shift,
    G.LOGICAL_AND: "(({0} != 0) & ({1} != 0))", G.LOGICAL_OR: "(({0} != 0) | ({1} != 0))",
    G.LOGICAL_XOR: "(({0} != 0) ^ ({1} != 0))",
    G.NEGATIVE: _negative, G.ABS: _abs, G.SIGN: _sign, G.SQUARE: _square,
    G.RECIPROCAL: _reciprocal, G.BITWISE_INVERT: _bitwise_invert, G.ISNAN: _isnan,
    G.ISINF: _libm(G.ISINF, lambda r, ops, od, out: "False", _complex_parts("np.isinf")),
    G.ISFINITE: _libm(G.ISFINITE, lambda r, ops, od, out: "True", _complex_parts("np.isfinite")),
    G.REAL: _real, G.IMAG: _imag, G.CONJ: _conj, G.ANGLE: _angle,
    G.SIGNBIT: _libm(G.SIGNBIT, _integer_signbit),
    **{code: _libm(code, _integer_rounding) for code in (G.FLOOR, G.CEIL, G.TRUNC)},
    G.ROUND: _libm(G.ROUND, _integer_rounding, _complex_round),
    **{code: _libm(code) for code in (
        G.SQRT, G.EXP, G.EXPM1, G.LOG, G.LOG1P, G.LOG2, G.LOG10, G.SIN, G.COS, G.TAN, G.ASIN,
        G.ACOS, G.ATAN, G.SINH, G.COSH, G.TANH, G.ASINH, G.ACOSH, G.ATANH, G.ERF, G.ERFC,
        G.ATAN2, G.HYPOT, G.LOGADDEXP, G.COPYSIGN, G.NEXTAFTER)},
    # reductions: the combine step acc = entry(acc, value)
    G.SUM: _sum, G.PROD: _prod, G.ALL: "{0} & ({1} != 0)", G.ANY: "{0} | ({1} != 0)",
    G.MAX: _nan_maxmin("nan_max", True), G.MIN: _nan_maxmin("nan_min", False),
    G.RANDOM_BITS: _random_bits,
}


def _vmath_table():
    try:
        from ..vmath import functions as vmath
    except ImportError:  # pragma: no cover - vmath is part of the package
        return {}
    public = {id(obj): name for name, obj in vars(vmath).items()
              if not name.startswith("_") and name.endswith(("_f32", "_f64"))}
    return {key: public[id(fn)] for key, fn in getattr(vmath, "VMATH", {}).items()
            if id(fn) in public}


def _exact_trig_table():
    try:
        from ..vmath.functions import exact_trig_names
    except ImportError:  # pragma: no cover - vmath is part of the package
        return {}
    return exact_trig_names()


_ASSIGNED = re.compile(r"^\s*(?:for\s+(\w+)\s+in\b|([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=[^=])")


def _rename_locals(lines: list[str], suffix: str, keep: frozenset = frozenset()) -> list[str]:
    """`lines` with every name they assign (loop variables included), except those in `keep`,
    renamed name + suffix: a second copy of a kernel body in the same function shares no local
    with the first (Numba takes a name assigned in a prange body and around it for a reduction
    variable)."""
    names = set()
    for text in lines:
        m = _ASSIGNED.match(text)
        if m:
            names.update(n.strip() for n in (m.group(1) or m.group(2)).split(","))
    names -= keep
    if not names:
        return lines
    pattern = re.compile(r"(?<![\w.])(" + "|".join(sorted(names, key=len, reverse=True)) +
                         r")\b")
    return [pattern.sub(lambda m: m.group(1) + suffix, text) for text in lines]


def column_order(k: LoopKernel) -> bool:
    """Whether kernel `k` reduces axes before the last (contiguous) dimension of its arrays,
    which runs along its last outer axis (`sum(x, axis=0)`, a mean over the sequence axis of
    (batch, seq, features), and row kernels such as a variance, a softmax or a
    standardization down the columns): then `render_columns` walks memory in order."""
    if not k.outer or not k.reduced:
        return False
    lasts = [next((a for a in reversed(n.index) if a is not None), None)
             for n in k.nodes if n.kind == "load" and sum(a is not None for a in n.index) >= 2]
    return bool(lasts) and 2 * sum(a == k.outer[-1] for a in lasts) > len(lasts)


def random_groups(k: LoopKernel) -> list[int]:
    """The `random_bits` nodes of an elementwise kernel when each can take its Philox words a
    block at a time along the innermost loop (`render_random_groups`): its counter runs along
    that axis last (consecutive elements, consecutive counters) and its key and offset do not
    vary along it. Else []."""
    if k.max_level or not k.outer or any(n.kind == "loop" for n in k.nodes):
        return []
    inner = k.outer[-1]
    found = [i for i, n in enumerate(k.nodes) if n.kind == "op" and n.code is G.RANDOM_BITS]
    for r in found:
        args = k.nodes[r].args
        counter = k.nodes[args[3]].value
        if not counter or counter[-1] != inner or any(inner in k.nodes[a].axes
                                                      for a in args[:3]):
            return []
    return found


def blocked_loop(k: LoopKernel) -> int | None:
    """The loop node of an elementwise kernel with one loop that varies along its innermost
    axis (`render_blocked_loop` interchanges it with a block of that axis), else None."""
    loops = [i for i, n in enumerate(k.nodes) if n.kind == "loop"]
    if len(loops) != 1 or k.max_level or not k.outer:
        return None
    return loops[0] if k.outer[-1] in k.nodes[loops[0]].axes else None


class NumbaRenderer(Renderer):
    cache_row_values = True
    ops = NUMBA_OPS
    target = "Numba"

    def __init__(self, use_vmath: bool = True, exact_trig: bool = False) -> None:
        super().__init__()
        self.vmath = _vmath_table() if use_vmath else {}
        # sin/cos/tan (vmath: exact for |x| <= TRIG_ACCURATE_MAX): (op, dtype) -> (exact
        # function, check); exact_trig renders the exact functions, else the fast ones with a
        # check of each argument max-reduced into `tbig` (`render`)
        self.exact_trig_names = _exact_trig_table() if use_vmath else {}
        self.exact_trig = exact_trig
        self.trig_checks: list[str] = []  # the checks of the next line's sin/cos/tan arguments
        self.trig_checked = False  # a line reduced a check into `tbig`
        self.lanes: dict[int, str] = {}  # random node -> its word in this lane (groups)
        self.renamed: dict[int, str] = {}  # axis -> the name of its index, where not i<axis>
        self.imports: set[str] = set()
        self.complex_imports: set[str] = set()  # from vmath/complex_numba.py
        self.intrinsics: set[str] = set()
        self.philox = False  # the kernel calls numba/philox.py's philox_bits

    # --- vmath calls, and sin/cos/tan of huge arguments ------------------------------------------
    def vmath_call(self, op: str, dtype: str, fn: str, ops: list[str]) -> str:
        exact = self.exact_trig_names.get((op, dtype))
        if exact is not None:
            if self.exact_trig:
                fn = exact[0]
            else:
                self.imports.add(exact[1])
                self.trig_checks.append(f"{exact[1]}({ops[0]})")
        self.imports.add(fn)
        return f"{fn}({', '.join(ops)})"

    def line(self, text: str) -> None:
        checks, self.trig_checks = list(dict.fromkeys(self.trig_checks)), []
        for check in checks:  # before the line: its operands are defined, a header or not
            super().line(f"tbig = max(tbig, {check})")
            self.trig_checked = True
        super().line(text)

    def render(self, k: LoopKernel, name: str, parallel: bool) -> str:
        """The kernel's function. vmath's sin/cos/tan reduce their argument exactly only for
        |x| <= TRIG_ACCURATE_MAX (vectorized Cody-Waite); beyond, exactly with Payne-Hanek,
        which is a branch and a call per element, and a loop with those does not vectorize.
        So a kernel that calls them computes with the fast functions, takes the max of
        `trig_big(x)` (int32 0 or 1) of every argument in `tbig` (a max reduction: vectorizes,
        and prange reduces it; int32 keeps float32 loops 16 lanes wide), and if it is 1 runs its
        body again with the exact functions (its locals renamed): every result is rewritten,
        which is safe because kernels never write into their inputs (backend.py)."""
        self.trig_checks, self.trig_checked = [], False
        fast = self.render_body(k, name, parallel)
        if not self.trig_checked:
            return fast
        exact = NumbaRenderer(exact_trig=True)
        exact.vmath, exact.exact_trig_names = self.vmath, self.exact_trig_names
        again = exact.render_body(k, name, parallel).rstrip("\n").split("\n")
        self.imports |= exact.imports
        self.intrinsics |= exact.intrinsics
        self.philox |= exact.philox
        head, *body = fast.rstrip("\n").split("\n")
        unit = self.indent_unit
        lines = [head, unit + "tbig = np.int32(0)", *body, unit + "if tbig != 0:"]
        lines += [unit + text for text in _rename_locals(again[1:], "_x")]
        return "\n".join(lines) + "\n"

    # --- types and values --------------------------------------------------------------------
    def type_name(self, d: DType) -> str:
        return _type_name(d)

    def convert(self, text: str, d: DType) -> str:
        return f"{self.type_name(d)}({text})"

    def literal(self, value, d: DType) -> str:
        if d.is_bool:
            return "True" if value else "False"
        if d.is_integer:
            return f"{self.type_name(d)}({int(value)})"
        if d.is_complex:
            z = complex(value)
            part = dt.real_dtype(d)
            return f"{self.type_name(d)}(complex({self.literal(z.real, part)}, " \
                   f"{self.literal(z.imag, part)}))"
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

    # --- column reductions ------------------------------------------------------------------------
    def render_body(self, k: LoopKernel, name: str, parallel: bool) -> str:
        if column_order(k):
            return self.render_columns(k, name, parallel)
        loop = blocked_loop(k)
        if loop is not None:
            return self.render_blocked_loop(k, name, parallel, loop)
        return super().render(k, name, parallel)

    # --- random numbers a block at a time ----------------------------------------------------------
    def render_nested_elementwise(self, parallel: bool) -> None:
        randoms = random_groups(self.k)
        if randoms:
            self.render_random_groups(parallel, randoms)
        else:
            super().render_nested_elementwise(parallel)

    def axis_var(self, a: int) -> str:
        return self.renamed.get(a, f"i{a}")

    def compute(self, ids: list[int]) -> None:
        for i in ids:
            if i in self.lanes:  # this lane's word of the block computed for the group
                self.declare(f"v{i}", self.lanes[i], self.k.nodes[i].dtype)
            else:
                super().compute([i])

    def render_random_groups(self, parallel: bool, randoms: list[int]) -> None:
        """An elementwise kernel with `random_bits` (`random_groups`): the innermost loop runs
        in groups of four consecutive elements whose counters fill one Philox block, computed
        once (`philox_block`) for the four (each element computing its own block is 4x the
        work, and does not vectorize: 15-20x slower, numba/philox.py). A few elements before
        the first whole block and after the last run one by one; so does a row whose random
        nodes are not aligned alike (their offsets differ mod 4)."""
        k = self.k
        todo = self.needed([o.node for o in k.outputs])
        stores = list(enumerate(k.outputs))
        *outer, inner = k.outer
        self.open_nested(outer, parallel, todo, stores)
        i, n = self.axis_var(inner), self.extent(inner)
        self.update(i, "0")
        for r in randoms:  # the counter of the row's first element
            args = k.nodes[r].args
            self.update(f"b{r}", f"v{args[2]} + {self.scalar(k.nodes[args[3]])}")
        first = randoms[0]
        # np.int64, not int(): Numba types int() of a uint64 so that prange mistypes the range
        self.update("hd", f"min(np.int64((np.uint64(4) - (b{first} & np.uint64(3))) & "
                          f"np.uint64(3)), {n})")
        for r in randoms[1:]:
            self.line(f"if (b{r} & np.uint64(3)) != (b{first} & np.uint64(3)):")
            self.line(f"    hd = {n}")
        self.update("ng", f"({n} - hd) // 4")

        def element() -> None:
            self.compute(todo)
            for j, o in stores:
                self.store_output(j, o)

        self.begin_loop(i, "0", "hd", False)
        element()
        self.end_block()
        self.begin_loop("grp", "0", "ng", parallel and not outer)
        # its own index name: a name also assigned in a prange body and around it makes Numba
        # take it for a reduction variable (and mistype it)
        self.renamed = {inner: f"j{inner}"}
        self.update("at", "hd + 4 * np.int64(grp)")  # a prange index may be unsigned
        for r in randoms:
            k0, k1 = k.nodes[r].args[:2]
            words = ", ".join(f"w{r}_{lane}" for lane in range(4))
            self.update(words, f"philox_block(v{k0}, v{k1}, (b{r} + np.uint64(at)) >> "
                               "np.uint64(2))")
        for lane in range(4):
            self.update(self.axis_var(inner), f"at + {lane}")
            self.lanes = {r: f"w{r}_{lane}" for r in randoms}
            element()
        self.lanes, self.renamed = {}, {}
        self.end_block()
        self.begin_loop(i, "hd + 4 * ng", n, False)
        element()
        self.end_block()
        for _ in outer:
            self.end_block()

    # --- elementwise loops ------------------------------------------------------------------------
    def render_blocked_loop(self, k: LoopKernel, name: str, parallel: bool, loop: int) -> str:
        """An elementwise kernel with a loop inside each element (`blocked_loop`), with the
        loop interchanged: the innermost axis runs in blocks of LOOP_BLOCK elements (parallel
        when it is the only axis), and per block the loop's iterations run outside a loop over
        the block's elements, whose carries (and the values the body reads) sit in small local
        arrays. That inner loop vectorizes; one element at a time (the carries in registers,
        the default walk) cannot, 5.8x slower on the Mandelbrot workload."""
        self.k, self.lines, self.depth = k, [], 0
        self.const_names = {id(k.nodes[i]): f"c{j}" for j, i in enumerate(k.constants)}
        self.begin_function(name, self.params(k), parallel)
        nodes, spec = k.nodes, k.nodes[loop].value
        *outer, inner = k.outer
        todo = self.needed([o.node for o in k.outputs])
        stores = list(enumerate(k.outputs))
        # what does not vary along the inner axis, where its axes are open
        self.open_nested(outer, parallel, todo, stores)
        i, n, block = self.axis_var(inner), self.extent(inner), LOOP_BLOCK
        self.begin_loop("blk", "0", f"({n} + {block - 1}) // {block}", parallel and not outer)
        self.update("lo", f"blk * {block}")
        self.update("hi", f"min(lo + {block}, {n})")
        body = set(spec.body)
        refs = {a for b in spec.body if nodes[b].kind != "carry" for a in nodes[b].args}
        reads = [r for r in sorted((refs | set(spec.next)) - body) if r in todo]
        carries = [f"lb{loop}_{j}" for j in range(len(spec.inits))]
        for arr, d in [(f"rb{r}", nodes[r].dtype) for r in reads] + \
                [(c, nodes[x].dtype) for c, x in zip(carries, spec.inits)]:
            self.declare_partials(arr, str(block), d)
        # before: the values the loop reads and its carries' initial values, per element
        self.begin_loop(i, "lo", "hi", False)
        self.compute([x for x in self.needed(list(nodes[loop].args)) if x in todo])
        self.update("j", f"{i} - lo")
        for r in reads:
            self.store(f"rb{r}", ["j"], f"v{r}")
        for c, x in zip(carries, spec.inits):
            self.store(c, ["j"], self.convert(f"v{x}", nodes[x].dtype))
        self.end_block()
        # the loop, around the block's elements
        self.begin_loop(f"t{loop}", "0", str(spec.length), False)
        self.begin_loop("j", "0", "hi - lo", False)
        for r in reads:
            self.declare(f"v{r}", self.load(f"rb{r}", ["j"]), nodes[r].dtype)
        for b in spec.body:
            nb = nodes[b]
            text = self.load(carries[nb.value], ["j"]) if nb.kind == "carry" else self.scalar(nb)
            self.declare(f"v{b}", text, nb.dtype)
        for c, x, nxt in zip(carries, spec.inits, spec.next):
            self.store(c, ["j"], self.convert(f"v{nxt}", nodes[x].dtype))
        self.end_block()
        self.end_block()
        # after: the results and what reads them, per element
        self.begin_loop(i, "lo", "hi", False)
        self.update("j", f"{i} - lo")
        after = [x for x in self.needed([o.node for _, o in stores], stop=loop)
                 if x in todo and x != loop]
        for x in after:
            if nodes[x].kind == "result":
                self.declare(f"v{x}", self.load(carries[nodes[x].value], ["j"]), nodes[x].dtype)
        self.compute([x for x in after if nodes[x].kind != "result"])
        for j, o in stores:
            self.store_output(j, o)
        for _ in range(len(outer) + 2):
            self.end_block()
        self.end_block()
        return "\n".join(self.lines) + "\n"

    def render_columns(self, k: LoopKernel, name: str, parallel: bool) -> str:
        """A reduction over the leading axes of row-major arrays (`sum(x, axis=0)`, a bias
        gradient, a variance or softmax down the columns), in memory order: each row's block
        of up to COLUMN_BLOCK columns is read whole (a full row when the block holds it: a
        row split in blocks read one after the other costs 3x on one thread), the rows split
        into at most MAX_ROW_CHUNKS chunks of the first reduced axis that run in parallel,
        each with its own accumulators, combined in order afterwards. One pass over the rows
        per reduction level (a variance: the mean, then the squared deviations), results
        that vary along the reduced axes written in the first pass (level 0) or in one more;
        then the per-column results. Sums add ROW_BLOCK rows in the value's dtype (full SIMD
        width), then that block into the float64 accumulator. The default order (outer axis
        outside) would read a column at a time, a cache line per element (a float32
        variance over axis 0: 0.5 GB/s). Leading outer axes (a batch before the reduced
        axes) loop outside it all, the first in parallel (the chunks of rows then serial)."""
        self.k, self.lines, self.depth = k, [], 0
        self.const_names = {id(k.nodes[i]): f"c{j}" for j, i in enumerate(k.constants)}
        self.begin_function(name, self.params(k), parallel)
        *lead, col = k.outer
        n = self.extent(col)
        reduced = set(k.reduced)
        first, last = k.reduced[0], k.reduced[-1]
        rows = [(j, o) for j, o in enumerate(k.outputs) if set(o.index) & reduced]
        flat = [(j, o) for j, o in enumerate(k.outputs) if (j, o) not in rows]
        first_rows = [(j, o) for j, o in rows if k.nodes[o.node].level == 0]
        late_rows = [(j, o) for j, o in rows if (j, o) not in first_rows]
        nf = self.extent(first)
        self.update("rpc", f"max({ROW_CHUNK}, ({nf} + {MAX_ROW_CHUNKS - 1}) // {MAX_ROW_CHUNKS})")
        self.update("nch", f"({nf} + rpc - 1) // rpc")
        for i, a in enumerate(lead):  # leading outer axes (a batch): the first in parallel
            self.begin_loop(self.axis_var(a), "0", self.extent(a), parallel and i == 0)
        inner_parallel = parallel and not lead  # Numba runs only the outer prange in parallel
        self.begin_loop("blk", "0", f"({n} + {COLUMN_BLOCK - 1}) // {COLUMN_BLOCK}", False)
        self.update("lo", f"blk * {COLUMN_BLOCK}")
        self.update("hi", f"min(lo + {COLUMN_BLOCK}, {n})")
        done: set[int] = set()
        sections = itertools.count(1)

        def columns(var: str) -> None:
            self.begin_loop(var, "lo", "hi", False)

        def column_values(targets: list[int], keep=lambda i: True) -> None:
            """In a column loop: the finished reductions `targets` need (from their
            accumulators), then the nodes themselves."""
            c = self.axis_var(col)
            need = [i for i in self.needed(targets) if keep(i)]
            for r in need:
                nd = k.nodes[r]
                if nd.kind == "reduce" and r in done:
                    acc = self.load(f"acc{r}", [f"{c} - lo"])
                    self.declare(f"v{r}", self.cast(acc, self.acc_dtype(nd), nd.dtype), nd.dtype)
            self.compute(need)

        def over_rows(body, reds: list[int]) -> None:
            """A parallel pass over the chunks of rows, `body()` in the column loop; with
            `reds`, each chunk's partials (blocks of ROW_BLOCK rows) into `part<r>[chunk]`.
            Its locals are renamed apart from every other pass's (`_rename_locals`)."""
            start = len(self.lines)
            c = self.axis_var(col)
            self.begin_loop("chunk", "0", "nch", inner_parallel)
            self.update("rlo", "chunk * rpc")
            self.update("rhi", f"min(rlo + rpc, {nf})")
            for r in reds:
                nd = k.nodes[r]
                d = self.acc_dtype(nd)
                self.declare_partials(f"pa{r}", str(COLUMN_BLOCK), d)
                self.declare_partials(f"b{r}", str(COLUMN_BLOCK), nd.dtype)
                columns(c)
                self.store(f"pa{r}", [f"{c} - lo"], self.identity(nd.code, d))
                self.end_block()
            opened = 0
            for a in k.reduced[:-1]:
                lo_a, hi_a = ("rlo", "rhi") if a == first else ("0", self.extent(a))
                self.begin_loop(self.axis_var(a), lo_a, hi_a, False)
                opened += 1
            lo_l, hi_l = ("rlo", "rhi") if last == first else ("0", self.extent(last))
            self.begin_loop("rb", lo_l, hi_l, False, step=str(ROW_BLOCK))
            if reds:
                columns(c)
                for r in reds:
                    nd = k.nodes[r]
                    self.store(f"b{r}", [f"{c} - lo"], self.identity(nd.code, nd.dtype))
                self.end_block()
            self.begin_loop(self.axis_var(last), "rb", f"min(rb + {ROW_BLOCK}, {hi_l})", False)
            columns(c)
            body()
            self.end_block()
            self.end_block()
            if reds:
                columns(c)  # the block of rows into the chunk's accumulators
                for r in reds:
                    nd = k.nodes[r]
                    d = self.acc_dtype(nd)
                    pa, b = self.load(f"pa{r}", [f"{c} - lo"]), self.load(f"b{r}", [f"{c} - lo"])
                    self.store(f"pa{r}", [f"{c} - lo"],
                               self.combine(nd.code, d, pa, self.cast(b, nd.dtype, d)))
                self.end_block()
            self.end_block()
            for _ in range(opened):
                self.end_block()
            if reds:
                columns(c)
                for r in reds:
                    self.store(f"part{r}", ["chunk", f"{c} - lo"], self.load(f"pa{r}", [f"{c} - lo"]))
                self.end_block()
            self.end_block()
            # tbig: the flag of huge trig arguments, a reduction over every pass (render)
            self.lines[start:] = _rename_locals(self.lines[start:], f"_p{next(sections)}",
                                                frozenset({"tbig"}))

        for level in range(1, k.max_level + 1):
            reds = [i for i, nd in enumerate(k.nodes) if nd.kind == "reduce" and nd.level == level]
            for r in reds:
                self.line(f"part{r} = np.empty((nch, {COLUMN_BLOCK}), "
                          f"{self.type_name(self.acc_dtype(k.nodes[r]))})")
            stores = first_rows if level == 1 else []

            def accumulate(reds=reds, stores=stores) -> None:
                c = self.axis_var(col)
                column_values([k.nodes[r].args[0] for r in reds] + [o.node for _, o in stores])
                for r in reds:
                    nd = self.k.nodes[r]
                    value = self.cast(f"v{nd.args[0]}", nd.arg_dtypes[0], nd.dtype)
                    b = self.load(f"b{r}", [f"{c} - lo"])
                    self.store(f"b{r}", [f"{c} - lo"], self.combine(nd.code, nd.dtype, b, value))
                for j, o in stores:
                    self.store_output(j, o)
            over_rows(accumulate, reds)
            for r in reds:  # the chunks' partials, in order
                nd = k.nodes[r]
                d = self.acc_dtype(nd)
                self.declare_partials(f"acc{r}", str(COLUMN_BLOCK), d)
                columns("jc")
                self.store(f"acc{r}", ["jc - lo"], self.identity(nd.code, d))
                self.end_block()
                self.begin_loop("jch", "0", "nch", False)
                columns("jc")
                acc = self.load(f"acc{r}", ["jc - lo"])
                self.store(f"acc{r}", ["jc - lo"],
                           self.combine(nd.code, d, acc, self.load(f"part{r}", ["jch", "jc - lo"])))
                self.end_block()
                self.end_block()
            done.update(reds)
        if late_rows:
            def write() -> None:
                column_values([o.node for _, o in late_rows])
                for j, o in late_rows:
                    self.store_output(j, o)
            over_rows(write, [])
        if flat:
            columns(self.axis_var(col))
            column_values([o.node for _, o in flat],
                          lambda i: k.nodes[i].level > 0 or not (k.nodes[i].axes & reduced))
            for j, o in flat:
                self.store_output(j, o)
            self.end_block()
        for _ in range(len(lead) + 2):
            self.end_block()
        return "\n".join(self.lines) + "\n"

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

    # --- the hooks the op table uses ---------------------------------------------------------
    def select(self, cond: str, x: str, y: str) -> str:
        return f"({x} if {cond} else {y})"

    def maxmin(self, is_max: bool, a: str, b: str, d: DType) -> str:
        op = ">" if is_max else "<"
        if d.is_float:  # NaN in either propagates; a tie returns b, as NumPy's loop does
            return f"({a} if (({a} {op} {b}) | ({a} != {a})) else {b})"
        return f"({a} if {a} {op} {b} else {b})"
