"""The CUDA C of complex kernels: self-contained (our own `tx_complex` struct, no
<cuComplex.h>, no thrust, no header at all), the complex code only in kernels that have complex
values, once in a combined program (its include guard), compiled to cubin by NVRTC for sm_80
and sm_90 with the runtime's options (skipped without NVRTC), and run by gpu-sim (its
by-value complex constants included). Values against NumPy: tests/api/test_complex_functions.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends.cuda import nvrtc_gate
from tracefuse.backends.cuda.render import NVRTC_OPTIONS, combine_sources

UNARY = (tx.exp, tx.log, tx.sqrt, tx.sin, tx.tanh, tx.acos, tx.atanh, tx.sign, tx.abs,
         tx.reciprocal, tx.round, tx.isnan, tx.angle, tx.conj, tx.real, tx.imag)


def every(z, w):
    return ([f(z) for f in UNARY], z / w, z ** w, tx.sum(z * w), tx.prod(z, axis=0),
            tx.mean(z, axis=1), tx.var(z), tx.any(z), tx.astype(z, tx.bool),
            tx.where(tx.real(z) > 0, z, 1j), z * (2 - 0.5j))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_sources_are_self_contained_and_combine(dtype):
    z = (np.arange(12).reshape(3, 4) * (1 - 0.5j)).astype(dtype)
    sources = tx.function(every, backend="gpu").lower(z, z + 1).kernels
    assert sources
    for src in sources:
        assert "#include" not in src and "cuComplex" not in src and "thrust" not in src
        assert "struct alignas(2 * sizeof(T)) tx_complex" in src
    combined = combine_sources(sources)
    assert combined.count("#define TX_COMPLEX_DEFINED") == len(sources)  # guarded: one used
    if nvrtc_gate.unavailable():
        pytest.skip(nvrtc_gate.unavailable())
    for arch in ("sm_80", "sm_90"):
        assert nvrtc_gate.compile_cubin(combined, arch, NVRTC_OPTIONS)[:4] == b"\x7fELF"


def test_real_kernels_have_no_complex_code():
    src = tx.function(lambda x: tx.exp(x) + 1, backend="gpu").lower(np.ones(3)).kernels[0]
    assert "tx_complex" not in src


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_gpu_sim_runs_them(dtype, rng):
    z = (rng.uniform(-2, 2, (3, 4)) + 1j * rng.uniform(-2, 2, (3, 4))).astype(dtype)
    w = (rng.uniform(0.5, 2, (3, 4)) + 1j * rng.uniform(-2, 2, (3, 4))).astype(dtype)
    got = tx.function(every, backend="gpu-sim")(z, w)
    want = tx.function(every, backend="numpy")(z, w)
    rtol = 1e-5 if dtype == "complex64" else 1e-12
    for g, e in zip(got[0] + list(got[1:]), want[0] + list(want[1:])):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_on_a_gpu(dtype, rng):
    """CuPy launches the complex kernels (complex constants by value as `tx_complex`, the
    complex64 vector loads) and their results are NumPy's. Skips without a device."""
    z = (rng.uniform(-2, 2, (33, 65)) + 1j * rng.uniform(-2, 2, (33, 65))).astype(dtype)
    w = (rng.uniform(0.5, 2, (33, 65)) + 1j * rng.uniform(-2, 2, (33, 65))).astype(dtype)
    got = tx.function(every, backend="gpu")(z, w)
    want = tx.function(every, backend="numpy")(z, w)
    rtol = 1e-5 if dtype == "complex64" else 1e-12
    for g, e in zip(got[0] + list(got[1:]), want[0] + list(want[1:])):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=rtol, atol=rtol)
