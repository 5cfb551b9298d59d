"""The eager `Tensor`: an immutable array on a device: the host (a NumPy array, device "cpu")
or the GPU (a CuPy array, device "gpu"; device.py).

Operators and methods come from `ArrayMethods`, so a Tensor behaves like the `Tracer` that
stands for it under `@tx.function`. The wrapped array is read-only: tensors are values, and
a compiled function may hand out buffers it owns. `.numpy()` returns a writable host copy;
`np.asarray(t)` returns the read-only array without copying (a host copy for a GPU tensor).
`.to("cpu" | "gpu")` moves it.
"""

from __future__ import annotations

import numpy as np

from . import device as _device
from ..tracer.operators import ArrayMethods
from ..ir.dtypes import DType, as_dtype


def _readonly(arr: np.ndarray) -> np.ndarray:
    if _device.is_gpu_array(arr):
        return arr  # CuPy arrays have no read-only flag: tracefuse never writes into them
    if arr.flags.writeable:
        arr = arr.view()
        arr.setflags(False)  # write=False (3x cheaper than `arr.flags.writeable = False`)
    return arr


class Tensor(ArrayMethods):
    """An immutable n-dimensional array. Create with `tx.asarray`, `tx.constant`, `tx.zeros` ..."""

    __slots__ = ("_array",)

    def __init__(self, array: np.ndarray):
        if not isinstance(array, np.ndarray) and not _device.is_gpu_array(array):
            array = np.asarray(array)
        self._array = _readonly(array)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> "Tensor":
        t = object.__new__(cls)
        if not isinstance(array, np.ndarray) and not _device.is_gpu_array(array):
            array = np.asarray(array)
        t._array = _readonly(array)
        return t

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> DType:
        return as_dtype(self._array.dtype)

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def size(self) -> int:
        return self._array.size

    @property
    def device(self) -> str:
        return _device.device_of(self._array)

    def numpy(self) -> np.ndarray:
        """A writable NumPy copy on the host."""
        if _device.is_gpu_array(self._array):
            return self._array.get()
        return self._array.copy()

    def __array__(self, dtype=None, copy=None):
        arr = self._array
        if _device.is_gpu_array(arr):
            if copy is False:
                raise ValueError("a GPU tensor has no host memory to view: np.asarray(t, "
                                 "copy=False) cannot avoid a copy (t.numpy() makes one)")
            arr = arr.get()
            copy = False
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            return arr.astype(dtype)
        if copy:
            return arr.copy()
        return arr

    def to(self, device: str) -> "Tensor":
        """This tensor on `device` ("cpu" or "gpu"): itself if it is there, else a copy."""
        device = _device.normalize(device)
        if device == self.device:
            return self
        return Tensor._wrap(_device.move(self._array, device))

    def item(self):
        if self._array.size != 1:
            raise ValueError(f"item() needs an array of one element, this one has shape {self.shape}")
        return self._array.item()

    def tolist(self):
        return self._array.tolist()

    def __bool__(self) -> bool:
        if self._array.size != 1:
            raise ValueError(
                f"the truth value of an array of shape {self.shape} is ambiguous; "
                "use tx.any(x) or tx.all(x)"
            )
        return bool(self._array)

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.ndim != 0:
            raise TypeError("only 0-d integer tensors can be used as an index")
        return int(self._array)

    def __repr__(self) -> str:
        body = np.array2string(_device.to_host(self._array), separator=" ", threshold=100).replace("\n", "")
        return f"tx.Tensor({body}, shape={self.shape}, dtype={self.dtype.name}, device={self.device})"

    def __str__(self) -> str:
        return str(_device.to_host(self._array))

    def __reduce__(self):  # pickles as a host tensor
        return (Tensor, (self.numpy(),))

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()
