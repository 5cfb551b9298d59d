"""GPU benchmarks (testing tier 3): tracefuse's `backend="gpu"` against CuPy eager, `cupy.fuse`
and JAX `jit` on the same device, in one process, with a table printed last.

Usage (from the repository root; nothing is installed, the checkout is imported)::

    PYTHONPATH="$PWD" python benchmarks/gpu_bench.py                      # full sizes, on a GPU
    PYTHONPATH="$PWD" python benchmarks/gpu_bench.py --only gelu --only mlp --repeats 5
    PYTHONPATH="$PWD" python benchmarks/gpu_bench.py --json /tmp/gpu_bench.json
    python benchmarks/gpu_bench.py --xp numpy --sizes small --backend numpy   # CPU dry run
    python benchmarks/gpu_bench.py --xp numpy --sizes small --backend cpu     # CPU dry run

`benchmarks/gpu_check.sh` runs it (after the GPU test tier) within the 5 minutes a device
check may take. Options: `--sizes full|small`, `--repeats N` (timed rounds), `--xp cupy|numpy`,
`--backend` (tracefuse backend; default "gpu" with cupy, "numpy" with numpy), `--only NAME`,
`--budget-s S` (soft budget for the whole run, default 200: workloads left when it is spent are
skipped with a note), `--json PATH`, `--table-out PATH` (the final table, also as a file),
`--peers eager,fuse,jax` (or `none`), `--torch` (add `torch.compile`; off by default: its
cold compiles take tens of seconds), `--max-timing-s S` (cap on one workload's timing rounds,
12), `--no-bw`, `--no-overhead`, `--no-pool` (plain cudaMalloc per array instead of CuPy's
pool: for compute-sanitizer), `-v` (tracebacks). Exit status: 0; 1 when a tracefuse result was
wrong or raised; 2 when the array module is unusable (no CuPy or no device: use --xp numpy);
3 when stopped by SIGTERM / Ctrl-C (e.g. `timeout`), after printing the partial table.
Progress goes to stderr; the notes and the table go to stdout, last.

What it does:

1. **Bandwidth ceilings**, once: copy = best of a few device-to-device copies of 1 GiB
   (`cudaMemcpyAsync` through CuPy, and a float4 grid-stride copy kernel), bytes counted as
   read + written; read = best of `cupy.sum` and a float4 read-only kernel over 1 GiB.
2. **Workloads** of `tracefuse/tools/bench/workloads.py` (imported, not copied), at the sizes of the
   GPU issue: gelu 100M, the 10-op chain 8192x8192, softmax and layernorm 32768x4096,
   `sum(x*x)` 400M (all float32), the MLP with every dimension 4096; and the gradients of
   issue 14: gelu_grad 100M, xent_grad 32768x4096, per_example_grad 65536x1024, and the
   loops of issue 15: mandelbrot 4096x4096 (100 steps), newton 16M, scan_recurrence 1000
   steps of h of 1024 (no GPU target yet: they are timed and checked; a tuple result, the
   scan's (h, hs), array by array; mandelbrot allows 1 % of its counts off, as the runner
   does: a boundary point's count changes with one fused multiply-add). Inputs come from the
   workload's own `make` with its fixed seed, on the host, and are copied to the device once.
   The NumPy reference and the checks run on host threads (in row blocks where that is exact).
   Implementations: `tracefuse` (`tx.function(w.tx_fn, backend=...)` called with CuPy arrays),
   CuPy eager (`w.numpy(*cupy_arrays)`: NumPy's functions dispatch to CuPy through
   `__array_ufunc__` / `__array_function__`), `cupy.fuse` (the workload's `jax` factory given
   the `cupy` module, fused; only where `cupy.fuse` can express it: elementwise with at most
   one trailing reduction; the MLP's column is cuBLAS matmuls + fused epilogues), and
   `jax.jit` (the `jax` factory with `jax.numpy`, on JAX's GPU; float32 matmuls at
   "highest" precision, i.e. no TF32, like CuPy's and NumPy's).
3. **Warm-up** (the first call: compile + run, reported as first-call seconds), then a check
   of every result against NumPy on the host with the workload's rtol / atol: a wrong result is
   WRONG and not timed; an exception is ERR, printed, and the run goes on. tracefuse's first
   result is held during timing and checked again afterwards, with a new call's result.
4. **Timing**: rounds alternate between the implementations; one sample = `number` calls
   (calibrated to last >= 20 ms) between two device synchronizations
   (`cudaDeviceSynchronize`, which covers every stream of the device, JAX's too), per-call
   time = sample / number. The median over the rounds is reported. Results are never copied
   to the host inside the timed region.
5. **Host overhead**: a compiled tiny elementwise function (gelu on 1024 float32, device
   input), 1000 calls each timed alone with `perf_counter_ns` and no synchronization;
   median. Peers measured the same way.
6. **Targets** (H100, issue): elementwise >= 85 % of copy bandwidth, sum(x*x) >= 85 % of read
   bandwidth, softmax and layernorm >= 70 % of copy bandwidth, at least as fast as every
   peer, MLP within 5 % of cuBLAS (the two GEMMs alone, `out=`) plus one epilogue pass
   (bias + relu over the hidden activation), host overhead <= 20 us. Bytes moved follow
   `workloads.bytes_moved`: every input read once plus the output written once.

`--xp numpy` is the same code path on the CPU, with NumPy arrays in place of CuPy's (the
"eager" column is then NumPy eager, `cupy.fuse` is n/a, JAX runs on its CPU if it imports):
this is how the script is tested without a GPU. Times from a dry run mean nothing.
"""

# ruff: noqa: BLE001 - a harness that must survive any implementation failing catches everything
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import signal
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# JAX must not grab 75 % of the GPU's memory at start-up: CuPy needs it too.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:  # run this checkout's tracefuse, installed or not
    sys.path.insert(0, _ROOT)

import numpy as np

import tracefuse as tx
from tracefuse.tools.bench import workloads as W

T0 = time.perf_counter()
OVERHEAD_TARGET_US = 20.0
MLP_REF_SLACK = 1.05  # MLP within 5 % of cuBLAS + one epilogue pass


# --- the cases: workloads of workloads.py at the GPU issue's sizes ---------------------------
@dataclass(frozen=True)
class Case:
    name: str  # a workload of workloads.py
    full: dict[str, int]
    min_floor_pct: float | None  # % of the copy / read bandwidth (the workload's floor kind)
    fuse: str  # "factory": cupy.fuse(w.jax(cupy)); "mlp": matmul + fused epilogues; else n/a
    fuse_na: str = ""
    mlp_ref: bool = False


CASES: tuple[Case, ...] = (
    Case("gelu", {"n": 100_000_000}, 85.0, "factory"),
    Case("chain", {"rows": 8192, "cols": 8192}, 85.0, "factory"),
    Case("softmax", {"rows": 32768, "cols": 4096}, 70.0, "",
         "cupy.fuse fuses at most one trailing reduction (softmax reduces mid-way)"),
    Case("layernorm", {"rows": 32768, "cols": 4096}, 70.0, "",
         "cupy.fuse fuses at most one trailing reduction (layernorm reduces mid-way)"),
    Case("sumsq_f32", {"n": 400_000_000}, 85.0, "factory"),
    Case("mlp", {"batch": 4096, "d_in": 4096, "hidden": 4096, "d_out": 4096}, None, "mlp",
         mlp_ref=True),
    # gradients (issue 14): the backward kernels of tx.grad / tx.vmap; no target on the GPU yet
    Case("gelu_grad", {"n": 100_000_000}, None, "", "cupy.fuse does not differentiate"),
    Case("xent_grad", {"rows": 32768, "cols": 4096}, None, "",
         "cupy.fuse does not differentiate"),
    Case("per_example_grad", {"n": 65536, "features": 1024}, None, "",
         "cupy.fuse does not differentiate"),
    # control flow (issue 15): each iteration launches the body's kernels from the plan; the
    # loop-inside-one-kernel fusion is not built yet; no target on the GPU yet
    Case("mandelbrot", {"rows": 4096, "cols": 4096}, None, "", "cupy.fuse has no loops"),
    Case("newton", {"n": 16_000_000}, None, "", "cupy.fuse has no loops"),
    Case("scan_recurrence", {"steps": 1000, "hidden": 1024}, None, "", "cupy.fuse has no loops"),
)
CASE_BY_NAME = {c.name: c for c in CASES}
PEER_COLUMNS = ("eager", "fuse", "jax", "torch")


class Stop(BaseException):
    """SIGTERM (e.g. from `timeout`) or Ctrl-C: stop measuring, print what we have."""


def _on_signal(signum, frame):
    raise Stop(f"signal {signum}")


def elapsed() -> float:
    return time.perf_counter() - T0


def log(msg: str) -> None:
    print(f"[{elapsed():6.1f}s] {msg}", file=sys.stderr, flush=True)


def short_error(e: BaseException, limit: int = 300) -> str:
    text = f"{type(e).__name__}: {e}".replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the array module, synchronization, host copies ------------------------------------------
class Ctx:
    """What the run uses: the array module (cupy or numpy), the peers, the options."""

    def __init__(self, opts):
        self.opts = opts
        self.is_gpu = opts.xp == "cupy"
        self.cp = None
        self.jax = self.jnp = None
        self.torch = None
        self.notes: list[str] = []
        self.info: dict[str, Any] = {"python": platform.python_version(),
                                     "numpy": np.__version__, "xp": opts.xp,
                                     "backend": opts.backend}
        if self.is_gpu:
            import cupy as cp

            self.cp = cp
            if opts.no_pool:
                cp.cuda.set_allocator(None)
                cp.cuda.set_pinned_memory_allocator(None)
            dev = cp.cuda.Device()
            props = cp.cuda.runtime.getDeviceProperties(dev.id)
            name = props.get("name", b"?")
            self.info.update({
                "cupy": cp.__version__,
                "device": name.decode() if isinstance(name, bytes) else str(name),
                "sm_count": int(props.get("multiProcessorCount", 0)),
                "memory_gib": round(props.get("totalGlobalMem", 0) / 2**30, 1),
                "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
                "cuda_driver": cp.cuda.runtime.driverGetVersion(),
            })
            self.xp = cp
        else:
            self.xp = np
            self.info["device"] = f"CPU ({platform.machine()}, {os.cpu_count()} cores): dry run"
        peers = set(opts.peer_list)
        if "jax" in peers:
            self._load_jax()
        if opts.torch:
            self._load_torch()

    def _load_jax(self) -> None:
        try:
            import jax
            import jax.numpy as jnp

            try:  # float32 matmuls in float32 (JAX's GPU default is TF32: ~1e-3 off)
                jax.config.update("jax_default_matmul_precision", "highest")
            except Exception as e:
                self.notes.append(f"jax: could not ask for float32 matmuls: {short_error(e)}")
            platform_ = jax.default_backend()
            self.info["jax"] = f"{jax.__version__} ({platform_}: {jax.devices()[0]})"
            if self.is_gpu and platform_ == "cpu":
                self.notes.append("jax imports but has no GPU backend (platform cpu): no jax "
                                  "column")
                return
            self.jax, self.jnp = jax, jnp
        except ImportError as e:
            self.notes.append(f"jax not installed: no jax column ({e})")
        except Exception as e:
            self.notes.append(f"jax failed to start: {short_error(e)}")

    def _load_torch(self) -> None:
        try:
            import torch

            self.info["torch"] = torch.__version__
            if self.is_gpu and not torch.cuda.is_available():
                self.notes.append("torch has no CUDA here: no torch column")
                return
            self.torch = torch
        except Exception as e:
            self.notes.append(f"torch failed to import: {short_error(e)}")

    def sync(self) -> None:
        if self.is_gpu:
            self.cp.cuda.runtime.deviceSynchronize()

    def to_device(self, a: np.ndarray):
        return self.cp.asarray(a) if self.is_gpu else a

    def free(self) -> None:
        gc.collect()
        if self.is_gpu:
            self.sync()
            self.cp.get_default_memory_pool().free_all_blocks()
            self.cp.get_default_pinned_memory_pool().free_all_blocks()


def to_host(r: Any) -> Any:
    """Any implementation's result as a NumPy array, a tuple result as a tuple of them
    (outside every timed region)."""
    if isinstance(r, np.ndarray):
        return r
    if isinstance(r, (tuple, list)):
        return tuple(to_host(a) for a in r)
    if isinstance(r, tx.Tensor):
        return np.asarray(r.numpy())
    mod = type(r).__module__.split(".")[0]
    if mod == "cupy":
        return r.get()
    if mod == "torch":
        return r.detach().cpu().numpy()
    if hasattr(r, "numpy") and mod not in ("jax", "jaxlib"):
        return np.asarray(r.numpy())
    return np.asarray(r)


# --- checking against NumPy -------------------------------------------------------------------
_POOL: ThreadPoolExecutor | None = None
_WORKERS = max(1, min(16, os.cpu_count() or 1))
_MIN_CHUNK = 1 << 20  # elements: smaller arrays are handled in one piece


def _pool() -> ThreadPoolExecutor:
    """Threads for the host-side NumPy work (NumPy releases the GIL in its loops): the
    reference and the checks of 100M-400M-element arrays would take a minute in one thread."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_WORKERS)
    return _POOL


def _slices(n: int, unit: int = 1) -> list[slice]:
    """Slices of range(n) for the threads; each index stands for `unit` elements."""
    parts = max(1, min(4 * _WORKERS, (n * unit) // _MIN_CHUNK, n))
    step = -(-n // parts)
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def numpy_reference(w: W.Workload, host: tuple) -> Any:
    """`w.numpy(*host)`, computed in blocks of rows on threads where that is exact: the
    workloads whose result rows depend only on the same rows of their full-rank inputs
    (elementwise, and reductions over the last axis); every other one in one call (a tuple
    result, as the scan's, stays a tuple of arrays)."""
    if w.name not in ("gelu", "chain", "softmax", "layernorm", "mandelbrot"):
        r = w.numpy(*host)
        return tuple(map(np.asarray, r)) if isinstance(r, tuple) else np.asarray(r)
    nd = max(a.ndim for a in host)
    rows = host[0].shape[0]
    split = [a.ndim == nd and a.shape[0] == rows for a in host]
    blocks = _slices(rows, host[0].size // max(rows, 1))
    if len(blocks) <= 1:
        return np.asarray(w.numpy(*host))

    def part(sl):
        return np.asarray(w.numpy(*(a[sl] if sp else a for a, sp in zip(host, split))))

    return np.concatenate(list(_pool().map(part, blocks)), axis=0)


class Reference:
    """NumPy's result, and checks of |got - ref| <= atol + rtol |ref| (np.allclose's test) on
    all but `w.max_mismatch_frac` of the elements; a tuple result array by array."""

    def __init__(self, ref: Any, w: W.Workload):
        if isinstance(ref, tuple):
            self.parts = [Reference(r, w) for r in ref]
            self.ref = tuple(p.ref for p in self.parts)
            return
        self.parts = None
        self.ref = np.asarray(ref)
        if not self.ref.flags.c_contiguous:
            self.ref = self.ref.copy()
        self.w = w
        flat = self.ref.reshape(-1)
        if flat.size:
            self.max_abs = max(_pool().map(lambda sl: float(np.max(np.abs(flat[sl]))),
                                           _slices(flat.size)))
        else:
            self.max_abs = 0.0
        self.atol = w.atol_scale * self.max_abs

    def check(self, got: Any) -> tuple[bool, str]:
        got = to_host(got)
        if self.parts is not None:
            if not isinstance(got, tuple) or len(got) != len(self.parts):
                return False, f"got {type(got).__name__}, NumPy gives a tuple of {len(self.parts)}"
            res = [p.check(g) for p, g in zip(self.parts, got)]
            return all(ok for ok, _ in res), "; ".join(f"[{i}] {m}" for i, (_, m) in
                                                        enumerate(res))
        ref = self.ref
        if got.shape != ref.shape or got.dtype != ref.dtype:
            return False, (f"got {got.dtype}{list(got.shape)}, NumPy gives "
                           f"{ref.dtype}{list(ref.shape)}")
        if not ref.size:
            return True, "empty"
        g, r = got.reshape(-1), ref.reshape(-1)  # copies only a non-contiguous result
        work = np.float64 if ref.ndim == 0 else ref.dtype
        rtol, atol = np.dtype(work).type(self.w.rtol), np.dtype(work).type(self.atol)

        def part(sl):
            rc = r[sl].astype(work, copy=False)
            d = np.abs(g[sl].astype(work, copy=False) - rc)
            bad = int(np.count_nonzero(~(d <= np.abs(rc) * rtol + atol)))
            nan = np.isnan(d)
            if nan.any():
                d[nan] = np.inf
            return bad, float(d.max())

        parts = list(_pool().map(part, _slices(g.size)))
        bad = sum(p[0] for p in parts)
        max_err = max(p[1] for p in parts)
        allowed = int(self.w.max_mismatch_frac * ref.size)
        if bad > allowed:  # NaN == NaN and inf == inf count as equal: ask isclose, the slow way
            bad = int(np.count_nonzero(~np.isclose(got, ref, rtol=self.w.rtol, atol=self.atol,
                                                   equal_nan=True)))
        rel = max_err / self.max_abs if self.max_abs else 0.0
        off = f", {bad} elements off, {allowed} allowed" if allowed else ""
        if bad <= allowed:
            return True, f"max |err| {max_err:.3g} ({rel:.2g} of max |ref|){off}"
        return False, (f"not allclose: max |err| {max_err:.3g} (max |ref| {self.max_abs:.3g}, "
                       f"rtol {self.w.rtol:g}, atol {self.atol:.3g}){off}")


# --- implementations ----------------------------------------------------------------------------
@dataclass
class Impl:
    name: str  # "tracefuse", "eager", "fuse", "jax", "torch", or "ref:..." (not a peer)
    fn: Callable[..., Any] | None
    args: tuple = ()
    wait: Callable[[Any], Any] | None = None
    status: str = "ok"  # ok | n/a | ERR | WRONG
    detail: str = ""
    first_call_s: float | None = None
    check: str = ""
    number: int = 1
    samples: list[float] = field(default_factory=list)
    held: Any = None
    after: str = ""  # tracefuse: the checks after timing

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    def fail(self, status: str, detail: str) -> None:
        self.status, self.detail, self.held = status, detail, None

    def call(self):
        r = self.fn(*self.args)
        if self.wait is not None:
            self.wait(r)
        return r


def _na(name: str, why: str) -> Impl:
    return Impl(name, None, status="n/a", detail=why)


def _jax_wait(r):
    for a in (r if isinstance(r, (tuple, list)) else (r,)):  # every array of a tuple result
        a.block_until_ready()
    return r


def _fused_mlp(cp):
    """The MLP as a CuPy user would fuse it: cuBLAS matmuls, each followed by one fused
    epilogue kernel."""

    def mlp_bias_relu(h, b):
        return cp.maximum(h + b, 0.0)

    def mlp_bias(o, b):
        return o + b

    bias_relu = cp.fuse(mlp_bias_relu)
    bias = cp.fuse(mlp_bias)

    def mlp(x, w1, b1, w2, b2):
        return bias(bias_relu(x @ w1, b1) @ w2, b2)
    return mlp


class _TorchNamespace:
    """The few spots where torch differs from the array API the `jax` factories use."""

    def __init__(self, torch):
        self._t = torch

    def __getattr__(self, name):
        return getattr(self._t, name)

    def maximum(self, a, b):
        if isinstance(b, (int, float)):
            return self._t.clamp_min(a, b)
        return self._t.maximum(a, b)


def build_impls(ctx: Ctx, case: Case, w: W.Workload, host: tuple, dev: tuple) -> list[Impl]:
    opts = ctx.opts
    peers = set(opts.peer_list)
    impls: list[Impl] = []
    try:
        impls.append(Impl("tracefuse", w.compile(opts.backend), dev))
    except Exception as e:
        impls.append(Impl("tracefuse", None, status="ERR", detail=short_error(e)))

    if "eager" in peers:
        impls.append(Impl("eager", w.numpy, dev))

    if "fuse" in peers:
        if not ctx.is_gpu:
            impls.append(_na("fuse", "no cupy (--xp numpy)"))
        elif case.fuse == "factory" and w.jax is not None:
            try:
                impls.append(Impl("fuse", ctx.cp.fuse(w.jax(ctx.cp)), dev))
            except Exception as e:
                impls.append(Impl("fuse", None, status="ERR", detail=short_error(e)))
        elif case.fuse == "mlp":
            try:
                impls.append(Impl("fuse", _fused_mlp(ctx.cp), dev))
            except Exception as e:
                impls.append(Impl("fuse", None, status="ERR", detail=short_error(e)))
        else:
            impls.append(_na("fuse", case.fuse_na or "not expressible"))

    if "jax" in peers:
        if ctx.jax is None or w.jax is None:
            impls.append(_na("jax", "jax not available (see notes)"))
        else:
            try:
                jargs = tuple(ctx.jax.device_put(a) for a in host)
                impls.append(Impl("jax", ctx.jax.jit(w.jax(ctx.jnp)), jargs, _jax_wait))
            except Exception as e:
                impls.append(Impl("jax", None, status="ERR", detail=short_error(e)))

    if opts.torch:
        if ctx.torch is None or w.jax is None:
            impls.append(_na("torch", "torch not available (see notes)"))
        else:
            try:
                torch = ctx.torch
                if ctx.is_gpu:
                    targs = tuple(torch.from_dlpack(a) for a in dev)
                else:
                    targs = tuple(torch.from_numpy(a) for a in host)
                impls.append(Impl("torch", torch.compile(w.jax(_TorchNamespace(torch))), targs))
            except Exception as e:
                impls.append(Impl("torch", None, status="ERR", detail=short_error(e)))
    return impls


def build_mlp_refs(ctx: Ctx, w: W.Workload, dims: dict, dev: tuple) -> list[Impl]:
    """cuBLAS alone: the MLP's two GEMMs into preallocated outputs; and one epilogue pass
    (bias + relu over the hidden activation: one read, one write)."""
    xp = ctx.xp
    x, w1, b1, w2, _b2 = dev
    h = xp.empty((dims["batch"], dims["hidden"]), dtype=np.float32)
    o = xp.empty((dims["batch"], dims["d_out"]), dtype=np.float32)

    def gemms(x, w1, w2):
        xp.matmul(x, w1, out=h)
        xp.matmul(h, w2, out=o)
        return o

    if ctx.is_gpu:
        bias_relu = ctx.cp.ElementwiseKernel("float32 h, float32 b", "float32 y",
                                             "y = max(h + b, 0.0f)", "tf_ref_bias_relu")
    else:
        def bias_relu(h, b):
            return np.maximum(h + b, np.float32(0))
    return [Impl("ref:gemms", gemms, (x, w1, w2)), Impl("ref:epilogue", bias_relu, (h, b1))]


# --- warm-up, checks, timing ----------------------------------------------------------------------
def warm_up(ctx: Ctx, im: Impl, ref: Reference | None) -> None:
    if im.status != "ok":
        return
    try:
        ctx.sync()
        t = time.perf_counter()
        r = im.call()
        ctx.sync()
        im.first_call_s = time.perf_counter() - t
    except Exception as e:
        im.fail("ERR", short_error(e))
        log(f"  {im.name}: ERROR {short_error(e, 2000)}")
        if ctx.opts.verbose:
            traceback.print_exc()
        return
    if ref is None:  # a reference measurement (ref:*): nothing to compare
        return
    try:
        leaf = r[0] if isinstance(r, tuple) and r else r  # a tuple result: its first array
        if ctx.is_gpu and im.name == "eager" and type(leaf).__module__.split(".")[0] != "cupy":
            im.fail("ERR", f"CuPy eager returned a {type(leaf).__module__}.{type(leaf).__name__}"
                           ", not a cupy array (a NumPy function without a CuPy dispatch)")
            return
        ok, msg = ref.check(r)
    except Exception as e:
        ok, msg = False, f"check raised {short_error(e)}"
    im.check = msg
    if not ok:
        im.fail("WRONG", msg)
        log(f"  {im.name}: WRONG {msg}")
        return
    if im.name == "tracefuse":
        im.held = r  # checked again after timing: nobody may overwrite a result we hold
    log(f"  {im.name}: first call {im.first_call_s:.3f} s, {msg}")


def sample(ctx: Ctx, im: Impl) -> float:
    fn, args, n = im.fn, im.args, im.number
    ctx.sync()
    t = time.perf_counter()
    r = None
    for _ in range(n):
        r = fn(*args)
    if im.wait is not None:
        im.wait(r)
    ctx.sync()
    dt = time.perf_counter() - t
    del r
    return dt / n


def time_impls(ctx: Ctx, impls: list[Impl], repeats: int, min_sample: float,
               deadline: float, max_timing_s: float) -> None:
    """Rounds of one sample per implementation in turn; at least 3 rounds, then stop early
    when the run's budget is spent or this workload has been timed for max_timing_s."""
    t_start = time.perf_counter()
    live = [im for im in impls if im.status == "ok"]
    for im in live:  # calibrate: enough calls per sample to last min_sample
        try:
            one = sample(ctx, im)
            im.number = max(1, min(1000, math.ceil(min_sample / max(one, 1e-7))))
        except Exception as e:
            im.fail("ERR", "calibration: " + short_error(e))
            log(f"  {im.name}: ERROR in calibration {short_error(e, 2000)}")
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for rnd in range(repeats):
            for im in [im for im in impls if im.status == "ok"]:
                try:
                    im.samples.append(sample(ctx, im))
                except Exception as e:
                    im.fail("ERR", "timing: " + short_error(e))
                    log(f"  {im.name}: ERROR while timing {short_error(e, 2000)}")
            spent = time.perf_counter() - t_start
            if rnd >= 2 and (elapsed() > deadline or spent > max_timing_s):
                log(f"  timing stopped after {rnd + 1} of {repeats} rounds ({spent:.1f} s)")
                break
    finally:
        if gc_was:
            gc.enable()


def recheck_tracefuse(ctx: Ctx, im: Impl, ref: Reference) -> None:
    if im.status != "ok" or im.name != "tracefuse":
        return
    notes = []
    try:
        ok, msg = ref.check(im.call())
        notes.append(f"new call {'ok' if ok else 'WRONG: ' + msg}")
        if not ok:
            im.fail("WRONG", "after timing, a new call: " + msg)
        if im.held is not None:
            ok2, msg2 = ref.check(im.held)
            notes.append(f"held first result {'ok' if ok2 else 'OVERWRITTEN: ' + msg2}")
            if not ok2:
                im.fail("WRONG", "the first result, held during timing, changed: " + msg2)
    except Exception as e:
        notes.append("recheck raised " + short_error(e))
        im.fail("ERR", "after timing: " + short_error(e))
    im.after = "; ".join(notes)
    im.held = None


# --- bandwidth ----------------------------------------------------------------------------------
_BW_SRC = r"""
extern "C" __global__ void tf_bw_copy4(const float4* __restrict__ src, float4* __restrict__ dst,
                                       long long n4) {
    long long stride = (long long)gridDim.x * blockDim.x;
    #pragma unroll 4
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride)
        dst[i] = src[i];
}
extern "C" __global__ void tf_bw_read4(const float4* __restrict__ src, long long n4,
                                       float* __restrict__ out) {
    long long stride = (long long)gridDim.x * blockDim.x;
    float acc = 0.0f;
    #pragma unroll 4
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 v = src[i];
        acc += (v.x + v.y) + (v.z + v.w);
    }
    if (acc == -12345.0f) out[0] = acc;  /* never with ones: keeps the loads alive */
}
"""


def _best_time(ctx: Ctx, fn: Callable[[], Any], reps: int) -> float:
    fn()  # warm-up (and compile)
    ctx.sync()
    best = math.inf
    if ctx.is_gpu:
        cp = ctx.cp
        start, end = cp.cuda.Event(), cp.cuda.Event()
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            end.synchronize()
            best = min(best, cp.cuda.get_elapsed_time(start, end) / 1e3)
    else:
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
    return best


def measure_bandwidth(ctx: Ctx) -> dict:
    """Copy (read + write bytes) and read bandwidth, best method, best of a few, in GB/s."""
    try:
        return _measure_bandwidth(ctx)
    finally:
        ctx.free()  # the 2 GiB of buffers are gone by now


def _measure_bandwidth(ctx: Ctx) -> dict:
    nbytes = (1 << 30) if (ctx.is_gpu or ctx.opts.sizes == "full") else (64 << 20)
    n = nbytes // 4
    xp = ctx.xp
    out: dict[str, Any] = {"bytes": nbytes, "copy": {}, "read": {}}
    src = xp.ones(n, dtype=np.float32)
    dst = xp.empty_like(src)
    copy_ways: dict[str, Callable[[], Any]] = {}
    read_ways: dict[str, Callable[[], Any]] = {}
    if ctx.is_gpu:
        cp = ctx.cp
        copy_ways["memcpy"] = lambda: dst.data.copy_from_device_async(src.data, nbytes)
        read_ways["cupy.sum"] = lambda: cp.sum(src)
        try:
            mod = cp.RawModule(code=_BW_SRC)
            k_copy, k_read = mod.get_function("tf_bw_copy4"), mod.get_function("tf_bw_read4")
            grid = (max(1, ctx.info.get("sm_count", 0)) * 8,)
            block = (256,)
            n4 = np.int64(n // 4)
            sink = cp.zeros(1, dtype=np.float32)
            copy_ways["kernel"] = lambda: k_copy(grid, block, (src, dst, n4))
            read_ways["kernel"] = lambda: k_read(grid, block, (src, n4, sink))
        except Exception as e:
            out["kernel_error"] = short_error(e)
    else:
        copy_ways["np.copyto"] = lambda: np.copyto(dst, src)
        read_ways["np.sum"] = lambda: np.sum(src)
    reps = 5
    for kind, ways, moved in (("copy", copy_ways, 2 * nbytes), ("read", read_ways, nbytes)):
        for how, fn in ways.items():
            try:
                out[kind][how] = moved / _best_time(ctx, fn, reps) / 1e9
            except Exception as e:
                out[kind][how] = short_error(e)
    for kind in ("copy", "read"):
        vals = {k: v for k, v in out[kind].items() if isinstance(v, float)}
        best = max(vals, key=vals.get) if vals else None
        out[f"{kind}_gbs"] = vals[best] if best else None
        out[f"{kind}_how"] = best
    return out


# --- one workload ---------------------------------------------------------------------------------
def size_text(dims: dict[str, int]) -> str:
    def human(v: int) -> str:
        for div, suf in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
            if v >= div and v % div == 0:
                return f"{v // div}{suf}"
        return str(v)

    if set(dims) == {"n"}:
        return human(dims["n"])
    if set(dims) == {"rows", "cols"}:
        return f"{dims['rows']}x{dims['cols']}"
    vals = set(dims.values())
    if len(vals) == 1:
        return f"{vals.pop()} (all dims)"
    return ",".join(f"{k}={v}" for k, v in dims.items())


def run_case(ctx: Ctx, case: Case, bw: dict, deadline: float) -> dict:
    opts = ctx.opts
    w = W.get(case.name)
    dims = case.full if opts.sizes == "full" else w.dims["small"]
    res: dict[str, Any] = {"name": case.name, "title": w.title, "size": size_text(dims),
                           "dims": dims, "floor": w.floor, "impls": {}, "notes": []}
    log(f"{case.name} {size_text(dims)}: inputs")
    t = time.perf_counter()
    host = w.make(np.random.default_rng(W.SEED), dims)
    res["make_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ref_value = numpy_reference(w, host)
    res["numpy_s"] = time.perf_counter() - t
    ref = Reference(ref_value, w)
    res["bytes_moved"] = W.bytes_moved(host, ref.ref)
    dev = tuple(ctx.to_device(a) for a in host)
    ctx.sync()
    log(f"  inputs {res['make_s']:.1f} s, NumPy reference {res['numpy_s']:.1f} s")

    impls = build_impls(ctx, case, w, host, dev)
    for im in impls:
        warm_up(ctx, im, ref)
    refs = build_mlp_refs(ctx, w, dims, dev) if case.mlp_ref else []
    for im in refs:
        warm_up(ctx, im, None)

    repeats = opts.repeats if opts.repeats else (15 if opts.sizes == "full" else 5)
    min_sample = 0.02 if opts.sizes == "full" else 0.002
    time_impls(ctx, impls + refs, repeats, min_sample, deadline,
               opts.max_timing_s if opts.sizes == "full" else 2.0)
    for im in impls:
        recheck_tracefuse(ctx, im, ref)

    for im in impls + refs:
        res["impls"][im.name] = {
            "status": im.status, "detail": im.detail, "check": im.check, "after": im.after,
            "first_call_s": im.first_call_s, "median_s": im.median_s if im.status == "ok" else
            None, "calls_per_sample": im.number, "samples_s": im.samples,
        }
    evaluate(res, case, bw)
    med = {k: v["median_s"] for k, v in res["impls"].items()}
    log("  medians: " + ", ".join(f"{k} {v * 1e3:.3f} ms" for k, v in med.items() if v))
    del impls, refs, dev, host, ref, ref_value
    ctx.free()
    return res


def evaluate(res: dict, case: Case, bw: dict) -> None:
    """tx vs the best peer, % of the floor bandwidth (or of the MLP's cuBLAS reference), and
    whether the issue's target is met."""
    imp = res["impls"]
    tx_s = imp.get("tracefuse", {}).get("median_s")
    peers = {k: v["median_s"] for k, v in imp.items()
             if k in PEER_COLUMNS and v.get("median_s")}
    best = min(peers, key=peers.get) if peers else None
    res["best_peer"] = best
    res["tx_vs_best_peer"] = (peers[best] / tx_s) if (best and tx_s) else None
    floor_gbs = bw.get(f"{res['floor']}_gbs") if res["floor"] else None
    res["floor_gbs"] = floor_gbs
    res["floor_pct"] = (100.0 * res["bytes_moved"] / tx_s / (floor_gbs * 1e9)
                        if (tx_s and floor_gbs) else None)
    for v in imp.values():
        v["floor_pct"] = (100.0 * res["bytes_moved"] / v["median_s"] / (floor_gbs * 1e9)
                          if (v.get("median_s") and floor_gbs) else None)
    if case.mlp_ref:
        g = imp.get("ref:gemms", {}).get("median_s")
        e = imp.get("ref:epilogue", {}).get("median_s")
        res["mlp_ref_s"] = (g + e) if (g and e) else None
        res["mlp_ref_pct"] = 100.0 * res["mlp_ref_s"] / tx_s if (res["mlp_ref_s"] and tx_s) else None
    fails = []
    if tx_s is None:
        res["target_met"] = None
        res["target_text"] = "-"
        return
    if case.min_floor_pct is not None:
        pct = res["floor_pct"]
        if pct is None or pct < case.min_floor_pct:
            fails.append(f"bw {pct:.0f}%<{case.min_floor_pct:.0f}%" if pct is not None
                         else "bw unknown")
    if case.mlp_ref:
        ref_s = res.get("mlp_ref_s")
        if ref_s is None or tx_s > MLP_REF_SLACK * ref_s:
            fails.append(f"> {MLP_REF_SLACK:.2f}x cuBLAS+epi" if ref_s else "no cuBLAS ref")
    slower = [k for k, v in peers.items() if v < tx_s]
    if slower:
        fails.append("slower than " + "/".join(_label(k) for k in slower))
    res["target_met"] = not fails
    res["target_text"] = "yes" if not fails else "NO: " + "; ".join(fails)


# --- host overhead of a compiled call ---------------------------------------------------------------
def measure_overhead(ctx: Ctx, calls: int) -> dict:
    w = W.get("gelu")
    dims = {"n": 1024}
    case = Case("gelu", dims, None, "factory")
    host = w.make(np.random.default_rng(W.SEED), dims)
    ref = Reference(w.numpy(*host), w)
    dev = tuple(ctx.to_device(a) for a in host)
    impls = build_impls(ctx, case, w, host, dev)
    for im in impls:
        warm_up(ctx, im, ref)
    live = [im for im in impls if im.status == "ok"]
    per: dict[str, list[int]] = {im.name: [] for im in live}
    rounds = 5
    chunk = max(1, calls // rounds)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for im in live:
                if im.status != "ok":
                    continue
                fn, args, ts = im.fn, im.args, per[im.name]
                try:
                    ctx.sync()
                    r = None
                    for _ in range(chunk):
                        t = time.perf_counter_ns()
                        r = fn(*args)
                        ts.append(time.perf_counter_ns() - t)
                    if im.wait is not None:
                        im.wait(r)
                    ctx.sync()
                    del r
                except Exception as e:
                    im.fail("ERR", "overhead loop: " + short_error(e))
    finally:
        if gc_was:
            gc.enable()
    out: dict[str, Any] = {"n": dims["n"], "calls": chunk * rounds, "impls": {}}
    for im in impls:
        ts = per.get(im.name) or []
        out["impls"][im.name] = {
            "status": im.status, "detail": im.detail, "first_call_s": im.first_call_s,
            "median_us": statistics.median(ts) / 1e3 if (ts and im.status == "ok") else None,
            "p90_us": (sorted(ts)[int(0.9 * (len(ts) - 1))] / 1e3
                       if (ts and im.status == "ok") else None),
        }
    tx_us = out["impls"].get("tracefuse", {}).get("median_us")
    out["target_met"] = (tx_us <= OVERHEAD_TARGET_US) if tx_us is not None else None
    del impls, dev
    ctx.free()
    return out


# --- the table --------------------------------------------------------------------------------------
EAGER_LABEL = ["cupy"]  # "numpy" in a dry run (--xp numpy)


def _label(name: str) -> str:
    return {"eager": EAGER_LABEL[0], "fuse": "cupy.fuse", "jax": "jax", "torch": "torch",
            "tracefuse": "tracefuse"}.get(name, name)


def _cell(entry: dict | None, unit: str = "ms") -> str:
    if not entry:
        return "-"
    st = entry.get("status", "ok")
    if st == "n/a":
        return "n/a"
    if st != "ok":
        detail = entry.get("detail", "")
        kind = detail.split(":", 1)[0].strip() if detail else ""
        return f"{st} ({kind[:28]})" if kind else st
    if unit == "us":
        v = entry.get("median_us")
        return f"{v:.1f} us" if v is not None else "-"
    v = entry.get("median_s")
    return f"{v * 1e3:.3f}" if v is not None else "-"


def render(doc: dict, ctx: Ctx) -> str:
    opts = ctx.opts
    cols = ["tracefuse"] + [p for p in PEER_COLUMNS if p in opts.peer_list
                            or (p == "torch" and opts.torch)]
    heads = (["workload", "size"] + [f"{_label(c)} ms" for c in cols]
             + ["tx vs best peer", "% of bw (tx)", "target met?"])
    rows = []
    for r in doc["workloads"]:
        if r.get("skipped"):
            rows.append([r["name"], r.get("size", "-")] + ["skipped"] + ["-"] * (len(cols) - 1)
                        + ["-", "-", r["skipped"]])
            continue
        if r.get("error"):
            rows.append([r["name"], r.get("size", "-")] + ["ERR"] * len(cols)
                        + ["-", "-", "ERR: " + r["error"][:60]])
            continue
        cells = [_cell(r["impls"].get(c)) for c in cols]
        vs = (f"{r['tx_vs_best_peer']:.2f}x ({_label(r['best_peer'])})"
              if r.get("tx_vs_best_peer") else "-")
        if r.get("mlp_ref_s") is not None or "mlp_ref_pct" in r:
            pct = (f"cuBLAS+epi {r['mlp_ref_s'] * 1e3:.3f} ms = {r['mlp_ref_pct']:.0f}%"
                   if r.get("mlp_ref_pct") else "cuBLAS ref: -")
        else:
            pct = (f"{r['floor_pct']:.1f}% {r['floor']}" if r.get("floor_pct") is not None
                   else "-")
        met = r.get("target_text", "-") if opts.sizes == "full" and ctx.is_gpu else \
            f"({'dry run' if not ctx.is_gpu else 'small sizes'}: {r.get('target_text', '-')})"
        rows.append([r["name"], r["size"]] + cells + [vs, pct, met])
    ov = doc.get("overhead")
    if ov:
        if ov.get("error"):
            rows.append(["host overhead", "gelu 1024"] + ["ERR"] * len(cols)
                        + ["-", "-", "ERR: " + ov["error"][:60]])
        else:
            cells = [_cell(ov["impls"].get(c), "us") for c in cols]
            tx_us = ov["impls"].get("tracefuse", {}).get("median_us")
            peer = {c: ov["impls"][c]["median_us"] for c in cols[1:]
                    if c in ov["impls"] and ov["impls"][c].get("median_us")}
            best = min(peer, key=peer.get) if peer else None
            vs = f"{peer[best] / tx_us:.2f}x ({_label(best)})" if (best and tx_us) else "-"
            if tx_us is None:
                met = "-"
            else:
                met = ("yes" if ov["target_met"] else "NO") + f" (<= {OVERHEAD_TARGET_US:.0f} us)"
                if not ctx.is_gpu:
                    met = f"(dry run: {met})"
            rows.append(["host overhead", f"gelu {ov['n']}, no sync"] + cells + [vs, "-", met])
    widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows)]

    def line(vals):
        return "| " + " | ".join(str(v).ljust(wd) for v, wd in zip(vals, widths)) + " |"

    out = [line(heads), "|" + "|".join("-" * (wd + 2) for wd in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def preamble(doc: dict, ctx: Ctx) -> str:
    """Notes, errors and the ceilings: printed just before the table."""
    lines = []
    info = doc["info"]
    lines.append(f"device: {info.get('device')}  |  tracefuse backend={info['backend']}  |  "
                 + ", ".join(f"{k} {info[k]}" for k in ("python", "numpy", "cupy", "jax",
                                                         "torch") if k in info))
    bw = doc.get("bandwidth") or {}
    if bw.get("copy_gbs"):
        lines.append(f"copy bandwidth {bw['copy_gbs']:.0f} GB/s ({bw['copy_how']}, "
                     f"{bw['bytes'] >> 20} MiB, read+write bytes); read bandwidth "
                     f"{bw['read_gbs']:.0f} GB/s ({bw['read_how']})   all: copy "
                     + ", ".join(f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in bw["copy"].items())
                     + "; read " + ", ".join(f"{k} {v:.0f}" if isinstance(v, float)
                                            else f"{k} {v}" for k, v in bw["read"].items()))
    elif bw:
        lines.append(f"bandwidth: not measured ({bw.get('error', 'skipped')})")
    for note in ctx.notes + doc.get("notes", []):
        lines.append(f"note: {note}")
    for r in doc["workloads"]:
        if r.get("skipped") or r.get("error"):
            continue
        firsts = ", ".join(f"{_label(k)} {v['first_call_s']:.2f}s"
                           for k, v in r["impls"].items() if v.get("first_call_s") is not None)
        lines.append(f"{r['name']}: first calls {firsts}; inputs {r['make_s']:.1f}s, NumPy "
                     f"{r['numpy_s']:.1f}s" + (f"; tracefuse after timing: "
                                                f"{r['impls']['tracefuse']['after']}"
                                                if r["impls"].get("tracefuse", {}).get("after")
                                                else ""))
        for k, v in r["impls"].items():
            if v["status"] in ("ERR", "WRONG") or (v["status"] == "n/a" and k != "torch"):
                lines.append(f"  {r['name']} / {_label(k)}: {v['status']}: {v['detail']}")
    ov = doc.get("overhead") or {}
    for k, v in (ov.get("impls") or {}).items():
        if v["status"] in ("ERR", "WRONG"):
            lines.append(f"  host overhead / {_label(k)}: {v['status']}: {v['detail']}")
        elif v.get("median_us") is not None:
            lines.append(f"  host overhead / {_label(k)}: median {v['median_us']:.1f} us, "
                         f"p90 {v['p90_us']:.1f} us over {ov['calls']} calls")
    if doc.get("mlp_ref_note"):
        lines.append(doc["mlp_ref_note"])
    lines.append(f"total {doc.get('elapsed_s', elapsed()):.0f} s; times are medians per call; "
                 "'tx vs best peer' = best peer time / tracefuse time (> 1: tracefuse faster)")
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", choices=("full", "small"), default=None,
                   help="full: the GPU issue's sizes (default with cupy); small: tiny "
                        "(default with numpy)")
    p.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="timed rounds per workload (default 15; 5 with small sizes)")
    p.add_argument("--xp", choices=("cupy", "numpy"), default="cupy",
                   help="array module: cupy (a GPU) or numpy (a CPU dry run)")
    p.add_argument("--backend", default=None,
                   help='tracefuse backend (default "gpu" with cupy, "numpy" with numpy)')
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this workload (repeatable): " + ", ".join(CASE_BY_NAME))
    p.add_argument("--peers", default="eager,fuse,jax",
                   help="peers, comma-separated from eager,fuse,jax (or 'none')")
    p.add_argument("--torch", action="store_true", help="also torch.compile (slow compiles)")
    p.add_argument("--budget-s", type=float, default=200.0, metavar="S",
                   help="soft budget for the whole run; later workloads are skipped (200)")
    p.add_argument("--max-timing-s", type=float, default=12.0, metavar="S",
                   help="stop a workload's timing rounds after S seconds (>= 3 rounds; 12)")
    p.add_argument("--overhead-calls", type=int, default=1000, metavar="N")
    p.add_argument("--no-bw", action="store_true", help="skip the bandwidth measurement")
    p.add_argument("--no-overhead", action="store_true", help="skip the host-overhead probe")
    p.add_argument("--no-pool", action="store_true",
                   help="CuPy without its memory pool (for compute-sanitizer)")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH")
    p.add_argument("--table-out", default=None, metavar="PATH",
                   help="also write the final notes and table to PATH")
    p.add_argument("-v", "--verbose", action="store_true", help="full tracebacks on errors")
    opts = p.parse_args(argv)
    if opts.sizes is None:
        opts.sizes = "full" if opts.xp == "cupy" else "small"
    if opts.backend is None:
        opts.backend = "gpu" if opts.xp == "cupy" else "numpy"
    opts.peer_list = [] if opts.peers.strip() in ("", "none") else [
        s.strip() for s in opts.peers.split(",") if s.strip()]
    bad = [s for s in opts.peer_list if s not in ("eager", "fuse", "jax")]
    if bad:
        p.error(f"unknown peer(s) {bad}; choose from eager, fuse, jax")
    for name in opts.only or []:
        if name not in CASE_BY_NAME:
            p.error(f"unknown workload {name!r}; choose from {', '.join(CASE_BY_NAME)}")
    return opts


def write_json(path: str | None, doc: dict) -> None:
    if not path:
        return
    try:
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1, default=str)
        os.replace(tmp, path)
    except Exception as e:
        log(f"could not write {path}: {short_error(e)}")


def main(argv=None) -> int:
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    deadline = opts.budget_s
    doc: dict[str, Any] = {"options": {k: v for k, v in vars(opts).items()}, "workloads": [],
                           "notes": []}
    try:
        ctx = Ctx(opts)
    except Exception as e:
        print(f"gpu_bench: cannot use --xp {opts.xp}: {short_error(e, 2000)}", flush=True)
        print("(on a machine without a GPU, run with --xp numpy for a dry run)", flush=True)
        return 2
    doc["info"] = ctx.info
    EAGER_LABEL[0] = "cupy" if ctx.is_gpu else "numpy"
    log(f"start: {ctx.info.get('device')}, xp={opts.xp}, backend={opts.backend}, "
        f"sizes={opts.sizes}, budget {opts.budget_s:.0f} s")
    cases = [c for c in CASES if not opts.only or c.name in opts.only]
    exit_code = 0
    try:
        if not opts.no_bw:
            try:
                doc["bandwidth"] = measure_bandwidth(ctx)
                log(f"bandwidth: {doc['bandwidth']}")
            except Exception as e:
                doc["bandwidth"] = {"error": short_error(e)}
                log(f"bandwidth: ERROR {short_error(e, 2000)}")
        else:
            doc["bandwidth"] = {"error": "--no-bw"}
        if not opts.no_overhead:
            try:
                doc["overhead"] = measure_overhead(ctx, opts.overhead_calls)
            except Exception as e:
                doc["overhead"] = {"error": short_error(e)}
                log(f"overhead: ERROR {short_error(e, 2000)}")
        for i, case in enumerate(cases):
            if elapsed() > deadline:
                for c in cases[i:]:
                    doc["workloads"].append({"name": c.name, "skipped":
                                             f"skipped: budget {opts.budget_s:.0f} s spent"})
                doc["notes"].append(f"budget of {opts.budget_s:.0f} s spent after "
                                    f"{elapsed():.0f} s: skipped "
                                    + ", ".join(c.name for c in cases[i:]))
                break
            try:
                res = run_case(ctx, case, doc.get("bandwidth") or {}, deadline)
            except Exception as e:
                log(f"{case.name}: ERROR {short_error(e, 2000)}")
                if opts.verbose:
                    traceback.print_exc()
                res = {"name": case.name, "error": short_error(e)}
                ctx.free()
            doc["workloads"].append(res)
            doc["elapsed_s"] = elapsed()
            write_json(opts.json_path, doc)
    except Stop as s:
        if _POOL is not None:  # queued host work is not waited for
            _POOL.shutdown(wait=False, cancel_futures=True)
        done = {r["name"] for r in doc["workloads"]}
        for c in cases:
            if c.name not in done:
                doc["workloads"].append({"name": c.name, "skipped": f"stopped ({s})"})
        doc["notes"].append(f"stopped by {s} after {elapsed():.0f} s")
        exit_code = 3
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if any(r.get("mlp_ref_s") is not None for r in doc["workloads"]):
        doc["mlp_ref_note"] = ("mlp: cuBLAS+epi = the two GEMMs alone (matmul into preallocated "
                               "outputs) + one bias+relu pass over the hidden activation; % = "
                               "that time / tracefuse's; target >= "
                               f"{100 / MLP_REF_SLACK:.0f}%")
    for r in doc["workloads"]:
        st = r.get("impls", {}).get("tracefuse", {}).get("status")
        if r.get("error") or st in ("ERR", "WRONG"):
            exit_code = exit_code or 1
    doc["elapsed_s"] = elapsed()
    write_json(opts.json_path, doc)
    text = preamble(doc, ctx) + "\n\n" + render(doc, ctx)
    if opts.table_out:
        try:
            with open(opts.table_out, "w") as f:
                f.write(text + "\n")
        except Exception as e:
            log(f"could not write {opts.table_out}: {short_error(e)}")
    sys.stderr.flush()
    print("\n" + text, flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
