"""The derivatives of tx.linalg (transforms/library/linalg.py and the composed functions)
against central finite differences (the harness of test_derivative_rules.py: vjp, jvp and
their agreement, contiguous and not), vmap against a loop, the tape, compiled gradients.

Conventions the cases respect, as JAX's tests do: `cholesky` and `eigh` read one triangle and
differentiate the symmetric part, so their inputs are built symmetric (x @ x.mT + n I) from the
differentiated x; eigenvectors and singular vectors are unique only up to the sign of each
vector, so the functions of them are sign-invariant (v * v, u_i v_i^T); values are distinct
(random matrices). `COVERED` lists the library functions this file differentiates, for the
coverage test of test_library_rules.py."""

from __future__ import annotations

import numpy as np
import oracle
import pytest
from test_derivative_rules import U, case, check_case, fd_jacobian, noncontiguous

import tracefuse as tx

L = tx.linalg


def wellcond(*shape):
    """Random matrices plus 2n I: invertible, condition number about 3."""
    def make(rng):
        n = shape[-1]
        return oracle.rand(rng, shape, "float64", low=-1.0, high=1.0) + 2.0 * n * np.eye(n)
    return make


def _spd(x):
    """A symmetric positive-definite matrix built from x (what cholesky / eigh see)."""
    return x @ L.matrix_transpose(x) + 3.0 * tx.eye(x.shape[-1], dtype=x.dtype)


def _sym(x):
    return x + L.matrix_transpose(x)


# sign-invariant functions of eigenvectors and singular vectors (each vector's sign is free)
def _eigh_vectors(r):
    return r.eigenvectors ** 2 * r.eigenvalues[..., None, :]


def _svd_squares(r):
    return r.U ** 2 + r.Vh ** 2


def _svd_mixed(r):
    return (r.U * r.S[..., None, :]) @ r.Vh ** 2 + r.U ** 2


def _svd_first_pair(r):
    return r.U[..., :1] * r.Vh[..., :1, :]  # u_1 v_1^T: the signs cancel


def _qr_first(r):
    return r.Q * 2.0 + r.R[..., :1, :]


def _qr_cubed(r):
    return r.Q ** 3 @ r.R


CASES = [
    case("inv", lambda a: L.inv(a), wellcond(3, 3)),
    case("inv_stack", lambda a: L.inv(a) ** 2, wellcond(2, 3, 3)),
    case("solve_matrix", lambda a, b: L.solve(a, b), wellcond(3, 3), U(3, 2)),
    case("solve_vector", lambda a, b: L.solve(a, b), wellcond(3, 3), U(3)),
    case("solve_broadcast", lambda a, b: L.solve(a, b), wellcond(2, 3, 3), U(3, 2)),
    case("det", lambda a: L.det(a), wellcond(3, 3)),
    case("det_stack", lambda a: L.det(a * 0.5), U(2, 3, 3)),
    case("slogdet", lambda a: L.slogdet(a).logabsdet * L.slogdet(a).sign, U(2, 3, 3)),
    case("cholesky", lambda x: L.cholesky(_spd(x)), U(3, 3)),
    case("cholesky_upper_stack", lambda x: L.cholesky(_spd(x), upper=True), U(2, 3, 3)),
    case("eigh_values", lambda x: L.eigvalsh(_sym(x)), U(4, 4)),
    case("eigh_vectors", lambda x: _eigh_vectors(L.eigh(_sym(x))), U(2, 3, 3)),
    case("svd_values_tall", lambda x: L.svdvals(x), U(4, 3)),
    case("svd_values_full_wide", lambda x: L.svd(x).S, U(2, 3)),
    case("svd_vectors_square", lambda x: _svd_squares(L.svd(x)), U(3, 3)),
    case("svd_vectors_tall", lambda x: _svd_mixed(L.svd(x, full_matrices=False)), U(4, 3)),
    case("svd_vectors_wide_stack", lambda x: _svd_first_pair(L.svd(x, full_matrices=False)),
         U(2, 2, 4)),
    case("qr_tall", lambda x: _qr_first(L.qr(x)), U(4, 3)),
    case("qr_square_stack", lambda x: L.qr(x).Q @ L.qr(x).R ** 2, U(2, 3, 3)),
    case("qr_wide", lambda x: _qr_cubed(L.qr(x)), U(3, 5)),
    case("qr_complete_wide", lambda x: L.qr(x, mode="complete").R, U(2, 4)),
    # composed functions: their derivatives come from the ops they are made of
    case("pinv", lambda x: L.pinv(x), U(4, 3)),
    case("matrix_norm_nuc_2", lambda x: L.matrix_norm(x, ord="nuc") + L.matrix_norm(x, ord=-2),
         U(2, 3, 4)),
    case("matrix_norm_fro_1_inf", lambda x: L.matrix_norm(x) * L.matrix_norm(x, ord=1)
         + L.matrix_norm(x, ord=np.inf), U(3, 4)),
    case("vector_norm", lambda x: L.vector_norm(x, axis=1, ord=3) + L.vector_norm(x, axis=1),
         U(3, 4)),
    case("matrix_power", lambda a: L.matrix_power(a, 5) + L.matrix_power(a, -2), wellcond(3, 3)),
    case("trace_diagonal", lambda x: L.trace(x, offset=1) * L.diagonal(x, offset=-1)[..., 0],
         U(2, 3, 4)),
    case("cross_outer", lambda x, y: L.outer(L.cross(x, y), y), U(3), U(3)),
]

# the library functions differentiated above (test_library_rules.py's coverage test reads it)
COVERED = {"linalg.inv", "linalg.solve", "linalg.det", "linalg.slogdet", "linalg.cholesky",
           "linalg.eigh", "linalg.svd", "linalg.qr"}


@pytest.mark.parametrize("c", CASES)
def test_linalg_against_finite_differences(c, rng):
    xs = [maker(rng) for maker in c.makers]
    out, blocks = fd_jacobian(c, xs)
    assert np.all(np.isfinite(out)) and all(np.all(np.isfinite(b)) for b in blocks)
    check_case(c, xs, out, blocks, rng, "contiguous")
    check_case(c, [noncontiguous(x) for x in xs], out, blocks, rng, "non-contiguous")


def test_every_covered_function_has_a_case():
    names = " ".join(c.values[0].name for c in CASES)
    for fn in COVERED:
        assert fn.split(".")[1] in names, fn


def test_float32_gradient_of_solve(rng):
    a = wellcond(3, 3)(rng).astype(np.float32)
    b = U(3)(rng).astype(np.float32)
    ga, gb = tx.grad(lambda a, b: tx.sum(L.solve(a, b) ** 2), argnums=(0, 1))(a, b)
    x = np.linalg.solve(a.astype(np.float64), b.astype(np.float64))
    want_b = np.linalg.solve(a.T.astype(np.float64), 2 * x)
    assert ga.dtype == tx.float32 and gb.dtype == tx.float32
    np.testing.assert_allclose(gb.numpy(), want_b, rtol=1e-4)
    np.testing.assert_allclose(ga.numpy(), -np.outer(want_b, x), rtol=1e-4)


def test_vector_derivatives_that_do_not_exist_raise(rng):
    x = U(3, 4)(rng)
    with pytest.raises(tx.ShapeError, match="full_matrices=False"):
        tx.grad(lambda a: tx.sum(L.svd(a).U))(x)
    g = tx.grad(lambda a: tx.sum(L.svd(a).S))(x)  # the values alone: fine
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(g.numpy(), u @ vh, rtol=1e-10)
    with pytest.raises(tx.ShapeError, match="mode='reduced'"):
        tx.grad(lambda a: tx.sum(L.qr(a, mode="complete").Q))(x.T)


def test_vmap_matches_a_loop(rng):
    a = wellcond(3, 4, 4)(rng)
    b = U(3, 4)(rng)
    spd = np.stack([m @ m.T + 4 * np.eye(4) for m in a])
    fns = [
        (L.inv, a), (L.det, a), (lambda m: L.slogdet(m).logabsdet, a), (L.cholesky, spd),
        (lambda m: L.eigh(m).eigenvalues, spd), (L.svdvals, a),
        (lambda m: L.qr(m).R, a), (lambda m: L.svd(m).Vh, a), (L.pinv, a),
        (lambda m: L.matrix_norm(m, ord=2), a),
    ]
    for f, x in fns:
        got = tx.vmap(f)(x).numpy()
        want = np.stack([f(x[i]).numpy() for i in range(3)])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    got = tx.vmap(L.solve)(a, b).numpy()  # both batched
    np.testing.assert_allclose(got, np.stack([np.linalg.solve(a[i], b[i]) for i in range(3)]),
                               rtol=1e-12)
    got = tx.vmap(lambda v: L.solve(a[0], v))(b).numpy()  # the matrix shared
    np.testing.assert_allclose(got, np.linalg.solve(a[0], b.T).T, rtol=1e-12)
    got = tx.vmap(L.inv, in_axes=1)(np.moveaxis(a, 0, 1)).numpy()  # the batch axis second
    np.testing.assert_allclose(got, np.linalg.inv(a), rtol=1e-12)


def test_gradient_tape_through_linalg(rng):
    a = wellcond(3, 3)(rng)
    v = tx.Variable(a)
    with tx.GradientTape() as tape:
        y = L.slogdet(v).logabsdet + tx.sum(L.inv(v))
    g = tape.gradient(y, v).numpy()
    inv = np.linalg.inv(a)
    np.testing.assert_allclose(g, inv.T - inv.T @ np.ones((3, 3)) @ inv.T, rtol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "cpu", "gpu-sim"])
def test_gradients_compile(backend, rng):
    x = U(2, 3, 3)(rng)

    def f(a):
        spd = _spd(a)
        r = L.eigh(spd)
        return (tx.sum(L.cholesky(spd)) + tx.sum(L.slogdet(spd).logabsdet)
                + tx.sum(r.eigenvectors ** 2 * r.eigenvalues[..., None, :]) + tx.sum(L.svdvals(a))
                + tx.sum(L.qr(a).R ** 2) + tx.sum(L.solve(spd, a)))

    eager = tx.grad(f)(x).numpy()
    got = tx.function(tx.grad(f), backend=backend)(x).numpy()
    np.testing.assert_allclose(got, eager, rtol=1e-10)
