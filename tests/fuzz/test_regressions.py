"""Regression tests for what the differential fuzzer (tracefuse/fuzz.py) found: each is the
minimal program, run on every backend. Bugs not fixed yet are strict xfails on the backends
they break (an XPASS fails: remove the mark when the bug is fixed). docs/reliability.md lists
them with the fuzz runs that found them."""

import warnings

import numpy as np
import pytest

import tracefuse as tx
from oracle import assert_same

ALL = ("numpy", "cpu", "gpu-sim")


def broken_on(*backends, reason):
    return [pytest.param(b, marks=pytest.mark.xfail(strict=True, reason=reason))
            if b in backends else b for b in ALL]


def run(fn, backend, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tx.function(fn, backend=backend)(*args)


@pytest.mark.parametrize("backend", ALL)
def test_empty_kernel_still_writes_its_0d_result(backend):
    """Fixed (passes/fuse.py): a 0-d result joined an elementwise kernel whose iteration space
    was empty (a size-0 sibling result), so the loop never wrote it (uninitialized memory)."""
    x0 = np.zeros((0,), np.uint32)
    x1 = np.array(0, np.int16)

    def f(x0, x1):
        v = tx.bitwise_left_shift(x1, True)
        return tx.equal(x0, tx.clip(v, 0, 3)), tx.abs(v)

    got = run(f, backend, x0, x1)
    assert_same(got[0], np.zeros((0,), bool))
    assert_same(got[1], np.int16(0))


# fixed: the two reductions lowered with two reduced axes, nested, so the sum ran once per
# element (loops.py now lays a body over the axes fusion chose: fuse.index_maps)
@pytest.mark.parametrize("backend", ["numpy", "cpu", "gpu-sim"])
def test_sum_and_max_in_one_reduction_kernel(backend):
    x = np.array([1.0, 2.0])
    assert_same(run(lambda x: tx.sum(x) + tx.max(x), backend, x), np.float64(5.0))


@pytest.mark.parametrize("backend", ["numpy", "cpu", "gpu-sim"])
def test_mean_and_min_in_one_reduction_kernel(backend):
    x = np.array([1.0, 2.0])
    assert_same(run(lambda x: tx.mean(x) + tx.min(x), backend, x), np.float64(2.5))


@pytest.mark.parametrize("backend", ["numpy", "cpu", "gpu-sim"])
def test_reductions_of_two_inputs_and_levels_in_one_kernel(backend):
    x, y = np.array([1.0, 2.0, 4.0]), np.array([3.0, 5.0, -1.0])
    assert_same(run(lambda x, y: tx.sum(x) * tx.max(y) + tx.mean(x), backend, x, y),
                np.float64(7 * 5 + 7 / 3))
    z = np.arange(1.0, 5.0)
    assert_same(run(lambda z: tx.var(z) * tx.prod(z), backend, z), np.float64(1.25 * 24))


def _square_row_programs(ns):
    # found by tests/api/test_random_programs.py: tanh(x) read x transposed (lowering gave its
    # first dimension the row kernel's reduced axis, the only other axis of that size)
    return {
        "row_sum_then_other_use": lambda x: (x + ns.sum(x, axis=-1, keepdims=True)) + ns.tanh(x),
        "other_use_first": lambda x: ns.tanh(x) * (x - ns.max(x, axis=-1, keepdims=True)),
        "two_axes": lambda x: ns.sum(x, axis=0) + ns.sum(x, axis=-1),
        "transpose_in_row": lambda x: ns.matrix_transpose(x) + ns.exp(
            x - ns.max(x, axis=-1, keepdims=True)),
        "keepdims_leading": lambda x: ns.abs(x) - ns.mean(x, axis=0, keepdims=True) * x,
    }


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("shape", [(3, 3), (1, 2, 2), (4, 4)])
@pytest.mark.parametrize("name", sorted(_square_row_programs(np)))
def test_row_kernels_over_square_inputs_read_each_input_one_way(backend, shape, name):
    """Fixed (passes/fuse.py index_maps, backends/loops.py): loops.py re-derived a kernel's
    index maps on its own and, where two axes had one size, could pick the wrong one."""
    x = np.random.default_rng(7).uniform(-2, 2, shape).astype(np.float32)
    expected = _square_row_programs(np)[name](x)
    got = run(_square_row_programs(tx)[name], backend, x)
    assert_same(got, expected, rtol=1e-5, atol=1e-6, what=backend)


# fixed (passes/pipeline.py: fold-simplified): int x - x simplified to a constant after
# fold-constants had run, and a kernel holding a reshape/slice of it failed to lower
@pytest.mark.parametrize("backend", ALL)
def test_reshape_of_a_simplified_constant(backend):
    x = np.array(-5, np.int32)
    assert_same(run(lambda x: tx.reshape(x - x, (1,)), backend, x), np.zeros(1, np.int32))


@pytest.mark.parametrize("backend", ALL)
def test_flip_of_a_simplified_constant(backend):
    x = np.array([3], np.uint64)
    assert_same(run(lambda x: tx.flip(x ^ x), backend, x), np.zeros(1, np.uint64))
