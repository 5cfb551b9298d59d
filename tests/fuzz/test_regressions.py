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
# element (loops.py now lays a body over the axes fusion chose: the kernel op's index-map attributes)
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
    """Fixed (the kernel op's index maps, backends/loops.py): loops.py re-derived a kernel's
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


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint16", "uint64"])
def test_integer_power_with_huge_exponents_wraps(backend, dtype):
    """Fixed (numba_render + vmath.ipow): Numba's int `**` goes through float pow for large
    exponents (3 ** 2**40 gave -2**63 on cpu); NumPy squares and wraps. Fuzz seed 2 #58:
    `power(astype(x @ x.mT, uint32), (x @ x.mT) << flip(argmin(x)))`."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(58)
    a = rng.integers(info.min, info.max, 40, dtype=dtype, endpoint=True)
    b = rng.integers(0, min(info.max, 2**62), 40, dtype=dtype, endpoint=True)
    a[:4], b[:4] = np.array([0, 1, 3, 2], dtype), np.array([0, 5, 2**6 if info.max > 64 else 5, 0], dtype)
    with np.errstate(all="ignore"):
        expected = np.power(a, b)
    assert_same(run(lambda a, b: a ** b, backend, a, b), expected, what=backend)


@pytest.mark.parametrize("backend", ALL)
def test_reduction_over_size_1_dimension_then_a_real_one(backend):
    """Fixed (passes/fuse.py): a reduction over only size-1 dimensions of a value computed in
    a kernel reduced nothing, yet lowered as if it reduced the kernel's (later) reduced axes,
    so var(mean(x, axis=-1)) over (4, 1) gave 0.0. Fuzz seed 2 #191."""
    x = np.array([[3.412073], [-3.0], [1.0], [1.9364825]], np.float32)

    def f(ns, x):
        v = ns.mean(ns.round(x), axis=-1, keepdims=True)
        return ns.maximum(0.0, ns.prod(ns.var(v, axis=-2, keepdims=True), axis=(1,), keepdims=True))

    assert_same(run(lambda x: f(tx, x), backend, x), f(np, x), what=backend)
    y = np.random.default_rng(191).standard_normal((5, 1, 3))
    g = lambda ns, y: ns.sum(ns.max(ns.exp(y), axis=1) * 2, axis=0)  # noqa: E731
    assert_same(run(lambda y: g(tx, y), backend, y), g(np, y), rtol=1e-12, what=backend)


INT64_UB_PROGRAMS = {  # name: (tracefuse/NumPy function of the namespace and x)
    "sign_of_square": lambda ns, x: ns.sign(ns.square(x)),
    "x_plus_1_above_x": lambda ns, x: (x + 1) > x,
    "x_times_x_is_0": lambda ns, x: x * x == 0,
    "negative_below_0": lambda ns, x: -x < 0,
    "abs_below_0": lambda ns, x: ns.abs(x) < 0,
    "sum_of_squares_sign": lambda ns, x: ns.sign(ns.sum(x * x)),
    "power_2_is_0": lambda ns, x: x ** 2 == 0,
}


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("name", sorted(INT64_UB_PROGRAMS))
def test_int64_overflow_wraps_under_llvm(backend, name):
    """Fixed (numba_render._arith): Numba marks int64 + - * no-signed-wrap, so LLVM assumed
    no overflow: sign(square(2**62)) gave 1 on cpu (NumPy 0), x + 1 > x was always True.
    int64 arithmetic now goes through uint64. Fuzz seed 1128 #491."""
    x = np.array([2**62, -6, 3, -2**63, 2**63 - 1, 0, 2**32], np.int64)
    fn = INT64_UB_PROGRAMS[name]
    with np.errstate(all="ignore"):
        expected = np.asarray(fn(np, x))
    assert_same(run(lambda x: fn(tx, x), backend, x), expected, what=backend)


@pytest.mark.parametrize("backend", ["cpu", "gpu-sim"])
def test_integer_power_with_negative_exponents_is_the_same_on_every_compiled_backend(backend):
    """NumPy raises for an int array to a negative int power; compiled kernels cannot raise
    per element, so both give the integer part of 1 / a**-b (documented in docs/user-guide.md)."""
    a = np.array([1, -1, -1, 2, 0, 5, -7], np.int32)
    b = np.array([-3, -3, -2, -1, -5, -2, -1], np.int32)
    assert_same(run(lambda a, b: a ** b, backend, a, b), np.array([1, -1, 1, 0, 0, 0, 0], np.int32))


@pytest.mark.parametrize("backend", ALL)
def test_var_of_a_broadcast_concat_divided_transposed(backend):
    """Fixed with the index maps (kernel index maps): fuzz seed 2 #623 gave 0.0 where NumPy has
    NaN on cpu and gpu-sim (27 of 36 elements): a row kernel over 4x4 read a value transposed."""
    x0 = np.frombuffer(bytes.fromhex(
        "caf2497100000000caf249713f9348bde75db6bfffff7fff000080ff000080ffb2733ec05b91a33f"
        "00000000caf24971"), np.float32).reshape((3, 4)).copy()
    x0 = np.flip(np.flip(x0).copy())  # negative strides

    def f(ns, x0):
        v1 = ns.expand_dims(x0, axis=-3)
        v3 = ns.argmax(v1, axis=-2, keepdims=True)
        v4 = ns.any(ns.minimum(-3.0, v1), axis=(0,), keepdims=True)
        v6 = ns.broadcast_to(ns.concat([v4, v3], axis=-2), (3, 3, 4, 4))
        v8 = ns.matrix_transpose(ns.var(v6, axis=(3,), keepdims=True))
        return ns.divide(ns.floor(v3), v8)

    with np.errstate(all="ignore"):
        expected = f(np, x0)
    assert_same(run(lambda x: f(tx, x), backend, x0), expected, rtol=1e-12, what=backend)


@pytest.mark.parametrize("backend", ALL)
def test_std_with_an_overflowing_square_is_nan_as_in_numpy(backend):
    """Fixed (numba_backend: fastmath {'reassoc'} without 'contract'; NVRTC --fmad=false): an
    FMA computed x*x - mean in one rounding, so with x*x = inf and mean = inf it gave -inf, not
    inf - inf = NaN: std was inf on cpu where NumPy has NaN. Fuzz seed 3 #783."""
    x = np.array([[1e300, 2.0, 3.0, -1.5], [0.5, 2.0, 3.0, -1.5]])
    with np.errstate(all="ignore"):
        expected = np.std(np.abs(x) * np.abs(x), axis=1)
    assert_same(run(lambda x: tx.std(tx.abs(x) * tx.abs(x), axis=1), backend, x), expected,
                rtol=1e-12, what=backend)


@pytest.mark.parametrize("backend", ALL)
def test_low_rank_results_of_a_broadcasting_kernel_are_computed_once_per_element(backend):
    """Fixed (render.render_nested_elementwise): Numba kernels computed every value in the
    innermost loop, so a result along i0 beside one along (i1, i2, i0) ran once per (i0, i1,
    i2); with asinh and logaddexp inlined there, LLVM's loop passes took 10 minutes (fuzz seed
    4). Values and stores now sit in the outermost loop where their axes are known."""
    x = np.random.default_rng(4).uniform(0.1, 2.0, 3)
    y = np.random.default_rng(5).uniform(0.1, 2.0, (1, 3))

    def f(ns, a, b):
        v1 = ns.arcsinh(a) if ns is np else ns.asinh(a)
        v5 = ns.logaddexp(v1, v1) ** b
        return v1 * v1, ns.broadcast_to(v5, (2, 2, 3)), ns.abs(ns.maximum(v1 * v1, a))

    got = run(lambda a, b: f(tx, a, b), backend, x, y)
    for g, e in zip(got, f(np, x, y)):
        assert_same(g, e, rtol=1e-12, what=backend)
    if backend == "cpu":
        src = tx.function(lambda a, b: f(tx, a, b), backend="cpu").lower(x, y).kernels[0]
        body = src[src.index("def kernel"):]
        # asinh is computed at the first loop's depth, before the inner loops open
        assert body.index("asinh_f64(") < body.index("for i1 in")
        assert body.split("for i1 in")[1].count("logaddexp_f64(") == 0
