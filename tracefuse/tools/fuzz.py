"""Differential fuzzing: random array programs run on NumPy, tracefuse eager and every backend.

This module owns the fuzzer (docs/reliability.md): the program generator, the comparison
rules and the runnable-script printer; fuzz_run.py runs programs against the backends
(`check_program`, `minimize`, `python -m tracefuse fuzz`).

- A `Program` is a list of inputs (exact values plus a memory layout: C order, transposed,
  strided, negative strides) and a list of `Step`s. Each step is one op written as a Python
  expression template (`"{ns}.add({0}, {1})"`), once for tracefuse and once for NumPy, so one
  program renders to two straight-line functions, `f_tx` and `f_np`, that are `exec`ed to run
  it: (a) eagerly (`f_tx` on `tx.asarray` inputs), (b) compiled (`tx.function(f_tx,
  backend=b)` on the raw NumPy views), (c) on NumPy (`f_np`), and (d) printed as a
  self-contained script (`Program.script()`).
- `generate(chooser)` builds a program choice by choice. The chooser is either hypothesis's
  `draw` (`programs()` strategy: failures shrink to a minimal program) or a
  `random.Random(seed)` (the long CLI run). Every step is evaluated with NumPy while it is
  generated: a step NumPy rejects (raises: int ** negative, an out-of-range Python int,
  reductions of empty axes without identity) is dropped and another drawn, and steps whose
  NumPy result is undefined are never proposed (float -> int casts of NaN, inf or
  out-of-range values; discontinuous ops on values that carry rounding differences).
- `compare` checks dtype and shape, ints and bools exactly, floats within `tolerance()`.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float32", "float64")
ALL_DTYPES = ("bool",) + INT_DTYPES + FLOAT_DTYPES
# input shapes come from a small pool so compiled kernels repeat (Numba ~0.5-1 s per new one)
SHAPES = [(), (0,), (1,), (5,), (3, 4), (4, 1), (1, 4), (2, 1, 3), (2, 3, 4), (3, 0)]
LAYOUTS = ("c", "transposed", "strided", "flipped")
MAX_SIZE = 4096

# relative tolerance per float dtype (tests/oracle.py's RTOL): a few ulps of elementwise math
RTOL = {"float32": 2e-5, "float64": 1e-12}


# ----------------------------------------------------------------------------- choosers
class Chooser:
    """Where the generator's choices come from."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def choice(self, seq: Sequence) -> Any:
        return seq[self.integer(0, len(seq) - 1)]

    def boolean(self) -> bool:
        return bool(self.integer(0, 1))


class RandomChooser(Chooser):
    def __init__(self, rnd: random.Random):
        self.rnd = rnd

    def integer(self, lo: int, hi: int) -> int:
        return self.rnd.randint(lo, hi)


class DrawChooser(Chooser):
    """hypothesis `draw`: integers shrink towards lo, so list the simplest option first."""

    def __init__(self, draw):
        from hypothesis import strategies as st

        self.draw, self.st = draw, st

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))


# ----------------------------------------------------------------------------- programs
@dataclasses.dataclass
class Input:
    values: np.ndarray  # C-contiguous logical values
    layout: str

    def make(self) -> np.ndarray:
        """The values in this input's memory layout (a view that is not C-contiguous)."""
        v = self.values
        if self.layout == "transposed" and v.ndim >= 2:
            return np.ascontiguousarray(v.T).T
        if self.layout == "strided" and v.ndim >= 1:
            buf = np.zeros(v.shape[:-1] + (v.shape[-1] * 2 + 1,), v.dtype)
            buf[..., 1::2] = v
            return buf[..., 1::2]
        if self.layout == "flipped" and v.ndim >= 1:
            return np.flip(np.flip(v).copy())
        return v.copy()

    def source(self, name: str) -> str:
        v = self.values
        lines = [f"# {v.dtype}{list(v.shape)} values: "
                 + np.array2string(v.reshape(-1), threshold=64, max_line_width=10**6, separator=", "),
                 f"{name} = np.frombuffer(bytes.fromhex({v.tobytes().hex()!r}), "
                 f"np.{v.dtype}).reshape({v.shape!r}).copy()"]
        if self.layout == "transposed" and v.ndim >= 2:
            lines.append(f"{name} = np.ascontiguousarray({name}.T).T  # layout: transposed view")
        elif self.layout == "strided" and v.ndim >= 1:
            lines += [f"_buf = np.zeros({name}.shape[:-1] + ({name}.shape[-1] * 2 + 1,), {name}.dtype)",
                      f"_buf[..., 1::2] = {name}",
                      f"{name} = _buf[..., 1::2]  # layout: strided view"]
        elif self.layout == "flipped" and v.ndim >= 1:
            lines.append(f"{name} = np.flip(np.flip({name}).copy())  # layout: negative strides")
        return "\n".join(lines)


@dataclasses.dataclass
class Step:
    tx_expr: str  # a template over {ns} and operand names {0}, {1}...
    np_expr: str
    args: tuple[int, ...]  # indices of earlier values


@dataclasses.dataclass
class Value:
    """What the generator knows about a value: its NumPy result and error bookkeeping."""
    arr: np.ndarray
    exact: bool  # no rounding differences allowed so far: discontinuous ops may use it
    mag: float  # the largest finite magnitude in its history (for the absolute tolerance)
    terms: int  # inexact ops and summed terms in its history (scales the tolerance)
    coarse: str = ""  # the least precise float dtype an inexact op in its history computed in
    zero_sign: bool = True  # False after a clip: NumPy's own loops disagree on clip(-0.0, 0.0, 3)


@dataclasses.dataclass
class Program:
    inputs: list[Input]
    steps: list[Step]
    outputs: list[int]
    tols: list[tuple[float, float, bool]]  # per output: rtol, atol, check the sign of zero

    def _names(self) -> list[str]:
        return [f"x{i}" for i in range(len(self.inputs))] + [
            f"v{i}" for i in range(len(self.inputs), len(self.inputs) + len(self.steps))]

    def function_source(self, which: str) -> str:
        names = self._names()
        ns = "tx" if which == "tx" else "np"
        lines = [f"def f_{which}({', '.join(names[:len(self.inputs)])}):"]
        for i, step in enumerate(self.steps):
            tmpl = step.tx_expr if which == "tx" else step.np_expr
            expr = tmpl.format(*[names[a] for a in step.args], ns=ns)
            lines.append(f"    {names[len(self.inputs) + i]} = {expr}")
        lines.append(f"    return ({''.join(names[o] + ', ' for o in self.outputs)})")
        return "\n".join(lines) + "\n"

    def functions(self):
        import tracefuse as tx

        namespace = {"tx": tx, "np": np}
        exec(compile(self.function_source("tx") + self.function_source("np"),
                     "<fuzz program>", "exec"), namespace)
        return namespace["f_tx"], namespace["f_np"]

    def make_inputs(self) -> list[np.ndarray]:
        return [inp.make() for inp in self.inputs]

    def expected(self) -> tuple:
        _, f_np = self.functions()
        with np.errstate(all="ignore"):
            return tuple(np.asarray(r) for r in f_np(*self.make_inputs()))

    def run(self, mode: str) -> tuple:
        """The results (NumPy arrays) of tracefuse eagerly (mode "eager") or compiled."""
        import tracefuse as tx

        f_tx, _ = self.functions()
        xs = self.make_inputs()
        if mode == "eager":
            out = f_tx(*[tx.asarray(x) for x in xs])
        else:
            out = tx.function(f_tx, backend=mode)(*xs)
        return tuple(out)

    def check(self, mode: str, expected: tuple | None = None) -> str | None:
        """None when `mode` agrees with NumPy, else what differs."""
        expected = self.expected() if expected is None else expected
        got = self.run(mode)
        if len(got) != len(expected):
            return f"{mode}: {len(got)} results, NumPy {len(expected)}"
        for i, (g, e, (rtol, atol, zsign)) in enumerate(zip(got, expected, self.tols)):
            msg = compare(g, e, rtol=rtol, atol=atol, zero_sign=zsign)
            if msg:
                return f"{mode}: result {i} ({self._names()[self.outputs[i]]}): {msg}"
        return None

    def script(self, modes: Sequence[str] = ("eager", "numpy", "cpu", "gpu-sim"),
               note: str = "") -> str:
        """A self-contained Python script that rebuilds the inputs exactly and reruns the check."""
        head = '"""tracefuse differential fuzz case (tracefuse/fuzz.py)'
        if note:
            head += "\n\n" + "\n".join("    " + ln for ln in note.strip().splitlines())
        parts = [head + '\n"""', "import numpy as np", "import tracefuse as tx",
                 "from tracefuse.tools.fuzz import compare", "",
                 self.function_source("tx"), self.function_source("np")]
        for i, inp in enumerate(self.inputs):
            parts.append(inp.source(f"x{i}"))
        args = ", ".join(f"x{i}" for i in range(len(self.inputs)))
        targs = ", ".join(f"tx.asarray(x{i})" for i in range(len(self.inputs)))
        parts.append(f"""
TOLS = {self.tols!r}  # per result: rtol, atol, compare the sign of zero
with np.errstate(all="ignore"):
    expected = [np.asarray(r) for r in f_np({args})]
bad = 0
for mode in {list(modes)!r}:
    try:
        got = f_tx({targs}) if mode == "eager" else tx.function(f_tx, backend=mode)({args})
    except Exception as e:  # noqa: BLE001
        print(mode, "raised", type(e).__name__, e)
        bad += 1
        continue
    for i, (g, e, (rtol, atol, zs)) in enumerate(zip(got, expected, TOLS)):
        msg = compare(g, e, rtol=rtol, atol=atol, zero_sign=zs)
        print(mode, i, "ok" if msg is None else msg)
        bad += msg is not None
    if not bad:
        pass
print("expected:", expected)
raise SystemExit(1 if bad else 0)
""")
        return "\n".join(parts)


# ----------------------------------------------------------------------------- comparison
def tolerance(dtype: np.dtype, mag: float, terms: int, coarse: str = "") -> tuple[float, float]:
    """(rtol, atol) for a float result: RTOL[dtype] times the number of inexact ops and summed
    terms behind it, plus an absolute term eps * terms * (largest magnitude in its history),
    which covers cancellation after rounding differences (sums in another order, a
    transcendental a few ulps off). `coarse`: a less precise float dtype that an inexact op in
    its history computed in (a float32 expm1 later multiplied in float64): its errors count."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return 0.0, 0.0
    dtype = _coarser(dtype, coarse)
    eps = float(np.finfo(dtype).eps)
    n = max(1, terms)
    return RTOL[dtype.name] * n, 4.0 * eps * n * (mag if np.isfinite(mag) else 0.0)


def _coarser(dtype: np.dtype, other: str) -> np.dtype:
    if other and np.finfo(np.dtype(other)).eps > np.finfo(dtype).eps:
        return np.dtype(other)
    return dtype


def compare(got: Any, expected: Any, *, rtol: float, atol: float, zero_sign: bool = True) -> str | None:
    """None when `got` (a tx.Tensor or array) matches NumPy's `expected`, else a message."""
    g = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    e = np.asarray(expected)
    if g.dtype != e.dtype:
        return f"dtype {g.dtype} != NumPy's {e.dtype}"
    if g.shape != e.shape:
        return f"shape {g.shape} != NumPy's {e.shape}"
    if g.dtype.kind in "biu":
        bad = g != e
    else:
        with np.errstate(all="ignore"):
            fin = np.isfinite(e)
            bad = np.isnan(g) != np.isnan(e)
            bad |= ~fin & ~np.isnan(e) & (g != e)
            bad |= fin & ~(np.abs(g.astype(np.float64) - e) <= atol + rtol * np.abs(e.astype(np.float64)))
            if zero_sign:
                bad |= fin & (e == 0) & (g == 0) & (np.signbit(g) != np.signbit(e))
    if not np.any(bad):
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if g.ndim else ()
    return (f"{int(np.sum(bad))} of {g.size} elements differ; first at {list(idx)}: got "
            f"{g[idx]!r}, NumPy {e[idx]!r} (rtol={rtol:.3g}, atol={atol:.3g})")


# ----------------------------------------------------------------------------- generator
FLOAT_UNARY = ["exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "tanh",
               "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"]
EXACT_FLOAT_UNARY = ["sqrt"]
SAME_UNARY = ["negative", "positive", "abs", "square", "sign", "floor", "ceil", "trunc", "round"]
PRED_UNARY = ["isnan", "isinf", "isfinite", "signbit"]
ARITH = ["add", "subtract", "multiply", "maximum", "minimum"]
FLOAT_BINARY = ["atan2", "hypot", "logaddexp"]  # float results, inexact
COMPARE = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
LOGICAL = ["logical_and", "logical_or", "logical_xor"]
BITWISE = ["bitwise_and", "bitwise_or", "bitwise_xor"]
SHIFTS = ["bitwise_left_shift", "bitwise_right_shift"]
NP_NAME = {"bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift",
           "bitwise_invert": "invert", "atan2": "arctan2"}
REDUCTIONS = ["sum", "prod", "max", "min", "mean", "var", "std", "all", "any"]


def _kind(a: np.ndarray) -> str:
    return a.dtype.kind  # b i u f


def _fmt_scalar(v) -> str:
    if isinstance(v, float):
        if np.isnan(v):
            return "float('nan')"
        if np.isinf(v):
            return "float('inf')" if v > 0 else "float('-inf')"
    return repr(v)


def _random_values(c: Chooser, shape: tuple, dtype: str) -> np.ndarray:
    seed = c.integer(0, 2**16)
    special = c.integer(0, 2)  # 0: plain values; 1: some special values; 2: many
    rng = np.random.default_rng(seed)
    d = np.dtype(dtype)
    n = int(np.prod(shape))
    if d.kind == "b":
        return (rng.random(n) < 0.5).reshape(shape)
    if d.kind in "iu":
        info = np.iinfo(d)
        vals = rng.integers(max(info.min, -6), 7, size=n).astype(d)
        if special and n:
            extremes = np.array([info.min, info.max, 0, 1, info.max // 2 + 1, info.min + 1 if info.min else 2],
                                dtype=d)
            mask = rng.random(n) < (0.2 if special == 1 else 0.6)
            vals[mask] = rng.choice(extremes, size=int(mask.sum()))
        return vals.reshape(shape)
    vals = rng.uniform(-4, 4, size=n)
    ties = rng.random(n) < 0.3
    vals[ties] = np.round(vals[ties])  # repeated values: ties for argmax, equal comparisons
    vals = vals.astype(d)
    if special and n:
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e30 if d == np.float32 else 1e300,
                             float(np.finfo(d).tiny), -float(np.finfo(d).max)], dtype=d)
        mask = rng.random(n) < (0.15 if special == 1 else 0.5)
        vals[mask] = rng.choice(specials, size=int(mask.sum()))
    return vals.reshape(shape)


def _broadcast_shape_like(c: Chooser, shape: tuple) -> tuple:
    """A shape that broadcasts with `shape`: some dims set to 1, some leading dims dropped."""
    drop = c.integer(0, len(shape))
    out = tuple(1 if c.integer(0, 2) == 0 else d for d in shape[drop:])
    return out


def _gen_inputs(c: Chooser) -> list[Input]:
    n = c.integer(1, 3)
    base = c.choice(SHAPES)
    inputs = []
    for i in range(n):
        shape = base if i == 0 else (_broadcast_shape_like(c, base) if c.integer(0, 3) else c.choice(SHAPES))
        dtype = c.choice(("float32",) + ALL_DTYPES)
        layout = c.choice(LAYOUTS)
        inputs.append(Input(_random_values(c, shape, dtype), layout))
    return inputs


class _Reject(Exception):
    pass


def _slice_expr(c: Chooser, shape: tuple) -> str:
    items = []
    for d in shape:
        k = c.integer(0, 4)
        if k == 0:
            items.append(":")
        elif k == 1 and d > 0:
            items.append(str(c.integer(-d, d - 1)))
        elif k == 2:
            items.append("::-1")
        else:
            start = c.integer(-d - 1, d + 1)
            stop = c.integer(-d - 1, d + 1)
            step = c.choice([1, 2, -1, -2, 3])
            items.append(f"{start}:{stop}:{step}")
    if c.integer(0, 3) == 0:
        items.insert(c.integer(0, len(items)), "None")
    if len(items) and c.integer(0, 4) == 0:
        items = items[:-1] + ["..."] if "..." not in items else items
    return "[" + ", ".join(items) + "]" if items else "[...]"


def _reshape_target(c: Chooser, shape: tuple) -> tuple:
    size = int(np.prod(shape))
    k = c.integer(0, 3)
    if k == 0:
        return (-1,) if size else (0,)
    if k == 1:
        return tuple(shape) + (1,)
    if k == 2 and size:
        divs = [d for d in range(1, size + 1) if size % d == 0]
        a = c.choice(divs)
        return (a, -1)
    return (1,) + tuple(shape)


def _propose(c: Chooser, vals: list[Value]) -> tuple[Step, bool, int, float]:
    """One step over earlier values: (step, exact, extra terms, magnitude override)."""
    n = len(vals)

    def pick(pred=lambda v: True):
        ids = [i for i in range(n) if pred(vals[i])]
        if not ids:
            raise _Reject
        # favour recent values so programs chain
        return ids[-1 - min(c.integer(0, 3), len(ids) - 1)] if c.boolean() else c.choice(ids)

    kind = c.choice(["unary", "binary", "move", "reduce", "scalar", "unary", "binary", "move",
                     "cast", "compare", "unary", "binary", "move", "reduce", "scalar", "where",
                     "clip", "concat", "matmul", "argmax"])
    a = pick()
    A = vals[a]
    ak = _kind(A.arr)
    if kind == "unary":
        sub = c.integer(0, 4)
        if sub == 0:
            fn = c.choice(FLOAT_UNARY + EXACT_FLOAT_UNARY)
            if fn in ("sin", "cos", "tan") and _finite_mag(A.arr.astype(np.float64)) > 2.0**40:
                raise _Reject  # documented: Cody-Waite reduction beyond 2**45 (docs/vmath.md)
            np_x = "{0}" if ak == "f" else "np.astype({0}, np.float64)"
            return Step("{ns}.%s({0})" % fn, f"np.{fn}({np_x})", (a,)), fn in EXACT_FLOAT_UNARY, 1, 0.0
        if sub == 1:
            if ak == "b":
                return Step("{ns}.logical_not({0})", "np.logical_not({0})", (a,)), True, 0, 0.0
            fn = c.choice(SAME_UNARY)
            if fn in ("sign", "floor", "ceil", "trunc", "round") and not A.exact:
                raise _Reject
            return Step("{ns}.%s({0})" % fn, f"np.{fn}({{0}})", (a,)), True, 0, 0.0
        if sub == 2 and ak in "biu":
            return Step("{ns}.bitwise_invert({0})", "np.invert({0})", (a,)), True, 0, 0.0
        if sub == 3 and ak == "f":
            if not A.exact:
                raise _Reject
            fn = c.choice(PRED_UNARY)
            return Step("{ns}.%s({0})" % fn, f"np.{fn}({{0}})", (a,)), True, 0, 0.0
        if ak == "b":
            raise _Reject
        fn = c.choice(["negative", "abs", "square"])
        return Step("{ns}.%s({0})" % fn, f"np.{fn}({{0}})", (a,)), True, 0, 0.0
    if kind in ("binary", "compare", "scalar"):
        if kind == "scalar":
            bk = c.choice(["int", "float", "bool"])
            if bk == "int":
                lit = c.choice([0, 1, 2, -1, 3, -7, 100, 127, 255, -128, 2**31 - 1])
            elif bk == "float":
                lit = c.choice([0.5, 2.0, -3.0, 0.0, -0.0, 1e-3, float("inf"), float("nan"), 1e10])
            else:
                lit = c.boolean()
            lit_s = _fmt_scalar(lit)
            b, Bk, bexact = None, {"int": "i", "float": "f", "bool": "b"}[bk], True
            swap = c.boolean()
        else:
            b = pick(lambda v: _broadcastable(v.arr.shape, A.arr.shape))
            Bk, bexact = _kind(vals[b].arr), vals[b].exact
            swap = False
        kinds = {ak, Bk}
        if kind == "compare":
            fn = c.choice(COMPARE)
            tmpl = "{ns}.%s(%s)" % (fn, "{0}, {1}")
            np_t = f"np.{fn}({{0}}, {{1}})"
            exact_needed, res_exact, terms = True, True, 0
        else:
            pool = ARITH + ["divide", "floor_divide", "remainder", "power"]
            if kinds <= {"b"}:
                pool = LOGICAL + BITWISE + ["maximum", "minimum", "multiply", "add"]
            elif kinds <= {"i", "u", "b"}:
                pool = pool + BITWISE + SHIFTS * 2
            if "f" in kinds or c.integer(0, 3) == 0:
                pool = pool + FLOAT_BINARY
            fn = c.choice(pool)
            npfn = NP_NAME.get(fn, fn)
            tmpl = "{ns}.%s({0}, {1})" % fn
            np_t = f"np.{npfn}({{0}}, {{1}})"
            if fn in ("divide",) + tuple(FLOAT_BINARY) and "f" not in kinds:
                np_t = f"np.{npfn}(np.asarray({{0}}).astype(np.float64), np.asarray({{1}}).astype(np.float64))"
            exact_needed = fn in ("floor_divide", "remainder") and "f" in kinds
            res_exact = fn not in FLOAT_BINARY and fn != "power"
            terms = 0 if res_exact else 1
        if exact_needed and not (A.exact and bexact):
            raise _Reject
        if kind == "scalar":
            def sub(t):
                if swap:
                    return t.replace("{0}", "\0").replace("{1}", "{0}").replace("\0", lit_s)
                return t.replace("{1}", lit_s)
            return Step(sub(tmpl), sub(np_t), (a,)), res_exact and A.exact, terms, 0.0
        return Step(tmpl, np_t, (a, b)), res_exact and A.exact and bexact, terms, 0.0
    if kind == "reduce":
        fn = c.choice(REDUCTIONS)
        if fn in ("max", "min", "all", "any") or ak != "f":
            exact, terms = A.exact, 0
        else:
            exact, terms = False, max(1, A.arr.size)
        if fn in ("var", "std") and ak == "f" and A.exact is False:
            pass
        kw = _axis_kw(c, A.arr.ndim, allow_tuple=True)
        mag = 0.0
        if fn == "var":
            mag = min(_finite_mag(A.arr), 1e150) ** 2 if ak == "f" else 0.0
        return Step("{ns}.%s({0}%s)" % (fn, kw), f"np.{fn}({{0}}{kw})", (a,)), exact, terms, mag
    if kind == "argmax":
        if ak == "f" and not A.exact:
            raise _Reject
        fn = c.choice(["argmax", "argmin"])
        kw = _axis_kw(c, A.arr.ndim, allow_tuple=False)
        return Step("{ns}.%s({0}%s)" % (fn, kw), f"np.{fn}({{0}}{kw})", (a,)), True, 0, 0.0
    if kind == "move":
        shape = A.arr.shape
        nd = len(shape)
        sub = c.integer(0, 7)
        if sub == 0:
            t = _reshape_target(c, shape)
            e = "{ns}.reshape({0}, %r)" % (t,)
        elif sub == 1 and nd:
            perm = list(range(nd))
            for i in range(nd - 1, 0, -1):
                j = c.integer(0, i)
                perm[i], perm[j] = perm[j], perm[i]
            e = "{ns}.permute_dims({0}, %r)" % (tuple(perm),)
        elif sub == 2:
            e = "{ns}.expand_dims({0}, axis=%d)" % c.integer(-nd - 1, nd)
        elif sub == 3 and 1 in shape:
            ones = [i for i, d in enumerate(shape) if d == 1]
            e = "{ns}.squeeze({0}, axis=%d)" % c.choice(ones)
        elif sub == 4:
            t = (c.choice([1, 2, 3]),) + tuple(d if d != 1 else c.choice([1, 3]) for d in shape)
            e = "{ns}.broadcast_to({0}, %r)" % (t,)
        elif sub == 5:
            ax = "" if (not nd or c.boolean()) else ", axis=%d" % c.integer(-nd, nd - 1)
            e = "{ns}.flip({0}%s)" % ax
        elif sub == 6 and nd:
            e = "{0}.T" if nd == 2 else "{ns}.matrix_transpose({0})" if nd > 2 else "{0}[::-2]"
        else:
            e = "{0}" + _slice_expr(c, shape)
        return Step(e, e, (a,)), A.exact, 0, 0.0
    if kind == "cast":
        target = c.choice(ALL_DTYPES)
        if ak == "f" and np.dtype(target).kind in "biu":
            if not A.exact:
                raise _Reject
            if np.dtype(target).kind in "iu":
                x = A.arr.astype(np.float64)
                info = np.iinfo(target)
                if not np.all(np.isfinite(x)) or np.any(x <= float(info.min) - 1) or np.any(x >= 2.0 ** info.bits / (2 if info.min else 1)):
                    raise _Reject
        e = "{ns}.astype({0}, {ns}.%s)" % target
        return Step(e, e, (a,)), A.exact, 0, 0.0
    if kind == "where":
        cnd = pick(lambda v: v.arr.dtype == np.bool_)
        b = pick(lambda v: _broadcastable(v.arr.shape, A.arr.shape))
        if not _broadcastable(vals[cnd].arr.shape, np.broadcast_shapes(A.arr.shape, vals[b].arr.shape)):
            raise _Reject
        e = "{ns}.where({0}, {1}, {2})"
        return Step(e, e, (cnd, a, b)), A.exact and vals[b].exact, 0, 0.0
    if kind == "clip":
        if ak == "b":
            raise _Reject
        if ak == "f":
            lo, hi = c.choice([-1.0, 0.0, -0.5, 2.0]), c.choice([1.0, 3.0, -2.0])
        else:
            lo, hi = c.choice([0, 1, 5]), c.choice([3, 100, 0])
        e = "{ns}.clip({0}, %r, %r)" % (lo, hi)
        return Step(e, e, (a,)), A.exact, 0, 0.0
    if kind == "concat":
        nd = A.arr.ndim
        if not nd:
            raise _Reject
        ax = c.integer(-nd, nd - 1)
        ok = lambda v: v.arr.ndim == nd and all(  # noqa: E731
            d1 == d2 for i, (d1, d2) in enumerate(zip(v.arr.shape, A.arr.shape)) if i != ax % nd)
        b = pick(ok)
        e = "{ns}.concat([{0}, {1}], axis=%d)" % ax
        return Step(e, e, (a, b)), A.exact and vals[b].exact, 0, 0.0
    if kind == "matmul":
        if ak == "b" or A.arr.ndim == 0:
            raise _Reject
        k = A.arr.shape[-1]
        cand = [i for i in range(n) if vals[i].arr.ndim >= 1 and _kind(vals[i].arr) != "b"
                and (vals[i].arr.shape[-2] if vals[i].arr.ndim >= 2 else vals[i].arr.shape[0]) == k]
        if cand and c.boolean():
            b = c.choice(cand)
            e = "{ns}.matmul({0}, {1})"
            args = (a, b)
        else:
            e = "{ns}.matmul({0}, {ns}.matrix_transpose({0}))" if A.arr.ndim >= 2 else "{ns}.matmul({0}, {0})"
            args = (a,)
        inexact = any(_kind(vals[i].arr) == "f" for i in args)
        return Step(e, e, args), A.exact and not inexact, max(1, k) if inexact else 0, 0.0
    raise _Reject


def _broadcastable(s1: tuple, s2: tuple) -> bool:
    try:
        np.broadcast_shapes(s1, s2)
        return True
    except ValueError:
        return False


def _axis_kw(c: Chooser, nd: int, allow_tuple: bool) -> str:
    k = c.integer(0, 3)
    if k == 0 or nd == 0:
        axis = ""
    elif k == 1 or not allow_tuple or nd < 2:
        axis = ", axis=%d" % c.integer(-nd, nd - 1)
    else:
        axes = sorted({c.integer(0, nd - 1) for _ in range(2)})
        axis = ", axis=%r" % (tuple(axes),)
    return axis + (", keepdims=True" if c.boolean() else "")


def _finite_mag(arr: np.ndarray) -> float:
    if arr.dtype.kind != "f" or not arr.size:
        return 0.0
    fin = np.abs(arr[np.isfinite(arr)])
    return min(float(fin.max()), 1e300) if fin.size else 0.0


def generate(c: Chooser, max_ops: int = 30) -> Program:
    """A random program of 1..max_ops steps whose NumPy result is defined."""
    import warnings

    inputs = _gen_inputs(c)
    vals = [Value(inp.values, True, _finite_mag(inp.values), 0) for inp in inputs]
    steps: list[Step] = []
    n_ops = c.integer(1, max_ops)
    names = [f"x{i}" for i in range(len(inputs))]
    for _ in range(n_ops):
        for _attempt in range(12):
            try:
                step, exact, terms, mag = _propose(c, vals)
            except _Reject:
                continue
            expr = step.np_expr.format(*[f"_a{i}" for i in range(len(step.args))], ns="np")
            env = {"np": np, **{f"_a{i}": vals[a].arr for i, a in enumerate(step.args)}}
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = np.asarray(eval(expr, env))  # noqa: S307 - our own template
            except Exception:  # noqa: BLE001 - NumPy rejects it: draw another step
                continue
            if res.size > MAX_SIZE or res.dtype.name not in ALL_DTYPES:
                continue
            args = [vals[a] for a in step.args]
            coarse = ""
            for d in [v.coarse for v in args] + ([res.dtype.name] if terms and res.dtype.kind == "f" else []):
                coarse = _coarser(np.dtype(d), coarse).name if d else coarse
            # NumPy's clip gives -0.0 for clip(-0.0, 0.0, 3.0) with scalar bounds and 0.0 with
            # array bounds: the sign of a zero that went through a clip is not compared
            zero_sign = all(v.zero_sign for v in args) and ".clip(" not in step.np_expr
            vals.append(Value(res, exact, max([mag, _finite_mag(res)] + [v.mag for v in args]),
                              terms + sum(v.terms for v in args), coarse, zero_sign))
            steps.append(step)
            names.append(f"v{len(names)}")
            break
    if not steps:  # always at least one op
        steps.append(Step("{ns}.positive({0})" if inputs[0].values.dtype != np.bool_ else "{ns}.logical_not({0})",
                          "np.positive({0})" if inputs[0].values.dtype != np.bool_ else "np.logical_not({0})", (0,)))
        vals.append(Value(vals[0].arr, True, vals[0].mag, 0))
    k = len(inputs)
    used = {a for s in steps for a in s.args}
    outputs = [i for i in range(k, k + len(steps)) if i not in used][-3:]
    if k + len(steps) - 1 not in outputs:
        outputs.append(k + len(steps) - 1)
    tols = []
    for o in outputs:
        v = vals[o]
        rtol, atol = tolerance(v.arr.dtype, v.mag, v.terms, v.coarse)
        tols.append((rtol, atol, v.exact and v.zero_sign))
    return Program(inputs, steps, outputs, tols)


def programs(max_ops: int = 30):
    """A hypothesis strategy of programs (shrinks to fewer, simpler steps)."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw):
        return generate(DrawChooser(draw), max_ops=max_ops)

    return _programs()
