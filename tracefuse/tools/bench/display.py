"""The progress display of `python -m tracefuse bench`, on stderr (the table goes to stdout).

`make_display()` picks `rich` when it imports, else `tqdm`, else plain lines; neither package is
a dependency of tracefuse. Every display has the same five calls: `workload(i, n, name)` when a
workload starts, `phase(text)` for what it does now, `fraction(f)` for how far the current phase
is (0..1), `log(text)` for a line that must stay visible (a mismatch), and `close()`.
"""

from __future__ import annotations

import sys
import time


class PlainDisplay:
    """One line per phase; during a long phase, a line at most every `every` seconds."""

    def __init__(self, stream=None, every: float = 5.0):
        self.stream = stream or sys.stderr
        self.every = every
        self._prefix = ""
        self._phase = ""
        self._last = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def workload(self, i: int, n: int, name: str) -> None:
        self._prefix = f"[{i}/{n}] {name}"
        self._print(self._prefix)

    def phase(self, text: str) -> None:
        self._phase = text
        self._last = time.monotonic()
        self._print(f"  {text}")

    def fraction(self, f: float) -> None:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._print(f"  {self._phase}: {100 * min(f, 1.0):.0f}%")

    def log(self, text: str) -> None:
        self._print(text)

    def close(self) -> None:
        pass


class TqdmDisplay:
    def __init__(self, tqdm):
        self._tqdm = tqdm
        self._bar = None
        self._prefix = ""

    def workload(self, i: int, n: int, name: str) -> None:
        self.close()
        self._prefix = f"[{i}/{n}] {name}"
        self._bar = self._tqdm(total=1000, desc=self._prefix, file=sys.stderr, leave=False,
                               bar_format="{desc}: {bar} {elapsed}")

    def phase(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_description_str(f"{self._prefix}: {text}")
            self._bar.n = 0
            self._bar.refresh()

    def fraction(self, f: float) -> None:
        if self._bar is not None:
            self._bar.n = int(1000 * min(max(f, 0.0), 1.0))
            self._bar.refresh()

    def log(self, text: str) -> None:
        self._tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class RichDisplay:
    def __init__(self, rich_progress, console):
        p = rich_progress
        self._progress = p.Progress(p.SpinnerColumn(), p.TextColumn("{task.description}"),
                                    p.BarColumn(), p.TaskProgressColumn(), p.TimeElapsedColumn(),
                                    console=console, transient=True)
        self._progress.start()
        self._overall = None
        self._task = None
        self._prefix = ""

    def workload(self, i: int, n: int, name: str) -> None:
        if self._overall is None:
            self._overall = self._progress.add_task("workloads", total=n)
        self._progress.update(self._overall, completed=i - 1, description=f"workload {i}/{n}")
        self._prefix = name
        if self._task is None:
            self._task = self._progress.add_task(name, total=1.0)
        self._progress.update(self._task, completed=0, description=name)

    def phase(self, text: str) -> None:
        self._progress.update(self._task, completed=0, description=f"{self._prefix}: {text}")

    def fraction(self, f: float) -> None:
        self._progress.update(self._task, completed=min(max(f, 0.0), 1.0))

    def log(self, text: str) -> None:
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        self._progress.stop()


def make_display(kind: str = "auto"):
    """`kind`: "auto" (rich, else tqdm, else plain), "rich", "tqdm" or "plain"."""
    if kind in ("auto", "rich"):
        try:
            import rich.progress
            from rich.console import Console

            return RichDisplay(rich.progress, Console(stderr=True))
        except ImportError:
            if kind == "rich":
                raise
    if kind in ("auto", "tqdm"):
        try:
            from tqdm import tqdm

            return TqdmDisplay(tqdm)
        except ImportError:
            if kind == "tqdm":
                raise
    return PlainDisplay()
