"""tx.erf and tx.erfc against scipy.special (NumPy has neither), eagerly and compiled on numpy,
cpu and gpu-sim: random values in float32 and float64, integer inputs (float64 results), the
shapes and layouts of the oracle, the extremes (0, -0.0, tiny, +-5, +-30, inf, NaN), erfc's
relative accuracy far in its tail (erfc(10) = 2.09e-45), and gradients against the formula
2/sqrt(pi) exp(-x^2) and finite differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
from oracle import BACKENDS, SHAPES, assert_same, check, layouts, rand

import tracefuse as tx

MODES = ("eager",) + tuple(dict.fromkeys(BACKENDS + ("cpu",)))
FUNCS = {"erf": (tx.erf, scipy.special.erf), "erfc": (tx.erfc, scipy.special.erfc)}
# erfc(t) to 30 digits (mpmath), where it is tiny: float64 must hold its relative accuracy
ERFC_TAIL = {5.0: 1.5374597944280348502e-12, 10.0: 2.0884875837625447570e-45,
             20.0: 5.3958656116079009289e-176, 26.0: 5.6631924088561428447e-296}
ERFC_TAIL_F32 = {3.0: 2.2090496998585441373e-05, 9.0: 4.1370317465138102381e-37}


def _run(mode, fn, *args):
    return fn(*args) if mode == "eager" else tx.function(fn, backend=mode)(*args)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_values(rng, name, dtype):
    tx_fn, ref = FUNCS[name]
    x = rand(rng, (257,), dtype, low=-6.0, high=6.0)
    check(tx_fn, ref, x, modes=MODES)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_shapes(rng, name, shape):
    tx_fn, ref = FUNCS[name]
    check(tx_fn, ref, rand(rng, shape, "float32", low=-3.0, high=3.0), modes=MODES)


@pytest.mark.parametrize("name", FUNCS)
def test_layouts(rng, name):
    tx_fn, ref = FUNCS[name]
    for x in layouts(rand(rng, (6, 5), "float64", low=-3.0, high=3.0)):
        check(tx_fn, ref, x, modes=MODES)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", ["int8", "int32", "uint16", "bool"])
def test_integer_inputs_give_float64(rng, name, dtype):
    tx_fn, ref = FUNCS[name]
    x = rand(rng, (9,), dtype, low=-4, high=4)
    check(tx_fn, lambda a: ref(a.astype(np.float64)), x, modes=MODES)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extremes(name, dtype):
    tx_fn, ref = FUNCS[name]
    tiny = np.finfo(dtype).smallest_subnormal
    x = np.array([0.0, -0.0, tiny, -tiny, 1e-30, -1e-30, 5.0, -5.0, 30.0, -30.0, np.inf,
                  -np.inf, np.nan, 0.5, -0.5, 1.0, -1.0, 3.75], dtype)
    expected = ref(x)
    for mode in MODES:
        got = _run(mode, tx_fn, x)
        assert_same(got, expected, what=f"{name} {mode}")
        g = got.numpy()
        if name == "erf":  # odd, exactly: signs of zeros and of +-tiny kept
            np.testing.assert_array_equal(np.signbit(g[:6]), np.signbit(x[:6]), err_msg=mode)


@pytest.mark.parametrize("dtype,tail", [("float64", ERFC_TAIL), ("float32", ERFC_TAIL_F32)])
def test_erfc_tail_relative_accuracy(dtype, tail):
    x = np.array(list(tail), dtype)
    exact = np.array(list(tail.values()))
    rtol = 8 * np.finfo(dtype).eps
    for mode in MODES:
        got = _run(mode, tx.erfc, x).numpy()
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, exact, rtol=rtol, atol=0, err_msg=mode)
        # erfc(-t) = 2 - erfc(t): the tail rounds away against 2
        np.testing.assert_allclose(_run(mode, tx.erfc, -x).numpy(), (2.0 - exact).astype(dtype),
                                   rtol=np.finfo(dtype).eps, atol=0, err_msg=mode)


def test_fused_with_other_ops(rng):
    """erf inside a fused kernel: GELU's exact form, 0.5 x (1 + erf(x / sqrt(2)))."""
    x = rand(rng, (64, 33), "float32", low=-4.0, high=4.0)

    def gelu(v):
        return 0.5 * v * (1.0 + tx.erf(v * (1.0 / math.sqrt(2.0))))

    def gelu_np(v):
        c = np.float32(1.0 / math.sqrt(2.0))
        return np.float32(0.5) * v * (np.float32(1.0) + scipy.special.erf(v * c))

    check(gelu, gelu_np, x, modes=MODES, atol=1e-6)


@pytest.mark.parametrize("name,sign", [("erf", 1.0), ("erfc", -1.0)])
@pytest.mark.parametrize("mode", MODES)
def test_gradient(rng, name, sign, mode):
    tx_fn, ref = FUNCS[name]
    x = rand(rng, (5, 3), "float64", low=-2.5, high=2.5)
    g = tx.grad(lambda v: tx.sum(tx_fn(v)))
    if mode != "eager":
        g = tx.function(g, backend=mode)
    got = g(x)
    assert_same(got, sign * 2.0 / math.sqrt(math.pi) * np.exp(-x * x), what=mode)
    h = 1e-6
    fd = (ref(x + h) - ref(x - h)) / (2 * h)
    np.testing.assert_allclose(got.numpy(), fd, rtol=1e-6, atol=1e-9, err_msg=mode)


def test_second_derivative(rng):
    x = rand(rng, (7,), "float64", low=-2.0, high=2.0)
    g2 = tx.grad(lambda v: tx.sum(tx.grad(lambda u: tx.sum(tx.erf(u)))(v)))
    assert_same(g2(x), -4.0 * x / math.sqrt(math.pi) * np.exp(-x * x))


def test_vmap(rng):
    x = rand(rng, (4, 6), "float32", low=-3.0, high=3.0)
    out = tx.vmap(lambda r: tx.erfc(r) * tx.erf(r[0]))(x)
    assert_same(out, scipy.special.erfc(x) * scipy.special.erf(x[:, :1]))
