"""`python -m tracefuse bench --plot PATH` and `--load run.json --plot PATH` (tools/bench/plot.py):
the picture of a real `--small` run (gelu, softmax) is a PNG whose Axes hold a bar per
implementation per workload, each as long as the implementation's ratio to NumPy in the JSON;
a run with a second implementation (the real run's numbers, a peer's entry added) is grouped,
marks a result that failed verification, and goes to a log scale when the ratios span > 20x;
and without matplotlib the command stops before timing anything and says what to install.
Times are whatever the run measured; nothing asserts a time."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys

import pytest

from tracefuse.__main__ import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RUN = ["bench", "--small", "--only", "gelu", "--only", "softmax", "--repeats", "2",
       "--progress", "none", "--no-peers", "--no-fresh-process"]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """A real small run, saved with --json and drawn with --plot in the same command."""
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("bench_plot")
    path, png = folder / "run.json", folder / "run.png"
    assert main([*RUN, "--json", str(path), "--plot", str(png)]) == 0
    return json.loads(path.read_text()), png


def _bars(figure) -> dict[str, list]:
    (ax,) = figure.axes
    return {c.get_label(): list(c) for c in ax.containers}


def test_plot_of_a_real_run_has_a_bar_per_implementation_per_workload(saved_run):
    from tracefuse.tools.bench.plot import plot_run

    doc, png = saved_run
    assert png.read_bytes().startswith(PNG_MAGIC)
    figure = plot_run(doc)
    bars = _bars(figure)
    assert list(bars) == ["tracefuse"]
    ratios = [r["impls"]["tracefuse"]["ratio_vs_numpy"] for r in doc["results"]]
    assert all(ratio > 0 for ratio in ratios)
    assert [b.get_width() for b in bars["tracefuse"]] == pytest.approx(ratios)
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["gelu", "softmax"]
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"{ratio:.3g}x" for ratio in ratios]
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.lines)  # NumPy = 1
    title = ax.get_title(loc="left")
    assert doc["date"] in title and "backend 'cpu'" in title and "--small" in title


def test_load_replots_a_saved_run_without_timing(saved_run, tmp_path, capsys):
    doc, _ = saved_run
    path, png = tmp_path / "saved.json", tmp_path / "again.png"
    path.write_text(json.dumps(doc))
    assert main(["bench", "--load", str(path), "--plot", str(png), "--only", "softmax"]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ")[0] for line in out.splitlines()
            if line.startswith("| ") and "workload" not in line]
    assert rows == ["| softmax"] * 2  # both tables; --only picks from the file
    assert png.read_bytes().startswith(PNG_MAGIC) and f"wrote {png}" in out


def _with_peer(doc: dict, factor: float) -> dict:
    """The real run with tracefuse's ratios set to 1.5 and 2.5 (so that the span is known) and
    a second implementation, `numexpr`, `factor` times tracefuse's ratio on each workload; the
    peer's softmax result marked as not matching NumPy."""
    doc = copy.deepcopy(doc)
    doc["peers"] = ["numexpr"]
    for r, ratio in zip(doc["results"], (1.5, 2.5)):
        r["impls"]["tracefuse"]["ratio_vs_numpy"] = ratio
        peer = copy.deepcopy(r["impls"]["tracefuse"])
        peer["ratio_vs_numpy"] *= factor
        r["impls"]["numexpr"] = peer
    softmax = doc["results"][1]["impls"]["numexpr"]
    softmax["verified"] = False
    softmax["checks"]["first result"] = {"ok": False, "why": "not allclose (a test)"}
    return doc


@pytest.mark.parametrize("factor, log", [(1.5, False), (200.0, True)])
def test_grouped_bars_mark_mismatches_and_switch_to_log(saved_run, factor, log):
    from tracefuse.tools.bench.plot import plot_run

    doc = _with_peer(saved_run[0], factor)
    figure = plot_run(doc)
    bars = _bars(figure)
    assert list(bars) == ["tracefuse", "numexpr"]
    for name in bars:
        want = [r["impls"][name]["ratio_vs_numpy"] for r in doc["results"]]
        assert [b.get_width() for b in bars[name]] == pytest.approx(want)
    # a workload's bars sit together, one bar height apart, tracefuse first
    for tf, peer in zip(bars["tracefuse"], bars["numexpr"]):
        assert peer.get_y() - tf.get_y() == pytest.approx(1.0)
    assert bars["tracefuse"][1].get_y() - bars["numexpr"][0].get_y() > 1.0
    (ax,) = figure.axes
    assert ax.get_xscale() == ("log" if log else "linear")
    assert [b.get_hatch() for b in bars["numexpr"]] == [None, "///"]
    assert all(b.get_hatch() is None for b in bars["tracefuse"])
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "gelu" and "MISMATCH" in ticks[1]
    assert sum("MISMATCH" in t.get_text() for t in ax.texts) == 1


def test_an_implementation_that_raised_has_no_bar_but_says_error(saved_run):
    from tracefuse.tools.bench.plot import plot_run

    doc = _with_peer(saved_run[0], 2.0)
    gelu = doc["results"][0]["impls"]["numexpr"]
    gelu.update(ratio_vs_numpy=None, median_s=None, error="RuntimeError: a test")
    bars = _bars(plot_run(doc))
    assert len(bars["tracefuse"]) == 2 and len(bars["numexpr"]) == 1
    (ax,) = plot_run(doc).axes
    assert "ERROR" in [t.get_text().strip() for t in ax.texts]


def test_without_matplotlib_bench_plot_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    png = tmp_path / "never.png"
    status = main(["bench", "--small", "--only", "gelu", "--plot", str(png)])
    captured = capsys.readouterr()
    assert status == 2 and not png.exists()
    assert "pip install 'tracefuse[plot]'" in captured.err
    assert "| gelu" not in captured.out  # stopped before timing anything
    from tracefuse.tools.bench.plot import plot_run

    with pytest.raises(ImportError, match=r"tracefuse\[plot\]"):
        plot_run({"results": []})


def test_load_of_a_file_that_is_no_run_or_a_missing_folder_says_so(tmp_path, capsys):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"traceEvents": []}))
    assert main(["bench", "--load", str(path)]) == 2
    assert "no 'results' list" in capsys.readouterr().err
    if importlib.util.find_spec("matplotlib") is not None:  # else: matplotlib's error first
        missing = tmp_path / "no_such_folder" / "run.png"
        assert main(["bench", "--load", str(path), "--plot", str(missing)]) == 2
        assert "there is no folder" in capsys.readouterr().err
