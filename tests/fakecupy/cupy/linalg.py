"""The fake CuPy's `cupy.linalg`: the functions tracefuse's library calls use (CuPy 14 has each,
cuSOLVER behind them), NumPy's LAPACK behind them here. Device arrays in and out; a host array
is refused, as every module function of the fake does."""

from __future__ import annotations

import numpy as np

from . import _from_numpy

_NAMES = ("cholesky", "det", "slogdet", "inv", "solve", "qr", "eigh", "svd", "eigvalsh",
          "norm", "pinv", "matrix_rank")
(cholesky, det, slogdet, inv, solve, qr, eigh, svd, eigvalsh, norm, pinv, matrix_rank) = (
    _from_numpy(getattr(np.linalg, _name), f"linalg.{_name}") for _name in _NAMES)
LinAlgError = np.linalg.LinAlgError
