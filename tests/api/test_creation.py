"""Array creation against NumPy: constant (TensorFlow-style inference), asarray, zeros, ones,
full, empty, the *_like forms, arange, linspace, eye; inside @tx.function zeros/ones/full/eye
become `full` / `iota` graph ops, not baked constants; the Tensor repr, `.numpy()` copies and
immutability."""

import os

import numpy as np
import pytest

import tracefuse as tx
import oracle
from oracle import check_with_types as check
from oracle import ALL_DTYPES, assert_same, rand

THIS_FILE = os.path.basename(__file__)


def same(got, expected):
    assert_same(got, np.asarray(expected), rtol=0.0)


# --- constant: TensorFlow inference ---------------------------------------------------------------
@pytest.mark.parametrize("value,dtype", [
    (1.5, "float32"), (2, "int32"), (True, "bool"), ([1.0, 2.0], "float32"), ([1, 2], "int32"),
    ([[1, 2], [3, 4]], "int32"), ([1, 2.5], "float32"), ([True, False], "bool"), ([], "float32"),
    (np.float64(1.5), "float64"), (np.int8(3), "int8"), (np.arange(3, dtype=np.uint16), "uint16"),
    (np.ones((2, 2)), "float64"), (np.array(True), "bool"), (2**40, "int64"),
    ([0, 2**31], "int64"), ([-(2**31)], "int32"),
], ids=repr)
def test_constant_infers_dtypes_like_tensorflow(value, dtype):
    t = tx.constant(value)
    assert isinstance(t, tx.Tensor)
    expected = np.asarray(value).astype(dtype)
    same(t, expected)
    assert t.dtype == getattr(tx, dtype)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_constant_with_dtype(dtype):
    same(tx.constant([1, 0, 3], dtype=dtype), np.array([1, 0, 3]).astype(dtype))
    same(tx.constant(2.0, dtype=getattr(tx, dtype)), np.asarray(2.0).astype(dtype))
    same(tx.constant(np.arange(4.0), dtype), np.arange(4.0).astype(dtype))


def test_constant_always_copies():
    a = np.arange(4.0)
    t = tx.constant(a)
    a[0] = 100.0
    assert t.numpy()[0] == 0.0


# --- asarray ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    1.5, 2, True, [1.0, 2.0], [1, 2], [[True], [False]], [], [[1, 2.5], [3, 4]],
    np.float32(1.5), np.int16(-3), np.arange(6, dtype=np.uint8).reshape(2, 3),
    np.ones((0, 3), np.float32), np.arange(5.0)[::-2],
], ids=repr)
def test_asarray_takes_numpys_dtypes(value):
    t = tx.asarray(value)
    same(t, np.asarray(value))  # array API defaults: float64 / int64 / bool


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_asarray_with_dtype(dtype):
    for value in ([1, 2, 0], 3, 2.0, np.arange(3, dtype=np.int16), [[1.0], [0.0]]):
        same(tx.asarray(value, dtype=dtype), np.asarray(value, dtype=dtype))
    same(tx.asarray(tx.asarray([1, 0, 2]), dtype=getattr(tx, dtype)),
         np.asarray([1, 0, 2], dtype=dtype))


def test_asarray_of_a_tensor_and_copy_semantics():
    t = tx.asarray([1.0, 2.0])
    assert tx.asarray(t) is t
    assert tx.asarray(t, dtype=tx.float64) is t
    c = tx.asarray(t, copy=True)
    assert c is not t
    same(c, [1.0, 2.0])
    a = np.arange(3.0)
    default = tx.asarray(a)  # copy=None copies a NumPy input: the Tensor is immutable
    copied = tx.asarray(a, copy=True)
    a[0] = 7.0
    assert default.numpy()[0] == 0.0 and copied.numpy()[0] == 0.0
    assert a.flags.writeable  # the caller's array stays writable
    with pytest.raises(ValueError):
        tx.asarray([1, 2], copy=False)


def test_asarray_copies_so_the_tensor_stays_immutable():
    a = np.arange(4.0)
    t = tx.asarray(a)
    a[0] = 99.0  # the issue: this used to change t
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert not np.shares_memory(np.asarray(t), a)
    # a view of the caller's memory that __array__ hands over is copied too
    class Wrapper:
        def __init__(self, arr):
            self.arr = arr

        def __array__(self, dtype=None, copy=None):
            return self.arr

    w = tx.asarray(Wrapper(a))
    a[1] = -1.0
    assert w.tolist() == [99.0, 1.0, 2.0, 3.0]
    # a dtype change copies once (the converted array is ours)
    f32 = tx.asarray(a, dtype=tx.float32)
    a[2] = 5.0
    assert f32.numpy()[2] == 2.0 and f32.dtype == tx.float32
    # layouts survive the copy
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(tx.asarray(fortran).numpy(), fortran)


def test_asarray_copy_false_shares_only_a_read_only_array():
    ro = np.arange(3.0)
    ro.flags.writeable = False
    shared = tx.asarray(ro, copy=False)
    assert np.shares_memory(np.asarray(shared), ro)
    t = tx.asarray([1.0, 2.0])
    assert np.shares_memory(np.asarray(tx.asarray(np.asarray(t), copy=False)), np.asarray(t))
    assert tx.asarray(t, copy=False) is t
    assert not np.shares_memory(np.asarray(tx.asarray(ro)), ro)  # copy=None still copies
    writable = np.arange(3.0)
    with pytest.raises(ValueError, match="writable") as info:
        tx.asarray(writable, copy=False)
    assert THIS_FILE in str(info.value) and "copy=None" in str(info.value)
    with pytest.raises(ValueError, match="float32"):
        tx.asarray(ro, dtype=tx.float32, copy=False)
    with pytest.raises(ValueError, match="list"):
        tx.asarray([1, 2], copy=False)
    assert tx.asarray(ro, dtype=tx.float64, copy=False).shape == (3,)


def test_compiled_functions_take_numpy_arrays_without_asarray(monkeypatch):
    import tracefuse.frontend.creation as creation

    f = tx.function(lambda x: x * 2.0, backend="numpy")
    x = np.arange(3.0)
    f(x)

    def refuse(*args, **kwargs):
        raise AssertionError("asarray called on the compiled call path")

    monkeypatch.setattr(creation, "asarray", refuse)
    monkeypatch.setattr(tx, "asarray", refuse)
    np.testing.assert_array_equal(f(x).numpy(), x * 2.0)


def test_asarray_errors():
    with pytest.raises(tx.DTypeError, match=THIS_FILE):
        tx.asarray("abc")
    with pytest.raises(tx.DTypeError, match=THIS_FILE):
        tx.asarray(np.array([1 + 2j], np.clongdouble))  # complex64/128 are supported
    with pytest.raises(tx.DTypeError, match=THIS_FILE):
        tx.asarray([[1, 2], [3]])
    with pytest.raises(tx.BackendUnavailableError):
        tx.asarray([1.0], device="gpu")


# --- zeros / ones / full / empty and *_like -----------------------------------------------------
SHAPES = [(), 0, 3, (0,), (1,), (7,), (2, 3), (2, 0, 4), [3, 1]]


@pytest.mark.parametrize("shape", SHAPES, ids=repr)
@pytest.mark.parametrize("dtype", (None,) + ALL_DTYPES)
def test_zeros_ones_empty(shape, dtype):
    for tx_fn, np_fn in ((tx.zeros, np.zeros), (tx.ones, np.ones)):
        check(lambda: tx_fn(shape, dtype=dtype), lambda: np_fn(shape, dtype=dtype or np.float64))
    e = tx.empty(shape, dtype=dtype)
    expected = np.empty(shape, dtype=dtype or np.float64)
    assert e.shape == expected.shape and e.dtype == expected.dtype
    e2 = tx.function(lambda: tx.empty(shape, dtype=dtype), backend="numpy")()
    assert e2.shape == expected.shape and e2.dtype == expected.dtype


@pytest.mark.parametrize("fill", [0, 7, -3, 2.5, -0.0, True, False, float("inf"), float("nan")],
                         ids=repr)
@pytest.mark.parametrize("dtype", (None, "float32", "int8", "uint8", "int64", "bool", "float64"))
def test_full(fill, dtype):
    if dtype in ("int8", "uint8", "int64") and not np.isfinite(fill):
        return
    if dtype == "uint8" and fill < 0:
        return
    for shape in [(), (5,), (2, 3), (0, 2)]:
        check(lambda: tx.full(shape, fill, dtype=dtype), lambda: np.full(shape, fill, dtype=dtype))


def test_full_with_a_numpy_scalar_or_tensor_fill_value():
    check(lambda: tx.full((2, 2), np.float32(1.5)), lambda: np.full((2, 2), np.float32(1.5)))
    check(lambda: tx.full(3, np.int16(-2)), lambda: np.full(3, np.int16(-2)))
    check(lambda: tx.full((2,), tx.asarray(np.uint8(9))), lambda: np.full((2,), np.uint8(9)))

    @tx.function(backend="numpy")
    def f(v):
        return tx.full((2, 3), v)  # a traced fill value is broadcast

    same(f(np.float32(4.0)), np.full((2, 3), 4.0, np.float32))


@pytest.mark.parametrize("src_dtype", ALL_DTYPES)
def test_like_functions_keep_dtype_and_shape(src_dtype, rng):
    for shape in [(), (0,), (3,), (2, 5)]:
        x = rand(rng, shape, src_dtype)
        check(lambda a: tx.zeros_like(a), lambda a: np.zeros_like(a), x)
        check(lambda a: tx.ones_like(a), lambda a: np.ones_like(a), x)
        check(lambda a: tx.full_like(a, 1), lambda a: np.full_like(a, 1), x)
        check(lambda a: tx.full_like(a, True), lambda a: np.full_like(a, True), x)
        check(lambda a: tx.zeros_like(a, dtype=tx.float32),
              lambda a: np.zeros_like(a, dtype=np.float32), x)
        check(lambda a: tx.ones_like(a, dtype="int16"), lambda a: np.ones_like(a, dtype="int16"), x)
        e = tx.empty_like(x)
        assert e.shape == x.shape and e.dtype == x.dtype
    x = rand(rng, (3,), "int32")
    check(lambda a: tx.full_like(a, 2.7), lambda a: np.full_like(a, 2.7), x)  # truncates to 2
    check(lambda a: tx.full_like(a, 2.7, dtype=tx.float64),
          lambda a: np.full_like(a, 2.7, dtype=np.float64), x)


def test_like_functions_of_tensors(rng):
    t = tx.asarray(rand(rng, (2, 3), "uint16"))
    for got in (tx.zeros_like(t), tx.ones_like(t), tx.full_like(t, 5), tx.empty_like(t)):
        assert got.shape == (2, 3) and got.dtype == tx.uint16
    np.testing.assert_array_equal(tx.full_like(t, 5).numpy(), np.full((2, 3), 5, np.uint16))


def test_creation_errors():
    with pytest.raises(ValueError, match=THIS_FILE):
        tx.zeros((2, -1))
    with pytest.raises(ValueError, match=THIS_FILE):
        tx.full(-3, 1.0)
    with pytest.raises(tx.BackendUnavailableError):
        tx.ones(3, device="cuda")


# --- arange / linspace / eye ---------------------------------------------------------------------
@pytest.mark.parametrize("args,kwargs", [
    ((5,), {}), ((0,), {}), ((-3,), {}), ((2, 9), {}), ((2, 9, 3), {}), ((9, 2, -2), {}),
    ((9, 2), {}), ((0, -10, -3), {}), ((5.0,), {}), ((0.5, 3.0), {}), ((0.0, 1.0, 0.1), {}),
    ((3.0, -1.0, -0.5), {}), ((1, 2.5, 0.5), {}), ((5,), {"dtype": "float32"}),
    ((0, 10, 2), {"dtype": "int8"}), ((10, 0, -3), {"dtype": "uint8"}),
    ((0.0, 1.0, 0.25), {"dtype": "float32"}), ((-5, 5), {"dtype": tx.int16}),
], ids=repr)
def test_arange(args, kwargs):
    np_kwargs = {k: (v.np if isinstance(v, tx.DType) else v) for k, v in kwargs.items()}
    check(lambda: tx.arange(*args, **kwargs), lambda: np.arange(*args, **np_kwargs))
    assert tx.arange(*args, **kwargs).dtype == np.arange(*args, **np_kwargs).dtype


def test_arange_keyword_forms():
    same(tx.arange(2, stop=8, step=2), np.arange(2, 8, 2))
    same(tx.arange(7, step=3), np.arange(0, 7, 3))


@pytest.mark.parametrize("start,stop,num", [
    (0, 1, 5), (0.0, 1.0, 1), (0, 1, 0), (-2.5, 7.0, 33), (5, -5, 11), (1, 1, 4), (0, 10, 2),
], ids=repr)
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
def test_linspace(start, stop, num, endpoint, dtype):
    check(lambda: tx.linspace(start, stop, num, endpoint=endpoint, dtype=dtype),
          lambda: np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype or np.float64))


def test_linspace_endpoint_values():
    np.testing.assert_array_equal(tx.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_array_equal(tx.linspace(0, 1, 4, endpoint=False).numpy(),
                                  [0, 0.25, 0.5, 0.75])


@pytest.mark.parametrize("n,m,k", [
    (1, None, 0), (3, None, 0), (4, None, 1), (4, None, -2), (3, 5, 0), (5, 3, 0), (3, 5, 2),
    (5, 3, -1), (3, 3, 3), (3, 3, -5), (0, None, 0), (2, 0, 0), (33, 7, 4),
], ids=repr)
@pytest.mark.parametrize("dtype", [None, "float32", "int32", "bool", "uint8"])
def test_eye(n, m, k, dtype):
    check(lambda: tx.eye(n, m, k=k, dtype=dtype),
          lambda: np.eye(n, m, k=k, dtype=dtype or np.float64))


# --- inside @tx.function -------------------------------------------------------------------------
def test_creation_inside_function_becomes_graph_ops_not_big_constants(rng):
    x = rand(rng, (200, 300), "float32")

    @tx.function(backend="numpy")
    def f(a):
        z = tx.zeros((200, 300), dtype=tx.float32)
        o = tx.ones((200, 300), dtype=tx.float32)
        h = tx.full((200, 300), 0.5, dtype=tx.float32)
        e = tx.eye(200, 300, k=3, dtype=tx.float32)
        zl = tx.zeros_like(a)
        fl = tx.full_like(a, 2)
        return (a + z) * o - h + e + zl * fl, tx.ones_like(a, dtype=tx.int8)

    got, ones8 = f(x)
    expected = (x + 0) * 1 - np.float32(0.5) + np.eye(200, 300, k=3, dtype=np.float32) + 0 * 2
    same(got, expected.astype(np.float32))
    same(ones8, np.ones((200, 300), np.int8))
    ir = f.get_concrete_function(x).ir("traced")
    assert ir.count("= full {") == 6, ir  # zeros ones full zeros_like full_like ones_like
    assert ir.count("= iota {") == 2, ir  # eye: row and column indices
    for line in ir.splitlines():
        if "constant" in line:  # only scalars (the eye's diagonal offset) may be constants
            assert "[]" in line.split("=")[0], line
    # the graph does not hold a 60000-element literal: the unelided text is small too
    assert len(f.get_concrete_function(x).ir("traced", elide_constants=False)) < 5000


@pytest.mark.parametrize("dtype", [None, "float32", "int16", "bool"])
def test_creation_functions_compiled_match_eager(dtype):
    def f():
        return (tx.zeros((3, 4), dtype=dtype), tx.ones(5, dtype=dtype),
                tx.full((2, 2), 1, dtype=dtype), tx.eye(4, 3, k=-1, dtype=dtype),
                tx.eye(3, dtype=dtype), tx.empty((0, 2), dtype=dtype),
                tx.arange(6, dtype=dtype if dtype != "bool" else None),
                tx.linspace(0, 1, 4, dtype=dtype if dtype == "float32" else None))
    eager = f()
    comp = tx.function(f, backend="numpy")()
    for e, c in zip(eager, comp):
        same(c, e.numpy())


def test_arange_and_linspace_inside_function_are_numpys_numbers():
    @tx.function(backend="numpy")
    def f(a):
        return a + tx.arange(0.0, 1.0, 0.1), a * tx.linspace(-1, 1, 10, endpoint=False)

    a = np.ones(10)
    r1, r2 = f(a)
    same(r1, 1 + np.arange(0.0, 1.0, 0.1))
    same(r2, np.linspace(-1, 1, 10, endpoint=False))


# --- Tensor basics: repr, numpy(), immutability ---------------------------------------------------
def test_tensor_repr_format():
    t = tx.asarray(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    assert repr(t) == "tx.Tensor([[1. 2.] [3. 4.]], shape=(2, 2), dtype=float32, device=cpu)"
    assert repr(tx.asarray(np.array(3, np.int8))) == (
        "tx.Tensor(3, shape=(), dtype=int8, device=cpu)")
    assert repr(tx.asarray([True, False])) == (
        "tx.Tensor([ True False], shape=(2,), dtype=bool, device=cpu)")
    assert repr(tx.zeros((0, 2), dtype=tx.int64)) == (
        "tx.Tensor([], shape=(0, 2), dtype=int64, device=cpu)")
    assert repr(tx.constant([1, 2, 3])) == "tx.Tensor([1 2 3], shape=(3,), dtype=int32, device=cpu)"
    big = repr(tx.arange(1000))
    assert "..." in big and big.endswith("shape=(1000,), dtype=int64, device=cpu)")
    assert "\n" not in repr(tx.ones((3, 3, 3)))


def test_numpy_returns_a_writable_copy():
    t = tx.asarray([1.0, 2.0, 3.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.flags.writeable
    a[0] = 99.0
    assert t.numpy()[0] == 1.0
    assert t.numpy() is not t.numpy()
    r = tx.function(lambda x: x * 2, backend="numpy")(np.ones(3)).numpy()
    assert r.flags.writeable


def test_tensors_are_immutable(rng):
    for t in (tx.asarray([1.0, 2.0]), tx.zeros(3), tx.constant(np.arange(3)), tx.eye(2),
              tx.arange(4), tx.asarray(np.arange(3.0)) + 1,
              tx.function(lambda x: x + 1, backend="numpy")(np.ones(2))):
        arr = np.asarray(t)
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 5
    t = tx.asarray([1.0, 2.0])
    with pytest.raises(TypeError, match="immutable"):
        t[0] = 0.0
    with pytest.raises(AttributeError):
        t.shape = (1, 2)


def test_tensor_attributes():
    t = tx.asarray(np.zeros((2, 3, 4), np.float32))
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size == 24
    assert t.dtype == tx.float32 and t.dtype == np.float32 and t.device == "cpu"
    assert tx.Tensor(np.arange(3)).dtype == tx.int64
    assert float(tx.asarray(2.5)) == 2.5 and int(tx.asarray(3)) == 3
    with pytest.raises(ValueError):
        bool(tx.asarray([1, 2]))


def test_asarray_of_a_nested_list_of_traced_values_stacks_them(rng):
    """As JAX: [[a, b], [b, 1.0]] inside a trace is one array; Python scalars stay weak."""
    a, b = np.float32(rng.uniform(1, 2)), np.float32(rng.uniform(2, 3))
    for backend in ("numpy", "cpu", "gpu-sim"):
        f = tx.function(lambda a, b: tx.asarray([[a, b], [b, 1.0]]), backend=backend)
        got = f(a, b).numpy()
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, np.array([[a, b], [b, 1.0]], np.float32))
    x = rng.standard_normal((2, 3))
    g = tx.function(lambda x: tx.asarray((x[1], x[0] * 2), dtype=tx.float32))
    np.testing.assert_allclose(g(x).numpy(), np.stack([x[1], x[0] * 2]).astype(np.float32))
    with pytest.raises(tx.ShapeError):
        tx.function(lambda x: tx.asarray([x[0], x]))(x)
