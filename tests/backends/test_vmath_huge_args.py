"""sin, cos, tan of huge arguments: every finite float reduces exactly (issue 18, item 6).

vmath's vectorized Cody-Waite reduction is exact only up to TRIG_ACCURATE_MAX (2**45: before
the fix `cos(4.99e16)` gave `cos(0.5)` on cpu). The cpu backend's kernels now check every
sin/cos/tan argument in their vectorized loop and, when one is beyond, rerun with the
Payne-Hanek functions (vmath/payne_hanek.py, numba/render.py); the CUDA C of gpu and gpu-sim
calls the CUDA math library (glibc's under gpu-sim), which reduces exactly already.

Checked: Payne-Hanek against exact rationals (mpmath's pi); on the numpy, cpu and gpu-sim
backends and eagerly, float32 and float64 arguments in every binade up to the largest finite
float, both signs, the hardest reductions (vmath_check.pio2_hard_cases: x*2/pi nearest an
integer, 6381956970095103 * 2**797 among them; 1e22) and inf/NaN/-0.0, against NumPy and
within docs/vmath.md's ulp bounds of the exact result; the rerun inside fused kernels of every
shape (reductions, parallel chunks, mixed dtypes, a compiled scan); and that the generated
kernel checks its arguments and its main loop still vectorizes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from oracle import BACKENDS, assert_same

import tracefuse as tx
from tracefuse.backends.vmath import functions as vmath
from tracefuse.backends.vmath.payne_hanek import TWO_OVER_PI, reduce_huge
from tracefuse.backends.vmath.trig import TRIG_ACCURATE_MAX
from tracefuse.tools import vmath_check as vc

TRIG = ("sin", "cos", "tan")
DTYPES = ("float32", "float64")
MODES = tuple(dict.fromkeys(("eager", "numpy", "cpu", "gpu-sim") + BACKENDS))
NP = {"sin": np.sin, "cos": np.cos, "tan": np.tan}


def every_binade(dtype: str, rng: np.random.Generator, per: int = 2) -> np.ndarray:
    """`per` random floats in every binade from the smallest denormal to the largest float,
    both signs, with the largest float itself."""
    d, _, p, emax = vc._info(dtype)
    exps = np.arange(-(emax + p - 3), emax)  # 2**e for every e of a finite float
    mant = rng.uniform(1, 2, (per, exps.size))
    x = np.ldexp(mant, exps).ravel().astype(d)
    x = np.concatenate([x, [np.finfo(d).max]]).astype(d)
    return np.concatenate([x, -x])


def hard_cases(dtype: str) -> np.ndarray:
    """The hardest reductions (every 8th float64 exponent, to keep the test short), 1e22 and
    4.99e16 (the issue's), and the neighbours of TRIG_ACCURATE_MAX."""
    d = np.dtype(dtype)
    b = d.type(TRIG_ACCURATE_MAX[dtype])
    edge = [b, np.nextafter(b, d.type(np.inf)), np.nextafter(b, d.type(0))]
    x = np.concatenate([vc.pio2_hard_cases(dtype, step=1 if dtype == "float32" else 8),
                        np.array([1e22, -1e22, 4.99e16, -4.99e16] + edge).astype(d)])
    if dtype == "float64":
        x = np.concatenate([x, [6381956970095103 * 2.0 ** 797, -6381956970095103 * 2.0 ** 797]])
    return x.astype(d)


SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -3.0, 1e-30, -1e-40]


def _inputs(dtype: str, rng) -> np.ndarray:
    return np.concatenate([every_binade(dtype, rng), hard_cases(dtype),
                           np.array(SPECIALS, dtype=dtype)]).astype(dtype)


def _assert_within_bound(op: str, dtype: str, x: np.ndarray, got: np.ndarray, what: str):
    """got within vmath's ulp bound of the exact result (long double / float64 reference)."""
    ref = vc.reference(op, dtype, x)
    if not vc.LONGDOUBLE_OK and dtype == "float64":
        ref = ref.astype(np.float64)
    err = vc.ulp_error(got, ref, dtype)
    i = int(np.argmax(err))
    bound = vc.ULP_BOUND[(op, dtype)]
    assert err[i] <= bound, f"{what}: {op}({x[i]!r}) = {got[i]!r}, {err[i]:.3g} ulp (bound {bound})"


# --------------------------------------------------------------------------- the reduction
def test_two_over_pi_table_starts_as_fdlibms():
    """fdlibm's ipio2 table (24-bit words) gives the first 168 bits of 2/pi."""
    ipio2 = [0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C]
    fd = 0
    for w in ipio2:
        fd = (fd << 24) | w
    ours = 0
    for w in TWO_OVER_PI[:6].tolist():
        ours = (ours << 32) | w
    assert ours >> (192 - 168) == fd


def test_payne_hanek_matches_exact_rationals(rng):
    mp = pytest.importorskip("mpmath")
    x = np.concatenate([np.ldexp(rng.uniform(1, 2, 200), rng.integers(45, 1024, 200))
                        * rng.choice([-1.0, 1.0], 200), hard_cases("float64")[-40:],
                        [np.finfo(np.float64).max, 2.0 ** 45, -(2.0 ** 45), 2.0 ** 1023]])
    x = x[np.abs(x) >= 2.0 ** 45]
    with mp.workprec(1400):
        pio2 = mp.pi / 2
        for v in x.tolist():
            t = mp.mpf(v) / pio2
            n = int(mp.nint(t))
            r_exact = (t - n) * pio2
            q, r = reduce_huge(v)
            q_exact = n % 4 - 4 * (n % 4 == 3)  # -1 for 3, as trig.py selects on
            assert q == q_exact or abs(q) == abs(q_exact) == 2, (v, q, q_exact)
            assert r == float(r_exact), (v, r, float(r_exact))  # correctly rounded


def _both(fast, exact):
    from numba import njit

    @njit(error_model="numpy")
    def both(x, a, e):
        for i in range(x.size):
            a[i] = fast(x[i])
            e[i] = exact(x[i])
    return both


def test_exact_functions_equal_the_fast_ones_in_range(rng):
    """Up to TRIG_ACCURATE_MAX the exact functions are the fast ones, bit for bit."""
    for dtype in DTYPES:
        b = TRIG_ACCURATE_MAX[dtype]
        x = np.concatenate([rng.uniform(-b, b, 2000), rng.uniform(-10, 10, 2000),
                            vc._pio2_multiples(dtype, 200)]).astype(dtype)
        for op in TRIG:
            exact = getattr(vmath, vmath.exact_trig_names()[(op, dtype)][0])
            a, e = np.empty_like(x), np.empty_like(x)
            _both(vmath.VMATH[(op, dtype)], exact)(x, a, e)
            np.testing.assert_array_equal(a.view(f"u{a.itemsize}"), e.view(f"u{e.itemsize}"))


# ------------------------------------------------------------------------------ the backends
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", TRIG)
def test_every_binade_and_the_hard_cases(rng, op, dtype):
    x = _inputs(dtype, rng)
    hard = np.zeros(x.size, bool)
    hard[-len(SPECIALS) - hard_cases(dtype).size:-len(SPECIALS)] = True
    with np.errstate(all="ignore"):
        expected = NP[op](x)
    fn = getattr(tx, op)
    for mode in MODES:
        got = fn(x) if mode == "eager" else tx.function(fn, backend=mode)(x)
        # glibc's float64 sin/cos (NumPy's, and gpu-sim's C) lose up to ~1e5 ulp (relative)
        # on the hardest reductions, where the result is ~1e-17, and its tan (gpu-sim's; not
        # NumPy's) 2.4e-12 relative near the poles: compare with NumPy to a few ulps of 1 and
        # those 1e-10 there, with the exact result within the bound where glibc is exact
        eps = float(np.finfo(dtype).eps)
        rtol = 1e-10 if mode == "gpu-sim" and dtype == "float64" else None
        assert_same(got, expected, rtol=rtol, atol=4 * eps, what=f"{mode} {op}/{dtype}")
        if mode == "cpu":
            _assert_within_bound(op, dtype, x, got.numpy(), f"{mode} {op}/{dtype}")
        elif mode == "gpu-sim":
            _assert_within_bound(op, dtype, x[~hard], got.numpy()[~hard], f"{mode} {op}/{dtype}")


def test_the_issue_example():
    """cos(4.99e16) gave cos(0.5) on cpu."""
    x = np.array([4.99e16, 0.5])
    for mode in MODES:
        got = (tx.cos(x) if mode == "eager" else tx.function(tx.cos, backend=mode)(x)).numpy()
        assert got[0] == pytest.approx(np.cos(4.99e16), rel=1e-15), mode
        assert got[0] != pytest.approx(np.cos(0.5), rel=1e-3), mode


def _with_huge(x: np.ndarray, where: tuple, value: float) -> np.ndarray:
    x = x.copy()
    x[where] = value
    return x


FUSED = {  # fused kernels of every shape, each with sin/cos/tan of a huge value somewhere
    "elementwise": (lambda x: tx.cos(x) * 2 + tx.sin(x * 3),
                    lambda x: np.cos(x) * 2 + np.sin(x * 3), (65, 33), (7, 5)),
    "column-sum": (lambda x: tx.sum(tx.sin(x), axis=0) + tx.cos(x[0]),
                   lambda x: np.sin(x).sum(0) + np.cos(x[0]), (40, 300), (17, 3)),
    "row-softmax": (lambda x: tx.tan(x) / tx.sum(tx.abs(tx.sin(x)), axis=-1, keepdims=True),
                    lambda x: np.tan(x) / np.abs(np.sin(x)).sum(-1, keepdims=True),
                    (9, 70), (4, 69)),
    "parallel-full-sum": (lambda x: tx.sum(tx.sin(x) * tx.cos(x)),
                          lambda x: np.sum(np.sin(x) * np.cos(x)), (1 << 17,), (77777,)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(FUSED))
def test_fused_kernels_rerun_exactly(rng, case, dtype):
    f, g, shape, at = FUSED[case]
    x = rng.uniform(-3, 3, shape).astype(dtype)
    for value in (1e22, -3e30, 6e15, np.nan):  # huge (the rerun), huge in float32, in range
        xv = _with_huge(x, at, value)
        for mode in ("cpu", "gpu-sim"):
            got = tx.function(f, backend=mode)(xv)
            with np.errstate(all="ignore"):
                expected = g(xv)
            rtol = 1e-4 if dtype == "float32" else 1e-11
            assert_same(got, expected, rtol=rtol, atol=rtol, what=f"{mode} {case} at {value}")


def test_mixed_dtypes_in_one_kernel(rng):
    a = rng.uniform(-3, 3, 50).astype(np.float32)
    b = rng.uniform(-3, 3, 50)
    a[3], b[40] = np.float32(7e33), 2.5e300
    got = tx.function(lambda a, b: tx.sin(a) + tx.cos(b), backend="cpu")(a, b)
    assert_same(got, np.sin(a).astype(np.float64) + np.cos(b), rtol=1e-6, atol=1e-6)


def test_compiled_scan_with_huge_arguments():
    """A scan's body kernels run inside the compiled loop driver (driver.py)."""
    xs = np.array([[1e22, 0.5], [2.0, 4.99e16], [3.0, -1e300]])

    def f(c0, xs):
        return tx.scan(lambda c, x: (c + tx.sin(x), tx.cos(x) * c), c0, xs)

    c, ys = tx.function(f, backend="cpu")(np.zeros(2), xs)
    c_np, ys_np = np.zeros(2), []
    for x in xs:
        ys_np.append(np.cos(x) * c_np)
        c_np = c_np + np.sin(x)
    assert_same(c, c_np, rtol=1e-14)
    assert_same(ys, np.array(ys_np), rtol=1e-14)


# -------------------------------------------------------------------------- generated source
@pytest.mark.parametrize("dtype", DTYPES)
def test_generated_kernel_checks_and_its_main_loop_vectorizes(dtype):
    from numba import njit  # noqa: F401 (the kernel module's decorator)
    x = np.linspace(-3, 3, 4096).astype(dtype)
    (src,) = tx.function(tx.sin, backend="cpu").lower(x).kernels
    sfx = "f32" if dtype == "float32" else "f64"
    assert f"trig_big_{sfx}(" in src and f"sin_exact_{sfx}(" in src and "if tbig != 0:" in src
    (plain,) = tx.function(tx.exp, backend="cpu").lower(x).kernels
    assert "tbig" not in plain and "_exact_" not in plain
    env: dict = {}
    exec(src.replace("cache=True", "cache=False"), env)  # noqa: S102 (our generated source)
    kernel, out = env["kernel"], np.empty_like(x)
    kernel(x, out, x.size)
    np.testing.assert_allclose(out, np.sin(x), rtol=1e-6)
    ir = kernel.inspect_llvm(kernel.signatures[0])
    elem = "float" if dtype == "float32" else "double"
    assert re.search(rf"<(4|8|16) x {elem}>", ir), "the fast loop did not vectorize"
    assert re.search(r"<(4|8|16) x i32>", ir), "the argument check is not vectorized"
