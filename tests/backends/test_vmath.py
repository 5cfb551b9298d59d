"""tracefuse.backends.vmath: vectorizable scalar math for the Numba backend.

For every function and dtype: the loop `for i in range(n): out[i] = f(x[i])` vectorizes (LLVM IR
has <N x float>/<N x double> arithmetic and no call to a scalar libm function), float32 stays
float32, the max error in ulps over a sweep of the whole float range (vmath_check.points) is
within the stated bound with and without fastmath={"reassoc", "contract"}, and the special
values (NaN, +-inf, +-0, overflow, underflow, domain errors) match NumPy exactly.

Each kernel is compiled once per process (vmath_check.kernel caches them), points and
references once per (op, dtype) here.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from numba import njit

from tracefuse.backends.vmath import functions as vmath
from tracefuse.tools import vmath_check as vc
from tracefuse.backends.vmath.core import as_float, as_int, pow2
from tracefuse.backends.vmath.trig import TRIG_ACCURATE_MAX

OPS = vmath.UNARY_OPS + vmath.BINARY_OPS
DTYPES = ("float32", "float64")
CASES = [(op, dt) for op in OPS for dt in DTYPES]
FASTMATH = frozenset({"reassoc", "contract"})
FLAGS = {"plain": None, "reassoc-contract": FASTMATH}
TRIG = ("sin", "cos", "tan")  # their float32 versions reduce the argument in float64


def case_id(c):
    return f"{c[0]}-{c[1]}"


@functools.lru_cache(maxsize=None)
def _points(op, dt):
    pts = vc.points(op, dt)
    args = pts if op in vc.BINARY else (pts,)
    ref = vc.reference(op, dt, *args)
    return args, ref


def _signature_ir(op, dt, fastmath):
    k = vc.kernel(op, dt, fastmath)
    args, _ = _points(op, dt)
    vc.run(op, dt, *(a[:4] for a in args), fastmath=fastmath)
    (sig,) = k.signatures
    return k.inspect_llvm(sig)


# ------------------------------------------------------------------------------ vectorization
_MATH_CALL = re.compile(
    r"^(llvm\.)?(a?(sin|cos|tan)h?|atan2|exp(m1|2|10)?|log(1p|2|10)?|pow|erfc?|cbrt|hypot|"
    r"sincos|logaddexp)f?(\..*)?$")
_CALLEE = re.compile(r"\bcall\b[^@\n]*@\"?([\w.$]+)")


@pytest.mark.parametrize("flags", list(FLAGS), ids=list(FLAGS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_loop_vectorizes_without_libm_calls(case, flags):
    op, dt = case
    ir = _signature_ir(op, dt, FLAGS[flags])
    callees = set(_CALLEE.findall(ir))
    libm = sorted(c for c in callees if _MATH_CALL.match(c))
    assert not libm, f"{op}/{dt} calls scalar math: {libm}"
    elem = "float" if dt == "float32" else "double"
    lanes = r"(4|8|16)" if dt == "float32" else r"(2|4|8)"
    vec_math = re.compile(rf"= (fmul|fadd|fsub|fdiv|call|select)\b[^\n]*<{lanes} x {elem}>")
    assert vec_math.search(ir), f"{op}/{dt}: the loop did not vectorize"
    if dt == "float32" and op not in TRIG:
        assert "x double>" not in ir and "fpext" not in ir, f"{op}/float32 computes in double"


# ---------------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_max_ulp_error_within_bound(case):
    op, dt = case
    args, ref = _points(op, dt)
    err, worst = vc.max_error(op, dt, args, ref)
    bound = vc.ULP_BOUND[case]
    assert err <= bound, f"{op}/{dt}: {err:.2f} ulp at {worst} (bound {bound})"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_max_ulp_error_with_reassoc_contract(case):
    """The generated kernels' other flag set: every 4th test point."""
    op, dt = case
    args, ref = _points(op, dt)
    err, worst = vc.max_error(op, dt, tuple(a[::4] for a in args), ref[::4], FASTMATH)
    bound = vc.ULP_BOUND[case]
    assert err <= bound, f"{op}/{dt}: {err:.2f} ulp at {worst} (bound {bound})"


def _same_specials(out, exp):
    """NaN where NumPy has NaN, the same infinities, the same signed zeros."""
    assert np.array_equal(np.isnan(out), np.isnan(exp))
    inf = np.isinf(exp)
    assert np.array_equal(out[inf], exp[inf])
    assert not np.isinf(out[~inf]).any()
    zero = exp == 0
    assert np.array_equal(out[zero], exp[zero])
    assert np.array_equal(np.signbit(out[zero]), np.signbit(exp[zero]))


def _special_inputs(op, dt):
    fi = np.finfo(dt)
    base = list(vc.specials(dt)) + [3.0, -3.0, 0.75, -0.75, 1e-30, -1e-30, 100.0, -100.0,
                                    1000.0, -1000.0, float(fi.max) / 2, -float(fi.max) / 2]
    th = vc._THRESHOLDS.get(op, {}).get(dt, [])
    x = np.concatenate([np.array(base, dtype=dt), vc._near(np.array(th), dt, 3) if th else []])
    return x.astype(dt)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_special_values_match_numpy(case):
    op, dt = case
    x = _special_inputs(op, dt)
    if op in vc.BINARY:
        a, b = np.meshgrid(x, x)
        args = (a.ravel(), b.ravel())
    else:
        args = (x,)
    with np.errstate(all="ignore"):
        exp = vc.numpy_fn(op)(*args)
    _same_specials(vc.run(op, dt, *args), exp)


@pytest.mark.parametrize("dt", DTYPES)
def test_documented_special_values(dt):
    F = np.dtype(dt).type
    inf, nan = F(np.inf), F(np.nan)
    x = np.array([-inf, inf, nan, F(1e6), F(-1.0), F(0.0), F(-0.0)], dtype=dt)
    with np.errstate(all="ignore"):
        e = vc.run("exp", dt, x)
        lg = vc.run("log", dt, x)
        th = vc.run("tanh", dt, x)
        s = vc.run("sin", dt, x)
    assert e[0] == 0 and e[1] == np.inf and np.isnan(e[2]) and e[3] == np.inf
    assert lg[5] == -np.inf and lg[6] == -np.inf and np.isnan(lg[4]) and lg[1] == np.inf
    assert th[0] == -1 and th[1] == 1 and np.isnan(th[2])
    assert th[6] == 0 and np.signbit(th[6]) and not np.signbit(th[5])
    assert np.isnan(s[0]) and np.isnan(s[1]) and np.isnan(s[2]) and np.signbit(s[6])


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("op", TRIG)
def test_trig_beyond_accurate_range_stays_in_range(op, dt):
    """Beyond TRIG_ACCURATE_MAX the fast functions alone are inaccurate (the kernels then rerun
    with the exact reduction: test_vmath_huge_args.py), but finite, and sin/cos stay within
    [-1, 1]."""
    x = vc.bit_sweep(dt, 2 ** 16)
    x = x[np.abs(x) > TRIG_ACCURATE_MAX[dt]]
    out = vc.run(op, dt, x)
    assert np.isfinite(out).all()
    if op != "tan":
        assert (np.abs(out) <= 1).all()


@pytest.mark.parametrize("dt", DTYPES)
def test_trig_accurate_near_multiples_of_pi_over_2(dt):
    """The hardest inputs of the Cody-Waite reduction, up to TRIG_ACCURATE_MAX (also part of
    the sweep; here on their own, so a failure names them)."""
    x = vc._pio2_multiples(dt, 4000)
    for op in TRIG:
        err, _, worst = vc.measure(op, dt, pts=x)
        assert err <= vc.ULP_BOUND[(op, dt)], (op, err, worst)


# ----------------------------------------------------------------------- the generator's API
def test_vmath_table_covers_the_ops_with_stable_names():
    from tracefuse.ir import OpCode

    values = {o.value for o in OpCode}
    assert set(OPS) <= values
    assert set(vmath.VMATH) == {(op, dt) for op in OPS for dt in DTYPES}
    names = vmath.vmath_source_names()
    for (op, dt), (mod, name) in names.items():
        assert mod == "tracefuse.backends.vmath.functions"
        assert name == f"{op}_{'f32' if dt == 'float32' else 'f64'}"
        assert getattr(vmath, name) is vmath.VMATH[(op, dt)]


def test_generated_source_can_import_and_call():
    """What the code generator does: source text importing the public names."""
    line = vmath.vmath_import_source([("tanh", "float32"), ("atan2", "float64")])
    assert line == "from tracefuse.backends.vmath.functions import atan2_f64, tanh_f32"
    src = line + """
from numba import njit

@njit(error_model="numpy", fastmath={"reassoc", "contract"})
def kernel(x, y, out32, out64):
    for i in range(x.size):
        out32[i] = tanh_f32(x[i])
        out64[i] = atan2_f64(y[i], x[i])
"""
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)
    x = np.linspace(-3, 3, 101).astype(np.float32)
    y = np.linspace(1, -2, 101)
    o32, o64 = np.empty_like(x), np.empty_like(y)
    ns["kernel"](x, y, o32, o64)
    np.testing.assert_allclose(o32, np.tanh(x), rtol=3e-7, atol=1e-30)
    np.testing.assert_allclose(o64, np.arctan2(y, x.astype(np.float64)), rtol=1e-15)


def test_float32_function_casts_its_argument():
    @njit
    def f(v):
        return vmath.exp_f32(v), vmath.logaddexp_f64(v, 1)

    a, b = f(1.0)  # a float64 argument, an int argument
    from numba import types
    assert f.nopython_signatures[0].return_type == types.Tuple((types.float32, types.float64))
    assert abs(a - np.float32(np.e)) <= np.spacing(np.float32(np.e))
    assert abs(b - np.logaddexp(1.0, 1.0)) < 1e-15


def test_bit_intrinsics():
    @njit
    def roundtrip(x32, x64):
        return as_int(x32), as_float(as_int(x32)), as_int(x64), as_float(as_int(x64))

    @njit
    def p2(n32, n64):
        return pow2(n32), pow2(n64)

    x32, x64 = np.float32(-1.5e-39), -2.5e300
    i32, y32, i64, y64 = roundtrip(x32, x64)
    assert i32 == np.array(x32).view(np.int32) and y32 == x32
    assert i64 == np.array(x64).view(np.int64) and y64 == x64
    assert p2(np.float32(-126), -1022.0) == (np.float32(2.0 ** -126), 2.0 ** -1022)
    assert p2(np.float32(127), 1023.0) == (np.float32(2.0 ** 127), 2.0 ** 1023)


def test_erf_coefficients_match_the_numpy_oracle():
    """ir/numpy_impl.py evaluates erf/erfc with float64 copies of vmath's ERF/ERFC tables."""
    from tracefuse.backends.vmath.core import consts
    from tracefuse.ir import numpy_impl

    k = consts(np.float64)
    assert k["ERF"] == tuple(np.float64(c) for c in numpy_impl.ERF_Q64)
    assert k["ERFC"] == tuple(np.float64(c) for c in numpy_impl.ERFC_P64)
    assert k["ERFC_K"] == numpy_impl.ERFC_K
