"""Tier 3 (TESTING.md): the `"gpu"` backend and GPU tensors on a real CUDA device, through CuPy.

Every test here is marked `gpu` and skips itself (saying why) where CuPy or a device is missing;
`benchmarks/gpu_check.sh` runs them on a lent GPU. What runs without a device (the CUDA source,
the simulator, the compile gate) is tested in tests/backends.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends import get_backend

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cp():
    reason = get_backend("gpu").unavailable()
    if reason is not None:
        pytest.skip(reason)
    import cupy

    return cupy


def _softmax(x):
    e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
    return e / tx.sum(e, axis=-1, keepdims=True)


def _softmax_np(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_cupy_inputs_stay_on_device_and_results_are_gpu_tensors(cp, rng):
    x = rng.standard_normal((257, 1000)).astype(np.float32)
    f = tx.function(_softmax, backend="gpu")
    out = f(cp.asarray(x))
    assert isinstance(out, tx.Tensor) and out.device == "gpu"
    np.testing.assert_allclose(out.numpy(), _softmax_np(x), rtol=2e-5, atol=1e-7)
    out2 = f(x)  # NumPy input: copied to the device, same concrete function
    assert f.trace_count == 1 and out2.device == "gpu"
    np.testing.assert_allclose(out2.numpy(), out.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("n", [1, 31, 33, 1000, 1 << 20, 3_000_017])
def test_elementwise_and_full_reduction_sizes(cp, rng, n):
    x = rng.standard_normal(n).astype(np.float32)

    @tx.function(backend="gpu")
    def f(x):
        return 0.5 * x * (1.0 + tx.tanh(0.7978845608 * (x + 0.044715 * x * x * x))), tx.sum(x * x)

    g, s = f(cp.asarray(x))
    ref = 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))
    np.testing.assert_allclose(g.numpy(), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s.numpy(), np.sum(x.astype(np.float64) ** 2), rtol=1e-5)


def test_layernorm_rows_and_strided_input(cp, rng):
    x = rng.standard_normal((64, 4096)).astype(np.float32)

    @tx.function(backend="gpu")
    def ln(x):
        mu = tx.mean(x, axis=-1, keepdims=True)
        var = tx.mean((x - mu) ** 2, axis=-1, keepdims=True)
        return (x - mu) / tx.sqrt(var + 1e-5)

    xt = cp.asarray(x).T  # a transposed (non-contiguous) device input
    out = ln(xt).numpy()
    xn = x.T
    mu = xn.mean(-1, keepdims=True)
    ref = (xn - mu) / np.sqrt(((xn - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_mlp_matmul_through_cublas(cp, rng):
    x, w1, w2 = (rng.standard_normal(s).astype(np.float32) / 8 for s in
                 [(64, 128), (128, 256), (256, 32)])
    b1 = rng.standard_normal(256).astype(np.float32)

    @tx.function(backend="gpu")
    def mlp(x, w1, b1, w2):
        return tx.maximum(x @ w1 + b1, 0.0) @ w2

    out = mlp(*(cp.asarray(a) for a in (x, w1, b1, w2))).numpy()
    ref = np.maximum(x @ w1 + b1, 0) @ w2
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_int_semantics_on_device(cp, rng):
    a = rng.integers(-100, 100, 1001).astype(np.int32)
    b = rng.integers(-5, 5, 1001).astype(np.int32)
    f = tx.function(lambda a, b: (a // b, a % b, a * 100_000_000), backend="gpu")
    with np.errstate(all="ignore"):
        ref = (a // b, a % b, a * np.int32(100_000_000))
    for got, want in zip(f(cp.asarray(a), cp.asarray(b)), ref):
        np.testing.assert_array_equal(got.numpy(), want)


def test_64bit_indexing_past_2_31_elements(cp):
    if os.environ.get("TRACEFUSE_FAKE_CUPY"):  # tests/gpu/test_fake_cupy.py
        pytest.skip("2**31 elements: too big for the fake CuPy's CPU simulator")
    n = (1 << 31) + 7
    x = cp.ones(n, dtype=cp.uint8)
    out = tx.function(lambda x: x + 1, backend="gpu")(x)
    tail = out._array[-9:].get()
    assert out.shape == (n,) and (tail == 2).all()
    del x, out
    cp.get_default_memory_pool().free_all_blocks()


def test_eager_gpu_tensors(cp, rng):
    x = rng.standard_normal((3, 5)).astype(np.float32)
    t = tx.asarray(x, device="gpu")
    assert t.device == "gpu"
    y = tx.exp(t) + 1.0
    assert y.device == "gpu" and y.dtype == tx.float32
    np.testing.assert_allclose(y.numpy(), np.exp(x) + 1, rtol=1e-6)
    s = tx.sum(t * t, axis=1)
    np.testing.assert_allclose(s.numpy(), (x * x).sum(1), rtol=1e-5)
    back = y.to("cpu")
    assert back.device == "cpu" and isinstance(np.asarray(back), np.ndarray)
    assert back.to("gpu").device == "gpu"
    z = tx.zeros_like(t)
    assert z.device == "gpu" and float(tx.sum(z)) == 0.0
    mixed = t + np.ones(5, np.float32)  # a host operand joins the GPU one
    assert mixed.device == "gpu"
