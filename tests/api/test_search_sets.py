"""searchsorted, nonzero and the set functions unique_values / unique_counts / unique_inverse /
unique_all against NumPy: eagerly, and compiled (searchsorted always; nonzero and unique_* with
a static size=, padded or cut as JAX) on every backend, cpu too; dtypes, empty arrays, NaN
(searchsorted puts it last; uniques keep every NaN apart), -0.0 == 0.0, 0-d inputs; traced
without size= they raise ConcretizationError naming the line."""

import inspect
import os

import numpy as np
import oracle
import pytest

import tracefuse as tx

MODES = oracle.MODES + (() if "cpu" in oracle.MODES else ("cpu",))
COMPILED = tuple(m for m in MODES if m != "eager")
THIS_FILE = os.path.basename(__file__)


# --- searchsorted -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int8", "uint16", "int64", "float32", "float64"])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("n, vshape", [(7, (5,)), (1, (3, 2)), (0, (4,)), (6, ()), (5, (0,))])
def test_searchsorted_matches_numpy(dtype, side, n, vshape, rng):
    x1 = np.sort(oracle.rand(rng, (n,), dtype, low=-4, high=4))
    x2 = oracle.rand(rng, vshape, dtype, low=-5, high=5)
    if x2.size and n:
        x2.flat[0] = x1[n // 2]  # on an element: left and right differ
    oracle.check(lambda a, b: tx.searchsorted(a, b, side=side),
                 lambda a, b: np.searchsorted(a, b, side=side), x1, x2, modes=MODES)


def test_searchsorted_with_nan_and_a_sorter(rng):
    x1 = np.array([3.0, np.nan, -1.0, 2.0, 2.0, np.inf])
    x2 = np.array([np.nan, 2.0, -np.inf, np.inf, 0.0, -0.0])
    sorter = np.argsort(x1, kind="stable")
    for side in ("left", "right"):
        oracle.check(lambda a, b, s, d=side: tx.searchsorted(a, b, side=d, sorter=s),
                     lambda a, b, s, d=side: np.searchsorted(a, b, side=d, sorter=s),
                     x1, x2, sorter, modes=MODES)
        oracle.check(lambda a, b, d=side: tx.searchsorted(a, b, side=d),
                     lambda a, b, d=side: np.searchsorted(a, b, side=d), np.sort(x1), x2)


def test_searchsorted_promotes_and_checks(rng):
    x1 = np.arange(5, dtype=np.int32)
    x2 = np.array([1.5, -2.0, 4.0, 9.0])
    oracle.check(tx.searchsorted, np.searchsorted, x1, x2)
    with pytest.raises(tx.ShapeError, match=rf"1-d sorted array.*{THIS_FILE}"):
        tx.searchsorted(np.ones((2, 2)), x2)
    with pytest.raises(tx.ShapeError, match="side must be"):
        tx.searchsorted(x1, x2, side="middle")
    with pytest.raises(IndexError, match="sorter"):
        tx.searchsorted(x1, x2, sorter=np.array([0, 1, 2, 3, 5]))


def test_vmap_of_searchsorted_matches_a_loop(rng):
    x1 = np.sort(oracle.rand(rng, (4, 6), "float64"), axis=1)
    x2 = oracle.rand(rng, (4, 3), "float64")
    got = tx.vmap(lambda a, b: tx.searchsorted(a, b, side="right"))(x1, x2).numpy()
    np.testing.assert_array_equal(got, np.stack([np.searchsorted(x1[i], x2[i], side="right")
                                                 for i in range(4)]))
    shared = tx.vmap(lambda b: tx.searchsorted(x1[0], b))(x2).numpy()
    np.testing.assert_array_equal(shared, np.searchsorted(x1[0], x2))


# --- nonzero ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", oracle.ALL_DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 0), (2, 1, 5)])
def test_nonzero_eager_matches_numpy(dtype, shape, rng):
    x = oracle.rand(rng, shape, dtype, low=-1, high=1)
    oracle.check(lambda a: tx.nonzero(a), lambda a: np.nonzero(a), x, modes=("eager",))


@pytest.mark.parametrize("size", [0, 3, 12, 20])
def test_nonzero_with_size_pads_and_cuts_as_jax(size, rng):
    x = oracle.rand(rng, (3, 4), "int16", low=-1, high=1)
    x[0, 1] = 1  # at least one

    def ref(a, fill):
        idx = np.nonzero(a)
        return tuple(np.concatenate([i[:size], np.full(max(size - len(i), 0), f)])
                     .astype(np.int64) for i, f in zip(idx, fill))

    oracle.check(lambda a: tx.nonzero(a, size=size), lambda a: ref(a, (0, 0)), x, modes=MODES)
    oracle.check(lambda a: tx.nonzero(a, size=size, fill_value=(-1, 7)),
                 lambda a: ref(a, (-1, 7)), x, modes=("eager", "numpy"))


def test_nonzero_errors_name_the_line():
    def f(a):
        return tx.nonzero(a)

    with pytest.raises(tx.ConcretizationError) as info:
        tx.function(f, backend="numpy")(np.ones(3))
    msg = str(info.value)
    assert f"{THIS_FILE}:{inspect.getsourcelines(f)[1] + 1}" in msg and "size=" in msg, msg
    with pytest.raises(ValueError, match=rf"0-d.*{THIS_FILE}"):
        tx.nonzero(np.float32(1.0))


def test_vmap_of_nonzero_with_size(rng):
    x = oracle.rand(rng, (4, 6), "int8", low=-1, high=1)
    got = tx.vmap(lambda a: tx.nonzero(a, size=3, fill_value=-1)[0])(x).numpy()
    want = [np.concatenate([np.nonzero(r)[0][:3], np.full(3, -1)])[:3] for r in x]
    np.testing.assert_array_equal(got, np.stack(want))


# --- unique_* -----------------------------------------------------------------------------------
def np_unique_all(a):
    """The array API's unique_all through NumPy (NaNs distinct, inverse of a's shape)."""
    values, indices, inverse, counts = np.unique(a.reshape(-1), return_index=True,
                                                 return_inverse=True, return_counts=True,
                                                 equal_nan=False)
    return values, indices.astype(np.int64), inverse.reshape(a.shape).astype(np.int64), \
        counts.astype(np.int64)


@pytest.mark.parametrize("dtype", oracle.ALL_DTYPES)
@pytest.mark.parametrize("shape", [(9,), (3, 4), (0,), (), (2, 0, 3)])
def test_uniques_eager_match_numpy(dtype, shape, rng):
    x = oracle.rand(rng, shape, dtype, low=-2, high=2)
    oracle.check(lambda a: tuple(tx.unique_all(a)), np_unique_all, x, modes=("eager",))
    oracle.check(lambda a: tx.unique_values(a), lambda a: np_unique_all(a)[0], x,
                 modes=("eager",))
    oracle.check(lambda a: tuple(tx.unique_counts(a)), lambda a: np_unique_all(a)[::3], x,
                 modes=("eager",))
    oracle.check(lambda a: tuple(tx.unique_inverse(a)), lambda a: np_unique_all(a)[::2], x,
                 modes=("eager",))


def test_uniques_keep_nans_apart_and_merge_signed_zeros():
    x = np.array([[np.nan, 1.0, -0.0], [np.inf, np.nan, 1.0], [0.0, -np.inf, np.nan]])
    r = tx.unique_all(x)
    assert r._fields == ("values", "indices", "inverse_indices", "counts")
    values = r.values.numpy()
    np.testing.assert_array_equal(values[:4], [-np.inf, 0.0, 1.0, np.inf])
    assert np.isnan(values[4:]).all() and values.shape == (7,)
    np.testing.assert_array_equal(r.counts.numpy(), [1, 2, 2, 1, 1, 1, 1])
    np.testing.assert_array_equal(r.indices.numpy(), [7, 2, 1, 3, 0, 4, 8])
    np.testing.assert_array_equal(values[r.inverse_indices.numpy()][~np.isnan(x)],
                                  x[~np.isnan(x)])
    assert tx.unique_counts(x)._fields == ("values", "counts")
    assert tx.unique_inverse(x)._fields == ("values", "inverse_indices")


@pytest.mark.parametrize("size, fill", [(3, None), (5, None), (8, -9.0), (0, None)])
def test_uniques_with_size_compile_and_pad_as_jax(size, fill, rng):
    x = np.array([[2.0, -1.0, 2.0], [np.nan, 0.5, -1.0]])

    def ref(a):
        values, indices, inverse, counts = np_unique_all(a)
        pad = size - len(values)
        f = values[0] if fill is None else fill
        cut = slice(0, size)
        return (np.concatenate([values[cut], np.full(max(pad, 0), f)]),
                np.concatenate([indices[cut], np.zeros(max(pad, 0), np.int64)]),
                inverse,
                np.concatenate([counts[cut], np.zeros(max(pad, 0), np.int64)]))

    oracle.check(lambda a: tuple(tx.unique_all(a, size=size, fill_value=fill)), ref, x,
                 modes=MODES)
    oracle.check(lambda a: tx.unique_values(a, size=size, fill_value=fill),
                 lambda a: ref(a)[0], x, modes=("eager", "numpy"))


def test_uniques_traced_without_size_raise_naming_the_line():
    for fn in (tx.unique_values, tx.unique_counts, tx.unique_inverse, tx.unique_all):
        def f(a, fn=fn):
            return fn(a)

        with pytest.raises(tx.ConcretizationError) as info:
            tx.function(f, backend="numpy")(np.ones(3))
        msg = str(info.value)
        assert f"{THIS_FILE}:{inspect.getsourcelines(f)[1] + 1}" in msg, msg
        assert fn.__name__ in msg and "size=" in msg, msg


def test_vmap_of_unique_with_size(rng):
    x = oracle.rand(rng, (3, 6), "int32", low=0, high=3)
    got = tx.vmap(lambda a: tuple(tx.unique_counts(a, size=4, fill_value=-1)))(x)
    for r in range(3):
        values, _, _, counts = np_unique_all(x[r])
        k = len(values)
        np.testing.assert_array_equal(got[0].numpy()[r], np.r_[values, [-1] * (4 - k)][:4])
        np.testing.assert_array_equal(got[1].numpy()[r], np.r_[counts, [0] * (4 - k)][:4])


def test_unique_has_no_derivative_but_says_what_to_do(rng):
    from tracefuse.transforms.autodiff import NonDifferentiableError

    with pytest.raises(NonDifferentiableError, match=r"unique.*tx.take"):
        tx.grad(lambda a: tx.sum(tx.unique_values(a, size=3)))(np.array([1.0, 2.0, 1.0]))


def test_calls_print_and_parse_back(rng):
    """The calls' parameters (tuples of names and of ints, floats, None) survive the IR text."""
    from tracefuse.ir import parse_graph, print_graph

    def f(a, i):
        u = tx.unique_all(a, size=3, fill_value=-1.5)
        n = tx.nonzero(a > 0.5, size=2, fill_value=(1, 2))
        s = tx.searchsorted(tx.sort(a[0]), a[1], side="right")
        return u, n, s, a.at[i].multiply(2.0).at[:, 1:].min(0.0), tx.unique_values(a, size=2)

    x, i = oracle.rand(rng, (2, 3), "float64"), np.array([1, -1])
    text = tx.function(f, backend="numpy").get_concrete_function(x, i).ir("traced")
    for fn in ("unique", "nonzero", "searchsorted", "scatter"):
        assert f'fn="{fn}"' in text, text
    assert print_graph(parse_graph(text)) == text
