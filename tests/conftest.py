"""Shared fixtures: a fresh random generator per test (seeded from the test's name, so a
failure reproduces), and the tests/ folder on sys.path for the `oracle` helper."""

import os
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("TRACEFUSE_VERIFY_PASSES", "1")  # the verifier runs after every pass


@pytest.fixture
def rng(request) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
