"""sort, argsort, cumulative_sum, cumulative_prod and take_along_axis (library calls, ir/library)
against NumPy: eager and compiled on every backend under test, the cpu (Numba) backend too;
dtypes, empty and size-1 axes, NaN and -0.0 in sorts, ties and the stability of descending
sorts, negative axes and indices; errors name the user's line."""

import numpy as np
import oracle
import pytest

import tracefuse as tx

MODES = oracle.MODES + (() if "cpu" in oracle.MODES else ("cpu",))
SORT_DTYPES = ("bool", "int8", "uint16", "int32", "int64", "float32", "float64")


def _desc_argsort(x, axis):
    """NumPy's stable descending argsort (ties keep their order): the reference."""
    n = x.shape[axis]
    return (n - 1) - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)


@pytest.mark.parametrize("dtype", SORT_DTYPES)
@pytest.mark.parametrize("shape, axis", [((7,), -1), ((3, 5), 0), ((2, 1, 6), -1), ((4, 0), 1),
                                         ((0, 3), 0)])
def test_sort_and_argsort_match_numpy(dtype, shape, axis, rng):
    x = oracle.rand(rng, shape, dtype, low=-3, high=3)
    if x.size and dtype.startswith("int"):
        x.flat[::3] = x.flat[0]  # ties
    oracle.check(lambda a: tx.sort(a, axis=axis), lambda a: np.sort(a, axis=axis, kind="stable"),
                 x, modes=MODES)
    oracle.check(lambda a: tx.argsort(a, axis=axis),
                 lambda a: np.argsort(a, axis=axis, kind="stable"), x, modes=MODES)
    oracle.check(lambda a: tx.argsort(a, axis=axis, descending=True),
                 lambda a: _desc_argsort(a, axis), x, modes=MODES)
    oracle.check(lambda a: tx.sort(a, axis=axis, descending=True),
                 lambda a: np.flip(np.sort(a, axis=axis), axis), x, modes=MODES)


def test_sort_puts_nan_last_and_keeps_signed_zeros(rng):
    x = np.array([[2.0, np.nan, -0.0, 0.0, -np.inf, 1.0, np.nan, np.inf],
                  [0.5, -0.5, np.nan, 3.0, -0.0, 2.0, 1.0, 0.0]])
    oracle.check(lambda a: tx.sort(a), lambda a: np.sort(a, kind="stable"), x, modes=MODES)
    oracle.check(lambda a: tx.argsort(a), lambda a: np.argsort(a, kind="stable"), x,
                 modes=MODES)
    got = tx.argsort(x, descending=True).numpy()
    np.testing.assert_array_equal(got, _desc_argsort(x, 1))
    assert np.isnan(x[0, got[0, :2]]).all()  # NaN first when descending


def test_descending_sort_is_stable_for_ties():
    x = np.array([3, 1, 3, 2, 1, 3], np.int32)
    np.testing.assert_array_equal(tx.argsort(x, descending=True).numpy(), [0, 2, 5, 3, 1, 4])
    np.testing.assert_array_equal(tx.argsort(x).numpy(), [1, 4, 3, 0, 2, 5])


@pytest.mark.parametrize("fn, np_fn, initial", [("cumulative_sum", np.cumsum, 0),
                                                  ("cumulative_prod", np.cumprod, 1)])
@pytest.mark.parametrize("dtype", ("bool", "int8", "uint32", "int64", "float32", "float64"))
@pytest.mark.parametrize("shape, axis", [((6,), None), ((3, 4), 1), ((3, 4), -2), ((2, 0), 1),
                                         ((0,), 0)])
@pytest.mark.parametrize("include_initial", [False, True])
def test_cumulative_match_numpy(fn, np_fn, initial, dtype, shape, axis, include_initial, rng):
    x = oracle.rand(rng, shape, dtype, low=-2, high=2)
    ax = 0 if axis is None else axis

    def ref(a):
        want = np.sum(a).dtype if a.dtype.kind in "biu" else a.dtype  # sum's dtype
        y = np_fn(a, axis=ax, dtype=want)
        if include_initial:
            pad = list(y.shape)
            pad[ax] = 1
            y = np.concatenate([np.full(pad, initial, y.dtype), y], axis=ax)
        return y

    f = getattr(tx, fn)
    oracle.check(lambda a: f(a, axis=axis, include_initial=include_initial), ref, x,
                 modes=MODES)


def test_cumulative_sum_dtype_parameter(rng):
    x = oracle.rand(rng, (5,), "int8")
    oracle.check(lambda a: tx.cumulative_sum(a, dtype=tx.float32),
                 lambda a: np.cumsum(a, dtype=np.float32), x)
    with pytest.raises(tx.ShapeError, match=r"axis=None needs a 1-d array.*test_sorting.py"):
        tx.cumulative_sum(np.ones((2, 2)))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_take_along_axis_matches_numpy(axis, rng):
    x = oracle.rand(rng, (3, 5), "float32")
    n = x.shape[axis]
    idx_shape = (3, 4) if axis in (1, -1) else (6, 5)
    idx = rng.integers(-n, n, idx_shape)
    oracle.check(lambda a, i: tx.take_along_axis(a, i, axis=axis),
                 lambda a, i: np.take_along_axis(a, i, axis=axis), x, idx, modes=MODES)
    # the other axes broadcast
    row = rng.integers(0, 5, (1, 2))
    oracle.check(lambda a, i: tx.take_along_axis(a, i, axis=1),
                 lambda a, i: np.take_along_axis(a, np.broadcast_to(i, (3, 2)), axis=1),
                 x, row, modes=MODES)


def test_take_along_axis_out_of_range_raises_with_the_line(rng):
    x = oracle.rand(rng, (2, 3), "float64")
    with pytest.raises(IndexError, match=r"out of range.*test_sorting.py"):
        tx.take_along_axis(x, np.array([[0, 3], [1, 1]]), axis=1)
    with pytest.raises(IndexError, match="out of range"):
        tx.function(lambda a, i: tx.take_along_axis(a, i, axis=1), backend="cpu")(
            x, np.array([[0, -4], [1, 1]]))


def test_sort_errors_name_the_line():
    with pytest.raises(IndexError, match=r"axis 2 is out of range.*test_sorting.py"):
        tx.sort(np.ones((2, 3)), axis=2)
    with pytest.raises(tx.ShapeError, match=r"0-d.*test_sorting.py"):
        tx.function(lambda a: tx.sort(a))(np.float64(1.0))
    with pytest.raises(tx.ShapeError, match="has no parameter 'kind'"):
        from tracefuse.frontend.dispatch import call

        call("sort", [np.ones(3)], kind="quick")


def test_calls_print_parse_and_fuse_around(rng):
    """A call prints with its function and parameters, parses back, and the elementwise
    work around it stays in kernels (the call is a library step)."""
    x = oracle.rand(rng, (4, 6), "float32")
    f = tx.function(lambda a: tx.exp(tx.sort(a * 2.0 + 1.0, axis=0, descending=True)) - 1.0,
                    backend="cpu")
    np.testing.assert_allclose(f(x).numpy(), np.exp(-np.sort(-(x * 2 + 1), axis=0)) - 1,
                               rtol=1e-6)
    cf = f.get_concrete_function(x)
    text = cf.ir("traced")
    assert "= call %" in text and 'fn="sort"' in text and "descending=true" in text, text
    from tracefuse.ir import parse_graph, print_graph

    assert print_graph(parse_graph(text)) == text
    fused = cf.ir()
    assert fused.count("= kernel") >= 2 and 'fn="sort"' in fused, fused
