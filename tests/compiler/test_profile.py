"""f.profile: a row per step of the execution plan (kernels, library ops, control flow) with its
user lines, calls, median time, bytes and GB/s; the Chrome trace; and normal calls unchanged.
Runs on numpy, cpu (Numba) and gpu-sim (the CUDA backend's plan walker). No test asserts a
time, only that times were measured."""

from __future__ import annotations

import json

import numpy as np
import pytest
from oracle import BACKENDS, rand

import tracefuse as tx
from tracefuse.backends.numba.backend import executor_source

# the gpu backend where the run asks for it (a device, or tests/gpu/test_fake_cupy.py's fake)
PROFILED = ("numpy", "cpu", "gpu-sim") + (("gpu",) if "gpu" in BACKENDS else ())


def mlp(x, w, b):
    h = x @ w + b
    return tx.nn.softmax(h, axis=-1)


MATMUL_LINE = f"test_profile.py:{mlp.__code__.co_firstlineno + 1}"
SOFTMAX_LINE = f"test_profile.py:{mlp.__code__.co_firstlineno + 2}"


def np_mlp(x, w, b):
    h = x @ w + b
    e = np.exp(h - h.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rand(rng, (6, 5), "float32"), rand(rng, (5, 3), "float32"), rand(rng, (3,), "float32")


@pytest.mark.parametrize("backend", PROFILED)
def test_softmax_mlp_names_matmul_and_row_kernel(backend):
    f = tx.function(mlp, backend=backend)
    x, w, b = inputs()
    p = f.profile(x, w, b, repeat=4)
    assert isinstance(p, tx.Profile)
    by_name = {r["name"]: r for r in p.rows}
    mm = by_name["matmul"]
    assert mm["kind"] == "library" and mm["lines"] == [MATMUL_LINE]
    assert mm["bytes_read"] == x.nbytes + w.nbytes and mm["bytes_written"] == 6 * 3 * 4
    kernels = [r for r in p.rows if r["kind"].startswith("kernel")]
    assert len(kernels) == 1 and kernels[0]["name"].startswith("@")
    assert "row" in kernels[0]["kind"] and SOFTMAX_LINE in kernels[0]["lines"]
    assert kernels[0]["bytes_read"] >= 6 * 3 * 4 and kernels[0]["bytes_written"] == 6 * 3 * 4
    for r in (mm, kernels[0]):
        assert r["calls"] == 4 and r["median_s"] > 0 and r["total_s"] >= r["median_s"]
        moved = r["bytes_read"] + r["bytes_written"]
        assert r["gb_per_s"] == pytest.approx(moved / r["median_s"] / 1e9)
    medians = [r["median_s"] for r in p.rows]
    assert medians == sorted(medians, reverse=True)
    text = str(p)
    assert f"on {backend}" in text and "matmul" in text and kernels[0]["name"] in text
    assert MATMUL_LINE in text and SOFTMAX_LINE in text and "GB/s" in text
    # profiling changed nothing: the function still gives NumPy's values
    np.testing.assert_allclose(np.asarray(f(x, w, b)), np_mlp(x, w, b), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("backend", PROFILED)
def test_chrome_trace_has_one_complete_event_per_step_call(backend, tmp_path):
    f = tx.function(mlp, backend=backend)
    p = f.profile(*inputs(1), repeat=3)
    path = tmp_path / "trace.json"
    p.save_chrome_trace(path)
    trace = json.loads(path.read_text())
    complete = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(complete) == 3 * len(p.rows)
    for r in p.rows:
        mine = [e for e in complete if e["args"]["step"] == r["step"]]
        assert len(mine) == r["calls"] == 3
        assert all(e["name"] == r["name"] and e["args"]["lines"] == r["lines"] for e in mine)
    for e in complete:
        assert e["dur"] >= 0 and e["ts"] >= 0
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int)
    # the events of one call follow each other in plan order
    steps = [e["args"]["step"] for e in sorted(complete, key=lambda e: e["ts"])]
    assert steps == sorted(r["step"] for r in p.rows) * 3


@pytest.mark.parametrize("backend", ("numpy", "cpu"))
def test_library_call_and_control_flow_rows(backend):
    def f(x, n):
        y = tx.sort(x)
        return tx.while_loop(lambda c: c[1] < n, lambda c: (c[0] * 0.5, c[1] + 1), (y, 0))[0]

    line = f.__code__.co_firstlineno
    g = tx.function(f, backend=backend)
    x = rand(np.random.default_rng(2), (9,), "float64")
    p = g.profile(x, 3, repeat=2)
    by_name = {r["name"]: r for r in p.rows}
    assert by_name["sort"]["lines"] == [f"test_profile.py:{line + 1}"]
    loop = by_name["while"]
    assert loop["kind"] == "control flow" and f"test_profile.py:{line + 2}" in loop["lines"]
    assert all(r["calls"] == 2 for r in p.rows)
    np.testing.assert_allclose(np.asarray(g(x, 3)), np.sort(x) * 0.125)


def test_normal_calls_have_no_timers():
    f = tx.function(mlp, backend="cpu")
    args = inputs(3)
    f.profile(*args, repeat=1)
    cf = f.get_concrete_function(*args)
    assert "clock" not in executor_source(cf.lowered)
    walked = tx.function(mlp, backend="numpy")
    walked.profile(*args, repeat=1)
    executable = walked.get_concrete_function(*args).load()
    assert not any("_timed_step" in getattr(fn, "__qualname__", "") for fn, *_ in executable.steps)


@pytest.mark.parametrize("repeat", [0, -1, 2.0, True])
def test_bad_repeat_says_what_to_pass(repeat):
    f = tx.function(mlp, backend="numpy")
    with pytest.raises(ValueError, match="repeat"):
        f.profile(*inputs(), repeat=repeat)


def test_bandwidth_ceiling_is_measured_once_and_cached(monkeypatch, tmp_path):
    from tracefuse.backends import profiling

    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(profiling, "_measured", {})
    monkeypatch.setattr(profiling, "CEILING_BYTES", 1 << 20)  # small: a test, not a benchmark
    f = tx.function(mlp, backend="numpy")
    p = f.profile(*inputs(4), repeat=2)
    cached = json.loads((tmp_path / "bandwidth.json").read_text())
    assert cached == {p.device: p.ceiling_gb_per_s} and p.ceiling_gb_per_s > 0
    # a later process reads the file instead of measuring
    (tmp_path / "bandwidth.json").write_text(json.dumps({p.device: 2.5}))
    monkeypatch.setattr(profiling, "_measured", {})
    monkeypatch.setattr(profiling, "measure_copy_bandwidth", None)  # would raise if called
    p = f.profile(*inputs(4), repeat=2)
    assert p.ceiling_gb_per_s == 2.5 and "ceiling 2.5 GB/s" in str(p)
    for r in p.rows:
        assert r["pct_of_ceiling"] == pytest.approx(100 * r["gb_per_s"] / 2.5)


SCRIPT = """
import sys
import numpy as np
import tracefuse as tx

@tx.function(backend="numpy")
def scaled(x):
    return tx.sum(x * 2.0, axis=-1)

for i in range(int(sys.argv[1])):
    scaled(np.full((4, 3), i + 1.5))
sys.exit(3)
"""


def test_python_m_tracefuse_profile_prints_every_called_function(tmp_path, capsys):
    from tracefuse import config
    from tracefuse.__main__ import main

    script = tmp_path / "script_to_profile.py"
    script.write_text(SCRIPT)
    assert main(["profile", str(script), "5"]) == 3  # the script's exit code
    out = capsys.readouterr().out
    assert "1 compiled functions called" in out and "profile of scaled on numpy: 5 calls" in out
    assert "script_to_profile.py:8" in out  # the line of the kernel's ops
    assert not config.profiles_recorded()
    # after it, functions load without timers again
    f = tx.function(mlp, backend="numpy")
    args = inputs(5)
    executable = f.get_concrete_function(*args).load()
    assert not any("_timed_step" in getattr(fn, "__qualname__", "") for fn, *_ in executable.steps)
