"""The workloads of issue 19 where `jax.jit` was ahead: `black_scholes` (European call and put
prices of 4M options: log, sqrt, exp and two normal CDFs through erf, one fused kernel) and
`attention` (`softmax(q @ k^T / sqrt(d)) @ v` with batch and heads: two batched GEMMs and the
softmax between them); and `standardize` (feature scaling down the columns, `(x - mean(x, 0))
/ std(x, 0)`: row kernels over the leading axis, found 10x slower than NumPy while measuring
issue 20). Their NumPy, tracefuse and JAX versions and inputs; see `workloads.py`
for the conventions every workload follows.

NumPy has no erf: the NumPy version of Black-Scholes uses `scipy.special.erf` (what a NumPy
user calls) when SciPy is installed, else `math.erf` element by element (`np.vectorize`, much
slower): `ERF_SOURCE` says which.
"""

from __future__ import annotations

import math

import numpy as np

import tracefuse as tx

from .base import normal

RATE = 0.02  # the risk-free rate, a Python float: a weak scalar, float32 stays float32
SQRT_HALF = 0.7071067811865476

try:
    from scipy.special import erf as _np_erf
    ERF_SOURCE = "scipy.special.erf"
except ImportError:  # pragma: no cover - scipy is in the test extra
    _vector_erf = np.vectorize(math.erf, otypes=[np.float64])

    def _np_erf(x):
        return _vector_erf(x).astype(x.dtype)
    ERF_SOURCE = "math.erf per element (scipy not installed)"


def black_scholes_np(s, k, t, sigma):
    sq = sigma * np.sqrt(t)
    d1 = (np.log(s / k) + (RATE + 0.5 * sigma * sigma) * t) / sq
    d2 = d1 - sq
    n1 = 0.5 * (1.0 + _np_erf(d1 * SQRT_HALF))
    n2 = 0.5 * (1.0 + _np_erf(d2 * SQRT_HALF))
    disc = k * np.exp(-RATE * t)
    return s * n1 - disc * n2, disc * (1.0 - n2) - s * (1.0 - n1)


def black_scholes_tx(s, k, t, sigma):
    sq = sigma * tx.sqrt(t)
    d1 = (tx.log(s / k) + (RATE + 0.5 * sigma * sigma) * t) / sq
    d2 = d1 - sq
    n1 = 0.5 * (1.0 + tx.erf(d1 * SQRT_HALF))
    n2 = 0.5 * (1.0 + tx.erf(d2 * SQRT_HALF))
    disc = k * tx.exp(-RATE * t)
    return s * n1 - disc * n2, disc * (1.0 - n2) - s * (1.0 - n1)


def black_scholes_jax(jnp):
    from jax.scipy.special import erf

    def black_scholes(s, k, t, sigma):
        sq = sigma * jnp.sqrt(t)
        d1 = (jnp.log(s / k) + (RATE + 0.5 * sigma * sigma) * t) / sq
        d2 = d1 - sq
        n1 = 0.5 * (1.0 + erf(d1 * SQRT_HALF))
        n2 = 0.5 * (1.0 + erf(d2 * SQRT_HALF))
        disc = k * jnp.exp(-RATE * t)
        return s * n1 - disc * n2, disc * (1.0 - n2) - s * (1.0 - n1)
    return black_scholes


def make_options(rng, d):
    """Spot and strike prices in [10, 100), maturities in [0.1, 2) years, volatilities in
    [0.1, 0.5): float32, never zero."""
    n = d["n"]
    return (rng.uniform(10, 100, n).astype(np.float32), rng.uniform(10, 100, n).astype(np.float32),
            rng.uniform(0.1, 2, n).astype(np.float32), rng.uniform(0.1, 0.5, n).astype(np.float32))


def attention_np(q, k, v):
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ v


def attention_tx(q, k, v):
    s = q @ tx.matrix_transpose(k) / math.sqrt(q.shape[-1])
    return tx.nn.softmax(s, axis=-1) @ v


def attention_jax(jnp):
    import jax

    def attention(q, k, v):
        s = q @ jnp.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
        return jax.nn.softmax(s, axis=-1) @ v
    return attention


def make_qkv(rng, d):
    shape = (d["batch"], d["heads"], d["seq"], d["dim"])
    return tuple(normal(rng, shape) for _ in range(3))


def standardize_np(x):
    return (x - x.mean(axis=0)) / x.std(axis=0)


def standardize_tx(x):
    return (x - tx.mean(x, axis=0)) / tx.std(x, axis=0)


def standardize_jax(jnp):
    def standardize(x):
        return (x - x.mean(axis=0)) / x.std(axis=0)
    return standardize


def make_features(rng, d):
    """Features of different scales and offsets (column j: spread 1 + j / cols, mean in
    [-2, 2)). Offsets stay small: with means up to 1000, NumPy's own float32 mean is off by
    2.5e-3 in the result (tracefuse and JAX, accumulating wider, by 2e-5)."""
    rows, cols = d["rows"], d["cols"]
    j = np.arange(cols, dtype=np.float64)
    offset = (j % 16 - 8) / 4
    return ((normal(rng, (rows, cols), np.float64) * (1 + j / cols) + offset)
            .astype(np.float32),)
