"""The task names of the dask graph a tx.function over dask arrays returns (what
`Array.visualize()` draws, not called here: graphviz may be missing): each task of ours says
which region it runs ("tracefuse-<fn>_region<i>"), and a tree reduction's tasks name the
region of its chunk step and the op ("tracefuse-<fn>_region<i>_reduce_sum", with Dask's
"-partial" (combine) and "-aggregate" suffixes)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def flatten(keys) -> list:
    """The keys of a nested list of keys (`__dask_keys__()`), in order."""
    return [k for row in keys for k in flatten(row)] if isinstance(keys, list) else [keys]


def model(x, b):
    h = tx.tanh(x * 2.0 + b)
    return h, tx.sum(h * h), tx.nn.softmax(x, axis=0)


def name_of(key) -> str:
    return key[0] if isinstance(key, tuple) else key


def test_each_task_says_which_region_it_runs(rand):
    xn, bn = rand(30, 12), rand(12)
    x = da.from_array(xn, chunks=(10, 4))
    h, total, probs = tx.function(model, backend="numpy")(x, bn)
    # the results' own tasks: one per chunk, named after the region computing them
    h_keys = [name_of(k) for k in flatten(h.__dask_keys__())]
    assert len(h_keys) == h.npartitions and all(re.fullmatch(r"tracefuse-model_region\d+-[0-9a-f]+", k)
                                    for k in h_keys), h_keys
    p_keys = [name_of(k) for k in flatten(probs.__dask_keys__())]
    assert len(p_keys) == 3 and len(set(p_keys)) == 1, p_keys  # softmax rechunked along rows
    assert p_keys[0].startswith("tracefuse-model_region") and p_keys[0] not in h_keys
    # the sum's tasks: its chunk step's region, then the combine and aggregate steps
    with dask.config.set(split_every=2):
        h, total, probs = tx.function(model, backend="numpy")(x, bn)
    names = {name_of(k) for k in dict(total.dask)}
    ours = {n for n in names if n.startswith("tracefuse-")}
    assert ours and all(n.startswith(("array-", "rechunk-")) for n in names - ours), names
    steps = {re.sub(r"-[0-9a-f]{32}$", "", n) for n in ours}
    (region,) = {re.fullmatch(r"tracefuse-(model_region\d+)", s).group(1) for s in steps
                 if re.fullmatch(r"tracefuse-model_region\d+", s)}
    assert f"tracefuse-{region}_reduce_sum-partial" in steps, steps  # the combine steps
    assert f"tracefuse-{region}_reduce_sum-aggregate" in steps, steps
    (key,) = flatten(total.__dask_keys__())  # the 0-d result: the aggregate step's task
    assert name_of(key).startswith(f"tracefuse-{region}_reduce_sum-aggregate"), key
    got = dask.compute(h, total, probs)
    hn = np.tanh(xn * np.float32(2.0) + bn)
    e = np.exp(xn - xn.max(0, keepdims=True))
    np.testing.assert_allclose(got[0], hn, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[1], (hn * hn).sum(), rtol=1e-5)
    np.testing.assert_allclose(got[2], e / e.sum(0, keepdims=True), rtol=1e-5, atol=1e-7)
