"""The `"gpu"` and `"gpu-sim"` backends: fused kernels as CUDA C (render.py), launched by
one executor through a small `Runtime` interface, so the same text and the same launch logic
run on a GPU through CuPy and on the CPU through the simulator (sim.py).

`lower` renders every kernel without touching a device (it works on machines with no GPU and
no CuPy) and makes the execution plan (plan.py). `load` walks that plan (`CudaExecutor`, a
`PlanWalker`), supplying how each step runs: a kernel step applies the kernel's input views
with the array library (free: views), passes each array's pointer and element strides,
allocates the results, picks the launch configuration from the sizes at call time and
launches; `matmul` and the other library ops (`concat`, `argmax`) run through the array
library (`cupy.matmul` is cuBLAS), and kernels with float16 run their body's plan with it too.
Constants (and `full`/`iota` outside a kernel) are made with NumPy and copied to the device
once, when the plan is loaded (at the first call). Control flow (cond, while, scan) is a region
step: each region graph lowered by this backend to CUDA C kernels and a plan, and the loops of
plan.py launch them once per iteration; the predicate or index is read back to the host
(`bool`/`int` of a device scalar, which waits for the kernels before it), and a scan's ys are
device arrays (`rt.xp.empty`).

Runtimes:
- `CupyRuntime` (`"gpu"`): `cupy.RawModule` per kernel module (CuPy keeps compiled binaries
  in its own disk cache), device arrays; NumPy inputs are copied to the device once per call.
  CuPy is imported only when the backend is first used.
- `SimRuntime` (`"gpu-sim"`): `sim.SimModule` (g++ and our shim header); small blocks
  and grids, so grid-stride loops and cross-warp reductions are exercised cheaply.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import config
from ...errors import BackendUnavailableError
from ...ir import NUMPY_IMPL, Graph, OpCode
from ..base import CompileOptions, LoweredGraph, kernel_note, loop_extent, user_lines
from ..loops import LoopKernel, lower_kernel
from ..plan import (CONSTANT, KERNEL, LibraryOp, Plan, PlanWalker, Step, constant_value,
                    lower_regions, make_plan, region_notes)
from .render import INT32_LIMIT, CudaKernel, cuda_can_compile, render_cuda

G = OpCode


# --- runtimes -------------------------------------------------------------------------------
class SimRuntime:
    """Runs the CUDA C on the CPU (tier 2 of TESTING.md): correct, not fast."""

    name = "gpu-sim"
    xp = np
    block_elementwise = 32
    max_block = 64  # two warps: the cross-warp step of every block reduction runs
    max_grid = 3  # grid-stride loops wrap around at small sizes

    def __init__(self) -> None:
        self._modules: dict[str, Any] = {}
        self._lock = threading.Lock()

    def unavailable(self) -> str | None:
        from .sim import compiler_unavailable

        reason = compiler_unavailable()
        return None if reason is None else f'backend "gpu-sim": {reason}'

    def module(self, ck: CudaKernel):
        with self._lock:
            mod = self._modules.get(ck.source)
            if mod is None:
                from .sim import SimModule

                mod = self._modules[ck.source] = SimModule(ck.source, ck.kernels)
        return mod

    def launch(self, mod, name: str, grid: int, block: int, args: list) -> None:
        mod.launch(name, grid, block, args)

    def address(self, a) -> int:
        return a.ctypes.data

    def to_device(self, a):
        return a

    def is_device_array(self, a) -> bool:
        return isinstance(a, np.ndarray)


class CupyRuntime:
    """Runs the CUDA C on the GPU through CuPy."""

    name = "gpu"
    block_elementwise = 256
    max_block = 512

    def __init__(self) -> None:
        self._modules: dict[str, Any] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def xp(self):
        import cupy

        return cupy

    @functools.cached_property
    def max_grid(self) -> int:
        sms = self.xp.cuda.Device().attributes["MultiProcessorCount"]
        return sms * 16

    def unavailable(self) -> str | None:
        try:
            import cupy
        except ImportError as e:
            return ('backend "gpu" needs CuPy and a CUDA device: pip install "tracefuse[gpu]" '
                    f"(CuPy did not import: {e}); backend=\"gpu-sim\" runs the same kernels on "
                    "the CPU")
        try:
            if not cupy.cuda.is_available():
                raise RuntimeError("cupy.cuda.is_available() is False")
        except Exception as e:  # noqa: BLE001 - CuPy raises several kinds here
            return (f'backend "gpu" needs a CUDA device, and none is usable here ({e}); '
                    'backend="gpu-sim" runs the same kernels on the CPU')
        return None

    def module(self, ck: CudaKernel):
        with self._lock:
            mod = self._modules.get(ck.source)
            if mod is None:
                from .render import NVRTC_OPTIONS

                raw = self.xp.RawModule(code=ck.source, options=NVRTC_OPTIONS)
                mod = self._modules[ck.source] = {name: raw.get_function(name)
                                                  for name in ck.kernels}
        return mod

    def launch(self, mod, name: str, grid: int, block: int, args: list) -> None:
        mod[name]((grid,), (block,), tuple(args))

    def address(self, a) -> int:
        return a.data.ptr

    def to_device(self, a):
        return self.xp.asarray(a)

    def is_device_array(self, a) -> bool:
        return isinstance(a, self.xp.ndarray)


# --- launching one kernel ---------------------------------------------------------------------
@dataclass(frozen=True)
class CudaPlanKernel:
    """A kernel step's lowered kernel on the CUDA backends: its loops and its CUDA C."""

    loop: LoopKernel
    cuda: CudaKernel


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


class KernelStep:
    """Launches one rendered kernel: views, arguments, results, launch configuration."""

    def __init__(self, op, k: LoopKernel, ck: CudaKernel, rt):
        self.k, self.ck, self.rt = k, ck, rt
        self.mod = None
        self.views = [(NUMPY_IMPL[v.code], [t.type for t in v.inputs], v.attrs, v.output.type,
                       v.inputs, v.output) for v in k.views]
        self.idx = np.int32 if ck.index_type == "int" else np.int64
        self.out_types = [(v.type.shape, v.type.dtype.np) for v in op.outputs]
        self.sizes = [self.idx(k.sizes[a]) for a in k.outer + k.reduced]
        self.consts = [k.nodes[c].dtype.np.type(k.nodes[c].value) for c in k.constants]
        self.n_outer = math.prod(k.sizes[a] for a in k.outer)
        self.n_red = math.prod(k.sizes[a] for a in k.reduced)
        self.inputs = k.inputs

    def aligned(self, arrays: list, rt) -> bool:
        """Whether every array starts on its `_flat` vector (vec * itemsize bytes)."""
        vec = self.ck.vec
        return all(rt.address(a) % (vec * a.itemsize) == 0 for a in arrays if a.size)

    def arrays(self, inputs: Sequence) -> list:
        local = dict(zip(self.inputs, inputs))
        for impl, types, attrs, out_type, ins, out in self.views:
            local[out] = impl([local[v] for v in ins], types, attrs, out_type)
        return [local[v] for v in self.k.arrays]

    def __call__(self, inputs: Sequence) -> list:
        rt, ck, xp = self.rt, self.ck, self.rt.xp
        if self.mod is None:
            self.mod = rt.module(ck)
        args: list = []
        arrays: list = []  # as passed
        contiguous = True
        for a, dims in zip(self.arrays(inputs), ck.strided_dims):
            a = xp.asarray(a)
            item = a.itemsize
            if ck.index_type == "int" and a.size and \
                    sum(abs(a.strides[d]) // item * (a.shape[d] - 1) for d in dims) >= INT32_LIMIT:
                a = xp.ascontiguousarray(a)  # its strided extent needs 64-bit offsets
            contiguous = contiguous and a.flags.c_contiguous
            arrays.append(a)
            args.append(a)
            args += [self.idx(a.strides[d] // item) for d in dims]
        outs = [xp.empty(shape, dtype) for shape, dtype in self.out_types]
        args += outs
        args += self.sizes
        args += self.consts
        mapping = ck.mapping
        if mapping == "elementwise":
            if self.n_outer == 0:
                return outs
            block = rt.block_elementwise
            if ck.flat and contiguous and self.aligned(arrays + outs, rt):
                work, name = -(-self.n_outer // ck.vec), f"{ck.name}_flat"  # vec per thread
            else:
                work, name = self.n_outer, ck.name
            rt.launch(self.mod, name, min(-(-work // block), rt.max_grid), block, args)
        elif mapping == "rows":
            if self.n_outer == 0:
                return outs
            block = min(max(32, _pow2_at_least(self.n_red // 4)), rt.max_block)
            grid = min(self.n_outer, rt.max_grid)
            rt.launch(self.mod, ck.name, grid, block, args)
        else:  # "full": two stages, deterministic for a given device
            block = rt.max_block
            grid = max(1, min(-(-self.n_red // block), rt.max_grid))
            parts = [xp.empty(grid, d) for d in ck.partials]
            args += parts + [np.int32(grid)]
            rt.launch(self.mod, ck.name, grid, block, args)
            rt.launch(self.mod, f"{ck.name}_final", 1, min(rt.max_block, 256), args)
        return outs


def runner_for(rt) -> Callable[[Step], Callable]:
    """How each step of a plan runs on runtime `rt`: kernels launched, library ops through the
    array library, constants made with NumPy and copied to the device once (later calls reuse
    that device array, never written: the walker copies a result that shares its memory)."""

    def runner(step: Step) -> Callable:
        if step.kind is KERNEL:
            return KernelStep(step.op, step.kernel.loop, step.kernel.cuda, rt)
        if step.kind is CONSTANT:
            value = rt.to_device(constant_value(step.op))
            return lambda inputs: [value]
        return LibraryOp(step.op)

    return runner


class CudaExecutor(PlanWalker):
    """Runs a plan on runtime `rt` (arguments copied to the device first). A kernel the CUDA
    target cannot compile (float16) runs its body's plan with the array library, so its
    constants are device arrays too."""

    def __init__(self, plan: Plan, rt):
        super().__init__(plan, runner_for(rt), rt.xp)
        self.rt = rt

    def __call__(self, arrays: Sequence) -> list:
        rt = self.rt
        return super().__call__([a if rt.is_device_array(a) else rt.to_device(a)
                                 for a in arrays])


_pending: list[str] = []  # TRACEFUSE_NVRTC_GATE=batch: kernels waiting for flush_gate()
_pending_lock = threading.Lock()
GATE_BATCH = 64


def gate(ck: CudaKernel, origin: Sequence[str]) -> None:
    """The compile gate: `ck` must compile to cubin for sm_80 and sm_90 with the runtime's
    NVRTC options; a failure shows NVRTC's log and the user's lines the kernel came from.
    In batch mode the kernel waits for `flush_gate()` (or for GATE_BATCH others)."""
    from . import nvrtc_gate
    from .render import NVRTC_OPTIONS

    reason = nvrtc_gate.unavailable()
    if reason is not None:
        raise BackendUnavailableError(f"TRACEFUSE_NVRTC_GATE is on but {reason}")
    header = "".join(f"// from {loc}\n" for loc in origin)
    if config.nvrtc_gate() != "batch":
        nvrtc_gate.check_sources([header + ck.source], options=NVRTC_OPTIONS)
        return
    with _pending_lock:
        _pending.append(header + ck.source)
        full = len(_pending) >= GATE_BATCH
    if full:
        flush_gate()


def flush_gate() -> int:
    """Compile the kernels waiting for the batch gate; raises NvrtcCompileError naming the
    first that fails. Returns how many NVRTC compiles ran."""
    with _pending_lock:
        sources = list(_pending)
        _pending.clear()
    if not sources:
        return 0
    from . import nvrtc_gate
    from .render import NVRTC_OPTIONS, combine_sources

    return nvrtc_gate.check_batch(sources, combine_sources, options=NVRTC_OPTIONS)


# --- the backends -------------------------------------------------------------------------------
class CudaBackend:
    """`lower` renders CUDA C (no device needed); `load` runs it through a runtime."""

    source_suffix = ".cu"

    def __init__(self, runtime, device: str):
        self.runtime, self.name, self.device = runtime, runtime.name, device

    def unavailable(self) -> str | None:
        return self.runtime.unavailable()

    def lower(self, graph: Graph, options: CompileOptions) -> LoweredGraph:
        kernels: dict = {}  # kernel op -> CudaPlanKernel, or None: its body runs op by op
        for op in graph.ops:
            if op.code is not G.KERNEL:
                continue
            k = lower_kernel(op)
            kernels[op] = (CudaPlanKernel(k, render_cuda(k, op.attrs["name"]))
                           if cuda_can_compile(k) else None)
        regions, nested = lower_regions(graph, lambda g: self.lower(g, options), options)
        sources = tuple(pk.cuda.source for pk in kernels.values() if pk is not None)
        sources += tuple(s for _, _, low in nested for s in low.kernels)
        n_lib = sum(op.code is not G.KERNEL for op in graph.ops)
        notes = [(f"CUDA ({self.name}): {len(kernels)} kernels, {n_lib} library ops "
                  "(matmul via cuBLAS, views, concat, argmax, control flow)")]
        for op, pk in kernels.items():
            if pk is None:
                how = "run by the array library (float16)"
            else:
                how = {"elementwise": "grid-stride loop", "rows": "one block per row",
                       "full": "two-stage block reduction"}[pk.cuda.mapping]
                how += f" over {loop_extent(pk.loop)}, {pk.cuda.index_type} indices"
            notes.append(kernel_note(op, how))
        notes += region_notes(nested)
        if config.nvrtc_gate() != "off":  # a region's kernels passed it in its own lower
            for op, pk in kernels.items():
                if pk is not None:
                    gate(pk.cuda, user_lines(op))
        return LoweredGraph(self.name, graph, sources, tuple(notes),
                            plan=make_plan(graph, kernels, regions))

    def load(self, lowered: LoweredGraph) -> CudaExecutor:
        return CudaExecutor(lowered.plan, self.runtime)
