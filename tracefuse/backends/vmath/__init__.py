"""vmath: vectorizable scalar math (exp, log, tanh, sin ... for float32 and float64) written
for Numba, so LLVM vectorizes the loops that call them where libm calls would not.

`functions.py` has the public functions and the `VMATH` table the Numba renderer reads;
`core.py` the shared pieces (polynomials, range reduction); `trig.py` the trigonometry;
`payne_hanek.py` the exact reduction of huge sin/cos/tan arguments; `special.py` erf, erfc.
Accuracy: docs/vmath.md (`python -m tracefuse.tools.vmath_check`).
"""
