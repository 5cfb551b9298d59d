"""`tx.fft`: the array API standard's FFT extension. The transforms `fft`, `ifft`, `fftn`,
`ifftn`, `rfft`, `irfft`, `rfftn`, `irfftn`, `hfft`, `ihfft` (parameters `n` / `s`, `axis` /
`axes`, `norm`), the sample frequencies `fftfreq`, `rfftfreq` (`d`, `dtype`, `device`) and the
shifts `fftshift`, `ifftshift` (`axes`).

The transforms are library calls (pocketfft through NumPy on the host, cuFFT through CuPy on the
GPU): eager, compiled in `tx.function` between the fused kernels, differentiable (JAX's complex
convention) and batched by `tx.vmap`. The implementation is `tracefuse/frontend/fft.py`; the
user guide's section "FFT (tx.fft)" says what each returns.
"""

from .frontend.fft import (
                           fft,
                           fftfreq,
                           fftn,
                           fftshift,
                           hfft,
                           ifft,
                           ifftn,
                           ifftshift,
                           ihfft,
                           irfft,
                           irfftn,
                           rfft,
                           rfftfreq,
                           rfftn,
)

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
           "fftfreq", "rfftfreq", "fftshift", "ifftshift"]
