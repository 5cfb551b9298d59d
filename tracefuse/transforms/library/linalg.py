"""Derivative and batching rules of the LAPACK calls of `tx.linalg` (ir/library/linalg.py):
`inv`, `solve`, `det`, `slogdet`, `cholesky`, `qr`, `eigh`, `svd`.

The formulas are the published ones JAX uses (jax/_src/lax/linalg.py), written here for real
matrices (the transposes below are conjugate transposes for complex ones; complex gradients
raise until written):
- inv: dY = -Y dA Y; A_bar = -Y^T Y_bar Y^T.
- solve (X = A^-1 B): dX = A^-1 (dB - dA X); B_bar = A^-T X_bar, A_bar = -B_bar X^T.
- det: d det = det tr(A^-1 dA); A_bar = det_bar det A^-T. slogdet: d logabsdet = tr(A^-1 dA),
  the sign has derivative 0. Both need A invertible (at a singular A the inverse raises).
- cholesky (A = L L^T, of the symmetric part of A): dL = L Phi(L^-1 sym(dA) L^-T), Phi the
  lower triangle with its diagonal halved; its transpose A_bar = sym(L^-T Phi(L^T L_bar) L^-1).
- eigh (A = V diag(w) V^T, of the symmetric part): with M = V^T sym(dA) V, dw = diag(M),
  dV = V (F o M), F_ij = 1 / (w_j - w_i) off the diagonal; A_bar = sym(V (diag(w_bar) +
  F o (V^T V_bar)) V^T).
- svd (A = U diag(s) V^T, reduced): with dP = U^T dA V, ds = diag(dP), dU = U (F o (dP S +
  S dP^T)) + (I - U U^T) dA V S^-1, dV = V (F o (S dP + dP^T S)) + (I - V V^T) dA^T U S^-1,
  F_ij = 1 / (s_j^2 - s_i^2); the VJP is its transpose (Townsend, "Differentiating the
  singular value decomposition", 2016).
- qr (A = Q R, M >= N: the reduced or square case): with C = dA R^-1, q = Q^T C,
  O = tril(q, -1) - tril(q, -1)^T: dQ = Q (O - q) + C, dR = (q - O) R; the VJP is its
  transpose. A wide matrix (M < N) splits A = [A1 A2] with A1 square: Q, R1 are A1's
  factors and R2 = Q^T A2.

The derivatives of eigenvalues and singular values are always defined (and used alone by
`eigvalsh`, `svdvals`, norms); those of eigenvectors and singular vectors need distinct values
(F is infinite at a repeated one) and are unique only up to the sign of each vector, so only
functions invariant under those signs have meaningful derivatives (the tests use such). The
full svd of a non-square matrix (`full_matrices=True`) and the complete qr of a tall one have
no derivative of their extra vectors (as in JAX): the rules raise, naming the reduced forms.
"""

from __future__ import annotations

import numpy as np

from ...errors import DTypeError, ShapeError, with_location
from ...ir import OpCode, TensorType
from ...ir.library import full_params
from ..emit import Emitter
from .common import all_batched, same_call

G = OpCode


def _real_only(e: Emitter, op, x) -> None:
    if x.type.dtype.kind == "c":
        raise DTypeError(with_location(
            f"{op.attrs['fn']}: derivatives of complex matrices are not implemented yet",
            e.loc))


# --- helpers: matrices in rules -------------------------------------------------------------
def _mm(e: Emitter, a, b):
    return e.op(G.MATMUL, a, b)


def _solve(e: Emitter, a, b):
    """a^-1 b, for a and b of one batch shape."""
    return e.call("linalg.solve", a, b)[0]


def _inv(e: Emitter, a):
    return e.call("linalg.inv", a)[0]


def _const(e: Emitter, array: np.ndarray, like) -> object:
    return e.constant(array.astype(like.type.dtype.np))


def _eye(e: Emitter, n: int, like):
    return _const(e, np.eye(n), like)


def _strict_lower(e: Emitter, n: int, like):
    return _const(e, np.tril(np.ones((n, n)), -1), like)


def _sym(e: Emitter, x):
    return e.mul(e.add(x, e.mT(x)), e.scalar(0.5))


def _diag(e: Emitter, x):
    """The diagonals of the (..., n, n) matrices x: (..., n)."""
    *batch, n, _ = x.type.shape
    flat = e.reshape(x, tuple(batch) + (n * n,))
    if n <= 1:
        return e.reshape(x, tuple(batch) + (n,))
    return e.slice_axis(flat, len(batch), 0, n, n + 1)


def _trace(e: Emitter, x):
    return e.sum(_diag(e, x), (x.type.ndim - 2,))


def _row(e: Emitter, v):
    """A (..., k) vector as (..., 1, k): scales the columns of what it multiplies."""
    return e.reshape(v, v.type.shape[:-1] + (1, v.type.shape[-1]))


def _col(e: Emitter, v):
    """A (..., k) vector as (..., k, 1): scales the rows."""
    return e.reshape(v, v.type.shape + (1,))


def _diag_matrix(e: Emitter, v):
    """diag(v) for (..., k) v: (..., k, k)."""
    k = v.type.shape[-1]
    return e.mul(_row(e, v), _eye(e, k, v))


def _scale(e: Emitter, s, x):
    """A batch of scalars (shape of x's batch) times the matrices x."""
    return e.mul(e.reshape(s, s.type.shape + (1, 1)), x)


def _add(e: Emitter, a, b):
    return b if a is None else a if b is None else e.add(a, b)


def _reciprocal_gaps(e: Emitter, values, squared: bool):
    """F_ij = 1 / (v_j - v_i) (or 1 / (v_j^2 - v_i^2)) off the diagonal, 0 on it."""
    k = values.type.shape[-1]
    vj, vi = _row(e, values), _col(e, values)
    gaps = e.mul(e.add(vj, vi), e.sub(vj, vi)) if squared else e.sub(vj, vi)
    eye = _eye(e, k, values)
    return e.sub(e.op(G.RECIPROCAL, e.add(gaps, eye)), eye)


# --- inv, solve, det, slogdet ---------------------------------------------------------------
def _inv_jvp(e, op, xs, ts, outs):
    _real_only(e, op, xs[0])
    (y,) = outs
    return [e.neg(_mm(e, _mm(e, y, ts[0]), y))]


def _inv_vjp(e, op, xs, outs, cts, wants):
    _real_only(e, op, xs[0])
    yt = e.mT(outs[0])
    return [e.neg(_mm(e, _mm(e, yt, cts[0]), yt))]


def _solve_jvp(e, op, xs, ts, outs):
    a, _ = xs
    _real_only(e, op, a)
    (x,) = outs
    rhs = ts[1]
    if ts[0] is not None:
        rhs = _add(e, rhs, e.neg(_mm(e, ts[0], x)))
    return [_solve(e, a, rhs)]


def _solve_vjp(e, op, xs, outs, cts, wants):
    a, _ = xs
    _real_only(e, op, a)
    b_bar = _solve(e, e.mT(a), cts[0])
    a_bar = e.neg(_mm(e, b_bar, e.mT(outs[0]))) if wants[0] else None
    return [a_bar, b_bar]


def _logdet_tangent(e, a, t):
    return _trace(e, _solve(e, a, t))


def _det_jvp(e, op, xs, ts, outs):
    _real_only(e, op, xs[0])
    return [e.mul(outs[0], _logdet_tangent(e, xs[0], ts[0]))]


def _det_vjp(e, op, xs, outs, cts, wants):
    _real_only(e, op, xs[0])
    return [_scale(e, e.mul(cts[0], outs[0]), e.mT(_inv(e, xs[0])))]


def _slogdet_jvp(e, op, xs, ts, outs):
    _real_only(e, op, xs[0])
    return [None, _logdet_tangent(e, xs[0], ts[0])]  # the sign is piecewise constant


def _slogdet_vjp(e, op, xs, outs, cts, wants):
    _real_only(e, op, xs[0])
    if cts[1] is None:
        return [None]
    return [_scale(e, cts[1], e.mT(_inv(e, xs[0])))]


# --- cholesky -------------------------------------------------------------------------------
def _phi(e, x):
    """The lower triangle of x with its diagonal halved."""
    n = x.type.shape[-1]
    return e.mul(x, _const(e, np.tril(np.ones((n, n))) - 0.5 * np.eye(n), x))


def _cholesky_jvp(e, op, xs, ts, outs):
    _real_only(e, op, xs[0])
    (low,) = outs
    s = _sym(e, ts[0])
    m = _solve(e, low, e.mT(_solve(e, low, s)))  # L^-1 S L^-T (S symmetric)
    return [_mm(e, low, _phi(e, m))]


def _cholesky_vjp(e, op, xs, outs, cts, wants):
    _real_only(e, op, xs[0])
    (low,) = outs
    lt = e.mT(low)
    w = _solve(e, lt, _phi(e, _mm(e, lt, cts[0])))  # L^-T Phi(L^T L_bar)
    return [_sym(e, e.mT(_solve(e, lt, e.mT(w))))]  # sym(W L^-1)


# --- eigh -----------------------------------------------------------------------------------
def _eigh_jvp(e, op, xs, ts, outs):
    _real_only(e, op, xs[0])
    w, v = outs
    m = _mm(e, _mm(e, e.mT(v), _sym(e, ts[0])), v)
    dv = _mm(e, v, e.mul(_reciprocal_gaps(e, w, squared=False), m))
    return [_diag(e, m), dv]


def _eigh_vjp(e, op, xs, outs, cts, wants):
    _real_only(e, op, xs[0])
    w, v = outs
    w_bar, v_bar = cts
    inner = None if w_bar is None else _diag_matrix(e, w_bar)
    if v_bar is not None:
        gaps = _reciprocal_gaps(e, w, squared=False)
        inner = _add(e, inner, e.mul(gaps, _mm(e, e.mT(v), v_bar)))
    return [_sym(e, _mm(e, _mm(e, v, inner), e.mT(v)))]


# --- svd ------------------------------------------------------------------------------------
def _is_full(op, outs) -> bool:
    """A full svd of a non-square matrix: U or Vh has vectors beyond the K = min(M, N)."""
    u, _, vh = outs
    return full_params(op.attrs)["full_matrices"] and u.type.shape[-2] != vh.type.shape[-1]


def _svd_reduced(e, op, outs, need_vectors: bool):
    """U, s, Vh of the reduced svd: the call's own, or (full_matrices with M != N) their
    leading K columns / rows; `need_vectors`: raise there (the extra vectors, any orthonormal
    basis of a complement, have no derivative)."""
    u, s, vh = outs
    m, n = u.type.shape[-2], vh.type.shape[-1]
    k = s.type.shape[-1]
    if _is_full(op, outs):
        if need_vectors:
            raise ShapeError(with_location(
                "linalg.svd: the derivative of the singular vectors of a non-square matrix "
                "needs full_matrices=False (the extra vectors of the full svd have none)",
                e.loc))
        u = e.slice_axis(u, u.type.ndim - 1, 0, k)
        vh = e.slice_axis(vh, vh.type.ndim - 2, 0, k)
    return u, s, vh, m, n, k


def _undefined_beyond(e, t, full_type, axis: int):
    """The tangent `t` of the leading vectors, NaN for the extra ones of a full svd (their
    derivative does not exist: using them gives NaN, the values' tangent stays exact)."""
    extra = full_type.shape[axis] - t.type.shape[axis]
    if extra == 0:
        return t
    shape = tuple(extra if i == axis else d for i, d in enumerate(t.type.shape))
    nan = e.full(TensorType(shape, t.type.dtype), float("nan"))
    return e.op(G.CONCAT, t, nan, axis=axis)


def _svd_jvp(e, op, xs, ts, outs):
    _real_only(e, op, xs[0])
    du, ds, dvh = _reduced_svd_jvp(e, op, xs, ts, outs)
    if _is_full(op, outs):
        du = _undefined_beyond(e, du, outs[0].type, outs[0].type.ndim - 1)
        dvh = _undefined_beyond(e, dvh, outs[2].type, outs[2].type.ndim - 2)
    return [du, ds, dvh]


def _reduced_svd_jvp(e, op, xs, ts, outs):
    u, s, vh, m, n, k = _svd_reduced(e, op, outs, need_vectors=False)
    (da,) = ts
    ut, v = e.mT(u), e.mT(vh)
    dp = _mm(e, _mm(e, ut, da), v)
    ds = _diag(e, dp)
    f = _reciprocal_gaps(e, s, squared=True)
    srow, scol = _row(e, s), _col(e, s)
    dps, sdp = e.mul(dp, srow), e.mul(scol, dp)  # dP S, S dP
    du = _mm(e, u, e.mul(f, e.add(dps, e.mT(dps))))
    dv = _mm(e, v, e.mul(f, e.add(sdp, e.mT(sdp))))
    if m > k:
        dav = _mm(e, da, v)
        du = e.add(du, e.div(e.sub(dav, _mm(e, u, _mm(e, ut, dav))), srow))
    if n > k:
        dau = _mm(e, e.mT(da), u)
        dv = e.add(dv, e.div(e.sub(dau, _mm(e, v, _mm(e, vh, dau))), srow))
    return [du, ds, e.mT(dv)]


def _svd_vjp(e, op, xs, outs, cts, wants):
    _real_only(e, op, xs[0])
    u_bar, s_bar, vh_bar = cts
    u, s, vh, m, n, k = _svd_reduced(e, op, outs, u_bar is not None or vh_bar is not None)
    srow, scol = _row(e, s), _col(e, s)
    inner = None if s_bar is None else _diag_matrix(e, s_bar)
    if u_bar is not None or vh_bar is not None:
        f = _reciprocal_gaps(e, s, squared=True)
    extra = None
    if u_bar is not None:
        x = _mm(e, e.mT(u), u_bar)
        inner = _add(e, inner, e.mul(e.mul(f, e.sub(x, e.mT(x))), srow))
        if m > k:  # (I - U U^T) U_bar S^-1 V^T
            rest = e.div(e.sub(u_bar, _mm(e, u, x)), srow)
            extra = _mm(e, rest, vh)
    if vh_bar is not None:
        v, v_bar = e.mT(vh), e.mT(vh_bar)
        y = _mm(e, vh, v_bar)
        inner = _add(e, inner, e.mul(scol, e.mul(f, e.sub(y, e.mT(y)))))
        if n > k:  # U S^-1 V_bar^T (I - V V^T)
            rest = e.div(e.sub(v_bar, _mm(e, v, y)), srow)
            extra = _add(e, extra, _mm(e, u, e.mT(rest)))
    return [_add(e, _mm(e, _mm(e, u, inner), vh), extra)]


# --- qr -------------------------------------------------------------------------------------
def _right_solve_rt(e, x, r):
    """x R^-1 for square upper-triangular R."""
    return e.mT(_solve(e, e.mT(r), e.mT(x)))


def _tall_qr_jvp(e, q, r, da):
    n = r.type.shape[-1]
    c = _right_solve_rt(e, da, r)
    qt = _mm(e, e.mT(q), c)
    low = e.mul(qt, _strict_lower(e, n, qt))
    o = e.sub(low, e.mT(low))
    return e.add(_mm(e, q, e.sub(o, qt)), c), _mm(e, e.sub(qt, o), r)


def _tall_qr_vjp(e, q, r, q_bar, r_bar):
    n = r.type.shape[-1]
    g = None if q_bar is None else _mm(e, e.mT(q), q_bar)
    if r_bar is not None:
        g = _add(e, g, e.neg(_mm(e, r_bar, e.mT(r))))
    qt_bar = e.sub(e.mul(e.sub(g, e.mT(g)), _strict_lower(e, n, g)), g)
    c_bar = _add(e, _mm(e, q, qt_bar), q_bar)
    return e.mT(_solve(e, r, e.mT(c_bar)))  # C_bar R^-T


def _qr_shapes(e, op, a):
    m, n = a.type.shape[-2:]
    if full_params(op.attrs)["mode"] == "complete" and m > n:
        raise ShapeError(with_location(
            "linalg.qr: the derivative of the complete qr of a tall matrix (M > N) is not "
            "defined for its extra columns of Q: use mode='reduced'", e.loc))
    return m, n


def _qr_jvp(e, op, xs, ts, outs):
    (a,), (da,) = xs, ts
    _real_only(e, op, a)
    m, n = _qr_shapes(e, op, a)
    q, r = outs
    if m >= n:
        return list(_tall_qr_jvp(e, q, r, da))
    last = a.type.ndim - 1
    a2 = e.slice_axis(a, last, m, n - m)
    dq, dr1 = _tall_qr_jvp(e, q, e.slice_axis(r, last, 0, m), e.slice_axis(da, last, 0, m))
    dr2 = e.add(_mm(e, e.mT(dq), a2), _mm(e, e.mT(q), e.slice_axis(da, last, m, n - m)))
    return [dq, e.op(G.CONCAT, dr1, dr2, axis=last)]


def _qr_vjp(e, op, xs, outs, cts, wants):
    (a,) = xs
    _real_only(e, op, a)
    m, n = _qr_shapes(e, op, a)
    q, r = outs
    q_bar, r_bar = cts
    if m >= n:
        return [_tall_qr_vjp(e, q, r, q_bar, r_bar)]
    last = a.type.ndim - 1
    r1 = e.slice_axis(r, last, 0, m)
    r1_bar = a2_bar = None
    if r_bar is not None:
        r1_bar, r2_bar = e.slice_axis(r_bar, last, 0, m), e.slice_axis(r_bar, last, m, n - m)
        a2_bar = _mm(e, q, r2_bar)  # R2 = Q^T A2
        q_bar = _add(e, q_bar, _mm(e, e.slice_axis(a, last, m, n - m), e.mT(r2_bar)))
    a1_bar = _tall_qr_vjp(e, q, r1, q_bar, r1_bar)
    if a2_bar is None:
        a2_bar = e.zeros(TensorType(a.type.shape[:-1] + (n - m,), a.type.dtype))
    return [e.op(G.CONCAT, a1_bar, a2_bar, axis=last)]


# --- batching: the leading batch axis is one more stack axis --------------------------------
def _stack_batch(e, op, xs, batched, size):
    return same_call(op, e, *all_batched(e, xs, batched, size))


_NAMES = ("inv", "solve", "det", "slogdet", "cholesky", "qr", "eigh", "svd")

JVP = {
    "linalg.inv": _inv_jvp,
    "linalg.solve": _solve_jvp,
    "linalg.det": _det_jvp,
    "linalg.slogdet": _slogdet_jvp,
    "linalg.cholesky": _cholesky_jvp,
    "linalg.qr": _qr_jvp,
    "linalg.eigh": _eigh_jvp,
    "linalg.svd": _svd_jvp,
}

VJP = {
    "linalg.inv": _inv_vjp,
    "linalg.solve": _solve_vjp,
    "linalg.det": _det_vjp,
    "linalg.slogdet": _slogdet_vjp,
    "linalg.cholesky": _cholesky_vjp,
    "linalg.qr": _qr_vjp,
    "linalg.eigh": _eigh_vjp,
    "linalg.svd": _svd_vjp,
}

BATCH = {f"linalg.{name}": _stack_batch for name in _NAMES}
