"""The picture of a benchmark run: `python -m tracefuse bench --plot PATH` (after timing) and
`python -m tracefuse bench --load run.json --plot PATH` (a run saved earlier with `--json`).

`plot_run(doc, path)` draws one grouped horizontal bar chart from the run's document (the dict
report.py builds and writes as JSON): a group per workload, in it a bar per implementation
other than NumPy (tracefuse, then numexpr and jax when the run had them) whose length is its
speed ratio to NumPy eager (NumPy time / its time: > 1 is faster), a dashed reference line at
NumPy = 1, the ratio written at each bar's end, a log scale when the ratios span more than
LOG_SPAN, and the title naming the date, machine, backend and peer versions. A result that
failed verification is hatched and its label says MISMATCH, and its workload's name says so
too; an implementation that raised has no bar, only the word ERROR.

matplotlib (an optional extra, `pip install 'tracefuse[plot]'`) is imported at the first plot
through compiler/profile_plot.py's `load_matplotlib`; the figure is a bare Figure saved by Agg:
no display is opened and pyplot is never imported.
"""

from __future__ import annotations

import os
from typing import Any

from ...compiler.profile_plot import load_matplotlib
from . import report

LOG_SPAN = 20.0  # largest ratio / smallest ratio beyond which the axis is logarithmic
BAR_INCHES = 0.26  # height of one bar


def implementations(doc: dict) -> list[str]:
    """The implementations drawn, in order: tracefuse, the run's peers, then any other found."""
    names = ["tracefuse"] + [p for p in doc.get("peers", []) if p != "tracefuse"]
    for r in doc["results"]:
        names += [n for n in r["impls"] if n != "numpy" and n not in names]
    return names


def _title(doc: dict) -> str:
    o, m, v = doc["options"], doc["machine"], doc.get("versions", {})
    peers = ", ".join(f"{p} {v[p]}" if p in v else p for p in doc.get("peers", [])) or "none"
    sizes = "--small sizes (times mean nothing)" if o.get("small") else "full sizes"
    return (f"tracefuse bench: speed ratio to NumPy eager (NumPy time / its time; > 1 is faster)"
            f"\n{doc['date']}; {m['platform']}, {m['cpus']} CPUs\n"
            f"tracefuse {v.get('tracefuse', '')} backend {o['backend']!r}, numpy "
            f"{v.get('numpy', '?')}; peers: {peers}; {sizes}")


def plot_run(doc: dict, path: str | os.PathLike | None = None) -> Any:
    """Draw the run `doc` (report.document's dict, or its JSON read back); save it to `path`
    when given. Returns the matplotlib Figure; its one Axes holds a BarContainer per
    implementation, labelled with its name, in the order of `implementations(doc)`."""
    matplotlib = load_matplotlib("the benchmark plot (tools/bench/plot.py)")
    names = implementations(doc)
    results = doc["results"]
    group = BAR_INCHES * len(names) + 0.3
    figure = matplotlib.figure.Figure(figsize=(10, 1.9 + group * max(1, len(results))))
    ax = figure.subplots()
    ratios = [im["ratio_vs_numpy"] for r in results for im in r["impls"].values()
              if im.get("ratio_vs_numpy")]
    log = bool(ratios) and max(ratios) / min(ratios) > LOG_SPAN
    centres = [i * group / BAR_INCHES for i in range(len(results))]  # in bar heights
    for k, name in enumerate(names):
        offset = k - (len(names) - 1) / 2
        ys, widths, labels, hatches = [], [], [], []
        for r, centre in zip(results, centres):
            im = r["impls"].get(name)
            if im is None:
                continue  # this implementation has no version of the workload
            if not im.get("ratio_vs_numpy"):
                ax.text(1, centre + offset, " ERROR" if im.get("error") else " no ratio",
                        va="center", fontsize=7, color="C3")
                continue
            ok = report.impl_ok(r, name)
            ys.append(centre + offset)
            widths.append(im["ratio_vs_numpy"])
            labels.append(f"{im['ratio_vs_numpy']:.3g}x" + ("" if ok else " MISMATCH"))
            hatches.append(not ok)
        bars = ax.barh(ys, widths, height=0.9, color=f"C{k}", label=name)
        for patch, bad in zip(bars, hatches):
            if bad:
                patch.set_hatch("///")
                patch.set_edgecolor("C3")
        ax.bar_label(bars, labels=labels, padding=3, fontsize=7)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1, label="NumPy = 1")
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(min(ratios), 1.0) / 2, max(max(ratios), 1.0) * 4)
    else:
        ax.set_xlim(0, max(ratios + [1.0]) * 1.25)
    ticks = [r["name"] + ("" if all(report.impl_ok(r, n) for n in r["impls"]) else
                          "\n(MISMATCH)") for r in results]
    ax.set_yticks(centres, ticks, fontsize=8)
    for tick, r in zip(ax.get_yticklabels(), results):
        if not all(report.impl_ok(r, n) for n in r["impls"]):
            tick.set_color("C3")
    edge = len(names) / 2 + 0.2
    ax.set_ylim(centres[-1] + edge if centres else edge, -edge)  # the first workload on top
    ax.set_xlabel("speed ratio to NumPy eager" + (" (log scale)" if log else ""))
    ax.set_title(_title(doc), fontsize=8, loc="left")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    if path is not None:
        figure.tight_layout()
        figure.savefig(os.fspath(path), dpi=110)
    return figure
