"""Reductions in a tx.function over dask arrays, on the threaded scheduler: over axes split
into several chunks they are tree-reduced by Dask (sum, prod, max, min, any, mean, var,
argmax, argmin; full and per axis, keepdims), and the ops around them run chunk by chunk.
Each result is computed and compared with NumPy on the whole array."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def data(seed=0, shape=(45, 14), chunks=(8, 5)):
    xn = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return xn, da.from_array(xn, chunks=chunks)


def test_full_and_axis_sums_means_and_extrema():
    xn, x = data()

    @tx.function(backend="numpy")
    def f(x):
        return (tx.sum(x), tx.mean(x), tx.max(x, axis=0), tx.min(x * 2, axis=1),
                tx.mean(tx.exp(x), axis=0, keepdims=True), tx.prod(1 + x / 10, axis=0))

    got = dask.compute(*f(x))
    expect = (xn.sum(), xn.mean(), xn.max(0), (xn * 2).min(1),
              np.exp(xn).mean(0, keepdims=True), (1 + xn / np.float32(10)).prod(0))
    for g, e in zip(got, expect):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-5)


def test_var_and_a_standardization_over_the_chunked_axis():
    xn, x = data(1)

    @tx.function(backend="numpy")
    def f(x):
        return tx.var(x, axis=0), (x - tx.mean(x, axis=0)) / tx.std(x, axis=0)

    var, z = dask.compute(*f(x))
    np.testing.assert_allclose(var, xn.var(0), rtol=1e-5)
    np.testing.assert_allclose(z, (xn - xn.mean(0)) / xn.std(0), rtol=1e-4, atol=1e-5)


def test_argmax_and_argmin():
    xn, x = data(2)

    @tx.function(backend="numpy")
    def f(x):
        return tx.argmax(x, axis=0), tx.argmin(x, axis=1), tx.argmax(x)

    a0, a1, flat = dask.compute(*f(x))
    np.testing.assert_array_equal(a0, xn.argmax(0))
    np.testing.assert_array_equal(a1, xn.argmin(1))
    assert flat == xn.argmax() and a0.dtype == np.int64


def test_a_boolean_reduction_and_an_integer_sum():
    xn, x = data(3)
    kn = np.random.default_rng(4).integers(-50, 50, (45, 14)).astype(np.int32)
    k = da.from_array(kn, chunks=(10, 7))

    @tx.function(backend="numpy")
    def f(x, k):
        return tx.any(x > 2.0, axis=0), tx.sum(k, axis=0)

    anyb, ksum = dask.compute(*f(x, k))
    np.testing.assert_array_equal(anyb, (xn > 2.0).any(0))
    expect = kn.sum(0, dtype=tx.sum(tx.asarray(kn), axis=0).numpy().dtype)
    np.testing.assert_array_equal(ksum, expect)
    assert ksum.dtype == expect.dtype


@pytest.mark.parametrize("backend", ["cpu"])
def test_a_reduction_between_compiled_regions_on_cpu(backend):
    xn, x = data(5, (60, 9), (16, 9))

    @tx.function(backend=backend)
    def f(x):
        centered = x - tx.mean(x, axis=0)
        return tx.sum(centered * centered) / 60.0

    np.testing.assert_allclose(f(x).compute(), ((xn - xn.mean(0)) ** 2).sum() / 60.0,
                               rtol=1e-4)
