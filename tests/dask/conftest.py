"""Shared fixtures of the dask tests: every test runs on Dask's threaded scheduler unless it
uses the `client` fixture (a `distributed.LocalCluster` of two worker processes, started once
per module and closed after it), and `rand` makes random float arrays (seeded from the test's
name, or from `seed=`, so a failure reproduces)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def threads(request):
    """The threaded scheduler for the test (a test on the `client` fixture keeps its cluster)."""
    if "client" in request.fixturenames:
        yield
        return
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="threads"):
        yield


@pytest.fixture(scope="module")
def client():
    """A `distributed.Client` on a LocalCluster of two worker processes, one thread each."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def rand(rng):
    """rand(*shape, dtype=np.float32, seed=None): standard normal values of that shape and
    dtype, from the test's generator (`rng`) or, given a seed, from a generator of its own."""
    def rand(*shape, dtype=np.float32, seed=None):
        gen = rng if seed is None else np.random.default_rng(seed)
        return gen.standard_normal(shape).astype(dtype)
    return rand
