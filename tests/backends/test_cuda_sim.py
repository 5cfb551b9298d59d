"""tracefuse.backends.cuda.sim: hand-written CUDA C (the renderer's dialect) run on the CPU.

Each kernel is checked against NumPy on fresh random, non-zero inputs: a grid-stride elementwise
kernel at odd sizes, block reductions (warp shuffles + __shared__ + __syncthreads), a two-pass
row softmax with a block-wide broadcast, every parameter type, warp shuffle semantics; misuse
(a divergent barrier, a shuffle with lanes missing) raises instead of hanging; a compile error
shows the line; the disk cache is reused; an ASan build reports an out-of-bounds write.

All the good kernels live in one source: one g++ build (about 0.4 s) for most of the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from tracefuse.backends.cuda import sim as cuda_sim
from tracefuse.backends.cuda.sim import SimBuildError, SimModule

_PROBLEM = cuda_sim.compiler_unavailable()
pytestmark = pytest.mark.skipif(_PROBLEM is not None, reason=str(_PROBLEM))

SOURCE = r"""
typedef long long i64;
#define FULL 0xffffffffu

static __device__ __forceinline__ float nanmaxf(float a, float b) {
    return (a > b || a != a) ? a : b;  // NaN wins, as in NumPy
}

template <class T>
static __device__ __forceinline__ T warp_sum(T v) {
    for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(FULL, v, d);
    return v;
}

extern "C" __global__ void __launch_bounds__(1024)
ew(const float* __restrict__ a0, const double* __restrict__ a1, float* __restrict__ o0,
   i64 n0, i64 s0, float c0) {
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n0;
         i += (i64)gridDim.x * blockDim.x) {
        float x = a0[i * s0];
        o0[i] = x * c0 + expf(x) - (float)sqrt(a1[i]) + fmaxf(x, 0.25f) + (float)min(i, (i64)3);
    }
}

// sum of float64: each block reduces a grid-stride slice; partial per block and a grand total
extern "C" __global__ void sum_f64(const double* __restrict__ a0, double* __restrict__ part,
                                   double* __restrict__ total, i64 n0) {
    __shared__ double s[32];
    double acc = 0.0;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n0;
         i += (i64)gridDim.x * blockDim.x)
        acc += a0[i];
    acc = warp_sum(acc);
    const unsigned lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
    if (lane == 0) s[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        acc = lane < blockDim.x / warpSize ? s[lane] : 0.0;
        acc = warp_sum(acc);
        if (lane == 0) {
            part[blockIdx.x] = acc;
            atomicAdd(total, acc);
        }
    }
}

// max of float32 with NaN propagation, combined across lanes with xor shuffles
extern "C" __global__ void max_f32(const float* __restrict__ a0, float* __restrict__ part,
                                   i64 n0) {
    __shared__ float s[32];
    float m = -INFINITY;
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n0;
         i += (i64)gridDim.x * blockDim.x)
        m = nanmaxf(m, a0[i]);
    for (int d = 16; d > 0; d >>= 1) m = nanmaxf(m, __shfl_xor_sync(FULL, m, d));
    if (threadIdx.x % 32 == 0) s[threadIdx.x / 32] = m;
    __syncthreads();
    if (threadIdx.x < 32) {
        m = threadIdx.x < blockDim.x / 32 ? s[threadIdx.x] : -INFINITY;
        for (int d = 16; d > 0; d >>= 1) m = nanmaxf(m, __shfl_xor_sync(FULL, m, d));
        if (threadIdx.x == 0) part[blockIdx.x] = m;
    }
}

// reduce over the block, result broadcast to every thread through shared memory
static __device__ __forceinline__ float block_max(float v, float* s) {
    for (int d = 16; d > 0; d >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL, v, d));
    if (threadIdx.x % 32 == 0) s[threadIdx.x / 32] = v;
    __syncthreads();
    v = s[0];
    for (unsigned w = 1; w < blockDim.x / 32; w++) v = fmaxf(v, s[w]);
    __syncthreads();  // s is reused next
    return v;
}
static __device__ __forceinline__ float block_sum(float v, float* s) {
    for (int d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(FULL, v, d);
    if (threadIdx.x % 32 == 0) s[threadIdx.x / 32] = v;
    __syncthreads();
    v = 0.0f;
    for (unsigned w = 0; w < blockDim.x / 32; w++) v += s[w];
    __syncthreads();
    return v;
}

// one block per row of a strided 2-D input: softmax along the row
extern "C" __global__ void softmax_rows(const float* __restrict__ a0, float* __restrict__ o0,
                                        int rows, int cols, i64 rs, i64 cs) {
    __shared__ float s[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = a0 + r * rs;
        float m = -INFINITY;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) m = fmaxf(m, row[c * cs]);
        m = block_max(m, s);
        float t = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) t += expf(row[c * cs] - m);
        t = block_sum(t, s);
        for (int c = threadIdx.x; c < cols; c += blockDim.x)
            o0[(i64)r * cols + c] = expf(row[c * cs] - m) / t;
    }
}

extern "C" __global__ void params(const signed char* __restrict__ a0,
                                  const unsigned long long* __restrict__ a1,
                                  const bool* __restrict__ a2, unsigned long long* __restrict__ o0,
                                  double* __restrict__ o1, bool* __restrict__ o2, i64 n,
                                  signed char c0, unsigned char c1, short c2, unsigned short c3,
                                  int c4, unsigned int c5, unsigned long long c6, float c7,
                                  double c8, bool c9) {
    for (i64 i = blockIdx.x * (i64)blockDim.x + threadIdx.x; i < n;
         i += (i64)gridDim.x * blockDim.x) {
        o0[i] = a1[i] * c6 + (unsigned long long)(long long)a0[i] + (a2[i] ? c5 : 0u);
        o1[i] = (double)a0[i] * c8 + (double)c7 + c0 + c1 + c2 + c3 + c4;
        o2[i] = a2[i] != c9;
    }
}

// every shuffle flavour, for int and long long values; out[k][tid]
extern "C" __global__ void shuffles(int* __restrict__ o0, long long* __restrict__ o1, int n) {
    const int t = threadIdx.x, b = blockDim.x;
    const int v = 100 * t + 7;
    const long long w = (long long)t << 40;
    o0[0 * b + t] = __shfl_down_sync(FULL, v, 5);
    o0[1 * b + t] = __shfl_up_sync(FULL, v, 3);
    o0[2 * b + t] = __shfl_xor_sync(FULL, v, 9);
    o0[3 * b + t] = __shfl_sync(FULL, v, n);
    o0[4 * b + t] = __shfl_down_sync(FULL, v, 2, 8);
    o0[5 * b + t] = __shfl_sync(FULL, v, 35, 16);
    o1[0 * b + t] = __shfl_down_sync(FULL, w, 1);
    o1[1 * b + t] = __shfl_xor_sync(FULL, w, 16);
    __syncwarp();
    o1[2 * b + t] = __double_as_longlong(__longlong_as_double(w));
    o0[6 * b + t] = __float_as_int(__int_as_float(v)) + max(t, 3) + (int)min(2u, (unsigned)t);
}

extern "C" __global__ void divergent(float* __restrict__ o0) {
    if (threadIdx.x >= 40) return;
    o0[threadIdx.x] = 1.0f;
    __syncthreads();
}

extern "C" __global__ void lanes_missing(float* __restrict__ o0) {
    if (threadIdx.x % 32 >= 16) return;
    o0[threadIdx.x] = __shfl_down_sync(FULL, 1.0f, 1);
}

extern "C" __global__ void two_lines(float* __restrict__ o0) {
    if (threadIdx.x < 32) {
        __syncthreads();
    } else {
        __syncthreads();
    }
}

// reads shared memory only threads 0 and 1 wrote: the rest must not come out as zeros
static __device__ __forceinline__ float first_two(float v) {
    __shared__ float s[32];
    if (threadIdx.x < 2) s[threadIdx.x] = v;
    __syncthreads();
    return s[threadIdx.x % 32];
}
__device__ inline int inline_helper(int v) {  // not static: needs -fno-weak with the section
    __shared__ int t[2];
    t[v & 1] = v;
    return t[v & 1];
}
extern "C" __global__ void stale_shared(float* __restrict__ o0) {
    o0[blockIdx.x * blockDim.x + threadIdx.x] = first_two(1.0f + inline_helper(0));
}

extern "C" __global__ void trapping(int* __restrict__ o0) {
    assert(threadIdx.x < 70);
    o0[threadIdx.x] = 1;
}
"""

P_EW = ["const float*", "const double*", "float*", "long long", "long long", "float"]
KERNELS = {
    "ew": P_EW,
    "sum_f64": ["const double*", "double*", "double*", "long long"],
    "max_f32": ["const float*", "float*", "long long"],
    "softmax_rows": ["const float*", "float*", "int", "int", "long long", "long long"],
    "params": ["const signed char*", "const unsigned long long*", "const bool*",
               "unsigned long long*", "double*", "bool*", "long long", "signed char",
               "unsigned char", "short", "unsigned short", "int", "unsigned int",
               "unsigned long long", "float", "double", "bool"],
    "shuffles": ["int*", "long long*", "int"],
    "divergent": ["float*"],
    "lanes_missing": ["float*"],
    "two_lines": ["float*"],
    "trapping": ["int*"],
    "stale_shared": ["float*"],
}


@pytest.fixture(scope="module")
def mod() -> SimModule:
    return SimModule(SOURCE, KERNELS)


def _rand(rng, shape, dtype=np.float32):
    return rng.uniform(0.5, 2.0, shape).astype(dtype)  # never zero


@pytest.mark.parametrize("n,grid,block", [(1, 1, 32), (7, 2, 64), (1000, 3, 128),
                                          (1000, 1, 1024), (4099, 2, 96)])
def test_elementwise_grid_stride(mod, rng, n, grid, block):
    base = _rand(rng, 2 * n)
    a = base[::2]  # strided: the kernel indexes with the element stride
    b = _rand(rng, n, np.float64)
    out = np.full(n, np.nan, np.float32)
    mod.launch("ew", grid, block, [base, b, out, n, 2, np.float32(1.5)])
    x = a
    want = (x * np.float32(1.5) + np.exp(x) - np.sqrt(b).astype(np.float32)
            + np.maximum(x, np.float32(0.25)) + np.minimum(np.arange(n), 3).astype(np.float32))
    np.testing.assert_allclose(out, want, rtol=2e-6)


@pytest.mark.parametrize("n,grid,block", [(1, 1, 32), (1000, 4, 256), (100_003, 8, 1024)])
def test_block_sum_f64(mod, rng, n, grid, block):
    a = rng.standard_normal(n) + 3.0
    part = np.full(grid, np.nan)
    total = np.zeros(1)
    mod.launch("sum_f64", grid, block, [a, part, total, n])
    want_part = [a[np.arange(n) % (grid * block) // block == g].sum() for g in range(grid)]
    np.testing.assert_allclose(part, want_part, rtol=1e-12)
    np.testing.assert_allclose(total[0], a.sum(), rtol=1e-12)


def test_block_max_f32_with_nan(mod, rng):
    n, grid, block = 5000, 3, 256
    a = rng.standard_normal(n).astype(np.float32)
    a[4321] = np.nan
    owner = np.arange(n) % (grid * block) // block  # the block whose grid-stride loop reads i
    assert owner[4321] == 1
    part = np.zeros(grid, np.float32)
    mod.launch("max_f32", grid, block, [a, part, n])
    assert np.isnan(part[1])
    for g in (0, 2):
        assert part[g] == a[owner == g].max()
    assert np.isnan(np.max(a))  # the NumPy semantics the kernel mirrors


@pytest.mark.parametrize("rows,cols,block", [(5, 1, 32), (7, 33, 64), (3, 1000, 256)])
def test_softmax_one_block_per_row(mod, rng, rows, cols, block):
    x = rng.standard_normal((cols, rows)).astype(np.float32).T  # transposed: column-major
    out = np.full((rows, cols), np.nan, np.float32)
    item = x.itemsize
    mod.launch("softmax_rows", rows, block,
               [x, out, rows, cols, x.strides[0] // item, x.strides[1] // item])
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=1e-5)


def test_params_and_scalar_conversion(mod, rng):
    n = 77
    a0 = rng.integers(-128, 128, n).astype(np.int8)
    a0[a0 == 0] = 5
    a1 = rng.integers(1, 2**62, n, dtype=np.uint64)
    a2 = rng.random(n) < 0.5
    o0 = np.zeros(n, np.uint64)
    o1 = np.zeros(n)
    o2 = np.zeros(n, bool)
    scalars = [np.int8(-7), 200, -300, 60000, -(2**31), 2**32 - 1, 2**64 - 3, 0.1, 1 / 3, True]
    mod.launch("params", 2, 32, [a0, a1, a2, o0, o1, o2, n, *scalars])
    with np.errstate(over="ignore"):
        want0 = a1 * np.uint64(2**64 - 3) + a0.astype(np.int64).astype(np.uint64) \
            + np.where(a2, np.uint64(2**32 - 1), np.uint64(0))
    np.testing.assert_array_equal(o0, want0)
    c7 = float(np.float32(0.1))  # rounded to float, as the C parameter is
    want1 = a0 * (1 / 3) + c7 + (-7 + 200 - 300 + 60000 - 2**31)
    np.testing.assert_allclose(o1, want1, rtol=1e-15)
    np.testing.assert_array_equal(o2, ~a2)


def test_argument_checks(mod, rng):
    a = _rand(rng, 4)
    b = _rand(rng, 4, np.float64)
    out = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match=r"argument 0 \(const float\*\).*float32, got float64"):
        mod.launch("ew", 1, 32, [b, b, out, 4, 1, 1.0])
    ro = out.copy()
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="read-only"):
        mod.launch("ew", 1, 32, [a, b, ro, 4, 1, 1.0])
    with pytest.raises(TypeError, match="expected an integer"):
        mod.launch("ew", 1, 32, [a, b, out, 4.0, 1, 1.0])
    with pytest.raises(OverflowError, match="does not fit in signed char"):
        mod.launch("params", 1, 32, [None] * 6 + [0, 128] + [0] * 9)
    with pytest.raises(TypeError, match="takes 6 arguments"):
        mod.launch("ew", 1, 32, [a, b, out])
    with pytest.raises(ValueError, match="block size"):
        mod.launch("ew", 1, 2048, [a, b, out, 4, 1, 1.0])
    with pytest.raises(KeyError, match="no kernel 'nope'"):
        mod.launch("nope", 1, 32, [])


def test_shuffle_semantics(mod):
    block = 64
    o0 = np.zeros((7, block), np.int32)
    o1 = np.zeros((3, block), np.int64)
    mod.launch("shuffles", 1, block, [o0, o1, 13])
    t = np.arange(block)
    lane, base = t % 32, t - t % 32
    v = 100 * t + 7

    def at(src):
        return v[base + src]

    np.testing.assert_array_equal(o0[0], np.where(lane + 5 < 32, at((lane + 5) % 32), v))
    np.testing.assert_array_equal(o0[1], np.where(lane >= 3, at((lane - 3) % 32), v))
    np.testing.assert_array_equal(o0[2], at(lane ^ 9))
    np.testing.assert_array_equal(o0[3], at(np.full(block, 13)))
    seg = lane % 8  # width 8: no reads across a segment of 8 lanes
    np.testing.assert_array_equal(o0[4], np.where(seg + 2 < 8, at((lane + 2) % 32), v))
    np.testing.assert_array_equal(o0[5], at(lane - lane % 16 + 35 % 16))
    w = t.astype(np.int64) << 40
    np.testing.assert_array_equal(o1[0], np.where(lane < 31, w[base + (lane + 1) % 32], w))
    np.testing.assert_array_equal(o1[1], w[base + (lane ^ 16)])
    np.testing.assert_array_equal(o1[2], w)
    np.testing.assert_array_equal(o0[6], v + np.maximum(t, 3) + np.minimum(2, t))


def test_divergent_syncthreads_raises(mod):
    out = np.zeros(64, np.float32)
    with pytest.raises(RuntimeError, match=r"divergent __syncthreads in kernel divergent, "
                                           r"block 0: 40 of 64 threads arrived .*24 exited"):
        mod.launch("divergent", 2, 64, [out])
    # the library stays usable after a failed launch
    out[:] = 0
    mod.launch("divergent", 1, 32, [out])
    assert (out[:32] == 1).all()


def test_misuse_is_reported_not_hung(mod):
    out = np.zeros(64, np.float32)
    with pytest.raises(RuntimeError, match=r"shuffle with lanes missing in kernel lanes_missing,"
                                           r" block 0, warp 0: 16 of 32 lanes arrived"):
        mod.launch("lanes_missing", 1, 64, [out])
    with pytest.raises(RuntimeError, match="not a multiple of 32"):
        mod.launch("lanes_missing", 1, 16, [out])
    with pytest.raises(RuntimeError, match=r"thread 32 waits at line \d+ while 32 other"):
        mod.launch("two_lines", 1, 64, [out])
    with pytest.raises(RuntimeError, match=r"assertion `threadIdx.x < 70` failed in kernel "
                                           r"trapping, block 0, thread 70"):
        mod.launch("trapping", 1, 96, [np.zeros(96, np.int32)])


def test_unwritten_shared_memory_reads_as_garbage(mod):
    out = np.zeros((3, 64), np.float32)
    mod.launch("stale_shared", 3, 64, [out])
    lane = np.arange(64) % 32
    assert (out[:, lane < 2] == 1).all()
    assert np.isnan(out[:, lane >= 2]).all()  # poisoned per block, not zeros or stale


def test_compile_error_shows_the_line():
    src = "extern \"C\" __global__ void bad(float* o0) {\n    o0[0] = undefined_name + 1;\n}\n"
    with pytest.raises(SimBuildError) as e:
        SimModule(src, {"bad": ["float*"]})
    msg = str(e.value)
    assert "undefined_name" in msg and "error" in msg
    assert ">     2 |     o0[0] = undefined_name + 1;" in msg
    assert isinstance(e.value, RuntimeError)


def test_declared_types_must_match_the_kernel():
    src = "extern \"C\" __global__ void k(float* o0, int n) { o0[0] = n; }\n"
    with pytest.raises(SimBuildError, match=r"kernel k does not take \(double\*, int\)"):
        SimModule(src, {"k": ["double*", "int"]})
    with pytest.raises(TypeError, match="only a fundamental type or a pointer"):
        SimModule(src, {"k": ["float**", "int"]})


def test_disk_cache_is_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cuda_sim, "_loaded", {})
    src = ("extern \"C\" __global__ void fill(float* o0, float v) {\n"
           "    o0[threadIdx.x] = v; }  // test_disk_cache_is_reused\n")
    before = cuda_sim.builds
    m1 = SimModule(src, {"fill": ["float*", "float"]})
    assert cuda_sim.builds == before + 1
    folder = tmp_path / "sim"
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    assert [p.name for p in folder.iterdir() if p.suffix == ".so"] == \
        [os.path.basename(m1.library_path)]
    monkeypatch.setattr(cuda_sim, "_loaded", {})  # as a new process would: only the disk
    m2 = SimModule(src, {"fill": ["float*", "float"]})
    assert cuda_sim.builds == before + 1 and m2.library_path == m1.library_path
    out = np.zeros(32, np.float32)
    m2.launch("fill", 1, 32, [out, 2.5])
    assert (out == 2.5).all()

    # a damaged entry (never loaded in this process) is rebuilt with a warning
    src2 = src.replace("reused", "damaged")
    path = cuda_sim.library_path(src2, {"fill": ["float*", "float"]})
    with open(path, "wb") as f:
        f.write(b"not a library")
    with pytest.warns(RuntimeWarning, match="did not load"):
        m3 = SimModule(src2, {"fill": ["float*", "float"]})
    assert cuda_sim.builds == before + 2 and m3.library_path == path
    m3.launch("fill", 1, 32, [out, 4.0])
    assert (out == 4.0).all()


def test_sanitize_needs_asan_preloaded():
    if cuda_sim._asan_loaded():
        pytest.skip("this process already has ASan")
    with pytest.raises(RuntimeError, match="LD_PRELOAD"):
        SimModule("extern \"C\" __global__ void k(float* o) {}\n", {"k": ["float*"]},
                  sanitize=True)


def test_compiler_missing_message(monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/g++")
    msg = cuda_sim.compiler_unavailable()
    assert msg and "apt-get install g++" in msg and "\n" not in msg


_ASAN_SCRIPT = textwrap.dedent(r"""
    import numpy as np
    from tracefuse.backends.cuda.sim import SimModule
    src = '''
    extern "C" __global__ void oob(const float* __restrict__ a0, float* __restrict__ o0, int n) {
        for (int i = blockIdx.x * blockDim.x + threadIdx.x; i <= n; i += gridDim.x * blockDim.x)
            o0[i] = a0[i < n ? i : 0] * 2.0f;   // i == n writes one past the end
    }
    extern "C" __global__ void bsum(const double* __restrict__ a0, double* __restrict__ o0,
                                    int n) {
        __shared__ double s[32];
        double v = 0.0;
        for (int i = threadIdx.x; i < n; i += blockDim.x) v += a0[i];
        for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
        if (threadIdx.x % 32 == 0) s[threadIdx.x / 32] = v;
        __syncthreads();
        if (threadIdx.x == 0) {
            for (unsigned w = 1; w < blockDim.x / 32; w++) v += s[w];
            o0[blockIdx.x] = v;
        }
    }
    '''
    m = SimModule(src, {"oob": ["const float*", "float*", "int"],
                        "bsum": ["const double*", "double*", "int"]}, sanitize=True)
    a = np.arange(1.0, 3001.0)
    out = np.zeros(3)
    m.launch("bsum", 3, 1024, [a, out, a.size])  # shuffles and barriers: no false positive
    assert (out == a.sum()).all(), out
    print("CLEAN RUN OK", flush=True)
    m.launch("oob", 1, 64, [np.ones(100, np.float32), np.empty(100, np.float32), 100])
    print("NOT DETECTED")
""")


def test_asan_build_reports_out_of_bounds():
    cxx = cuda_sim._compiler()
    libasan = subprocess.run([cxx, "-print-file-name=libasan.so"], check=False, capture_output=True,
                             text=True).stdout.strip()
    if not os.path.isabs(libasan) or not os.path.exists(libasan):
        pytest.skip(f"{cxx} has no libasan.so")
    env = dict(os.environ, LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0",
               PYTHONWARNINGS="ignore")
    res = subprocess.run([sys.executable, "-c", _ASAN_SCRIPT], check=False, capture_output=True,
                         text=True, env=env, timeout=120)
    assert "CLEAN RUN OK" in res.stdout, res.stderr[-3000:]
    if "NOT DETECTED" in res.stdout:
        pytest.fail("ASan did not report the out-of-bounds write")
    assert "heap-buffer-overflow" in res.stderr, res.stderr[-3000:]
    assert "WRITE of size 4" in res.stderr and "oob" in res.stderr


def test_cached_library_survives_warning_free(mod):
    # loading the same source again in this process is a dict hit: no build, no warning
    before = cuda_sim.builds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = SimModule(SOURCE, KERNELS)
    assert cuda_sim.builds == before and again.library_path == mod.library_path


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "uint16"])
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 17, 1003])
def test_vectorized_flat_kernel_matches_numpy_and_runs_only_when_aligned(dtype, n, monkeypatch):
    """`_flat` takes 16 bytes of elements a thread (vector loads and stores, the tail element by
    element); it runs only when every array is contiguous and aligned to its vector, else
    the strided kernel does (an offset view `x[1:]`)."""
    import tracefuse as tx
    from tracefuse.backends.cuda.backend import SimRuntime

    launched = []
    real = SimRuntime.launch
    monkeypatch.setattr(SimRuntime, "launch",
                        lambda self, mod, name, *a: (launched.append(name), real(self, mod, name, *a)))
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n + 1) * 50).astype(dtype)
    y = (rng.standard_normal(n + 1) * 50).astype(dtype)
    f = tx.function(lambda x, y: (x * y + x, x < y), backend="gpu-sim")
    for a, b, flat in ((x[:n].copy(), y[:n].copy(), True), (x[1:], y[1:], False)):
        launched.clear()
        with np.errstate(all="ignore"):
            expected = (a * b + a, a < b)
        got = f(a, b)
        for g, e in zip(got, expected):
            assert g.numpy().dtype == e.dtype
            np.testing.assert_array_equal(g.numpy(), e)
        if n:
            aligned = all(v.ctypes.data % 16 == 0 for v in (a, b))
            assert launched and all(name.endswith("_flat") == (flat and aligned)
                                    for name in launched), (launched, n)
