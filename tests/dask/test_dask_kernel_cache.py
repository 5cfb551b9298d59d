"""Workers that share a disk share tracefuse's kernel cache: on a LocalCluster whose worker
processes all point `TRACEFUSE_CACHE_DIR` at one folder, a chunk function's kernel is
compiled and written there, and after the workers restart, fresh processes load it from disk
instead of compiling it again."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tracefuse as tx

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


def kernel_stats() -> dict:
    """On a worker: how many kernels this process loaded from disk and how many it compiled."""
    from tracefuse.backends import kernel_cache
    return dict(kernel_cache.stats)


def test_workers_share_the_kernel_cache_on_disk(tmp_path, rand):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       env={"TRACEFUSE_CACHE_DIR": str(folder)})
    client = distributed.Client(cluster)
    try:
        xn = rand(64, 8)
        x = da.from_array(xn, chunks=(8, 8))  # 8 even chunks: one chunk shape, one kernel
        f = tx.function(lambda x: tx.tanh(x * 0.75) * x + 1.0, backend="cpu")
        expect = np.tanh(xn * np.float32(0.75)) * xn + 1.0

        np.testing.assert_allclose(client.compute(f(x)).result(), expect, rtol=1e-5, atol=1e-6)
        first = client.run(kernel_stats)
        assert sum(s["compiled"] for s in first.values()) >= 1, first
        kernels = os.listdir(folder / "kernels")
        assert any(k.startswith("tf_") and k.endswith(".py") for k in kernels), kernels

        client.restart()  # fresh worker processes, the same folder
        np.testing.assert_allclose(client.compute(f(x)).result(), expect, rtol=1e-5, atol=1e-6)
        again = client.run(kernel_stats)
        assert sum(s["compiled"] for s in again.values()) == 0, again
        assert sum(s["loaded"] for s in again.values()) >= 1, again
    finally:
        client.close()
        cluster.close()
