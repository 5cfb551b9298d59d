"""Issue #6 item 2: NumPy's semantics at the edges, on every backend and eagerly.

Integer overflow wraps, integer division and remainder by zero give 0, float `//` and `%` with
0, inf, NaN and -0.0, NaN-propagating max/min, -0.0 surviving, inputs never modified, outputs
never aliasing inputs, and closure-captured arrays snapshotted at trace time.

Each test traces one function that computes many cases at once, so the kernels stay few and
repeat across dtypes (the suite must stay fast).
"""

import numpy as np
import pytest

import tracefuse as tx

BACKENDS = ("numpy", "cpu", "gpu-sim")
MODES = ("eager",) + BACKENDS
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def run(fn, mode, *args):
    if mode == "eager":
        return fn(*args)
    return tx.function(fn, backend=mode)(*args)


def leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in leaves(t)]
    return [np.asarray(tree)]


def assert_exact(got, expected, what=""):
    """Same dtype, shape and bits up to NaN payloads (NaN where NumPy has NaN, -0.0 kept)."""
    got, expected = leaves(got), leaves(expected)
    assert len(got) == len(expected), what
    for i, (g, e) in enumerate(zip(got, expected)):
        where = f"{what} output {i}"
        assert g.dtype == e.dtype and g.shape == e.shape, f"{where}: {g.dtype}{g.shape} != {e.dtype}{e.shape}"
        if e.dtype.kind == "f":
            np.testing.assert_array_equal(np.isnan(g), np.isnan(e), err_msg=where)
            ok = ~np.isnan(e)
            np.testing.assert_array_equal(g[ok], e[ok], err_msg=where)
            np.testing.assert_array_equal(np.signbit(g[ok]), np.signbit(e[ok]), err_msg=f"{where} (sign of zero)")
        else:
            np.testing.assert_array_equal(g, e, err_msg=where)


def int_cases(dtype):
    info = np.iinfo(dtype)
    lo = info.min
    a = np.array([lo, info.max, 0, 1, lo, 7, info.max, 5, 3, info.max // 2 + 1], dtype)
    b = np.array([1, 1, 0, 0, 0, info.max, info.max, 0, 2, 2], dtype)
    if lo < 0:
        b[5] = -3
        a[8] = -7
    return a, b


def int_ops(x, y):
    return x + y, x - y, x * y, x * x, -x, abs(x), x // y, x % y


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", INTS)
def test_integer_overflow_wraps_and_division_by_zero_gives_zero(dtype, mode):
    a, b = int_cases(dtype)
    with np.errstate(all="ignore"):
        expected = tuple(np.asarray(v) for v in int_ops(a.copy(), b.copy()))
        got = run(int_ops, mode, a, b)
    assert_exact(got, expected, f"{dtype} {mode}")


def min_div(x, y):
    return x // y, x % y, -x, abs(x)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_min_floor_divided_by_minus_one_wraps(dtype, mode):
    """Fixed (numba_render): int64 MIN // -1 gave 0 on cpu (Numba's own result)."""
    lo = np.iinfo(dtype).min
    a = np.array([lo, lo, lo + 1], dtype)
    b = np.array([-1, -1, -1], dtype)
    with np.errstate(all="ignore"):
        expected = tuple(np.asarray(v) for v in min_div(a, b))
        got = run(min_div, mode, a, b)
    assert_exact(got, expected, f"{dtype} {mode}")


SPECIAL = np.array([1.0, -1.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 5.5, -2.5])


def float_ops(x, y, z, w):
    return (x // y, x % y, tx.maximum(x, y), tx.minimum(x, y), -x, x * y, x * -1.0,
            tx.copysign(x, y), tx.where(x > y, x, y), tx.where(x < 0, -0.0, x),
            tx.max(x), tx.min(x), tx.max(w, axis=0), tx.min(w, axis=0),
            tx.sum(z), tx.max(z), tx.min(z), tx.prod(z), z, -z)


def np_float_ops(x, y, z, w):
    return (x // y, x % y, np.maximum(x, y), np.minimum(x, y), -x, x * y, x * -1.0,
            np.copysign(x, y), np.where(x > y, x, y), np.where(x < 0, -0.0, x).astype(x.dtype),
            np.max(x), np.min(x), np.max(w, axis=0), np.min(w, axis=0),
            np.sum(z), np.max(z), np.min(z), np.prod(z), z, -z)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_floor_divide_remainder_nan_max_min_and_negative_zero(dtype, mode):
    x = np.repeat(SPECIAL, SPECIAL.size).astype(dtype)
    y = np.tile(SPECIAL, SPECIAL.size).astype(dtype)
    z = np.array([-0.0], dtype)
    w = np.array([[1.0, np.nan, -0.0], [np.nan, 2.0, -3.0]], dtype)  # NaN in either row wins
    with np.errstate(all="ignore"):
        expected = np_float_ops(x, y, z, w)
        got = run(float_ops, mode, x, y, z, w)
    assert_exact(got, expected, f"{dtype} {mode}")


def returns_views(x):
    return x, x[1:], x.T, x.reshape(-1), x[::-1], (x + 0, {"same": x})


def _layouts():
    c = np.arange(12.0).reshape(3, 4) - 5.5
    c[0, 0] = -0.0
    strided = np.zeros((6, 8))
    strided[::2, ::2] = c
    f = np.asfortranarray(c)
    neg = np.flip(c.copy(), axis=0)[::-1]
    return {"c": c, "strided": strided[::2, ::2], "fortran": f, "negative": neg}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layout", ["c", "strided", "fortran", "negative"])
def test_inputs_untouched_outputs_never_alias_and_survive_input_mutation(backend, layout):
    x = _layouts()[layout]
    base = x if x.base is None else x.base
    before = base.tobytes()
    f = tx.function(returns_views, backend=backend)
    outs = [np.asarray(o) for o in leaves_of(f(x))]
    assert base.tobytes() == before, "the compiled function wrote to its input"
    expected = [np.asarray(o).copy() for o in leaves_of(returns_views(x.copy()))]
    for o, e in zip(outs, expected):
        assert not np.shares_memory(o, x) and not np.shares_memory(o, base), "output aliases input"
        np.testing.assert_array_equal(o, e)
    snapshot = [o.copy() for o in outs]
    x[...] = 42.0  # the caller's array is writable: changing it must not change the outputs
    for o, s in zip(outs, snapshot):
        np.testing.assert_array_equal(o, s)
    x[...] = expected[0]
    f(x)  # a second call (cache hit) does not modify the input either
    np.testing.assert_array_equal(x, expected[0])
    assert np.signbit(x[0, 0])


def leaves_of(tree):
    if isinstance(tree, dict):
        return [x for v in tree.values() for x in leaves_of(v)]
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in leaves_of(t)]
    return [tree]


@pytest.mark.parametrize("backend", BACKENDS)
def test_returned_tensor_argument_is_not_the_input_buffer(backend):
    t = tx.asarray(np.array([1.0, -0.0, 3.0]))
    out = tx.function(lambda x: x, backend=backend)(t)
    assert not np.shares_memory(np.asarray(out), np.asarray(t))
    assert np.signbit(np.asarray(out)[1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_closure_captured_arrays_are_snapshotted_at_trace_time(backend):
    w = np.array([1.0, 2.0, 3.0])
    f = tx.function(lambda x: x + w, backend=backend)
    x = np.zeros(3)
    first = np.asarray(f(x)).copy()
    w[:] = 100.0  # after the first call (the trace): the compiled function keeps the old values
    np.testing.assert_array_equal(np.asarray(f(x)), first)
    assert f.trace_count == 1


@pytest.mark.parametrize("mode", MODES)
def test_python_int_constant_out_of_range_raises_like_numpy(mode):
    """Fixed (tracer.bind): compiled backends wrapped it (int8 + 300 gave 45)."""
    with pytest.raises(OverflowError):
        np.ones(3, np.int8) + 300
    with pytest.raises(OverflowError, match=r"300 out of bounds for int8.*test_semantics.py:\d+"):
        x = np.ones(3, np.int8)
        np.asarray(run(lambda x: x + 300, mode, tx.asarray(x) if mode == "eager" else x))
    for fn in (lambda x: x - (-1), lambda x: tx.maximum(x, 256), lambda x: x << 300):
        with pytest.raises(OverflowError):
            np.asarray(run(fn, mode, np.arange(3, dtype=np.uint8)))
    # what NumPy takes: comparisons, true division, where and clip, and ints that fit
    x = np.array([-128, 1, 127], np.int8)
    got = run(lambda x: (x < 300, x / 300, tx.where(x > 0, x, -1), x + 127, x * -128), mode, x)
    with np.errstate(over="ignore"):
        expected = (x < 300, x / 300, np.where(x > 0, x, -1).astype(np.int8), x + 127, x * -128)
    assert_exact(got, tuple(np.asarray(e) for e in expected), mode)


@pytest.mark.parametrize("backend", ["numpy", "cpu", "gpu-sim"])
def test_python_int_argument_out_of_range_raises_at_each_call(backend):
    """A Python int *argument* is traced as a weak input, so its value is only known at the
    call: each call checks it against the integer ops it meets (NumPy raises for int8 + 300),
    names the argument and the line, and a later call that fits runs without a retrace."""
    f = tx.function(lambda x, s: (x + s, x < s), backend=backend)
    x = np.array([-128, 1, 127], np.int8)
    with pytest.raises(OverflowError, match=r"argument s is the Python int 300, out of bounds "
                                             r"for int8 in add.*test_semantics.py:\d+"):
        f(x, 300)
    with pytest.raises(OverflowError, match="argument s is the Python int -129"):
        f(x, -129)
    for s in (127, -128, 3):
        got = f(x, s)
        with np.errstate(over="ignore"):
            assert_exact(got, (np.asarray(x + s), np.asarray(x < s)), f"{backend} s={s}")
    assert f.trace_count == 1
    g = tx.function(lambda x, s: x < s, backend=backend)  # comparisons take any Python int
    assert_exact(g(x, 300), np.asarray(x < 300), backend)
