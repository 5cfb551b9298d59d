"""The fake `cupy.cuda`: one device (4 SMs, so tracefuse's grids stay small for the simulator),
synchronous streams, the error types tracefuse might catch."""

from __future__ import annotations

import types


def is_available() -> bool:
    return True


class CUDARuntimeError(RuntimeError):
    pass


class CUDADriverError(RuntimeError):
    pass


def _device_properties(device_id: int = 0) -> dict:
    Device(device_id)
    return {"name": b"fake CuPy device (CPU simulator)", "totalGlobalMem": 8 << 30,
            "multiProcessorCount": _ATTRIBUTES["MultiProcessorCount"], "warpSize": 32,
            "maxThreadsPerBlock": 1024, "major": 9, "minor": 0}


runtime = types.SimpleNamespace(
    CUDARuntimeError=CUDARuntimeError,
    getDeviceCount=lambda: 1,
    getDevice=lambda: 0,
    getDeviceProperties=_device_properties,
    deviceSynchronize=lambda: None,
    runtimeGetVersion=lambda: 12080,
    driverGetVersion=lambda: 12080,
    is_hip=False,
)
driver = types.SimpleNamespace(CUDADriverError=CUDADriverError)


def set_allocator(allocator=None) -> None:
    pass


def set_pinned_memory_allocator(allocator=None) -> None:
    pass

_ATTRIBUTES = {
    "MultiProcessorCount": 4,
    "WarpSize": 32,
    "MaxThreadsPerBlock": 1024,
    "MaxBlockDimX": 1024,
    "MaxGridDimX": 2**31 - 1,
    "MaxSharedMemoryPerBlock": 49152,
    "ComputeCapabilityMajor": 9,
    "ComputeCapabilityMinor": 0,
}


class Device:
    def __init__(self, device=None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    @property
    def attributes(self) -> dict:
        return dict(_ATTRIBUTES)

    @property
    def compute_capability(self) -> str:
        return "90"

    def synchronize(self) -> None:
        pass

    def use(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __int__(self) -> int:
        return self.id

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


class Stream:
    """Every launch in the fake is synchronous, so a stream has nothing to wait for."""

    null = None

    def __init__(self, null=False, non_blocking=False, ptr=0):
        self.ptr = 0 if null else 1

    def synchronize(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


Stream.null = Stream(null=True)


def get_current_stream(device_id=-1) -> Stream:
    return Stream.null


class Event:
    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass
