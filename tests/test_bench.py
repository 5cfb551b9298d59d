"""Smoke test of the benchmark runner (`python -m tracefuse bench`): tiny sizes, two workloads,
in-process, and a gradient workload whose result is a tuple (mlp_grad). It checks the table's
rows and that every result was verified against NumPy (a tuple array by array); it never
asserts a time."""

import json

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
