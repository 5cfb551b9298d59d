"""tracefuse.backends.cuda.nvrtc_gate: CUDA C compiled to cubin by NVRTC, without a GPU (tier 1).

Valid kernels give an ELF cubin for sm_80 and sm_90; a syntax error and a shared-memory overflow
(which only ptxas sees: the PTX compiles) raise NvrtcCompileError carrying the log, the arch, the
`// from` lines and the source lines the log points at; check_sources remembers what passed,
in the process and on disk. Skipped, with the pip line to run, when NVRTC is not installed.
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import tracefuse as tx

from tracefuse.backends.cuda import nvrtc_gate
from tracefuse.backends.cuda.nvrtc_gate import NvrtcCompileError, check_sources, compile_cubin

_why = nvrtc_gate.unavailable()
if _why:
    pytest.skip(_why, allow_module_level=True)

ARCHS = ("sm_80", "sm_90")

ELEMENTWISE = r"""// from user.py:7
extern "C" __global__ void tf_exp(const float* __restrict__ x, float* __restrict__ y,
                                  long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        y[i] = expf(x[i]) * 0.5f;
    }
}
"""

REDUCTION = r"""// from user.py:9
extern "C" __global__ void tf_sum(const float* __restrict__ x, float* __restrict__ out,
                                  long long n) {
    __shared__ float partial[32];
    float acc = 0.0f;
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        acc += x[i];
    }
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        acc = lane < (blockDim.x + 31u) / 32u ? partial[lane] : 0.0f;
        for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
        if (lane == 0) atomicAdd(out, acc);
    }
}
"""

SYNTAX_ERROR = r"""// from user.py:12
extern "C" __global__ void tf_bad(float* y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = 1.0f
}
"""

SMEM_OVERFLOW = r"""// from user.py:20
extern "C" __global__ void tf_big(double* y) {
    __shared__ double s[1 << 20];
    s[threadIdx.x] = threadIdx.x;
    __syncthreads();
    y[threadIdx.x] = s[(threadIdx.x * 7u) % 1024u];
}
"""


@pytest.fixture(autouse=True)
def private_memo(tmp_path, monkeypatch):
    """Each test starts with an empty in-process memo and its own cache dir."""
    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(tmp_path / "cache"))
    nvrtc_gate.clear_memo()
    yield
    nvrtc_gate.clear_memo()


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("source", [ELEMENTWISE, REDUCTION], ids=["elementwise", "reduction"])
def test_valid_kernel_compiles_to_cubin(source, arch):
    cubin = compile_cubin(source, arch)
    assert isinstance(cubin, bytes)
    assert cubin.startswith(b"\x7fELF")


def test_verbose_returns_ptxas_report():
    cubin, log = compile_cubin(REDUCTION, "sm_90", verbose=True)
    assert cubin.startswith(b"\x7fELF")
    assert "sm_90" in log
    usage = nvrtc_gate.resource_usage(log)
    assert set(usage) == {"tf_sum"}
    assert usage["tf_sum"]["registers"] > 0
    assert usage["tf_sum"]["smem"] == 32 * 4
    assert usage["tf_sum"]["spill_stores"] == 0


@pytest.mark.parametrize("arch", ARCHS)
def test_syntax_error_reports_log_origin_and_line(arch):
    with pytest.raises(NvrtcCompileError) as info:
        compile_cubin(SYNTAX_ERROR, arch, options=["--std=c++17"])
    err = info.value
    text = str(err)
    assert isinstance(err, RuntimeError)
    assert err.arch == arch and arch in text
    assert "--std=c++17" in text
    assert err.log and err.log in text  # the full log
    assert 'expected a ";"' in text
    assert "// from user.py:12" in text
    # the log points at line 5 (the closing brace after the missing ';'): that line is shown
    assert "kernel.cu(5): }" in text


@pytest.mark.parametrize("arch", ARCHS)
def test_shared_memory_overflow_fails_at_cubin_stage(arch):
    # the same source is valid PTX: only ptxas, run for a real sm_XX, rejects it
    from cuda.bindings import nvrtc

    ok = nvrtc.nvrtcResult.NVRTC_SUCCESS
    result, prog = nvrtc.nvrtcCreateProgram(SMEM_OVERFLOW.encode(), b"kernel.cu", 0, [], [])
    assert result == ok
    try:
        opt = f"--gpu-architecture=compute_{arch[3:]}".encode()
        assert nvrtc.nvrtcCompileProgram(prog, 1, [opt]) == (ok,)
    finally:
        nvrtc.nvrtcDestroyProgram(prog)

    with pytest.raises(NvrtcCompileError) as info:
        compile_cubin(SMEM_OVERFLOW, arch)
    assert "too much shared data" in info.value.log
    assert "// from user.py:20" in str(info.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match="sm_90"):
        compile_cubin(ELEMENTWISE, "compute_90")  # would give PTX only
    with pytest.raises(ValueError, match="architecture"):
        compile_cubin(ELEMENTWISE, "sm_90", options=["-arch=sm_80"])
    with pytest.raises(TypeError):
        compile_cubin(ELEMENTWISE, "sm_90", options="--std=c++17")


def test_check_sources_memo(tmp_path, monkeypatch):
    sources = [ELEMENTWISE, REDUCTION, ELEMENTWISE]  # a repeat is compiled once
    assert check_sources(sources) == 4
    assert check_sources(sources) == 0  # in-process memo

    folder = tmp_path / "cache" / "nvrtc"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    entries = [p for p in os.listdir(folder) if not p.startswith(".")]
    assert len(entries) == 4
    nvrtc_gate.clear_memo()
    assert check_sources(sources) == 0  # on-disk memo

    # different options are a different key
    assert check_sources([ELEMENTWISE], archs=("sm_90",), options=["--use_fast_math"]) == 1

    # a fresh cache dir and process memo compile again
    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(tmp_path / "other"))
    nvrtc_gate.clear_memo()
    assert check_sources([REDUCTION], archs=("sm_80",)) == 1


def test_check_sources_raises_on_failure_and_does_not_remember_it():
    with pytest.raises(NvrtcCompileError, match="user.py:12"):
        check_sources([ELEMENTWISE, SYNTAX_ERROR])
    with pytest.raises(NvrtcCompileError):
        check_sources([SYNTAX_ERROR])


def test_compiles_from_several_threads():
    jobs = [(src, arch) for src in (ELEMENTWISE, REDUCTION) for arch in ARCHS] * 2
    with ThreadPoolExecutor(max_workers=4) as pool:
        cubins = list(pool.map(lambda job: compile_cubin(*job), jobs))
    assert all(c.startswith(b"\x7fELF") for c in cubins)
    assert cubins[:4] == cubins[4:]  # deterministic


def test_unavailable_says_what_to_install(monkeypatch):
    monkeypatch.setattr(nvrtc_gate, "_nvrtc_or_reason",
                        lambda: (None, "", "libnvrtc does not load (test)"))
    why = nvrtc_gate.unavailable()
    assert why is not None and "\n" not in why
    assert "pip install" in why and "nvidia-cuda-nvrtc" in why and "cuda-bindings" in why
    with pytest.raises(RuntimeError, match="pip install"):
        compile_cubin(ELEMENTWISE)


def _rendered(fn, x):
    return tx.function(fn, backend="gpu").lower(x).kernels


def test_batch_gate_merges_kernels_and_names_the_one_that_fails():
    from tracefuse.backends.cuda.render import NVRTC_OPTIONS, combine_sources

    x = np.ones((3, 40), np.float32)
    good = (_rendered(lambda a: tx.exp(a) * 2.0, x)
            + _rendered(lambda a: tx.sum(a * a, axis=1), x)
            + _rendered(lambda a: tx.sum(a), x))
    assert len(good) == 3 and all(s.count("k0") for s in good)  # same names: merged apart
    ran = nvrtc_gate.check_batch(good, combine_sources, options=NVRTC_OPTIONS)
    assert ran == 2  # one merged program per arch
    assert nvrtc_gate.check_batch(good, combine_sources, options=NVRTC_OPTIONS) == 0
    broken = "// from user_model.py:7\n" + good[0].replace("expf(", "expf_missing(")
    with pytest.raises(nvrtc_gate.NvrtcCompileError) as info:
        nvrtc_gate.check_batch(good + [broken], combine_sources, options=NVRTC_OPTIONS)
    assert "user_model.py:7" in str(info.value) and "expf_missing" in str(info.value)


def test_backend_batch_mode_queues_until_flushed(monkeypatch):
    from tracefuse.backends.cuda import backend as cuda_backend

    monkeypatch.setenv("TRACEFUSE_NVRTC_GATE", "batch")
    cuda_backend.flush_gate()
    x = np.ones(5, np.int16)
    tx.function(lambda a: a * 3 + 1, backend="gpu").lower(x)
    assert len(cuda_backend._pending) == 1
    assert cuda_backend.flush_gate() == 2 and not cuda_backend._pending
