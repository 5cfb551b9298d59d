"""Complex functions for the Numba kernels, where Numba's own (cmath's formulas) miss the special
values of the array API standard (C99 Annex G, what NumPy's complex loops give through libm):
NaN and infinite parts, signed zeros. Each function handles the non-finite inputs by the
standard's table and leaves finite ones to Numba's complex function, or computes them by the
usual formula from real functions (sinh, cosh, tanh: FreeBSD msun's algorithms).

The trigonometric functions are the hyperbolic ones rotated: sin(z) = -i sinh(iz),
cos(z) = cosh(iz), tan(z) = -i tanh(iz), asin(z) = -i asinh(iz), atan(z) = -i atanh(iz), so
their special values follow from those of the hyperbolic functions, as the standard says.

Imported by name into generated kernel modules (backends/numba/render.py COMPLEX_FUNCS): this
module imports Numba, the renderer does not.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_PI = math.pi
_HALF_PI = math.pi / 2
_QUARTER_PI = math.pi / 4
_NAN = math.nan
_INF = math.inf

_opts = dict(cache=False, fastmath=False, error_model="numpy")


@njit(**_opts)
def _rot(z):
    """i z."""
    return complex(-z.imag, z.real)


@njit(**_opts)
def _unrot(z):
    """-i z."""
    return complex(z.imag, -z.real)


@njit(**_opts)
def complex_sign(z):
    """z / |z| (0 at 0), NumPy's: NaN in either part gives NaN, an infinite part gives its unit
    direction (NaN when both are infinite)."""
    x, y = z.real, z.imag
    a = math.hypot(x, y)
    if a != a:
        return complex(_NAN, _NAN)
    if math.isinf(a):
        if math.isinf(x):
            if math.isinf(y):
                return complex(_NAN, _NAN)
            return complex(1.0 if x > 0 else -1.0, 0.0)
        return complex(0.0, 1.0 if y > 0 else -1.0)
    if a == 0:
        return complex(0.0, 0.0)
    return complex(x / a, y / a)


@njit(**_opts)
def complex_exp(z):
    """exp; a zero imaginary part stays exactly (exp(1e300 + 0j) = inf + 0j, not inf + nanj)."""
    if z.imag == 0:
        return complex(math.exp(z.real), z.imag)
    if z.real == -_INF and not math.isfinite(z.imag):  # +0 + i(+-0) (the signs: glibc's)
        return complex(0.0, math.copysign(0.0, z.imag) if z.imag == z.imag else 0.0)
    return np.exp(z)


@njit(**_opts)
def _sinh(x, y):
    if math.isfinite(x) and math.isfinite(y):
        if y == 0:
            return complex(math.sinh(x), y)
        return complex(math.sinh(x) * math.cos(y), math.cosh(x) * math.sin(y))
    if x == 0:  # sinh(+-0 +- i inf or nan) = +-0 + i nan
        return complex(x, y - y)
    if y == 0:  # sinh(+-inf or nan +- i0) = x + i y
        return complex(x, y)
    if math.isfinite(x):  # y inf or nan
        return complex(y - y, y - y)
    if math.isinf(x):
        if not math.isfinite(y):
            return complex(abs(x), y - y)  # the sign is unspecified: glibc's, as NumPy's
        return complex(x * math.cos(y), _INF * math.sin(y))
    return complex((x * x) * (y - y), (x + x) * (y - y))


@njit(**_opts)
def _cosh(x, y):
    if math.isfinite(x) and math.isfinite(y):
        if y == 0:
            return complex(math.cosh(x), x * y)
        return complex(math.cosh(x) * math.cos(y), math.sinh(x) * math.sin(y))
    if x == 0:  # cosh(+-0 +- i inf or nan) = nan + i (+-0)
        return complex(y - y, x * math.copysign(0.0, y))
    if y == 0:  # cosh(+-inf or nan +- i0)
        return complex(x * x, math.copysign(0.0, x) * y)
    if math.isfinite(x):
        return complex(y - y, x * (y - y))
    if math.isinf(x):
        if not math.isfinite(y):
            return complex(x * x, x * (y - y))
        return complex((x * x) * math.cos(y), x * math.sin(y))
    return complex((x * x) * (y - y), (x + x) * (y - y))


@njit(**_opts)
def _tanh(x, y, large, standard):
    if not math.isfinite(x):
        if x != x:
            return complex(x + y, y if y == 0 else x + y)
        # tanh(+-inf + iy): the standard says +-1 + 0j with the sign of y (`standard`); C99's
        # ctanh (and NumPy) take the sign of sin(2y), which tan, through tanh, keeps
        sign = y if math.isinf(y) or standard else math.sin(y) * math.cos(y)
        return complex(math.copysign(1.0, x), math.copysign(0.0, sign))
    if not math.isfinite(y):
        return complex(y - y if x != 0 else x, y - y)
    if abs(x) >= large:  # tanh ~ +-1 + i 4 sin(y) cos(y) exp(-2|x|), without overflow
        e = math.exp(-abs(x))
        return complex(math.copysign(1.0, x), 4.0 * math.sin(y) * math.cos(y) * e * e)
    t = math.tan(y)  # Kahan's algorithm
    beta = 1.0 + t * t
    s = math.sinh(x)
    rho = math.sqrt(1.0 + s * s)
    denom = 1.0 + beta * s * s
    return complex((beta * rho * s) / denom, t / denom)


@njit(**_opts)
def complex_sinh(z):
    return _sinh(z.real, z.imag)


@njit(**_opts)
def complex_cosh(z):
    return _cosh(z.real, z.imag)


@njit(**_opts)
def complex_tanh(z):
    return _tanh(z.real, z.imag, 22.0, True)


@njit(**_opts)
def complex_sin(z):
    if math.isinf(z.imag) and not math.isfinite(z.real):
        return complex(_NAN, _INF)  # nan +- i inf: the sign is unspecified (glibc's +)
    w = _rot(z)
    return _unrot(_sinh(w.real, w.imag))


@njit(**_opts)
def complex_cos(z):
    w = _rot(z)
    return _cosh(w.real, w.imag)


@njit(**_opts)
def complex_tan(z):
    w = _rot(z)
    return _unrot(_tanh(w.real, w.imag, 22.0, False))


@njit(**_opts)
def _asinh_special(x, y):
    """asinh of a z with a NaN or infinite part (Annex G.6.2.2; odd, conj-symmetric)."""
    if math.isinf(x):
        if y != y:
            return complex(x, y)
        if math.isinf(y):
            return complex(x, math.copysign(_QUARTER_PI, y))
        return complex(x, math.copysign(0.0, y))
    if math.isinf(y):
        if x != x:
            return complex(abs(y), x)  # +-inf + i nan (the sign is unspecified: glibc's +)
        return complex(math.copysign(_INF, x), math.copysign(_HALF_PI, y))
    # a NaN part, nothing infinite
    if y == 0:
        return complex(x, y)
    return complex(_NAN, _NAN)


@njit(**_opts)
def complex_asinh(z):
    x, y = z.real, z.imag
    if math.isfinite(x) and math.isfinite(y):
        return np.arcsinh(z)
    return _asinh_special(x, y)


@njit(**_opts)
def complex_asin(z):
    x, y = z.real, z.imag
    if math.isfinite(x) and math.isfinite(y):
        return np.arcsin(z)
    if math.isinf(x) and y != y:
        return complex(_NAN, _INF)  # nan +- i inf: the sign is unspecified (glibc's +)
    return _unrot(_asinh_special(-y, x))


@njit(**_opts)
def _acos_special(x, y):
    """acos of a z with a NaN or infinite part (Annex G.6.1.1)."""
    if math.isinf(x):
        if y != y:
            return complex(y, -abs(x))  # nan +- i inf (the sign is unspecified: glibc's -)
        if math.isinf(y):
            return complex(_QUARTER_PI if x > 0 else 3 * _QUARTER_PI, -y)
        return complex(0.0 if x > 0 else _PI, math.copysign(_INF, -y))
    if math.isinf(y):
        return complex(_HALF_PI if x == x else x, -y)
    if x == 0:  # +-0 + i nan
        return complex(_HALF_PI, y)
    return complex(_NAN, _NAN)


@njit(**_opts)
def complex_acos(z):
    x, y = z.real, z.imag
    if math.isfinite(x) and math.isfinite(y):
        return np.arccos(z)
    return _acos_special(x, y)


@njit(**_opts)
def complex_acosh(z):
    """acosh (Annex G.6.2.1: the real part >= 0, the imaginary part with y's sign)."""
    x, y = z.real, z.imag
    if math.isfinite(x) and math.isfinite(y):
        # +-i acos(z) (Numba's arccosh loses digits and the sign at x < -1 - 0j)
        w = np.arccos(complex(x, y))
        return complex(abs(w.imag), math.copysign(w.real, y))
    if y != y:
        if math.isinf(x):
            return complex(_INF, _NAN)
        return complex(_NAN, _HALF_PI if x == 0 else _NAN)
    if math.isinf(x):
        if math.isinf(y):
            im = 3 * _QUARTER_PI if x < 0 else _QUARTER_PI
        else:
            im = _PI if x < 0 else 0.0
        return complex(_INF, math.copysign(im, y))
    if math.isinf(y):
        return complex(_INF, math.copysign(_HALF_PI if x == x else _NAN, y))
    return complex(_NAN, _NAN)


@njit(**_opts)
def _atanh_special(x, y):
    """atanh of a z with a NaN or infinite part (Annex G.6.2.3; odd, conj-symmetric)."""
    if math.isinf(y):
        return complex(math.copysign(0.0, x) if x == x else 0.0, math.copysign(_HALF_PI, y))
    if math.isinf(x):
        return complex(math.copysign(0.0, x), y if y != y else math.copysign(_HALF_PI, y))
    if x == 0:  # +-0 + i nan
        return complex(x, y)
    return complex(_NAN, _NAN)


@njit(**_opts)
def complex_atanh(z):
    x, y = z.real, z.imag
    if math.isfinite(x) and math.isfinite(y):
        return np.arctanh(z)
    return _atanh_special(x, y)


@njit(**_opts)
def complex_atan(z):
    x, y = z.real, z.imag
    if math.isfinite(x) and math.isfinite(y):
        return np.arctan(z)
    if math.isinf(x) and y != y:  # +-pi/2 +- 0i: the sign of 0 is unspecified (glibc's +)
        return complex(math.copysign(_HALF_PI, x), 0.0)
    return _unrot(_atanh_special(-y, x))


@njit(**_opts)
def complex_expm1(z):
    """NumPy's formula: expm1(x) cos(y) - 2 sin(y/2)^2 + i exp(x) sin(y) (Numba's exp(z) - 1
    loses ~5000 ulps near 0); expm1(+-0 +- 0j) is z itself."""
    x, y = z.real, z.imag
    if x == 0 and y == 0:  # the standard: +0 + 0j for either zero of x
        return complex(0.0, y)
    if not (math.isfinite(x) and math.isfinite(y)):  # the standard's special cases
        if x != x:
            return complex(_NAN, y if y == 0 else _NAN)
        if x == _INF:
            if y == 0:
                return complex(_INF, y)
            if math.isfinite(y):
                return complex(_INF * math.cos(y), _INF * math.sin(y))
            return complex(_INF, _NAN)
        if x == -_INF:
            return complex(-1.0, math.copysign(0.0, math.sin(y) if math.isfinite(y) else y))
        return complex(_NAN, _NAN)
    a = math.sin(y / 2)
    return complex(math.expm1(x) * math.cos(y) - 2 * a * a, math.exp(x) * math.sin(y))


@njit(**_opts)
def complex_divide(a, b):
    """a / b by NumPy's loop (Smith's algorithm): no ZeroDivisionError (Numba's complex `/`
    raises), x / 0 is a complex inf or NaN as NumPy gives."""
    ar, ai, br, bi = a.real, a.imag, b.real, b.imag
    abs_br, abs_bi = abs(br), abs(bi)
    if abs_br >= abs_bi:
        if abs_br == 0 and abs_bi == 0:
            return complex(ar / abs_br, ai / abs_br)
        rat = bi / br
        scl = 1.0 / (br + bi * rat)
        return complex((ar + ai * rat) * scl, (ai - ar * rat) * scl)
    rat = br / bi
    scl = 1.0 / (bi + br * rat)
    return complex((ar * rat + ai) * scl, (ai * rat - ar) * scl)


@njit(**_opts)
def complex_reciprocal(z):
    """1 / z by NumPy's loop."""
    x, y = z.real, z.imag
    if abs(y) <= abs(x):
        r = y / x
        d = x + y * r
        return complex(1.0 / d, -r / d)
    r = x / y
    d = x * r + y
    return complex(r / d, -1.0 / d)


@njit(**_opts)
def complex_pow(a, b):
    """a ** b by NumPy's npy_cpow: b == 0 gives 1, a zero base 0 (b real positive) or NaN, a
    small integer exponent repeated multiplication, else exp(b log a). (Numba's, Python's,
    raises ZeroDivisionError for 0 ** -1.)"""
    br, bi = b.real, b.imag
    if br == 0 and bi == 0:
        return complex(1.0, 0.0)
    if a.real == 0 and a.imag == 0:
        if br > 0 and bi == 0:
            return complex(0.0, 0.0)
        return complex(_NAN, _NAN)
    if bi == 0 and abs(br) < 100 and br == math.floor(br):
        n = int(br)
        p = complex(a.real, a.imag)
        if n == 1:  # NumPy's first cases: no product with 1 + 0j (inf * 0 is NaN)
            return p
        if n == 2:
            return p * p
        if n == 3:
            return p * (p * p)
        m = -n if n < 0 else n
        r = complex(1.0, 0.0)
        while m:
            if m & 1:
                r = r * p
            p = p * p
            m >>= 1
        return complex_divide(complex(1.0, 0.0), r) if n < 0 else r
    return complex_exp(complex(br, bi) * np.log(complex(a.real, a.imag)))


@njit(**_opts)
def complex_log(z):
    """log|z| + i arg z, log|z| as log1p(|z|^2 - 1) / 2 near |z| = 1 (Numba's log(abs(z))
    loses ~1000 ulps there); hypot and atan2 give Annex G's special values."""
    x, y = z.real, z.imag
    h = math.hypot(x, y)
    re = 0.5 * math.log1p((x - 1.0) * (x + 1.0) + y * y) if 0.7 < h < 1.5 else math.log(h)
    return complex(re, math.atan2(y, x))


@njit(**_opts)
def complex_log2(z):
    w = complex_log(z)
    return complex(w.real * 1.4426950408889634, w.imag * 1.4426950408889634)


@njit(**_opts)
def complex_log10(z):
    w = complex_log(z)
    return complex(w.real * 0.4342944819032518, w.imag * 0.4342944819032518)


@njit(**_opts)
def complex_log1p(z):
    """NumPy's formula, log|1 + z| + i arg(1 + z) (it loses digits for tiny |z|, as NumPy)."""
    x, y = z.real, z.imag
    return complex(math.log(math.hypot(x + 1.0, y)), math.atan2(y, x + 1.0))
