"""Library functions of `tx.linalg` that need LAPACK: `linalg.cholesky`, `linalg.det`,
`linalg.slogdet`, `linalg.inv`, `linalg.solve`, `linalg.qr`, `linalg.eigh`, `linalg.svd`.
Types and implementations (NumPy's LAPACK on NumPy arrays, cuSOLVER through `cupy.linalg` on
CuPy arrays); their derivative and batching rules are in transforms/library/linalg.py, and
everything composed of other ops (`eigvalsh`, `svdvals`, `pinv`, norms, `trace` ...) in
frontend/linalg.py.

Every function acts on the last two axes; the leading ones are a stack of matrices (a batch,
possibly empty). Operands are float32, float64 (or complex, where the dtype exists) and the
results keep their precision (eigenvalues, singular values and `logabsdet` are real). The
front end casts integer and bool operands to float64 first, as NumPy does. `linalg.solve`
takes operands of one batch shape (the front end broadcasts them, and makes a vector a column
first). `linalg.cholesky` returns the lower factor (the front end transposes for `upper`).

Errors: a singular matrix (`inv`, `solve`) or one that is not positive definite (`cholesky`)
raises `numpy.linalg.LinAlgError` when the call runs on NumPy, eagerly and compiled (the
library step raises), with the function's name and what to do. CuPy reports them only where its
configuration allows a device synchronization (`cupyx.errstate(linalg="raise")`); otherwise
the results hold NaN or inf.
"""

from __future__ import annotations

import numpy as np

from ...errors import DTypeError, ShapeError
from ..dtypes import as_dtype
from ..types import TensorType
from .base import LibraryFunction


def real_dtype(d):
    """The real dtype of `d` (float32 for complex64; `d` itself when real)."""
    return as_dtype(np.finfo(d.np).dtype) if d.kind == "c" else d


def _matrix(t: TensorType, square: bool = True) -> tuple[int, int]:
    """Check a (stack of) matrix operand; its (rows, columns). The messages do not name the
    function: the caller adds it, and the user's line."""
    if t.dtype.kind not in "fc" or t.dtype.name == "float16":
        raise DTypeError(f"needs a float32 or float64 (or complex) array, got "
                         f"{t.dtype.name}: cast it with tx.astype first")
    if t.ndim < 2:
        raise ShapeError(f"needs a matrix or a stack of matrices (at least 2 "
                         f"dimensions), got shape {t.shape}")
    m, n = t.shape[-2:]
    if square and m != n:
        raise ShapeError(f"needs square matrices, got shape {t.shape} ({m} x {n}) "
                         "in the last two axes")
    return m, n


def _same_types(ts, p):
    (t,) = ts
    _matrix(t)
    return (t.strong(),)


def _det_types(ts, p):
    (t,) = ts
    _matrix(t)
    return (TensorType(t.shape[:-2], t.dtype),)


def _slogdet_types(ts, p):
    (t,) = ts
    _matrix(t)
    batch = t.shape[:-2]
    return TensorType(batch, t.dtype), TensorType(batch, real_dtype(t.dtype))


def _solve_types(ts, p):
    a, b = ts
    m, _ = _matrix(a)
    _matrix(b, square=False)
    if b.dtype != a.dtype:
        raise DTypeError(f"needs operands of one dtype, got {a.dtype.name} and "
                         f"{b.dtype.name}")
    if b.shape[:-2] != a.shape[:-2] or b.shape[-2] != m:
        raise ShapeError(f"the coefficients {a.shape} and the ordinates {b.shape} "
                         f"need one batch shape and {m} rows")
    return (b.strong(),)


def _qr_types(ts, p):
    (t,) = ts
    m, n = _matrix(t, square=False)
    mode = p["mode"]
    if mode not in ("reduced", "complete"):
        raise ShapeError(f"mode must be 'reduced' or 'complete', got {mode!r}")
    k = min(m, n) if mode == "reduced" else m
    batch = t.shape[:-2]
    return TensorType(batch + (m, k), t.dtype), TensorType(batch + (k, n), t.dtype)


def _eigh_types(ts, p):
    (t,) = ts
    _matrix(t)
    return TensorType(t.shape[:-1], real_dtype(t.dtype)), t.strong()


def _svd_types(ts, p):
    (t,) = ts
    m, n = _matrix(t, square=False)
    k = min(m, n)
    batch = t.shape[:-2]
    mu, nv = (m, n) if p["full_matrices"] else (k, k)
    return (TensorType(batch + (m, mu), t.dtype), TensorType(batch + (k,), real_dtype(t.dtype)),
            TensorType(batch + (nv, n), t.dtype))


# --- implementations ------------------------------------------------------------------------
_WHAT_TO_DO = {
    "inv": "the matrix is singular (not invertible): check it, or use tx.linalg.pinv",
    "solve": "the coefficient matrix is singular: check it, or use tx.linalg.pinv(a) @ b",
    "cholesky": "the matrix is not positive definite (a Cholesky factor needs a symmetric "
                "positive-definite matrix): check its symmetry and eigenvalues",
}


def _lapack(name: str, run):
    """`run(xp, arrays, params)` with empty stacks computed by NumPy (CuPy's cuSOLVER wrappers
    reject some size-0 shapes) and LAPACK's errors named for people."""
    def impl(xp, arrays, p, outs):
        if xp is not np and any(a.size == 0 for a in arrays):
            empty = [np.zeros(a.shape, a.dtype) for a in arrays]
            return [xp.asarray(r) for r in run(np, empty, p)]
        try:
            return run(xp, arrays, p)
        except np.linalg.LinAlgError as e:
            what = _WHAT_TO_DO.get(name, "LAPACK did not converge: check for NaN or inf")
            raise np.linalg.LinAlgError(f"linalg.{name}: {what} (LAPACK: {e})") from None
    return impl


def _qr(xp, arrays, p):
    q, r = xp.linalg.qr(arrays[0], mode=p["mode"])
    return [q, r]


def _svd(xp, arrays, p):
    (x,) = arrays
    u, s, vh = xp.linalg.svd(x, full_matrices=p["full_matrices"])
    return [u, s, vh]


def _slogdet(xp, arrays, p):
    sign, logabsdet = xp.linalg.slogdet(arrays[0])
    return [sign, logabsdet]


def _eigh(xp, arrays, p):
    w, v = xp.linalg.eigh(arrays[0])
    return [w, v]


FUNCTIONS = (
    LibraryFunction("linalg.cholesky", (1, 1), {}, _same_types,
                    _lapack("cholesky", lambda xp, a, p: [xp.linalg.cholesky(a[0])]),
                    "the lower Cholesky factor L of x = L @ L.mT (LAPACK potrf)"),
    LibraryFunction("linalg.det", (1, 1), {}, _det_types,
                    _lapack("det", lambda xp, a, p: [xp.linalg.det(a[0])]),
                    "the determinant (LAPACK getrf)"),
    LibraryFunction("linalg.slogdet", (1, 1), {}, _slogdet_types, _lapack("slogdet", _slogdet),
                    "the sign and the log of the absolute value of the determinant"),
    LibraryFunction("linalg.inv", (1, 1), {}, _same_types,
                    _lapack("inv", lambda xp, a, p: [xp.linalg.inv(a[0])]),
                    "the inverse matrix (LAPACK gesv on the identity)"),
    LibraryFunction("linalg.solve", (2, 2), {}, _solve_types,
                    _lapack("solve", lambda xp, a, p: [xp.linalg.solve(a[0], a[1])]),
                    "x with a @ x = b, for a of (..., M, M) and b of (..., M, K)"),
    LibraryFunction("linalg.qr", (1, 1), {"mode": "reduced"}, _qr_types, _lapack("qr", _qr),
                    "Q (orthonormal columns) and R (upper triangular) with x = Q @ R"),
    LibraryFunction("linalg.eigh", (1, 1), {}, _eigh_types, _lapack("eigh", _eigh),
                    "eigenvalues (ascending) and eigenvectors of symmetric matrices (their "
                    "lower triangle is read)"),
    LibraryFunction("linalg.svd", (1, 1), {"full_matrices": True}, _svd_types,
                    _lapack("svd", _svd),
                    "U, the singular values (descending) and Vh with x = U @ diag(S) @ Vh"),
)
