"""Basic indexing `x[key]` against NumPy's result for the same key, eagerly and under
@tx.function (the key is static Python): ints, slices with any step (negative steps reaching
index 0), empty slices, None, Ellipsis anywhere, mixed keys, 0-d results, errors with the user's
line, invalid keys refused with a clear IndexError (index arrays and masks work: more in
test_indexing_arrays.py), immutability, iteration and len()."""

import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
import oracle
from oracle import check_with_types as check
from oracle import ALL_DTYPES, layouts, rand

THIS_FILE = os.path.basename(__file__)


E = Ellipsis

KEYS_1D = [
    0, 3, -1, -10, 9, slice(None), slice(None, None, -1), slice(3, None, -2),
    slice(-1, -10, -3), slice(2, 8, 3), slice(8, 2, -3), slice(None, None, 4), slice(1, -1),
    slice(5, 5), slice(7, 2), slice(2, 7, -1), slice(-100, 100), slice(100, -100, -1),
    slice(-3, None), slice(None, -3), slice(None, None, 100), slice(None, None, -100),
    slice(0, 1, -1), slice(0, None, -1), slice(1, None, -1), slice(9, 0, -1), (), E, None,
    (None, 2), (slice(None, None, -2), None), (E, None), (None, E), (E, 4), (4, E), (None, None),
    (E, -1, None), (None, E, None),
]


@pytest.mark.parametrize("key", KEYS_1D, ids=repr)
def test_1d_keys(key, rng):
    x = rand(rng, (10,), "int32", low=-1000, high=1000)
    for arr in layouts(x):
        check(lambda a: tx.asarray(a)[key], lambda a: a[key], arr)


KEYS_3D = [
    0, -1, (1, 2), (1, 2, 3), (-2, -3, -4), (slice(None), 1), (E, 1), (1, E), (1, E, 2),
    (E, None), (None, E), (1, E, None, slice(None, None, -2)), (None, 1, None, E, None),
    (slice(None, None, -1), slice(None, None, -1), slice(None, None, -1)),
    (slice(1, None, 2), E, slice(None, 1)), (slice(0, 0), 1), (E, slice(3, 1)), (None,) * 3,
    (0, 0, 0, None), (slice(-1, -10, -3), slice(3, None, -2), slice(None, None, -3)),
    (slice(None), None, slice(None), None), (E, slice(-2, None), 0), (1, slice(None), E),
    (E, 2, slice(None), None), (slice(2, 0, -1), E), (2, 0, E), (E, 2, 0, 1),
    (slice(None, None, 5), slice(None, None, 2), -5),
]


@pytest.mark.parametrize("key", KEYS_3D, ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "bool", "uint16"])
def test_3d_keys(key, dtype, rng):
    x = rand(rng, (3, 4, 5), dtype)
    view = np.ascontiguousarray(x.transpose(2, 0, 1)).transpose(1, 2, 0)  # permuted strides
    for arr in layouts(x) + [view]:
        check(lambda a: tx.asarray(a)[key], lambda a: a[key], arr)


def test_the_mixed_key_from_the_docs(rng):
    x = rand(rng, (4, 3, 6), "float64")
    key = (1, E, None, slice(None, None, -2))
    check(lambda a: tx.asarray(a)[1, ..., None, ::-2], lambda a: a[1, ..., None, ::-2], x)
    assert tx.asarray(x)[key].shape == x[key].shape == (3, 1, 3)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_0d_results_and_0d_inputs(dtype, rng):
    x = rand(rng, (2, 3), dtype)
    for key in [(0, 0), (-1, -1), (1, 2), (1, -3)]:
        check(lambda a: tx.asarray(a)[key], lambda a: a[key], x)
        assert tx.asarray(x)[key].shape == ()
    s = rand(rng, (), dtype)
    for key in [(), E, None, (None, None), (E, None), (None, E)]:
        check(lambda a: tx.asarray(a)[key], lambda a: a[key], s)
    t = tx.asarray(x)[1, 2]
    assert t.item() == x[1, 2]


@pytest.mark.parametrize("shape,key", [
    ((0,), slice(None)), ((0,), slice(None, None, -1)), ((0,), None), ((0, 3), (E, 1)),
    ((3, 0), (1, E)), ((3, 0), (slice(None, None, -1), slice(2, 5))), ((2, 5), slice(2, 1)),
    ((2, 5), (slice(None), slice(5, None))), ((2, 5), (slice(None), slice(0, 0, -1))),
    ((4,), slice(-5, -4)), ((4,), slice(0, 0, -1)),
], ids=str)
def test_empty_slices(shape, key, rng):
    x = rand(rng, shape, "float32")
    check(lambda a: tx.asarray(a)[key], lambda a: a[key], x)
    assert tx.asarray(x)[key].size == 0 == x[key].size


@pytest.mark.parametrize("n", [1, 7, 31, 33, 1000])
def test_negative_steps_on_odd_sizes(n, rng):
    x = rand(rng, (n,), "float64")
    for step in (-1, -2, -3, -7, -32):
        for start in (None, 0, n - 1, n // 2, -1):
            key = slice(start, None, step)
            check(lambda a: tx.asarray(a)[key], lambda a: a[key], x)


@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_out_of_bounds_int_is_an_index_error_at_the_users_line(mode):
    x = np.arange(12.0).reshape(3, 4)
    for key in [3, -4, (0, 4), (0, -5), (E, 4), (10, E), (2, 3, 0)]:
        def f(a):
            return tx.asarray(a)[key]  # the line the error must name
        line = inspect.getsourcelines(f)[1] + 1
        with pytest.raises(IndexError):
            x[key]  # NumPy refuses too
        g = f if mode == "eager" else tx.function(f, backend=mode)
        with pytest.raises(IndexError) as info:
            g(x)
        assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)
    with pytest.raises(IndexError, match=THIS_FILE):
        tx.asarray(np.float32(1))[0]
    with pytest.raises(IndexError, match="ellipsis"):
        tx.asarray(x)[..., 0, ...]


def test_index_error_messages_say_what_is_wrong():
    x = tx.asarray(np.arange(12).reshape(3, 4))
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for axis 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match=r"index -5 is out of bounds for axis 1 with size 4"):
        x[:, -5]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]


INVALID_KEYS = [1.0, (0, 1.5), "a", (slice(None), 2.0)]


@pytest.mark.parametrize("key", INVALID_KEYS, ids=repr)
@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_invalid_keys_are_a_clear_index_error(key, mode):
    x = np.arange(12.0).reshape(3, 4)

    def f(a):
        return tx.asarray(a)[key]
    line = inspect.getsourcelines(f)[1] + 1
    g = f if mode == "eager" else tx.function(f, backend=mode)
    with pytest.raises(IndexError) as info:
        g(x)
    msg = str(info.value)
    assert "not supported" in msg and "tx.where" in msg, msg
    assert f"{THIS_FILE}:{line}" in msg, msg


ADVANCED_KEYS = [
    [0, 1], ([0, 2],), (slice(None), [1, 2]), np.array([0, 1]), np.array([True, False, True]),
    (np.array([True, False, True]), 0), (0, [True, False, True, False]), (np.array([[0]]),),
    True, False, (0, True),
]


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=repr)
def test_advanced_keys_work_as_in_numpy(key, rng):
    """Index arrays and masks (tests/api/test_indexing_arrays.py has the rest)."""
    x = rand(rng, (3, 4), "float64")
    check(lambda a: tx.asarray(a)[key], lambda a: a[key], x)


def test_a_traced_mask_is_a_concretization_error_eager_tensors_work():
    x = tx.asarray(np.arange(6.0))
    np.testing.assert_array_equal(x[x > 2].numpy(), [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(x[tx.asarray([0, 1])].numpy(), [0.0, 1.0])

    @tx.function(backend="numpy")
    def f(a):
        return a[a > 2]  # a traced mask

    with pytest.raises(tx.ConcretizationError) as info:
        f(np.arange(6.0))
    assert THIS_FILE in str(info.value) and "tx.where" in str(info.value)


def test_0d_integer_index_values_work_like_ints(rng):
    x = rand(rng, (5, 4), "float32")
    for key in (np.int64(2), np.int8(-1), np.array(3), tx.asarray(1), (np.uint8(4), np.int32(-2))):
        expected = x[tuple(np.asarray(k).item() for k in key) if isinstance(key, tuple)
                     else np.asarray(key).item()]
        got = tx.asarray(x)[key]
        np.testing.assert_array_equal(got.numpy(), expected)
        assert got.shape == expected.shape


def test_setitem_raises_type_error_tensors_are_immutable():
    x = tx.asarray(np.arange(4.0))
    with pytest.raises(TypeError, match="immutable"):
        x[0] = 5.0
    with pytest.raises(TypeError, match="immutable"):
        x[1:3] = tx.zeros(2)
    np.testing.assert_array_equal(x.numpy(), [0, 1, 2, 3])

    @tx.function(backend="numpy")
    def f(a):
        a[0] = 1.0
        return a

    with pytest.raises(TypeError, match="immutable"):
        f(np.arange(4.0))


def test_iteration_and_len(rng):
    x = rand(rng, (4, 3), "int16")
    t = tx.asarray(x)
    assert len(t) == 4
    rows = list(t)
    assert len(rows) == 4
    for row, expected in zip(rows, x):
        assert isinstance(row, tx.Tensor) and row.shape == (3,) and row.dtype == tx.int16
        np.testing.assert_array_equal(row.numpy(), expected)
    assert [r.item() for r in tx.asarray(np.arange(3))] == [0, 1, 2]
    assert list(tx.asarray(np.zeros((0, 2)))) == [] and len(tx.zeros((0, 2))) == 0
    s = tx.asarray(np.float32(1.0))
    with pytest.raises(TypeError):
        len(s)
    with pytest.raises(TypeError):
        iter(s)

    @tx.function(backend="numpy")
    def f(a):
        assert len(a) == 4
        total = tx.zeros((3,), dtype=tx.int64)
        for row in a:
            total = total + row * 2
        return tx.stack([r for r in a][::-1]), total

    check(lambda a: f(a), lambda a: (a[::-1], (a.astype(np.int64) * 2).sum(0)), x,
          modes=("eager",))


def test_indexing_composes_under_function(rng):
    x = rand(rng, (6, 7, 8), "float32")

    def g(a):
        return a[::-1, 1:][2, ..., ::-3][None] * 2 + a[0, :3, :6].T + a[E, 0][:, 4:1:-1]

    check(lambda a: g(tx.asarray(a)), g, x)
    f = tx.function(lambda a: a[1, ::-1], backend="numpy")
    f(x)
    f(x + 1)
    assert f.trace_count == 1
    cf = f.get_concrete_function(x)
    ir = cf.ir("traced")
    assert "slice" in ir and "reshape" in ir
