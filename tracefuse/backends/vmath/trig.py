"""Vectorizable trigonometric functions for Numba kernels: sin cos tan asin acos atan atan2.

Same contract as functions.py (which re-exports these names and holds the accuracy table):
`@njit(inline="always")`, branch-free (but the `*_exact` functions), one function per dtype.

sin/cos/tan reduce x = n*pi/2 + r by Cody-Waite in float64, with fma and pi/2 split into 3
(float32 inputs) or 4 (float64) doubles; r is then evaluated with minimax polynomials in the
input's dtype (tan: an odd polynomial, -1/tan(r) in odd quadrants). The float64 step is the one
exception to "float32 computes in float32": a float32-only reduction is exact only up to
|x| ~ 2e5 (NumPy's AVX-512 float32 sin/cos hand |x| > 71476 to scalar libm), the float64 one up
to 2**45 for both dtypes, for about twice the compute of sin (still vectorized; the loop then
mixes <16 x float> and <8 x double> code).

- `sin_f32` ... `tan_f64` (the VMATH functions): within the table's bound for |x| <=
  TRIG_ACCURATE_MAX (2**45 ~ 3.5e13, both dtypes), including the floats nearest to multiples of
  pi/2; beyond, finite but inaccurate (sin/cos within [-1, 1]).
- `sin_exact_f32` ... `tan_exact_f64`: the same for |x| <= TRIG_ACCURATE_MAX (bit for bit), and
  beyond it the Payne-Hanek reduction of payne_hanek.py (exact for every finite float, both
  dtypes): a branch and a call, so a loop calling them does not vectorize.
- `trig_big_f32`, `trig_big_f64`: int32 1 for a finite |x| > TRIG_ACCURATE_MAX, else 0
  (branch-free). The cpu backend's kernels max-reduce it over every sin/cos/tan argument in the
  vectorized loop and rerun with the exact functions when it was 1 (numba/render.py): every
  finite input reduces correctly, and the common case keeps its SIMD loop.
- inf and NaN give NaN; sin/tan keep -0.0 and return denormal inputs unchanged.

asin/acos: odd minimax on |x| <= 1/2, asin(x) = pi/2 - 2 asin(sqrt((1-x)/2)) above. atan: fdlibm's
five intervals (0, 7/16, 11/16, 19/16, 39/16) with atan(c) + atan((x-c)/(1+cx)) and -1/x beyond.
atan2: atan of min/max of |x|, |y|, then pi/2 - and pi - corrections, IEEE signed zeros and
infinities as NumPy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from .core import consts, copysign, fabs, fdiv, fma, poly, rint, sel, signbit, sqrt
from .payne_hanek import reduce_huge

__all__ = ["sin_f32", "sin_f64", "cos_f32", "cos_f64", "tan_f32", "tan_f64", "asin_f32",
           "asin_f64", "acos_f32", "acos_f64", "atan_f32", "atan_f64", "atan2_f32",
           "atan2_f64", "sin_exact_f32", "sin_exact_f64", "cos_exact_f32", "cos_exact_f64",
           "tan_exact_f32", "tan_exact_f64", "trig_big_f32", "trig_big_f64", "TRIG_ACCURATE_MAX"]

_JIT = dict(inline="always", error_model="numpy", cache=False)

#: Largest |x| for which sin/cos/tan meet the error bound, by dtype name.
TRIG_ACCURATE_MAX = {"float32": 2.0 ** 45, "float64": 2.0 ** 45}


def _build(F) -> dict[str, Callable]:
    K = consts(F)
    ZERO, ONE, HALF, TWO = K["ZERO"], K["ONE"], K["HALF"], K["TWO"]
    NAN_ASIN_LO, NAN_ASIN_HI = K["NAN_ASIN_LO"], K["NAN_ASIN_HI"]
    NAN_ACOS_LO, NAN_ACOS_HI = K["NAN_ACOS_LO"], K["NAN_ACOS_HI"]
    TINY = K["TINY_SIN"]
    D = np.float64
    DK = consts(D)  # the argument reduction of sin/cos/tan runs in float64
    D2OPI, D1, D2, D3 = DK["TWO_OVER_PI"], DK["PIO2_1"], DK["PIO2_2"], DK["PIO2_3"]
    D4, DONE, DHALF = DK["PIO2_4"], DK["ONE"], DK["HALF"]
    DFOUR, DQUARTER = D(4), D(0.25)
    BIG, INF = F(TRIG_ACCURATE_MAX[F.__name__]), K["INF"]  # beyond BIG: Payne-Hanek
    DBIG, DINF = D(BIG), DK["INF"]
    IZERO, IONE = np.int32(0), np.int32(1)
    PIO2_HI, PIO2_LO = K["PIO2_HI"], K["PIO2_LO"]
    PI_HI, PI_LO = K["PI_HI"], K["PI_LO"]
    A0, A1, A2, A3 = F(7 / 16), F(11 / 16), F(19 / 16), F(39 / 16)
    C0, C1, C2 = K["ATAN_C"]
    C0_HI, C1_HI, C2_HI = K["ATAN_C0_HI"], K["ATAN_C1_HI"], K["ATAN_C2_HI"]
    C0_LO, C1_LO, C2_LO = K["ATAN_C0_LO"], K["ATAN_C1_LO"], K["ATAN_C2_LO"]
    P_SIN, P_COS, P_TAN, P_ATAN, P_ASIN = K["SIN"], K["COS"], K["TAN"], K["ATAN"], K["ASIN"]

    if F is np.float64:  # 3 parts of pi/2 (159 bits) do for float32 inputs, float64 takes 4
        @njit(**_JIT)
        def reduce_tail(n, r):
            return fma(-n, D4, r)
    else:
        @njit(**_JIT)
        def reduce_tail(n, r):
            return r

    @njit(**_JIT)
    def reduce_pio2(x):  # (n mod 4, r) with x = n*pi/2 + r, |r| <= pi/4, r in dtype F
        xd = np.float64(x)  # float32 is reduced in float64 (a no-op for float64)
        n = rint(xd * D2OPI)  # the nearest integer while |x| < ~2**51
        r = fma(-n, D1, xd)  # exact: the product is exact inside the fma, and r is small
        r = fma(-n, D2, r)
        r = reduce_tail(n, fma(-n, D3, r))
        r = sel(fabs(r) > DONE, DHALF, r)  # beyond TRIG_ACCURATE_MAX: results stay finite
        return n - DFOUR * rint(n * DQUARTER), F(r)  # n mod 4 as -2..2, exact

    @njit(**_JIT)
    def reduce_any(x):  # reduce_pio2, or Payne-Hanek beyond TRIG_ACCURATE_MAX: a branch
        xd = np.float64(x)
        a = fabs(xd)
        if a > DBIG and a < DINF:
            q, r = reduce_huge(xd)
            return q, F(r)
        return reduce_pio2(x)

    @njit(**_JIT)
    def big(x):  # int32 1 where the fast reduction is inexact (finite |x| > TRIG_ACCURATE_MAX)
        a = fabs(F(x))
        return sel((a > BIG) & (a < INF), IONE, IZERO)

    @njit(**_JIT)
    def sin_poly(r, z):
        return fma(r * z, poly(z, P_SIN), r)

    @njit(**_JIT)
    def cos_poly(z):
        return fma(z * z, poly(z, P_COS), fma(-HALF, z, ONE))

    @njit(**_JIT)
    def sin_of(x, q, r):  # sin(x) from x = n*pi/2 + r, q = n mod 4 in -2..2
        z = r * r
        res = sel(fabs(q) == DONE, cos_poly(z), sin_poly(r, z))  # n odd: +-cos(r)
        res = sel((q < -DHALF) | (q > DONE + DHALF), -res, res)  # n mod 4 in (2, 3)
        return sel(fabs(x) < TINY, x, res)  # keeps -0.0 and denormals; inf/NaN: r is NaN

    @njit(**_JIT)
    def cos_of(q, r):
        z = r * r
        res = sel(fabs(q) == DONE, sin_poly(r, z), cos_poly(z))
        return sel((q > DHALF) | (q < -DONE - DHALF), -res, res)  # n mod 4 in (1, 2)

    @njit(**_JIT)
    def tan_of(x, q, r):
        z = r * r
        t = fma(r * z, poly(z, P_TAN), r)
        res = sel(fabs(q) == DONE, fdiv(-ONE, t), t)  # n odd: -cot(r)
        return sel(fabs(x) < TINY, x, res)

    @njit(**_JIT)
    def sin(x):
        x = F(x)
        q, r = reduce_pio2(x)
        return sin_of(x, q, r)

    @njit(**_JIT)
    def cos(x):
        q, r = reduce_pio2(F(x))
        return cos_of(q, r)

    @njit(**_JIT)
    def tan(x):
        x = F(x)
        q, r = reduce_pio2(x)
        return tan_of(x, q, r)

    @njit(**_JIT)
    def sin_exact(x):
        x = F(x)
        q, r = reduce_any(x)
        return sin_of(x, q, r)

    @njit(**_JIT)
    def cos_exact(x):
        q, r = reduce_any(F(x))
        return cos_of(q, r)

    @njit(**_JIT)
    def tan_exact(x):
        x = F(x)
        q, r = reduce_any(x)
        return tan_of(x, q, r)

    @njit(**_JIT)
    def atan_pos(a):  # atan(a) for a >= 0 or NaN (+inf -> pi/2), fdlibm's five intervals
        big = a > A3  # pi/2 + atan(-1/a)
        # else atan(c) + atan((a - c)/(1 + c*a)), c = 0, 1/2, 1 or 3/2
        c = sel(a > A2, C2, sel(a > A1, C1, sel(a > A0, C0, ZERO)))
        t = fdiv(sel(big, -ONE, a - c), sel(big, a, fma(c, a, ONE)))  # a - c is exact
        z = t * t
        p = fma(t * z, poly(z, P_ATAN), t)
        hi = sel(big, PIO2_HI, sel(a > A2, C2_HI, sel(a > A1, C1_HI, sel(a > A0, C0_HI, ZERO))))
        lo = sel(big, PIO2_LO, sel(a > A2, C2_LO, sel(a > A1, C1_LO, sel(a > A0, C0_LO, ZERO))))
        return hi + (p + lo)

    @njit(**_JIT)
    def atan(x):
        x = F(x)
        return copysign(atan_pos(fabs(x)), x)

    @njit(**_JIT)
    def atan2(y, x):
        y = F(y)
        x = F(x)
        ax = fabs(x)
        ay = fabs(y)
        swap = ay > ax
        t = fdiv(sel(swap, ax, ay), sel(swap, ay, ax))  # in [0, 1]
        t = sel(ax == ay, sel(ax == ZERO, ZERO, ONE), t)  # 0/0 and inf/inf
        a = atan_pos(t)
        a = sel(swap, PIO2_HI - (a - PIO2_LO), a)
        a = sel(signbit(x), PI_HI - (a - PI_LO), a)  # x = -0.0 counts as negative
        return sel((x != x) | (y != y), x + y, copysign(a, y))

    @njit(**_JIT)
    def asin_parts(a):  # (big, t, asin(t)): big: t = sqrt((1-a)/2); else t = a
        big = a > HALF
        z = sel(big, HALF * (ONE - a), a * a)
        t = sel(big, sqrt(z), a)
        return big, t, fma(t * z, poly(z, P_ASIN), t)

    @njit(**_JIT)
    def asin(x):
        x = F(x)
        a = fabs(x)
        big, t, p = asin_parts(a)
        res = sel(big, PIO2_HI - (TWO * p - PIO2_LO), p)  # pi/2 - 2 asin(sqrt((1-a)/2))
        res = sel(a > ONE, sel(x < ZERO, NAN_ASIN_LO, NAN_ASIN_HI), copysign(res, x))
        return sel(x != x, x, res)

    @njit(**_JIT)
    def acos(x):
        x = F(x)
        a = fabs(x)
        big, t, p = asin_parts(a)
        p = copysign(p, x)  # asin(x) when small, +-asin(sqrt((1-|x|)/2)) when big
        res_small = PIO2_HI - (p - PIO2_LO)
        res_big = sel(x > ZERO, TWO * p, PI_HI + (TWO * p + PI_LO))
        res = sel(big, res_big, res_small)
        res = sel(a > ONE, sel(x < ZERO, NAN_ACOS_LO, NAN_ACOS_HI), res)
        return sel(x != x, x, res)

    return dict(sin=sin, cos=cos, tan=tan, atan=atan, atan2=atan2, asin=asin, acos=acos,
                sin_exact=sin_exact, cos_exact=cos_exact, tan_exact=tan_exact, trig_big=big)


_F32 = _build(np.float32)
_F64 = _build(np.float64)

sin_f32, sin_f64 = _F32["sin"], _F64["sin"]
cos_f32, cos_f64 = _F32["cos"], _F64["cos"]
tan_f32, tan_f64 = _F32["tan"], _F64["tan"]
asin_f32, asin_f64 = _F32["asin"], _F64["asin"]
acos_f32, acos_f64 = _F32["acos"], _F64["acos"]
atan_f32, atan_f64 = _F32["atan"], _F64["atan"]
atan2_f32, atan2_f64 = _F32["atan2"], _F64["atan2"]
sin_exact_f32, sin_exact_f64 = _F32["sin_exact"], _F64["sin_exact"]
cos_exact_f32, cos_exact_f64 = _F32["cos_exact"], _F64["cos_exact"]
tan_exact_f32, tan_exact_f64 = _F32["tan_exact"], _F64["tan_exact"]
trig_big_f32, trig_big_f64 = _F32["trig_big"], _F64["trig_big"]
