"""The cached call path (positional arrays, host Tensors and Python scalars, keyed by a flat
tuple) gives what the general path gives: the same concrete function, the same checks, the
same retrace accounting."""

import warnings

import numpy as np
import pytest

import tracefuse as tx


def test_arrays_tensors_and_scalars_share_concrete_functions():
    f = tx.function(lambda x, s: x * s, backend="numpy")
    x = np.arange(3, dtype=np.float32)
    for args in [(x, 2.0), (x + 1, 3.0), (tx.asarray(x), 0.5), (x, 2.0)]:
        out = f(*args)
        np.testing.assert_array_equal(out.numpy(), np.asarray(args[0]) * np.float32(args[1]))
        assert out.dtype == tx.float32
    assert f.trace_count == 1
    f(x, 2)  # a Python int is another key than a Python float
    f(x, True)
    f(x.astype(np.float64), 2.0)
    f(x, np.float32(2.0))  # a NumPy scalar takes the general path, keyed as float32[]
    assert f.trace_count == 5
    f(x, 7)
    f(x, np.float32(4.0))
    f(s=2.0, x=x)  # keywords take the general path, to the same concrete function
    assert f.trace_count == 5


def test_results_are_read_only_tensors_in_the_returned_structure():
    f = tx.function(lambda x: (x + 1, {"twice": x * 2}), backend="numpy")
    x = np.ones(2)
    for _ in range(2):
        a, d = f(x)
        assert isinstance(a, tx.Tensor) and isinstance(d["twice"], tx.Tensor)
        with pytest.raises(ValueError, match="read-only"):
            np.asarray(a)[0] = 5
    g = tx.function(lambda x: tx.sum(x), backend="numpy")  # a NumPy scalar from the interpreter
    for _ in range(2):
        out = g(np.ones(3))
        assert isinstance(out, tx.Tensor) and out.shape == () and out.item() == 3.0


def test_int_checks_hold_on_every_call():
    f = tx.function(lambda x, n: x + n, backend="numpy")
    x = np.ones(2, np.int8)
    np.testing.assert_array_equal(f(x, 3).numpy(), [4, 4])
    with pytest.raises(OverflowError, match="out of bounds for int8"):
        f(x, 300)  # a cached key: the bound is checked all the same
    with pytest.raises(OverflowError, match="does not fit int64"):
        f(x, 2**70)
    assert f.trace_count == 1


def test_steady_cached_calls_count_toward_the_retrace_window():
    f = tx.function(lambda x: x + 1, backend="numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error", tx.RetraceWarning)
        for n in (1, 2, 3, 4, 5):
            f(np.ones(n))
        for _ in range(20):
            f(np.ones(5))
        f(np.ones(6))  # 5 retraces in all, but only one in the last 10 calls
    with pytest.warns(tx.RetraceWarning, match="retraced 5 times in its last 10 calls"):
        for n in (7, 8, 9, 10, 11):
            f(np.ones(n))


def test_a_cached_call_reads_the_current_default_backend():
    f = tx.function(lambda x: x * 2)
    x = np.ones(2)
    try:
        tx.config.set_backend("numpy")
        f(x)
        f(x)
        with tx.config.backend("cpu"):
            f(x)
            f(x)
    finally:
        tx.config.set_backend(None)
    assert f.trace_count == 2 and sorted(cf.backend for cf in f.concrete_functions) == [
        "cpu", "numpy"]
