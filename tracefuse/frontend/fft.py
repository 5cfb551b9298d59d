"""The functions of `tx.fft`, the array API standard's FFT extension (2023.12, plus `dtype=` of
the frequency functions from 2024.12).

The transforms (`fft, ifft, fftn, ifftn, rfft, irfft, rfftn, irfftn, hfft, ihfft`) are one
library call each (ir/library/fft.py: pocketfft through NumPy on the host, cuFFT through CuPy
on the GPU): eager, traced, differentiated (transforms/library/fft.py, JAX's complex
convention) and batched by `vmap`. `fftfreq` and `rfftfreq` are NumPy's values eagerly and an
`iota` times the spacing's reciprocal when traced (no literal baked into the graph);
`fftshift` and `ifftshift` are slices and a concat per axis, so they fuse and differentiate
like any other movement op.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import AxisError, DTypeError, ShapeError, user_location, with_location
from ..ir import Attrs, OpCode
from ..ir import dtypes as dt
from ..ir.library.base import norm_axis
from ..tracer.tracer import current_builder
from . import device as _device
from . import tensor as _tensor
from .creation import asarray
from .dispatch import bind, call, type_of
from .elementwise import astype, less, multiply, subtract, where
from .manipulation import concat, getitem

G = OpCode

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


def _located(kind: type[Exception], message: str) -> Exception:
    return kind(with_location(message, user_location()))


def _int(name: str, v: Any, what: str) -> int:
    try:
        return operator.index(v)
    except TypeError:
        raise _located(TypeError, f"{name}: {what} must be an int, got {v!r}") from None


def _ints(name: str, v: Any, what: str) -> tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
        raise _located(TypeError, f"{name}: {what} must be a sequence of ints, got {v!r}")
    return tuple(_int(name, a, f"each entry of {what}") for a in v)


def _one_d(fn: str, x: Any, n, axis, norm):
    name = fn.split(".")[1]
    (out,) = call(fn, [x], n=None if n is None else _int(name, n, "n"),
                  axis=_int(name, axis, "axis"), norm=norm)
    return out


def _n_d(fn: str, x: Any, s, axes, norm):
    name = fn.split(".")[1]
    (out,) = call(fn, [x], s=_ints(name, s, "s"), axes=_ints(name, axes, "axes"), norm=norm)
    return out


# --- the transforms -------------------------------------------------------------------------
def fft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"):
    """The discrete Fourier transform along `axis` (n points: the axis cropped or padded with
    zeros). Complex result: complex64 for float32 input, complex128 for float64."""
    return _one_d("fft.fft", x, n, axis, norm)


def ifft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"):
    """The inverse discrete Fourier transform along `axis` (1/n by default)."""
    return _one_d("fft.ifft", x, n, axis, norm)


def fftn(x: Any, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str = "backward"):
    """The n-d discrete Fourier transform over `axes` (all by default), `s[i]` points along
    `axes[i]` (-1: the axis' length)."""
    return _n_d("fft.fftn", x, s, axes, norm)


def ifftn(x: Any, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str = "backward"):
    """The n-d inverse discrete Fourier transform over `axes`."""
    return _n_d("fft.ifftn", x, s, axes, norm)


def rfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"):
    """The non-negative frequencies (n // 2 + 1 of them) of the transform of a real signal."""
    return _one_d("fft.rfft", x, n, axis, norm)


def irfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"):
    """The real signal of n points (2 * (m - 1) by default) whose half spectrum is `x`; real
    result (float32 for complex64 input)."""
    return _one_d("fft.irfft", x, n, axis, norm)


def rfftn(x: Any, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str = "backward"):
    """The n-d transform of a real signal, the last of `axes` halved (s[-1] // 2 + 1)."""
    return _n_d("fft.rfftn", x, s, axes, norm)


def irfftn(x: Any, /, *, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str = "backward"):
    """The real n-d signal whose half spectrum (halved along the last of `axes`) is `x`."""
    return _n_d("fft.irfftn", x, s, axes, norm)


def hfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"):
    """The (real) transform of a Hermitian-symmetric signal given by its first half."""
    return _one_d("fft.hfft", x, n, axis, norm)


def ihfft(x: Any, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"):
    """The first half (n // 2 + 1) of the Hermitian inverse transform of a real spectrum."""
    return _one_d("fft.ihfft", x, n, axis, norm)


# --- sample frequencies ---------------------------------------------------------------------
def _freq_args(name: str, n: Any, d: Any, dtype: Any):
    n = _int(name, n, "n")
    if n < 1:
        raise _located(ShapeError, f"{name}: n must be at least 1, got {n}")
    try:
        d = float(d)
    except TypeError:
        raise _located(TypeError, f"{name}: d (the sample spacing) must be a Python float, "
                       f"got {type(d).__name__}") from None
    if d == 0.0:
        raise _located(ValueError, f"{name}: the sample spacing d must not be 0")
    want = dt.DEFAULT_FLOAT if dtype is None else dt.as_dtype(dtype)
    if not want.is_float:
        raise _located(DTypeError, f"{name}: dtype must be a real floating-point dtype, got "
                       f"{want.name}")
    return n, d, want


def _freqs(ints: np.ndarray | None, n_out: int, wrap_at: int | None, n: int, d: float, dtype,
           device):
    """`k / (n * d)` for k = 0, 1, ... n_out - 1 (wrapped to k - n from `wrap_at`), as NumPy
    computes it: the integers times the float64 reciprocal, then cast."""
    val = 1.0 / (n * d)
    if current_builder() is None:
        return _tensor.Tensor._wrap(_device.move((ints * val).astype(dtype.np), device))
    k = bind(G.IOTA, (), Attrs(shape=(n_out,), dtype=dt.int64, axis=0))
    if wrap_at is not None:
        k = where(less(k, wrap_at), k, subtract(k, n))
    return astype(multiply(k, val), dtype)


def fftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None):
    """The sample frequencies of an n-point transform with spacing `d`: [0, 1, ...,
    (n - 1) // 2, -(n // 2), ..., -1] / (n * d), float64 unless `dtype`."""
    n, d, want = _freq_args("fftfreq", n, d, dtype)
    device = _device.normalize(device)
    positive = (n - 1) // 2 + 1
    ints = np.concatenate([np.arange(positive), np.arange(-(n // 2), 0)])
    return _freqs(ints, n, positive, n, d, want, device)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None):
    """The non-negative sample frequencies of rfft: [0, 1, ..., n // 2] / (n * d)."""
    n, d, want = _freq_args("rfftfreq", n, d, dtype)
    device = _device.normalize(device)
    return _freqs(np.arange(n // 2 + 1), n // 2 + 1, None, n, d, want, device)


# --- shifts ---------------------------------------------------------------------------------
def _shift(name: str, x: Any, axes: Any, inverse: bool):
    x = asarray(x)
    t = type_of(x)
    if axes is None:
        axes = tuple(range(t.ndim))
    elif not isinstance(axes, Sequence):
        axes = (axes,)
    try:
        axes = [norm_axis(_int(name, a, "axes"), t.ndim, "axes entry") for a in axes]
    except AxisError as e:
        raise _located(AxisError, f"{name}: {e}") from None
    for a in axes:
        n = t.shape[a]
        k = (n - n // 2) if inverse else n // 2  # roll right by k: x[n - k:], then x[:n - k]
        if n <= 1 or k % n == 0:
            continue

        lead = (slice(None),) * a
        x = concat([getitem(x, (*lead, slice(n - k, n))), getitem(x, (*lead, slice(0, n - k)))],
                   axis=a)
    return x


def fftshift(x: Any, /, *, axes: int | Sequence[int] | None = None):
    """`x` rolled by n // 2 along each of `axes` (all by default): the zero frequency in the
    middle."""
    return _shift("fftshift", x, axes, inverse=False)


def ifftshift(x: Any, /, *, axes: int | Sequence[int] | None = None):
    """The inverse of fftshift: `x` rolled back by n // 2 along each of `axes`."""
    return _shift("ifftshift", x, axes, inverse=True)
