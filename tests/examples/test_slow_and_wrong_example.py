"""examples/slow_and_wrong.py, the worked example of the user guide's chapter "When it is slow,
when it is wrong": what the chapter claims of it, on the cpu backend. The first version traces
once per row count; the masked one once; on float16 its first kernel runs op by op (and the
loss is NaN, which f.check finds is the arithmetic's, not the compiler's); on float32, f.check
names the kernel of the cancelling variance and its lines; the fixed loss equals NumPy's
float64 loss; TRACEFUSE_CHECK raises tx.CheckError. No test asserts a time."""

from __future__ import annotations

import importlib.util
import inspect
import contextlib
import io
import json
import os
import sys

import numpy as np
import pytest

import tracefuse as tx

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "slow_and_wrong.py")


@pytest.fixture
def example():
    """The example module, loaded afresh (its compiled functions have traced nothing yet)."""
    spec = importlib.util.spec_from_file_location("slow_and_wrong", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with tx.config.backend("cpu"):
        yield module


def lines_of(fn) -> list[str]:
    """`slow_and_wrong.py:N` for each line of `fn`'s body."""
    source, first = inspect.getsourcelines(fn)
    return [f"slow_and_wrong.py:{first + i}" for i in range(1, len(source))]


def test_the_first_version_traces_once_per_row_count(example):
    data = example.make_data()
    counts = [int((labels >= 0).sum()) for _, labels in example.batches_of(data)]
    assert len(set(counts)) == 9, counts  # two of the ten batches have 455 labelled rows
    result = example.epoch_v1(data)
    assert result["calls"] == 10 and result["traces"] == 9
    assert result["warnings"] and "x (5 times)" in result["warnings"][0]
    explained = example.explain_short_batch(data, rows=300)
    assert "would retrace" in explained
    assert f"x: shape ({counts[0]}, 256) -> (300, 256)" in explained
    # float16 readings around 1000: x * x overflows (65504 is float16's largest)
    assert all(np.isnan(result["losses"]))


def test_the_masked_version_traces_once_and_float16_runs_op_by_op(example):
    data = example.make_data(batches=3)
    result = example.epoch(example.loss_v2, data, data["x"])
    assert result["traces"] == 1 and len(result["losses"]) == 3
    batch16 = example.first_batch(data, data["x"])
    slow = example.loss_v2.profile(*batch16, repeat=2)
    op_by_op = [r for r in slow.rows if r["kind"].startswith("kernel (op by op)")]
    assert len(op_by_op) == 1
    assert op_by_op[0]["lines"] == lines_of(example.standardize_naive)
    assert "run by NumPy (float16)" in example.loss_v2.explain(*batch16)
    # the NaN loss is the arithmetic's: the reference interpreter gets it too
    assert np.isnan(result["losses"]).all()
    assert example.loss_v2.check(*batch16).ok

    x32 = data["x"].astype(np.float32)
    fast = example.loss_v2.profile(*example.first_batch(data, x32), repeat=2)
    kinds = sorted(r["kind"] for r in fast.rows)
    assert kinds == ["kernel reduction", "kernel row", "kernel row", "library"]
    assert example.loss_v2.trace_count == 2  # float16, then float32
    assert np.isfinite(example.epoch(example.loss_v2, data, x32)["losses"]).all()


def test_check_names_the_kernel_and_lines_of_the_cancelling_variance(example):
    data = example.make_data(batches=1)
    batch = example.first_batch(data, data["x"].astype(np.float32))
    report = example.loss_v2.check(*batch)
    assert not report.ok
    assert report.kernel.name.startswith("kernel @") and "row" in report.kernel.name
    assert report.kernel.lines == lines_of(example.standardize_naive)
    assert report.max_rel_error > 1e-3  # far beyond float32's default rtol of 1e-5
    assert lines_of(example.standardize_naive)[1] in str(report)
    fixed = example.loss_v3.check(*batch)
    assert fixed.ok, str(fixed)

    expected = example.reference_loss(*batch)
    assert float(example.loss_v3(*batch)) == pytest.approx(expected, rel=1e-6)
    assert abs(float(example.loss_v2(*batch)) / expected - 1) > 1e-5
    # the formula is fine with float64's digits: only float32 lacks them
    batch64 = (batch[0].astype(np.float64),) + batch[1:]
    assert float(example.loss_v2(*batch64)) == pytest.approx(expected, rel=1e-12)


def test_check_mode_raises_check_error_naming_the_kernel(example, monkeypatch):
    monkeypatch.delenv("TRACEFUSE_CHECK", raising=False)
    data = example.make_data(batches=1)
    batch = example.first_batch(data, data["x"].astype(np.float32))
    message = example.check_mode_error(batch)
    assert message is not None and "TRACEFUSE_CHECK=1 stopped this call of loss_v2" in message
    assert lines_of(example.standardize_naive)[1] in message
    assert not tx.config.check_calls()  # off again, as TRACEFUSE_CHECK says


def test_main_prints_each_part_and_writes_the_trace(example, tmp_path, capsys, monkeypatch):
    trace = tmp_path / "trace.json"
    monkeypatch.setattr(sys, "argv", ["slow_and_wrong.py", "--trace", str(trace)])
    example.main()
    out = capsys.readouterr().out
    for part in ("loss_v1 traced 9 times", "RetraceWarning: loss_v1 has retraced",
                 "kernel (op by op) row", "run by NumPy (float16)",
                 "check of loss_v2 on cpu: kernel @", "check of loss_v3 on cpu: ok",
                 "TRACEFUSE_CHECK=1 stopped this call"):
        assert part in out, part
    events = json.loads(trace.read_text())["traceEvents"]
    steps = [e for e in events if e["ph"] == "X"]
    assert len(steps) == 4 * 20  # four plan steps, twenty timed calls
    assert {e["name"] for e in steps} >= {"@k0", "matmul"}


GUIDE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "user-guide.md")
CHAPTER = "## When it is slow, when it is wrong"


def chapter_code_blocks() -> list[str]:
    """The ```python blocks of the guide's chapter, in order."""
    with open(GUIDE, encoding="utf-8") as f:
        text = f.read()
    chapter = text[text.index(CHAPTER):]
    end = chapter.find("\n## ", len(CHAPTER))
    chapter = chapter if end < 0 else chapter[:end]
    return [block.split("```", 1)[0] for block in chapter.split("```python\n")[1:]]


def test_the_guides_code_blocks_run_in_order(tmp_path, monkeypatch):
    """The chapter's blocks, run in one session started in examples/, print what it says."""
    monkeypatch.syspath_prepend(os.path.dirname(EXAMPLE))
    monkeypatch.chdir(tmp_path)  # the Chrome trace is written here
    monkeypatch.delitem(sys.modules, "slow_and_wrong", raising=False)
    blocks = chapter_code_blocks()
    assert len(blocks) >= 8
    namespace: dict = {}
    printed = io.StringIO()  # the blocks' prints, apart from pytest's capture of the test
    with tx.config.backend("cpu"), pytest.warns(tx.RetraceWarning, match="loss_v1 has retraced"), \
            contextlib.redirect_stdout(printed):
        for block in blocks:
            exec(compile(block, "user-guide.md", "exec"), namespace)
    out = printed.getvalue()
    assert namespace["loss_v1"].trace_count == 9
    assert namespace["loss_v2"].trace_count == 3  # float16, float32, float64
    assert namespace["loss_v3"].trace_count == 1
    for claim in ("1 nan", "x: shape (449, 256) -> (300, 256)", "kernel (op by op) row",
                  "check of loss_v2 on cpu: ok", "check of loss_v2 on cpu: kernel @k0 (row)",
                  "True 3.23071"):
        assert claim in out, claim
    assert json.loads((tmp_path / "loss_v2.json").read_text())["traceEvents"]
