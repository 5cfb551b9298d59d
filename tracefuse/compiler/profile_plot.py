"""The pictures of a `Profile` (compiler/profile.py): `Profile.plot()`, a horizontal bar chart of
median time per plan step, and `plot_profiles`, every profile `python -m tracefuse profile
--plot PATH` recorded, a subplot each in one figure. Also `load_matplotlib`, the one place
that imports matplotlib (an optional extra: `pip install 'tracefuse[plot]'`) for these and for
the benchmark's plot (tools/bench/plot.py).

matplotlib is imported here lazily, at the first plot, never when tracefuse is imported. A
figure is made with pyplot only where the caller already imported pyplot (so it shows in a
notebook or at `plt.show()`); otherwise it is a bare `matplotlib.figure.Figure`, drawn by Agg
when saved, and no display or global backend is touched.
"""

from __future__ import annotations

import os
import sys
from typing import Any

INSTALL_HINT = "pip install 'tracefuse[plot]' (or pip install matplotlib)"
BAR_INCHES = 0.42  # height of a bar's row


def load_matplotlib(what: str) -> Any:
    """The `matplotlib` module, or an ImportError saying that `what` needs it and how to get it."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401  (the Figure class new_figure makes)
        import matplotlib.ticker  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{what} draws with matplotlib, which is not installed here: "
                          f"{INSTALL_HINT}", name="matplotlib") from e
    return matplotlib


def check_can_plot(what: str, path: str | os.PathLike) -> None:
    """For a command line, before its long run: matplotlib imports and `path`'s folder exists
    (an ImportError or ValueError that says what to do)."""
    load_matplotlib(what)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {os.fspath(path)}: there is no folder {folder}; make it first")


def new_figure(matplotlib: Any, width: float, height: float) -> Any:
    """A figure of `width` x `height` inches: pyplot's when the caller imported pyplot, else a
    bare Figure (saved by Agg, shown nowhere)."""
    if "matplotlib.pyplot" in sys.modules:
        return sys.modules["matplotlib.pyplot"].figure(figsize=(width, height))
    return matplotlib.figure.Figure(figsize=(width, height))


def shorten_lines(lines: list[str], most: int = 42) -> str:
    """User lines as a short tick label: `mlp.py:5,6; util.py:12`, cut at `most` characters."""
    by_file: dict[str, list[str]] = {}
    for line in lines:
        name, _, number = line.rpartition(":")
        if not name:
            name, number = line, ""
        by_file.setdefault(name, []).append(number)
    text = "; ".join(f"{name}:{','.join(n for n in numbers if n)}".rstrip(":")
                     for name, numbers in by_file.items())
    return text if len(text) <= most else text[: most - 1] + "…"


def _bars(rows: list[dict], top: int) -> list[dict]:
    """The `top` slowest rows (rows are sorted slowest first), the rest summed into one."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"Profile.plot(): top={top!r}; pass a positive int (the number of "
                         "steps drawn; the others are summed into one 'other' bar)")
    total = sum(r["median_s"] for r in rows)
    bars = [{"time": r["median_s"], "tick": shorten_lines(r["lines"]) or r["name"],
             "text": _describe(r, total)} for r in rows[:top]]
    rest = rows[top:]
    if rest:
        time = sum(r["median_s"] for r in rest)
        share = f"  {100 * time / total:.0f}%" if total > 0 else ""
        bars.append({"time": time, "tick": f"other ({len(rest)} step{'s' * (len(rest) > 1)})",
                     "text": f"the other steps, summed{share}"})
    return bars


def _describe(row: dict, total: float) -> str:
    text = f"{row['name']}  {row['kind']}"
    if total > 0:
        text += f"  {100 * row['median_s'] / total:.0f}%"
    if row["gb_per_s"] > 0:  # known: it moved bytes and was timed
        text += f"  {row['gb_per_s']:.3g} GB/s ({row['pct_of_ceiling']:.2g}% of peak)"
    return text


def draw_profile(profile: Any, ax: Any, top: int = 20) -> Any:
    """Draw `profile` on the matplotlib Axes `ax`: a bar per step, slowest at the top, its
    width the step's median time per call in seconds."""
    import matplotlib.ticker

    bars = _bars(profile.rows, top)
    positions = list(range(len(bars)))
    container = ax.barh(positions, [b["time"] for b in bars], color="C0", label="median time")
    ax.bar_label(container, labels=[b["text"] for b in bars], padding=4, fontsize=8)
    ax.set_yticks(positions, [b["tick"] for b in bars], fontsize=8)
    ax.invert_yaxis()  # slowest first, at the top
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(unit="s"))
    ax.set_xlabel("median time per call")
    longest = max((b["time"] for b in bars), default=0.0)
    if longest > 0:
        ax.set_xlim(0, longest * 1.9)  # room for the labels right of the longest bar
    calls = sorted(profile.calls)
    call = calls[len(calls) // 2] if calls else 0.0
    ax.set_title(f"{profile.function} on {profile.backend}: {len(profile.calls)} calls, median "
                 f"call {call * 1e6:.1f} µs; ceiling {profile.ceiling_gb_per_s:.1f} GB/s "
                 f"({profile.device})", fontsize=9, loc="left")
    return ax


def _height(profile: Any, top: int) -> float:
    return BAR_INCHES * (min(len(profile.rows), top) + 1) + 1.0


def _save(figure: Any, path: str | os.PathLike) -> None:
    figure.tight_layout()
    figure.savefig(os.fspath(path), dpi=110)


def plot_profile(profile: Any, path: str | os.PathLike | None = None, ax: Any = None,
                 top: int = 20) -> Any:
    """Profile.plot: draw on `ax` (a new figure when None), save to `path` when given; return
    the Axes."""
    matplotlib = load_matplotlib("Profile.plot()")
    if ax is None:
        ax = new_figure(matplotlib, 11, _height(profile, top)).subplots()
    draw_profile(profile, ax, top)
    if path is not None:
        _save(ax.figure, path)
    return ax


def plot_profiles(profiles: list, path: str | os.PathLike, top: int = 20) -> Any:
    """Every profile in one figure, a subplot each (in the order given), saved to `path`;
    returns the figure."""
    if not profiles:
        raise ValueError("no profiles to plot: no compiled function was called")
    matplotlib = load_matplotlib("python -m tracefuse profile --plot")
    heights = [_height(p, top) for p in profiles]
    figure = new_figure(matplotlib, 11, sum(heights))
    axes = figure.subplots(len(profiles), 1, squeeze=False,
                           gridspec_kw={"height_ratios": heights})[:, 0]
    for p, ax in zip(profiles, axes):
        draw_profile(p, ax, top)
    _save(figure, path)
    return figure
