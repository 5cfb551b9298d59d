"""Philox4x32-10 for generated Numba kernels: `philox_bits(k0, k1, n)`, element `n`'s word of
the `random_bits` op (ir/philox.py owns the algorithm, its layout and the NumPy reference).

`philox_block(k0, k1, b)` gives a block's four words: the Numba renderer computes one block
per four consecutive elements where it can (render.py, `render_random_groups`), 15-20x faster
than a block per element (measured: 50M words in 41 ms serially against 607-793 ms).
Inlined into the kernel (`inline="always"`): 32-bit words (the block's results wrapped back to
uint32 once: Numba computes small ints in 64 bits), the 32x32-bit products in 64 bits, no
branches but the word's selects, a fixed round count. Every constant is a NumPy scalar of the right type: Numba
turns uint64 mixed with a Python int into float64.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from ...ir.philox import M0, M1, MASK, W0, W1

_M0, _M1, _W0, _W1 = (np.uint32(v) for v in (M0, M1, W0, W1))
_MASK, _S32, _ONE, _TWO, _THREE = (np.uint64(v) for v in (MASK, 32, 1, 2, 3))


@njit(inline="always")
def _mulhilo(m, c):
    """The high and low words of the 64-bit product of two uint32."""
    p = np.uint64(m) * np.uint64(c)
    return np.uint32(p >> _S32), np.uint32(p)


@njit(inline="always")
def philox_block(k0, k1, block):
    """The four words (uint32) of the Philox4x32-10 block with counter `(block low, block high,
    0, 0)` and key `(k0, k1)`."""
    block = np.uint64(block)
    c0, c1 = np.uint32(block & _MASK), np.uint32(block >> _S32)
    c2, c3 = np.uint32(0), np.uint32(0)
    a, b = np.uint32(k0), np.uint32(k1)
    for _ in range(10):  # the key bumped after every round (the last bump unused): no branch
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        # xors of 32-bit words stay below 2**32 whatever type Numba gives them: not wrapped
        # here (a uint32() per round made the loop 2.2x slower: 92 against 42 ms per 50M words)
        c0, c1, c2, c3 = hi1 ^ c1 ^ a, lo1, hi0 ^ c3 ^ b, lo0
        a = np.uint32(a + _W0)
        b = np.uint32(b + _W1)
    return np.uint32(c0), np.uint32(c1), np.uint32(c2), np.uint32(c3)


@njit(inline="always")
def philox_bits(k0, k1, n):
    """Word `n % 4` of the block `n // 4` (`philox_block`), as a uint32."""
    n = np.uint64(n)
    c0, c1, c2, c3 = philox_block(k0, k1, n >> _TWO)
    w = n & _THREE
    return c0 if w == np.uint64(0) else (c1 if w == _ONE else (c2 if w == _TWO else c3))


@functools.lru_cache(maxsize=None)
def philox_version() -> str:
    """A hash of this module's source (the kernel cache key: inlined code is not tracked by
    Numba's on-disk cache)."""
    import hashlib

    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]
