"""Tier 3 (TESTING.md): issue 18's library calls and complex dtypes on a real CUDA device, the
`"gpu"` backend running them through CuPy (sort, cumulative sums, gathers and scatters,
unique, cuSOLVER, cuFFT) and complex kernels with our own complex struct; NumPy the oracle.
Marked `gpu`: skips without a device; `benchmarks/gpu_check.sh` runs it on a lent GPU (no
session has had one since these were written)."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends import get_backend

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module", autouse=True)
def _device():
    reason = get_backend("gpu").unavailable()
    if reason is not None:
        pytest.skip(reason)


def _gpu(fn, *args):
    out = tx.function(fn, backend="gpu")(*args)
    return [np.asarray(o.numpy()) for o in out] if isinstance(out, (tuple, list)) else \
        np.asarray(out.numpy())


def test_sorting_and_running_sums_on_the_gpu(rng):
    x = rng.standard_normal((5, 7)).astype(np.float32)
    np.testing.assert_array_equal(_gpu(lambda a: tx.sort(a, axis=1), x), np.sort(x, axis=1))
    np.testing.assert_array_equal(_gpu(lambda a: tx.argsort(a, axis=0, descending=True), x),
                                  (4 - np.flip(np.argsort(np.flip(x, 0), 0, kind="stable"), 0)))
    np.testing.assert_allclose(_gpu(lambda a: tx.cumulative_sum(a, axis=1), x),
                               np.cumsum(x, axis=1), rtol=1e-5)


def test_gathers_scatters_and_sets_on_the_gpu(rng):
    x = rng.standard_normal((4, 6))
    idx = rng.integers(0, 6, (4, 3))
    np.testing.assert_array_equal(_gpu(lambda a, i: tx.take_along_axis(a, i, axis=1), x, idx),
                                  np.take_along_axis(x, idx, axis=1))
    want = x.copy()
    np.add.at(want, (slice(None), [0, 2, 2]), 1.5)
    np.testing.assert_allclose(_gpu(lambda a: a.at[:, np.array([0, 2, 2])].add(1.5), x), want)
    v = np.array([3, 1, 3, 2, 1], np.int64)
    np.testing.assert_array_equal(_gpu(lambda a: tx.unique_values(a, size=3), v), [1, 2, 3])


def test_linalg_and_fft_on_the_gpu(rng):
    a = rng.standard_normal((3, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((3, 4))
    np.testing.assert_allclose(_gpu(lambda m, y: tx.linalg.solve(m, y[..., None])[..., 0], a, b),
                               np.linalg.solve(a, b[..., None])[..., 0], rtol=1e-10)
    np.testing.assert_allclose(_gpu(tx.linalg.det, a), np.linalg.det(a), rtol=1e-10)
    s = rng.standard_normal(16)
    np.testing.assert_allclose(_gpu(tx.fft.rfft, s), np.fft.rfft(s), rtol=1e-10, atol=1e-12)


def test_complex_kernels_on_the_gpu(rng):
    z = (rng.standard_normal(9) + 1j * rng.standard_normal(9)).astype(np.complex64)
    got = _gpu(lambda a: tx.exp(a) * tx.conj(a) + tx.sqrt(a), z)
    np.testing.assert_allclose(got, np.exp(z) * np.conj(z) + np.sqrt(z), rtol=1e-5)
