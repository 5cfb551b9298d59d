"""The combine and aggregate steps of a tree reduction over dask arrays are compiled too
(`TreeStep`: the same reduction over the partials, one tx.function per process for each op,
axes, keepdims, dtype and backend), pickle for the processes scheduler, and give NumPy's
results and dtypes on threads and on processes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.compiler import dask_partition
from tracefuse.compiler.dask_partition import TreeStep
from tracefuse.compiler.function import Function
from tracefuse.ir import OpCode

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def reductions(x, k):
    return (tx.sum(x), tx.max(x, axis=0), tx.min(x * 2, axis=1, keepdims=True),
            tx.prod(1 + x / 10, axis=0), tx.any(x > 1.5, axis=0), tx.all(x > -3.0),
            tx.sum(k, axis=0), tx.var(x, axis=0))


def reductions_np(xn, kn):
    return (xn.sum(), xn.max(0), (xn * 2).min(1, keepdims=True),
            (1 + xn / np.float32(10)).prod(0), (xn > 1.5).any(0), (xn > -3.0).all(),
            kn.sum(0, dtype=np.int64), xn.var(0))


def inputs(rand):
    xn = rand(61, 14)
    kn = np.random.default_rng(7).integers(-50, 50, (61, 14)).astype(np.int32)
    return xn, kn, da.from_array(xn, chunks=(5, 4)), da.from_array(kn, chunks=(6, 7))


def tree_steps(y) -> list[str]:
    """The tasks of y's graph that run a TreeStep (combine and aggregate steps), as text."""
    return [str(t) for t in dict(y.dask).values() if "tracefuse tree step" in str(t)]


def check(got, expect):
    for g, e in zip(got, expect):
        assert g.shape == e.shape and g.dtype == e.dtype, (g.shape, g.dtype, e.shape, e.dtype)
        if e.dtype.kind in "biu":
            np.testing.assert_array_equal(g, e)
        else:
            np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_the_combine_and_aggregate_steps_are_compiled_on_threads(backend, rand):
    xn, kn, x, k = inputs(rand)
    ys = tx.function(reductions, backend=backend)(x, k)
    (total,) = ys[:1]
    steps = tree_steps(total)
    assert steps and all(f"tree step reduce_sum -> float32 backend={backend}" in s
                         for s in steps), steps
    with dask.config.set(split_every=3):  # a tree of several levels: combine steps run
        got = dask.compute(*tx.function(reductions, backend=backend)(x, k))
    check(got, reductions_np(xn, kn))
    # the sum of partial sums (13 x 4 partials) ran as compiled tx.functions, combine
    # (keepdims) and aggregate (to 0-d) alike
    made = {key[1:5]: fn for key, fn in dask_partition._COMPILED.items()
            if key[0] == "tree-step" and key[5] == backend}
    combine = made[(OpCode.SUM, (0, 1), True, "float32")]
    aggregate = made[(OpCode.SUM, (0, 1), False, "float32")]
    assert isinstance(combine, Function) and combine.trace_count >= 1
    assert isinstance(aggregate, Function) and aggregate.trace_count >= 1
    assert (OpCode.SUM, (0,), False, "int64") in made  # the int32 sum's int64 partials


def test_a_tree_step_pickles_and_gives_the_ops_dtype(rand):
    step = TreeStep(OpCode.SUM, np.int64, "numpy", Function)
    again = pickle.loads(pickle.dumps(step))
    assert (again.code, again.dtype, again.backend) == (OpCode.SUM, "int64", "numpy")
    partials = np.random.default_rng(3).integers(-9, 9, (4, 6)).astype(np.int64)
    got = again(partials, axis=(0,), keepdims=True)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, partials.sum(0, keepdims=True))
    xn = rand(3, 5)
    got = TreeStep(OpCode.MAX, np.float32, "cpu", Function)(xn, axis=(0, 1), keepdims=False)
    assert got.shape == () and got == xn.max()


def test_the_reductions_on_the_processes_scheduler(rand):
    xn, kn, x, k = inputs(rand)
    with dask.config.set(split_every=3):
        ys = tx.function(reductions, backend="numpy")(x, k)
    got = dask.compute(*ys, scheduler="processes", num_workers=2)
    check(got, reductions_np(xn, kn))
