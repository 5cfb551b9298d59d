"""matmul in a tx.function over dask arrays (threaded scheduler): `x @ w` runs as Dask's
blocked matmul (`da.matmul`), with dask or NumPy weights, x chunked along its rows and along
the contracted axis; the elementwise epilogue after it (`relu(x @ w + b)`) runs as a compiled
region on the product's chunks. Each result is computed and compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def mlp(x, w1, b1, w2, b2):
    return tx.nn.relu(x @ w1 + b1) @ w2 + b2


def mlp_np(x, w1, b1, w2, b2):
    return np.maximum(x @ w1 + b1, 0) @ w2 + b2


def weights(rand, d_in=12, hidden=10, d_out=4):
    return rand(d_in, hidden, seed=1), rand(hidden, seed=2), rand(hidden, d_out, seed=3), \
        rand(d_out, seed=4)


@pytest.mark.parametrize("chunks", [(8, 12), (8, 5)], ids=["rows", "rows-and-contracted"])
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_an_mlp_layer_with_numpy_weights(backend, chunks, rand):
    xn, (w1, b1, w2, b2) = rand(30, 12), weights(rand)
    x = da.from_array(xn, chunks=chunks)
    y = tx.function(mlp, backend=backend)(x, w1, b1, w2, b2)
    assert y.shape == (30, 4) and y.dtype == np.float32
    assert sum(str(n).startswith("matmul") for n in y.dask.layers) == 2
    assert any(str(n).startswith("tracefuse-mlp_region") for n in y.dask.layers)
    np.testing.assert_allclose(y.compute(), mlp_np(xn, w1, b1, w2, b2), rtol=1e-4, atol=1e-4)


def test_an_mlp_layer_with_dask_weights_chunked_otherwise(rand):
    xn, (w1n, b1, w2n, b2) = rand(25, 12, seed=5), weights(rand)
    x = da.from_array(xn, chunks=(10, 4))
    w1 = da.from_array(w1n, chunks=(6, 5))  # contracted axis in other chunks than x's
    w2 = da.from_array(w2n, chunks=(3, 4))
    y = tx.function(mlp, backend="cpu")(x, w1, b1, w2, b2)
    np.testing.assert_allclose(y.compute(), mlp_np(xn, w1n, b1, w2n, b2), rtol=1e-4, atol=1e-4)


def test_a_matrix_vector_product_and_a_softmax_of_logits(rand):
    xn, v, w = rand(20, 6, seed=6), rand(6, seed=7), rand(6, 9, seed=8)
    x = da.from_array(xn, chunks=(7, 3))

    @tx.function(backend="numpy")
    def f(x, v, w):
        return tx.tanh(x @ v), tx.nn.softmax(x @ w, axis=-1)

    mv, probs = dask.compute(*f(x, v, w))
    logits = xn @ w
    e = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(mv, np.tanh(xn @ v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_a_square_product_of_one_array_with_itself_and_an_epilogue(rand):
    xn = rand(12, 12, seed=9)
    x = da.from_array(xn, chunks=(5, 4))
    y = tx.function(lambda x: x @ x + x, backend="numpy")(x)
    np.testing.assert_allclose(y.compute(), xn @ xn + xn, rtol=1e-5, atol=1e-5)
