"""A tx.function with backend="gpu-sim" over dask arrays of NumPy chunks (threaded scheduler):
the chunk functions, and a tree reduction's combine and aggregate steps, run the generated
CUDA kernels on the host (built with g++). An elementwise function, a row op over a chunked
axis (rechunked) and reductions, each compared with NumPy on the whole array. Skipped where
the gpu-sim compiler is unavailable. Even chunks: each chunk shape is one g++ build."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends.cuda import sim as cuda_sim

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
pytestmark = pytest.mark.skipif(cuda_sim.compiler_unavailable() is not None,
                                reason=f"gpu-sim: {cuda_sim.compiler_unavailable()}")


def test_elementwise_on_gpu_sim_chunks(rand):
    xn, bn = rand(24, 16), rand(16)
    x = da.from_array(xn, chunks=(8, 8))
    y = tx.function(lambda x, b: tx.tanh(x * 1.5 + b) * x, backend="gpu-sim")(x, bn)
    assert isinstance(y, da.Array) and y.chunks == x.chunks
    got = y.compute()
    assert type(got) is np.ndarray and got.dtype == np.float32
    np.testing.assert_allclose(got, np.tanh(xn * np.float32(1.5) + bn) * xn, rtol=1e-5,
                               atol=1e-6)


def test_a_row_op_over_a_chunked_axis_on_gpu_sim(rand):
    xn = rand(24, 16)
    x = da.from_array(xn, chunks=(8, 8))  # the rows are rechunked into one chunk
    y = tx.function(lambda x: tx.nn.softmax(x, axis=-1), backend="gpu-sim")(x)
    e = np.exp(xn - xn.max(-1, keepdims=True))
    np.testing.assert_allclose(y.compute(), e / e.sum(-1, keepdims=True), rtol=1e-5,
                               atol=1e-7)


def test_reductions_with_compiled_tree_steps_on_gpu_sim(rand):
    xn = rand(32, 16)
    x = da.from_array(xn, chunks=(8, 8))

    @tx.function(backend="gpu-sim")
    def f(x):
        return tx.sum(x * x, axis=0), tx.max(x), tx.mean(x)

    with dask.config.set(split_every=2):  # combine steps too
        s, m, mean = f(x)
    assert any("tree step reduce_sum -> float32 backend=gpu-sim" in str(t)
               for t in dict(s.dask).values())
    s, m, mean = dask.compute(s, m, mean)
    np.testing.assert_allclose(s, (xn * xn).sum(0), rtol=1e-5, atol=1e-5)
    assert m == xn.max() and m.dtype == np.float32
    np.testing.assert_allclose(mean, xn.mean(), rtol=1e-5, atol=1e-6)


def test_a_one_pass_variance_on_gpu_sim(rand):
    xn = rand(32, 16) + 50
    x = da.from_array(xn, chunks=(8, 16))
    with dask.config.set(split_every=2):  # Chan's combine at every level of the tree
        var = tx.function(lambda x: tx.var(x, axis=0), backend="gpu-sim")(x)
    assert any("moments step" in str(t) and "gpu-sim" in str(t) for t in dict(var.dask).values())
    np.testing.assert_allclose(var.compute(), xn.astype(np.float64).var(0), rtol=2e-6)
