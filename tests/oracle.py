"""NumPy as the oracle: run a function eagerly and compiled, compare dtype, shape and values.

`check(tx_fn, np_fn, *inputs)` computes the expected result with `np_fn` on NumPy copies of the
inputs, then runs `tx_fn` eagerly and under `@tx.function` on each backend in `BACKENDS`, and
asserts each result has NumPy's dtype and shape and its values: exactly for ints and bools,
within a tolerance scaled to the dtype for floats, NaN where NumPy has NaN, and the same sign
of zero. Inputs come from `rand`, never zeros, in several layouts (`layouts`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tracefuse as tx

# Compiled backends every oracle test also runs on. The default, the reference interpreter and
# the GPU backend's CUDA C run on the CPU (gpu-sim: TESTING.md tier 2), is what CI runs; the
# full conformance run of the Numba backend is `TRACEFUSE_TEST_BACKENDS=numpy,cpu python -m
# pytest -n 2` (a few thousand Numba kernels: 18 minutes on 2 cores, cold cache), and on a
# machine with a GPU `TRACEFUSE_TEST_BACKENDS=gpu`. tests/backends/test_numba_backend.py runs
# the CPU backend in every run.
BACKENDS: tuple[str, ...] = tuple(
    b.strip() for b in os.environ.get("TRACEFUSE_TEST_BACKENDS", "numpy,gpu-sim").split(",")
    if b.strip())
MODES = ("eager",) + BACKENDS

# relative tolerance per dtype: a few ulps of elementwise math, more for long reductions
RTOL = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-12}

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float32", "float64")
REAL_DTYPES = INT_DTYPES + FLOAT_DTYPES
ALL_DTYPES = ("bool",) + REAL_DTYPES
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 1, 33)]


def rand(rng: np.random.Generator, shape: Sequence[int], dtype: str, *, low: float = -5.0,
         high: float = 5.0, special: bool = False) -> np.ndarray:
    """Random values of `dtype` in [low, high] (clipped to the dtype's range), never all zero.
    With special=True, floats also get NaN, +-inf and -0.0 at random places."""
    shape = tuple(shape)
    d = np.dtype(dtype)
    if d.kind == "b":
        return rng.random(shape) < 0.5
    if d.kind in "iu":
        info = np.iinfo(d)
        lo, hi = max(int(low), info.min), min(int(high), info.max)
        if lo >= hi:
            lo, hi = info.min, info.max
        arr = rng.integers(lo, hi, size=shape, endpoint=True).astype(d)
        return arr
    arr = rng.uniform(low, high, size=shape).astype(d)
    if special and arr.size:
        flat = arr.reshape(-1)
        picks = rng.integers(0, flat.size, size=min(4, flat.size))
        for i, v in zip(picks, (np.nan, np.inf, -np.inf, -0.0)):
            flat[i] = v
    return arr


def layouts(arr: np.ndarray) -> list[np.ndarray]:
    """The same values in several memory layouts: C order, Fortran order (a transposed
    view's base), a negative-stride view, and a strided slice of a larger buffer."""
    out = [arr]
    if arr.ndim >= 2:
        out.append(np.asfortranarray(arr))
    if arr.ndim >= 1 and arr.size:
        rev = np.flip(arr.copy(), axis=0)[::-1]  # negative strides, same values
        out.append(rev)
        big = np.repeat(arr, 2, axis=-1)[..., ::2]  # strided view of a bigger buffer
        out.append(big)
    return out


def assert_same(got: Any, expected: np.ndarray, *, rtol: float | None = None, atol: float = 0.0,
                what: str = "") -> None:
    """`got` (a tx.Tensor) equals `expected` in dtype, shape and values."""
    assert isinstance(got, tx.Tensor), f"{what}: expected a tx.Tensor, got {type(got).__name__}"
    expected = np.asarray(expected)
    g = got.numpy()
    assert g.dtype == expected.dtype, f"{what}: dtype {g.dtype} != NumPy's {expected.dtype}"
    assert g.shape == expected.shape, f"{what}: shape {g.shape} != NumPy's {expected.shape}"
    if g.dtype.kind in "biu":
        np.testing.assert_array_equal(g, expected, err_msg=what)
        return
    if g.dtype.kind == "c":
        _assert_complex(g, expected, rtol, atol, what)
        return
    if rtol is None:
        rtol = RTOL[g.dtype.name]
    np.testing.assert_array_equal(np.isnan(g), np.isnan(expected), err_msg=f"{what}: NaN positions")
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(g[~finite & ~np.isnan(expected)],
                                  expected[~finite & ~np.isnan(expected)], err_msg=f"{what}: infs")
    np.testing.assert_allclose(g[finite], expected[finite], rtol=rtol, atol=atol, err_msg=what)
    zeros = finite & (expected == 0) & (g == 0)
    np.testing.assert_array_equal(np.signbit(g[zeros]), np.signbit(expected[zeros]),
                                  err_msg=f"{what}: sign of zero")


def _assert_complex(g: np.ndarray, expected: np.ndarray, rtol: float | None, atol: float,
                    what: str) -> None:
    """Complex values: each part's NaNs, infinities and signs of zero as NumPy's, and the
    finite values within rtol of |expected| (a complex result is accurate relative to its
    magnitude, not part by part: a tiny imaginary part next to a large real one has few
    correct digits in any implementation). The sign of a zero part next to a NaN part is not
    compared: the standard leaves it unspecified (cosh(0 + i inf) = NaN +- 0j)."""
    if rtol is None:
        rtol = RTOL[np.finfo(g.dtype).dtype.name]
    magnitude = np.abs(expected)
    for part, name in ((np.real, "real"), (np.imag, "imag")):
        gp, ep = part(g), part(expected)
        np.testing.assert_array_equal(np.isnan(gp), np.isnan(ep), err_msg=f"{what}: {name} NaNs")
        inf = np.isinf(ep)
        np.testing.assert_array_equal(gp[inf], ep[inf], err_msg=f"{what}: {name} infs")
        ok = np.isfinite(ep) & np.isfinite(magnitude)
        err = np.abs(gp[ok] - ep[ok])
        bound = rtol * magnitude[ok] + atol
        assert np.all(err <= bound), (
            f"{what}: {name} parts differ: got {gp[ok][err > bound][:5]}, NumPy "
            f"{ep[ok][err > bound][:5]}")
        other = np.imag(expected) if name == "real" else np.real(expected)
        zeros = np.isfinite(ep) & (ep == 0) & (gp == 0) & ~np.isnan(other)
        np.testing.assert_array_equal(np.signbit(gp[zeros]), np.signbit(ep[zeros]),
                                      err_msg=f"{what}: {name} sign of zero")


def run(mode: str, tx_fn: Callable, *inputs: Any):
    """tx_fn applied eagerly (mode "eager") or compiled on backend `mode`."""
    if mode == "eager":
        return tx_fn(*inputs)
    return tx.function(tx_fn, backend=mode)(*inputs)


def check(tx_fn: Callable, np_fn: Callable, *inputs: Any, rtol: float | None = None,
          atol: float = 0.0, modes: Sequence[str] = MODES) -> None:
    """Compare tx_fn with np_fn eagerly and on every compiled backend (see module docstring)."""
    np_inputs = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in inputs]
    with np.errstate(all="ignore"):
        expected = np_fn(*np_inputs)
    for mode in modes:
        got = run(mode, tx_fn, *inputs)
        if isinstance(expected, (tuple, list)):
            assert len(got) == len(expected)
            for i, (g, e) in enumerate(zip(got, expected)):
                assert_same(g, e, rtol=rtol, atol=atol, what=f"{mode}[{i}]")
        else:
            assert_same(got, expected, rtol=rtol, atol=atol, what=mode)
        for x, orig in zip(inputs, np_inputs):
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, orig, err_msg=f"{mode} modified an input")


def check_with_types(tx_fn, np_fn, *inputs, **kwargs):
    """oracle.check, plus: the types the tracer inferred (what later ops see) are NumPy's."""
    check(tx_fn, np_fn, *inputs, **kwargs)
    with np.errstate(all="ignore"):
        expected = np_fn(*[np.array(x, copy=True) if isinstance(x, np.ndarray) else x
                           for x in inputs])
    traced = []
    tx.function(lambda *a: traced.append(tx_fn(*a)) or traced[-1], backend="numpy")(*inputs)
    outs, exps = traced[0], expected
    if not isinstance(exps, (tuple, list)):
        outs, exps = [outs], [exps]
    for t, e in zip(outs, exps):
        e = np.asarray(e)
        assert (t.shape, t.dtype) == (e.shape, e.dtype), f"traced {t!r}, NumPy {e.dtype}{e.shape}"


def run_at_once(fn: Callable[[int], Any], n: int) -> list:
    """fn(0) .. fn(n - 1), each in its own thread, all released together by a barrier; their
    results in order. An exception in any thread is raised here."""
    import threading

    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def work(k):
        try:
            barrier.wait()
            results[k] = fn(k)
        except BaseException as e:  # noqa: BLE001 (raised below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
