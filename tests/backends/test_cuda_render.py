"""Tier 0 (TESTING.md): the CUDA C the renderer writes, read as text, and what `backend="gpu"`
does on a machine without a GPU. Running it is tier 2 (gpu-sim, the whole suite) and
compiling it to cubin tier 1 (the NVRTC gate); here the source itself is checked."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends import get_backend
from tracefuse.backends.cuda.render import render_cuda
from tracefuse.backends.loops import lower_kernel
from tracefuse.ir import OpCode, parse_graph
from tracefuse.passes import fuse


def _kernels(text: str):
    """The rendered kernels of the fused IR text `text`."""
    g = fuse(parse_graph(text))
    return [render_cuda(lower_kernel(op), op.attrs["name"]) for op in g.ops
            if op.code is OpCode.KERNEL]


def _body(ck, name):
    """The text of kernel function `name` (from its signature to the end of the module part)."""
    start = ck.source.index(f'extern "C" __global__ void {name}(')
    nxt = ck.source.find('extern "C" __global__', start + 1)
    return ck.source[start: nxt if nxt >= 0 else None]


def test_elementwise_is_self_contained_grid_stride_with_a_flat_variant():
    (ck,) = _kernels("""\
func @f(%0: f32[4,3], %1: f32[3]) -> (f32[4,3]) {
  %2: f32[4,3] = multiply %0, %1
  %3: f32[4,3] = exp %2
  return %3
}
""")
    src = ck.source
    assert "#include" not in src and "cupy/" not in src.lower()  # no headers, CuPy's or others
    assert ck.mapping == "elementwise" and ck.index_type == "int"
    # a broadcast operand (%1 along the last axis) rules out the flat variant
    assert not ck.flat and list(ck.kernels) == ["k0"]
    body = _body(ck, "k0")
    assert "const float* __restrict__ a0, int sa0_0, int sa0_1" in body
    assert "const float* __restrict__ a1, int sa1_0" in body  # f32[3]: one stride
    assert "blockIdx.x * blockDim.x + threadIdx.x" in body and "gridDim.x * blockDim.x" in body
    assert "expf(" in body and "exp(" not in body.replace("expf(", "")  # float32 math
    # the linear index splits into per-axis indices; the broadcast operand reads axis 1 only
    assert re.search(r"a1\[i\d+ \* sa1_0\]", body)
    assert ck.kernels["k0"][:3] == ["const float*", "int", "int"]


def test_flat_variant_when_every_array_is_read_at_the_result_index():
    (ck,) = _kernels("""\
func @f(%0: f64[5,7], %1: f64[5,7]) -> (f64[5,7]) {
  %2: f64[5,7] = add %0, %1
  %3: f64[5,7] = tanh %2
  return %3
}
""")
    assert ck.flat and set(ck.kernels) == {"k0", "k0_flat"} and ck.vec == 2
    flat = _body(ck, "k0_flat")
    # two float64 a thread: one 16-byte load per input, one store, the tail element by element
    for i in (0, 1):
        assert f"x{i} = *reinterpret_cast<const tx_vec<double, 2>*>(a{i} + base);" in flat
        assert f"x{i}.v[l] = a{i}[base + l];" in flat
    assert "*reinterpret_cast<tx_vec<double, 2>*>(o0 + base) = y0;" in flat
    assert "o0[base + l] = y0.v[l];" in flat and "#pragma unroll" in flat
    assert "tanh(" in flat and "tanhf" not in flat  # float64 math


@pytest.mark.parametrize("types, vec", [("f32, f32 -> f32", 4), ("i8, i8 -> i8", 16),
                                        ("f32, f32 -> bool", 4), ("i8, i64 -> i64", 2),
                                        ("u16, u16 -> u16", 8)])
def test_flat_vector_width_is_16_bytes_of_the_widest_array(types, vec):
    a, rest = types.split(", ")
    b, out = rest.split(" -> ")
    op = "less" if out == "bool" else "add"
    (ck,) = _kernels(f"""\
func @f(%0: {a}[1000], %1: {b}[1000]) -> ({out}[1000]) {{
  %2: {out}[1000] = {op} %0, %1
  return %2
}}
""")
    assert ck.flat and ck.vec == vec
    c = {"f32": "float", "i8": "signed char", "bool": "bool", "i64": "long long",
         "u16": "unsigned short"}[out]
    assert f"tx_vec<{c}, {vec}> y0;" in _body(ck, "k0_flat")


def test_row_kernel_is_one_block_per_row_with_shuffles_and_two_passes():
    (ck,) = _kernels("""\
func @softmax(%0: f32[6,50]) -> (f32[6,50]) {
  %1: f32[6,1] = reduce_max %0 {axes=(1,), keepdims=true}
  %2: f32[6,50] = subtract %0, %1
  %3: f32[6,50] = exp %2
  %4: f32[6,1] = reduce_sum %3 {axes=(1,), keepdims=true}
  %5: f32[6,50] = divide %3, %4
  return %5
}
""")
    assert ck.mapping == "rows"
    body = _body(ck, "k0")
    assert "for (int row = blockIdx.x; row < nrows; row += gridDim.x)" in body
    assert body.count("__shfl_xor_sync") == 0 and body.count("tx_shfl_xor(") == 2
    assert body.count("__syncthreads();") == 4  # two block reductions, two barriers each
    assert "__shared__ float sm" in body and "__shared__ double sm" in body  # sums in double
    assert body.count("for (int r = threadIdx.x; r < nred; r += blockDim.x)") == 3


def test_full_reduction_is_two_stage_and_deterministic():
    (ck,) = _kernels("""\
func @f(%0: f32[1000]) -> (f32[]) {
  %1: f32[1000] = multiply %0, %0
  %2: f32[] = reduce_sum %1 {axes=(0,), keepdims=false}
  return %2
}
""")
    assert ck.mapping == "full" and set(ck.kernels) == {"k0", "k0_final"}
    assert ck.partials == (np.dtype(np.float64),)
    stage1, final = _body(ck, "k0"), _body(ck, "k0_final")
    assert "p1[blockIdx.x] = acc1;" in stage1 or re.search(r"p\d+\[blockIdx.x\] = acc\d+;", stage1)
    assert re.search(r"for \(int q = threadIdx.x; q < nparts; q \+= blockDim.x\)", final)
    assert "atomic" not in ck.source  # a fixed order: no atomics


def test_index_type_widens_past_two_to_the_31():
    n = 3_000_000_000
    (ck,) = _kernels(f"""\
func @f(%0: u8[{n}]) -> (u8[{n}]) {{
  %1: u8[{n}] = bitwise_xor %0, %0
  %2: u8[{n}] = bitwise_invert %1
  return %2
}}
""")
    assert ck.index_type == "long long"
    assert "long long lin" in ck.source and "int lin" not in ck.source


def test_integer_ops_wrap_and_divide_as_numpy():
    cks = _kernels("""\
func @f(%0: i32[9], %1: i32[9]) -> (i32[9], i32[9], i32[9]) {
  %2: i32[9] = add %0, %1
  %3: i32[9] = floor_divide %0, %1
  %4: i32[9] = bitwise_left_shift %0, %1
  return %2, %3, %4
}
""")
    body = "".join(ck.source for ck in cks)
    assert "(unsigned int)(v0) + (unsigned int)(v1)" in body  # no signed overflow in C
    assert "tx_floordiv((int)(v0), (int)(v1))" in body
    assert "< 32) ? ((int)((unsigned int)(v0) << (v1)))" in body


def test_sizes_are_arguments_so_one_source_serves_every_shape():
    def src(n):
        (ck,) = _kernels(f"""\
func @f(%0: f32[{n},3]) -> (f32[{n},3]) {{
  %1: f32[{n},3] = exp %0
  %2: f32[{n},3] = negative %1
  return %2
}}
""")
        return ck.source
    assert src(4) == src(1000)


def test_gpu_without_a_device_renders_but_does_not_run():
    gpu = get_backend("gpu")
    if gpu.unavailable() is None:
        pytest.skip("a GPU is present: the unavailable path cannot be shown here")

    @tx.function(backend="gpu")
    def f(x):
        return tx.sum(tx.exp(x) * 2.0, axis=-1)

    x = np.ones((4, 8), np.float32)
    lowered = f.lower(x)  # no device needed
    (source,) = lowered.kernels
    assert 'extern "C" __global__ void k0(' in source
    assert any("one block per row" in n for n in lowered.notes)
    with pytest.raises(tx.BackendUnavailableError) as info:
        f(x)
    msg = str(info.value)
    assert len(msg.splitlines()) == 1 and 'pip install "tracefuse[gpu]"' in msg
    assert 'gpu-sim' in msg
    with pytest.raises(tx.BackendUnavailableError):
        tx.asarray(x, device="gpu")


def test_gpu_sim_runs_the_same_source_the_gpu_backend_renders(rng):
    x = rng.standard_normal((5, 33)).astype(np.float32)

    def f(x):
        return tx.exp(x - tx.max(x, axis=-1, keepdims=True))

    gpu_src = tx.function(f, backend="gpu").lower(x).kernels
    sim = tx.function(f, backend="gpu-sim")
    assert sim.lower(x).kernels == gpu_src
    np.testing.assert_allclose(sim(x).numpy(), np.exp(x - x.max(-1, keepdims=True)),
                               rtol=1e-6)
