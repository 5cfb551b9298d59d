"""NumPy's functions on tracefuse arrays: `np.sum(t)`, `np.mean(t)` ... call the Tensor's (or
the Tracer's) method with NumPy's keywords (`out=None`, `dtype=`, `ddof=` ...); the result is a
tracefuse array with NumPy's values. `out=` other than None cannot work on immutable arrays and
says so."""

import numpy as np
import pytest

import tracefuse as tx

X = np.array([[1.5, -2.0, 3.25], [4.0, 0.5, -7.0]])
B = np.array([[True, False, True], [True, True, True]])

FUNCTIONS = [np.sum, np.mean, np.max, np.min, np.prod, np.any, np.all, np.argmax, np.argmin,
             np.std, np.var]


def _input(fn):
    return B if fn in (np.any, np.all) else X


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kwargs", [{}, {"axis": 0}, {"axis": 1, "keepdims": True}, {"axis": -1}],
                         ids=repr)
def test_numpy_reduction_of_a_tensor(fn, kwargs):
    x = _input(fn)
    if fn in (np.argmax, np.argmin) and "axis" not in kwargs and kwargs:
        pytest.skip("argmax/argmin take keepdims only with an axis here")
    got = fn(tx.asarray(x), **kwargs)
    expected = fn(x, **kwargs)
    assert isinstance(got, tx.Tensor)
    assert got.shape == np.shape(expected) and got.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-15)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_numpy_reduction_of_a_tracer(fn):
    x = _input(fn)
    f = tx.function(lambda a: fn(a, axis=0), backend="numpy")
    got = f(x)
    assert isinstance(got, tx.Tensor)
    np.testing.assert_allclose(got.numpy(), fn(x, axis=0), rtol=1e-15)


def test_numpy_keywords():
    t = tx.asarray(X)
    np.testing.assert_allclose(np.std(t, ddof=1).numpy(), np.std(X, ddof=1))
    np.testing.assert_allclose(np.var(t, axis=0, ddof=1).numpy(), np.var(X, axis=0, ddof=1))
    np.testing.assert_allclose(t.var(correction=1).numpy(), np.var(X, ddof=1))
    m = np.mean(t, dtype=np.float32)
    assert m.dtype == tx.float32
    np.testing.assert_allclose(m.numpy(), np.mean(X, dtype=np.float32), rtol=1e-6)
    s = np.sum(tx.asarray(np.arange(4, dtype=np.int8)), dtype=np.int16)
    assert s.dtype == tx.int16 and int(s) == 6
    np.testing.assert_array_equal(np.clip(t, -1, 1).numpy(), np.clip(X, -1, 1))
    assert float(np.sum(tx.ones(2))) == 2.0  # the example


WRAPPED = (np.argmax, np.argmin, np.clip)  # NumPy retries these on a copy when a method refuses


@pytest.mark.parametrize("fn", FUNCTIONS + [np.clip], ids=lambda f: f.__name__)
def test_out_is_refused_clearly(fn):
    x = _input(fn)
    args = (-1, 1) if fn is np.clip else ()
    out = np.empty_like(fn(x, *args))
    with pytest.raises(TypeError, match="immutable") as info:
        getattr(tx.asarray(x), fn.__name__)(*args, out=out)
    assert "out=None" in str(info.value)
    if fn in WRAPPED:  # NumPy catches the TypeError and computes on np.asarray(t) into out
        assert fn(tx.asarray(x), *args, out=out) is out
        np.testing.assert_array_equal(out, fn(x, *args))
    else:
        with pytest.raises(TypeError, match="immutable"):
            fn(tx.asarray(x), *args, out=out)


def test_unsupported_arguments():
    t = tx.asarray(X)
    with pytest.raises(TypeError, match="ddof or correction"):
        t.std(ddof=1, correction=1)
    with pytest.raises(TypeError, match="floating"):
        np.mean(t, dtype=np.int64)
    with pytest.raises(TypeError):
        np.sum(t, where=X > 0)  # not supported: a TypeError, not a wrong answer
