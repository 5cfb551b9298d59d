"""matmul, the `@` operator and vecdot against NumPy, eagerly and compiled: 2-D, the 1-D cases,
batched with broadcast batch dimensions, int / float / bool dtypes and mixed promotion, size-0
inner dimensions, non-contiguous operands, and shape errors naming both shapes."""

import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
import oracle
from oracle import check_with_types as check
from oracle import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, layouts, rand

THIS_FILE = os.path.basename(__file__)


SHAPE_PAIRS = [
    ((2, 3), (3, 4)), ((1, 1), (1, 1)), ((7, 31), (31, 33)), ((33, 1), (1, 7)),
    ((3,), (3, 4)), ((2, 3), (3,)), ((5,), (5,)), ((1,), (1,)),
    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (6, 4, 2)), ((4,), (2, 3, 4, 5)), ((2, 3, 4, 5), (5,)), ((3,), (2, 3, 1)),
    ((0, 3), (3, 4)), ((2, 3), (3, 0)), ((0, 3), (3, 0)), ((2, 0, 3), (3, 4)), ((3, 0), (0, 4)),
    ((0,), (0,)), ((0,), (0, 5)), ((2, 2, 0), (2, 0, 3)), ((1, 1000), (1000, 1)),
]


@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS, ids=str)
def test_matmul_shapes(sa, sb, rng):
    a, b = rand(rng, sa, "float64"), rand(rng, sb, "float64")
    check(lambda x, y: tx.matmul(x, y), lambda x, y: np.matmul(x, y), a, b)
    check(lambda x, y: tx.asarray(x) @ y, lambda x, y: x @ y, a, b)


@pytest.mark.parametrize("sa,sb", [((3, 0), (0, 4)), ((0,), (0,)), ((2, 2, 0), (2, 0, 3)),
                                   ((5, 0), (0,))], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int8", "uint16", "bool"])
def test_size_0_inner_dimension_gives_zeros(sa, sb, dtype, rng):
    a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
    check(lambda x, y: tx.matmul(x, y), lambda x, y: np.matmul(x, y), a, b)
    got = tx.matmul(a, b).numpy()
    assert not got.any() and got.shape == np.matmul(a, b).shape


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_matmul_every_dtype(dtype, rng):
    for sa, sb in [((4, 5), (5, 3)), ((5,), (5, 2)), ((2, 6), (6,)), ((7,), (7,)),
                   ((2, 3, 4), (1, 4, 2))]:
        a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
        check(lambda x, y: tx.matmul(x, y), lambda x, y: np.matmul(x, y), a, b)


def test_int_matmul_overflow_wraps_like_numpy(rng):
    a = rand(rng, (4, 8), "int8", low=50, high=127)
    b = rand(rng, (8, 3), "int8", low=50, high=127)
    check(lambda x, y: tx.matmul(x, y), lambda x, y: np.matmul(x, y), a, b)
    assert tx.matmul(a, b).dtype == tx.int8


@pytest.mark.parametrize("da,db", [
    ("int8", "float32"), ("int32", "float32"), ("int64", "float64"), ("uint8", "int8"),
    ("float32", "float64"), ("bool", "int16"), ("uint32", "int64"), ("uint64", "int64"),
    ("int16", "uint16"), ("bool", "float32"),
], ids=str)
def test_mixed_dtypes_promote_like_numpy(da, db, rng):
    for sa, sb in [((3, 4), (4, 2)), ((4,), (4,)), ((2, 3, 4), (4,))]:
        a, b = rand(rng, sa, da), rand(rng, sb, db)
        check(lambda x, y: tx.matmul(x, y), lambda x, y: np.matmul(x, y), a, b)
        if a.ndim == b.ndim == 2:  # the other operand order
            check(lambda x, y: tx.matmul(y.T, x.T), lambda x, y: np.matmul(y.T, x.T), a, b)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_matmul_noncontiguous_operands(dtype, rng):
    a, b = rand(rng, (6, 5), dtype), rand(rng, (5, 7), dtype)
    for x in layouts(a) + [a.T.copy().T, a[::-1, ::-1]]:
        for y in layouts(b) + [b[:, ::-2]]:
            check(lambda p, q: tx.matmul(p, q), lambda p, q: np.matmul(p, q), x, y)


def test_vector_cases_give_numpys_shapes(rng):
    v, m = rand(rng, (3,), "float32"), rand(rng, (3, 3), "float32")
    assert tx.matmul(v, v).shape == ()  # vector . vector -> 0-d
    assert tx.matmul(v, m).shape == (3,) and tx.matmul(m, v).shape == (3,)
    np.testing.assert_allclose(float(tx.matmul(v, v)), float(v @ v), rtol=1e-6)
    check(lambda x: tx.matmul(x, x), lambda x: np.matmul(x, x), v)


@pytest.mark.parametrize("sa,sb", [
    ((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (2,)), ((5,), (4, 5)), ((2, 3, 4), (3, 4, 5)),
    ((2, 3, 4), (3, 5, 6)), ((0, 3), (0, 3)),
], ids=str)
@pytest.mark.parametrize("mode", ["eager", "numpy"])
def test_shape_mismatch_is_a_shape_error_naming_both_shapes(sa, sb, mode):
    a, b = np.ones(sa), np.ones(sb)
    with pytest.raises(ValueError):
        np.matmul(a, b)  # NumPy refuses too

    def f(x, y):
        return tx.matmul(x, y)  # the line the error must name
    line = inspect.getsourcelines(f)[1] + 1
    g = f if mode == "eager" else tx.function(f, backend=mode)
    with pytest.raises(tx.ShapeError) as info:
        g(a, b)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(sa) in msg and str(sb) in msg, msg
    assert f"{THIS_FILE}:{line}" in msg, msg


def test_the_operator_form_errors_name_the_users_line():
    a, b = tx.ones((2, 3)), tx.ones((2, 3))
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(tx.ShapeError) as info:
        a @ b
    assert f"{THIS_FILE}:{line}" in str(info.value)
    assert "(2, 3)" in str(info.value)


def test_0d_operand_is_an_error():
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        tx.matmul(np.float64(2.0), np.ones(3))
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        tx.matmul(np.ones((3, 3)), np.array(1.0))


def test_matmul_operator_variants(rng):
    a, b = rand(rng, (3, 4), "float32"), rand(rng, (4, 2), "float32")
    ta, tb = tx.asarray(a), tx.asarray(b)
    for got in (ta @ tb, ta @ b, a @ tb, tx.matmul(a, b)):
        assert isinstance(got, tx.Tensor) and got.dtype == tx.float32
        np.testing.assert_allclose(got.numpy(), a @ b, rtol=1e-6)

    @tx.function(backend="numpy")
    def f(x, y):
        return x @ y, y.T @ x.T, (x @ y) @ (y.T @ x.T)

    got = f(a, b)
    for g, e in zip(got, (a @ b, b.T @ a.T, (a @ b) @ (b.T @ a.T))):
        assert g.shape == e.shape
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-5)


# --- vecdot ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sa,sb,axis", [
    ((5,), (5,), -1), ((3, 5), (5,), -1), ((3, 5), (3, 5), -1), ((2, 1, 4), (3, 4), -1),
    ((4, 3), (4, 3), -2), ((4, 3), (4, 1), -2), ((2, 4, 3), (4, 3), -2), ((2, 4, 3), (3, 4), 1),
    ((0,), (0,), -1),
    ((2, 0), (2, 0), -1), ((0, 3), (3,), -1), ((33,), (33,), 0), ((1000,), (1000,), -1),
], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_vecdot(sa, sb, axis, dtype, rng):
    a, b = rand(rng, sa, dtype), rand(rng, sb, dtype)
    check(lambda x, y: tx.vecdot(x, y, axis=axis), lambda x, y: np.vecdot(x, y, axis=axis), a, b)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_vecdot_dtype_follows_promotion_like_numpy(dtype, rng):
    a, b = rand(rng, (4, 6), dtype), rand(rng, (6,), dtype)
    check(lambda x, y: tx.vecdot(x, y), lambda x, y: np.vecdot(x, y), a, b)
    assert tx.vecdot(a, b).dtype == np.vecdot(a, b).dtype


@pytest.mark.parametrize("da,db", [("int8", "float32"), ("uint8", "int8"), ("bool", "int32"),
                                   ("float32", "float64")], ids=str)
def test_vecdot_mixed_dtypes(da, db, rng):
    a, b = rand(rng, (3, 7), da), rand(rng, (7,), db)
    check(lambda x, y: tx.vecdot(x, y), lambda x, y: np.vecdot(x, y), a, b)


def test_vecdot_contracted_axes_must_match():
    a, b = np.ones((2, 3)), np.ones((2, 1))
    with pytest.raises(ValueError):
        np.vecdot(a, b)
    for mode in ("eager", "numpy"):
        def f(x, y):
            return tx.vecdot(x, y)
        line = inspect.getsourcelines(f)[1] + 1
        g = f if mode == "eager" else tx.function(f, backend=mode)
        with pytest.raises(tx.ShapeError) as info:
            g(a, b)
        assert f"{THIS_FILE}:{line}" in str(info.value), str(info.value)
        assert "(2, 3)" in str(info.value) and "(2, 1)" in str(info.value)
    with pytest.raises(tx.ShapeError, match=THIS_FILE):
        tx.vecdot(np.ones((2, 3)), np.ones((4, 3)))  # other axes do not broadcast


def test_int_dtypes_in_batched_matmul(rng):
    for dtype in INT_DTYPES:
        a, b = rand(rng, (3, 1, 2, 5), dtype), rand(rng, (4, 5, 3), dtype)
        check(lambda x, y: x @ tx.asarray(y), lambda x, y: x @ y, a, b)
