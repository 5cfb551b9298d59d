"""tx.linalg against NumPy (numpy.linalg is the oracle): eager and compiled on every backend
under test and on cpu (Numba); float32 and float64 with tolerances scaled by the condition
number, stacks of matrices, empty stacks and 0 x 0 matrices, integer operands (cast to
float64, as NumPy), errors (non-square, singular, not positive definite, wrong ranks and
dtypes) at the user's line, eagerly and compiled, and the IR text of the calls."""

import math

import numpy as np
import oracle
import pytest

import tracefuse as tx
from tracefuse.ir import parse_graph, print_graph

L = tx.linalg
MODES = oracle.MODES + (() if "cpu" in oracle.MODES else ("cpu",))
EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}


def square(rng, shape, dtype):
    """Random matrices plus n I: invertible and well conditioned."""
    n = shape[-1]
    return (oracle.rand(rng, shape, dtype, low=-1, high=1) + n * np.eye(n)).astype(dtype)


def spd(rng, shape, dtype):
    x = oracle.rand(rng, shape, "float64", low=-1, high=1)
    return (x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def rtol_for(x, dtype) -> float:
    """A relative tolerance scaled by the condition number of the matrices in x."""
    cond = 1.0
    if x.size and x.shape[-1] == x.shape[-2] and x.shape[-1]:
        cond = float(np.max(np.linalg.cond(x.astype(np.float64))))
    return 50 * EPS[dtype] * max(cond, 1.0) * max(x.shape[-1], 1)


STACKS = [(3, 3), (2, 4, 4), (2, 1, 1), (0, 3, 3), (2, 0, 0)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", STACKS)
def test_square_functions_match_numpy(shape, dtype, rng):
    a = square(rng, shape, dtype)
    tol = rtol_for(a, dtype)
    oracle.check(L.inv, np.linalg.inv, a, rtol=tol, atol=tol, modes=MODES)
    oracle.check(L.det, np.linalg.det, a, rtol=tol, modes=MODES)
    oracle.check(lambda x: tuple(L.slogdet(x)), lambda x: tuple(np.linalg.slogdet(x)), a,
                 rtol=tol, atol=tol, modes=MODES)
    s = spd(rng, shape, dtype)
    tol = rtol_for(s, dtype)
    oracle.check(L.cholesky, np.linalg.cholesky, s, rtol=tol, atol=tol, modes=MODES)
    oracle.check(lambda x: L.cholesky(x, upper=True),
                 lambda x: np.linalg.cholesky(x, upper=True), s, rtol=tol, atol=tol, modes=MODES)
    oracle.check(lambda x: tuple(L.eigh(x)), lambda x: tuple(np.linalg.eigh(x)), s,
                 rtol=tol, atol=tol, modes=MODES)
    oracle.check(L.eigvalsh, np.linalg.eigvalsh, s, rtol=tol, atol=tol, modes=MODES)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3), (2, 4, 2), (0, 2, 3), (3, 0)])
def test_factorizations_match_numpy(shape, dtype, rng):
    x = oracle.rand(rng, shape, dtype, low=-1, high=1)
    tol = 200 * EPS[dtype]
    for mode in ("reduced", "complete"):
        oracle.check(lambda a, mode=mode: tuple(L.qr(a, mode=mode)),
                     lambda a, mode=mode: tuple(np.linalg.qr(a, mode=mode)), x, rtol=tol, atol=tol,
                     modes=MODES)
    for full in (True, False):
        oracle.check(lambda a, full=full: tuple(L.svd(a, full_matrices=full)),
                     lambda a, full=full: tuple(np.linalg.svd(a, full_matrices=full)), x, rtol=tol,
                     atol=tol, modes=MODES)
    oracle.check(L.svdvals, np.linalg.svdvals, x, rtol=tol, atol=tol, modes=MODES)
    oracle.check(L.pinv, np.linalg.pinv, x, rtol=tol * 10, atol=tol * 10, modes=MODES)
    oracle.check(L.matrix_rank, np.linalg.matrix_rank, x, modes=MODES)


def test_results_are_namedtuples(rng):
    a = spd(rng, (3, 3), "float64")
    assert L.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert L.slogdet(a)._fields == ("sign", "logabsdet")
    assert L.svd(a)._fields == ("U", "S", "Vh")
    assert L.qr(a)._fields == ("Q", "R")
    r = tx.function(L.svd, backend="numpy")(a)
    assert type(r) is L.SVDResult and r.S.shape == (3,)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("a_shape, b_shape", [((3, 3), (3,)), ((3, 3), (3, 2)),
                                              ((2, 3, 3), (3,)), ((2, 3, 3), (3, 4)),
                                              ((3, 3), (2, 3, 1)), ((2, 1, 3, 3), (4, 3, 2)),
                                              ((0, 3, 3), (3,)), ((2, 2), (2, 0))])
def test_solve_broadcasts_as_the_standard(a_shape, b_shape, dtype, rng):
    a = square(rng, a_shape, dtype)
    b = oracle.rand(rng, b_shape, dtype)
    tol = rtol_for(a, dtype)
    oracle.check(L.solve, np.linalg.solve, a, b, rtol=tol, atol=tol, modes=MODES)


def test_integer_operands_become_float64(rng):
    a = rng.integers(-3, 4, (3, 3)) + 8 * np.eye(3, dtype=np.int64)
    oracle.check(L.inv, np.linalg.inv, a)
    oracle.check(L.det, np.linalg.det, a.astype(np.int32))
    oracle.check(L.solve, np.linalg.solve, a, np.arange(3, dtype=np.int16))
    oracle.check(lambda x: L.solve(x, np.ones(3, np.float32)),
                 lambda x: np.linalg.solve(x, np.ones(3, np.float32)), a)
    oracle.check(lambda x: L.matrix_power(x, 3), lambda x: np.linalg.matrix_power(x, 3), a)


def test_singular_matrices(rng):
    det0 = np.array([[1.0, 2.0], [2.0, 4.0]])
    oracle.check(L.det, np.linalg.det, det0, atol=1e-15)
    oracle.check(lambda x: tuple(L.slogdet(x)), lambda x: tuple(np.linalg.slogdet(x)), det0)
    for mode in MODES:
        for fn, what in [(L.inv, "singular"), (lambda x: L.solve(x, np.ones(2)), "singular"),
                         (L.cholesky, "positive definite")]:
            with pytest.raises(np.linalg.LinAlgError, match=f"linalg.*{what}"):
                oracle.run(mode, fn, det0)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite.*test_linalg.py"):
        L.cholesky(-np.eye(3))  # eagerly, the message names the user's line


@pytest.mark.parametrize("fn", [L.inv, L.det, L.cholesky, L.eigh, L.slogdet, L.matrix_power])
def test_shape_and_dtype_errors_name_the_line(fn):
    call = (lambda x: fn(x, 2)) if fn is L.matrix_power else fn
    for bad in (np.ones((3, 4)), np.ones(3), np.float64(2.0)):
        with pytest.raises(tx.ShapeError, match=r"(square|matri|dimension).*test_linalg.py"):
            call(bad)
        with pytest.raises(tx.ShapeError, match="square|matri|dimension"):
            tx.function(call, backend="numpy")(bad)
    if fn is not L.matrix_power:
        with pytest.raises(tx.DTypeError, match="float32 or float64"):
            fn(np.eye(3, dtype=np.float16))


def test_other_errors():
    with pytest.raises(tx.ShapeError, match="1-d"):
        L.outer(np.ones((2, 2)), np.ones(2))
    with pytest.raises(tx.ShapeError, match="3 elements"):
        L.cross(np.ones(4), np.ones(4))
    with pytest.raises(IndexError, match="out of range"):
        L.cross(np.ones((3, 3)), np.ones(3), axis=-2)  # beyond the 1-d operand's axes
    with pytest.raises(tx.ShapeError, match="do not broadcast"):
        L.solve(np.ones((2, 3, 3)), np.ones((4, 3, 1)))
    with pytest.raises(ValueError, match="ord"):
        L.matrix_norm(np.ones((2, 2)), ord=3)
    with pytest.raises(ValueError, match="ord"):
        L.vector_norm(np.ones(2), ord="fro")
    with pytest.raises(TypeError, match="integer exponent"):
        L.matrix_power(np.eye(2), 1.5)
    with pytest.raises(ValueError, match="mode"):
        L.qr(np.eye(2), mode="r")


# --- composed functions ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_norms_match_numpy(dtype, rng):
    x = oracle.rand(rng, (2, 3, 4), dtype, low=-2, high=2)
    tol = 100 * EPS[dtype]
    for ord in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
        for keepdims in (False, True):
            oracle.check(lambda a, o=ord, k=keepdims: L.matrix_norm(a, ord=o, keepdims=k),
                         lambda a, o=ord, k=keepdims: np.linalg.matrix_norm(a, ord=o, keepdims=k), x,
                         rtol=tol)
    for ord in (2, 1, 0, math.inf, -math.inf, 3, -1.5, 0.5):
        for axis in (None, -1, (0, 2)):
            oracle.check(lambda a, x=axis, o=ord: L.vector_norm(a, axis=x, ord=o, keepdims=True),
                         lambda a, x=axis, o=ord: np.linalg.vector_norm(a, axis=x, ord=o,
                                                                       keepdims=True),
                         x, rtol=tol)
    x.flat[3] = 0.0
    oracle.check(lambda a: L.vector_norm(a, ord=0, axis=1),
                 lambda a: np.linalg.vector_norm(a, ord=0, axis=1), x)


def test_vector_norm_of_specials():
    x = np.array([[1.0, np.inf, -2.0], [np.nan, 1.0, 0.0], [-0.0, 0.0, -0.0]])
    for ord in (2, 1, math.inf):
        oracle.check(lambda a, o=ord: L.vector_norm(a, axis=1, ord=o),
                     lambda a, o=ord: np.linalg.vector_norm(a, axis=1, ord=o), x)


@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3), (5, 5), (0, 2, 2), (1, 1)])
@pytest.mark.parametrize("offset", [0, 1, -2, 7])
def test_diagonal_and_trace_match_numpy(shape, offset, rng):
    x = oracle.rand(rng, shape, "float64")
    oracle.check(lambda a: L.diagonal(a, offset=offset),
                 lambda a: np.linalg.diagonal(a, offset=offset), x)
    oracle.check(lambda a: L.trace(a, offset=offset),
                 lambda a: np.linalg.trace(a, offset=offset), x)
    i = oracle.rand(rng, shape, "int32")
    oracle.check(lambda a: L.trace(a, offset=offset), lambda a: np.linalg.trace(a, offset=offset),
                 i)
    oracle.check(lambda a: L.trace(a, offset=offset, dtype=tx.float32),
                 lambda a: np.linalg.trace(a, offset=offset, dtype=np.float32), i)


def test_products_match_numpy(rng):
    a, b = oracle.rand(rng, (4, 3), "float32"), oracle.rand(rng, (2, 1, 3), "float64")
    oracle.check(L.cross, np.linalg.cross, a, b)
    oracle.check(lambda x, y: L.cross(x, y, axis=0), lambda x, y: np.linalg.cross(x, y, axis=0),
                 a.T, a[::-1].T.copy())
    v, w = oracle.rand(rng, (5,), "float64"), oracle.rand(rng, (3,), "int32")
    oracle.check(L.outer, np.linalg.outer, v, w)
    x, y = oracle.rand(rng, (2, 3, 4), "float64"), oracle.rand(rng, (4, 3, 5), "float64")
    for axes in (0, 1, ([1, 2], [1, 0]), ([-1], [0])):
        oracle.check(lambda p, q, ax=axes: L.tensordot(p, q, axes=ax),
                     lambda p, q, ax=axes: np.linalg.tensordot(p, q, axes=ax), x, y)
    oracle.check(L.vecdot, np.linalg.vecdot, x, x[::-1])
    oracle.check(L.matmul, np.linalg.matmul, x, y[:, :, 0].copy())
    oracle.check(L.matrix_transpose, np.linalg.matrix_transpose, x)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, -1, -3])
def test_matrix_power_matches_numpy(n, rng):
    a = square(rng, (2, 3, 3), "float64")
    oracle.check(lambda x: L.matrix_power(x, n), lambda x: np.linalg.matrix_power(x, n), a,
                 rtol=1e-12, modes=MODES)


def test_matrix_rank_and_pinv_with_rtol(rng):
    u = oracle.rand(rng, (3, 5, 2), "float64")
    low = u @ np.swapaxes(u, -1, -2)  # rank 2 of 5
    oracle.check(L.matrix_rank, np.linalg.matrix_rank, low)
    oracle.check(lambda a: L.matrix_rank(a, rtol=0.5),
                 lambda a: np.linalg.matrix_rank(a, rtol=0.5), low)
    rtol = np.array([1e-9, 0.5, 0.99])
    oracle.check(lambda a, r: L.matrix_rank(a, rtol=r),
                 lambda a, r: np.linalg.matrix_rank(a, rtol=r), low, rtol)
    oracle.check(L.pinv, np.linalg.pinv, low, rtol=1e-9, atol=1e-12)
    oracle.check(lambda a: L.pinv(a, rtol=0.3), lambda a: np.linalg.pinv(a, rtol=0.3), low,
                 rtol=1e-9, atol=1e-12)


def test_calls_sit_between_fused_kernels(rng):
    a = square(rng, (3, 3), "float64")

    def f(x):
        return tx.exp(L.inv(x * 2.0 + 1.0)) - 1.0

    oracle.check(f, lambda x: np.exp(np.linalg.inv(x * 2.0 + 1.0)) - 1.0, a, rtol=1e-12,
                 modes=MODES)
    text = tx.function(f, backend="numpy").lower(a).ir()
    assert text.count("kernel") >= 2 and 'fn="linalg.inv"' in text


def test_the_ir_of_calls_prints_and_parses(rng):
    a = square(rng, (3, 3), "float64")

    def f(x):
        q, r = L.qr(x, mode="complete")
        u, s, vh = L.svd(x, full_matrices=False)
        return L.solve(x, q) + L.cholesky(x @ x.mT) + L.inv(r) + u * s + vh + L.det(x)

    graph = tx.function(f, backend="numpy").get_concrete_function(a).stage_graph("traced")
    text = print_graph(graph)
    assert 'mode="complete"' in text and "full_matrices=false" in text
    assert print_graph(parse_graph(text)) == text
