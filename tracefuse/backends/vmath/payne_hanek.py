"""Payne-Hanek argument reduction for sin/cos/tan beyond the vectorized Cody-Waite range.

`reduce_huge(x)`: for a finite float64 |x| > TRIG_ACCURATE_MAX (trig.py), the quadrant
q = n mod 4 (as -1, 0, 1 or 2, the form trig.py's polynomials select on) and r = x - n*pi/2
rounded to float64, |r| <= pi/4, with x*2/pi computed exactly to ~180 bits past the binary
point: every finite float64 (and so every float32) reduces as glibc's and CUDA's libdevice do.

How: x = m * 2**e with m a 53-bit integer. The bits of 2/pi (`TWO_OVER_PI`, 32 per word, the
first word the 32 bits after the point; computed at import from Machin's formula in Python
integers) whose products with m are multiples of 4 (they change neither n mod 4 nor r) are
skipped: the 8 words from index (e - 2) // 32 on are multiplied by m in 32-bit limbs, which
leaves the two bits of n mod 4 above the binary point and at least 222 bits below it (the
hardest float64, 6381956970095103 * 2**797, has x*2/pi within 2**-61 of an integer). The
fraction rounded to the nearest integer is read as 128 bits, converted to a double-double and
multiplied by pi/2 (a double-double too).

Scalar, with loops and a small array: `@njit` but not inlined. trig.py calls it only from the
`*_exact` functions (a branch per element), which generated kernels run only when some argument
of a sin/cos/tan was beyond the range (numba/render.py); the vectorized fast path never calls it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .core import as_int, consts, fma

__all__ = ["TWO_OVER_PI", "reduce_huge", "two_over_pi_words"]

WINDOW = 8  # words of 2/pi multiplied by m
_WORDS = 40  # 1280 bits: the window of the largest float64 ends at word 37


def _atan_inv(x: int, one: int) -> int:
    """atan(1/x) * one, by its Taylor series in integers (x >= 2)."""
    power = one // x
    total, k, x2 = power, 1, x * x
    while power:
        power //= x2
        term = power // (2 * k + 1)
        total += -term if k % 2 else term
        k += 1
    return total


def _pi_fixed(bits: int) -> int:
    """pi * 2**bits, to within a few units (Machin: pi = 16 atan(1/5) - 4 atan(1/239))."""
    guard = 32
    one = 1 << (bits + guard)
    return (16 * _atan_inv(5, one) - 4 * _atan_inv(239, one)) >> guard


def two_over_pi_words(count: int) -> np.ndarray:
    """floor(2/pi * 2**(32 count)) as `count` uint32 words, most significant first."""
    bits = 32 * count
    prec = bits + 64
    value = (1 << (bits + prec + 1)) // _pi_fixed(prec)
    return np.array([(value >> (32 * (count - 1 - i))) & 0xFFFFFFFF for i in range(count)],
                    dtype=np.uint64)


TWO_OVER_PI = two_over_pi_words(_WORDS)
_K = consts(np.float64)
_PIO2_1, _PIO2_2 = _K["PIO2_1"], _K["PIO2_2"]  # pi/2 as a double-double
_U32, _MASK32 = np.uint64(32), np.uint64(0xFFFFFFFF)
_MANT = np.int64((1 << 52) - 1)
_HIDDEN = np.int64(1 << 52)
_TWO_M64, _TWO_M128 = np.float64(2.0 ** -64), np.float64(2.0 ** -128)


@njit(error_model="numpy", cache=False)
def _bits64(p, b):
    """Bits b .. b+63 of the little-endian 32-bit-limb integer p."""
    w = b >> 5
    o = np.uint64(b & 31)
    lo = p[w] | (p[w + 1] << _U32)
    if o == 0:
        return lo
    return (lo >> o) | (p[w + 2] << (np.uint64(64) - o))


@njit(error_model="numpy", cache=False)
def reduce_huge(x):
    """(q, r): x = n*pi/2 + r with q = n mod 4 as -1, 0, 1 or 2 and |r| <= pi/4, for a finite
    float64 x with |x| >= 2**45 (smaller x would need more fraction bits than are kept)."""
    bits = as_int(x)
    m = np.uint64((bits & _MANT) | _HIDDEN)
    e = np.int64((bits >> 52) & 0x7FF) - 1075  # x = m * 2**e
    k0 = max(np.int64(0), (e - 2) // 32)  # earlier words give multiples of 4
    p = np.zeros(WINDOW + 3, np.uint64)  # P = m * window, 32-bit limbs, least significant first
    mlo, mhi = m & _MASK32, m >> _U32
    carry = np.uint64(0)
    for j in range(WINDOW):
        acc = TWO_OVER_PI[k0 + WINDOW - 1 - j] * mlo + carry
        p[j] = acc & _MASK32
        carry = acc >> _U32
    p[WINDOW] = carry
    carry = np.uint64(0)
    for j in range(WINDOW):  # mhi < 2**21: no overflow of the 64-bit accumulator
        acc = TWO_OVER_PI[k0 + WINDOW - 1 - j] * mhi + p[j + 1] + carry
        p[j + 1] = acc & _MASK32
        carry = acc >> _U32
    p[WINDOW + 1] = carry
    s = 32 * (k0 + WINDOW) - e  # x*2/pi = P * 2**-s, s >= 222
    q = _bits64(p, s) & np.uint64(3)
    fhi = _bits64(p, s - 64)  # the fraction's first 128 bits
    flo = _bits64(p, s - 128)
    if fhi >> np.uint64(63):  # fraction >= 1/2: n = q + 1, r from the fraction - 1 (negative)
        q = (q + np.uint64(1)) & np.uint64(3)
        fhi = ~fhi
        flo = ~flo + np.uint64(1)
        if flo == 0:
            fhi += np.uint64(1)
        neg = True
    else:
        neg = False
    a = np.float64(fhi)  # rounded; the rounding error exactly, as a signed integer
    da = np.int64(fhi - np.uint64(a))
    hi = a * _TWO_M64
    lo = np.float64(da) * _TWO_M64 + np.float64(flo) * _TWO_M128
    yh = hi + lo  # Fast2Sum: |hi| >= |lo| or hi == 0
    yl = lo - (yh - hi)
    rh = yh * _PIO2_1  # (yh + yl) * pi/2, double-double
    rl = fma(yh, _PIO2_1, -rh) + (yh * _PIO2_2 + yl * _PIO2_1)
    r = rh + rl
    qf = np.float64(q)
    qf = qf - 4.0 if qf > 2.5 else qf  # 3 -> -1
    if neg:
        r = -r
    if bits < 0:  # x negative: n and r change sign
        r = -r
        qf = -qf if qf != 2.0 else qf
    return qf, r
