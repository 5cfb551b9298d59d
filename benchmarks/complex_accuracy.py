"""Accuracy of the complex functions: NumPy (the oracle), the Numba `cpu` backend
(backends/vmath/complex_numba.py and Numba's own) and the CUDA C of the `gpu` backend run on
gpu-sim (backends/cuda/complex_c.py), against mpmath at 50 digits.

The error of a result w against the exact value e is |w - e| / |e| in units of the dtype's
epsilon (a complex result is accurate relative to its magnitude). Inputs: 2000 points per
function with log-uniform magnitudes and uniform angles, over a range where the result is
finite (|z| <= 30 for the exponential-like functions, 1e-4..1e4 otherwise), plus the
neighbourhoods where the usual formulas cancel (|z| ~ 1 for log, z ~ +-1 for acos/atanh).
Prints the worst and the 99.9th percentile per function, dtype and implementation; the table
in docs/vmath.md ("Complex functions") comes from this script.

    python benchmarks/complex_accuracy.py
"""

from __future__ import annotations

import mpmath
import numpy as np

import tracefuse as tx

mpmath.mp.dps = 50
N = 2000

FUNCS = {  # name: (tx function, mpmath function, NumPy function, range of |z|)
    "exp": (tx.exp, mpmath.exp, np.exp, (1e-4, 30)),
    "expm1": (tx.expm1, mpmath.expm1, np.expm1, (1e-4, 30)),
    "log": (tx.log, mpmath.log, np.log, (1e-4, 1e4)),
    "log1p": (tx.log1p, mpmath.log1p, np.log1p, (1e-4, 1e4)),
    "log10": (tx.log10, mpmath.log10, np.log10, (1e-4, 1e4)),
    "sqrt": (tx.sqrt, mpmath.sqrt, np.sqrt, (1e-4, 1e4)),
    "sin": (tx.sin, mpmath.sin, np.sin, (1e-4, 30)),
    "cos": (tx.cos, mpmath.cos, np.cos, (1e-4, 30)),
    "tan": (tx.tan, mpmath.tan, np.tan, (1e-4, 30)),
    "sinh": (tx.sinh, mpmath.sinh, np.sinh, (1e-4, 30)),
    "cosh": (tx.cosh, mpmath.cosh, np.cosh, (1e-4, 30)),
    "tanh": (tx.tanh, mpmath.tanh, np.tanh, (1e-4, 30)),
    "asin": (tx.asin, mpmath.asin, np.arcsin, (1e-4, 1e4)),
    "acos": (tx.acos, mpmath.acos, np.arccos, (1e-4, 1e4)),
    "atan": (tx.atan, mpmath.atan, np.arctan, (1e-4, 1e4)),
    "asinh": (tx.asinh, mpmath.asinh, np.arcsinh, (1e-4, 1e4)),
    "acosh": (tx.acosh, mpmath.acosh, np.arccosh, (1e-4, 1e4)),
    "atanh": (tx.atanh, mpmath.atanh, np.arctanh, (1e-4, 1e4)),
}


def points(rng, lo, hi):
    r = np.exp(rng.uniform(np.log(lo), np.log(hi), N))
    z = r * np.exp(1j * rng.uniform(-np.pi, np.pi, N))
    near = np.concatenate([1 + 1e-3 * (rng.normal(size=50) + 1j * rng.normal(size=50)),
                           -1 + 1e-3 * (rng.normal(size=50) + 1j * rng.normal(size=50)),
                           np.exp(1j * rng.uniform(-np.pi, np.pi, 50))
                           * (1 + 1e-6 * rng.normal(size=50))])
    return np.concatenate([z, near])


def errors(got, exact, dtype):
    eps = np.finfo(dtype).eps
    err = np.abs(got.astype(np.complex128) - exact) / np.abs(exact)
    return err[np.isfinite(err)] / eps


def main():
    rng = np.random.default_rng(0)
    rows = []
    for name, (tx_fn, mp_fn, np_fn, (lo, hi)) in FUNCS.items():
        z128 = points(rng, lo, hi)
        exact = np.array([complex(mp_fn(mpmath.mpc(complex(v)))) for v in z128])
        for dtype in (np.complex64, np.complex128):
            z = z128.astype(dtype)
            if dtype is np.complex64:  # the exact value at the rounded input
                exact_d = np.array([complex(mp_fn(mpmath.mpc(complex(v)))) for v in z])
            else:
                exact_d = exact
            with np.errstate(all="ignore"):
                impls = {"numpy": np_fn(z)}
            for backend in ("cpu", "gpu-sim"):
                impls[backend] = tx.function(tx_fn, backend=backend)(z).numpy()
            cells = []
            for impl, got in impls.items():
                e = errors(got, exact_d, np.float32 if dtype is np.complex64 else np.float64)
                cells.append(f"{impl} {e.max():8.1f} {np.percentile(e, 99.9):6.1f}")
            rows.append(f"{name:6s} {np.dtype(dtype).name:10s} " + " | ".join(cells))
    print("function dtype      impl: max / 99.9th percentile error in eps of the dtype")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
