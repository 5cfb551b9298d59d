"""Where arrays live: the host (NumPy arrays, device "cpu") or the GPU (CuPy arrays, device
"gpu"). The one module outside the GPU backend that touches CuPy, and only lazily: importing
tracefuse never imports CuPy, and a GPU array is recognised by its type's module without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from ..ir.convert import is_gpu_array

DEVICES = ("cpu", "gpu")
_ALIASES = {"cpu": "cpu", "host": "cpu", "gpu": "gpu", "cuda": "gpu", "cuda:0": "gpu",
            "gpu:0": "gpu"}


def normalize(device: Any) -> str | None:
    """'cpu', 'gpu' or None (no preference); 'cuda' and 'cuda:0' mean 'gpu'."""
    if device is None:
        return None
    name = str(device).lower()
    if name not in _ALIASES:
        raise ValueError(f"unknown device {device!r}; choose 'cpu' or 'gpu'")
    return _ALIASES[name]


def device_of(a: Any) -> str:
    return "gpu" if is_gpu_array(a) else "cpu"


def cupy():
    """The CuPy module, or BackendUnavailableError saying what is missing."""
    try:
        import cupy as cp
    except ImportError as e:
        raise BackendUnavailableError(
            'GPU tensors need CuPy and a CUDA device: pip install "tracefuse[gpu]" '
            f"(CuPy did not import: {e})") from None
    try:
        ok = cp.cuda.is_available()
    except Exception:  # noqa: BLE001 - CuPy raises several kinds without a driver
        ok = False
    if not ok:
        raise BackendUnavailableError(
            "GPU tensors need a CUDA device, and CuPy finds none here "
            "(cupy.cuda.is_available() is False)")
    return cp


def to_host(a: Any) -> np.ndarray:
    """A NumPy array (a device-to-host copy for a GPU array; the array itself otherwise)."""
    return a.get() if is_gpu_array(a) else a


def to_gpu(a: Any):
    """A CuPy array (a host-to-device copy for a NumPy array)."""
    return a if is_gpu_array(a) else cupy().asarray(a)


def move(a: Any, device: str | None):
    """`a` on `device` (None: where it is)."""
    if device is None:
        return a
    return to_gpu(a) if device == "gpu" else to_host(a)


def same_device(arrays: list) -> list:
    """Operands of one eager op: if any is on the GPU, all are moved there (host operands are
    small in practice: Python scalars and constants)."""
    if any(is_gpu_array(a) for a in arrays):
        return [to_gpu(a) for a in arrays]
    return arrays
