"""Row ops over a chunked axis in a tx.function over dask arrays (threaded scheduler): with
`rechunk=True` (the default) the reduced axis is rechunked into one chunk and the row op runs
as one blockwise region per chunk; with `rechunk=False` a ValueError names the axis and the
user's line. A reduction whose result is not broadcast back stays a tree reduction. Each
result is computed and compared with NumPy on the whole array."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.compiler.dask_apply import partition, stand_in
from tracefuse.compiler.function import Function

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def softmax(x):
    e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))  # the row op the error names
    return e / tx.sum(e, axis=-1, keepdims=True)


def softmax_np(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def layernorm(x, gamma, beta):
    mean = tx.mean(x, axis=-1, keepdims=True)
    var = tx.var(x, axis=-1, keepdims=True)
    return (x - mean) / tx.sqrt(var + 1e-5) * gamma + beta


def layernorm_np(x, gamma, beta):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + np.float32(1e-5)) * gamma + beta


def tracefuse_layers(y):
    return {str(n): layer for n, layer in y.dask.layers.items() if str(n).startswith("tracefuse-")}


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_softmax_over_a_chunked_axis_rechunks_it_into_one_region_per_chunk(backend, rand):
    xn = rand(30, 40)
    x = da.from_array(xn, chunks=(8, 10))
    f = tx.function(softmax, backend=backend)
    y = f(x)
    assert y.chunks == ((8, 8, 8, 6), (40,))
    assert any(str(n).startswith("rechunk") for n in y.dask.layers)
    ours = tracefuse_layers(y)
    assert len(ours) == 1, list(ours)  # max, sum and their users: one region, no tree
    (layer,) = ours.values()
    assert len(layer) == 4  # one task per chunk
    np.testing.assert_allclose(y.compute(), softmax_np(xn), rtol=1e-5, atol=1e-7)


def test_the_rechunked_row_op_is_one_fused_kernel_per_chunk_on_cpu(rand):
    xn = rand(30, 40, seed=7)
    x = da.from_array(xn, chunks=(8, 10))
    cf = tx.function(softmax, backend="cpu").get_concrete_function(stand_in(x))
    part = partition(cf, [x], Function)
    assert part.rechunk_axes == {0: (1,)} and not part.tree
    chunk_fn, operands, _ = part.region(part.graph.outputs[0])
    np.testing.assert_allclose(chunk_fn(xn[:8]), softmax_np(xn[:8]), rtol=1e-5, atol=1e-7)
    assert len(chunk_fn.function().concrete_functions[0].kernels) == 1


def test_layernorm_over_a_chunked_axis_with_dask_gamma(rand):
    xn, gn, bn = rand(21, 32, seed=1), rand(32, seed=2), rand(32, seed=3)
    x = da.from_array(xn, chunks=(7, 8))
    gamma = da.from_array(gn, chunks=16)  # rechunked with x: same axis class
    y = tx.function(layernorm, backend="cpu")(x, gamma, bn)
    assert y.chunks == ((7, 7, 7), (32,)) and len(tracefuse_layers(y)) == 1
    np.testing.assert_allclose(y.compute(), layernorm_np(xn, gn, bn), rtol=1e-4, atol=1e-5)


def test_rechunk_false_raises_naming_the_axis_and_the_line(rand):
    x = da.from_array(rand(12, 30), chunks=(6, 7))
    f = tx.function(softmax, backend="numpy", rechunk=False)
    with pytest.raises(ValueError) as e:
        f(x)
    text = str(e.value)
    line = softmax.__code__.co_firstlineno + 1
    assert f"test_dask_rechunk.py:{line}" in text, text
    assert "reduce_max over axis 1" in text and "size 30" in text and "5 chunks" in text, text
    assert "rechunk=True" in text and "x.rechunk({1: -1})" in text, text


def test_rechunk_false_runs_what_needs_no_rechunk(rand):
    xn = rand(16, 12, seed=4)
    x = da.from_array(xn, chunks=(5, 12))  # rows whole: the softmax is blockwise

    @tx.function(backend="numpy", rechunk=False)
    def f(x):
        return softmax(x), tx.sum(x, axis=0), tx.max(x)  # plain and full: tree reductions

    s, colsum, top = dask.compute(*f(x))
    np.testing.assert_allclose(s, softmax_np(xn), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(colsum, xn.sum(0), rtol=1e-5, atol=1e-5)
    assert top == xn.max()


def test_a_plain_sum_and_a_full_reduction_broadcast_back_stay_tree_reductions(rand):
    xn = rand(24, 10, seed=5)
    x = da.from_array(xn, chunks=(5, 4))

    @tx.function(backend="numpy")
    def f(x):
        return tx.sum(x, axis=0), x / tx.sum(tx.abs(x))

    colsum, scaled = f(x)
    assert colsum.chunks == ((4, 4, 2),) and scaled.chunks == x.chunks  # nothing rechunked
    got = dask.compute(colsum, scaled)
    np.testing.assert_allclose(got[0], xn.sum(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], xn / np.abs(xn).sum(), rtol=1e-5, atol=1e-8)


def test_the_option_leaves_numpy_calls_alone(rand):
    xn = rand(6, 9, seed=6)
    on, off = tx.function(softmax, backend="numpy"), tx.function(softmax, backend="numpy",
                                                                  rechunk=False)
    np.testing.assert_allclose(on(xn).numpy(), off(xn).numpy())
    assert on.rechunk and not off.rechunk and off.trace_count == 1


def test_rechunk_tree_broadcasts_a_row_ops_reduction_back_without_rechunking(rand):
    """rechunk="tree": a standardization and a softmax down a chunked axis are tree
    reductions broadcast back to the chunks (no chunk holds a whole column)."""
    xn = rand(43, 5)
    x = da.from_array(xn, chunks=(10, 5))

    @tx.function(backend="numpy", rechunk="tree")
    def f(x):
        return (x - tx.mean(x, axis=0)) / tx.std(x, axis=0), tx.nn.softmax(x, axis=0)

    assert "rechunked" not in f.explain(x)
    z, sm = f(x)
    for y in (z, sm):
        assert y.chunks == x.chunks
        assert not [name for name in y.dask.layers if "rechunk" in name]
    z, sm = dask.compute(z, sm)
    x64 = xn.astype(np.float64)
    np.testing.assert_allclose(z, (x64 - x64.mean(0)) / x64.std(0), rtol=1e-4, atol=1e-5)
    e = np.exp(x64 - x64.max(0))
    np.testing.assert_allclose(sm, e / e.sum(0), rtol=1e-5, atol=1e-7)


def test_rechunk_takes_true_false_or_tree():
    with pytest.raises(ValueError, match="'tree'"):
        tx.function(lambda x: x, rechunk="yes")
