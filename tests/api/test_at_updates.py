"""Functional updates `x.at[key].set/add/multiply/min/max/get` against NumPy (`y = x.copy();
y[key] = v` and `np.add.at` ...) eagerly and compiled on every backend (cpu too), on Tensors
and traced values: every kind of key `x[key]` accepts, repeated indices (accumulated; set:
one of the updates), out-of-range indices dropped (JAX's rule), values broadcast and cast to
x's dtype, 0-d and empty arrays, NaN in min/max; `x[key] = v` raises TypeError naming the line
and `.at[]`."""

import inspect
import os

import numpy as np
import oracle
import pytest

import tracefuse as tx

MODES = oracle.MODES + (() if "cpu" in oracle.MODES else ("cpu",))
THIS_FILE = os.path.basename(__file__)
E = Ellipsis
UFUNC = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}


def reference(x, key, v, mode):
    """NumPy's result of x.at[key].<mode>(v) for in-range keys."""
    y = x.copy()
    v = np.broadcast_to(np.asarray(v).astype(x.dtype), y[key].shape)
    if mode == "set":
        y[key] = v
    else:
        UFUNC[mode].at(y, key, v)
    return y


def update(mode, key):
    return lambda a, v: getattr(tx.asarray(a).at[key], mode)(v)


KEYS = [  # (shape of x, key, shape of the values)
    ((6,), 2, ()), ((6,), -1, ()), ((6,), slice(1, 5, 2), (2,)), ((6,), slice(None, None, -2), ()),
    ((6,), np.array([4, 0, -1]), (3,)), ((3, 4), (1, slice(None)), (4,)),
    ((3, 4), (slice(None), np.array([3, 1])), (3, 2)), ((3, 4), (np.array([2, 0]), 1), (2,)),
    ((3, 4), (slice(2, 0, -1), [0, 3]), (1, 2)), ((2, 3, 4), (0, slice(None), [1, 2]), (2, 3)),
    ((2, 3, 4), (slice(None), 1, np.array([[0], [3]])), (2, 2, 1)),
    ((2, 3, 4), (E, np.array([2, 1])), (2,)), ((2, 3, 4), (None, 1, E, slice(1, 3)), (3, 2)),
    ((3, 4), np.arange(12).reshape(3, 4) % 5 == 1, ()),
    ((3, 4), (np.array([True, False, True]), slice(None, None, 3)), (2, 2)),
    ((3, 4), (), (3, 4)), ((3, 4), E, (4,)), ((), (), ()), ((0, 3), (slice(None), 1), ()),
    ((3, 4), (slice(None), slice(4, 4)), ()),
]


@pytest.mark.parametrize("mode", ["set", "add", "multiply", "min", "max"])
@pytest.mark.parametrize("shape, key, vshape", KEYS, ids=[repr(k[1])[:50] for k in KEYS])
def test_updates_match_numpy(mode, shape, key, vshape, rng):
    x = oracle.rand(rng, shape, "float64")
    v = oracle.rand(rng, vshape, "float64")
    modes = MODES if mode in ("set", "add") else ("eager", "numpy")
    oracle.check(update(mode, key), lambda a, b: reference(a, key, b, mode), x, v, modes=modes)


@pytest.mark.parametrize("dtype", oracle.ALL_DTYPES)
@pytest.mark.parametrize("mode", ["set", "add", "multiply", "min", "max"])
def test_every_dtype_and_the_values_cast_to_it(dtype, mode, rng):
    x = oracle.rand(rng, (4, 3), dtype, low=-3, high=3)
    key = (np.array([3, 0, 3]), slice(1, None))  # a repeated row: it accumulates
    v = oracle.rand(rng, (3, 2), "float32", low=-3, high=3)
    if mode == "set":
        key = (np.array([3, 0]), slice(1, None))
        v = v[:2]
    oracle.check(update(mode, key), lambda a, b: reference(a, key, b, mode), x, v,
                 modes=("eager", "numpy", "gpu-sim") if dtype in ("int8", "float32")
                 else ("eager",))
    # a Python scalar takes x's dtype
    oracle.check(lambda a: getattr(tx.asarray(a).at[1, ::2], mode)(2),
                 lambda a: reference(a, (1, slice(None, None, 2)), 2, mode), x,
                 modes=("eager",))


def test_repeated_indices_accumulate_and_set_keeps_one_of_them(rng):
    x = oracle.rand(rng, (5,), "float64")
    i = np.array([1, 3, 1, 1])
    v = np.array([10.0, 20.0, 30.0, 40.0])
    for m in MODES:
        got = oracle.run(m, lambda a, b: tx.asarray(a).at[i].add(b), x, v).numpy()
        np.testing.assert_allclose(got, x + np.bincount(i, v, minlength=5), rtol=1e-15)
        got = oracle.run(m, lambda a, b: tx.asarray(a).at[i].set(b), x, v).numpy()
        assert got[1] in (10.0, 30.0, 40.0) and got[3] == 20.0, got
        np.testing.assert_array_equal(got[[0, 2, 4]], x[[0, 2, 4]])


@pytest.mark.parametrize("mode", ["set", "add", "multiply", "min", "max"])
def test_out_of_range_indices_are_dropped(mode, rng):
    """JAX's rule for updates: an index out of range (>= n or < -n) drops its update."""
    x = oracle.rand(rng, (4, 3), "float32")
    i = np.array([5, -1, 4, -5, 0, 2])
    v = oracle.rand(rng, (6, 3), "float32")
    keep = (i >= -4) & (i < 4)
    want = reference(x, i[keep], v[keep], mode)
    oracle.check(lambda a, b: getattr(tx.asarray(a).at[i], mode)(b), lambda a, b: want, x, v,
                 modes=MODES if mode == "add" else ("eager", "numpy"))
    # traced indices: the same
    oracle.check(lambda a, b, k: getattr(tx.asarray(a).at[k], mode)(b), lambda a, b, k: want,
                 x, v, i, modes=MODES if mode == "set" else ("eager", "numpy"))
    # an int out of range: nothing changes
    oracle.check(lambda a: getattr(tx.asarray(a).at[7, 1], mode)(1.0), lambda a: a, x)
    oracle.check(lambda a: getattr(tx.asarray(a).at[1, -4], mode)(1.0), lambda a: a, x,
                 modes=("eager",))


def test_nan_in_min_and_max_propagates_as_numpy(rng):
    x = np.array([1.0, np.nan, 3.0, -0.0])
    v = np.array([np.nan, 0.0, 2.0, 0.0])
    i = np.array([0, 1, 2, 3])
    for mode in ("min", "max"):
        oracle.check(lambda a, b, m=mode: getattr(tx.asarray(a).at[i], m)(b),
                     lambda a, b, m=mode: reference(a, i, b, m), x, v)


def test_get_is_getitem(rng):
    x = oracle.rand(rng, (4, 5), "int32")
    for key in [(1, slice(None, None, -1)), (np.array([3, 0]), None), (x > 0,), 2]:
        oracle.check(lambda a, k=key: tx.asarray(a).at[k].get(), lambda a, k=key: a[k], x,
                     modes=("eager", "numpy"))


def test_traced_values_and_chained_updates_compile(rng):
    x = oracle.rand(rng, (5, 4), "float32")
    v = oracle.rand(rng, (4,), "float32")

    def f(a, b):
        y = a.at[0].set(b).at[1:3, ::-1].multiply(2.0).at[:, 2].max(0.5)
        return tx.exp(y.at[np.array([4, 4])].add(b)) + 1.0

    def ref(a, b):
        y = a.copy()
        y[0] = b
        y[1:3, ::-1] *= 2
        y[:, 2] = np.maximum(y[:, 2], 0.5)
        y[4] += 2 * b
        return np.exp(y) + 1

    oracle.check(lambda a, b: f(tx.asarray(a), b), ref, x, v, modes=MODES)


def test_values_that_do_not_broadcast_raise_at_the_line():
    x = tx.asarray(np.zeros((3, 4)))
    with pytest.raises(tx.ShapeError, match=rf"\(3,\).*\(3, 2\).*{THIS_FILE}"):
        x.at[:, :2].set(np.ones(3))
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        tx.function(lambda a: a.at[[0, 1]].add(np.ones((3, 4))), backend="numpy")(x)


def _line_of(f) -> str:
    return f"{THIS_FILE}:{inspect.getsourcelines(f)[1] + 1}"


def test_setitem_is_a_type_error_naming_the_line_and_at():
    x = tx.asarray(np.arange(4.0))

    def eager(a):
        a[0] = 5.0

    def traced(a):
        a[1:] = 0.0
        return a

    for fn, arg in ((eager, x), (tx.function(traced, backend="numpy"), np.arange(4.0))):
        with pytest.raises(TypeError) as info:
            fn(arg)
        msg = str(info.value)
        assert "x = x.at[idx].set(v)" in msg and "immutable" in msg, msg
        line = _line_of(eager if fn is eager else traced)
        assert line in msg, msg
    np.testing.assert_array_equal(x.numpy(), np.arange(4.0))


def test_gradients_of_set_and_add_and_none_for_the_others(rng):
    x = oracle.rand(rng, (4, 3), "float64")
    v = oracle.rand(rng, (2, 3), "float64")
    i = np.array([3, 1])

    def f(a, b):
        return tx.sum(a.at[i].set(b) ** 2 + a.at[i].add(b * 3.0))

    ga, gb = tx.grad(f, argnums=(0, 1))(x, v)
    want_a = 2 * x + 1.0
    want_a[i] = 1.0  # overwritten by set: no gradient from that term
    np.testing.assert_allclose(ga.numpy(), want_a, rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), 2 * v + 3.0, rtol=1e-12)
    from tracefuse.transforms.autodiff import NonDifferentiableError

    with pytest.raises(NonDifferentiableError, match=r"scatter.*\.at\[\]\.set"):
        tx.grad(lambda a: tx.sum(a.at[i].multiply(2.0)))(x)


def test_vmap_of_updates_matches_a_loop(rng):
    x = oracle.rand(rng, (3, 4, 5), "float64")
    i = rng.integers(-4, 4, (3, 2))
    v = oracle.rand(rng, (3, 2, 5), "float64")
    got = tx.vmap(lambda a, k, b: a.at[k].add(b))(x, i, v).numpy()
    np.testing.assert_allclose(got, np.stack([reference(x[n], i[n], v[n], "add")
                                              for n in range(3)]))
    j, w = np.array([4, 0]), oracle.rand(rng, (4, 2, 2), "float64")
    got = tx.vmap(lambda a, b: a.at[1:, j].set(b), in_axes=(1, 0))(x, w).numpy()
    np.testing.assert_allclose(got, np.stack([reference(x[:, n], (slice(1, None), j), w[n],
                                                        "set") for n in range(4)]))
