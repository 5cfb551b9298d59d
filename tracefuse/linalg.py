"""`tx.linalg`: the array API standard's linear algebra extension (2023.12).

LAPACK factorizations and solves are library calls (NumPy's LAPACK on cpu, cuSOLVER through
CuPy on gpu): `cholesky`, `det`, `slogdet`, `inv`, `solve`, `qr`, `eigh`, `svd`; everything
else is composed of the package's ops (it fuses): `matmul`, `matrix_transpose`, `vecdot`,
`tensordot`, `outer`, `cross`, `diagonal`, `trace`, `vector_norm`, `matrix_norm`,
`matrix_power`, `eigvalsh`, `svdvals`, `pinv`, `matrix_rank`. Each works on stacks of matrices
(the leading axes), eagerly and compiled, and under `tx.grad`, `tx.vmap` and the tape; the
derivatives and their conventions are in `docs/user-guide.md`, "Linear algebra (tx.linalg)",
and `tracefuse/transforms/library/linalg.py`.
"""

from .frontend.linalg import (EighResult, QRResult, SlogdetResult, SVDResult, cholesky, cross,
                              det, diagonal, eigh, eigvalsh, inv, matmul, matrix_norm,
                              matrix_power, matrix_rank, matrix_transpose, outer, pinv, qr,
                              slogdet, solve, svd, svdvals, tensordot, trace, vecdot,
                              vector_norm)

__all__ = ["EighResult", "QRResult", "SVDResult", "SlogdetResult", "cholesky", "cross", "det",
           "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm", "matrix_power",
           "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet", "solve", "svd",
           "svdvals", "tensordot", "trace", "vecdot", "vector_norm"]
