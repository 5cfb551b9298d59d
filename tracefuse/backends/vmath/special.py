"""Vectorizable special functions for Numba kernels: erf and erfc.

Same contract as functions.py (which re-exports these names and holds the accuracy table):
`@njit(inline="always")`, branch-free (every case computed, the result `sel`ected), one
function per dtype, float32 computed in float32. The algorithm is the NumPy oracle's
(ir/numpy_impl.py), with coefficients per dtype from tools/vmath_fit.py (core.py ERF, ERFC):

- erfc(t) for t >= 0: exp(-t^2) / (1 + 2t) * P(y), y = (t - K)/(t + K), K = 3.75 (M. M.
  Shepherd and J. G. Laframboise, Math. Comp. 36 (1981): y maps [0, inf) onto [-1, 1), so one
  polynomial covers every t; degree 12 in float32, 24 in float64). exp(-t^2) is taken with
  t^2 = th^2 + (t - th)(t + th), th = t's top half of the mantissa bits (th^2 exact), the
  second part added to the reduced argument, and the factor P/(1 + 2t) multiplied in before
  the final scaling by 2**n, so results down into the denormals round once. t is clamped to
  ERFC_ZERO_AT (erfc is 0 there in the dtype), so inf gives 0.
- erfc(-t) = 2 - erfc(t); erfc(t) = 1 - erf(t) for |t| < 1/2 (erf below 0.53: no cancellation).
- erf(t) = t + t Q(t^2) for |t| < 1 (minimax, keeps -0.0 and denormals), else
  sign(t) (1 - erfc(|t|)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from .core import as_float, as_int, consts, copysign, fabs, fdiv, fma, poly, pow2, rint, sel

__all__ = ["erf_f32", "erf_f64", "erfc_f32", "erfc_f64"]

_JIT = dict(inline="always", error_model="numpy", cache=False)


def _build(F) -> dict[str, Callable]:
    K = consts(F)
    ONE, HALF, TWO = K["ONE"], K["HALF"], K["TWO"]
    LOG2E, LN2_HI, LN2_LO = K["LOG2E"], K["LN2_HI"], K["LN2_LO"]
    P_EXPM1, P_ERF, P_ERFC = K["EXPM1"], K["ERF"], K["ERFC"]
    ERFC_K, ZERO_AT, HIGH_BITS = K["ERFC_K"], K["ERFC_ZERO_AT"], K["ERFC_HIGH_BITS"]
    INT = type(HIGH_BITS)  # Numba widens int32 & int32 to int64: back to the float's width

    @njit(**_JIT)
    def erfc_positive(a):  # erfc(a) for a >= 0 (NaN: finite junk, the callers select)
        a = sel(a < ZERO_AT, a, ZERO_AT)
        m = fdiv(poly(fdiv(a - ERFC_K, a + ERFC_K), P_ERFC), a + a + ONE)
        th = as_float(INT(as_int(a) & HIGH_BITS))
        hi = -(th * th)  # exact
        lo = (th - a) * (a + th)  # -(a^2 - th^2), to a few ulps of itself
        n = rint(hi * LOG2E)
        r = fma(-n, LN2_LO, fma(-n, LN2_HI, hi)) + lo
        p = fma(r * r, poly(r, P_EXPM1), r) * m + m  # exp(r) * P / (1 + 2a)
        n1 = rint(n * HALF)
        return p * pow2(n1) * pow2(n - n1)

    @njit(**_JIT)
    def erf_small(x):  # |x| < 1
        return fma(x, poly(x * x, P_ERF), x)

    @njit(**_JIT)
    def erf(x):
        x = F(x)
        a = fabs(x)
        res = sel(a < ONE, erf_small(x), copysign(ONE - erfc_positive(a), x))
        return sel(x != x, x, res)

    @njit(**_JIT)
    def erfc(x):
        x = F(x)
        a = fabs(x)
        e = erfc_positive(a)
        res = sel(x < -x, TWO - e, e)
        res = sel(a < HALF, ONE - erf_small(x), res)
        return sel(x != x, x, res)

    return dict(erf=erf, erfc=erfc)


_F32 = _build(np.float32)
_F64 = _build(np.float64)
erf_f32, erf_f64 = _F32["erf"], _F64["erf"]
erfc_f32, erfc_f64 = _F32["erfc"], _F64["erfc"]
