"""Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
SC'11), the counter-based generator behind the `random_bits` op: its constants, its NumPy
reference (vectorized over any number of blocks), and the layout the op gives it.

One block maps a 128-bit counter `(c0, c1, c2, c3)` and a 64-bit key `(k0, k1)` (32-bit words)
to 128 random bits in 10 rounds. A round multiplies `c0` and `c2` by `M0`, `M1` (the 64-bit
products split into high and low words), mixes them with the other two words and the key, and
the key is bumped by the Weyl constants `W0`, `W1` between rounds:

    (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))

The layout of `random_bits(k0, k1, offset) {shape}` (DESIGN.md, "Random numbers", with offset
0): element `i` of the result (its linear index, C order, over the *counter dimensions*) has
the counter `n = offset + i` and is word `n % 4` of the block with counter `(b & 0xffffffff,
b >> 32, 0, 0)`, `b = n // 4`, and key `(k0, k1)`. The operands broadcast to the result from
the right; the counter dimensions are the result's dimensions along which they do not vary
(all of them for one key: `bits(key(0), (4,))` is the published known answer `6627e8d5
e169c58d bc57ac4c 9b00dbd8`). A dimension along which they vary is a batch of independent
streams (what `vmap` over keys makes): the counter restarts for each. The offset lets one key
give several disjoint streams (a float64 draw takes two words per element: offsets 0 and
size) and a Generator advance through one stream call after call.

Philox4x32-10 passes TestU01's BigCrush, SmallCrush and Crush (the paper, table 2), as do the
variants with more rounds; 10 is the recommended count (Random123's default).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57  # the round multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # the key bumps: the golden ratio and sqrt(3) - 1, 32 bits
ROUNDS = 10
MASK = 0xFFFFFFFF


def philox4x32(counter: Sequence[np.ndarray], key: Sequence[np.ndarray],
               rounds: int = ROUNDS, xp=np) -> tuple[np.ndarray, ...]:
    """The four output words of each block (uint32 arrays), for counter words and key words
    given as arrays (or scalars) that broadcast together; `xp`: NumPy or CuPy."""
    c0, c1, c2, c3 = (xp.asarray(c, dtype=np.uint64) & np.uint64(MASK) for c in counter)
    k0, k1 = (xp.asarray(k, dtype=np.uint64) & np.uint64(MASK) for k in key)
    m0, m1, w0, w1, mask = (np.uint64(v) for v in (M0, M1, W0, W1, MASK))
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + w0) & mask, (k1 + w1) & mask
        p0, p1 = m0 * c0, m1 * c2  # < 2**64: exact in uint64
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & mask,
                          (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & mask)
    return tuple(c.astype(np.uint32) for c in (c0, c1, c2, c3))


def counter_dims(key_shape: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    """The dimensions of a `random_bits` result of `shape` that count (module docstring): those
    along which operands of `key_shape` (their broadcast shape) do not vary."""
    pad = len(shape) - len(key_shape)
    full = (1,) * pad + tuple(key_shape)
    return tuple(d for d, (k, n) in enumerate(zip(full, shape)) if not (k == n and n != 1))


def random_bits(k0: np.ndarray, k1: np.ndarray, offset: np.ndarray, shape: Sequence[int],
                xp=np) -> np.ndarray:
    """The `random_bits` op: uint32 of `shape` (module docstring for the layout), computed with
    `xp` (NumPy, or CuPy for eager GPU tensors)."""
    shape = tuple(shape)
    k0, k1 = xp.asarray(k0, np.uint32), xp.asarray(k1, np.uint32)
    offset = xp.asarray(offset, np.uint64)
    dims = counter_dims(np.broadcast_shapes(k0.shape, k1.shape, offset.shape), shape)
    # the element counter: linear index over the counter dimensions, broadcast over the others
    n = xp.zeros((1,) * len(shape), np.uint64)
    for d in dims:
        index = xp.arange(shape[d], dtype=np.uint64).reshape(
            (1,) * d + (shape[d],) + (1,) * (len(shape) - d - 1))
        n = n * np.uint64(shape[d]) + index
    n = xp.broadcast_to(n + offset, shape)
    block = n >> np.uint64(2)
    c0, c1, c2, c3 = philox4x32((block & np.uint64(MASK), block >> np.uint64(32), 0, 0),
                                (xp.broadcast_to(k0, shape), xp.broadcast_to(k1, shape)), xp=xp)
    word = n & np.uint64(3)
    return xp.where(word == 0, c0, xp.where(word == 1, c1, xp.where(word == 2, c2, c3)))
