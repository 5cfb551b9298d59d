"""Measuring vmath: loop kernels, test points, references and errors in ulps.

Used by tests/backends/test_vmath.py and by `python -m tracefuse.tools.vmath_check`, which
prints the accuracy table of vmath.py / docs/vmath.md (max ulp error of vmath and, on the same
points, of NumPy's own functions).

- `kernel(op, dtype, fastmath)`: `for i in range(x.size): out[i] = f(x[i])` compiled with
  `error_model="numpy"` and the given fastmath flags (cached per process). sin/cos/tan as the
  cpu backend's kernels run them (numba/render.py): that loop also max-reduces
  `trig_big(x[i])`, and when an argument was beyond TRIG_ACCURATE_MAX a second loop recomputes
  every element with the exact (Payne-Hanek) function.
- `points(op, dtype)`: 2**20 bit patterns spread evenly over all finite floats of the dtype
  (denormals included, both signs), dense sweeps of the op's working range, the hard cases
  (near multiples of pi/2: the floats nearest to n*pi/2 up to TRIG_ACCURATE_MAX and, beyond,
  `pio2_hard_cases`; near 1 for logs; the overflow and underflow thresholds), and
  +-0, +-inf, NaN. Binary ops get a grid of pairs.
- `reference(op, dtype, *args)`: NumPy in float64 for float32 inputs, in long double for
  float64 inputs (exact to ~2**-64 with an 80-bit long double; where long double is plain
  double the float64 errors are measured against NumPy's float64 and so include its error).
  NumPy has no erf/erfc: scipy.special in float64 for float32 inputs, mpmath (40 digits) for
  float64 inputs, on 2**15 points drawn from the usual ones (mpmath is slow) plus the
  specials and thresholds; their "NumPy" column is scipy.special's error.
- `ulp_error(out, ref, dtype)`: |out - ref| in units of the dtype's ulp at ref (2**(e-p) for
  ref in [2**(e-1), 2**e), the smallest denormal at least); NaN vs NaN is 0, inf is scored as
  2**(emax+1), so a result that overflows where the exact value is just below the largest
  float counts as the ulps it is off, not as infinitely wrong.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from numba import njit

from ..backends.vmath import functions as vmath
from ..backends.vmath.payne_hanek import two_over_pi_words
from ..backends.vmath.trig import TRIG_ACCURATE_MAX

#: Error bound (ulps) asserted by the tests, with and without fastmath={"reassoc", "contract"},
#: as (float32, float64). About 0.5 above the max measured on the test points.
_BOUNDS = {
    "exp": (2, 2), "expm1": (2, 2.5), "log": (2, 2), "log1p": (2, 2), "log2": (2.5, 2.5),
    "log10": (2.5, 2.5), "sin": (2, 2), "cos": (2, 2), "tan": (3, 3.5), "asin": (3, 3),
    "acos": (2, 2), "atan": (2, 2), "sinh": (2.5, 3), "cosh": (2.5, 2.5), "tanh": (2, 2),
    "asinh": (2.5, 2.5), "acosh": (2.5, 3), "atanh": (2.5, 2.5), "atan2": (2, 2.5),
    # max(x, y) + log1p(exp(-|x - y|)), NumPy's formula too: rounding x - y costs up to
    # |log1p term| * ulp(x - y) / 2, several ulps of the result; NumPy's error is the same.
    "logaddexp": (8, 4),
    "erf": (1.5, 1.5), "erfc": (4.5, 3.5),
}
ULP_BOUND: dict[tuple[str, str], float] = {
    (op, dt): float(b[i]) for op, b in _BOUNDS.items()
    for i, dt in enumerate(("float32", "float64"))
}

NUMPY_NAME = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
              "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh"}
BINARY = set(vmath.BINARY_OPS)
SPECIAL = ("erf", "erfc")  # no NumPy function: scipy.special and mpmath are the references
LONGDOUBLE_OK = np.finfo(np.longdouble).nmant >= 60

_KERNELS: dict = {}


def numpy_fn(op: str):
    if op in SPECIAL:
        import scipy.special
        return getattr(scipy.special, op)
    return getattr(np, NUMPY_NAME.get(op, op))


def _mpmath_reference(op: str, x: np.ndarray) -> np.ndarray:
    """erf/erfc of float64 x in mpmath (40 digits), as long doubles; |x| > 40 (inf too) as
    +-40, where they are +-1, 0 or 2 to far below an ulp."""
    import mpmath as mp
    fn = getattr(mp, op)
    out = np.full(x.shape, np.nan, dtype=np.longdouble)
    with mp.workdps(40):
        for i, v in enumerate(x.tolist()):
            if v == v:
                out[i] = np.longdouble(mp.nstr(fn(mp.mpf(max(min(v, 40.0), -40.0))), 30))
    return out


def _flag_kw(fastmath):
    kw = dict(error_model="numpy")
    if fastmath:
        kw["fastmath"] = set(fastmath) if isinstance(fastmath, frozenset) else fastmath
    return kw


def kernel(op: str, dtype: str, fastmath=None):
    """A compiled loop applying vmath's op elementwise: k(x, out) or k(x, y, out)."""
    key = (op, dtype, tuple(sorted(fastmath)) if isinstance(fastmath, (set, frozenset))
           else fastmath)
    if key in _KERNELS:
        return _KERNELS[key]
    f = vmath.VMATH[(op, dtype)]
    if op in vmath.TRIG_OPS:
        exact, big = (getattr(vmath, name) for name in vmath.exact_trig_names()[(op, dtype)])

        def checked(x, out):  # what numba/render.py generates for a kernel with sin/cos/tan
            tbig = np.int32(0)
            for i in range(x.size):
                tbig = max(tbig, big(x[i]))
                out[i] = f(x[i])
            if tbig != 0:
                for i in range(x.size):
                    out[i] = exact(x[i])
        k = njit(**_flag_kw(fastmath))(checked)
    elif op in BINARY:
        def loop2(x, y, out):
            for i in range(x.size):
                out[i] = f(x[i], y[i])
        k = njit(**_flag_kw(fastmath))(loop2)
    else:
        def loop1(x, out):
            for i in range(x.size):
                out[i] = f(x[i])
        k = njit(**_flag_kw(fastmath))(loop1)
    _KERNELS[key] = k
    return k


def run(op: str, dtype: str, *args, fastmath=None) -> np.ndarray:
    args = [np.ascontiguousarray(a, dtype=dtype) for a in args]
    out = np.empty_like(args[0])
    kernel(op, dtype, fastmath)(*args, out)
    return out


# ---------------------------------------------------------------------------------------------
def _info(dtype):
    d = np.dtype(dtype)
    f32 = d == np.float32
    return d, (np.int32 if f32 else np.int64), (24 if f32 else 53), (128 if f32 else 1024)


def bit_sweep(dtype: str, n: int = 2 ** 20) -> np.ndarray:
    """n floats evenly spaced by bit pattern over all finite values of both signs: about
    n / 512 per binade for float32, n / 4096 for float64, the denormals included."""
    d, it, _, _ = _info(dtype)
    top = int(np.array(np.finfo(d).max, d).view(it))
    pos = (np.arange(n // 2, dtype=np.float64) * (top / (n // 2 - 1))).astype(it)
    pos[-1] = top
    pos = pos.view(d)
    return np.concatenate([pos, -pos])


def _near(x: np.ndarray, dtype, k: int = 2) -> np.ndarray:
    """x rounded to dtype and its neighbours up to k ulps away."""
    d = np.dtype(dtype)
    x = np.asarray(x).astype(d)
    out, up, dn = [x], x, x
    for _ in range(k):
        up = np.nextafter(up, d.type(np.inf))
        dn = np.nextafter(dn, d.type(-np.inf))
        out += [up, dn]
    return np.concatenate(out)


def specials(dtype: str) -> np.ndarray:
    fi = np.finfo(dtype)
    v = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0,
         float(fi.max), -float(fi.max), float(fi.tiny), -float(fi.tiny),
         float(fi.smallest_subnormal), -float(fi.smallest_subnormal)]
    return np.array(v, dtype=dtype)


def _pio2_multiples(dtype: str, count: int = 20000) -> np.ndarray:
    """Floats nearest to n*pi/2 (and neighbours) for n up to the accurate bound."""
    nmax = TRIG_ACCURATE_MAX[dtype] / (np.pi / 2)
    n = np.unique(np.concatenate([np.arange(1, 2000), np.geomspace(1, nmax, count).round()]))
    if dtype == "float32":
        c = n * (np.pi / 2)
    else:  # pi/2 in long double (64-bit mantissa), exact products for n < 2**30
        pio2 = np.longdouble("1.57079632679489661923132169163975144")
        c = n.astype(np.longdouble) * pio2
    x = _near(c, dtype)
    return np.concatenate([x, -x])


def pio2_hard_cases(dtype: str, step: int = 1) -> np.ndarray:
    """Floats beyond TRIG_ACCURATE_MAX whose x*2/pi is nearest an integer, both signs: for
    every `step`-th exponent e, x = q * 2**e for the two largest continued-fraction denominators
    q < 2**p of frac(2**e * 2/pi) (the best approximations: no smaller q comes nearer). They
    include the hardest float64, 6381956970095103 * 2**797 (x*2/pi within 2**-61 of an
    integer)."""
    d, _, p, emax = _info(dtype)
    words = two_over_pi_words(40)
    bits = 32 * len(words)
    w = 0
    for v in words.tolist():
        w = (w << 32) | v  # 2/pi = w / 2**bits
    lo = int(np.log2(TRIG_ACCURATE_MAX[dtype])) - p + 1
    out = []
    for e in range(lo, emax - p + 1, step):
        if e >= 0:  # frac(2**e * 2/pi) = num/den
            num, den = (w << e) % (1 << bits), 1 << bits
        else:
            num, den = w, 1 << (bits - e)
        q0, q1 = 0, 1  # convergent denominators
        found = []
        while num and q1 < 1 << p:
            found.append(q1)
            a, (num, den) = den // num, (den % num, num)
            q0, q1 = q1, a * q1 + q0
        out += [float(q) * 2.0 ** e for q in found[-2:] if q > 1]
    x = np.array(out, dtype=np.float64)
    x = x[(x > TRIG_ACCURATE_MAX[dtype]) & (x <= float(np.finfo(d).max))].astype(d)
    return np.concatenate([x, -x])


_RANGES = {  # dense uniform sweeps (lo, hi) per op, by dtype
    "exp": {"float32": [(-104, 89), (-1, 1)], "float64": [(-746, 710), (-1, 1)]},
    "expm1": {"float32": [(-20, 89), (-1, 1), (-1e-4, 1e-4)],
              "float64": [(-40, 710), (-1, 1), (-1e-6, 1e-6)]},
    "log": [(0, 4), (0.5, 2), (0, 1e-30)],
    "log1p": [(-1, 4), (-1e-3, 1e-3), (-1, -0.99)],
    "sin": [(-10, 10)], "cos": [(-10, 10)], "tan": [(-10, 10)],
    "sinh": {"float32": [(-90, 90), (-2, 2)], "float64": [(-711, 711), (-2, 2)]},
    "tanh": [(-20, 20), (-1, 1), (-1e-3, 1e-3)],
    "atan": [(-10, 10), (-1, 1)],
    "asin": [(-1, 1), (0.9, 1)],
    "asinh": [(-1e3, 1e3), (-3, 3)],
    "acosh": [(1, 1e3), (1, 3)],
    "atanh": [(-1, 1), (0.9, 1)],
    "erf": {"float32": [(-11, 11), (-4, 4), (-1e-3, 1e-3)],
            "float64": [(-28, 28), (-6, 6), (-1e-3, 1e-3)]},
}
_RANGES["erfc"] = _RANGES["erf"]
for _a, _b in (("log2", "log"), ("log10", "log"), ("cosh", "sinh"), ("acos", "asin")):
    _RANGES[_a] = _RANGES[_b]

_THRESHOLDS = {  # values near which the result changes regime (overflow, underflow...)
    "exp": {"float32": [88.72283935546875, -87.33654475, -103.972084], "float64":
            [709.782712893384, -708.3964185322641, -745.1332191019411]},
    "expm1": {"float32": [88.72283935546875, 2.0 ** -25, -2.0 ** -25, -17.32868],
              "float64": [709.782712893384, 2.0 ** -54, -2.0 ** -54, -37.42994775023705]},
    "sinh": {"float32": [89.41598629223294, -89.41598629223294, 9.5, -9.5],
             "float64": [710.4758600739439, -710.4758600739439, 19.5, -19.5]},
    "tanh": {"float32": [10.0, 9.010913, 2.0 ** -13], "float64": [20.0, 19.06154746539849,
                                                                 2.0 ** -28]},
    "log1p": {"float32": [-1.0, 2.0 ** -25, -2.0 ** -25, 0.41421356, -0.29289322],
              "float64": [-1.0, 2.0 ** -54, -2.0 ** -54, 0.41421356237309515,
                          -0.2928932188134524]},
    "atan": {"float32": [0.41421356, 2.41421356], "float64": [0.41421356237309503,
                                                            2.414213562373095]},
    "asin": {"float32": [0.5, 1.0, -1.0], "float64": [0.5, 1.0, -1.0]},
    "asinh": {"float32": [2.0, 2.0 ** 30], "float64": [2.0, 2.0 ** 60]},
    "acosh": {"float32": [1.0, 2.0, 2.0 ** 30], "float64": [1.0, 2.0, 2.0 ** 60]},
    "atanh": {"float32": [0.5, 1.0, -1.0], "float64": [0.5, 1.0, -1.0]},
    # erf/erfc: their switches (1/2, 1), K = 3.75, where float32/float64 erfc underflows
    "erf": {"float32": [0.5, -0.5, 1.0, -1.0, 3.75, 9.19, 10.05, 11.0],
            "float64": [0.5, -0.5, 1.0, -1.0, 3.75, 26.55, 27.23, 28.0]},
}
_THRESHOLDS["erfc"] = _THRESHOLDS["erf"]
for _a, _b in (("cosh", "sinh"), ("acos", "asin")):
    _THRESHOLDS[_a] = _THRESHOLDS[_b]


def points(op: str, dtype: str, n_range: int = 2 ** 18):
    """The test inputs of op: an array, or a pair of arrays for a binary op."""
    if op in BINARY:
        return _pair_points(op, dtype)
    rng = np.random.default_rng(1234)
    parts = [bit_sweep(dtype), specials(dtype)]
    ranges = _RANGES.get(op, [])
    if isinstance(ranges, dict):
        ranges = ranges[dtype]
    for lo, hi in ranges:
        parts.append(np.linspace(lo, hi, n_range).astype(dtype))
        parts.append(rng.uniform(lo, hi, n_range // 4).astype(dtype))
    th = _THRESHOLDS.get(op, {}).get(dtype, [])
    if th:
        parts.append(_near(np.array(th), dtype, k=8))
    if op in ("log", "log2", "log10"):  # near 1, and exact powers of 2 and 10
        parts.append(_near(np.array([1.0, 2.0, 10.0, 100.0, 0.5]), dtype, k=64))
        parts.append(np.linspace(1 - 2 ** -8, 1 + 2 ** -8, n_range).astype(dtype))
    if op in vmath.TRIG_OPS:  # the bit sweep covers every binade up to the largest float
        parts.append(_pio2_multiples(dtype))
        parts.append(pio2_hard_cases(dtype))
        b = TRIG_ACCURATE_MAX[dtype]
        parts.append(rng.uniform(-b, b, n_range).astype(dtype))
    if op in SPECIAL and dtype == "float64":  # mpmath's reference: 2**15 points
        keep = [specials(dtype), parts[-1] if th else specials(dtype)]
        x = np.concatenate(parts)
        return np.concatenate(keep + [rng.choice(x[np.abs(x) < 30], 2 ** 15, replace=False),
                                      rng.choice(x, 2 ** 10, replace=False)])
    return np.concatenate(parts)


def _pair_points(op: str, dtype: str):
    d = np.dtype(dtype)
    sweep = bit_sweep(dtype, 2 ** 10)
    a, b = np.meshgrid(sweep, sweep)
    xs, ys = [a.ravel()], [b.ravel()]
    sp = specials(dtype)
    a, b = np.meshgrid(sp, sp)
    xs.append(a.ravel())
    ys.append(b.ravel())
    rng = np.random.default_rng(99)
    for lo, hi in ((-5, 5), (-100, 100)):
        xs.append(rng.uniform(lo, hi, 2 ** 18).astype(d))
        ys.append(rng.uniform(lo, hi, 2 ** 18).astype(d))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    return x, y


# ---------------------------------------------------------------------------------------------
def reference(op: str, dtype: str, *args) -> np.ndarray:
    """op in a wider type: float64 for float32 args, long double for float64 args."""
    wide = np.float64 if np.dtype(dtype) == np.float32 else np.longdouble
    if op in SPECIAL and wide is np.longdouble:
        return _mpmath_reference(op, np.asarray(args[0]))
    with np.errstate(all="ignore"):
        return numpy_fn(op)(*[np.asarray(a).astype(wide) for a in args])


def ulp_error(out: np.ndarray, ref: np.ndarray, dtype: str, scale=None) -> np.ndarray:
    d, _, p, emax = _info(dtype)
    wide = ref.dtype.type
    ref = ref.astype(wide)
    o = out.astype(wide)
    big = np.ldexp(wide(1), emax)  # 2**(emax+1) in the wide type: where inf "is"
    with np.errstate(all="ignore"):
        rfin = np.isfinite(ref)
        o = np.where(np.isinf(o) & rfin, np.copysign(big, o), o)
        r = np.where(rfin, np.clip(ref, -big, big), ref)
        mag = np.where(rfin, r, wide(1))
        if scale is not None:  # measure in ulps of max(|ref|, scale)
            mag = np.maximum(np.abs(mag), np.abs(np.asarray(scale).astype(wide)))
            mag = np.where(np.isfinite(mag), mag, wide(1))
        _, e = np.frexp(mag)
        ulp = np.ldexp(wide(1), np.maximum(e - p, -(emax + p - 3)))  # denormal floor
        ulp = np.minimum(ulp, np.ldexp(wide(1), emax - p))
        err = np.abs(o - r) / ulp
    same = (o == r) | (np.isnan(o) & np.isnan(r))
    err = np.where(same, 0.0, err)
    err = np.where(np.isnan(err) | (~rfin & ~same), np.inf, err)
    with np.errstate(over="ignore"):
        return err.astype(np.float64)


def max_error(op: str, dtype: str, args, ref, fastmath=None, fn=None):
    """(max ulp error, worst input) of vmath's op (or of `fn`, e.g. NumPy's) on args."""
    if not LONGDOUBLE_OK and np.dtype(dtype) == np.float64:
        ref = ref.astype(np.float64)
    if fn is None:
        out = run(op, dtype, *args, fastmath=fastmath)
    else:
        with np.errstate(all="ignore"):
            out = fn(*[np.asarray(a, dtype=dtype) for a in args])
    # logaddexp(x, y) = max(x, y) + log1p(exp(-|x - y|)) cancels when the result is near 0:
    # its error is measured in ulps of the larger addend, for NumPy's as well
    scale = None
    if op == "logaddexp":
        mx = np.maximum(*args).astype(ref.dtype)
        with np.errstate(all="ignore"):
            scale = np.maximum(np.abs(mx), np.abs(ref - mx))
    err = ulp_error(out, ref, dtype, scale)
    i = int(np.argmax(err))
    return float(err[i]), tuple(float(a[i]) for a in args)


def measure(op: str, dtype: str, fastmath=None, pts=None):
    """(max ulp error of vmath, max ulp error of NumPy's own, worst input) over points(op)."""
    pts = points(op, dtype) if pts is None else pts
    args = pts if op in BINARY else (pts,)
    ref = reference(op, dtype, *args)
    err, worst = max_error(op, dtype, args, ref, fastmath)
    nerr, _ = max_error(op, dtype, args, ref, fn=numpy_fn(op))
    return err, nerr, worst


def accuracy_table(ops=None) -> str:
    """The markdown table of docs/vmath.md: max ulp error of vmath without fastmath and with
    fastmath={"reassoc", "contract"} ("r+c"), of NumPy on the same points, and the bound."""
    ops = ops or (vmath.UNARY_OPS + vmath.BINARY_OPS)
    rows = ["| function | f32 | f32 r+c | NumPy f32 | bound f32 | f64 | f64 r+c | NumPy f64 "
            "| bound f64 |", "|---|---|---|---|---|---|---|---|---|"]
    for op in ops:
        cells = [op]
        for dt in ("float32", "float64"):
            pts = points(op, dt)
            args = pts if op in BINARY else (pts,)
            ref = reference(op, dt, *args)
            e, _ = max_error(op, dt, args, ref)
            ef, _ = max_error(op, dt, args, ref, {"reassoc", "contract"})
            ne, _ = max_error(op, dt, args, ref, fn=numpy_fn(op))
            cells += [f"{e:.2f}", f"{ef:.2f}", f"{ne:.2f}", f"{ULP_BOUND[(op, dt)]:g}"]
        rows.append("| " + " | ".join(cells) + " |")
        print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


if __name__ == "__main__":
    t = time.time()
    print(accuracy_table())
    print(f"({time.time() - t:.1f} s; long double mantissa {np.finfo(np.longdouble).nmant} bits)",
          file=sys.stderr)
