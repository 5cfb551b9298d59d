"""Concurrency and memory (issue #6 items 5 and 6): processes sharing one cache directory,
threads sharing one compiled function, and memory over many calls."""

import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from oracle import run_at_once

import tracefuse as tx
from tracefuse.backends.cuda import sim as cuda_sim

SIM = cuda_sim.compiler_unavailable() is None
BACKENDS = ["cpu", "gpu-sim"] if SIM else ["cpu"]

CHILD = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    warnings.simplefilter("error")  # a damaged or half-written cache file would warn
    import tracefuse as tx
    from tracefuse.backends import kernel_cache
    from tracefuse.backends.cuda import sim as cuda_sim
    which = sys.argv[1].split(",")
    backends = sys.argv[2].split(",")
    x = np.linspace(0.1, 2, 257, dtype=np.float32)
    y = np.linspace(-1, 1, 257, dtype=np.float32)
    programs = {
        "same1": (lambda a, b: tx.sqrt(a) * b + 1, lambda a, b: np.sqrt(a) * b + 1),
        "same2": (lambda a, b: tx.sum(a * b), lambda a, b: np.sum(a * b)),
        "own0": (lambda a, b: tx.exp(a) - b, lambda a, b: np.exp(a) - b),
        "own1": (lambda a, b: tx.log(a) * 3 + b, lambda a, b: np.log(a) * 3 + b),
        "own2": (lambda a, b: tx.maximum(a, b) / 2, lambda a, b: np.maximum(a, b) / 2),
    }
    for backend in backends:
        for name in which:
            f, ref = programs[name]
            got = np.asarray(tx.function(f, backend=backend)(x, y))
            np.testing.assert_allclose(got, ref(x, y), rtol=2e-5, atol=1e-5, err_msg=name)
    print("compiled", kernel_cache.stats["compiled"], "built", cuda_sim.builds)
""")


def _env(cache):
    return dict(os.environ, TRACEFUSE_CACHE_DIR=str(cache), TRACEFUSE_NVRTC_GATE="0",
                PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))


def test_processes_compiling_into_one_cache_at_once(tmp_path):
    cache = tmp_path / "cache"
    backends = ",".join(BACKENDS)
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, f"same1,same2,own{i}", backends],
                              env=_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.startswith("compiled"), out
    # a fourth process finds every kernel of the three in the cache: nothing compiled or built
    out = subprocess.run([sys.executable, "-c", CHILD, "same1,same2,own0,own1,own2", backends],
                         env=_env(cache), capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["compiled", "0", "built", "0"], out.stdout


@pytest.mark.parametrize("backend", ["numpy", "cpu"] + (["gpu-sim"] if SIM else []))
def test_one_function_called_from_8_threads_at_once(backend):
    f = tx.function(lambda x, y: tx.sin(x) * y + tx.sum(x), backend=backend)
    xs = [np.linspace(0, k + 1, 96, dtype=np.float32) for k in range(8)]
    y = np.float32(2)
    results = run_at_once(lambda k: np.asarray(f(xs[k], y)), 8)
    for k in range(8):
        np.testing.assert_allclose(results[k], np.sin(xs[k]) * y + xs[k].sum(), rtol=1e-5,
                                   atol=1e-5)
    assert f.trace_count == 1


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_memory_stays_bounded_over_10000_calls(backend):
    f = tx.function(lambda x, y: tx.exp(x) * y + 1, backend=backend)
    x = np.linspace(0, 1, 16, dtype=np.float32)
    y = np.float32(3)
    for _ in range(500):  # warm-up: compiled, pools and caches filled
        f(x, y)
    gc.collect()
    before = _rss()
    for i in range(10_000):
        out = f(x, y)
    gc.collect()
    growth = _rss() - before
    np.testing.assert_allclose(np.asarray(out), np.exp(x) * 3 + 1, rtol=1e-6)
    assert f.trace_count == 1
    # 10,000 calls: a leak of 5 KB per call (say, one output kept alive) shows as 50 MB
    assert growth < 50 * 2**20, f"RSS grew {growth / 2**20:.1f} MB over 10,000 calls"
