"""Shared fixtures: a fresh random generator per test (seeded from the test's name, so a
failure reproduces), and the tests/ folder on sys.path for the `oracle` helper."""

import os
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TRACEFUSE_VERIFY_PASSES", "1")  # the verifier runs after every pass


def _gate_reason() -> str | None:
    from tracefuse.backends.cuda import nvrtc_gate

    return nvrtc_gate.unavailable()


# Tier 1 (TESTING.md): every CUDA kernel the tests make is compiled to cubin for sm_80 and
# sm_90, where NVRTC is installed (pip install -e '.[gate]'; CI does): in batches, flushed
# after each test module (a failure shows as an error in that module's teardown, with NVRTC's
# log and the user's lines of the kernel).
if "TRACEFUSE_NVRTC_GATE" not in os.environ:
    os.environ["TRACEFUSE_NVRTC_GATE"] = "0" if _gate_reason() else "batch"


@pytest.fixture(autouse=True, scope="module")
def _flush_nvrtc_gate():
    yield
    from tracefuse.backends.cuda.backend import flush_gate

    flush_gate()


def pytest_report_header(config):
    gate = os.environ["TRACEFUSE_NVRTC_GATE"] not in ("", "0")
    backends = os.environ.get("TRACEFUSE_TEST_BACKENDS") or "default"
    lines = [f"tracefuse: compiled backends under test: {backends}",
             "tracefuse: NVRTC compile gate " + ("on (sm_80, sm_90 cubins)" if gate else
                                                  f"off: {_gate_reason() or 'TRACEFUSE_NVRTC_GATE=0'}")]
    return lines


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` need a CUDA device: without one they skip, saying what is missing."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_items:
        return
    from tracefuse.backends import get_backend

    reason = get_backend("gpu").unavailable()
    if reason is not None:
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def rng(request) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
