"""Where vmath's polynomial coefficients come from: weighted minimax (Remez exchange) fits.

A development tool, not imported at run time; needs mpmath (`pip install mpmath`):

    python -m tracefuse.tools.vmath_fit [NAME ...]

prints, for each approximation in FITS and each dtype, the lowest degree whose max relative
error (of the whole function, not of the fitted remainder) is below 2**-27 (float32) or 2**-56
(float64), its coefficients rounded to the dtype, and the error after that rounding. The
tables in vmath_core._COEFFS are this output. Each fit approximates a remainder g(z) by a
polynomial in z (z = r for EXPM1, z = (t - K)/(t + K) for ERFC, z = r**2 otherwise) on a Chebyshev-spaced grid, minimizing
max |w(z) (g(z) - P(z))| where w turns the remainder's error into the function's relative error.
"""

from __future__ import annotations

import sys

import numpy as np

try:
    import mpmath as mp
except ImportError:  # pragma: no cover - a development tool
    mp = None


def remez(g, w, grid, deg: int, iters: int = 40):
    """Minimize max |w(z) (g(z) - sum_k c_k z^k)| over the sorted points `grid`.
    Returns (coefficients, max weighted error)."""
    n = deg + 1
    m = len(grid)
    ref = [int(round((m - 1) * (1 - mp.cos(mp.pi * i / n)) / 2)) for i in range(n + 1)]
    gG = [g(z) for z in grid]
    wG = [w(z) for z in grid]
    best = None
    for _ in range(iters):
        M = mp.matrix(n + 1, n + 1)
        rhs = mp.matrix(n + 1, 1)
        for i, j in enumerate(ref):
            for k in range(n):
                M[i, k] = grid[j] ** k
            M[i, n] = (-1) ** i / wG[j]
            rhs[i] = gG[j]
        sol = mp.lu_solve(M, rhs)
        c = [sol[k] for k in range(n)]
        err = [wz * (gz - mp.polyval(c[::-1], z)) for z, gz, wz in zip(grid, gG, wG)]
        runs: list = []  # the extremum of each run of equal sign
        for i, e in enumerate(err):
            if not runs or (e >= 0) != runs[-1][0]:
                runs.append([e >= 0, i])
            elif abs(e) > abs(err[runs[-1][1]]):
                runs[-1][1] = i
        idx = [r[1] for r in runs]
        while len(idx) > n + 1:
            idx.pop(0 if abs(err[idx[0]]) < abs(err[idx[-1]]) else -1)
        maxerr = max(abs(e) for e in err)
        if best is None or maxerr < best[1]:
            best = (c, maxerr)
        if len(idx) < n + 1:
            break
        levels = [abs(err[i]) for i in idx]
        ref = idx
        if max(levels) - min(levels) < max(levels) * mp.mpf("1e-4"):
            break
    return best


def _grid(lo, hi, m=700, symmetric=False, eps=1e-12):
    pts = [(lo + hi) / 2 - (hi - lo) / 2 * mp.cos(mp.pi * i / (m - 1)) for i in range(m)]
    pts = [z for z in pts if z > eps]
    return [-z for z in reversed(pts)] + pts if symmetric else pts


def fits() -> dict:
    """name -> (remainder g, weight w, grid)."""
    sq = mp.sqrt

    def odd(f):  # f(t) = t + t^3 P(t^2): g = (f - t)/t^3, w = t^3/f
        return (lambda z: (f(sq(z)) - sq(z)) / (z * sq(z)),
                lambda z: z * sq(z) / f(sq(z)))

    return {
        "EXPM1": (lambda r: (mp.expm1(r) - r) / r ** 2, lambda r: abs(r ** 2 / mp.expm1(r)),
                  _grid(0, mp.mpf("0.3470"), 1000, symmetric=True, eps=1e-6)),
        "LOG": (lambda z: (2 * mp.atanh(sq(z)) - 2 * sq(z)) / (sq(z) * z),
                lambda z: z * sq(z) / (2 * mp.atanh(sq(z))),
                _grid(0, ((sq(2) - 1) / (sq(2) + 1)) ** 2 * mp.mpf("1.0001"))),
        "SIN": (*odd(mp.sin), _grid(0, (mp.pi / 4 * mp.mpf("1.0002")) ** 2)),
        "COS": (lambda z: (mp.cos(sq(z)) - 1 + z / 2) / z ** 2,
                lambda z: z ** 2 / mp.cos(sq(z)), _grid(0, (mp.pi / 4 * mp.mpf("1.0002")) ** 2)),
        "TAN": (*odd(mp.tan), _grid(0, (mp.pi / 4 * mp.mpf("1.0002")) ** 2)),
        "ATAN": (*odd(mp.atan), _grid(0, (mp.mpf(7) / 16) ** 2 * mp.mpf("1.0002"))),
        "ASIN": (*odd(mp.asin), _grid(0, mp.mpf("0.25") * mp.mpf("1.0001"))),
        "TANH": (*odd(mp.tanh), _grid(0, mp.mpf("0.625") ** 2)),
        # erf(t) = t + t * P(t^2), |t| < 1 (P(0) = 2/sqrt(pi) - 1)
        "ERF": (lambda z: mp.erf(sq(z)) / sq(z) - 1, lambda z: sq(z) / mp.erf(sq(z)),
                _grid(0, mp.mpf(1), 500)),
        # erfc(t) = exp(-t^2) / (1 + 2t) * P(y), y = (t - K)/(t + K) in [-1, 1) for t >= 0
        # (Shepherd & Laframboise's variable, K = ERFC_K = 3.75): one polynomial for all t >= 0
        "ERFC": (_erfc_scaled, lambda y: 1 / _erfc_scaled(y), _grid(-1, 1, 600, eps=-2)),
    }


ERFC_K = 3.75


def _erfc_scaled(y):
    """(1 + 2t) exp(t^2) erfc(t) at t = K (1 + y) / (1 - y); its limit 2/sqrt(pi) at y = 1."""
    if y == 1:
        return 2 / mp.sqrt(mp.pi)
    t = ERFC_K * (1 + y) / (1 - y)
    return (1 + 2 * t) * mp.exp(t * t) * mp.erfc(t)


def main(names) -> None:
    if mp is None:
        sys.exit("vmath_fit needs mpmath")
    mp.mp.dps = 50
    table = fits()
    target = {np.float32: mp.mpf(2) ** -27, np.float64: mp.mpf(2) ** -56}
    for name in names or list(table):
        g, w, grid = table[name]
        for F in (np.float32, np.float64):
            for deg in range(1, 25):
                c, e = remez(g, w, grid, deg)
                if e < target[F]:
                    break
            cr = [float(F(float(ck))) for ck in c]
            er = max(abs(w(z) * (g(z) - mp.polyval([mp.mpf(x) for x in cr[::-1]], z)))
                     for z in grid)
            print(f"{name} {F.__name__}: deg {deg}, minimax {mp.nstr(e, 3)}, "
                  f"rounded {mp.nstr(er, 3)}\n    {tuple(cr)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
