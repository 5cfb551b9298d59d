"""`tx.__array_namespace_info__()`: the array API's inspection object (2023.12), which tells a
library written against the standard what this namespace has: its capabilities, devices and
dtypes.

Devices are the strings "cpu" and "gpu" (device.py); "gpu" is listed only where CuPy finds a
CUDA device (asked at the call, never at import). Dtypes are the standard's only (tracefuse's
float16 is an extra the standard does not define); complex ones appear when tracefuse has them.
Capabilities are found out, not declared: each is True only if a small eager example of it
works here, so the answer stays true as the namespace grows.
"""

from __future__ import annotations

from typing import Any

from ..errors import BackendUnavailableError
from ..ir import dtypes as dt
from ..tracer.tracer import outside_trace
from . import device as _device
from .creation import asarray
from .dtypes import isdtype

# the standard's dtypes, by name, in its order (those tracefuse lacks are skipped)
STANDARD_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                   "uint64", "float32", "float64", "complex64", "complex128")


def _dtypes() -> dict[str, dt.DType]:
    found = {name: getattr(dt, "bool_" if name == "bool" else name, None)
             for name in STANDARD_DTYPES}
    return {name: d for name, d in found.items() if isinstance(d, dt.DType)}


def _probe(example) -> bool:
    """Whether `example()` runs eagerly without an error (outside any trace in progress)."""
    try:
        with outside_trace():
            return bool(example())
    except Exception:  # noqa: BLE001 - any failure means the capability is missing
        return False


def _boolean_indexing() -> bool:
    x = asarray([1.0, 2.0, 3.0])
    picked = x[asarray([True, False, True])]
    return tuple(picked.shape) == (2,) and picked.tolist() == [1.0, 3.0]


def _data_dependent_shapes() -> bool:
    x = asarray([3, 1, 3, 0])
    tx = x.__array_namespace__()  # the package (this module is imported before it is whole)
    return (tuple(tx.nonzero(x)[0].shape) == (3,)
            and tuple(tx.unique_values(x).shape) == (3,))


class Info:
    """What `tx.__array_namespace_info__()` returns (the standard's inspection namespace)."""

    __slots__ = ()

    def capabilities(self) -> dict[str, Any]:
        """{"boolean indexing": bool, "data-dependent shapes": bool}: True where it works
        eagerly (traced, both raise ConcretizationError unless given a static size)."""
        return dict(_capabilities())

    def default_device(self) -> str:
        return "cpu"

    def devices(self) -> list[str]:
        """The devices available now: "cpu", and "gpu" where CuPy finds a CUDA device."""
        try:
            _device.cupy()
        except BackendUnavailableError:
            return ["cpu"]
        return ["cpu", "gpu"]

    def default_dtypes(self, *, device: Any = None) -> dict[str, dt.DType]:
        """The dtypes creation functions choose by default (the same on every device)."""
        self._check(device)
        out = {"real floating": dt.DEFAULT_FLOAT, "integral": dt.DEFAULT_INT,
               "indexing": dt.DEFAULT_INDEX}
        complex128 = _dtypes().get("complex128")
        if complex128 is not None:
            out["complex floating"] = complex128
        return out

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, dt.DType]:
        """The standard's dtypes tracefuse has, by name; `kind` a kind name ("integral",
        "real floating" ...) or a tuple of them (their union)."""
        self._check(device)
        if kind is not None:
            isdtype(dt.bool_, kind)  # an unknown kind raises ValueError, even with no match
        return {name: d for name, d in _dtypes().items() if kind is None or isdtype(d, kind)}

    def _check(self, device: Any) -> None:
        if device is not None and _device.normalize(device) not in self.devices():
            raise ValueError(f"device {device!r} is not available here; devices: "
                             f"{self.devices()}")

    def __repr__(self) -> str:
        return "tx.__array_namespace_info__()"


def _capabilities() -> tuple[tuple[str, bool], ...]:
    """Probed at each call (a few small eager ops), so a trace in progress sees none of them."""
    return (("boolean indexing", _probe(_boolean_indexing)),
            ("data-dependent shapes", _probe(_data_dependent_shapes)))


def __array_namespace_info__() -> Info:
    """The array API's inspection object: capabilities(), default_device(), devices(),
    default_dtypes(device=None), dtypes(device=None, kind=None)."""
    return Info()
