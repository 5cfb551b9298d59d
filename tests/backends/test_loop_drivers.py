"""Compiled loop drivers of the cpu backend (backends/numba/driver.py): a scan, while_loop or
static fori_loop that does not fuse into one kernel runs as one Numba function with the loop
inside. Each test compiles through the public API on "cpu", checks that the driver (or, for an
ineligible body, the Python loop) is what runs (the `f.lower(...).notes()` lines), and compares
with a plain Python loop in NumPy on random inputs; where the driver runs, its results also
equal the Python loop's exactly (the same kernels in the same order), and no result shares
memory with an argument.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_same, rand

import tracefuse as tx
from tracefuse.backends import get_backend
from tracefuse.backends.numba import driver

pytestmark = pytest.mark.skipif(get_backend("cpu").unavailable() is not None,
                                reason=str(get_backend("cpu").unavailable()))

DRIVER = "compiled loop driver"
PYTHON_LOOP = "Python loop over the body's runner"


def loop_notes(fn, *args) -> list[str]:
    """The notes of the loops (the lines that say driver or Python loop)."""
    notes = tx.function(fn, backend="cpu").lower(*args).notes
    return [n for n in notes if DRIVER in n or PYTHON_LOOP in n]


def compiled(fn, *args, expect=DRIVER):
    """fn on cpu, after checking its loop runs as `expect` says; and, for a driver, the
    executable's results on NumPy copies of the args: exactly the Python loop's, sharing
    memory with no argument."""
    notes = loop_notes(fn, *args)
    assert notes and all(expect in n for n in notes), notes
    result = tx.function(fn, backend="cpu")(*args)
    if expect == DRIVER:
        assert_same_as_python_loop(fn, args)
    return result


def assert_same_as_python_loop(fn, args):
    backend = get_backend("cpu")
    cf = tx.function(fn, backend="cpu").get_concrete_function(*args)
    arrays = [np.array(a) for a in args]
    with_driver = backend.load(cf.lowered)(list(arrays))
    refusal = driver.refusal
    try:  # the same plan, every loop refused: plan.py's Python loop
        driver.refusal = lambda step: "forced by the test"
        python_loop = backend.load(cf.lowered)(list(arrays))
    finally:
        driver.refusal = refusal
    assert len(with_driver) == len(python_loop)
    for d, p in zip(with_driver, python_loop):
        np.testing.assert_array_equal(d, p)
        assert d.dtype == p.dtype
        for a in arrays:
            assert not np.shares_memory(d, a), "a driver result shares memory with an argument"


# --- scan -----------------------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
def test_scan_with_xs_ys_consts_and_a_pytree_carry(rng, reverse):
    h0, s0 = rand(rng, (6,), "float32"), rand(rng, (), "float32")
    xs, w = rand(rng, (9, 6), "float32"), rand(rng, (6,), "float32", low=-1, high=1)

    def fn(h0, s0, xs, w):
        def step(carry, x):
            h = tx.tanh(carry["h"] * w + x)
            return {"h": h, "s": carry["s"] + tx.sum(h)}, (h * 2.0, carry["s"])
        return tx.scan(step, {"h": h0, "s": s0}, xs, reverse=reverse)

    def oracle(h0, s0, xs, w):
        h, s, ys1, ys2 = h0, s0, np.empty_like(xs), np.empty(len(xs), np.float32)
        for t in (range(len(xs) - 1, -1, -1) if reverse else range(len(xs))):
            h_new = np.tanh(h * w + xs[t])
            ys1[t], ys2[t] = h_new * np.float32(2.0), s
            h, s = h_new, np.float32(s + np.sum(h_new))
        return h, s, ys1, ys2

    carry, (ys1, ys2) = compiled(fn, h0, s0, xs, w)
    want = oracle(h0, s0, xs, w)
    for got, exp in zip((carry["h"], carry["s"], ys1, ys2), want):
        assert_same(got, exp, rtol=1e-5, atol=1e-5)


def test_scan_over_a_vector_slices_scalars(rng):
    xs, c0 = rand(rng, (17,), "float64"), rand(rng, (3,), "float64")

    def fn(c0, xs):
        return tx.scan(lambda c, x: (c * 0.5 + x, tx.max(c) + x), c0, xs)

    carry, ys = compiled(fn, c0, xs)
    c, want = c0, []
    for x in xs:
        want.append(np.max(c) + x)
        c = c * 0.5 + x
    assert_same(carry, c)
    assert_same(ys, np.array(want))


def test_scan_with_a_matmul_and_views(rng):
    """h = tanh(h @ W + x @ U + b), the workload of the benchmark, and a transposed carry."""
    h0, xs = rand(rng, (8,), "float32"), rand(rng, (12, 8), "float32")
    w, u = rand(rng, (8, 8), "float32", low=-0.3, high=0.3), rand(rng, (8, 8), "float32")
    b, m0 = rand(rng, (8,), "float32"), rand(rng, (3, 8), "float32", low=-1, high=1)

    def fn(h0, m0, xs, w, u, b):
        def step(carry, x):
            h, m = carry
            h = tx.tanh(h @ w + x @ u + b)
            m = tx.tanh(tx.permute_dims(w @ tx.permute_dims(m, (1, 0)), (1, 0)) + h)
            return (h, m), h
        return tx.scan(step, (h0, m0), xs)

    (h, m), hs = compiled(fn, h0, m0, xs, w, u, b)
    eh, em, ehs = h0, m0, np.empty_like(xs)
    for t in range(len(xs)):
        eh = np.tanh(eh @ w + xs[t] @ u + b)
        em = np.tanh((w @ em.T).T + eh)
        ehs[t] = eh
    for got, exp in ((h, eh), (m, em), (hs, ehs)):
        assert_same(got, exp, rtol=1e-4, atol=1e-5)


# --- while_loop and fori_loop ---------------------------------------------------------------
@pytest.mark.parametrize("limit", [0, 1, 23])
def test_while_loop_including_zero_trips(rng, limit):
    x0, c = rand(rng, (10,), "float32"), rand(rng, (4, 10), "float32", low=-1, high=1)

    def fn(x0, c, n):
        def body(s):
            i, x = s
            return i + 1, tx.sin(x) + tx.sum(c, axis=0) * 0.25
        return tx.while_loop(lambda s: s[0] < n, body, (np.int32(0), x0))

    i, x = compiled(fn, x0, c, np.int32(limit))
    ex = x0
    for _ in range(limit):
        ex = np.sin(ex) + np.sum(c, axis=0) * np.float32(0.25)
    assert_same(i, np.int32(limit))
    assert_same(x, ex, rtol=1e-5, atol=1e-6)


def test_while_loop_zero_trips_results_are_not_the_arguments(rng):
    x0 = rand(rng, (5,), "float64")

    def fn(x0):
        return tx.while_loop(lambda x: tx.sum(x) > 1e9, lambda x: x * 2.0 + tx.max(x), x0)

    assert_same(compiled(fn, x0), x0)


def test_fori_loop_uses_its_counter(rng):
    a0, b0 = rand(rng, (10,), "float32"), rand(rng, (3,), "float32")

    def fn(a0, b0):
        def body(i, s):
            a, b = s
            f = i.astype(tx.float32)
            return a * 0.5 + f, b - f * tx.mean(a)
        return tx.fori_loop(2, 40, body, (a0, b0))

    a, b = compiled(fn, a0, b0)
    ea, eb = a0, b0
    for i in range(2, 40):
        f = np.float32(i)
        ea, eb = ea * np.float32(0.5) + f, eb - f * np.mean(ea)
    assert_same(a, ea, rtol=1e-5)
    assert_same(b, eb, rtol=1e-5)


# --- what the driver refuses ----------------------------------------------------------------
def test_an_ineligible_body_keeps_the_python_loop_and_matches(rng):
    c0, xs = rand(rng, (6,), "float32"), rand(rng, (5, 6), "float32")

    def fn(c0, xs):
        def step(c, x):
            k = tx.argmax(c + x)
            return c * 0.5 + x, k
        return tx.scan(step, c0, xs)

    notes = loop_notes(fn, c0, xs)
    assert any("argmax" in n for n in notes), notes
    carry, ks = compiled(fn, c0, xs, expect=PYTHON_LOOP)
    c, want = c0, []
    for x in xs:
        want.append(np.argmax(c + x))
        c = c * np.float32(0.5) + x
    assert_same(carry, c)
    assert_same(ks, np.array(want, dtype=np.asarray(ks).dtype))


def test_an_integer_matmul_keeps_the_python_loop(rng):
    c0, w = rand(rng, (4,), "int32", low=-2, high=2), rand(rng, (4, 4), "int32", low=-1, high=1)

    def fn(c0, w):
        return tx.fori_loop(0, 5, lambda i, c: (c @ w) % 7, c0)

    got = compiled(fn, c0, w, expect=PYTHON_LOOP)
    c = c0
    for _ in range(5):
        c = (c @ w) % 7
    assert_same(got, c)
    assert "matmul" in loop_notes(fn, c0, w)[0]


def test_results_never_alias_inputs_or_each_other(rng):
    """A carry the body returns unchanged, a const returned as a y, zero trips."""
    x0, k = rand(rng, (4,), "float32"), rand(rng, (4,), "float32")

    def fn(x0, k):
        def step(c, _):
            a, b = c
            return (a + tx.sum(b), b), k
        return tx.scan(step, (x0, x0), None, length=3)

    (a, b), ys = compiled(fn, x0, k)
    assert_same(b, x0)
    assert_same(ys, np.stack([k] * 3))
    exe = get_backend("cpu").load(tx.function(fn, backend="cpu")
                                  .get_concrete_function(x0, k).lowered)
    args = [x0.copy(), k.copy()]
    results = exe(args)
    for r in results:
        for arg in args:
            assert not np.shares_memory(r, arg)


def test_a_large_body_keeps_the_python_loop(rng):
    """2^16 elements or more per kernel: parallel loops and pooled buffers in the Python loop."""
    x0 = rand(rng, (1 << 16,), "float32", low=0.5, high=4)

    def fn(x0):
        return tx.while_loop(lambda x: tx.max(x) > 1.0, lambda x: tx.sqrt(x) * 0.9, x0)

    notes = loop_notes(fn, x0)
    assert any("is large" in n for n in notes), notes
    x = x0
    while np.max(x) > 1.0:
        x = np.sqrt(x) * np.float32(0.9)
    assert_same(compiled(fn, x0, expect=PYTHON_LOOP), x)
