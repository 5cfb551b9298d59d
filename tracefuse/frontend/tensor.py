"""The eager `Tensor`: an immutable array on a device: the host (a NumPy array, device "cpu")
or the GPU (a CuPy array, device "gpu"; device.py).

Operators and methods come from `ArrayMethods`, so a Tensor behaves like the `Tracer` that
stands for it under `@tx.function`. The wrapped array is read-only: tensors are values, and
a compiled function may hand out buffers it owns. `.numpy()` returns a writable host copy;
`np.asarray(t)` returns the read-only array without copying (a host copy for a GPU tensor).
`.to("cpu" | "gpu")` (the array API's `.to_device`) moves it.

DLPack: `t.__dlpack__(...)` exports it, and `from_dlpack(x)` makes a Tensor of any object that
has `__dlpack__` (a NumPy or CuPy array, a torch tensor ...). A host tensor's memory is
read-only, which DLPack 1.0 can say (its read-only flag) and DLPack 0.x cannot: a consumer of
the old format gets a copy, or with `copy=False` the memory unflagged (it must not write).
"""

from __future__ import annotations

import numpy as np

from ..errors import user_location, with_location
from ..ir.dtypes import DType, as_dtype
from ..tracer.operators import ArrayMethods
from ..tracer.tracer import Tracer
from . import device as _device

DLPACK_VERSIONED = (1, 0)  # the first DLPack version with a read-only flag
DLPACK_CUDA = (2, 13)  # kDLCUDA, kDLCUDAManaged: memory CuPy imports


def _readonly(arr: np.ndarray) -> np.ndarray:
    if _device.is_gpu_array(arr):
        return arr  # CuPy arrays have no read-only flag: tracefuse never writes into them
    if arr.flags.writeable:
        arr = arr.view()
        arr.setflags(False)  # write=False (3x cheaper than `arr.flags.writeable = False`)
    return arr


class _SameMemory:
    """Hands NumPy the memory of a read-only array as writable, keeping the array alive."""

    def __init__(self, arr: np.ndarray):
        self.arr = arr
        self.__array_interface__ = dict(arr.__array_interface__,
                                        data=(arr.__array_interface__["data"][0], False))


def _unflagged(arr: np.ndarray) -> np.ndarray:
    """A writable view of read-only `arr`, for the old DLPack format, which cannot say
    read-only (the consumer is trusted not to write, as the standard's note on read-only
    exports asks of it)."""
    return np.asarray(_SameMemory(arr))


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

    def to_device(self, device: str, /, *, stream=None) -> "Tensor":
        """The array API's name for `.to(device)`. Copies run on the default stream: `stream`
        must be None."""
        if stream is not None:
            raise ValueError(with_location(
                f"to_device(stream={stream!r}): tracefuse copies between devices on the default "
                "stream only; pass stream=None", user_location()))
        if device is None:
            return self
        return self.to(device)

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

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule of this tensor (the array API's `__dlpack__`). Host memory is
        read-only: a DLPack 1.0 consumer (one that passes `max_version`) gets it flagged so;
        the 0.x format has no flag, so a consumer of it gets a copy, or with `copy=False` the
        memory itself, unflagged (as JAX exports its immutable buffers): it must not write."""
        arr = self._array
        if _device.is_gpu_array(arr):  # CuPy: writable memory, streams; older CuPy lacks kwargs
            given = {"stream": stream, "max_version": max_version, "dl_device": dl_device,
                     "copy": copy}
            return arr.__dlpack__(**{k: v for k, v in given.items() if v is not None})
        legacy = max_version is None or tuple(max_version) < DLPACK_VERSIONED
        if legacy and not arr.flags.writeable:
            if copy is False:
                arr = _unflagged(arr)
            else:
                copy = True
        return arr.__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device,
                              copy=copy)

    def __dlpack_device__(self) -> tuple:
        """(DLPack device type, device id): (1, 0) for host memory (kDLCPU), (2, id) on a
        CUDA device."""
        kind, index = self._array.__dlpack_device__()
        return int(kind), int(index)


def from_dlpack(x, /, *, device=None, copy=None) -> Tensor:
    """A Tensor of `x`, any object with `__dlpack__` (a NumPy or CuPy array, a Tensor, a torch
    tensor ...), on `device` ("cpu", "gpu" or None: where `x` is). `copy=None` shares `x`'s
    memory when it is read-only and on that device, and copies otherwise (a Tensor is a value:
    writes through `x` must not change it); `copy=True` always copies; `copy=False` never does,
    and raises ValueError (BufferError from the producer) where a copy is needed."""
    if isinstance(x, Tracer):  # inside a trace: the value itself, as asarray gives it
        return x.to_device(device) if device is not None else x
    if isinstance(x, Tensor) and device is None and not copy:
        return x
    device = _device.normalize(device)
    if not hasattr(x, "__dlpack__"):
        raise TypeError(with_location(
            f"from_dlpack: a {type(x).__name__} has no __dlpack__ method; pass an array that "
            "supports DLPack, or use tx.asarray", user_location()))
    kind = int(x.__dlpack_device__()[0]) if hasattr(x, "__dlpack_device__") else 1
    on_gpu = kind in DLPACK_CUDA
    if device is None:
        device = "gpu" if on_gpu else "cpu"
    if on_gpu and device == "gpu":
        arr = _device.cupy().from_dlpack(x)
        return Tensor._wrap(arr.copy() if copy else arr)
    if device == "gpu" and copy is False:
        raise ValueError(with_location(
            "from_dlpack(device='gpu', copy=False): the array is in host memory, and moving it "
            "to the GPU copies it; pass copy=None", user_location()))
    arr = np.from_dlpack(x, device="cpu", copy=copy)
    if copy is None and arr.flags.writeable:
        arr = arr.copy()  # the producer's writable memory: a Tensor must not change with it
    elif copy is False and arr.flags.writeable:
        raise ValueError(with_location(
            "from_dlpack(copy=False): the array's memory is writable, and writing to it would "
            "change the Tensor, which is immutable; pass copy=None (which copies it)",
            user_location()))
    return Tensor._wrap(_device.move(arr, device))
