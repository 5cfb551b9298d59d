"""Shape rules through `infer_type`, and the NumPy oracle (`numpy_impl.evaluate`)."""

import numpy as np
import pytest

from tracefuse.errors import DTypeError, Loc, ShapeError
from tracefuse.ir import Attrs, OpCode, TensorType, evaluate, infer_type
from tracefuse.ir import dtypes as dt
from tracefuse.ir.rules import broadcast_shapes, normalize_axes

G = OpCode
f32 = dt.float32


def t(*shape, dtype=f32, weak=False):
    return TensorType(shape, dtype, weak)


# --- shape rules


def test_broadcast():
    assert infer_type(G.ADD, [t(3, 1), t(4)], {}) == t(3, 4)
    assert infer_type(G.WHERE, [t(2, 1, 1, dtype=dt.bool_), t(3, 1), t(5)], {}) == t(2, 3, 5)
    assert infer_type(G.ADD, [t(0, 1), t(1, 3)], {}) == t(0, 3)
    assert infer_type(G.ADD, [t(), t()], {}) == t()


def test_broadcast_error_names_shapes_op_and_location():
    with pytest.raises(ShapeError) as info:
        infer_type(G.ADD, [t(3, 4), t(5)], {}, Loc("/src/model.py", 12))
    message = str(info.value)
    assert "(3, 4)" in message and "(5,)" in message
    assert "add" in message and "model.py:12" in message
    assert isinstance(info.value, ValueError)  # the public contract: shape errors are ValueErrors


def test_dtype_error_names_op_and_location():
    with pytest.raises(DTypeError) as info:
        infer_type(G.BITWISE_AND, [t(3), t(3)], {}, Loc("model.py", 7))
    assert "bitwise_and" in str(info.value) and "model.py:7" in str(info.value)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("a, b, out", [
    ((3,), (3,), ()),
    ((3,), (3, 5), (5,)),
    ((2, 3), (3,), (2,)),
    ((7, 2, 3), (3, 4), (7, 2, 4)),
    ((1, 2, 3), (5, 3, 4), (5, 2, 4)),
    ((4,), (2, 4, 6), (2, 6)),
])
def test_matmul_shapes(a, b, out):
    assert infer_type(G.MATMUL, [t(*a), t(*b)], {}) == t(*out)
    assert np.matmul(np.ones(a), np.ones(b)).shape == out


@pytest.mark.parametrize(
    "a, b", [((3,), (4,)), ((), (3,)), ((2, 3), (2, 3)), ((2, 2, 3), (3, 3, 1))])
def test_matmul_errors(a, b):
    with pytest.raises(ShapeError, match="matmul"):
        infer_type(G.MATMUL, [t(*a), t(*b)], {})


def test_matmul_promotes():
    a, b = t(2, 3, dtype=dt.int32), t(3, dtype=f32)
    assert infer_type(G.MATMUL, [a, b], {}) == t(2, dtype=dt.float64)


def test_reductions_with_keepdims():
    x = t(2, 3, 4)
    assert infer_type(G.SUM, [x], Attrs(axes=(0, 2), keepdims=False)) == t(3)
    assert infer_type(G.SUM, [x], Attrs(axes=(0, 2), keepdims=True)) == t(1, 3, 1)
    assert infer_type(G.MAX, [x], Attrs(axes=(), keepdims=False)) == x
    assert infer_type(G.ANY, [x], Attrs(axes=(0, 1, 2), keepdims=False)) == t(dtype=dt.bool_)
    i8 = t(2, 3, dtype=dt.int8)
    assert infer_type(G.SUM, [i8], Attrs(axes=(1,), keepdims=False)) == t(2, dtype=dt.int64)
    assert infer_type(G.PROD, [t(2, dtype=dt.uint16)], Attrs(axes=(0,), keepdims=True)) == t(
        1, dtype=dt.uint64)
    assert infer_type(G.ARGMAX, [x], Attrs(axis=1, keepdims=True)) == t(2, 1, 4, dtype=dt.int64)
    assert infer_type(G.ARGMIN, [x], Attrs(axis=None, keepdims=False)) == t(dtype=dt.int64)
    with pytest.raises(ShapeError, match="out of range"):
        infer_type(G.SUM, [x], Attrs(axes=(3,), keepdims=False))
    with pytest.raises(ShapeError, match="empty"):
        infer_type(G.MAX, [t(0, 3)], Attrs(axes=(0,), keepdims=False))
    assert infer_type(G.SUM, [t(0, 3)], Attrs(axes=(0,), keepdims=False)) == t(3)


def test_normalize_axes():
    assert normalize_axes(None, 3) == (0, 1, 2)
    assert normalize_axes(-1, 3) == (2,)
    assert normalize_axes((2, -3), 3) == (0, 2)
    with pytest.raises(ShapeError, match="repeated"):
        normalize_axes((0, -3), 3)
    with pytest.raises(ShapeError, match="out of bounds"):
        normalize_axes(3, 3)


def test_slice_shapes_with_negative_steps():
    x = t(5, 6)
    attrs = Attrs(starts=(4, 1), sizes=(5, 3), steps=(-1, 2))
    assert infer_type(G.SLICE, [x], attrs) == t(5, 3)
    assert infer_type(G.SLICE, [x], Attrs(starts=(4, 5), sizes=(3, 2), steps=(-2, -5))) == t(3, 2)
    assert infer_type(G.SLICE, [x], Attrs(starts=(0, 0), sizes=(0, 6), steps=(1, 1))) == t(0, 6)
    with pytest.raises(ShapeError, match="out of range"):
        infer_type(G.SLICE, [x], Attrs(starts=(4, 0), sizes=(6, 1), steps=(-1, 1)))
    with pytest.raises(ShapeError, match="step 0"):
        infer_type(G.SLICE, [x], Attrs(starts=(0, 0), sizes=(1, 1), steps=(0, 1)))


def test_concat():
    a, b = t(2, 3), t(2, 5, dtype=dt.int64)
    assert infer_type(G.CONCAT, [a, b], Attrs(axis=1)) == t(2, 8, dtype=dt.float64)
    assert infer_type(G.CONCAT, [a], Attrs(axis=0)) == a
    with pytest.raises(ShapeError, match=r"\(2, 3\), \(3, 3\)"):
        infer_type(G.CONCAT, [a, t(3, 3)], Attrs(axis=1))
    with pytest.raises(ShapeError, match="0-d"):
        infer_type(G.CONCAT, [t(), t()], Attrs(axis=0))


def test_movement():
    x = t(2, 3, 4)
    assert infer_type(G.RESHAPE, [x], Attrs(shape=(6, 4))) == t(6, 4)
    assert infer_type(G.PERMUTE, [x], Attrs(axes=(2, 0, 1))) == t(4, 2, 3)
    assert infer_type(G.BROADCAST_TO, [t(3, 1)], Attrs(shape=(2, 3, 5))) == t(2, 3, 5)
    with pytest.raises(ShapeError, match=r"\(2, 3, 4\).*\(5, 5\)"):
        infer_type(G.RESHAPE, [x], Attrs(shape=(5, 5)))
    with pytest.raises(ShapeError, match="permutation"):
        infer_type(G.PERMUTE, [x], Attrs(axes=(0, 0, 1)))
    with pytest.raises(ShapeError, match="broadcast"):
        infer_type(G.BROADCAST_TO, [t(3, 2)], Attrs(shape=(3, 3)))


def test_broadcast_shapes_of_many():
    assert broadcast_shapes((1, 4), (3, 1), (2, 1, 1)) == (2, 3, 4)
    with pytest.raises(ShapeError, match=r"\(1, 4\) and \(3, 1\) and \(2, 3, 5\)"):
        broadcast_shapes((1, 4), (3, 1), (2, 3, 5))


# --- the NumPy oracle


def run(code, *arrays, **attrs):
    in_types = [TensorType(a.shape, dt.as_dtype(a.dtype)) for a in arrays]
    out = infer_type(code, in_types, attrs)
    result = evaluate(code, arrays, in_types, attrs, out)
    assert result.shape == out.shape and result.dtype == out.dtype.np
    return result


def test_slice_negative_step_reaches_index_zero():
    x = np.arange(5.0)
    np.testing.assert_array_equal(run(G.SLICE, x, starts=(4,), sizes=(5,), steps=(-1,)), x[::-1])
    np.testing.assert_array_equal(run(G.SLICE, x, starts=(4,), sizes=(3,), steps=(-2,)), x[::-2])
    np.testing.assert_array_equal(run(G.SLICE, x, starts=(3,), sizes=(2,), steps=(-3,)), x[3::-3])
    np.testing.assert_array_equal(run(G.SLICE, x, starts=(1,), sizes=(2,), steps=(2,)), x[1::2])
    y = np.arange(30).reshape(5, 6)
    np.testing.assert_array_equal(
        run(G.SLICE, y, starts=(4, 1), sizes=(5, 3), steps=(-1, 2)), y[::-1, 1::2])
    assert run(G.SLICE, y, starts=(0, 5), sizes=(0, 2), steps=(1, -1)).shape == (0, 2)


def test_elementwise_matches_numpy():
    a = np.array([-2.5, -0.0, 0.5, np.nan, np.inf], np.float32)
    b = np.array([1, -3, 0, 2, 7], np.int8)
    np.testing.assert_array_equal(run(G.ADD, a, b), a + b)
    np.testing.assert_array_equal(run(G.MAXIMUM, a, a[::-1]), np.maximum(a, a[::-1]))
    np.testing.assert_array_equal(run(G.SIGNBIT, a), np.signbit(a))
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(run(G.FLOOR_DIVIDE, b, b[::-1]), b // b[::-1])
    exp_i8 = run(G.EXP, b)  # float64 for int8, tracefuse's documented choice
    assert exp_i8.dtype == np.float64
    np.testing.assert_allclose(exp_i8, np.exp(b.astype(np.float64)))
    np.testing.assert_array_equal(run(G.RIGHT_SHIFT, b, np.array(1, np.int8)), b >> 1)
    np.testing.assert_array_equal(
        run(G.WHERE, b > 0, a, np.zeros(5, np.float64)), np.where(b > 0, a, 0.0))
    np.testing.assert_array_equal(
        run(G.CLIP, a, np.float32(-1), np.float32(1)), np.clip(a, -1, 1))


def test_weak_scalar_takes_the_strong_dtype_before_arithmetic():
    x = np.array([1, 2, 200], np.uint8)
    in_types = [TensorType((3,), dt.uint8), TensorType((), dt.int64, weak=True)]
    out = infer_type(G.ADD, in_types, {})
    result = evaluate(G.ADD, [x, np.array(100)], in_types, {}, out)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, x + 100)  # wraps around, as NumPy does


def test_reductions_match_numpy():
    x = np.arange(24, dtype=np.int16).reshape(2, 3, 4) - 7
    np.testing.assert_array_equal(run(G.SUM, x, axes=(0, 2), keepdims=True),
                                  np.sum(x, axis=(0, 2), keepdims=True))
    assert run(G.SUM, x, axes=(1,), keepdims=False).dtype == np.sum(x, axis=1).dtype
    np.testing.assert_array_equal(run(G.MIN, x, axes=(1,), keepdims=False), x.min(axis=1))
    np.testing.assert_array_equal(run(G.ARGMAX, x, axis=2, keepdims=False), x.argmax(axis=2))
    assert run(G.ARGMIN, x, axis=None, keepdims=False) == x.argmin()
    np.testing.assert_array_equal(run(G.ALL, x, axes=(0, 1, 2), keepdims=False), np.all(x))


def test_movement_and_matmul_match_numpy():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(run(G.PERMUTE, x, axes=(2, 0, 1)), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(run(G.RESHAPE, x, shape=(6, 4)), x.reshape(6, 4))
    np.testing.assert_array_equal(run(G.CONCAT, x, x[:, :1], axis=1),
                                  np.concatenate([x, x[:, :1]], axis=1))
    np.testing.assert_array_equal(run(G.MATMUL, x, np.arange(4)), x @ np.arange(4))
    np.testing.assert_array_equal(run(G.BROADCAST_TO, np.arange(3), shape=(2, 3)),
                                  np.broadcast_to(np.arange(3), (2, 3)))


def test_sources_match_numpy():
    out = TensorType((2, 3), dt.int32)
    np.testing.assert_array_equal(
        evaluate(G.IOTA, [], [], Attrs(shape=(2, 3), dtype=dt.int32, axis=1), out),
        np.broadcast_to(np.arange(3, dtype=np.int32), (2, 3)))
    full = evaluate(G.FULL, [], [], Attrs(shape=(2, 3), dtype=dt.int32, value=7), out)
    assert full.dtype == np.int32 and (full == 7).all()
