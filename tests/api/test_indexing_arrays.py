"""Integer-array and boolean-mask `x[key]` (NumPy's advanced indexing) and `tx.take` against
NumPy: eager and compiled on every backend under test, cpu too; static keys (NumPy arrays,
lists, masks, bools) and traced index arrays (function arguments); mixed with slices, ints,
None and Ellipsis, adjacent or not (where the index axes go); negative, empty and 0-d
indices; out-of-range indices raise IndexError naming the user's line; a traced mask raises
ConcretizationError with the hint tx.where."""

import inspect
import os

import numpy as np
import oracle
import pytest

import tracefuse as tx

MODES = oracle.MODES + (() if "cpu" in oracle.MODES else ("cpu",))
THIS_FILE = os.path.basename(__file__)
E = Ellipsis
I3 = np.array([2, 0, -1, 2])  # repeats, a negative index
I2 = np.array([[1, -2], [0, 1]])

# (shape of x, key): static keys, compared on every mode
STATIC_KEYS = [
    ((5,), I3), ((5,), [4, 0, 0]), ((5,), []), ((5,), np.array(3)), ((3, 4), (I3[:3], 1)),
    ((3, 4), (slice(None), I3)), ((3, 4), (I2, slice(1, None))), ((3, 4), (I2, I2)),
    ((2, 3, 4), (0, slice(None), I3)),  # int and array apart: the index axes go first
    ((2, 3, 4), (slice(None), 1, I3)),  # adjacent: in place
    ((2, 3, 4), (I2, None, I3[:2])),  # None between: first
    ((2, 3, 4), (slice(None), I2, E, I3[:2])),  # Ellipsis between (even adding no axis)
    ((2, 3, 4), (E, [0, 3])), ((2, 3, 4), ([1, 0], E, None)),
    ((2, 3, 4), (slice(None, None, -1), I2, slice(3, 0, -2))),
    ((2, 3, 4), (np.array([1, 0]).reshape(2, 1, 1), np.array([0, 2, 1]).reshape(1, 3, 1),
                 np.array([3, 0]).reshape(1, 1, 2))),  # broadcasting index arrays
    ((4,), np.array([True, False, True, True])), ((3, 4), np.arange(12).reshape(3, 4) % 3 == 0),
    ((3, 4), (slice(1, None), np.array([True, False, True, False]))),
    ((2, 3, 4), (np.array([[True, False, True], [False, False, True]]), slice(None, 2))),
    ((2, 3), True), ((2, 3), (slice(None), False)), ((2, 3), (I2[0], True)),
    ((2, 3), np.array(True)), ((3,), np.zeros(3, bool)), ((0, 3), (slice(None), [2, 0])),
    ((0, 3), np.zeros((0, 3), bool)), ((3, 0), [2, -3]),
]


@pytest.mark.parametrize("shape, key", STATIC_KEYS, ids=[repr(k)[:60] for _, k in STATIC_KEYS])
def test_static_advanced_keys_match_numpy(shape, key, rng):
    x = oracle.rand(rng, shape, "float32")
    oracle.check_with_types(lambda a: tx.asarray(a)[key], lambda a: a[key], x, modes=MODES)


@pytest.mark.parametrize("dtype", oracle.ALL_DTYPES)
def test_every_dtype(dtype, rng):
    x = oracle.rand(rng, (4, 3), dtype)
    oracle.check(lambda a: tx.asarray(a)[I3[:3], ::-1], lambda a: a[I3[:3], ::-1], x)
    oracle.check(lambda a: tx.asarray(a)[a > a[0, 0]] if dtype != "bool" else tx.asarray(a)[a],
                 lambda a: a[a > a[0, 0]] if dtype != "bool" else a[a], x, modes=("eager",))


@pytest.mark.parametrize("idx_dtype", ["int8", "uint8", "int32", "uint64", "int64"])
def test_traced_index_arrays_of_every_integer_dtype(idx_dtype, rng):
    x = oracle.rand(rng, (5, 3), "float64")
    i = np.array([4, 0, 1, 1], idx_dtype)
    if idx_dtype.startswith("int"):
        i[1] = -5  # negative: from the end
    j = np.array([[2], [0]], idx_dtype)
    oracle.check(lambda a, k: tx.asarray(a)[k], lambda a, k: a[k], x, i, modes=MODES)
    oracle.check(lambda a, k, m: tx.asarray(a)[k, m], lambda a, k, m: a[k, m], x, i, j,
                 modes=MODES)
    oracle.check(lambda a, k: tx.asarray(a)[None, 1:, k[0]], lambda a, k: a[None, 1:, k[0]],
                 x, j)


def test_a_traced_0d_index_is_a_dynamic_gather(rng):
    x = oracle.rand(rng, (5, 3), "float32")
    f = tx.function(lambda a, i: a[i] * 2.0, backend="numpy")
    for i in (0, 4, -1):
        oracle.assert_same(f(x, np.int64(i)), x[i] * 2)
    assert f.trace_count == 1


def test_gathers_fuse_with_the_elementwise_work_around_them(rng):
    x = oracle.rand(rng, (6, 5), "float64")
    f = tx.function(lambda a, i: tx.exp(a[i] + 1.0) * 2.0, backend="cpu")
    oracle.assert_same(f(x, I3), np.exp(x[I3] + 1.0) * 2.0)
    text = f.get_concrete_function(x, I3).ir()
    assert 'fn="gather"' in text, text
    from tracefuse.ir import parse_graph, print_graph

    traced = f.get_concrete_function(x, I3).ir("traced")
    assert print_graph(parse_graph(traced)) == traced


def _line_of(f) -> str:
    return f"{THIS_FILE}:{inspect.getsourcelines(f)[1] + 1}"


@pytest.mark.parametrize("key", [np.array([0, 3]), ([1, -4],), (slice(None), [4]),
                                 (np.array([0]), -5), ([[0, 1]], [0, 4])], ids=repr)
@pytest.mark.parametrize("mode", ["eager", "numpy", "gpu-sim"])
def test_static_out_of_range_raises_at_the_users_line(key, mode):
    x = np.arange(12.0).reshape(3, 4)
    with pytest.raises(IndexError):
        x[key]  # NumPy too

    def f(a):
        return tx.asarray(a)[key]

    g = f if mode == "eager" else tx.function(f, backend=mode)
    with pytest.raises(IndexError, match="out of bounds") as info:
        g(x)
    assert _line_of(f) in str(info.value), str(info.value)


@pytest.mark.parametrize("mode", ["eager", "numpy", "cpu"])
def test_traced_out_of_range_raises_when_it_runs(mode):
    x = np.arange(12.0).reshape(3, 4)

    def f(a, i):
        return tx.asarray(a)[i]

    g = f if mode == "eager" else tx.function(f, backend=mode)
    np.testing.assert_array_equal(g(x, np.array([2, -3])).numpy(), x[[2, -3]])
    for bad in (np.array([0, 3]), np.array([-4])):
        with pytest.raises(IndexError, match="out of bounds"):
            g(x, bad)


def test_a_traced_mask_is_a_concretization_error_naming_the_line():
    def f(a):
        return a[a > 2.0]

    with pytest.raises(tx.ConcretizationError) as info:
        tx.function(f, backend="numpy")(np.arange(6.0))
    msg = str(info.value)
    assert _line_of(f) in msg and "tx.where" in msg and "size=" in msg, msg
    # the same function eagerly, and a static NumPy mask inside a trace, work
    np.testing.assert_array_equal(f(tx.asarray(np.arange(6.0))).numpy(), [3.0, 4.0, 5.0])
    mask = np.array([True, False, True, False, False, True])
    g = tx.function(lambda a: a[mask] * 2.0, backend="numpy")
    np.testing.assert_array_equal(g(np.arange(6.0)).numpy(), [0.0, 4.0, 10.0])


def test_tensor_keys_work_eagerly(rng):
    x = oracle.rand(rng, (4, 3), "float32")
    t = tx.asarray(x)
    np.testing.assert_array_equal(t[t > 0].numpy(), x[x > 0])
    np.testing.assert_array_equal(t[tx.asarray([3, 0])].numpy(), x[[3, 0]])
    np.testing.assert_array_equal(t[:, tx.argsort(t[0])].numpy(), x[:, np.argsort(x[0])])


@pytest.mark.parametrize("key", [1.0, (0, 1.5), "a", np.array([0.5]), [0.0, 1.0],
                                 (np.array([True, False]),)], ids=repr)
def test_invalid_keys_are_index_errors(key):
    x = tx.asarray(np.arange(12.0).reshape(3, 4))
    with pytest.raises(IndexError) as info:
        x[key]
    assert THIS_FILE in str(info.value)


def test_mask_shape_mismatch_names_both_shapes():
    x = tx.asarray(np.arange(12.0).reshape(3, 4))
    with pytest.raises(IndexError, match=r"\(4,\).*\(3,\)"):
        x[np.ones(4, bool)]
    with pytest.raises(IndexError, match="too many indices"):
        x[np.ones((3, 4), bool), 0]


# --- take ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["bool", "int16", "uint32", "float32", "float64"])
@pytest.mark.parametrize("shape, axis, idx", [
    ((7,), None, np.array([6, 0, -1, 3, 3])), ((7,), 0, np.array([], np.int64)),
    ((3, 5), 1, np.array([4, -5, 2])), ((3, 5), -2, np.array([2, 2])), ((3, 5), 0, np.array(1)),
    ((2, 3, 4), 2, np.array([[0, 3], [1, 2]])), ((3, 5), None, np.array([14, -15])),
    ((4, 0), 0, np.array([3, 1])),
])
def test_take_matches_numpy(dtype, shape, axis, idx, rng):
    x = oracle.rand(rng, shape, dtype)
    oracle.check_with_types(lambda a: tx.take(a, idx, axis=axis),
                            lambda a: np.take(a, idx, axis=axis), x, modes=MODES)
    oracle.check(lambda a, i: tx.take(a, i, axis=axis), lambda a, i: np.take(a, i, axis=axis),
                 x, idx)


def test_take_errors_name_the_line():
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError, match=rf"out of bounds.*{THIS_FILE}"):
        tx.take(x, [3], axis=1)
    with pytest.raises(IndexError, match=rf"axis 2 is out of range.*{THIS_FILE}"):
        tx.take(x, [0], axis=2)
    with pytest.raises(tx.DTypeError, match=rf"integer.*{THIS_FILE}"):
        tx.take(x, np.array([0.5]), axis=1)
    with pytest.raises(IndexError, match="out of bounds"):
        tx.function(lambda a, i: tx.take(a, i, axis=0), backend="cpu")(x, np.array([0, -3]))


def test_take_of_a_0d_array_flattens_it_as_numpy(rng):
    x = oracle.rand(rng, (), "float32")
    oracle.check(lambda a: tx.take(a, np.array([0, -1, 0])),
                 lambda a: np.take(a, np.array([0, -1, 0])), x, modes=MODES)
    oracle.check(lambda a: tx.take(a, 0), lambda a: np.take(a, 0), x)
    with pytest.raises(IndexError, match="axis 0 is out of range"):
        tx.take(x, [0], axis=0)
