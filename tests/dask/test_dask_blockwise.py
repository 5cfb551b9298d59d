"""A tx.function called with dask arrays, on the threaded scheduler: elementwise functions and
row ops run chunk by chunk (uneven edge chunks too), mixed with NumPy and scalar arguments,
several results, the chunk function's pickle and its one compile per chunk shape, and the
error for an op that does not run on dask arrays yet. Each result is computed and compared
with NumPy on the whole array."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.compiler.dask_partition import ChunkFunction, Partition
from tracefuse.compiler.function import Function

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def gelu_np(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def gelu(x):
    return 0.5 * x * (1 + tx.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def layernorm(x, gamma, beta, eps):
    mean = tx.mean(x, axis=-1, keepdims=True)
    var = tx.var(x, axis=-1, keepdims=True)
    return (x - mean) / tx.sqrt(var + eps) * gamma + beta


def layernorm_np(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + eps) * gamma + beta


def softmax_np(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_elementwise_on_uneven_chunks(backend, rand):
    xn = rand(53, 12)
    x = da.from_array(xn, chunks=(8, 5))  # edge chunks of 5 rows and 2 columns
    y = tx.function(gelu, backend=backend)(x)
    assert isinstance(y, da.Array) and y.chunks == x.chunks and y.dtype == np.float32
    np.testing.assert_allclose(y.compute(), gelu_np(xn), rtol=1e-5, atol=1e-6)


def test_the_result_is_lazy_and_names_its_region(rand):
    x = da.from_array(rand(20, 6), chunks=(5, 6))
    y = tx.function(gelu, backend="numpy")(x)
    assert any(str(name).startswith("tracefuse-gelu_region") for name in y.dask.layers)


def test_softmax_along_an_axis_in_one_chunk_is_one_blockwise_region(rand):
    xn = rand(41, 16)
    x = da.from_array(xn, chunks=(10, 16))
    y = tx.function(tx.nn.softmax, backend="numpy")(x)
    ours = [str(n) for n in y.dask.layers if str(n).startswith("tracefuse-")]
    assert len(ours) == 1, ours  # no tree reduction: each row is whole in its chunk
    np.testing.assert_allclose(y.compute(), softmax_np(xn), rtol=1e-5, atol=1e-7)


def test_softmax_along_a_chunked_axis_rechunks_the_rows(rand):
    xn = rand(9, 31)
    x = da.from_array(xn, chunks=(4, 7))
    y = tx.function(tx.nn.softmax, backend="numpy")(x)
    assert y.chunks == ((4, 4, 1), (31,))
    np.testing.assert_allclose(y.compute(), softmax_np(xn), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_layernorm_with_numpy_gamma_beta_and_a_python_eps(backend, rand):
    xn, gamma, beta = rand(37, 24, seed=1), rand(24, seed=2), rand(24, seed=3)
    x = da.from_array(xn, chunks=(10, 24))
    y = tx.function(layernorm, backend=backend)(x, gamma, beta, 1e-5)
    assert y.dtype == np.float32  # the Python float stays weak
    np.testing.assert_allclose(y.compute(), layernorm_np(xn, gamma, beta, 1e-5),
                               rtol=1e-4, atol=1e-5)


def test_mixed_arguments_with_different_chunks_are_aligned(rand):
    an, bn, row = rand(30, 8, seed=4), rand(30, 8, seed=5), rand(8, seed=6)
    a = da.from_array(an, chunks=(7, 8))
    b = da.from_array(bn, chunks=(11, 4))

    @tx.function(backend="numpy")
    def f(a, b, row, s, k):
        return tx.where(a > b, a * s, b - row) + k

    y = f(a, b, row, 2.5, np.float32(3.0))
    expect = np.where(an > bn, an * np.float32(2.5), bn - row) + np.float32(3.0)
    assert y.dtype == expect.dtype
    np.testing.assert_allclose(y.compute(), expect, rtol=1e-6)


def test_a_column_vector_and_a_reshape_that_adds_an_axis(rand):
    xn, cn = rand(12, 5, seed=7), rand(12, seed=8)
    x, c = da.from_array(xn, chunks=(5, 2)), da.from_array(cn, chunks=4)

    @tx.function(backend="numpy")
    def f(x, c):
        return x * tx.reshape(c, (12, 1)) + tx.exp(c)[:, None]

    np.testing.assert_allclose(f(x, c).compute(), xn * cn[:, None] + np.exp(cn)[:, None],
                               rtol=1e-6)


def test_several_results_come_back_in_their_structure(rand):
    xn = rand(25, 6, seed=9)
    x = da.from_array(xn, chunks=(6, 6))

    @tx.function(backend="numpy")
    def f(x):
        return {"act": gelu(x), "pair": (x * 2, tx.abs(x))}

    out = f(x)
    act, (twice, absx) = out["act"], out["pair"]
    got = dask.compute(act, twice, absx)
    np.testing.assert_allclose(got[0], gelu_np(xn), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[1], xn * 2)
    np.testing.assert_array_equal(got[2], np.abs(xn))


def test_a_result_of_numpy_arguments_only_is_a_dask_array_too(rand):
    xn, w = rand(10, 4, seed=12), rand(4, seed=13)

    @tx.function(backend="numpy", fastmath=True)
    def f(x, w):
        return x, w * 2, x * w

    same, twice, prod = f(da.from_array(xn, chunks=(3, 4)), w)
    got = dask.compute(same, twice, prod)
    assert isinstance(twice, da.Array)
    np.testing.assert_array_equal(got[0], xn)
    np.testing.assert_array_equal(got[1], w * 2)
    np.testing.assert_allclose(got[2], xn * w, rtol=1e-6)


def test_an_op_that_does_not_run_on_dask_yet_names_itself_and_the_line(rand):
    x = da.from_array(rand(8, 8), chunks=(4, 4))

    @tx.function(backend="numpy")
    def f(x):
        return x.T + 1  # the line the error names

    with pytest.raises(NotImplementedError) as e:
        f(x)
    line = f.python_function.__code__.co_firstlineno + 2
    assert "transpose" in str(e.value) and f"test_dask_blockwise.py:{line}" in str(e.value)
    assert "come later" in str(e.value)


def test_a_numpy_call_after_a_dask_call_runs_as_before(rand):
    f = tx.function(gelu, backend="numpy")
    xn = rand(6, 3, seed=10)
    f(da.from_array(xn, chunks=3)).compute()
    np.testing.assert_allclose(f(xn).numpy(), gelu_np(xn), rtol=1e-5, atol=1e-6)


def chunk_function_of(fn, xn):
    cf = tx.function(fn, backend="numpy").get_concrete_function(xn)
    graph = cf.stage_graph("remat")
    part = Partition(graph, {0: ((8, 8, 4), (xn.shape[1],))}, {}, "f", "numpy", Function)
    chunk_fn, operands, whole = part.region(graph.outputs[0])
    assert operands == [graph.inputs[0]] and whole == []
    return chunk_fn


def test_a_chunk_function_pickles_as_its_ir_text_and_compiles_once_per_chunk_shape(rand):
    xn = rand(20, 7, seed=11)
    chunk_fn = chunk_function_of(tx.nn.softmax, xn)
    data = pickle.dumps(chunk_fn)
    assert b"reduce_max" in data and b"func @f_region0" in data
    again = pickle.loads(data)
    assert isinstance(again, ChunkFunction) and again.ir_text == chunk_fn.ir_text
    for block in (xn[:8], xn[8:16], xn[16:]):
        np.testing.assert_allclose(again(block), softmax_np(block), rtol=1e-5, atol=1e-7)
    assert again.function().trace_count == 2  # 8 rows, then the edge chunk's 4
