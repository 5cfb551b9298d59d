"""A tx.function over dask arrays on a `distributed.LocalCluster` of two worker processes
(started and closed by this module): the chunk functions travel pickled as IR text and each
worker compiles them. Elementwise, a row op with NumPy and scalar arguments, reductions and
two results, each computed and compared with NumPy on the whole array."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


def test_elementwise_on_worker_processes(client, rand):
    xn = rand(70, 10)
    x = da.from_array(xn, chunks=(16, 10))
    y = tx.function(lambda x: tx.tanh(x) * x + 1.0, backend="numpy")(x)
    np.testing.assert_allclose(client.compute(y).result(), np.tanh(xn) * xn + 1.0, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_layernorm_and_a_sum_on_worker_processes(client, backend, rand):
    xn, gamma, beta = rand(50, 12, seed=1), rand(12, seed=2), rand(12, seed=3)
    x = da.from_array(xn, chunks=(7, 12))

    @tx.function(backend=backend)
    def f(x, gamma, beta, eps):
        mean = tx.mean(x, axis=-1, keepdims=True)
        y = (x - mean) / tx.sqrt(tx.var(x, axis=-1, keepdims=True) + eps) * gamma + beta
        return y, tx.sum(x, axis=0)

    y, s = client.compute(f(x, gamma, beta, 1e-5))  # two results: a tuple of futures
    mean = xn.mean(-1, keepdims=True)
    expect = (xn - mean) / np.sqrt(xn.var(-1, keepdims=True) + 1e-5) * gamma + beta
    np.testing.assert_allclose(y.result(), expect, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s.result(), xn.sum(0), rtol=1e-5, atol=1e-5)


def test_mean_argmax_and_var_over_chunked_rows_on_worker_processes(client, rand):
    xn = rand(64, 6, seed=4)
    x = da.from_array(xn, chunks=(9, 3))

    @tx.function(backend="numpy")
    def f(x):
        return tx.mean(x, axis=0), tx.argmax(x, axis=0), tx.var(tx.exp(x), axis=0)

    mean, arg, var = (r.result() for r in client.compute(f(x)))
    np.testing.assert_allclose(mean, xn.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(arg, xn.argmax(0))
    # the one-pass variance: moments chunk function and Chan's combine step, on the workers
    np.testing.assert_allclose(var, np.exp(xn.astype(np.float64)).var(0), rtol=2e-6)


def test_matmul_with_an_epilogue_and_a_max_on_worker_processes(client, rand):
    xn, wn, bn = rand(60, 16, seed=5), rand(16, 8, seed=6), rand(8, seed=7)
    x = da.from_array(xn, chunks=(15, 8))  # rows and the contracted axis both chunked

    @tx.function(backend="numpy")
    def f(x, w, b, scale):
        h = tx.nn.relu(x @ w + b) * scale
        return h, tx.max(h, axis=0), tx.max(x)

    h, hmax, xmax = (r.result() for r in client.compute(f(x, wn, bn, 0.5)))
    expect = np.maximum(xn @ wn + bn, 0) * np.float32(0.5)
    np.testing.assert_allclose(h, expect, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hmax, expect.max(0), rtol=1e-5, atol=1e-5)
    assert xmax == xn.max() and xmax.dtype == np.float32
