"""Smoke test of the benchmark runner (`python -m tracefuse bench`): tiny sizes, two workloads,
in-process, a gradient workload whose result is a tuple (mlp_grad), and the control-flow
workloads of issue 15 (mandelbrot, newton, scan_recurrence), whose tracefuse loops are also
checked against their NumPy loops on fresh random inputs, and the random-number workloads of
issue 16 (uniform_50m, dropout: checked by distribution, since their values differ from
NumPy's by design; dropout_mask by value). It checks the table's rows and that every result
was verified against NumPy (a tuple array by array, mandelbrot's allowance of counts off, the
random draws' distribution checks, which also reject wrong draws); it never asserts a time."""

import json

import numpy as np
import pytest

from tracefuse.__main__ import main


def test_bench_small_runs_verifies_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "bench.json"
    status = main(["bench", "--small", "--only", "gelu", "--only", "softmax", "--repeats", "3",
                   "--progress", "none", "--no-peers", "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text

    table = [line for line in text.splitlines() if line.startswith("| ")]
    steady_head = "| workload | numpy ms | tracefuse ms | ratio | % floor | target | met |"
    assert steady_head in table
    rows = [line.split(" | ")[0].lstrip("| ") for line in table if "workload" not in line]
    assert rows == ["gelu", "softmax", "gelu", "softmax"]  # steady-state table, latency table
    assert "MISMATCH" not in text and "ERROR" not in text
    assert "verification: all 4 implementation results match NumPy" in text

    doc = json.loads(out.read_text())
    assert doc["all_verified"] is True
    assert [r["name"] for r in doc["results"]] == ["gelu", "softmax"]
    for r in doc["results"]:
        assert set(r["impls"]) == {"numpy", "tracefuse"}
        for impl in r["impls"].values():
            assert impl["verified"] and impl["error"] is None
            assert impl["samples"] == 3 and impl["median_s"] > 0
            checks = set(impl["checks"])
            assert {"first result", "result after timing", "held first result"} <= checks
        assert r["impls"]["tracefuse"]["checks"]["new shape"]["ok"]
        assert r["latency"]["new_shape"]["tracefuse"]["retraced"] is True
        assert r["latency"]["fresh_process"]["first_call_s"] > 0, r["latency"]["fresh_process"]
    assert doc["results"][0]["bytes_moved"] == 2 * 4096 * 4  # gelu: read x, write y (float32)


def test_bench_reports_a_mismatch_loudly(monkeypatch, capsys):
    from tracefuse.tools.bench import workloads

    gelu = workloads.get("gelu")
    wrong = workloads.Workload(**{**gelu.__dict__, "tx_fn": lambda x: x * 0.5})
    monkeypatch.setattr(workloads, "BY_NAME", {**workloads.BY_NAME, "gelu": wrong})
    monkeypatch.setattr(workloads, "WORKLOADS", (wrong,))
    status = main(["bench", "--small", "--only", "gelu", "--repeats", "1", "--progress", "none",
                   "--no-peers", "--no-fresh-process"])
    captured = capsys.readouterr()
    assert status == 1
    assert "MISMATCH" in captured.out and "verification FAILED" in captured.out
    assert "!!! MISMATCH: tracefuse on gelu" in captured.err


def test_bench_small_gradient_with_a_tuple_result(tmp_path, capsys):
    """mlp_grad returns four gradients: each is checked, the held tuple too."""
    out = tmp_path / "bench.json"
    status = main(["bench", "--small", "--only", "mlp_grad", "--repeats", "2", "--progress",
                   "none", "--no-peers", "--no-fresh-process", "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "MISMATCH" not in text and "ERROR" not in text
    rows = [line for line in text.splitlines() if line.startswith("| mlp_grad |")]
    assert len(rows) == 2 and "as fast as jax.jit" in rows[0]

    (r,) = json.loads(out.read_text())["results"]
    assert r["bytes_moved"] is None and r["target_met"] is None  # no floor, no numeric target
    tf = r["impls"]["tracefuse"]
    assert tf["verified"] and tf["samples"] == 2
    for key in ("first result", "result after timing", "held first result", "new shape"):
        leaves = tf["checks"][key]["leaves"]
        assert len(leaves) == 4 and all(c["ok"] for c in leaves), (key, leaves)


def test_check_compares_a_tuple_result_array_by_array(rng):
    import numpy as np

    from tracefuse.tools.bench import runner, workloads

    w = workloads.get("mlp_grad")
    ref = tuple(rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,)))
    assert runner.check(tuple(a.copy() for a in ref), ref, w)["ok"]
    wrong = (ref[0], ref[1] * 1.01)
    c = runner.check(wrong, ref, w)
    assert not c["ok"] and c["why"].startswith("result[1]: not allclose")
    c = runner.check((ref[0], ref[1].astype(np.float64)), ref, w)
    assert not c["ok"] and "result[1]: got float64[4]" in c["why"]
    assert not runner.check(ref[:1], ref, w)["ok"]
    assert "a tuple of 2 arrays" in runner.check(ref[0], ref, w)["why"]
    big = workloads.bytes_moved((ref[0],), ref)
    assert big == ref[0].nbytes + ref[0].nbytes + ref[1].nbytes


def test_bench_small_control_flow_workloads(tmp_path, capsys):
    """The loops of issue 15 (fori_loop, while_loop, scan; the scan returns (h, hs)) run,
    are verified against NumPy's loops, and have no numeric target here (JAX's is judged by
    benchmarks/control_flow_vs_jax.py)."""
    out = tmp_path / "bench.json"
    names = ["mandelbrot", "newton", "scan_recurrence"]
    status = main(["bench", "--small", *(a for n in names for a in ("--only", n)), "--repeats",
                   "2", "--progress", "none", "--no-peers", "--no-fresh-process", "--json",
                   str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "MISMATCH" not in text and "ERROR" not in text
    rows = [line for line in text.splitlines() if line.startswith("| ")
            and "workload" not in line]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == names * 2
    assert ">= 3x jax.jit" in rows[0] and "as fast as jax.jit" in rows[1]

    results = json.loads(out.read_text())["results"]
    assert [r["name"] for r in results] == names
    for r in results:
        assert r["bytes_moved"] is None and r["target_met"] is None, r["name"]
        tf = r["impls"]["tracefuse"]
        assert tf["verified"] and tf["samples"] == 2 and tf["error"] is None
        for key in ("first result", "result after timing", "held first result", "new shape"):
            assert tf["checks"][key]["ok"], (r["name"], key, tf["checks"][key])
    # the Mandelbrot counts of the compiled loop are NumPy's exactly (no fused multiply-add)
    assert results[0]["impls"]["tracefuse"]["checks"]["first result"]["mismatched"] == 0
    (h, hs) = results[2]["impls"]["tracefuse"]["checks"]["first result"]["leaves"]
    assert h["ok"] and hs["ok"]


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("name", ["mandelbrot", "newton", "scan_recurrence"])
def test_control_flow_workloads_match_numpy_loops(name, backend, rng):
    """Each loop workload's tracefuse version against its NumPy loop on fresh random inputs:
    the int32 escape counts exactly, the floats to rtol 1e-5."""
    import numpy as np

    from tracefuse.tools.bench import workloads

    w = workloads.get(name)
    if name == "mandelbrot":  # random points of the rectangle, not the fixed grid
        shape = (24, 40)
        inputs = (rng.uniform(-2, 1, shape).astype(np.float32),
                  rng.uniform(-1.5, 1.5, shape).astype(np.float32))
    else:
        inputs = w.make(rng, w.dims["small"])
    want = w.numpy(*inputs)
    got = w.compile(backend)(*inputs)
    if name == "mandelbrot":
        got = np.asarray(got)
        assert got.dtype == np.int32 and 0 < got.min() and got.max() == 100
        np.testing.assert_array_equal(got, want)
    else:
        for g, r in zip(workloads.leaves(got), workloads.leaves(want)):
            g = np.asarray(g)
            assert g.dtype == r.dtype and g.shape == r.shape
            np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6)
    if name == "newton":
        np.testing.assert_allclose(np.asarray(got), np.sqrt(inputs[0]), rtol=2e-6)


def test_check_allows_the_mismatch_fraction_of_a_workload(rng):
    """mandelbrot allows 1 % of its counts off (a boundary point's count is chaotic); a
    workload without that allowance fails on a single element."""
    import numpy as np

    from tracefuse.tools.bench import runner, workloads

    w = workloads.get("mandelbrot")
    ref = rng.integers(1, 101, (40, 50), dtype=np.int32)
    got = ref.copy()
    got.flat[rng.choice(ref.size, 20, replace=False)] += 3  # 1 % of 2000
    c = runner.check(got, ref, w)
    assert c["ok"] and c["mismatched"] == 20 and c["mismatches_allowed"] == 20
    got.flat[np.flatnonzero(got == ref)[0]] -= 1
    c = runner.check(got, ref, w)
    assert not c["ok"] and "21 elements off, 20 allowed" in c["why"]

    strict = workloads.get("newton")
    x = rng.uniform(1, 2, 100).astype(np.float32)
    y = x.copy()
    y[7] *= 1.01
    c = runner.check(y, x, strict)
    assert not c["ok"] and "mismatched" not in c and "elements off" not in c["why"]


def test_bench_small_random_workloads(tmp_path, capsys):
    """uniform_50m and dropout run and pass their distribution checks (shape and dtype against
    NumPy's, values by distribution), at the small and the new shape; dropout_mask, the same
    kernel without the draw, is checked by value; no numeric target is judged here."""
    out = tmp_path / "bench.json"
    names = ["uniform_50m", "dropout", "dropout_mask"]
    status = main(["bench", "--small", *(a for n in names for a in ("--only", n)), "--repeats",
                   "2", "--progress", "none", "--no-peers", "--no-fresh-process", "--json",
                   str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "MISMATCH" not in text and "ERROR" not in text
    assert "random draws (uniform_50m, dropout): NumPy's shape and dtype" in text

    results = json.loads(out.read_text())["results"]
    assert [r["name"] for r in results] == names
    for r in results:
        assert r["target_met"] is None, r["name"]
        for impl in ("numpy", "tracefuse"):
            checks = r["impls"][impl]["checks"]
            keys = {"first result", "result after timing", "held first result"}
            keys |= {"new shape"} if impl == "tracefuse" else set()
            assert keys <= set(checks), (r["name"], impl)
            for key in keys:
                c = checks[key]
                assert c["ok"], (r["name"], impl, key, c)
                assert ("compared" in c) == (r["name"] != "dropout_mask"), (r["name"], c)
    assert results[0]["bytes_moved"] is None  # uniform_50m: no floor (write-only)
    assert results[1]["bytes_moved"] == 2 * 64 * 48 * 4 + 8  # dropout: x, out, the key


def test_random_workload_checks_reject_wrong_draws(rng):
    """The distribution checks can fail: uniform draws (4096 of them) that are constant, scaled by 0.9 or
    skewed (u**1.2), and dropout results with a wrong scale, a wrong rate or a mask computed
    from x (dropout_mask's output) are rejected; the right draws (NumPy's) pass."""
    import numpy as np

    from tracefuse.tools.bench import runner, workloads

    uni = workloads.get("uniform_50m")
    inputs = uni.inputs("small")
    ref = uni.numpy(*inputs)
    assert runner.check(ref, ref, uni, inputs)["ok"]
    assert runner.check(uni.compile("numpy")(*inputs), ref, uni, inputs)["ok"]
    for wrong in (np.full_like(ref, 0.5), ref * np.float32(0.9), ref ** np.float32(1.2)):
        c = runner.check(wrong, ref, uni, inputs)
        assert not c["ok"] and c["why"].startswith("distribution: "), c
    assert not runner.check(ref.astype(np.float64), ref, uni, inputs)["ok"]  # dtype
    with pytest.raises(ValueError, match="needs the call's inputs"):
        runner.check(ref, ref, uni)

    drop, mask = workloads.get("dropout"), workloads.get("dropout_mask")
    key, x = drop.inputs("small")
    ref = drop.numpy(key, x)
    assert runner.check(ref, ref, drop, (key, x))["ok"]
    assert runner.check(np.asarray(drop.compile("cpu")(key, x)), ref, drop, (key, x))["ok"]
    other = np.asarray(drop.compile("numpy")(np.array([1, 2], np.uint32), x))
    assert runner.check(other, ref, drop, (key, x))["ok"]  # another key: other draws, also ok
    u = rng.random(x.shape)
    for wrong in (np.where(u > 0.1, x, 0), np.where(u > 0.2, x / np.float32(0.9), 0),
                  mask.numpy(x)):
        c = runner.check(wrong.astype(np.float32), ref, drop, (key, x))
        assert not c["ok"] and c["why"].startswith("distribution: "), c


def test_bench_small_training_step_workloads(tmp_path, capsys):
    """Issue 17: the pure Adam steps; every one of their 19 outputs checked against NumPy."""
    out = tmp_path / "bench.json"
    status = main(["bench", "--small", "--only", "train", "--repeats", "2", "--progress",
                   "none", "--no-peers", "--no-fresh-process", "--json", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "MISMATCH" not in text and "ERROR" not in text
    results = json.loads(out.read_text())["results"]
    assert [r["name"] for r in results] == ["train_digits", "train_mlp1024"]
    for r in results:
        tf = r["impls"]["tracefuse"]
        for key in ("first result", "result after timing", "held first result", "new shape"):
            leaves = tf["checks"][key]["leaves"]
            assert len(leaves) == 1 + 3 * 6 and all(c["ok"] for c in leaves), (key, leaves)


def _stateful_adam_step(inputs):
    """The same step the stateful way: Variables, a tape, tx.optimizers.Adam with its slots
    and iteration count set to the workload's."""
    import tracefuse as tx
    from tracefuse.tools.bench import training_workloads as T

    n = (len(inputs) - 3) // 3
    params = [tx.Variable(p) for p in inputs[:n]]
    x, labels, t = inputs[3 * n:]
    opt = tx.optimizers.Adam(learning_rate=T.LR, beta_1=T.BETA_1, beta_2=T.BETA_2,
                             epsilon=T.EPSILON)
    opt.build(params)
    for var, m, v in zip(params, inputs[n:2 * n], inputs[2 * n:3 * n]):
        opt.slots(var)["momentum"].assign(m)
        opt.slots(var)["velocity"].assign(v)
    opt.iterations.assign(np.int64(t))

    def step(x, labels):
        with tx.GradientTape() as tape:
            loss = T._loss_tx(tuple(params), x, labels)
        opt.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss

    loss = tx.function(step, backend="cpu")(x, labels)
    return ((np.asarray(loss),) + tuple(p.numpy() for p in params)
            + tuple(opt.slots(p)["momentum"].numpy() for p in params)
            + tuple(opt.slots(p)["velocity"].numpy() for p in params))


@pytest.mark.parametrize("name", ["train_digits", "train_mlp1024"])
def test_training_workload_reference_is_adam_and_exact_at_the_kinks(name):
    """The hand-written NumPy step is what tx.optimizers.Adam does with a tape, on fresh inputs
    at a size of its own; and the drawn inputs make every relu input exact in float32 and
    nonzero (float32 and float64 agree bit for bit), as `make_train_step` claims."""
    from tracefuse.tools.bench import workloads

    w = workloads.get(name)
    rng = np.random.default_rng()
    d = {"batch": 9, "widths": (17, 33, 21, 6)}
    inputs = w.make(rng, d)
    ref = w.numpy(*inputs)
    got = _stateful_adam_step(inputs)
    assert len(got) == len(ref) == 19
    for i, (g, r) in enumerate(zip(got, ref)):
        assert g.dtype == r.dtype == np.float32 and g.shape == r.shape, i
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6 * np.abs(r).max(), err_msg=str(i))
    assert not np.allclose(ref[1], inputs[0])  # the step moved the weights

    n = 6
    for size in ("small", "full"):
        inputs = w.inputs(size)
        h32, h64 = inputs[3 * n], inputs[3 * n].astype(np.float64)
        for i in range(0, n - 2, 2):
            z32 = h32 @ inputs[i] + inputs[i + 1]
            z64 = h64 @ inputs[i].astype(np.float64) + inputs[i + 1]
            assert np.array_equal(z32, z64) and (z32 != 0).all(), (size, i)
            h32, h64 = np.maximum(z32, 0), np.maximum(z64, 0)
