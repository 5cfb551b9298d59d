"""The random-number workloads of issue 16 (`uniform_50m`, `dropout`, `dropout_mask`): their
NumPy, tracefuse and JAX versions, inputs, and the distribution checks that judge draws whose
values cannot equal NumPy's (see `workloads.py`, "distribution").
"""

from __future__ import annotations

import math

import numpy as np

import tracefuse as tx

from .base import normal

# The key is an input (uint32[2]), so a new key does not retrace; NumPy seeds default_rng with
# it on every call (as `default_rng(seed).random(n, dtype=np.float32)`: a few microseconds),
# JAX takes it as a raw threefry key. The values differ between the three by design.
DROP_P = 0.1


def uniform_np(key, like):
    return np.random.default_rng(key).random(like.shape, dtype=np.float32)


def uniform_tx(key, like):
    return tx.random.uniform(key, like.shape)


def uniform_jax(jnp):
    import jax

    def uniform(key, like):
        return jax.random.uniform(key, like.shape, dtype=jnp.float32)
    return uniform


def dropout_np(key, x):
    return np.where(np.random.default_rng(key).random(x.shape, dtype=np.float32) > DROP_P,
                    x / (1 - DROP_P), 0)


def dropout_tx(key, x):
    return tx.where(tx.random.uniform(key, x.shape) > DROP_P, x / (1 - DROP_P), 0)


def dropout_jax(jnp):
    import jax

    def dropout(key, x):
        return jnp.where(jax.random.uniform(key, x.shape, dtype=jnp.float32) > DROP_P,
                         x / (1 - DROP_P), 0)
    return dropout


def dropout_mask_np(x):
    return np.where(x > DROP_P, x / (1 - DROP_P), 0)


def dropout_mask_tx(x):
    return tx.where(x > DROP_P, x / (1 - DROP_P), 0)


def dropout_mask_jax(jnp):
    def dropout_mask(x):
        return jnp.where(x > DROP_P, x / (1 - DROP_P), 0)
    return dropout_mask


def _key(rng) -> np.ndarray:
    return rng.integers(0, 2**32, 2, dtype=np.uint32)


def make_key_like(rng, d):
    """A key and an array of the draw's shape (ones, never read: it gives the shape, as
    `uniform(key, x.shape)` in user code; NumPy and JAX read it no more than tracefuse)."""
    return _key(rng), np.ones(d["n"], np.float32)


def make_key_x(rng, d):
    return _key(rng), normal(rng, (d["rows"], d["cols"]))


def _within(name: str, value: float, want: float, sigma: float, k: float = 5.0) -> list[str]:
    if abs(value - want) <= k * sigma:
        return []
    return [f"{name} {value:.6g} is not {want:.6g} within {k:g} sigma ({k * sigma:.3g})"]


def check_uniform(got: np.ndarray, inputs: tuple) -> list[str]:
    """float32 draws of U[0, 1): finite, in [0, 1), mean 1/2 and variance 1/12 within 5 sigma,
    and each of 16 equal bins holding n/16 within 5 sigma (a constant, a stale buffer, a
    half-written output or a wrong scale fail)."""
    n = got.size
    if n == 0:
        return []
    u = got.astype(np.float64).ravel()
    if not np.isfinite(u).all() or u.min() < 0.0 or u.max() >= 1.0:
        return [f"values outside [0, 1): min {u.min():.6g}, max {u.max():.6g}"]
    problems = _within("mean", float(u.mean()), 0.5, math.sqrt(1 / 12 / n))
    problems += _within("variance", float(u.var()), 1 / 12, math.sqrt((1 / 80 - 1 / 144) / n))
    counts = np.bincount(np.minimum((u * 16).astype(np.int64), 15), minlength=16)
    sigma = math.sqrt(n * (1 / 16) * (15 / 16))
    worst = int(np.argmax(np.abs(counts - n / 16)))
    problems += _within(f"count of bin {worst} of 16", float(counts[worst]), n / 16, sigma)
    return problems


def check_dropout(got: np.ndarray, inputs: tuple) -> list[str]:
    """Every element is 0 or x / (1 - p) (to rtol 1e-6: x is never 0, so a kept element is
    never 0), and the dropped fraction is p within 5 sigma, among x > 0 and among x < 0 alike
    (a mask that depends on x, as dropout_mask's, fails)."""
    x = np.asarray(inputs[1])
    if got.size == 0:
        return []
    kept = got != 0
    want = (x / np.float32(1 - DROP_P))[kept]
    problems = []
    if not np.allclose(got[kept], want, rtol=1e-6, atol=0):
        problems.append(f"kept elements are not x / {1 - DROP_P:g}: max |err| "
                        f"{float(np.max(np.abs(got[kept] - want))):.3g}")
    for name, part in (("x > 0", x > 0), ("x < 0", x < 0)):
        m = int(part.sum())
        if m:
            dropped = 1.0 - float(kept[part].mean())
            problems += _within(f"dropped fraction where {name}", dropped, DROP_P,
                                math.sqrt(DROP_P * (1 - DROP_P) / m))
    return problems
