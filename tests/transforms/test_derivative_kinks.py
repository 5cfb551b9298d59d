"""Derivatives at kinks (JAX's conventions, transforms/derivatives.py), second derivatives,
Hessians and Jacobians against analytic results, and the dtypes of gradients.

Kinks, asserted exactly in both modes: abs at 0 is 0; maximum/minimum ties give 0.5 to each
side; max/min reductions share between ties equally (1/2, 1/3); clip at a bound gives 0.5 (it
is minimum(maximum(x, lo), hi)); pow has d/dx = 0 where y == 0 and d/dy = 0 where x == 0;
hypot is 0 at the origin; prod is exact with one zero and with two zeros; logaddexp with an
infinite operand. The compiled transforms (grad, hessian, jacfwd, jacrev) run on the numpy
backend here: the compiled backends have their own tests.
"""

from __future__ import annotations

import math

import numpy as np
import oracle
import pytest

import tracefuse as tx

F32, F64 = tx.float32, tx.float64


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tx.config.backend("numpy"):
        yield


def rand(rng, *shape, lo=-2.0, hi=2.0, dtype="float64"):
    return np.asarray(oracle.rand(rng, shape, dtype, low=lo, high=hi))


def both_modes(f, xs, i: int) -> tuple[np.ndarray, np.ndarray]:
    """d f / d xs[i] of an elementwise f (no broadcasting), the other operands held constant
    (not differentiated: an explicit zero tangent times an infinite or NaN partial of another
    operand would be NaN), by reverse mode (the cotangent of a ones seed) and by forward mode
    (the tangent along ones)."""
    def g(a):
        return f(*xs[:i], a, *xs[i + 1:])

    out, pull = tx.vjp(g, xs[i])
    rev = pull(np.ones(out.shape, out.numpy().dtype))[0].numpy()
    fwd = tx.jvp(g, (xs[i],), (np.ones_like(xs[i]),))[1].numpy()
    return rev, fwd


def assert_both(f, xs, i, expected, what):
    rev, fwd = both_modes(f, xs, i)
    np.testing.assert_array_equal(rev, expected, err_msg=f"{what}: reverse mode")
    np.testing.assert_array_equal(fwd, expected, err_msg=f"{what}: forward mode")


def test_abs_at_zero(rng):
    x = rand(rng, 8, lo=0.5, hi=2.0) * rng.choice([-1.0, 1.0], size=8)
    x[[1, 4]] = 0.0, -0.0
    assert_both(tx.abs, [x], 0, np.sign(x), "abs")
    assert np.all(np.sign(x)[[1, 4]] == 0)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_ties_share_half(name, rng):
    x, y = rand(rng, 3, 4), rand(rng, 3, 4)
    tie = rng.random((3, 4)) < 0.5
    y[tie] = x[tie]
    wins = (x > y) if name == "maximum" else (x < y)
    fn = getattr(tx, name)
    assert_both(fn, [x, y], 0, np.where(tie, 0.5, np.where(wins, 1.0, 0.0)), f"{name} d/dx")
    assert_both(fn, [x, y], 1, np.where(tie, 0.5, np.where(wins, 0.0, 1.0)), f"{name} d/dy")


def test_maximum_with_zero_at_zero(rng):
    x = rand(rng, 6)
    x[[0, 3]] = 0.0
    assert_both(lambda x: tx.maximum(x, 0.0), [x], 0,
                np.where(x == 0, 0.5, (x > 0).astype(np.float64)), "relu-like maximum")


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("axis, keepdims", [(1, False), (0, True), (None, False)])
def test_reduction_ties_share_equally(name, axis, keepdims, rng):
    # values from a small set, so rows and columns hold 1, 2 and 3 equal extremes
    x = rng.choice([-1.5, -0.25, 0.75, 2.0], size=(4, 5)).astype(np.float64)
    x[0, [0, 2, 4]] = x[0].max() + 1.0 if name == "max" else x[0].min() - 1.0
    reduce = getattr(np, name)
    fn = lambda x: getattr(tx, name)(x, axis=axis, keepdims=keepdims)
    m = reduce(x, axis=axis, keepdims=True)
    hits = (x == m).astype(np.float64)
    share = hits / hits.sum(axis=axis, keepdims=True)
    assert np.any((share > 0) & (share < 1)), "no ties were built"
    out, pull = tx.vjp(fn, x)
    u = rng.standard_normal(out.shape)
    u_full = u if keepdims or axis is None else np.expand_dims(u, axis)
    np.testing.assert_array_equal(pull(u)[0].numpy(), u_full * share)
    v = rng.standard_normal(x.shape)
    t = tx.jvp(fn, (x,), (v,))[1].numpy()
    expected = np.sum(v * share, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(t, expected, rtol=1e-15, atol=1e-15)


def test_clip_at_bounds(rng):
    x = rand(rng, 3, 6)
    lo, hi = rand(rng, 6, lo=-1.5, hi=-0.5), rand(rng, 3, 1, lo=0.5, hi=1.5)
    x[0, :2] = lo[:2]
    x[1, 2:4] = hi[1, 0]
    x[2, 4], x[2, 5] = lo[4], hi[2, 0]
    lo_b, hi_b = np.broadcast_to(lo, x.shape), np.broadcast_to(hi, x.shape)
    at = (x == lo_b) | (x == hi_b)
    assert at.sum() == 6
    inside = (x > lo_b) & (x < hi_b)
    d_dx = np.where(at, 0.5, np.where(inside, 1.0, 0.0))
    d_dlo = np.where(x == lo_b, 0.5, np.where(x < lo_b, 1.0, 0.0))
    d_dhi = np.where(x == hi_b, 0.5, np.where(x > hi_b, 1.0, 0.0))
    f = tx.clip
    xs = [x, lo, hi]
    _, pull = tx.vjp(f, *xs)
    cts = [c.numpy() for c in pull(np.ones(x.shape))]
    np.testing.assert_array_equal(cts[0], d_dx)
    np.testing.assert_array_equal(cts[1], d_dlo.sum(axis=0))
    np.testing.assert_array_equal(cts[2], d_dhi.sum(axis=1, keepdims=True))
    for i, d in enumerate([d_dx, d_dlo, d_dhi]):
        ts = tuple(np.ones_like(a) if k == i else np.zeros_like(a) for k, a in enumerate(xs))
        np.testing.assert_array_equal(tx.jvp(f, tuple(xs), ts)[1].numpy(), d,
                                      err_msg=f"clip: forward mode, operand {i}")
    # Python bounds
    assert_both(lambda x: tx.clip(x, -0.5, 1.0), [np.array([-0.5, 1.0, 0.25, 3.0, -2.0])], 0,
                np.array([0.5, 0.5, 1.0, 0.0, 0.0]), "clip with Python bounds")


def test_pow_at_zero_exponent_and_zero_base(rng):
    x = rand(rng, 4, 5, lo=0.5, hi=2.0)
    y = rand(rng, 4, 5, lo=0.5, hi=2.0)
    x[0], y[1] = 0.0, 0.0  # row 0: 0 ** y; row 1: x ** 0
    x[1, 0] = 0.0  # 0 ** 0
    x[2, 1], y[2, 1] = -1.5, 0.0  # a negative base ** 0
    with np.errstate(all="ignore"):  # d/dx at 0 ** 0.5 is inf, d/dy at (-1.5) ** 0 NaN
        d_dx, d_dy = y * x ** (y - 1), np.log(x) * x ** y
    for got in both_modes(tx.pow, [x, y], 0):
        assert np.all(got[y == 0] == 0.0), "d/dx pow(x, 0) must be 0 (also at x == 0)"
        np.testing.assert_allclose(got[y != 0], d_dx[y != 0], rtol=1e-14)
    for got in both_modes(tx.pow, [x, y], 1):
        assert np.all(got[x == 0] == 0.0), "d/dy pow(0, y) must be 0"
        np.testing.assert_allclose(got[x > 0], d_dy[x > 0], rtol=1e-14)


def test_hypot_at_origin(rng):
    x, y = rand(rng, 6), rand(rng, 6)
    x[[0, 3]] = y[[0, 3]] = 0.0
    r = np.hypot(x, y)
    safe = np.where(r == 0, 1.0, r)
    for i, num in enumerate((x, y)):
        rev, fwd = both_modes(tx.hypot, [x, y], i)
        for got in (rev, fwd):
            assert np.all(got[[0, 3]] == 0.0)
            np.testing.assert_allclose(got, num / safe, rtol=1e-15)


def _product_of_others(x: np.ndarray, axis: int) -> np.ndarray:
    """A Python loop: for each element, the product of the others along `axis`."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(moved.shape[:-1]):
        row = moved[idx]
        for k in range(row.size):
            p = 1.0
            for j in range(row.size):
                if j != k:
                    p *= row[j]
            out[idx + (k,)] = p
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("zeros", [0, 1, 2, 3])
def test_prod_with_zeros_exact(zeros, rng):
    # integer-valued floats: every product is exact, so the loop and the rule agree exactly
    x = rng.choice([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], size=(3, 5))
    x[0, rng.choice(5, size=zeros, replace=False)] = 0.0
    if zeros:
        x[2, 1] = 0.0  # another row with one zero
    others = _product_of_others(x, 1)
    _, pull = tx.vjp(lambda x: tx.prod(x, axis=1), x)
    u = rng.choice([-2.0, 1.0, 3.0], size=(3,))
    np.testing.assert_array_equal(pull(u)[0].numpy(), u[:, None] * others)
    v = rng.choice([-1.0, 2.0], size=(3, 5))
    t = tx.jvp(lambda x: tx.prod(x, axis=1), (x,), (v,))[1].numpy()
    np.testing.assert_array_equal(t, np.sum(v * others, axis=1))
    # the whole array at once
    flat_others = _product_of_others(x.reshape(1, -1), 1).reshape(x.shape)
    np.testing.assert_array_equal(tx.grad(tx.prod)(x).numpy(), flat_others)


def test_logaddexp_with_infinite_operands(rng):
    x = rand(rng, 4)
    y = np.array([-np.inf, -np.inf, np.inf, 0.5])
    rev_x, fwd_x = both_modes(tx.logaddexp, [x, y], 0)
    rev_y, fwd_y = both_modes(tx.logaddexp, [x, y], 1)
    # -inf: the other operand alone is the result (derivative 1 and 0); +inf: JAX replaces the
    # +inf operand and result by 0 in exp(operand - result)
    expect_x = np.array([1.0, 1.0, math.exp(x[2]), 1.0 / (1.0 + math.exp(0.5 - x[3]))])
    expect_y = np.array([0.0, 0.0, 1.0, 1.0 / (1.0 + math.exp(x[3] - 0.5))])
    for got in (rev_x, fwd_x):
        np.testing.assert_allclose(got, expect_x, rtol=1e-15)
    for got in (rev_y, fwd_y):
        np.testing.assert_allclose(got, expect_y, rtol=1e-15)


# --- second derivatives ------------------------------------------------------------------------
SECOND = [
    ("sin", tx.sin, lambda x: -np.sin(x)),
    ("cube", lambda x: x ** 3, lambda x: 6.0 * x),
    ("x_exp", lambda x: tx.exp(x) * x, lambda x: np.exp(x) * (x + 2.0)),
    ("tanh", tx.tanh, lambda x: -2.0 * np.tanh(x) * (1.0 - np.tanh(x) ** 2)),
    ("log", tx.log, lambda x: -1.0 / x ** 2),
    ("atan", tx.atan, lambda x: -2.0 * x / (1.0 + x ** 2) ** 2),
    ("sqrt", tx.sqrt, lambda x: -0.25 * x ** -1.5),
]


@pytest.mark.parametrize("name, f, d2", SECOND, ids=[s[0] for s in SECOND])
def test_second_derivative(name, f, d2, rng):
    x0 = rand(rng, lo=0.5, hi=2.0)
    got = tx.grad(tx.grad(f))(x0)
    assert got.shape == () and got.dtype == F64
    np.testing.assert_allclose(got.numpy(), d2(x0), rtol=1e-12)
    # elementwise over a vector: grad of the sum of the gradient
    x = rand(rng, 5, lo=0.5, hi=2.0)
    df = tx.grad(lambda y: tx.sum(f(y)))
    np.testing.assert_allclose(tx.grad(lambda y: tx.sum(df(y)))(x).numpy(), d2(x),
                               rtol=1e-12)
    # forward over reverse: the Hessian-vector product of a diagonal Hessian
    v = rng.standard_normal(5)
    np.testing.assert_allclose(tx.jvp(df, (x,), (v,))[1].numpy(), d2(x) * v, rtol=1e-12)


def test_third_derivative_of_cube(rng):
    x = rand(rng)
    got = tx.grad(tx.grad(tx.grad(lambda x: x ** 3)))(x)
    np.testing.assert_allclose(got.numpy(), 6.0, rtol=1e-14)


def test_hessian_of_cubes_is_diagonal(rng):
    x = rand(rng, 4)
    h = tx.hessian(lambda x: tx.sum(x ** 3))(x)
    np.testing.assert_allclose(h.numpy(), np.diag(6.0 * x), rtol=1e-13, atol=0)
    X = rand(rng, 2, 3)
    H = tx.hessian(lambda x: tx.sum(x ** 3))(X).numpy()
    assert H.shape == (2, 3, 2, 3)
    expected = np.diag(6.0 * X.ravel()).reshape(2, 3, 2, 3)
    np.testing.assert_allclose(H, expected, rtol=1e-13, atol=0)


def test_hessian_of_quadratic_form(rng):
    A = rand(rng, 4, 4)
    x = rand(rng, 4)
    h = tx.hessian(lambda x: 0.5 * (x @ (tx.asarray(A) @ x)))(x)
    np.testing.assert_allclose(h.numpy(), (A + A.T) / 2, rtol=1e-13, atol=1e-15)


def test_hessian_of_logsumexp_is_softmax_jacobian(rng):
    x = rand(rng, 5)

    def logsumexp(x):
        m = tx.max(x)
        return m + tx.log(tx.sum(tx.exp(x - m)))

    p = np.exp(x - x.max())
    p /= p.sum()
    np.testing.assert_allclose(tx.grad(logsumexp)(x).numpy(), p, rtol=1e-13)
    h = tx.hessian(logsumexp)(x).numpy()
    np.testing.assert_allclose(h, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


def _vector_fn(x):
    return tx.stack([tx.sin(x[0] * x[1]), x[0] ** 2 + x[2], tx.exp(x[1]) * x[2], x @ x])


def _vector_jacobian(x):
    a, b, c = x
    return np.array([[b * np.cos(a * b), a * np.cos(a * b), 0.0],
                     [2 * a, 0.0, 1.0],
                     [0.0, np.exp(b) * c, np.exp(b)],
                     2 * x])


def test_jacfwd_and_jacrev_agree_with_analytic(rng):
    x = rand(rng, 3)
    fwd = tx.jacfwd(_vector_fn)(x).numpy()
    rev = tx.jacrev(_vector_fn)(x).numpy()
    assert fwd.shape == rev.shape == (4, 3)
    np.testing.assert_allclose(fwd, _vector_jacobian(x), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(rev, fwd, rtol=1e-13, atol=1e-15)


def test_jacobians_of_several_outputs_and_matrix_input(rng):
    X = rand(rng, 2, 2)

    def f(x):
        return x @ x, tx.sum(tx.sin(x), axis=0)

    eye = np.eye(2)
    # d(XX)_ij / dX_kl = delta_ik X_lj + X_ik delta_jl
    d_sq = np.einsum("ik,lj->ijkl", eye, X) + np.einsum("ik,jl->ijkl", X, eye)
    d_sin = np.einsum("jl,kj->jkl", eye, np.cos(X))  # d sum_i sin(X_ij) / dX_kl
    for jac in (tx.jacfwd(f), tx.jacrev(f)):
        sq, s = jac(X)
        assert sq.shape == (2, 2, 2, 2) and s.shape == (2, 2, 2)
        np.testing.assert_allclose(sq.numpy(), d_sq, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(s.numpy(), d_sin, rtol=1e-13, atol=1e-15)


# --- dtypes ------------------------------------------------------------------------------------
def test_float32_function_has_float32_gradient(rng):
    x = rand(rng, 3, 4, dtype="float32")
    g = tx.grad(lambda x: tx.sum(tx.sin(x) * x))(x)
    assert g.dtype == F32
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(g.numpy(), np.cos(x64) * x64 + np.sin(x64), rtol=2e-6, atol=1e-6)
    (ct,) = tx.vjp(tx.exp, x)[1](np.ones((3, 4), np.float32))
    assert ct.dtype == F32
    assert tx.jvp(tx.exp, (x,), (np.ones((3, 4), np.float32),))[1].dtype == F32


def test_mixed_precision_gradients_keep_each_dtype(rng):
    x = rand(rng, 3, 1, dtype="float32")
    y = rand(rng, 4)
    value, (gx, gy) = tx.value_and_grad(lambda x, y: tx.sum(x * y), argnums=(0, 1))(x, y)
    assert value.dtype == F64
    assert (gx.dtype, gx.shape) == (F32, (3, 1)) and (gy.dtype, gy.shape) == (F64, (4,))
    np.testing.assert_allclose(gx.numpy(), np.full((3, 1), y.sum(), np.float32), rtol=1e-6)
    np.testing.assert_allclose(gy.numpy(), np.full(4, x.astype(np.float64).sum()), rtol=1e-14)
    # forward mode: the tangent has the result's dtype
    t = tx.jvp(lambda x, y: x * y, (x, y), (np.ones_like(x), np.zeros_like(y)))[1]
    assert (t.dtype, t.shape) == (F64, (3, 4))


def test_weak_python_constants_keep_float32(rng):
    x = rand(rng, 5, dtype="float32")

    def f(x):
        return tx.sum((x * 2.5 + 1.0) ** 2 / 3.0)

    value, g = tx.value_and_grad(f)(x)
    assert value.dtype == F32 and g.dtype == F32
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(g.numpy(), 2 * (x64 * 2.5 + 1.0) * 2.5 / 3.0, rtol=2e-6)
    h = tx.hessian(f)(x)
    assert h.dtype == F32
    np.testing.assert_allclose(h.numpy(), np.eye(5) * 2 * 2.5 ** 2 / 3.0, rtol=2e-6, atol=0)
