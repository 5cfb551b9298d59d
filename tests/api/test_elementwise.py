"""Every elementwise function of the namespace against NumPy, eagerly and compiled.

Each function runs on every real dtype it accepts (one shape), on every shape of
`oracle.SHAPES` and some broadcasting pairs (one dtype), on every layout of `oracle.layouts`
(one shape), and on NaN / inf / -0.0; every dtype it rejects raises `tx.DTypeError`. Integer
overflow, integer division by zero, shifts, `where`, `clip` and `astype` have tests of their own.

Functions with floating-point results give float64 for integer and bool inputs (the documented
deviation in `tracefuse/ir/rules.py`), so for those the expected value is NumPy's function on
`x.astype(np.float64)`. Operators and type promotion are in test_operators.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tracefuse as tx
from oracle import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, SHAPES, check, layouts, rand

BOOL_DTYPES = ("bool",)
ACCEPT = {
    "any": ALL_DTYPES,
    "numeric": INT_DTYPES + FLOAT_DTYPES,
    "int_or_bool": BOOL_DTYPES + INT_DTYPES,
    "int": INT_DTYPES,
}


@dataclass(frozen=True)
class Op:
    np_fn: Callable
    accept: str  # key of ACCEPT
    float_result: bool = False  # int/bool inputs give float64: compare with np_fn on float64
    x: tuple = (-5.0, 5.0)  # value range of the first operand (floats)
    y: tuple = (-5.0, 5.0)  # of the second operand
    int_x: tuple | None = None  # value range for integer dtypes, when it differs
    int_y: tuple | None = None
    nonzero_y: bool = False  # integer divisors: no zeros (division by zero has its own test)


def _f(np_fn, **kw):
    return Op(np_fn, "any", float_result=True, **kw)


UNARY: dict[str, Op] = {
    "negative": Op(np.negative, "numeric"),
    "positive": Op(np.positive, "numeric"),
    "abs": Op(np.abs, "any"),
    "sign": Op(np.sign, "numeric"),
    "square": Op(np.square, "numeric"),  # |x| <= 5: no int8 overflow
    "floor": Op(np.floor, "numeric"),
    "ceil": Op(np.ceil, "numeric"),
    "trunc": Op(np.trunc, "numeric"),
    "round": Op(np.round, "numeric"),
    "sqrt": _f(np.sqrt, x=(0.1, 5.0), int_x=(1, 5)),
    "reciprocal": _f(np.reciprocal, int_x=(1, 5)),
    "exp": _f(np.exp),
    "expm1": _f(np.expm1),
    "log": _f(np.log, x=(0.1, 5.0), int_x=(1, 5)),
    "log1p": _f(np.log1p, x=(-0.9, 5.0), int_x=(0, 5)),
    "log2": _f(np.log2, x=(0.1, 5.0), int_x=(1, 5)),
    "log10": _f(np.log10, x=(0.1, 5.0), int_x=(1, 5)),
    "sin": _f(np.sin),
    "cos": _f(np.cos),
    "tan": _f(np.tan, x=(-1.5, 1.5)),
    "asin": _f(np.arcsin, x=(-0.99, 0.99), int_x=(-1, 1)),
    "acos": _f(np.arccos, x=(-0.99, 0.99), int_x=(-1, 1)),
    "atan": _f(np.arctan),
    "sinh": _f(np.sinh),
    "cosh": _f(np.cosh),
    "tanh": _f(np.tanh),
    "asinh": _f(np.arcsinh),
    "acosh": _f(np.arccosh, x=(1.0, 5.0), int_x=(1, 5)),
    "atanh": _f(np.arctanh, x=(-0.99, 0.99), int_x=(-1, 1)),  # ints: +-1 give +-inf
    "isnan": Op(np.isnan, "any"),
    "isinf": Op(np.isinf, "any"),
    "isfinite": Op(np.isfinite, "any"),
    "signbit": Op(np.signbit, "any"),
    "logical_not": Op(np.logical_not, "any"),
    "bitwise_invert": Op(np.invert, "int_or_bool", int_x=(-100, 100)),
}

BINARY: dict[str, Op] = {
    "add": Op(np.add, "any"),
    "subtract": Op(np.subtract, "numeric"),
    "multiply": Op(np.multiply, "any"),
    "divide": _f(np.divide, nonzero_y=True),
    "floor_divide": Op(np.floor_divide, "numeric", nonzero_y=True),
    "remainder": Op(np.remainder, "numeric", nonzero_y=True),
    # small non-negative exponents for ints (no overflow: |x|**4 <= 81)
    "pow": Op(np.power, "numeric", x=(0.5, 3.0), y=(-3.0, 3.0), int_x=(-3, 3), int_y=(0, 4)),
    "maximum": Op(np.maximum, "any"),
    "minimum": Op(np.minimum, "any"),
    "atan2": _f(np.arctan2),
    "hypot": _f(np.hypot),
    "logaddexp": _f(np.logaddexp),
    "copysign": _f(np.copysign),
    "nextafter": _f(np.nextafter),
    "equal": Op(np.equal, "any", int_x=(-2, 2), int_y=(-2, 2)),  # small ranges: some equal
    "not_equal": Op(np.not_equal, "any", int_x=(-2, 2), int_y=(-2, 2)),
    "less": Op(np.less, "any", int_x=(-2, 2), int_y=(-2, 2)),
    "less_equal": Op(np.less_equal, "any", int_x=(-2, 2), int_y=(-2, 2)),
    "greater": Op(np.greater, "any", int_x=(-2, 2), int_y=(-2, 2)),
    "greater_equal": Op(np.greater_equal, "any", int_x=(-2, 2), int_y=(-2, 2)),
    "logical_and": Op(np.logical_and, "any", int_x=(-1, 1), int_y=(-1, 1)),
    "logical_or": Op(np.logical_or, "any", int_x=(-1, 1), int_y=(-1, 1)),
    "logical_xor": Op(np.logical_xor, "any", int_x=(-1, 1), int_y=(-1, 1)),
    "bitwise_and": Op(np.bitwise_and, "int_or_bool", int_x=(-100, 100), int_y=(-100, 100)),
    "bitwise_or": Op(np.bitwise_or, "int_or_bool", int_x=(-100, 100), int_y=(-100, 100)),
    "bitwise_xor": Op(np.bitwise_xor, "int_or_bool", int_x=(-100, 100), int_y=(-100, 100)),
    # shift counts: non-negative and below the bit width (int_y is replaced per dtype)
    "bitwise_left_shift": Op(np.left_shift, "int", int_x=(-5, 5), int_y=(0, None)),
    "bitwise_right_shift": Op(np.right_shift, "int", int_x=(-100, 100), int_y=(0, None)),
}

FLOAT_UNARY = [n for n, op in UNARY.items() if op.accept in ("any", "numeric")]
FLOAT_BINARY = [n for n, op in BINARY.items() if op.accept in ("any", "numeric")]


def expected_fn(op: Op, dtype: str) -> Callable:
    """NumPy's function, on float64 copies for float-result functions of int/bool inputs."""
    if op.float_result and np.dtype(dtype).kind != "f":
        return lambda *a: op.np_fn(*(np.asarray(v).astype(np.float64) for v in a))
    return op.np_fn


def operand(rng, op: Op, which: str, shape, dtype: str, special: bool = False) -> np.ndarray:
    """A random operand in the op's value range for `dtype`."""
    d = np.dtype(dtype)
    lo, hi = op.x if which == "x" else op.y
    int_range = op.int_x if which == "x" else op.int_y
    if d.kind in "iu" and int_range is not None:
        lo, hi = int_range
        if hi is None:  # a shift count: below the bit width
            hi = 8 * d.itemsize - 1
    arr = rand(rng, shape, dtype, low=lo, high=hi, special=special)
    if which == "y" and op.nonzero_y and d.kind in "iu":
        arr[arr == 0] = 1
    return arr


def tx_function(name: str) -> Callable:
    fn = getattr(tx, name)
    return lambda *a: fn(*a)


def rejects(name: str) -> list[tuple[str, str]]:
    table = UNARY if name in UNARY else BINARY
    return [d for d in ALL_DTYPES if d not in ACCEPT[table[name].accept]]


def assert_rejected(fn: Callable, *inputs) -> None:
    """fn raises tx.DTypeError (a TypeError) eagerly and when traced."""
    with pytest.raises(tx.DTypeError):
        fn(*inputs)
    with pytest.raises(tx.DTypeError):
        tx.function(fn, backend="numpy")(*inputs)


def test_namespace_has_every_elementwise_function():
    names = set(UNARY) | set(BINARY) | {"where", "clip", "astype"}
    missing = [n for n in names if not callable(getattr(tx, n, None))]
    assert not missing
    assert issubclass(tx.DTypeError, TypeError)


# --- one operand ---------------------------------------------------------------------------------


UNARY_DTYPE_CASES = [(n, d) for n, op in UNARY.items() for d in ACCEPT[op.accept]]


@pytest.mark.parametrize("name,dtype", UNARY_DTYPE_CASES,
                         ids=[f"{n}-{d}" for n, d in UNARY_DTYPE_CASES])
def test_unary_every_dtype(rng, name, dtype):
    op = UNARY[name]
    x = operand(rng, op, "x", (3, 5), dtype)
    check(tx_function(name), expected_fn(op, dtype), x)
    if op.float_result and dtype not in FLOAT_DTYPES:
        assert getattr(tx, name)(x).dtype == tx.float64


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_every_shape(rng, name, shape):
    op = UNARY[name]
    dtype = "float64" if op.accept in ("any", "numeric") else "int32"
    check(tx_function(name), op.np_fn, operand(rng, op, "x", shape, dtype))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_layouts(rng, name):
    op = UNARY[name]
    dtype = "float32" if op.accept in ("any", "numeric") else "int16"
    for x in layouts(operand(rng, op, "x", (4, 7), dtype)):
        check(tx_function(name), op.np_fn, x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", FLOAT_UNARY)
def test_unary_nan_inf_and_domain_edges(rng, name, dtype):
    # one range for every function: crosses the domain edges of log, sqrt, asin, acosh, atanh
    x = rand(rng, (7, 9), dtype, low=-3.0, high=3.0, special=True)
    check(tx_function(name), UNARY[name].np_fn, x)


@pytest.mark.parametrize("name,values,nan_at", [
    ("log", [-1.0, 0.0, -0.0, 1.0, np.inf, -np.inf, np.nan], [0, 5, 6]),
    ("log2", [-2.0, 0.0, 8.0, np.inf], [0]),
    ("log10", [-2.0, 0.0, 100.0], [0]),
    ("log1p", [-2.0, -1.0, 0.0, -0.0], [0]),
    ("sqrt", [-1.0, -0.0, 0.0, 4.0, -np.inf, np.inf], [0, 4]),
    ("asin", [2.0, -2.0, 1.0, -0.0], [0, 1]),
    ("acos", [2.0, -1.5, 1.0, -1.0], [0, 1]),
    ("acosh", [0.5, -1.0, 1.0, np.inf], [0, 1]),
    ("atanh", [2.0, -1.0, 1.0, -0.0], [0]),
    ("sin", [np.inf, -np.inf, -0.0], [0, 1]),
    ("reciprocal", [0.0, -0.0, np.inf, np.nan], [3]),
])
def test_unary_domain_edges_give_nan_like_numpy(name, values, nan_at):
    for dtype in FLOAT_DTYPES:
        x = np.array(values, dtype=dtype)
        check(tx_function(name), UNARY[name].np_fn, x)
        got = getattr(tx, name)(x).numpy()
        assert np.flatnonzero(np.isnan(got)).tolist() == nan_at


def test_unary_special_values_explicitly():
    x = np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, -2.5, 2.5], np.float32)
    assert tx.signbit(x).tolist() == [True, False, False, False, True, True, False]
    assert tx.isnan(x).tolist() == [False, False, True, False, False, False, False]
    assert tx.isinf(x).tolist() == [False, False, False, True, True, False, False]
    assert tx.isfinite(x).tolist() == [True, True, False, False, False, True, True]
    r = tx.round(x).numpy()
    assert r[-2:].tolist() == [-2.0, 2.0]  # half to even
    assert np.signbit(tx.negative(np.float64(0.0)).numpy())
    assert np.isnan(tx.sign(np.array([np.nan])).numpy()[0])
    assert tx.log(np.array([0.0])).numpy()[0] == -np.inf
    assert tx.exp(np.array([1000.0])).numpy()[0] == np.inf


REJECT_UNARY = [(n, d) for n in UNARY for d in rejects(n)]


@pytest.mark.parametrize("name,dtype", REJECT_UNARY, ids=[f"{n}-{d}" for n, d in REJECT_UNARY])
def test_unary_rejected_dtype_raises(rng, name, dtype):
    assert_rejected(tx_function(name), rand(rng, (3,), dtype))


def test_rejections_cover_the_expected_cases():
    # bool is not numeric; bitwise_invert has no float version
    assert set(REJECT_UNARY) >= {("negative", "bool"), ("positive", "bool"), ("sign", "bool"),
                                 ("floor", "bool"), ("bitwise_invert", "float32")}
    assert ("subtract", "bool") in REJECT_BINARY and ("bitwise_and", "float64") in REJECT_BINARY
    assert ("bitwise_left_shift", "bool") in REJECT_BINARY


def test_float_functions_of_integers_give_float64():
    x = np.array([1, 2, 4], np.int8)
    for name in ("sqrt", "exp", "log", "sin", "reciprocal", "atanh"):
        assert getattr(tx, name)(x).dtype == tx.float64, name
    for name in ("divide", "atan2", "hypot", "logaddexp", "copysign", "nextafter"):
        assert getattr(tx, name)(x, np.uint8(3)).dtype == tx.float64, name
    np.testing.assert_array_equal(tx.reciprocal(x).numpy(), [1.0, 0.5, 0.25])  # not 1 // x
    np.testing.assert_array_equal(tx.sqrt(np.array([True, False])).numpy(), [1.0, 0.0])


def test_integer_rounding_functions_keep_dtype_and_values(rng):
    for dtype in INT_DTYPES:
        x = rand(rng, (9,), dtype, low=-100, high=100)
        for name in ("floor", "ceil", "trunc", "round"):
            r = getattr(tx, name)(x)
            assert r.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(r.numpy(), x)


def test_results_never_alias_a_numpy_input(rng):
    # tensors are values: changing the caller's array afterwards must not change a result
    x = rand(rng, (6,), "int16", low=-100, high=100)
    pairs = [(tx.floor, np.floor), (tx.ceil, np.ceil), (tx.trunc, np.trunc),
             (tx.round, np.round), (tx.positive, np.positive), (tx.abs, np.abs),
             (lambda a: tx.astype(a, tx.int16), lambda a: a.copy()),
             (lambda a: tx.clip(a), lambda a: a.copy())]
    results = [(f(x), g(x.copy())) for f, g in pairs]
    x[:] = 7
    for got, want in results:
        np.testing.assert_array_equal(got.numpy(), want)


# --- two operands --------------------------------------------------------------------------------

BINARY_DTYPE_CASES = [(n, d) for n, op in BINARY.items() for d in ACCEPT[op.accept]]


@pytest.mark.parametrize("name,dtype", BINARY_DTYPE_CASES,
                         ids=[f"{n}-{d}" for n, d in BINARY_DTYPE_CASES])
def test_binary_every_dtype(rng, name, dtype):
    op = BINARY[name]
    x = operand(rng, op, "x", (4, 5), dtype)
    y = operand(rng, op, "y", (5,), dtype)  # broadcast against x
    check(tx_function(name), expected_fn(op, dtype), x, y)
    if op.float_result and dtype not in FLOAT_DTYPES:
        assert getattr(tx, name)(x, y).dtype == tx.float64


BROADCAST_PAIRS = [((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,)), ((3,), ()), ((), ()),
                   ((0,), (1,)), ((2, 0), (2, 1)), ((1,), (7,)), ((2, 1, 33), (33,)),
                   ((31,), (31,))]


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_shapes_and_broadcasting(rng, name, shapes):
    op = BINARY[name]
    dtype = "float64" if op.accept in ("any", "numeric") else "int32"
    x = operand(rng, op, "x", shapes[0], dtype)
    y = operand(rng, op, "y", shapes[1], dtype)
    check(tx_function(name), op.np_fn, x, y)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_layouts(rng, name):
    op = BINARY[name]
    dtype = "float32" if op.accept in ("any", "numeric") else "int16"
    xs = layouts(operand(rng, op, "x", (4, 7), dtype))
    ys = layouts(operand(rng, op, "y", (4, 7), dtype))
    for x, y in zip(xs, ys):
        check(tx_function(name), op.np_fn, x, y)
    check(tx_function(name), op.np_fn, xs[2], ys[0])  # negative strides with C order
    check(tx_function(name), op.np_fn, xs[0].T, ys[1].T)  # transposed views


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", FLOAT_BINARY)
def test_binary_nan_inf_signed_zero(rng, name, dtype):
    x = rand(rng, (6, 11), dtype, low=-3.0, high=3.0, special=True)
    y = rand(rng, (6, 11), dtype, low=-3.0, high=3.0, special=True)
    # every special value of x meets every special value of y at least once
    sp = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0], dtype)
    x[0, :6], y[0, :6] = sp, sp[::-1]
    x[1:3, 0:6], y[1:3, 0:6] = sp, np.roll(sp, 2)
    x[3, :6], y[3, :6] = sp, np.roll(sp, 3)
    x[4, :6], y[4, :6] = sp, np.roll(sp, 1)
    x[5, :6], y[5, :6] = sp, sp
    check(tx_function(name), BINARY[name].np_fn, x, y)


def test_binary_special_values_explicitly():
    nan, inf = np.nan, np.inf
    x = np.array([nan, 1.0, -0.0, inf, 2.0])
    y = np.array([1.0, nan, 0.0, inf, -inf])
    assert np.isnan(tx.maximum(x, y).numpy()[:2]).all() and np.isnan(tx.minimum(x, y).numpy()[:2]).all()
    assert tx.equal(x, x).tolist() == [False, True, True, True, True]
    assert tx.not_equal(x, x).tolist() == [True, False, False, False, False]
    assert tx.less(x, y).tolist() == [False, False, False, False, False]
    assert np.signbit(tx.copysign(np.array([3.0]), np.array([-0.0])).numpy()[0])
    assert tx.nextafter(np.array([1.0]), np.array([2.0])).numpy()[0] == np.nextafter(1.0, 2.0) > 1.0
    assert tx.hypot(np.array([inf]), np.array([nan])).numpy()[0] == inf
    assert tx.logaddexp(np.array([1000.0]), np.array([1000.0])).numpy()[0] == pytest.approx(
        1000.0 + np.log(2.0))
    np.testing.assert_array_equal(tx.divide(np.array([1.0, -1.0, 0.0]), 0.0).numpy(),
                                  [inf, -inf, nan])


REJECT_BINARY = [(n, d) for n in BINARY for d in rejects(n)]


@pytest.mark.parametrize("name,dtype", REJECT_BINARY, ids=[f"{n}-{d}" for n, d in REJECT_BINARY])
def test_binary_rejected_dtype_raises(rng, name, dtype):
    x = rand(rng, (3,), dtype)
    assert_rejected(tx_function(name), x, x)


@pytest.mark.parametrize("name,a,b", [
    ("bitwise_and", "int8", "float32"),
    ("bitwise_or", "float64", "uint8"),
    ("bitwise_xor", "bool", "float32"),
    ("bitwise_or", "uint64", "int64"),  # promotes to float64
    ("bitwise_left_shift", "int32", "float64"),
    ("bitwise_right_shift", "float32", "int8"),
])
def test_binary_rejected_mixed_dtypes(rng, name, a, b):
    assert_rejected(tx_function(name), rand(rng, (4,), a), rand(rng, (4,), b))
    with pytest.raises(TypeError):  # NumPy rejects them too
        getattr(np, BINARY[name].np_fn.__name__)(rand(rng, (4,), a), rand(rng, (4,), b))


def test_rejected_dtype_error_names_op_and_dtype():
    with pytest.raises(tx.DTypeError, match=r"(?s)bitwise_and.*float32.*test_elementwise\.py"):
        tx.bitwise_and(np.ones(2, np.float32), np.ones(2, np.float32))


# --- integers: overflow, division by zero, shifts -------------------------------------------------


@pytest.mark.parametrize("fn,a,b,dtype,want", [
    (tx.add, [127], [1], "int8", [-128]),
    (tx.add, [-128], [-1], "int8", [127]),
    (tx.subtract, [0], [1], "uint8", [255]),
    (tx.add, [255], [1], "uint8", [0]),
    (tx.multiply, [300], [300], "int16", [24464]),
    (tx.add, [2**31 - 1], [1], "int32", [-(2**31)]),
    (tx.add, [2**63 - 1], [1], "int64", [-(2**63)]),
    (tx.subtract, [0], [1], "uint64", [2**64 - 1]),
    (tx.multiply, [2**32], [2**32], "uint64", [0]),
    (tx.pow, [2], [8], "int8", [0]),
    (tx.pow, [3], [5], "uint8", [243]),
    (tx.pow, [3], [6], "uint8", [217]),
], ids=lambda v: getattr(v, "__name__", None))
def test_integer_overflow_wraps_like_numpy(fn, a, b, dtype, want):
    x, y = np.array(a, dtype), np.array(b, dtype)
    check(lambda p, q: fn(p, q), getattr(np, fn.__name__.replace("pow", "power")), x, y)
    assert fn(x, y).tolist() == want


def test_integer_overflow_of_unary_functions_and_weak_scalars():
    i8 = np.array([-128, 127], np.int8)
    check(tx.negative, np.negative, i8)
    check(tx.abs, np.abs, i8)
    assert tx.abs(i8).tolist() == [-128, 127]
    check(lambda x: tx.square(x), np.square, np.array([16, -12], np.int8))
    check(lambda x: tx.add(x, 1), lambda x: x + 1, i8)  # weak 1 stays int8 and wraps
    assert tx.add(i8, 1).tolist() == [-127, -128]
    check(lambda x: tx.subtract(x, 1), lambda x: x - 1, np.array([0, 5], np.uint8))
    assert tx.subtract(np.array([0], np.uint8), 1).tolist() == [255]
    check(lambda x: tx.negative(x), np.negative, np.array([1, 0, 255], np.uint8))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_division_by_zero_gives_zero(rng, dtype):
    x = rand(rng, (9,), dtype, low=-50, high=50)
    zeros = np.zeros(9, dtype)
    for fn, np_fn in ((tx.floor_divide, np.floor_divide), (tx.remainder, np.remainder)):
        check(lambda a, b: fn(a, b), np_fn, x, zeros)
        check(lambda a: fn(a, 0), lambda a: np_fn(a, 0), x)
        assert (fn(x, zeros).numpy() == 0).all()
    # true division of integers is float64: +-inf, and NaN for 0 / 0
    x[0] = 0
    check(lambda a, b: tx.divide(a, b), lambda a, b: np.divide(a.astype(float), b.astype(float)),
          x, zeros)
    got = tx.divide(x, zeros).numpy()
    assert got.dtype == np.float64 and np.isnan(got[0]) and np.isinf(got[x != 0]).all()


def test_floor_division_and_remainder_follow_python_signs():
    for dtype in ("int8", "int32", "int64", "float32", "float64"):
        x = np.array([-7, 7, -7, 7, 6, -6], dtype)
        y = np.array([2, 2, -2, -2, 3, 3], dtype)
        check(lambda a, b: tx.floor_divide(a, b), np.floor_divide, x, y)
        check(lambda a, b: tx.remainder(a, b), np.remainder, x, y)
        assert tx.floor_divide(x, y).tolist() == [-4, 3, 3, -4, 2, -2]
        assert tx.remainder(x, y).tolist() == [1, 1, -1, -1, 0, 0]
    # INT_MIN // -1 overflows: NumPy gives INT_MIN (and remainder 0)
    m = np.array([-128, -128], np.int8)
    check(lambda a, b: tx.floor_divide(a, b), np.floor_divide, m, np.array([-1, 1], np.int8))
    check(lambda a, b: tx.remainder(a, b), np.remainder, m, np.array([-1, 1], np.int8))
    # floats: division by zero, inf operands
    f = np.array([1.0, -1.0, 0.0, np.inf, 5.5, -5.5])
    g = np.array([0.0, 0.0, 0.0, 2.0, np.inf, np.inf])
    check(lambda a, b: tx.floor_divide(a, b), np.floor_divide, f, g)
    check(lambda a, b: tx.remainder(a, b), np.remainder, f, g)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_shifts_every_count_below_the_bit_width(dtype):
    bits = 8 * np.dtype(dtype).itemsize
    lo = -7 if np.dtype(dtype).kind == "i" else 1
    x = np.array([lo, 3, 5, np.iinfo(dtype).max], dtype)[:, None]
    counts = np.arange(bits, dtype=dtype)[None, :]
    check(lambda a, b: tx.bitwise_left_shift(a, b), np.left_shift, x, counts)
    check(lambda a, b: tx.bitwise_right_shift(a, b), np.right_shift, x, counts)
    check(lambda a: tx.bitwise_left_shift(a, 1), lambda a: np.left_shift(a, 1), x)
    check(lambda a: tx.bitwise_right_shift(a, bits - 1), lambda a: np.right_shift(a, bits - 1), x)
    if np.dtype(dtype).kind == "i":  # arithmetic shift of negatives
        assert tx.bitwise_right_shift(np.array([-8, -1], dtype), 1).tolist() == [-4, -1]


def test_shifts_of_mixed_dtypes_promote(rng):
    x = rand(rng, (5,), "int8", low=-20, high=20)
    c = np.array([0, 1, 2, 3, 4], np.uint8)
    check(lambda a, b: tx.bitwise_left_shift(a, b), np.left_shift, x, c)
    assert tx.bitwise_left_shift(x, c).dtype == tx.int16
    check(lambda a: tx.bitwise_left_shift(3, a), lambda a: np.left_shift(3, a), c)


# --- where, clip, astype ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_where_every_dtype(rng, dtype):
    c = rand(rng, (3, 4), "bool")
    x, y = rand(rng, (3, 4), dtype, special=True), rand(rng, (3, 4), dtype, special=True)
    check(lambda c, a, b: tx.where(c, a, b), np.where, c, x, y)


@pytest.mark.parametrize("shapes", [((3, 1), (1, 4), ()), ((), (5,), (5,)), ((0,), (1,), ()),
                                    ((2, 1, 33), (33,), (2, 1, 1)), ((7,), (), ())],
                         ids=str)
def test_where_broadcasting(rng, shapes):
    c = rand(rng, shapes[0], "bool")
    x, y = rand(rng, shapes[1], "float64"), rand(rng, shapes[2], "float64")
    check(lambda c, a, b: tx.where(c, a, b), np.where, c, x, y)


def test_where_layouts_promotion_and_scalars(rng):
    c = rand(rng, (4, 6), "bool")
    x, y = rand(rng, (4, 6), "float32"), rand(rng, (4, 6), "float32")
    for cc, xx, yy in zip(layouts(c), layouts(x), layouts(y)):
        check(lambda c, a, b: tx.where(c, a, b), np.where, cc, xx, yy)
    i8, u8 = rand(rng, (4, 6), "int8"), rand(rng, (4, 6), "uint8")
    check(lambda c, a, b: tx.where(c, a, b), np.where, c, i8, u8)  # int16
    check(lambda c, a: tx.where(c, a, 0.5), lambda c, a: np.where(c, a, 0.5), c, x)  # float32
    check(lambda c, a: tx.where(c, a, 2), lambda c, a: np.where(c, a, 2), c, i8)  # int8
    check(lambda c, a: tx.where(c, a, 2.5), lambda c, a: np.where(c, a, 2.5), c, i8)  # float64
    check(lambda c: tx.where(c, 1, 2.0), lambda c: np.where(c, 1, 2.0), c)
    assert tx.where(c, x, 0.5).dtype == tx.float32 and tx.where(c, i8, u8).dtype == tx.int16
    # a non-bool condition counts nonzero as true, like NumPy
    n = rand(rng, (4, 6), "int32", low=-1, high=1)
    check(lambda c, a, b: tx.where(c, a, b), np.where, n, x, y)


@pytest.mark.parametrize("dtype", INT_DTYPES + FLOAT_DTYPES)
def test_clip_every_dtype(rng, dtype):
    x = rand(rng, (5, 6), dtype, low=-20, high=20, special=True)
    lo, hi = (2, 9) if np.dtype(dtype).kind == "u" else (-3, 4)
    check(lambda a: tx.clip(a, lo, hi), lambda a: np.clip(a, lo, hi), x)
    check(lambda a: tx.clip(a, min=lo), lambda a: np.clip(a, lo, None), x)
    check(lambda a: tx.clip(a, max=hi), lambda a: np.clip(a, None, hi), x)
    check(lambda a: tx.clip(a), lambda a: np.clip(a, None, None), x)
    check(lambda a: a.clip(lo, hi), lambda a: np.clip(a, lo, hi), tx.asarray(x))
    # array bounds, broadcast
    unsigned = np.dtype(dtype).kind == "u"
    blo = rand(rng, (6,), dtype, low=0 if unsigned else -20, high=3 if unsigned else 0)
    bhi = rand(rng, (5, 1), dtype, low=8, high=20)
    check(lambda a, b, c: tx.clip(a, b, c), np.clip, x, blo, bhi)
    got = tx.clip(x, lo, hi).numpy()
    assert got.dtype == np.dtype(dtype)
    fin = ~np.isnan(got)
    assert (got[fin] >= lo).all() and (got[fin] <= hi).all()


def test_clip_shapes_layouts_and_edge_cases(rng):
    for shape in SHAPES:
        x = rand(rng, shape, "float64")
        check(lambda a: tx.clip(a, -1.0, 1.0), lambda a: np.clip(a, -1.0, 1.0), x)
    for x in layouts(rand(rng, (4, 7), "int16", low=-50, high=50)):
        check(lambda a: tx.clip(a, -10, 10), lambda a: np.clip(a, -10, 10), x)
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.5], np.float32)
    check(lambda a: tx.clip(a, -1.0, 1.0), lambda a: np.clip(a, -1.0, 1.0), x)  # float32, NaN kept
    assert np.isnan(tx.clip(x, 0, 1).numpy()[0])
    check(lambda a: tx.clip(a, 3.0, 1.0), lambda a: np.clip(a, 3.0, 1.0), x)  # min > max: max
    # Python int bounds outside the dtype's range are clamped into it (NumPy does the same)
    u8 = np.array([0, 5, 200, 255], np.uint8)
    check(lambda a: tx.clip(a, -5, 300), lambda a: np.clip(a, -5, 300), u8)
    check(lambda a: tx.clip(a, 10, 1000), lambda a: np.clip(a, 10, 1000), u8)


def test_clip_keeps_the_dtype_of_x():
    # documented: the result has x's dtype (NumPy would promote int8 with float bounds to
    # float64). Float bounds of an integer x act as ceil(min) / floor(max).
    x = np.array([-5, 1, 2, 3, 4, 9], np.int8)
    got = tx.clip(x, 1.5, 3.5)
    assert got.dtype == tx.int8
    assert got.tolist() == [2, 2, 2, 3, 3, 3]
    assert tx.clip(np.ones(3, np.float32), 0.0, 2.0).dtype == tx.float32


@pytest.mark.xfail(strict=True, reason="clip converts array bounds to x's dtype before "
                   "clipping, so an int16 bound of 300 wraps to 44 for an int8 x and clips 100 "
                   "down to 44, a value that is neither x nor a bound")
def test_clip_with_wider_array_bounds_keeps_values_that_fit():
    x = np.array([1, 2, 100, -100], np.int8)
    lo, hi = np.array([2, 2, 2, -300], np.int16), np.array([300, 300, 300, 300], np.int16)
    want = np.clip(x, lo, hi)  # int16 in NumPy; every value fits int8
    got = tx.clip(x, lo, hi)
    assert got.dtype == tx.int8
    np.testing.assert_array_equal(got.numpy(), want.astype(np.int8))


def test_clip_rejects_bool(rng):
    assert_rejected(lambda a: tx.clip(a, 0, 1), rand(rng, (3,), "bool"))


@pytest.mark.parametrize("src", ALL_DTYPES)
def test_astype_every_pair(rng, src):
    # values representable in every dtype (0..100), and fractional floats truncate toward 0
    x = rand(rng, (3, 5), src, low=0, high=100)
    if np.dtype(src).kind == "f":
        x[0, :3] = [0.5, 99.9, 1.0]
    for dst in ALL_DTYPES:
        for spelled in (dst, np.dtype(dst), getattr(tx, "bool" if dst == "bool" else dst)):
            check(lambda a: tx.astype(a, spelled), lambda a: a.astype(dst), x)
        check(lambda a: tx.asarray(a).astype(dst), lambda a: a.astype(dst), x)


def test_astype_signed_values_wrap_and_truncate_like_numpy(rng):
    x = rand(rng, (40,), "float64", low=-100, high=100)
    for dst in ("int8", "int16", "int32", "int64", "bool", "float32"):
        check(lambda a: tx.astype(a, dst), lambda a: a.astype(dst), x)
    i = rand(rng, (40,), "int64", low=-(2**40), high=2**40)
    for dst in INT_DTYPES + FLOAT_DTYPES + ("bool",):
        check(lambda a: tx.astype(a, dst), lambda a: a.astype(dst), i)  # modular, like C
    f = np.array([np.nan, np.inf, -np.inf, -0.0, 1e300], np.float64)
    check(lambda a: tx.astype(a, "float32"), lambda a: a.astype(np.float32), f)
    check(lambda a: tx.astype(a, "bool"), lambda a: a.astype(bool), f)
    for x in layouts(rand(rng, (4, 7), "float32")):
        check(lambda a: tx.astype(a, "int32"), lambda a: a.astype(np.int32), x)
    for shape in SHAPES:
        check(lambda a: tx.astype(a, "float32"), lambda a: a.astype(np.float32),
              rand(rng, shape, "int16"))


def test_astype_copy_semantics():
    t = tx.asarray(np.arange(4, dtype=np.int32))
    assert tx.astype(t, tx.int32, copy=False) is t
    c = tx.astype(t, tx.int32)
    assert c is not t and c.dtype == tx.int32 and c.tolist() == [0, 1, 2, 3]
    # inputs that are not tx arrays still give a tx.Tensor, even with copy=False
    for x in ([1, 2, 3], np.arange(3), np.int64(3)):
        r = tx.astype(x, tx.int64, copy=False)
        assert isinstance(r, tx.Tensor) and r.dtype == tx.int64
        np.testing.assert_array_equal(r.numpy(), np.asarray(x))
    w = tx.astype(1.7, tx.int8)  # a Python scalar
    assert isinstance(w, tx.Tensor) and w.dtype == tx.int8 and w.shape == () and int(w) == 1


def test_float16_a_few_functions(rng):
    # tracefuse also supports float16 (not in oracle.ALL_DTYPES)
    x = rand(rng, (7,), "float16", low=0.1, high=3.0, special=True)
    y = rand(rng, (7,), "float16", low=0.1, high=3.0)
    for name in ("sqrt", "exp", "log", "sin", "negative", "floor", "isnan"):
        check(tx_function(name), UNARY[name].np_fn, x)
    for name in ("add", "multiply", "divide", "maximum", "less", "pow"):
        check(tx_function(name), BINARY[name].np_fn, x, y)
    check(lambda a: tx.multiply(a, 2.0), lambda a: a * 2.0, x)  # stays float16
    assert tx.multiply(x, 2.0).dtype == tx.float16
