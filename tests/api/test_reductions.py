"""Reductions and statistics against NumPy, eagerly and compiled: sum prod max min mean var std
all any argmax argmin over every axis form (None, int, negative, tuple, (), all axes), keepdims,
dtype= for sum/prod, correction= for var/std, every real dtype, 0-d / size-0 / size-1 / odd
sizes, NaN propagation and non-contiguous inputs."""

import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
import oracle
from oracle import check_with_types as check
from oracle import INT_DTYPES, REAL_DTYPES, layouts, rand

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

THIS_FILE = os.path.basename(__file__)


SHAPES = [(), (0,), (1,), (7,), (31,), (33,), (1000,), (3, 5), (2, 1, 33), (4, 0, 3), (2, 3, 4, 5)]


def lineno() -> int:
    return inspect.currentframe().f_back.f_lineno


def axis_forms(ndim: int) -> list:
    """Every kind of `axis` argument valid for `ndim` dimensions."""
    forms = [None, ()]
    if ndim >= 1:
        forms += [0, -1, tuple(range(ndim)), tuple(range(-ndim, 0))[::-1]]
    if ndim >= 2:
        forms += [1, -2, (0, ndim - 1), (-1, 0)]
    if ndim >= 3:
        forms += [(0, 2), (1, -1)]
    return forms


def reduced_count(shape, axis) -> int:
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))


# (tx function, NumPy function, dtypes it allows, whether an empty reduction is an error)
REDUCTIONS = {
    "sum": (tx.sum, np.sum, ("bool",) + REAL_DTYPES, False),
    "prod": (tx.prod, np.prod, ("bool",) + REAL_DTYPES, False),
    "max": (tx.max, np.max, ("bool",) + REAL_DTYPES, True),
    "min": (tx.min, np.min, ("bool",) + REAL_DTYPES, True),
    "mean": (tx.mean, np.mean, ("bool",) + REAL_DTYPES, False),
    "var": (tx.var, np.var, ("bool",) + REAL_DTYPES, False),
    "std": (tx.std, np.std, ("bool",) + REAL_DTYPES, False),
    "all": (tx.all, np.all, ("bool",) + REAL_DTYPES, False),
    "any": (tx.any, np.any, ("bool",) + REAL_DTYPES, False),
}


def values_for(name, rng, shape, dtype):
    if name == "prod":  # keep float products finite; ints keep small factors
        if np.dtype(dtype).kind == "f":
            return rand(rng, shape, dtype, low=0.5, high=1.5)
        return rand(rng, shape, dtype, low=1, high=3)
    if name in ("all", "any") and np.dtype(dtype).kind != "b":
        # mostly non-zero with some zeros, so all() and any() are not trivially True or False
        x = rand(rng, shape, dtype, low=1, high=3)
        return np.where(rng.random(shape) < 0.25, np.zeros((), dtype), x)
    return rand(rng, shape, dtype)


AXIS_DTYPES = ("bool", "int64", "float32")


@pytest.mark.parametrize("dtype", ("bool",) + REAL_DTYPES)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_every_axis_form_shape_and_dtype(name, dtype, rng):
    tx_fn, np_fn, dtypes, needs_nonempty = REDUCTIONS[name]
    # Eager and the reference interpreter see every combination. Code-generating backends see
    # every axis form and shape on the dtypes of AXIS_DTYPES and the 0-d / 1-d shapes on the
    # rest: how a kernel walks the axes does not depend on the dtype, and what it computes per
    # dtype (identities, accumulators, casts) shows on any shape. (The full product is 2,900
    # distinct kernels, half of what the whole suite compiles.)
    all_modes = oracle.MODES
    small_modes = tuple(m for m in all_modes if m in ("eager", "numpy"))
    for shape in SHAPES:
        x = values_for(name, rng, shape, dtype)
        modes = all_modes if dtype in AXIS_DTYPES or len(shape) <= 1 else small_modes
        for j, axis in enumerate(axis_forms(len(shape))):
            # both keepdims on multi-dimensional shapes; alternating on 0-d and 1-d ones
            for keepdims in ((False, True) if len(shape) >= 2 else (bool(j % 2),)):
                if needs_nonempty and reduced_count(shape, axis) == 0:
                    continue  # the error is tested on its own below
                check(lambda a: tx_fn(a, axis=axis, keepdims=keepdims),
                      lambda a: np_fn(a, axis=axis, keepdims=keepdims), x, modes=modes)


@pytest.mark.parametrize("name", list(REDUCTIONS))
@pytest.mark.parametrize("dtype", ["float32", "int16", "float64"])
def test_reduction_on_noncontiguous_and_negative_stride_inputs(name, dtype, rng):
    tx_fn, np_fn, _, _ = REDUCTIONS[name]
    base = values_for(name, rng, (6, 7, 5), dtype)
    # a sum that cancels to near zero differs from NumPy's float32 pairwise sum by a few ulps
    # of the terms, not of the result: the absolute tolerance is eps * n * max|x|
    atol = 0.0 if np.dtype(dtype).kind != "f" or name not in ("sum", "mean", "var", "std") else \
        float(np.finfo(dtype).eps * base.size * np.abs(base).max())
    for x in layouts(base) + [base.transpose(2, 0, 1), base[::-2, 1::3, ::-1]]:
        for axis in (None, 0, -1, (0, 2), (1,)):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x, atol=atol)


def test_small_int_sums_accumulate_in_64_bits_like_numpy(rng):
    for dtype in INT_DTYPES + ("bool",):
        x = rand(rng, (300,), dtype, low=100, high=127)
        check(lambda a: tx.sum(a), lambda a: np.sum(a), x)
        check(lambda a: tx.prod(a, axis=0), lambda a: np.prod(a, axis=0), x[:5])
    assert tx.sum(np.full(300, 127, np.int8)).dtype == tx.int64
    assert tx.sum(np.full(300, 255, np.uint8)).dtype == tx.uint64
    assert int(tx.sum(np.full(300, 127, np.int8))) == 300 * 127  # no int8 overflow
    assert tx.sum(np.ones(3, bool)).dtype == tx.int64


def test_int_sum_overflow_wraps_like_numpy():
    x = np.array([2**62, 2**62, 2**62], np.int64)
    check(lambda a: tx.sum(a), lambda a: np.sum(a), x)
    u = np.array([2**63, 2**63, 5], np.uint64)
    check(lambda a: tx.sum(a), lambda a: np.sum(a), u)


# (source, requested accumulator) pairs; float -> int is left out: NumPy refuses it
DTYPE_PAIRS = [(s, d) for s in ("int8", "uint8", "int32", "float32", "float64", "bool")
               for d in ("int8", "int32", "uint16", "int64", "float32", "float64")
               if not (np.dtype(s).kind == "f" and np.dtype(d).kind in "iu")]


@pytest.mark.parametrize("src,dst", DTYPE_PAIRS)
@pytest.mark.parametrize("name", ["sum", "prod"])
def test_sum_prod_dtype_argument(name, src, dst, rng):
    tx_fn, np_fn, _, _ = REDUCTIONS[name]
    x = values_for(name, rng, (4, 9), src)
    if name == "sum" and np.dtype(src).kind in "iu":
        x = rand(rng, (4, 9), src, low=20, high=120)  # big enough to wrap narrow accumulators
    for axis in (None, 0, -1):
        check(lambda a: tx_fn(a, axis=axis, dtype=dst), lambda a: np_fn(a, axis=axis, dtype=dst), x)
        check(lambda a: tx_fn(a, axis=axis, dtype=getattr(tx, dst), keepdims=True),
              lambda a: np_fn(a, axis=axis, dtype=dst, keepdims=True), x)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("correction", [0, 1, 0.5, 2])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_correction_is_numpys_ddof(name, correction, dtype, rng):
    tx_fn, np_fn, _, _ = REDUCTIONS[name]
    for shape in [(1,), (2,), (7,), (3, 5), (2, 1, 33)]:
        x = rand(rng, shape, dtype)
        for axis in axis_forms(len(shape)):
            for keepdims in (False, True):
                check(lambda a: tx_fn(a, axis=axis, correction=correction, keepdims=keepdims),
                      lambda a: np_fn(a, axis=axis, ddof=correction, keepdims=keepdims), x)


def test_var_with_correction_at_least_n_is_inf_or_nan_like_numpy(rng):
    x = rand(rng, (3, 4), "float64")
    for correction in (4, 5):
        check(lambda a: tx.var(a, axis=1, correction=correction),
              lambda a: np.var(a, axis=1, ddof=correction), x)
        check(lambda a: tx.std(a, axis=1, correction=correction),
              lambda a: np.std(a, axis=1, ddof=correction), x)
    got = tx.var(x, axis=1, correction=4).numpy()
    assert np.all(np.isinf(got)) and np.all(got > 0)


def test_mean_of_ints_is_float64_and_float32_stays_float32(rng):
    for dtype in INT_DTYPES + ("bool",):
        x = rand(rng, (5, 3), dtype)
        assert tx.mean(x).dtype == tx.float64
        assert tx.var(x, axis=0).dtype == tx.float64
    assert tx.mean(rand(rng, (5,), "float32")).dtype == tx.float32
    assert tx.std(rand(rng, (5,), "float32")).dtype == tx.float32
    x = np.array([1, 2], np.int64)
    assert float(tx.mean(x)) == 1.5


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_empty_reductions_give_numpys_identities(dtype):
    x = np.zeros((0,), dtype)
    y = np.zeros((3, 0), dtype)
    for tx_fn, np_fn in [(tx.sum, np.sum), (tx.prod, np.prod), (tx.all, np.all),
                         (tx.any, np.any)]:
        check(lambda a: tx_fn(a), lambda a: np_fn(a), x)
        check(lambda a: tx_fn(a, axis=1), lambda a: np_fn(a, axis=1), y)
        check(lambda a: tx_fn(a, axis=0), lambda a: np_fn(a, axis=0), y)
    for tx_fn, np_fn in [(tx.mean, np.mean), (tx.var, np.var), (tx.std, np.std)]:
        check(lambda a: tx_fn(a), lambda a: np_fn(a), x)
        check(lambda a: tx_fn(a, axis=1), lambda a: np_fn(a, axis=1), y)
    assert float(tx.sum(x)) == 0 and int(tx.prod(x)) == 1
    assert np.isnan(float(tx.mean(x)))
    assert bool(tx.all(x)) and not bool(tx.any(x))


@pytest.mark.parametrize("mode", ["eager", "numpy"])
@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_max_of_an_empty_axis_raises_shape_error_at_the_users_line(name, mode):
    fn = getattr(tx, name)
    x = np.zeros((0, 3), np.float32)
    cases = [(x, None), (x, 0), (np.zeros((3, 0)), 1), (np.zeros((3, 0)), -1)]
    for arr, axis in cases:
        def f(a):
            return fn(a, axis=axis)  # the line the error must name
        line = inspect.getsourcelines(f)[1] + 1
        g = f if mode == "eager" else tx.function(f, backend=mode)
        with pytest.raises(tx.ShapeError) as info:
            g(arr)
        assert isinstance(info.value, ValueError)
        assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)
    # reducing a non-empty axis of an array with an empty other axis is fine (empty result)
    y = np.zeros((0, 3))
    check(lambda a: fn(a, axis=1), lambda a: getattr(np, name)(a, axis=1), y)


def test_bad_axis_is_a_shape_error_with_the_users_line():
    x = np.ones((2, 3))
    for call in (lambda: tx.sum(x, axis=2), lambda: tx.mean(x, axis=-3),
                 lambda: tx.max(x, axis=(0, 0)), lambda: tx.var(x, axis=(1, -1)),
                 lambda: tx.argmax(x, axis=2), lambda: tx.all(x, axis=(0, 5))):
        line = inspect.getsourcelines(call)[1]
        with pytest.raises(tx.ShapeError) as info:
            call()
        assert THIS_FILE in str(info.value)
        assert f":{line}" in str(info.value)

    @tx.function(backend="numpy")
    def f(a):
        return tx.sum(a, axis=7)
    line = lineno() - 1
    with pytest.raises(tx.ShapeError, match=rf"{THIS_FILE}:{line}"):
        f(x)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_min_propagate_nan_and_handle_inf(name, dtype, rng):
    tx_fn, np_fn, _, _ = REDUCTIONS[name]
    for shape in [(7,), (33,), (5, 6), (3, 4, 5)]:
        x = rand(rng, shape, dtype, special=True)
        for axis in axis_forms(len(shape)):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x)
    x = np.array([1.0, np.nan, 3.0, np.inf], dtype)
    assert np.isnan(float(tx_fn(x)))
    x = np.array([1.0, -np.inf, np.inf], dtype)
    assert float(tx_fn(x)) == (np.inf if name == "max" else -np.inf)


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "var", "std", "all", "any"])
def test_nan_and_inf_in_other_reductions(name, rng):
    tx_fn, np_fn, _, _ = REDUCTIONS[name]
    for shape in [(7,), (5, 6)]:
        x = rand(rng, shape, "float64", special=True)
        for axis in axis_forms(len(shape)):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x)


@pytest.mark.parametrize("dtype", ("bool",) + REAL_DTYPES)
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin(name, dtype, rng):
    tx_fn, np_fn = getattr(tx, name), getattr(np, name)
    for shape in [(), (1,), (7,), (31,), (33,), (1000,), (3, 5), (2, 1, 33), (0, 4)]:
        x = rand(rng, shape, dtype, low=-3, high=3)  # repeated values: first index wins
        axes = [None] + list(range(-len(shape), len(shape)))
        for axis in axes:
            if x.size == 0 and (axis is None or shape[axis] == 0):
                continue
            for keepdims in (False, True):
                check(lambda a: tx_fn(a, axis=axis, keepdims=keepdims),
                      lambda a: np_fn(a, axis=axis, keepdims=keepdims), x)
    assert tx_fn(rand(rng, (3, 4), dtype)).dtype == tx.int64


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_with_nan_gives_the_first_nan_like_numpy(name, rng):
    tx_fn, np_fn = getattr(tx, name), getattr(np, name)
    x = np.array([1.0, 5.0, np.nan, 7.0, np.nan, -2.0])
    assert int(tx_fn(x)) == 2 == np_fn(x)
    assert int(tx.function(lambda a: tx_fn(a), backend="numpy")(x)) == 2
    for shape in [(9,), (4, 7), (3, 4, 5)]:
        x = rand(rng, shape, "float32", special=True)
        for axis in [None] + list(range(len(shape))):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_on_noncontiguous_inputs(name, rng):
    tx_fn, np_fn = getattr(tx, name), getattr(np, name)
    base = rand(rng, (5, 6, 7), "float32")
    for x in layouts(base) + [base.transpose(1, 2, 0), base[::-1, ::2, 3::-1]]:
        for axis in (None, 0, 1, -1):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x)


@pytest.mark.parametrize("name", list(REDUCTIONS) + ["argmax", "argmin"])
def test_float16_reductions(name, rng):
    tx_fn, np_fn = getattr(tx, name), getattr(np, name)
    for shape in [(), (1,), (7,), (33,), (3, 5)]:
        x = values_for(name, rng, shape, "float16")
        for axis in ([None] + list(range(len(shape))) if name.startswith("arg")
                     else axis_forms(len(shape))):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x)


def test_float16_mean_accumulates_in_float32_like_numpy(rng):
    x = rng.uniform(0, 100, size=20000).astype(np.float16)  # the sum overflows float16
    assert np.isinf(np.sum(x)) and np.isfinite(np.mean(x))
    check(lambda a: tx.mean(a), lambda a: np.mean(a), x)
    check(lambda a: tx.mean(a.reshape(4, -1), axis=1, keepdims=True),
          lambda a: np.mean(a.reshape(4, -1), axis=1, keepdims=True), x)
    assert tx.mean(x).dtype == tx.float16


def test_long_float32_sum_matches_numpys_pairwise_result(rng):
    x = rng.uniform(0.0, 1.0, size=10**6).astype(np.float32)
    expected = np.sum(x)  # pairwise summation in float32
    exact = np.sum(x.astype(np.float64))
    for mode in ("eager", "numpy"):
        f = tx.sum if mode == "eager" else tx.function(lambda a: tx.sum(a), backend="numpy")
        got = f(x)
        assert got.dtype == tx.float32
        np.testing.assert_allclose(float(got), float(expected), rtol=2e-5)
        # pairwise summation is accurate; a naive float32 loop is off by ~7e-6 here
        np.testing.assert_allclose(float(got), exact, rtol=1e-6)
    check(lambda a: tx.sum(a), lambda a: np.sum(a), x)
    check(lambda a: tx.mean(a), lambda a: np.mean(a), x)
    check(lambda a: tx.sum(a.reshape(1000, 1000), axis=0),
          lambda a: np.sum(a.reshape(1000, 1000), axis=0), x)


def test_float32_sum_within_the_oracles_tolerance(rng):
    for n in (1, 7, 31, 33, 1000, 4097):
        x = rand(rng, (n,), "float32", low=0.0, high=10.0)
        check(lambda a: tx.sum(a), lambda a: np.sum(a), x)
        check(lambda a: tx.var(a), lambda a: np.var(a), x)


def test_reductions_of_zero_d_inputs_and_python_scalars(rng):
    x = np.array(3.5, np.float32)
    for name, (tx_fn, np_fn, _, _) in REDUCTIONS.items():
        for axis in (None, ()):
            check(lambda a: tx_fn(a, axis=axis), lambda a: np_fn(a, axis=axis), x)
    check(lambda a: tx.argmax(a), lambda a: np.argmax(a), x)
    assert float(tx.sum(tx.asarray(2.5))) == 2.5


def test_reduction_methods_on_tensors(rng):
    x = rand(rng, (4, 5), "float32")
    t = tx.asarray(x)
    pairs = [
        (t.sum(axis=1), x.sum(axis=1)), (t.prod(), x.prod()), (t.max(axis=0), x.max(axis=0)),
        (t.min(keepdims=True), x.min(keepdims=True)), (t.mean(axis=-1), x.mean(axis=-1)),
        (t.var(correction=1), x.var(ddof=1)), (t.std(axis=0), x.std(axis=0)),
        (t.all(), x.all()), (t.any(axis=1), x.any(axis=1)), (t.argmax(axis=1), x.argmax(axis=1)),
        (t.argmin(), x.argmin()), (t.sum(dtype=tx.float64), x.sum(dtype=np.float64)),
    ]
    for got, expected in pairs:
        assert got.dtype == expected.dtype and got.shape == np.shape(expected)
        np.testing.assert_allclose(got.numpy(), expected, rtol=2e-5)

    @tx.function(backend="numpy")
    def f(a):
        return a.sum(axis=0), a.max(axis=1, keepdims=True), a.argmin(axis=0), a.std()

    got = f(x)
    for g, e in zip(got, (x.sum(axis=0), x.max(axis=1, keepdims=True), x.argmin(axis=0), x.std())):
        assert g.shape == np.shape(e)
        np.testing.assert_allclose(g.numpy(), e, rtol=2e-5)


def test_reductions_inside_a_larger_compiled_function(rng):
    x = rand(rng, (8, 33), "float32")

    def softmax(a, mod):
        e = mod.exp(a - mod.max(a, axis=-1, keepdims=True))
        return e / mod.sum(e, axis=-1, keepdims=True)

    def normalize(a, mod):
        m = mod.mean(a, axis=0, keepdims=True)
        s = mod.std(a, axis=0, keepdims=True)
        return (a - m) / s

    check(lambda a: softmax(a, tx), lambda a: softmax(a, np), x)
    check(lambda a: normalize(a, tx), lambda a: normalize(a, np), x, rtol=1e-4)
