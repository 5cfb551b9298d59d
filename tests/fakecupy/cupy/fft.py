"""The fake CuPy's `cupy.fft`: CuPy 14's functions and parameters (`a, n, axis, norm` and
`a, s, axes, norm`), NumPy's pocketfft behind them where real CuPy runs cuFFT. Device arrays in
and out; a host array is refused, as every module function of the fake does."""

from __future__ import annotations

import numpy as np

from . import _from_numpy

_NAMES = ("fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
          "fftshift", "ifftshift")
(fft, ifft, fftn, ifftn, rfft, irfft, rfftn, irfftn, hfft, ihfft, fftshift, ifftshift) = (
    _from_numpy(getattr(np.fft, _name), f"fft.{_name}") for _name in _NAMES)
