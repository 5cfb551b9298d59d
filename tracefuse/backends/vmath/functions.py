"""Vectorizable scalar math for Numba kernels: what generated loops call instead of np.tanh etc.

Numba's LLVM here has no SVML, so `np.tanh(x[i])` in a loop is a call to the scalar libm
`tanhf`, and a loop with a call in it does not vectorize. The functions here are pure arithmetic
(range reduction, minimax polynomials, bit manipulation through the intrinsics of
core.py) and branch-free (special cases are `select`s), so inlined into
`for i in range(n): out[i] = tanh_f32(x[i])` the loop becomes `<16 x float>` AVX-512 code.
They are `@njit(inline="always")`: Numba inlines them into the caller's IR, so they take the
caller's flags; generated kernels use `error_model="numpy"` and no fastmath or
`fastmath={"reassoc", "contract"}`, which keep every result below. (With `fastmath=True`
the NaN/inf selects may be folded away: that is what the caller asked for.)

This module owns: exp expm1 log log1p log2 log10 sinh cosh tanh asinh acosh atanh logaddexp
(float32 and float64 each, float32 computed in float32), the `VMATH` table of every function
by (IR op name, dtype name), `vmath_source_names()`, `vmath_version()`. special.py owns erf
erfc (their references: scipy.special for float32, mpmath for float64; "NumPy" = scipy's
error). trig.py owns sin
cos tan (whose float32 versions reduce the argument in float64; payne_hanek.py the exact
reduction beyond 2**45) asin acos atan atan2;
core.py the intrinsics and constants; tools/vmath_fit.py the coefficient fits; tools/vmath_check.py
the ulp measurement that the tests and docs use. docs/vmath.md: methods, limits, speed.

Max error in ulps, measured by `python -m tracefuse.tools.vmath_check` (the tests assert
the "bound" columns) on: 2**20 bit patterns spread over all finite floats (denormals included),
dense sweeps of each function's working range, the hard cases (near multiples of pi/2 up to
TRIG_ACCURATE_MAX and x*2/pi nearest an integer beyond, near 1 for the logs, the
overflow/underflow thresholds), +-0, +-inf, NaN.
Reference: NumPy in float64 for float32, NumPy in 80-bit long double for float64. "r+c" =
compiled with fastmath={"reassoc", "contract"}; "NumPy" = NumPy's own functions, same points.

| function | f32 | f32 r+c | NumPy f32 | bound f32 | f64 | f64 r+c | NumPy f64 | bound f64 |
|---|---|---|---|---|---|---|---|---|
| exp | 0.96 | 0.96 | 2.34 | 2 | 0.97 | 0.97 | 0.70 | 2 |
| expm1 | 1.39 | 1.39 | 2.54 | 2 | 1.79 | 1.79 | 0.52 | 2.5 |
| log | 0.83 | 0.83 | 3.49 | 2 | 1.21 | 1.14 | 0.61 | 2 |
| log1p | 1.22 | 1.21 | 1.76 | 2 | 1.22 | 1.22 | 0.59 | 2 |
| log2 | 1.61 | 1.52 | 2.11 | 2.5 | 1.60 | 1.50 | 0.51 | 2.5 |
| log10 | 1.53 | 1.89 | 2.56 | 2.5 | 1.58 | 1.73 | 0.59 | 2.5 |
| sin | 1.57 | 1.57 | 1.42 | 2 | 1.53 | 1.53 | 102825.30 | 2 |
| cos | 1.53 | 1.53 | 1.45 | 2 | 1.52 | 1.52 | 136920.76 | 2 |
| tan | 2.34 | 2.34 | 3.61 | 3 | 2.82 | 2.82 | 0.56 | 3.5 |
| asin | 2.28 | 2.28 | 2.94 | 3 | 2.07 | 2.07 | 0.81 | 3 |
| acos | 1.11 | 1.11 | 2.04 | 2 | 1.09 | 1.09 | 0.80 | 2 |
| atan | 0.94 | 0.94 | 1.62 | 2 | 0.88 | 0.88 | 0.57 | 2 |
| sinh | 1.92 | 1.92 | 1.42 | 2.5 | 2.31 | 2.31 | 0.85 | 3 |
| cosh | 1.78 | 1.78 | 2.13 | 2.5 | 1.81 | 1.81 | 0.75 | 2.5 |
| tanh | 1.47 | 1.47 | 1.36 | 2 | 1.47 | 1.47 | 1.18 | 2 |
| asinh | 1.79 | 1.79 | 0.91 | 2.5 | 1.90 | 1.90 | 0.73 | 2.5 |
| acosh | 1.78 | 1.78 | 0.92 | 2.5 | 2.04 | 2.04 | 0.58 | 3 |
| atanh | 1.75 | 1.75 | 1.32 | 2.5 | 1.90 | 1.90 | 0.51 | 2.5 |
| atan2 | 1.46 | 1.46 | 3.19 | 2 | 1.61 | 1.61 | 0.78 | 2.5 |
| logaddexp | 6.81 | 6.81 | 6.81 | 8 | 3.02 | 3.02 | 3.02 | 4 |
| erf | 0.89 | 0.89 | 0.50 | 1.5 | 0.96 | 0.84 | 2.70 | 1.5 |
| erfc | 3.80 | 3.58 | 0.50 | 4.5 | 2.67 | 2.63 | 6.4e12 | 3.5 |

sin/cos/tan are measured as the cpu backend runs them, on every binade up to the largest float
and the hardest reductions: the VMATH functions (Cody-Waite) for |x| <= 2**45
(TRIG_ACCURATE_MAX), the `*_exact` ones (Payne-Hanek) when an argument is beyond (trig.py,
`exact_trig_names`). NumPy's float64 sin/cos lose up to 1.4e5 ulp on those hardest
reductions (results ~1e-17; glibc's sin/cos do the same). logaddexp's error is in ulps of
the larger of max(x, y) and the log1p term (see vmath_check); NumPy's formula has the same error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numba import njit

from .core import (add_x, consts, copysign, domain_nans, fabs, fdiv, fma, log_k, log_m, poly, pow2,
                   rint, sel, sqrt, sub_x)

__all__ = ["VMATH", "ipow_i64", "ipow_u64", "UNARY_OPS", "BINARY_OPS", "TRIG_OPS",
           "exact_trig_names", "vmath_source_names", "vmath_import_source", "vmath_version"]

_JIT = dict(inline="always", error_model="numpy", cache=False)


def _build(F) -> dict[str, Callable]:
    """The exp/log/hyperbolic functions of dtype F (np.float32 or np.float64), by name."""
    K = consts(F)
    ZERO, ONE, HALF, TWO, INF = K["ZERO"], K["ONE"], K["HALF"], K["TWO"], K["INF"]
    LOG2E, LN2_HI, LN2_LO, LN2 = K["LOG2E"], K["LN2_HI"], K["LN2_LO"], K["LN2"]
    EXP_LO, EXP_HI, EXPM1_LO = K["EXP_LO"], K["EXP_HI"], K["EXPM1_LO"]
    TINY_EXPM1, TANH_SMALL, TANH_HI = K["TINY_EXPM1"], K["TANH_SMALL"], K["TANH_HI"]
    HYP_HI, HYP_MAX, BIG_HYP = K["HYP_HI"], K["HYP_MAX"], K["BIG_HYP"]
    MIN_NORMAL, SCALE_UP, SCALE_UP_K = K["MIN_NORMAL"], K["SCALE_UP"], K["SCALE_UP_K"]
    INVLN2_HI, INVLN2_LO = K["INVLN2_HI"], K["INVLN2_LO"]
    # out of the domain: the NaN NumPy gives there (its sign bit varies; core.domain_nans)
    NAN_LOG, NAN_LOG2, NAN_LOG10 = K["NAN_LOG"], K["NAN_LOG2"], K["NAN_LOG10"]
    NAN_LOG1P, NAN_ACOSH = K["NAN_LOG1P"], K["NAN_ACOSH"]
    NAN_ATANH_LO, NAN_ATANH_HI = K["NAN_ATANH_LO"], K["NAN_ATANH_HI"]
    INVLN10_HI, INVLN10_LO = K["INVLN10_HI"], K["INVLN10_LO"]
    LOG10_2_HI, LOG10_2_LO = K["LOG10_2_HI"], K["LOG10_2_LO"]
    P_EXPM1, P_LOG, P_TANH = K["EXPM1"], K["LOG"], K["TANH"]

    # --- exp family: x = n*ln2 + r, |r| <= ln2/2 (Cody-Waite with fma: r is exact) ----------
    @njit(**_JIT)
    def reduce_ln2(x):
        n = rint(x * LOG2E)
        r = fma(-n, LN2_HI, x)
        return n, fma(-n, LN2_LO, r)

    @njit(**_JIT)
    def expm1_poly(r):  # expm1(r) for |r| <= 0.347
        return fma(r * r, poly(r, P_EXPM1), r)

    @njit(**_JIT)
    def scale2(p, n):  # p * 2**n, |n| up to twice the exponent range, one rounding at most
        n1 = rint(n * HALF)
        return p * pow2(n1) * pow2(n - n1)

    @njit(**_JIT)
    def exp_core(xc, adj):  # exp(xc) * 2**adj for a clamped (finite) xc
        n, r = reduce_ln2(xc)
        return scale2(expm1_poly(r) + ONE, n + adj)

    @njit(**_JIT)
    def expm1_core(xc):  # expm1(xc) for EXPM1_LO <= xc <= EXP_HI
        n, r = reduce_ln2(xc)
        q = expm1_poly(r)
        s = pow2(n - ONE)
        return TWO * fma(s, q, s - HALF)  # 2**n * (1 + q) - 1, one rounding

    @njit(**_JIT)
    def exp(x):
        x = F(x)
        xc = sel(x > EXP_LO, x, EXP_LO)  # NaN -> EXP_LO; the select at the end restores it
        xc = sel(xc < EXP_HI, xc, EXP_HI)  # exp(EXP_HI) overflows to inf, exp(EXP_LO) is 0
        return sel(x != x, x, exp_core(xc, ZERO))

    @njit(**_JIT)
    def expm1(x):
        x = F(x)
        xc = sel(x > EXPM1_LO, x, EXPM1_LO)
        xc = sel(xc < EXP_HI, xc, EXP_HI)
        res = sel(fabs(x) < TINY_EXPM1, x, expm1_core(xc))  # keeps -0.0 and denormals exact
        return sel(x != x, x, res)

    @njit(**_JIT)
    def tanh(x):
        x = F(x)
        a = fabs(x)
        ac = sel(a < TANH_HI, a, TANH_HI)  # tanh rounds to 1 above TANH_HI
        q = expm1_core(ac + ac)
        t = fdiv(q, q + TWO)  # tanh(a) = expm1(2a) / (expm1(2a) + 2): no cancellation
        z = a * a
        t = sel(a < TANH_SMALL, fma(a * z, poly(z, P_TANH), a), t)  # odd minimax, |x| < 0.625
        return sel(x != x, x, copysign(t, x))

    @njit(**_JIT)
    def half_exp(a):  # exp(a)/2 for a >= 0 (NaN -> finite junk), overflowing where sinh does
        ac = sel(a < HYP_MAX, a, HYP_MAX)
        return exp_core(ac, -ONE)

    @njit(**_JIT)
    def sinh(x):
        x = F(x)
        a = fabs(x)
        q = expm1_core(sel(a < HYP_HI, a, HYP_HI))
        small = HALF * (q + fdiv(q, q + ONE))  # (e^a - e^-a)/2 with e^a = q + 1
        h = sel(a < HYP_HI, small, half_exp(a))
        return sel(x != x, x, copysign(h, x))

    @njit(**_JIT)
    def cosh(x):
        x = F(x)
        a = fabs(x)
        q = expm1_core(sel(a < HYP_HI, a, HYP_HI))
        small = ONE + fdiv(q * q, (q + ONE) * TWO)  # 1 + (e^a - 1)^2 / (2 e^a)
        h = sel(a < HYP_HI, small, half_exp(a))
        return sel(x != x, x, h)

    # --- log family: x = 2**k * m, m in [sqrt(2)/2, sqrt(2)), log(m) = log1p(f), f = m - 1 --
    @njit(**_JIT)
    def log1p_poly(f):  # log(1 + f) for f in [sqrt(2)/2 - 1, sqrt(2) - 1] (fdlibm's form)
        s = fdiv(f, TWO + f)
        z = s * s
        hf = HALF * f * f
        return f - (hf - s * (hf + z * poly(z, P_LOG)))

    @njit(**_JIT)
    def log_parts(x):  # (k, log(m)) with denormal inputs scaled into the normal range first
        sub = x < MIN_NORMAL
        xs = sel(sub, x * SCALE_UP, x)
        k = log_k(xs) - sel(sub, SCALE_UP_K, ZERO)
        return k, log1p_poly(log_m(xs) - ONE)

    @njit(**_JIT)
    def log_special(x, res):
        res = sel(x == INF, x, res)
        res = sel(x == ZERO, -INF, res)
        return sel(x != x, x, res)

    @njit(**_JIT)
    def log(x):
        x = F(x)
        k, lm = log_parts(x)
        return sel(x < ZERO, NAN_LOG, log_special(x, fma(k, LN2_HI, fma(k, LN2_LO, lm))))

    @njit(**_JIT)
    def log2(x):
        x = F(x)
        k, lm = log_parts(x)
        return sel(x < ZERO, NAN_LOG2, log_special(x, k + fma(lm, INVLN2_HI, lm * INVLN2_LO)))

    @njit(**_JIT)
    def log10(x):
        x = F(x)
        k, lm = log_parts(x)
        p = fma(lm, INVLN10_HI, lm * INVLN10_LO)
        return sel(x < ZERO, NAN_LOG10,
                   log_special(x, fma(k, LOG10_2_HI, fma(k, LOG10_2_LO, p))))

    @njit(**_JIT)
    def log1p(x):
        x = F(x)
        u = add_x(ONE, x)
        k = log_k(u)
        f = sel(k == ZERO, x, log_m(u) - ONE)  # k == 0: u = 1 + x up to rounding, f = x exactly
        # the rounding error of u (Fast2Sum), as log(u + c) = log(u) + c/u
        c = sel(x < ONE, sub_x(x, sub_x(u, ONE)), sub_x(ONE, sub_x(u, x)))
        c = sel(k == ZERO, ZERO, fdiv(c, u))
        res = fma(k, LN2_HI, fma(k, LN2_LO, log1p_poly(f)) + c)
        res = sel(fabs(x) < TINY_EXPM1, x, res)
        res = sel(x == INF, x, res)
        res = sel(x == -ONE, -INF, res)
        res = sel(x < -ONE, NAN_LOG1P, res)
        return sel(x != x, x, res)

    # --- inverse hyperbolic, through log1p ---------------------------------------------------
    @njit(**_JIT)
    def asinh(x):
        x = F(x)
        a = fabs(x)
        w = sqrt(fma(a, a, ONE))
        small = a < TWO  # log1p(a + a^2/(1 + w)), else log(2a + 1/(a + w)); one division
        y = sel(small, a, a + a - ONE) + fdiv(sel(small, a * a, ONE), sel(small, ONE + w, a + w))
        y = sel(a < BIG_HYP, y, a)
        res = log1p(y) + sel(a < BIG_HYP, ZERO, LN2)  # huge a: log(a) + log(2)
        return sel(x != x, x, copysign(res, x))

    @njit(**_JIT)
    def acosh(x):
        x = F(x)
        t = x - ONE
        w = sqrt(fma(t, t, t + t))  # sqrt(x^2 - 1), exact t for x < 2**24 (2**53)
        y = sel(x < TWO, t + w, (x + x - ONE) - fdiv(ONE, x + w))  # else log(2x - 1/(x + w))
        y = sel(x < BIG_HYP, y, x)
        res = log1p(y) + sel(x < BIG_HYP, ZERO, LN2)
        res = sel(x < ONE, NAN_ACOSH, res)
        return sel(x != x, x, res)

    @njit(**_JIT)
    def atanh(x):
        x = F(x)
        a = fabs(x)
        d = fdiv(a, ONE - a)
        y = sel(a < HALF, fma(a + a, d, a + a), d + d)  # 2a/(1-a), the exact 2a term first
        res = copysign(HALF * log1p(y), x)
        res = sel(a > ONE, sel(x < ZERO, NAN_ATANH_LO, NAN_ATANH_HI), res)
        return sel(x != x, x, res)

    @njit(**_JIT)
    def logaddexp(x, y):  # NumPy's: x == y gives x + log(2), so inf + inf is inf
        x = F(x)
        y = F(y)
        mx = sel(x > y, x, y)
        res = mx + log1p(exp(-fabs(x - y)))
        return sel(x == y, x + LN2, res)

    return dict(exp=exp, expm1=expm1, tanh=tanh, sinh=sinh, cosh=cosh, log=log, log2=log2,
                log10=log10, log1p=log1p, asinh=asinh, acosh=acosh, atanh=atanh,
                logaddexp=logaddexp)


_F32 = _build(np.float32)
_F64 = _build(np.float64)

exp_f32, exp_f64 = _F32["exp"], _F64["exp"]
expm1_f32, expm1_f64 = _F32["expm1"], _F64["expm1"]
log_f32, log_f64 = _F32["log"], _F64["log"]
log1p_f32, log1p_f64 = _F32["log1p"], _F64["log1p"]
log2_f32, log2_f64 = _F32["log2"], _F64["log2"]
log10_f32, log10_f64 = _F32["log10"], _F64["log10"]
sinh_f32, sinh_f64 = _F32["sinh"], _F64["sinh"]
cosh_f32, cosh_f64 = _F32["cosh"], _F64["cosh"]
tanh_f32, tanh_f64 = _F32["tanh"], _F64["tanh"]
asinh_f32, asinh_f64 = _F32["asinh"], _F64["asinh"]
acosh_f32, acosh_f64 = _F32["acosh"], _F64["acosh"]
atanh_f32, atanh_f64 = _F32["atanh"], _F64["atanh"]
logaddexp_f32, logaddexp_f64 = _F32["logaddexp"], _F64["logaddexp"]
from .special import erf_f32, erf_f64, erfc_f32, erfc_f64  # noqa: E402,F401
from .trig import (acos_f32, acos_f64, asin_f32, asin_f64, atan2_f32, atan2_f64,  # noqa: E402,F401
                   atan_f32, atan_f64, cos_exact_f32, cos_exact_f64, cos_f32, cos_f64,
                   sin_exact_f32, sin_exact_f64, sin_f32, sin_f64, tan_exact_f32, tan_exact_f64,
                   tan_f32, tan_f64, trig_big_f32, trig_big_f64)

#: The IR ops (tracefuse.ir.OpCode values) with a vectorizable implementation here.
UNARY_OPS = ("exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "asin",
             "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfc")
BINARY_OPS = ("atan2", "logaddexp")
@njit(**_JIT)
def ipow_u64(a, b):
    """uint64 `a ** b` by squaring, wrapping as NumPy's integer power loop does (Numba's own
    `**` goes through float pow for large exponents)."""
    result = np.uint64(1)
    while b:
        if b & np.uint64(1):
            result = result * a
        a = a * a
        b = b >> np.uint64(1)
    return result


@njit(**_JIT)
def ipow_i64(a, b):
    """int64 `a ** b`, squaring in uint64 (signed overflow is undefined in LLVM). NumPy
    raises for b < 0; here, as in the CUDA backend, the integer part of 1 / a**-b."""
    if b < 0:
        if a == 1:
            return np.int64(1)
        if a == -1:
            return np.int64(-1) if b & 1 else np.int64(1)
        return np.int64(0)
    return np.int64(ipow_u64(np.uint64(a), np.uint64(b)))


_SUFFIX = {"float32": "f32", "float64": "f64"}

#: (op name, dtype name) -> the @njit(inline="always") scalar function.
VMATH: dict[tuple[str, str], Callable] = {
    (op, dt): globals()[f"{op}_{sfx}"]
    for op in UNARY_OPS + BINARY_OPS for dt, sfx in _SUFFIX.items()
}


#: The ops whose VMATH function is exact only for |x| <= trig.TRIG_ACCURATE_MAX.
TRIG_OPS = ("sin", "cos", "tan")


def exact_trig_names() -> dict[tuple[str, str], tuple[str, str]]:
    """(op, dtype name) -> (exact, check) for sin/cos/tan: the public names of `<op>_exact_<sfx>`
    (the same function with the Payne-Hanek reduction beyond TRIG_ACCURATE_MAX: a branch per
    element, so a loop calling it does not vectorize) and of `trig_big_<sfx>` (int32 1 where the
    argument needs it, else 0; vectorizes). numba/render.py: a kernel max-reduces the checks of
    its sin/cos/tan arguments in its vectorized loops and reruns with the exact functions when
    one was 1."""
    return {(op, dt): (f"{op}_exact_{sfx}", f"trig_big_{sfx}")
            for op in TRIG_OPS for dt, sfx in _SUFFIX.items()}


def vmath_source_names() -> dict[tuple[str, str], tuple[str, str]]:
    """(op name, dtype name) -> (module, public name) for generated kernel source, e.g.
    ("tanh", "float32") -> ("tracefuse.backends.vmath.functions", "tanh_f32"): the kernel source does
    `from tracefuse.backends.vmath.functions import tanh_f32` and calls `tanh_f32(v)` on a float32 scalar
    (a float64 or integer argument is cast to float32 first). Binary ops (atan2, logaddexp) take
    two scalars. The names are stable: `<op>_f32`, `<op>_f64`, all importable from this module.
    """
    return {key: (__name__, f"{key[0]}_{_SUFFIX[key[1]]}") for key in VMATH}


def vmath_import_source(keys) -> str:
    """The import line generated source needs for the (op, dtype) `keys` it calls."""
    names = sorted({vmath_source_names()[k][1] for k in keys})
    return f"from {__name__} import {', '.join(names)}" if names else ""


@functools.lru_cache(maxsize=None)
def vmath_version() -> str:
    """A hash of the sources of these functions. Numba's on-disk cache of a kernel that inlines
    them does not notice when they change: put this in the kernel cache key. Computed once per
    process (every plan a backend loads asks for it)."""
    import hashlib
    import os

    h = hashlib.sha256()
    here = os.path.dirname(__file__)
    for name in ("functions.py", "trig.py", "special.py", "core.py", "payne_hanek.py",
                 "complex_numba.py"):
        with open(os.path.join(here, name), "rb") as f:
            h.update(f.read())
    for F in (np.float32, np.float64):  # the NaN signs asked of this machine's NumPy
        h.update(repr(sorted((k, bool(np.signbit(v))) for k, v in domain_nans(F).items())).encode())
    return h.hexdigest()[:16]
