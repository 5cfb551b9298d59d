"""The `"gpu"` backend's CuPy code paths, without a GPU: the tier-3 tests and a selection of the
oracle suite run against a fake CuPy (tests/fakecupy: NumPy arrays behind CuPy's strict API,
kernels on the CPU simulator), plus direct checks of where data moves
(tests/fakecupy/fake_gpu_checks.py).

Each run is a subprocess with tests/fakecupy first on PYTHONPATH, so the fake never reaches
another test's `import cupy`. Not marked `gpu`: this runs in CI; it skips only without g++ (the
simulator's compiler). The subprocess's pytest output is shown when it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tracefuse.backends.cuda.sim import compiler_unavailable

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TESTS)
FAKE = os.path.join(TESTS, "fakecupy")

_reason = compiler_unavailable()
pytestmark = pytest.mark.skipif(_reason is not None,
                                reason=f"the fake CuPy runs kernels on the simulator: {_reason}")

# the oracle selection: every test of the two files, except that the long dtype matrices run on
# a few dtypes (2-3 minutes with empty g++/NVRTC caches on 2 cores, under 30 s warm; the kernels
# are the gpu-sim backend's, so a full suite run shares its builds)
ORACLE_K = ("not (binary_operator_on_tensors or every_axis_form or sum_prod_dtype_argument "
            "or var_std_correction or reflected_operators_with_python_scalars or nep50_weak "
            "or noncontiguous_and_negative_stride or strong_promotion or 0d_arrays_are_strong) "
            "or float32 or (binary_operator_on_tensors and (int8 or uint64)) "
            "or (strong_promotion and uint32)")


def _pytest(*args: str, timeout: float = 600) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([FAKE, REPO] + (
        [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["TRACEFUSE_TEST_BACKENDS"] = "gpu"
    env["TRACEFUSE_FAKE_CUPY"] = "1"
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
           "-p", "no:randomly", *args]
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                         check=False)
    took = time.perf_counter() - start
    if res.returncode != 0:
        pytest.fail(f"{' '.join(args)} against the fake CuPy failed (exit {res.returncode}, "
                    f"{took:.0f} s):\n{res.stdout}\n{res.stderr}", pytrace=False)
    summary = (res.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"{' '.join(args)}: {summary} ({took:.0f} s)")


def test_tier3_gpu_tests_pass_on_the_fake():
    _pytest("tests/gpu/test_gpu_device.py", "-m", "gpu")


def test_oracle_selection_on_the_gpu_backend():
    _pytest("tests/api/test_operators.py", "tests/api/test_reductions.py", "-x", "-k", ORACLE_K)


def test_direct_checks_of_gpu_tensors_and_copies():
    _pytest("tests/fakecupy/fake_gpu_checks.py")


def test_control_flow_on_the_gpu_backend():
    # region steps: predicates read back from device scalars, scan's ys allocated as CuPy arrays
    _pytest("tests/backends/test_regions.py", "-k", "gpu")


def test_variables_on_the_gpu_backend():
    # Variables read from and written back to CuPy buffers, host Variables kept on the host
    _pytest("tests/api/test_variables.py")


def test_fft_on_the_gpu_backend():
    # library calls on CuPy arrays: cupy.fft's API (the fake wraps pocketfft as cuFFT's stand-in)
    _pytest("tests/api/test_fft.py", "-x")


def test_complex_on_the_gpu_backend():
    # complex arrays through CuPy's API, complex constants by value, the tx_complex kernels
    _pytest("tests/api/test_complex_functions.py", "tests/backends/test_complex_cuda.py",
            "-k", "not cpu")


def test_library_calls_on_the_gpu_backend():
    # sort, gathers/scatters (cupyx.scatter_*), unique, cupy.linalg, cupy.fft and complex
    # kernels through CuPy's API: the tier-3 file a real device runs
    _pytest("tests/gpu/test_gpu_library_calls.py", "-m", "gpu")


def test_profile_on_the_gpu_backend():
    # f.profile's timed plan walker on CuPy arrays: each step synchronized, the copy bandwidth
    # of the device measured with CuPy
    _pytest("tests/compiler/test_profile.py", "-k", "gpu")
