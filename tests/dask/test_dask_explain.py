"""`f.explain(*args)` with dask arrays: how the call is partitioned for Dask (rechunks,
blockwise regions with their ops' user lines, tree reductions, blocked matmuls, the axis
labels and their chunks), the ValueError a rechunk=False call would raise, and that explain
runs nothing on the chunks."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")


def softmax(x):
    e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
    return e / tx.sum(e, axis=-1, keepdims=True)


def head(x, w, b):
    h = tx.nn.relu(x @ w + b)
    return h, tx.sum(x, axis=0)


def line_of(fn, k):
    return f"test_dask_explain.py:{fn.__code__.co_firstlineno + k}"


def test_a_rechunked_row_op_is_one_region_after_the_rechunk(rand):
    x = da.from_array(rand(30, 40), chunks=(8, 10))
    text = tx.function(softmax, backend="numpy").explain(x)
    lines = text.splitlines()
    assert "2 steps" in lines[0], text
    assert lines[1].strip() == ("[1] dask argument 0: float32[a, b], rechunked into one chunk "
                                "along axis 1 (rechunk=True: a row op)"), text
    assert "[2] blockwise region" in lines[2] and "5 ops on [1]" in lines[2], text
    assert f"reduce_max, subtract, exp ({line_of(softmax, 1)})" in lines[2], text
    assert f"reduce_sum, divide ({line_of(softmax, 2)})" in lines[2], text
    assert "a = 30, 4 chunks (8, 8, 8, 6)" in text, text
    assert "b = 40, one chunk (rechunked from 4 chunks for a row op)" in text, text


def test_rechunk_false_says_what_the_call_would_raise(rand):
    x = da.from_array(rand(30, 40), chunks=(8, 10))
    text = tx.function(softmax, backend="numpy", rechunk=False).explain(x)
    assert "would raise ValueError" in text and "axis 1 (size 40) into 4 chunks" in text, text


def test_matmul_epilogue_and_tree_reduction(rand):
    x = da.from_array(rand(30, 12), chunks=(10, 4))
    w, b = rand(12, 5, seed=1), rand(5, seed=2)
    f = tx.function(head, backend="numpy")
    text = f.explain(x, w, b)
    assert f"blocked matmul (da.matmul): [2] float32[a, b] @ [3] float32[c, d] -> " \
           f"float32[a, d], contracting b with c (dask aligns their chunks) " \
           f"({line_of(head, 1)})" in text, text
    assert "blockwise region" in text and "add, constant, less_equal, where" in text, text
    assert f"tree reduction (da.reduction): reduce_sum of [2] over axes (0,) -> float32[b] " \
           f"({line_of(head, 2)})" in text, text
    assert "a = 30, 3 chunks (10, 10, 10)" in text and "b = 12, 3 chunks (4, 4, 4)" in text
    assert "[3] NumPy value float32[c, d]" in text and "on [1], [4]" in text, text
    h, colsum = f(x, w, b)  # and the call explained gives NumPy's results
    np.testing.assert_allclose(h.compute(scheduler="threads"),
                               np.maximum(x.compute() @ w + b, 0), rtol=1e-5, atol=1e-5)


def test_explain_runs_nothing_on_the_chunks(rand):
    def boom(block):
        raise AssertionError("explain ran a chunk")

    x = da.from_array(rand(16, 6), chunks=(4, 6)).map_blocks(boom, dtype=np.float32)
    text = tx.function(softmax, backend="numpy").explain(x)
    assert "blockwise region" in text and "rechunked" not in text, text
