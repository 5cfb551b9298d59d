"""`f.profile(*args, repeat=10, **kwargs)` -> `Profile`: where a compiled call spends its time,
step by step of its execution plan, and the Chrome / Perfetto trace of those steps.

A row per step of the plan (backends/plan.py): each fused kernel, each library op (matmul and
the other BLAS steps, sort, linalg, fft, views) and each control-flow region (timed whole: its
loop and every iteration). A row has the step's name, its kind, the user's lines its ops came
from (ops carry `loc`), calls, median and total time, bytes read and written (the sizes of the
step's input and output values: what a kernel reads and writes once; a view moves nothing but
is counted the same), GB/s = (read + written) / median and that as a percentage of the
device's measured copy bandwidth (`bandwidth_ceiling`: measured once per machine and cached).

The call runs once untimed (compiles, warms caches), then `repeat` times on a timed executable
(backends/profiling.py) made for this profile only: normal calls never pay for the timers.
Assigned Variables are not written back: profiling changes no state.

`python -m tracefuse profile script.py` turns on `config.record_profiles`: each concrete
function loaded from then on runs a timed executable (`recording_executable`) that records
every call the script makes, and `recorded_profiles()` makes their Profiles at exit.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backends.base import user_lines
from ..backends.plan import BODY, KERNEL, REGION, Plan, Step, region_graphs
from ..backends.profiling import bandwidth_ceiling, timed_executable
from ..ir import Graph, OpCode
from ..ir.opcodes import REGIONS
from .profile_plot import plot_profile

KINDS = {KERNEL: "kernel", BODY: "kernel (op by op)", REGION: "control flow"}


def _nbytes(values: Sequence) -> int:
    return sum(int(np.prod(v.type.shape, dtype=np.int64)) * v.type.dtype.np.itemsize
               for v in values)


def _graph_lines(graph: Graph) -> set[str]:
    """The user lines of every op of `graph`, its kernels' bodies and its regions' graphs."""
    lines = set()
    for op in graph.ops:
        if op.loc.line:
            lines.add(op.loc.short())
        if op.code is OpCode.KERNEL:
            lines |= _graph_lines(op.attrs["body"])
        if op.code in REGIONS:
            for g in region_graphs(op):
                lines |= _graph_lines(g)
    return lines


def describe_step(step: Step) -> dict:
    """A row's static part: name, kind, user lines, bytes read and written."""
    op = step.op
    if step.kind is KERNEL or step.kind is BODY:
        name, lines = f"@{op.attrs['name']}", user_lines(op)
        kind = f"{KINDS[step.kind]} {op.attrs['kind']}"
    elif step.kind is REGION:
        name, kind = op.code.value, KINDS[REGION]
        lines = set().union(*(_graph_lines(g) for g in region_graphs(op)))
        lines = sorted(lines | ({op.loc.short()} if op.loc.line else set()))
    else:
        # a library `call` (sort, linalg, fft...) is named by the function it calls
        name = str(op.attrs["fn"]) if op.code is OpCode.CALL else op.code.value
        kind = "library"
        lines = [op.loc.short()] if op.loc.line else []
    return {"name": name, "kind": kind, "lines": list(lines),
            "bytes_read": _nbytes(op.inputs), "bytes_written": _nbytes(op.outputs)}


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


class Profile:
    """Per-step times of `repeat` calls of one concrete function (see the module docstring).
    `rows`: a list of dicts sorted by median time, slowest first; `str(profile)` the table;
    `save_chrome_trace(path)` the trace; `plot()` a bar chart; `calls` the per-call wall times
    (seconds)."""

    def __init__(self, function: str, backend: str, plan: Plan,
                 events: list[tuple[int, float, float]], calls: list[float],
                 ceiling: tuple[str, float]):
        self.function, self.backend = function, backend
        self.device, self.ceiling_gb_per_s = ceiling
        self.events, self.calls = events, calls
        self.pid, self.tid = os.getpid(), threading.get_native_id()
        self._steps = [describe_step(step) for step in plan.steps]
        times: dict[int, list[float]] = {}
        for i, start, end in events:
            times.setdefault(i, []).append(end - start)
        rows = []
        for i, info in enumerate(self._steps):
            spent = times.get(i, [])
            median = statistics.median(spent) if spent else 0.0
            moved = info["bytes_read"] + info["bytes_written"]
            rate = moved / median / 1e9 if median > 0 else 0.0
            rows.append({**info, "step": i, "calls": len(spent), "median_s": median,
                         "total_s": sum(spent), "gb_per_s": rate,
                         "pct_of_ceiling": 100 * rate / self.ceiling_gb_per_s})
        self.rows = sorted(rows, key=lambda r: -r["median_s"])

    def __str__(self) -> str:
        total = sum(r["median_s"] for r in self.rows)
        call = statistics.median(self.calls) if self.calls else 0.0
        head = (f"profile of {self.function} on {self.backend}: {len(self.calls)} calls, median "
                f"call {call * 1e6:.1f} us, its steps {total * 1e6:.1f} us; bandwidth "
                f"ceiling {self.ceiling_gb_per_s:.1f} GB/s (measured copy)")
        table = [("time us", "%", "calls", "read", "written", "GB/s", "% peak", "step", "kind",
                  "lines")]
        for r in self.rows:
            share = 100 * r["median_s"] / total if total > 0 else 0.0
            table.append((f"{r['median_s'] * 1e6:.1f}", f"{share:.0f}", str(r["calls"]),
                          _size(r["bytes_read"]), _size(r["bytes_written"]),
                          f"{r['gb_per_s']:.3g}", f"{r['pct_of_ceiling']:.2g}", r["name"],
                          r["kind"],
                          ", ".join(r["lines"]) or "-"))
        widths = [max(len(row[c]) for row in table) for c in range(len(table[0]) - 1)]
        lines = [head]
        for row in table:
            cells = [cell.rjust(w) if c < 7 else cell.ljust(w)
                     for c, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells + [row[-1]]).rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Profile {self.function} on {self.backend}: {len(self.rows)} steps>"

    def trace_events(self) -> list[dict]:
        """Chrome trace events: a complete ("X") event per step call (microseconds from the
        first step), on this process and thread, and the names of both ("M")."""
        origin = min((start for _, start, _ in self.events), default=0.0)
        out = [{"name": "process_name", "ph": "M", "pid": self.pid, "tid": self.tid,
                "args": {"name": f"tracefuse {self.function} ({self.backend})"}},
               {"name": "thread_name", "ph": "M", "pid": self.pid, "tid": self.tid,
                "args": {"name": "plan steps"}}]
        for i, start, end in self.events:
            info = self._steps[i]
            out.append({"name": info["name"], "cat": info["kind"], "ph": "X",
                        "ts": (start - origin) * 1e6, "dur": (end - start) * 1e6,
                        "pid": self.pid, "tid": self.tid,
                        "args": {"step": i, "lines": info["lines"],
                                 "bytes_read": info["bytes_read"],
                                 "bytes_written": info["bytes_written"]}})
        return out

    def plot(self, path: str | os.PathLike | None = None, ax: Any = None, top: int = 20) -> Any:
        """A horizontal bar chart of median time per step, slowest at the top: the `top`
        slowest steps, the rest summed into one "other" bar; each bar labelled with the step's
        name, kind, GB/s and % of the ceiling, its tick with the user lines. Draws on the
        matplotlib Axes `ax` (a new figure when None), saves to `path` when given, returns the
        Axes. Needs matplotlib: pip install 'tracefuse[plot]' (compiler/profile_plot.py)."""
        return plot_profile(self, path=path, ax=ax, top=top)

    def save_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the trace as Chrome's JSON (open in chrome://tracing or ui.perfetto.dev)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"traceEvents": self.trace_events(), "displayTimeUnit": "ns"}, f)


def profile_concrete(cf: Any, leaves: list, repeat: int) -> Profile:
    """`repeat` timed calls of concrete function `cf` on a call's dynamic leaves."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"{cf.function.__name__}.profile(): repeat={repeat!r}; pass a "
                         "positive int (the number of timed calls)")
    arrays = cf.leaf_arrays(leaves)
    if cf.reads:
        arrays += cf.read_arrays()
    events: list[tuple[int, float, float]] = []
    run = timed_executable(cf.key.backend, cf.lowered, cf.load(), events.append)
    run(list(arrays))  # compiles and warms; not counted
    events.clear()
    calls = []
    clock = time.perf_counter
    for _ in range(repeat):
        start = clock()
        run(list(arrays))
        calls.append(clock() - start)
    return _profile_of(cf, events, calls)


def _profile_of(cf: Any, events: list, calls: list[float]) -> Profile:
    return Profile(cf.function.__name__, cf.backend, cf.lowered.plan, events, calls,
                   bandwidth_ceiling(cf.key.backend))


_recorded: list[tuple[Any, list, list[float]]] = []  # (concrete function, events, call times)


def recording_executable(cf: Any, executable: Any) -> Callable[[Sequence], list]:
    """`executable` (cf's loaded one) timed, step by step and whole, at every call; recorded
    for `recorded_profiles` (python -m tracefuse profile)."""
    events: list[tuple[int, float, float]] = []
    calls: list[float] = []
    _recorded.append((cf, events, calls))
    timed = timed_executable(cf.key.backend, cf.lowered, executable, events.append)
    clock = time.perf_counter

    def run(arrays: Sequence) -> list:
        start = clock()
        out = timed(arrays)
        calls.append(clock() - start)
        return out
    return run


def recorded_profiles() -> list[Profile]:
    """A Profile of each concrete function recorded since the last call that was called, in
    order of loading; the record is emptied (a second `profile` run in the same process starts
    afresh)."""
    taken = list(_recorded)
    _recorded.clear()
    return [_profile_of(cf, events, calls) for cf, events, calls in taken if calls]
