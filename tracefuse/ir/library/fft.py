"""Library functions of `tx.fft` (the array API's FFT extension): `fft.fft`, `fft.ifft`,
`fft.fftn`, `fft.ifftn` (complex to complex), `fft.rfft`, `fft.rfftn` (real to half-spectrum),
`fft.irfft`, `fft.irfftn` (half-spectrum to real), `fft.hfft` (Hermitian to real) and
`fft.ihfft` (real to Hermitian half-spectrum). Types and implementations; their derivative and
batching rules are in transforms/library/fft.py. `fftfreq`, `rfftfreq`, `fftshift` and
`ifftshift` are no calls: frontend/fft.py composes them from iota, slices and concat.

Semantics, as NumPy 2 and the standard: `n` / `s` pad with zeros or crop each transformed axis
before the transform (`s[i] = -1` keeps the axis' length); `norm` is "backward" (no scale
forward, 1/n inverse), "ortho" (1/sqrt(n) both ways) or "forward" (1/n forward, none inverse).
Results are complex64 for float32 (and float16) input, complex128 for float64, integer and bool
input (as NumPy), the real part's precision for `irfft`, `irfftn` and `hfft`. An n-d transform
over no axes is the input as complex (NumPy returns it unconverted; the standard says complex);
the real ones need at least one axis. Repeated axes are refused (the standard leaves them
undefined).

The implementation runs NumPy's pocketfft on the host and cuFFT through `cupy.fft` on the GPU:
`xp.fft` has the same functions and parameters in both; hfft and ihfft are written as NumPy
defines them (irfft of the conjugate, the conjugate of rfft) so that only the common API is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import DTypeError, ShapeError
from .. import dtypes as dt
from ..dtypes import DType
from ..types import TensorType
from .base import LibraryFunction, norm_axis

NORMS = ("backward", "ortho", "forward")
SWAP_NORM = {"backward": "forward", "ortho": "ortho", "forward": "backward"}

# The kinds of transform: input domain -> output domain
C2C, R2C, C2R = "c2c", "r2c", "c2r"


# --- dtypes ---------------------------------------------------------------------------------
def complex_dtypes() -> tuple[DType, DType]:
    """(complex64, complex128); a DTypeError where this build has no complex dtypes."""
    c64, c128 = getattr(dt, "complex64", None), getattr(dt, "complex128", None)
    if c64 is None or c128 is None:
        raise DTypeError("FFTs need the complex dtypes complex64 and complex128, which this "
                         "build of tracefuse does not have yet")
    return c64, c128


def _is_complex(d: DType) -> bool:
    return d.kind == "c"


def _complex_of(d: DType) -> DType:
    """The complex result dtype of input dtype `d` (float32, float16 -> complex64; float64,
    integers, bool -> complex128; complex: itself)."""
    c64, c128 = complex_dtypes()
    if _is_complex(d):
        return d
    return c64 if d in (dt.float16, dt.float32) else c128


def _real_of(d: DType) -> DType:
    """The real result dtype of input dtype `d` (complex64, float32, float16 -> float32; the
    rest float64)."""
    single = (d.kind == "f" and d.itemsize <= 4) or (d.kind == "c" and d.itemsize == 8)
    return dt.float32 if single else dt.float64


def _check_numeric(name: str, t: TensorType, real_only: bool) -> None:
    d = t.dtype
    if real_only and _is_complex(d):
        raise DTypeError(f"{name} needs a real-valued array, got {d.name} (fft and fftn take "
                         "complex input)")
    if d.kind not in "biufc":
        raise DTypeError(f"{name} needs a numeric array, got {d.name}")


# --- parameters -----------------------------------------------------------------------------
def check_norm(name: str, norm: Any) -> str:
    if norm not in NORMS:
        raise ShapeError(f"{name}: norm must be one of {', '.join(map(repr, NORMS))}, "
                         f"got {norm!r}")
    return norm


def _points(name: str, n: int, what: str) -> int:
    if n < 1:
        raise ShapeError(f"{name}: the number of points {what} must be at least 1, got {n} "
                         "(an empty axis needs n / s given)")
    return n


def _size_param(name: str, v: Any, what: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ShapeError(f"{name}: {what} must be an int, got {v!r}")
    return v


def plan(name: str, kind: str, t: TensorType, p: dict, nd: bool
         ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The transformed axes (non-negative, the last one the real one for r2c / c2r) and the
    number of points along each (the lengths of the real signal for r2c / c2r), from the
    parameters of a 1-d (`n`, `axis`) or n-d (`s`, `axes`) function."""
    if not nd:
        axes = (norm_axis(p["axis"], t.ndim),)
        ns: tuple = (_size_param(name, p["n"], "n"),)
    else:
        s, axes_p = p["s"], p["axes"]
        if s is not None and not isinstance(s, tuple):
            raise ShapeError(f"{name}: s must be a tuple of ints, got {s!r}")
        if axes_p is not None and not isinstance(axes_p, tuple):
            raise ShapeError(f"{name}: axes must be a tuple of ints, got {axes_p!r}")
        if axes_p is None:
            axes_p = tuple(range(t.ndim)) if s is None else tuple(range(-len(s), 0))
        axes = tuple(norm_axis(a, t.ndim, "axes entry") for a in axes_p)
        if len(set(axes)) != len(axes):
            raise ShapeError(f"{name}: axes {axes_p} name an axis twice; give each axis once")
        if s is None:
            ns = (None,) * len(axes)
        else:
            if len(s) != len(axes):
                raise ShapeError(f"{name}: s {s} and axes {axes_p} must have the same length")
            # -1: the axis' length, as NumPy (for the real axis of irfftn too, not 2 (m - 1))
            ns = tuple(t.shape[a] if v == -1 else _size_param(name, v, "each entry of s")
                       for a, v in zip(axes, s))
        if kind != C2C and not axes:
            raise ShapeError(f"{name} needs at least one axis to transform, got axes=()")
    sizes = []
    for i, (a, n) in enumerate(zip(axes, ns)):
        last = i == len(axes) - 1
        what = "n" if not nd else f"s[{i}]"
        if n is None:
            m = t.shape[a]
            n = 2 * (m - 1) if kind == C2R and last else m
            what = f"along axis {a} (length {m})" if not (kind == C2R and last) else \
                f"2 * (m - 1) of axis {a} (length m = {m})"
        sizes.append(_points(name, n, what))
    return axes, tuple(sizes)


def out_shape(kind: str, t: TensorType, axes: Sequence[int], sizes: Sequence[int]
              ) -> tuple[int, ...]:
    """The result's shape: each transformed axis `sizes` long, the last one of an r2c
    transform `n // 2 + 1` (the half spectrum)."""
    shape = list(t.shape)
    for i, (a, n) in enumerate(zip(axes, sizes)):
        shape[a] = n // 2 + 1 if kind == R2C and i == len(axes) - 1 else n
    return tuple(shape)


def _types(name: str, kind: str, nd: bool):
    def rule(ts, p):
        (t,) = ts
        _check_numeric(name, t, real_only=kind == R2C)
        check_norm(name, p["norm"])
        axes, sizes = plan(name, kind, t, p, nd)
        dtype = _real_of(t.dtype) if kind == C2R else _complex_of(t.dtype)
        if kind == C2R:
            complex_dtypes()  # the cotangents are complex
        return (TensorType(out_shape(kind, t, axes, sizes), dtype),)
    return rule


# --- implementations ------------------------------------------------------------------------
def _impl(name: str, kind: str, nd: bool, fn: str):
    """Run `xp.fft.<fn>` with the planned points and axes; an empty input (or result) needs no
    transform: zero padding of nothing transforms to zeros."""
    def impl(xp, arrays, p, outs):
        (x,), (out,) = arrays, outs
        t = TensorType(tuple(x.shape), dt.as_dtype(x.dtype))
        axes, sizes = plan(name, kind, t, p, nd)
        if x.size == 0 or out.size == 0 or not axes:
            if not axes:
                return [x.astype(out.dtype.np)]
            return [xp.zeros(out.shape, out.dtype.np)]
        # compute in the result's precision (float16 has no FFT)
        work = _complex_of(out.dtype) if kind == C2R else (
            _real_of(out.dtype) if kind == R2C else out.dtype)
        x = x.astype(work.np, copy=False)
        norm = p["norm"]
        if fn == "hfft":  # NumPy's definition
            return [xp.fft.irfft(xp.conj(x), sizes[0], axes[0], norm=SWAP_NORM[norm])]
        if fn == "ihfft":
            return [xp.conj(xp.fft.rfft(x, sizes[0], axes[0], norm=SWAP_NORM[norm]))]
        f = getattr(xp.fft, fn)
        if nd:
            return [f(x, s=sizes, axes=axes, norm=norm)]
        return [f(x, sizes[0], axes[0], norm=norm)]
    return impl


_1D = {"n": None, "axis": -1, "norm": "backward"}
_ND = {"s": None, "axes": None, "norm": "backward"}

# name -> (kind, n-d, NumPy's function, doc)
TRANSFORMS = {
    "fft.fft": (C2C, False, "fft", "the discrete Fourier transform along `axis`"),
    "fft.ifft": (C2C, False, "ifft", "the inverse discrete Fourier transform along `axis`"),
    "fft.fftn": (C2C, True, "fftn", "the n-d discrete Fourier transform over `axes`"),
    "fft.ifftn": (C2C, True, "ifftn", "the n-d inverse discrete Fourier transform"),
    "fft.rfft": (R2C, False, "rfft", "the half spectrum (n // 2 + 1) of a real signal"),
    "fft.rfftn": (R2C, True, "rfftn", "the n-d half spectrum of a real signal"),
    "fft.irfft": (C2R, False, "irfft", "the real signal (n points) of a half spectrum"),
    "fft.irfftn": (C2R, True, "irfftn", "the n-d real signal of a half spectrum"),
    "fft.hfft": (C2R, False, "hfft", "the real spectrum of a Hermitian-symmetric signal"),
    "fft.ihfft": (R2C, False, "ihfft", "the Hermitian half signal of a real spectrum"),
}

FUNCTIONS = tuple(
    LibraryFunction(name, (1, 1), _ND if nd else _1D, _types(name, kind, nd),
                    _impl(name, kind, nd, fn), doc)
    for name, (kind, nd, fn, doc) in TRANSFORMS.items()
)
