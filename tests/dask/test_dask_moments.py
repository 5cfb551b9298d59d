"""A variance over a chunked axis of a dask array runs in one pass (dask_moments.py): each chunk
gives (count, mean, M2), Dask's tree combines them with Chan's formula, no rechunk and no
second read of the operand. Checked against NumPy in float64 on the whole array, on data far
from zero (where a naive sum of squares fails), uneven and empty chunks, several reduced axes,
NaN, and the graph Dask gets."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")


def exact_var(x, axis=None, ddof=0, keepdims=False):
    return np.asarray(x, np.float64).var(axis=axis, ddof=ddof, keepdims=keepdims)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_var_std_over_a_chunked_axis_far_from_zero(backend, rand):
    xn = (1e4 + rand(103, 7)).astype(np.float32)
    x = da.from_array(xn, chunks=(20, 4))

    @tx.function(backend=backend)
    def f(x):
        return (tx.var(x, axis=0), tx.var(x), tx.var(x, axis=0, correction=1),
                tx.std(x * 2 - 1, axis=0, keepdims=True))

    got = dask.compute(*f(x))
    expect = (exact_var(xn, 0), exact_var(xn), exact_var(xn, 0, ddof=1),
              np.sqrt(exact_var(xn.astype(np.float64) * 2 - 1, 0, keepdims=True)))
    for g, e in zip(got, expect):
        assert g.dtype == np.float32 and g.shape == e.shape
        # float32 data, float64 moments: closer to the exact variance than NumPy's float32 var
        np.testing.assert_allclose(g, e, rtol=2e-6)
    assert np.max(np.abs(xn.var(0) - expect[0]) / expect[0]) > 1e-7  # NumPy's own float32 error


def test_float64_with_a_huge_offset_and_uneven_chunks(rand):
    xn = 1e8 + rand(97, 5, dtype=np.float64)
    x = da.from_array(xn, chunks=((1, 40, 56), (2, 3)))
    var = tx.function(lambda x: tx.var(x, axis=0), backend="numpy")(x).compute()
    assert var.dtype == np.float64
    np.testing.assert_allclose(var, exact_var(xn - 1e8, 0), rtol=1e-7)


def test_an_empty_chunk_weighs_nothing(rand):
    xn = rand(60, 3)
    x = da.from_array(xn, chunks=((0, 25, 0, 35), (3,)))
    assert 0 in x.chunks[0]
    var = tx.function(lambda x: tx.var(x, axis=0), backend="numpy")(x).compute()
    np.testing.assert_allclose(var, exact_var(xn, 0), rtol=1e-6)


def test_several_reduced_axes_chunked_and_keepdims(rand):
    xn = rand(12, 10, 9) + 3
    x = da.from_array(xn, chunks=(5, 4, 4))

    @tx.function(backend="numpy")
    def f(x):
        return tx.var(tx.exp(x / 4), axis=(0, 2), keepdims=True), tx.std(x, axis=(1, 2))

    v, s = dask.compute(*f(x))
    e = np.exp(xn.astype(np.float64) / 4)
    np.testing.assert_allclose(v, exact_var(e, (0, 2), keepdims=True), rtol=2e-5)
    np.testing.assert_allclose(s, np.sqrt(exact_var(xn, (1, 2))), rtol=2e-6)


def test_nan_and_inf_give_nan_in_their_column(rand):
    xn = rand(40, 4)
    xn[7, 1], xn[33, 2] = np.nan, np.inf
    x = da.from_array(xn, chunks=(10, 4))
    var = tx.function(lambda x: tx.var(x, axis=0), backend="numpy")(x).compute()
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(var, exact_var(xn, 0), rtol=1e-6)
    assert np.isnan(var[1]) and np.isnan(var[2]) and np.isfinite(var[[0, 3]]).all()


def test_the_graph_reads_its_operand_once_and_never_rechunks(rand):
    xn = rand(64, 6)
    x = da.from_array(xn, chunks=(16, 3))
    f = tx.function(lambda x: tx.std(tx.tanh(x) + 1, axis=0), backend="numpy")
    text = f.explain(x)
    assert "one-pass variance" in text and "rechunk" not in text, text
    y = f(x)
    layers = list(y.dask.layers)
    assert not any("rechunk" in name for name in layers), layers
    # the chunk function making tanh(x) + 1 is the moments step itself: one blockwise layer
    # runs on x's chunks (no chunk step for the mean, no second region over x)
    on_x = [name for name, deps in y.dask.dependencies.items() if x.name in deps]
    assert len(on_x) == 1 and "_moments" in on_x[0], on_x
    np.testing.assert_allclose(y.compute(), np.sqrt(exact_var(np.tanh(xn) + 1, 0)), rtol=2e-6)


def test_a_mean_and_sum_beside_the_variance_come_from_its_moments(rand):
    xn = rand(53, 4) + 100
    x = da.from_array(xn, chunks=(10, 4))

    @tx.function(backend="numpy")
    def f(x):
        return tx.mean(x, axis=0), tx.var(x, axis=0), tx.sum(x, axis=0, keepdims=True)

    text = f.explain(x)
    assert "rechunk" not in text and "count * mean from the moments" in text, text
    out = f(x)
    for y in out:  # one chunk function reads x, for all three results
        on_x = [name for name, deps in y.dask.dependencies.items() if x.name in deps]
        assert len(on_x) == 1 and "_moments" in on_x[0], on_x
    mean, var, total = dask.compute(*out)
    x64 = xn.astype(np.float64)
    assert mean.dtype == var.dtype == total.dtype == np.float32 and total.shape == (1, 4)
    np.testing.assert_allclose(mean, x64.mean(0), rtol=1e-7)
    np.testing.assert_allclose(var, exact_var(xn, 0), rtol=1e-6)
    np.testing.assert_allclose(total, x64.sum(0, keepdims=True), rtol=1e-7)


def test_a_standardization_is_still_a_row_op(rand):
    """(x - mean) / std uses the centred values again: a row op, rechunked (rechunk=True)."""
    xn = rand(30, 3)
    x = da.from_array(xn, chunks=(10, 3))
    f = tx.function(lambda x: (x - tx.mean(x, axis=0)) / tx.std(x, axis=0), backend="numpy")
    assert "rechunked into one chunk" in f.explain(x)
    x64 = xn.astype(np.float64)
    np.testing.assert_allclose(f(x).compute(), (x64 - x64.mean(0)) / x64.std(0), rtol=1e-4,
                               atol=1e-5)
