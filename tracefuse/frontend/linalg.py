"""`tx.linalg`, the array API standard's linear algebra extension (2023.12).

Two kinds of functions:
- LAPACK factorizations and solves, one library call each (ir/library/linalg.py: NumPy's
  LAPACK on cpu, cuSOLVER through CuPy on gpu): `cholesky`, `det`, `slogdet`, `inv`, `solve`,
  `qr`, `eigh`, `svd`. Their derivatives and batching rules are in
  transforms/library/linalg.py.
- Everything else composed of existing ops, so it fuses, differentiates and batches with no
  rule of its own: `matmul`, `matrix_transpose`, `vecdot`, `tensordot` (the main namespace's
  functions), `outer`, `cross`,
  `diagonal` (a strided slice of the flattened matrices), `trace`, `vector_norm`,
  `matrix_norm`, `matrix_power` (repeated squaring), and, on top of the calls, `eigvalsh`
  (eigh's values), `svdvals` (a reduced svd's values), `pinv` and `matrix_rank` (from svd).

Every function acts on the last axes; leading axes are a stack (batch) of matrices. Integer and
bool operands of the factorizations are cast to float64 first, as NumPy does.
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

import numpy as np

from ..errors import AxisError, ShapeError, user_location, with_location
from ..ir import dtypes as dt
from ..ir.library.linalg import real_dtype
from . import elementwise as ew
from . import reductions as red
from .creation import eye
from .dispatch import call, type_of
from .dtypes import finfo, result_type
from .linalg_compose import tensordot
from .linear_algebra import matmul, vecdot
from .manipulation import broadcast_to, expand_dims, matrix_transpose, reshape, stack

__all__ = ["EighResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "cross", "det",
           "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet", "solve", "svd",
           "svdvals", "tensordot", "trace", "vecdot", "vector_norm"]


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


def _error(kind, message: str):
    return kind(with_location(message, user_location()))


def _inexact(x):
    """`x` as floating point: integer and bool arrays become float64 (as NumPy's linalg)."""
    d = type_of(x).dtype
    return ew.astype(x, dt.float64) if d.is_integer or d.is_bool else x


def _is_complex(x) -> bool:
    return type_of(x).dtype.kind == "c"


def _mH(x):
    """The conjugate transpose of the matrices of `x` (the transpose for real `x`)."""
    t = matrix_transpose(x)
    return ew.conj(t) if _is_complex(x) else t  # conj exists where complex dtypes do


def _matrices(name: str, x, square: bool = False) -> tuple[int, int]:
    shape = type_of(x).shape
    if len(shape) < 2:
        raise _error(ShapeError, f"linalg.{name} needs a matrix or a stack of matrices (at "
                                 f"least 2 dimensions), got shape {shape}")
    if square and shape[-1] != shape[-2]:
        raise _error(ShapeError, f"linalg.{name} needs square matrices, got shape {shape}")
    return shape[-2], shape[-1]


# --- LAPACK calls ---------------------------------------------------------------------------
def cholesky(x, /, *, upper: bool = False):
    """The Cholesky factor of symmetric (Hermitian) positive-definite matrices: lower L with
    x = L @ L.mT, or upper U = L.mT with x = U.mT @ U. Only the lower triangle is read;
    LinAlgError (on NumPy) if a matrix is not positive definite."""
    (low,) = call("linalg.cholesky", [_inexact(x)])
    return _mH(low) if upper else low


def det(x, /):
    """The determinants of square matrices."""
    (out,) = call("linalg.det", [_inexact(x)])
    return out


def slogdet(x, /):
    """(sign, logabsdet) of the determinants: det = sign * exp(logabsdet), without overflow;
    a singular matrix gives sign 0 and logabsdet -inf."""
    return SlogdetResult(*call("linalg.slogdet", [_inexact(x)]))


def inv(x, /):
    """The inverses of square matrices; LinAlgError (on NumPy) for a singular one."""
    (out,) = call("linalg.inv", [_inexact(x)])
    return out


def solve(x1, x2, /):
    """x with x1 @ x = x2. `x2` is a vector only when it is 1-d ((M,): the result is (..., M));
    otherwise (..., M, K), its batch axes broadcast with x1's."""
    a, b = _inexact(x1), _inexact(x2)
    common = result_type(a, b)
    a, b = ew.astype(a, common, copy=False), ew.astype(b, common, copy=False)
    _matrices("solve", a, square=True)
    ta, tb = type_of(a), type_of(b)
    vector = tb.ndim == 1
    if tb.ndim == 0:
        raise _error(ShapeError, "linalg.solve needs x2 of at least 1 dimension, got a 0-d "
                                 "array")
    if vector:
        b = reshape(b, (tb.shape[0], 1))
    tb = type_of(b)
    try:
        batch = tuple(np.broadcast_shapes(ta.shape[:-2], tb.shape[:-2]))
    except ValueError:
        raise _error(ShapeError, f"linalg.solve: the stacks of x1 {ta.shape} and x2 "
                                 f"{type_of(x2).shape} do not broadcast") from None
    a = broadcast_to(a, batch + ta.shape[-2:])
    b = broadcast_to(b, batch + tb.shape[-2:])
    (out,) = call("linalg.solve", [a, b])
    return out[..., 0] if vector else out


def qr(x, /, *, mode: str = "reduced"):
    """(Q, R) with x = Q @ R: Q with orthonormal columns, R upper triangular; mode "reduced"
    ((..., M, K), (..., K, N), K = min(M, N)) or "complete" ((..., M, M), (..., M, N))."""
    return QRResult(*call("linalg.qr", [_inexact(x)], mode=str(mode)))


def eigh(x, /):
    """(eigenvalues ascending, eigenvectors as columns) of symmetric (Hermitian) matrices;
    only the lower triangle is read."""
    return EighResult(*call("linalg.eigh", [_inexact(x)]))


def eigvalsh(x, /):
    """The eigenvalues (ascending) of symmetric (Hermitian) matrices."""
    return eigh(x).eigenvalues


def svd(x, /, *, full_matrices: bool = True):
    """(U, S, Vh) with x = U @ diag(S) @ Vh, S descending; `full_matrices=False` gives
    U (..., M, K), Vh (..., K, N), K = min(M, N)."""
    return SVDResult(*call("linalg.svd", [_inexact(x)], full_matrices=bool(full_matrices)))


def svdvals(x, /):
    """The singular values, descending ((..., K))."""
    return svd(x, full_matrices=False).S


# --- composed of other ops ------------------------------------------------------------------
def _default_rtol(x, rtol):
    """`rtol` as a multiplier of the largest singular value, broadcast against the stack."""
    m, n = type_of(x).shape[-2:]
    if rtol is None:
        return max(m, n) * finfo(real_dtype(type_of(x).dtype)).eps
    if isinstance(rtol, (int, float)):
        return float(rtol)
    return expand_dims(rtol, axis=-1)




def pinv(x, /, *, rtol=None):
    """The Moore-Penrose pseudo-inverses (from the svd): singular values at most
    `rtol` * the largest count as zero (default rtol: max(M, N) * eps)."""
    x = _inexact(x)
    m, n = _matrices("pinv", x)
    shape = type_of(x).shape
    if min(m, n) == 0:
        return ew.astype(broadcast_to(0, shape[:-2] + (n, m)), type_of(x).dtype)
    u, s, vh = svd(x, full_matrices=False)
    cutoff = _default_rtol(x, rtol) * red.max(s, axis=-1, keepdims=True)
    large = ew.greater(s, cutoff)
    s_inv = ew.where(large, 1.0 / ew.where(large, s, 1.0), 0.0)
    return matmul(_mH(vh) * expand_dims(ew.astype(s_inv, type_of(x).dtype), axis=-2), _mH(u))




def matrix_rank(x, /, *, rtol=None):
    """How many singular values exceed `rtol` * the largest (default rtol: max(M, N) * eps),
    as int64."""
    x = _inexact(x)
    m, n = _matrices("matrix_rank", x)
    if min(m, n) == 0:
        return ew.astype(broadcast_to(0, type_of(x).shape[:-2]), dt.int64)
    s = svdvals(x)
    tol = _default_rtol(x, rtol) * red.max(s, axis=-1, keepdims=True)
    return red.sum(ew.astype(ew.greater(s, tol), dt.int64), axis=-1)


def outer(x1, x2, /):
    """The outer product of two vectors: (N,) and (M,) -> (N, M)."""
    s1, s2 = type_of(x1).shape, type_of(x2).shape
    if len(s1) != 1 or len(s2) != 1:
        raise _error(ShapeError, f"linalg.outer needs two 1-d arrays, got shapes {s1} and {s2}")
    return ew.multiply(reshape(x1, (s1[0], 1)), reshape(x2, (1, s2[0])))


def _take(x, i: int, axis: int):
    return x[(slice(None),) * axis + (i,)]


def cross(x1, x2, /, *, axis: int = -1):
    """The cross product of 3-vectors along `axis` (the other axes broadcast)."""
    s1, s2 = type_of(x1).shape, type_of(x2).shape
    n = min(len(s1), len(s2))
    if not (isinstance(axis, int) and -n <= axis < 0 or n and 0 <= axis < n):
        raise _error(AxisError, f"linalg.cross: axis {axis} is out of range for shapes {s1} "
                                 f"and {s2}")
    a1 = axis if axis < 0 else axis - len(s1)
    a2 = axis if axis < 0 else axis - len(s2)
    if s1[a1] != 3 or s2[a2] != 3:
        raise _error(ShapeError, f"linalg.cross needs vectors of 3 elements along axis "
                                 f"{axis}, got shapes {s1} and {s2}")
    try:
        shape = tuple(np.broadcast_shapes(s1, s2))
    except ValueError:
        raise _error(ShapeError, f"linalg.cross: shapes {s1} and {s2} do not broadcast") \
            from None
    a, b = broadcast_to(x1, shape), broadcast_to(x2, shape)
    k = a1 % len(shape)
    (a0, a1_, a2_), (b0, b1, b2) = ([_take(v, i, k) for i in range(3)] for v in (a, b))
    return stack([a1_ * b2 - a2_ * b1, a2_ * b0 - a0 * b2, a0 * b1 - a1_ * b0], axis=k)


def diagonal(x, /, *, offset: int = 0):
    """The diagonals of the matrices (offset > 0: above the main diagonal); (..., L)."""
    m, n = _matrices("diagonal", x)
    offset = operator.index(offset)
    shape = type_of(x).shape
    if offset >= 0:
        start, length = offset, max(0, min(m, n - offset))
    else:
        start, length = -offset * n, max(0, min(m + offset, n))
    flat = reshape(x, shape[:-2] + (m * n,))
    if length == 0:
        return flat[..., 0:0]
    return flat[..., start:start + (length - 1) * (n + 1) + 1:n + 1]


def trace(x, /, *, offset: int = 0, dtype=None):
    """The sums of the diagonals (the dtype of `sum` unless given)."""
    return red.sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """The vector `ord`-norm over `axis` (None: all; a tuple: those axes as one vector):
    ord 2, 1, inf, -inf, 0 (the count of nonzeros) or any other real p
    (sum(|x|**p) ** (1/p))."""
    a = ew.abs(_inexact(x))  # real, for complex x too
    kw = {"axis": axis, "keepdims": keepdims}
    if ord == 2:
        return ew.sqrt(red.sum(a * a, **kw))
    if ord == 1:
        return red.sum(a, **kw)
    if ord == math.inf:
        return red.max(a, **kw)
    if ord == -math.inf:
        return red.min(a, **kw)
    if ord == 0:
        return red.sum(ew.astype(ew.not_equal(a, 0), type_of(a).dtype), **kw)
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise _error(ValueError, f"linalg.vector_norm: ord must be a real number, got {ord!r}")
    return ew.pow(red.sum(ew.pow(a, float(ord)), **kw), 1.0 / ord)


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """The matrix norms: "fro" (Frobenius), "nuc" (sum of singular values), 1 / -1 (max / min
    column sum of |x|), inf / -inf (max / min row sum), 2 / -2 (largest / smallest singular
    value)."""
    x = _inexact(x)
    _matrices("matrix_norm", x)
    a = ew.abs(x)
    if ord == "fro":
        out = ew.sqrt(red.sum(a * a, axis=(-2, -1)))
    elif ord == "nuc":
        out = red.sum(svdvals(x), axis=-1)
    elif ord in (1, -1):
        out = (red.max if ord == 1 else red.min)(red.sum(a, axis=-2), axis=-1)
    elif ord in (math.inf, -math.inf):
        out = (red.max if ord > 0 else red.min)(red.sum(a, axis=-1), axis=-1)
    elif ord in (2, -2):
        out = svdvals(x)[..., 0 if ord == 2 else -1]
    else:
        raise _error(ValueError, f"linalg.matrix_norm: ord must be 'fro', 'nuc', 1, -1, 2, -2, "
                                 f"inf or -inf, got {ord!r}")
    if keepdims:
        out = reshape(out, type_of(out).shape + (1, 1))
    return out


def matrix_power(x, n, /):
    """x multiplied by itself n times (square matrices; n = 0: the identity; n < 0: powers of
    the inverse), by repeated squaring."""
    try:
        n = operator.index(n)
    except TypeError:
        raise _error(TypeError, f"linalg.matrix_power needs an integer exponent, got {n!r}") \
            from None
    m, _ = _matrices("matrix_power", x, square=True)
    t = type_of(x)
    x = ew.astype(x, t.dtype, copy=False)  # a Tensor (or Tracer) even for n = 1
    if n == 0:
        return broadcast_to(eye(m, dtype=t.dtype), t.shape)
    if n < 0:
        x, n = inv(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else matmul(result, x)
        n >>= 1
        if n:
            x = matmul(x, x)
    return result


_ = (matmul, tensordot, vecdot)  # re-exported: tx.linalg's are the main namespace's
