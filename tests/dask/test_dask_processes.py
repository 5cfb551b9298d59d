"""A tx.function over dask arrays on Dask's `processes` scheduler (a pool of two worker
processes, started by Dask for the compute): the chunk functions travel pickled as IR text and
each process compiles them. A rechunked row op, a matmul with its epilogue and a tree
reduction, computed together and compared with NumPy. Kept small: the pool's start dominates."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def model(x, w, b):
    h = tx.nn.relu(x @ w + b)
    return tx.nn.softmax(h, axis=-1), tx.mean(x, axis=0)


def test_row_op_matmul_and_reduction_on_the_processes_scheduler():
    rng = np.random.default_rng(0)
    xn = rng.standard_normal((24, 10)).astype(np.float32)
    w, b = rng.standard_normal((10, 6)).astype(np.float32), np.float32(0.1)
    x = da.from_array(xn, chunks=(8, 5))
    w_dask = da.from_array(w, chunks=(5, 3))  # the product's columns in two chunks: rechunked
    probs, mean = tx.function(model, backend="numpy")(x, w_dask, b)
    got_probs, got_mean = dask.compute(probs, mean, scheduler="processes", num_workers=2)
    h = np.maximum(xn @ w + b, 0)
    e = np.exp(h - h.max(-1, keepdims=True))
    np.testing.assert_allclose(got_probs, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_mean, xn.mean(0), rtol=1e-5, atol=1e-6)
