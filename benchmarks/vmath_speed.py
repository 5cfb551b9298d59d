"""Speed of tracefuse.backends.vmath: a Numba loop calling libm (np.tanh etc. in @njit), the
same loop calling the vmath function, and NumPy's own ufunc, on N float32 and float64 elements.

    python benchmarks/vmath_speed.py [--n 10000000] [--repeat 7] [--ops tanh,exp,...]

All three write into a preallocated output (no page faults in the timing), serial loops
compiled with error_model="numpy" and fastmath={"reassoc", "contract"} (what the backend's
generated kernels use). For sin/cos/tan a fourth, "checked loop": the vmath loop as the cpu
backend's kernels run it, with the max-reduction of `trig_big` over the arguments that decides
whether the Payne-Hanek rerun is needed (vmath_check.kernel; no argument here needs it).
Prints one markdown table of medians (ms) and the libm/vmath and NumPy/vmath ratios; the
implementations alternate within each round.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tracefuse.backends.vmath import functions as vmath  # noqa: E402
from tracefuse.tools.vmath_check import NUMPY_NAME, kernel  # noqa: E402

FLAGS = dict(error_model="numpy", fastmath={"reassoc", "contract"})
DOMAIN = {"exp": (-10, 10), "expm1": (-10, 10), "log": (1e-3, 1e3), "log1p": (-0.9, 1e3),
          "log2": (1e-3, 1e3), "log10": (1e-3, 1e3), "sin": (-100, 100), "cos": (-100, 100),
          "tan": (-100, 100), "asin": (-1, 1), "acos": (-1, 1), "atan": (-10, 10),
          "sinh": (-10, 10), "cosh": (-10, 10), "tanh": (-5, 5), "asinh": (-100, 100),
          "acosh": (1, 100), "atanh": (-0.99, 0.99), "atan2": (-10, 10),
          "logaddexp": (-10, 10)}


def _loops(op: str, dtype: str):
    f = vmath.VMATH[(op, dtype)]
    g = getattr(np, NUMPY_NAME.get(op, op))  # Numba lowers np.<ufunc>(scalar) to libm
    if op in vmath.BINARY_OPS:
        def vm(x, y, out):
            for i in range(x.size):
                out[i] = f(x[i], y[i])

        def lm(x, y, out):
            for i in range(x.size):
                out[i] = g(x[i], y[i])
    else:
        def vm(x, out):
            for i in range(x.size):
                out[i] = f(x[i])

        def lm(x, out):
            for i in range(x.size):
                out[i] = g(x[i])
    return njit(**FLAGS)(lm), njit(**FLAGS)(vm), g


def bench(op: str, dtype: str, n: int, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    lo, hi = DOMAIN[op]
    args = [rng.uniform(lo, hi, n).astype(dtype)]
    if op in vmath.BINARY_OPS:
        args.append(rng.uniform(lo, hi, n).astype(dtype))
    out = np.empty_like(args[0])
    libm, vm, ufunc = _loops(op, dtype)
    impls = {"libm": lambda: libm(*args, out), "vmath": lambda: vm(*args, out),
             "numpy": lambda: ufunc(*args, out=out)}
    if op in vmath.TRIG_OPS:
        checked = kernel(op, dtype, FLAGS["fastmath"])
        impls["checked"] = lambda: checked(*args, out)
    for f in impls.values():
        f()  # compile, warm up
    times: dict = {k: [] for k in impls}
    for _ in range(repeat):
        for k, f in impls.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--ops", default=",".join(vmath.UNARY_OPS + vmath.BINARY_OPS))
    ap.add_argument("--dtypes", default="float32,float64")
    a = ap.parse_args(argv)
    print(f"# vmath speed: n={a.n:,}, median of {a.repeat}, serial, output preallocated; "
          f"{platform.processor() or platform.machine()}, NumPy {np.__version__}")
    print("| op | dtype | libm loop ms | vmath loop ms | checked loop ms | NumPy ms | libm/vmath "
          "| NumPy/vmath |")
    print("|---|---|---|---|---|---|---|---|")
    for op in a.ops.split(","):
        for dt in a.dtypes.split(","):
            t = bench(op, dt, a.n, a.repeat)
            checked = f"{t['checked']:.1f}" if "checked" in t else "-"
            print(f"| {op} | {dt} | {t['libm']:.1f} | {t['vmath']:.1f} | {checked} | "
                  f"{t['numpy']:.1f} | "
                  f"{t['libm'] / t['vmath']:.1f}x | {t['numpy'] / t['vmath']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
