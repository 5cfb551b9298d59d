"""Tree reductions over dask arrays with a compiled chunk step (threaded scheduler): the
region computing a reduction's operand and the reduction of each chunk are one chunk
function (one fused kernel per chunk on cpu), whose partials Dask combines with NumPy.
Results are computed and compared with NumPy on the whole array."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.compiler import dask_apply
from tracefuse.compiler.function import Function

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def sum_of_squares(x):
    return tx.sum(x * x)


def test_the_chunk_step_of_a_sum_of_squares_is_one_fused_kernel_on_cpu(rand):
    xn = rand(30, 12)
    x = da.from_array(xn, chunks=(10, 5))
    cf = tx.function(sum_of_squares, backend="cpu").get_concrete_function(dask_apply.stand_in(x))
    part = dask_apply.partition(cf, [x], Function)
    (op,) = part.tree
    chunk_fn, operands, whole, partial = part.chunk_step(op)
    assert operands == [part.graph.inputs[0]] and not whole and partial.type.shape == (1, 1)
    block = xn[10:20, 5:10]
    got = chunk_fn(block)
    assert got.shape == (1, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got, (block * block).sum(keepdims=True), rtol=1e-6)
    (concrete,) = chunk_fn.function().concrete_functions
    assert len(concrete.kernels) == 1, concrete.kernels
    assert "reduce_sum" in concrete.ir("optimized") and "multiply" in concrete.ir("optimized")
    y = tx.function(sum_of_squares, backend="cpu")(x)
    # the partials: one per chunk (3 x 3 chunks, the last column 2 wide), then Dask's tree
    partials = [k for k in dict(y.dask) if re.match(r"tracefuse-sum_of_squares_region\d+-",
                                                     k[0] if isinstance(k, tuple) else k)]
    assert len(partials) == 9, partials
    expect = (xn.astype(np.float64) ** 2).sum()
    np.testing.assert_allclose(y.compute(scheduler="threads"), expect, rtol=1e-5)


def test_axis_reductions_of_regions_with_dask_and_numpy_operands(rand):
    xn, wn, bn = rand(33, 14), rand(33, 14), rand(14)
    x, w = da.from_array(xn, chunks=(8, 5)), da.from_array(wn, chunks=(11, 7))

    @tx.function(backend="cpu")
    def f(x, w, b, s):
        h = tx.tanh(x * w + b) * s
        return (tx.sum(h, axis=0), tx.max(h - b, axis=0, keepdims=True),
                tx.prod(1 + h / 10, axis=0), tx.mean(tx.exp(x), axis=0),
                tx.any(h > 0.5, axis=0), tx.sum(h > 0, axis=0))

    got = dask.compute(*f(x, w, bn, 1.5), scheduler="threads")
    h = np.tanh(xn * wn + bn) * np.float32(1.5)
    expect = (h.sum(0), (h - bn).max(0, keepdims=True), (1 + h / np.float32(10)).prod(0),
              np.exp(xn).mean(0), (h > 0.5).any(0), (h > 0).sum(0))
    for g, e in zip(got, expect):
        assert g.shape == e.shape and g.dtype == e.dtype, (g.dtype, e.dtype)
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-5)


def test_explain_says_the_chunk_step_is_fused(rand):
    x = da.from_array(rand(30, 12), chunks=(10, 4))
    text = tx.function(sum_of_squares, backend="numpy").explain(x)
    assert "2 steps" in text.splitlines()[0], text
    assert "tree reduction (da.reduction): reduce_sum of float32[a, b] from [1]" in text, text
    assert "fused with the 1 op making its operand: multiply" in text, text


def test_lower_with_dask_arguments_shows_the_partition_without_a_device(rand):
    xn = rand(30, 12)
    x = da.from_array(xn, chunks=(10, 4))
    for backend in ("numpy", "gpu"):  # gpu: lowered on a machine with or without one
        f = tx.function(sum_of_squares, backend=backend)
        lowered = f.lower(x)
        assert lowered.ir("partition") == f.explain(x)
        assert "reduce_sum" in lowered.ir("optimized") and "multiply" in lowered.ir("traced")
    with pytest.raises(ValueError, match="stage 'partition'.*dask arrays among args"):
        tx.function(sum_of_squares, backend="numpy").lower(xn).ir("partition")

    def softmax(x):
        e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
        return e / tx.sum(e, axis=-1, keepdims=True)
    with pytest.raises(ValueError, match="axis 1 .*rechunk=True"):
        tx.function(softmax, backend="numpy", rechunk=False).lower(x)
