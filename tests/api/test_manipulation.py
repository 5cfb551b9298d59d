"""Shape manipulation against NumPy, eagerly and compiled: reshape (incl. -1), permute_dims,
expand_dims, squeeze, broadcast_to, broadcast_arrays, concat (incl. axis=None and dtype
promotion), stack, flip, moveaxis, swapaxes, matrix_transpose, the Tensor methods .T .mT
.reshape .transpose .flatten .squeeze .astype, and the errors (tx.ShapeError at the user's line)."""

import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
import oracle
from oracle import check_with_types as check
from oracle import ALL_DTYPES, layouts, rand

THIS_FILE = os.path.basename(__file__)


def assert_error_at_line(exc, call, match=None):
    """`call` (a lambda on one line of this file) raises `exc` naming that line."""
    line = inspect.getsourcelines(call)[1]
    with pytest.raises(exc, match=match) as info:
        call()
    assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)
    return info


def compiled(fn):
    return tx.function(fn, backend="numpy")


# --- reshape -------------------------------------------------------------------------------------
RESHAPES = [
    ((), (1,)), ((), ()), ((), (1, 1)), ((1,), ()), ((6,), (2, 3)), ((6,), (-1,)), ((6,), (3, -1)),
    ((2, 3), (-1,)), ((2, 3), (3, 2)), ((2, 3), (1, -1, 1)), ((2, 3, 4), (4, -1)),
    ((2, 3, 4), (24,)), ((2, 3, 4), (2, 12)), ((0,), (0, 5)), ((0, 3), (-1, 3)), ((3, 0), (0,)),
    ((0, 3), (3, 0)), ((7,), (7, 1)), ((33,), (-1, 11)), ((1000,), (10, 10, -1)), ((2, 3), 6),
    ((2, 3), -1),
]


@pytest.mark.parametrize("src,dst", RESHAPES, ids=str)
def test_reshape(src, dst, rng):
    x = rand(rng, src, "float32")
    for arr in layouts(x):
        check(lambda a: tx.reshape(a, dst), lambda a: np.reshape(a, dst), arr)
    check(lambda a: tx.reshape(a * 2, dst) + 1, lambda a: np.reshape(a * 2, dst) + 1, x)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_reshape_keeps_dtype(dtype, rng):
    x = rand(rng, (4, 6), dtype)
    check(lambda a: tx.reshape(a, (2, -1, 3)), lambda a: np.reshape(a, (2, -1, 3)), x)
    check(lambda a: tx.reshape(a.T, (-1,)), lambda a: np.reshape(a.T, (-1,)), x)


def test_reshape_takes_numpy_integer_sizes(rng):
    x = rand(rng, (2, 6), "float32")
    for dst in (np.int64(12), (np.int64(3), np.int32(-1)), [np.uint8(4), 3], tx.asarray(12)):
        expected = np.reshape(x, np.asarray(dst).tolist())
        check(lambda a: tx.reshape(a, dst), lambda a: expected, x)
        check(lambda a: tx.asarray(a).reshape(dst), lambda a: expected, x)
    check(lambda a: tx.asarray(a).reshape(np.int64(3), 4), lambda a: a.reshape(3, 4), x)


@pytest.mark.parametrize("src,dst", [
    ((6,), (4,)), ((2, 3), (5, -1)), ((2, 3), (-1, -1)), ((0, 3), (0, -1)), ((6,), (-2, -3)),
    ((2, 3), (7,)), ((6,), (-1, 4)),
], ids=str)
@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_impossible_reshape_is_a_shape_error_with_the_users_line(src, dst, mode):
    x = np.ones(src)
    with pytest.raises(ValueError):
        np.reshape(x, dst)  # NumPy refuses it too

    def f(a):
        return tx.reshape(a, dst)
    line = inspect.getsourcelines(f)[1] + 1
    g = f if mode == "eager" else compiled(f)
    with pytest.raises(tx.ShapeError) as info:
        g(x)
    assert isinstance(info.value, ValueError)
    assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)


# --- permute_dims, moveaxis, swapaxes, matrix_transpose ------------------------------------------
@pytest.mark.parametrize("shape,axes", [
    ((), ()), ((5,), (0,)), ((2, 3), (1, 0)), ((2, 3), (0, 1)), ((2, 3, 4), (2, 0, 1)),
    ((2, 3, 4), (-1, 0, -2)), ((1, 7, 1, 3), (3, 1, 2, 0)), ((2, 0, 3), (2, 1, 0)),
], ids=str)
def test_permute_dims(shape, axes, rng):
    x = rand(rng, shape, "int16")
    for arr in layouts(x):
        check(lambda a: tx.permute_dims(a, axes), lambda a: np.transpose(a, axes), arr)


@pytest.mark.parametrize("axes", [(0, 1), (0, 0, 1), (0, 1, 3), (0, 1, 2, 3)], ids=str)
def test_permute_dims_bad_axes(axes):
    x = np.ones((2, 3, 4))
    assert_error_at_line(tx.ShapeError, lambda: tx.permute_dims(x, axes))
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        compiled(lambda a: tx.permute_dims(a, axes))(x)


@pytest.mark.parametrize("src,dst", [
    (0, -1), (-1, 0), (1, 2), ((0, 1), (-1, -2)), ((0, 2), (1, 0)), ([2, 0], [0, 1]), (3, 3),
], ids=str)
def test_moveaxis(src, dst, rng):
    x = rand(rng, (2, 3, 4, 5), "float64")
    check(lambda a: tx.moveaxis(a, src, dst), lambda a: np.moveaxis(a, src, dst), x)


@pytest.mark.parametrize("a1,a2", [(0, 1), (1, 0), (0, -1), (-1, -2), (2, 2)], ids=str)
def test_swapaxes(a1, a2, rng):
    x = rand(rng, (2, 3, 4), "uint8")
    check(lambda a: tx.swapaxes(a, a1, a2), lambda a: np.swapaxes(a, a1, a2), x)


@pytest.mark.parametrize("shape", [(2, 3), (1, 1), (4, 2, 3), (2, 1, 0, 5)], ids=str)
def test_matrix_transpose_and_mT(shape, rng):
    x = rand(rng, shape, "float32")
    for arr in layouts(x):
        check(lambda a: tx.matrix_transpose(a), lambda a: np.matrix_transpose(a), arr)
        check(lambda a: tx.asarray(a).mT, lambda a: a.mT, arr)


def test_axis_errors_name_the_users_line():
    x = np.ones((2, 3))
    assert_error_at_line(tx.ShapeError, lambda: tx.matrix_transpose(np.ones(3)))
    assert_error_at_line(tx.ShapeError, lambda: tx.moveaxis(x, 2, 0))
    assert_error_at_line(tx.ShapeError, lambda: tx.swapaxes(x, 0, -3))
    assert_error_at_line(tx.ShapeError, lambda: tx.expand_dims(x, 4))
    assert_error_at_line(tx.ShapeError, lambda: tx.expand_dims(x, -4))
    assert_error_at_line(tx.ShapeError, lambda: tx.squeeze(x, 2))
    assert_error_at_line(tx.ShapeError, lambda: tx.flip(x, axis=2))
    assert_error_at_line(tx.ShapeError, lambda: tx.flip(x, axis=(0, 0)))
    assert_error_at_line(tx.ShapeError, lambda: tx.concat([x, x], axis=2))
    assert_error_at_line(tx.ShapeError, lambda: tx.stack([x, x], axis=3))
    assert_error_at_line(tx.ShapeError, lambda: tx.stack([x, x], axis=-4))


# --- expand_dims, squeeze ------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [
    ((), 0), ((), -1), ((3,), 0), ((3,), 1), ((3,), -1), ((3,), -2), ((2, 3), 1), ((2, 3), -1),
    ((2, 3), (0, 3)), ((2, 3), (-1, 0)), ((0, 4), 1),
], ids=str)
def test_expand_dims(shape, axis, rng):
    x = rand(rng, shape, "float64")
    check(lambda a: tx.expand_dims(a, axis=axis), lambda a: np.expand_dims(a, axis), x)


@pytest.mark.parametrize("shape,axis", [
    ((1,), None), ((1,), 0), ((1,), -1), ((), None), ((), ()), ((3, 1, 4), 1), ((3, 1, 4), -2),
    ((1, 3, 1), None), ((1, 3, 1), (0, 2)), ((1, 3, 1), (-1,)), ((1, 1), (0, 1)), ((0, 1), 1),
    ((2, 3), None), ((2, 3), ()),
], ids=str)
def test_squeeze(shape, axis, rng):
    x = rand(rng, shape, "int32")
    check(lambda a: tx.squeeze(a, axis), lambda a: np.squeeze(a, axis), x)
    check(lambda a: tx.asarray(a).squeeze(axis), lambda a: np.squeeze(a, axis), x)


@pytest.mark.parametrize("shape,axis", [((3, 1, 4), 0), ((3, 1, 4), (1, 2)), ((2,), -1),
                                        ((0, 1), 0)], ids=str)
@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_squeeze_of_an_axis_not_of_size_one_is_an_error(shape, axis, mode):
    x = np.ones(shape)
    with pytest.raises(ValueError):
        np.squeeze(x, axis)

    def f(a):
        return tx.squeeze(a, axis)
    line = inspect.getsourcelines(f)[1] + 1
    with pytest.raises(tx.ShapeError, match="squeeze") as info:
        (f if mode == "eager" else compiled(f))(x)
    assert f"{THIS_FILE}:{line}" in str(info.value)


# --- broadcast_to, broadcast_arrays ------------------------------------------------------------
@pytest.mark.parametrize("shape,target", [
    ((), ()), ((), (3,)), ((), (2, 0)), ((1,), (5,)), ((3,), (4, 3)), ((3, 1), (3, 4)),
    ((1, 1), (2, 7, 5)), ((2, 1, 3), (4, 2, 5, 3)), ((0,), (3, 0)), ((1,), (0,)), ((7,), (7,)),
], ids=str)
def test_broadcast_to(shape, target, rng):
    x = rand(rng, shape, "float32")
    for arr in layouts(x):
        check(lambda a: tx.broadcast_to(a, target), lambda a: np.broadcast_to(a, target), arr)
    check(lambda a: tx.broadcast_to(a, target) * 2, lambda a: np.broadcast_to(a, target) * 2, x)


@pytest.mark.parametrize("shape,target", [
    ((3,), (4,)), ((2, 3), (3,)), ((2, 3), (2, 3, 1)), ((3,), ()), ((2,), (0,)), ((1,), (-1,)),
    ((1,), (2, -3)),
], ids=str)
@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_broadcast_to_errors(shape, target, mode):
    x = np.ones(shape)
    with pytest.raises(ValueError):
        np.broadcast_to(x, target)

    def f(a):
        return tx.broadcast_to(a, target)
    line = inspect.getsourcelines(f)[1] + 1
    with pytest.raises(tx.ShapeError) as info:
        (f if mode == "eager" else compiled(f))(x)
    assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)


@pytest.mark.parametrize("shapes", [
    [(3,), (2, 3)], [(), (2, 2)], [(4, 1), (1, 5), (5,)], [(2, 0), (1,)], [(7,)],
], ids=str)
def test_broadcast_arrays(shapes, rng):
    xs = [rand(rng, s, d) for s, d in zip(shapes, ["int8", "float32", "bool"])]
    check(lambda *a: tx.broadcast_arrays(*a), lambda *a: np.broadcast_arrays(*a), *xs)


def test_broadcast_arrays_error():
    assert_error_at_line(tx.ShapeError, lambda: tx.broadcast_arrays(np.ones(3), np.ones((2, 4))))
    info = assert_error_at_line(tx.ShapeError,
                                lambda: tx.broadcast_arrays(np.ones(3), np.ones((2, 4))))
    assert "(3,)" in str(info.value) and "(2, 4)" in str(info.value)


# --- concat, stack ------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,axis", [
    ([(3,), (4,)], 0), ([(3,), (4,)], -1), ([(2, 3), (5, 3)], 0), ([(2, 3), (2, 1)], 1),
    ([(2, 3), (2, 4), (2, 0)], -1), ([(0, 3), (0, 3)], 0), ([(7,)], 0), ([(2, 3, 4)] * 3, 1),
    ([(2, 3), (4,), ()], None), ([(), ()], None), ([(3, 1), (2, 2)], None), ([(33,), (1,)], 0),
], ids=str)
def test_concat(shapes, axis, rng):
    xs = [rand(rng, s, "int32") for s in shapes]
    check(lambda *a: tx.concat(list(a), axis=axis),
          lambda *a: np.concatenate(a, axis=axis), *xs)
    # tuple argument, non-contiguous parts
    views = [layouts(x)[-1] for x in xs]
    check(lambda *a: tx.concat(a, axis=axis), lambda *a: np.concatenate(a, axis=axis), *views)


@pytest.mark.parametrize("dtypes", [
    ("int8", "float32"), ("float32", "int8"), ("int8", "uint8"), ("bool", "int16"),
    ("uint32", "int32"), ("float32", "float64"), ("int8", "float32", "uint16"), ("bool", "bool"),
    ("uint64", "int64"),
], ids=str)
@pytest.mark.parametrize("axis", [0, None])
def test_concat_promotes_dtypes_like_numpy(dtypes, axis, rng):
    xs = [rand(rng, (2, 3), d) for d in dtypes]
    check(lambda *a: tx.concat(list(a), axis=axis),
          lambda *a: np.concatenate(a, axis=axis), *xs)
    assert tx.concat([np.ones(2, np.int8), np.ones(2, np.float32)]).dtype == tx.float32


def test_concat_errors():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    info = assert_error_at_line(tx.ShapeError, lambda: tx.concat([a, b], axis=0))
    assert "(2, 3)" in str(info.value) and "(3, 4)" in str(info.value)
    assert_error_at_line(tx.ShapeError, lambda: tx.concat([a, np.ones(3)]))
    assert_error_at_line(tx.ShapeError, lambda: tx.concat([]))
    assert_error_at_line(tx.ShapeError, lambda: tx.concat([np.ones(()), np.ones(())]))
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        compiled(lambda x, y: tx.concat([x, y], axis=1))(a, b)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)], ids=str)
@pytest.mark.parametrize("n", [1, 3])
def test_stack_on_every_new_axis(shape, n, rng):
    xs = [rand(rng, shape, "float64") for _ in range(n)]
    for axis in range(-len(shape) - 1, len(shape) + 1):
        check(lambda *a: tx.stack(list(a), axis=axis), lambda *a: np.stack(a, axis=axis), *xs)


def test_stack_promotes_and_rejects_mismatched_shapes(rng):
    xs = [rand(rng, (4,), "int8"), rand(rng, (4,), "float32"), rand(rng, (4,), "bool")]
    check(lambda *a: tx.stack(a, axis=-1), lambda *a: np.stack(a, axis=-1), *xs)
    info = assert_error_at_line(tx.ShapeError, lambda: tx.stack([np.ones(3), np.ones(4)]))
    assert "(3,)" in str(info.value) and "(4,)" in str(info.value)
    assert_error_at_line(tx.ShapeError, lambda: tx.stack([]))


# --- flip --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,axis", [
    ((), None), ((), ()), ((7,), None), ((7,), 0), ((7,), -1), ((1,), 0), ((0,), None), ((0,), 0),
    ((3, 4), None), ((3, 4), 0), ((3, 4), 1), ((3, 4), -2), ((3, 4), (0, 1)), ((3, 4), ()),
    ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 1)), ((3, 0, 2), None), ((3, 0, 2), (0, 1)),
    ((3, 0, 2), 2), ((33,), None),
], ids=str)
def test_flip(shape, axis, rng):
    x = rand(rng, shape, "int64", low=-1000, high=1000)
    for arr in layouts(x):
        check(lambda a: tx.flip(a, axis=axis), lambda a: np.flip(a, axis=axis), arr)
    # flipping twice is the identity, also after fusion with arithmetic
    check(lambda a: tx.flip(tx.flip(a, axis=axis) + 1, axis=axis),
          lambda a: a + 1, x)


# --- Tensor methods -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (1, 0, 2)], ids=str)
def test_tensor_T_mT_transpose_flatten_methods(shape, rng):
    x = rand(rng, shape, "float32")
    # tx.asarray makes a Tensor eagerly and returns the Tracer itself under @tx.function
    check(lambda a: tx.asarray(a).T, lambda a: a.T, x)
    check(lambda a: tx.asarray(a).flatten(), lambda a: a.flatten(), x)
    check(lambda a: tx.asarray(a).ravel(), lambda a: a.ravel(), x)
    check(lambda a: tx.asarray(a).transpose(), lambda a: a.transpose(), x)
    if len(shape) >= 2:
        check(lambda a: tx.asarray(a).mT, lambda a: a.mT, x)
        perm = tuple(range(len(shape)))[::-1][1:] + (len(shape) - 1,)
        check(lambda a: tx.asarray(a).transpose(*perm), lambda a: a.transpose(*perm), x)
        check(lambda a: tx.asarray(a).transpose(perm), lambda a: a.transpose(perm), x)
    else:
        with pytest.raises(tx.ShapeError, match=THIS_FILE):
            tx.asarray(x).mT


def test_tensor_reshape_squeeze_astype_methods(rng):
    x = rand(rng, (2, 1, 6), "float32")
    t = tx.asarray(x)
    cases = [
        (t.reshape(3, 4), x.reshape(3, 4)), (t.reshape((4, 3)), x.reshape((4, 3))),
        (t.reshape(-1), x.reshape(-1)), (t.reshape([2, -1]), x.reshape([2, -1])),
        (t.squeeze(), x.squeeze()), (t.squeeze(1), x.squeeze(1)), (t.squeeze(-2), x.squeeze(-2)),
        (t.astype(tx.float64), x.astype(np.float64)), (t.astype("int32"), x.astype(np.int32)),
        (t.astype(tx.int8).astype(tx.bool), x.astype(np.int8).astype(bool)),
        (t.T.reshape(6, 2), x.T.reshape(6, 2)),
    ]
    for got, expected in cases:
        assert isinstance(got, tx.Tensor)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got.numpy(), expected)
    assert t.astype(tx.float32, copy=False) is t

    @tx.function(backend="numpy")
    def f(a):
        return a.reshape(3, 4), a.squeeze(1), a.astype(tx.int16), a.T.flatten(), a.reshape((-1, 2))

    for got, expected in zip(f(x), (x.reshape(3, 4), x.squeeze(1), x.astype(np.int16),
                                    x.T.flatten(), x.reshape((-1, 2)))):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got.numpy(), expected)
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        t.reshape(5, -1)
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        t.squeeze(0)


def test_astype_of_every_dtype_pair(rng):
    for src in ALL_DTYPES:
        x = rand(rng, (7,), src, low=-3, high=100)
        for dst in ALL_DTYPES:
            check(lambda a: tx.asarray(a).astype(dst), lambda a: a.astype(dst), x)
            check(lambda a: tx.astype(a, getattr(tx, dst)), lambda a: a.astype(dst), x)


def test_manipulations_compose_under_function(rng):
    x = rand(rng, (4, 6), "float32")
    y = rand(rng, (6,), "float32")

    def f(a, b, mod):
        if mod is np:
            c = np.concatenate([np.flip(a, 0), np.broadcast_to(b, a.shape)], axis=0)
            return np.moveaxis(np.stack([c, c * 2], axis=-1), -1, 0).reshape(2, -1)[:, ::3]
        c = tx.concat([tx.flip(a, axis=0), tx.broadcast_to(b, a.shape)], axis=0)
        return tx.moveaxis(tx.stack([c, c * 2], axis=-1), -1, 0).reshape(2, -1)[:, ::3]

    check(lambda a, b: f(a, b, tx), lambda a, b: f(a, b, np), x, y)
