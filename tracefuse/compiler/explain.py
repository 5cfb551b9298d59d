"""Why a Function traces again: the differences between two keys, the `RetraceLog` that warns
when a function keeps retracing, and the text of `f.explain(...)`.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import deque
from typing import Any

from .. import config
from ..errors import RetraceWarning
from ..tracer import pytree
from .signature import Key, fmt_leaf

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def differences(old: Key | None, new: Key) -> list[str]:
    """What changed from `old` to `new`, one line per change: `x: shape (3,) -> (5,)`."""
    if old is None:
        return []
    changes = []
    if old.backend is not new.backend:
        changes.append(f"backend: {old.backend.name} -> {new.backend.name}")
    if old.options != new.options:
        changes.append(f"options: {old.options} -> {new.options}")
    if old.names != new.names:
        changes.append(f"arguments: ({', '.join(old.names)}) -> ({', '.join(new.names)})")
    else:
        o_it, n_it = iter(old.leaves), iter(new.leaves)
        for name, o_sub, n_sub in zip(new.names, old.treedef[1:], new.treedef[1:]):
            o_part = [next(o_it) for _ in range(pytree.num_leaves(o_sub))]
            n_part = [next(n_it) for _ in range(pytree.num_leaves(n_sub))]
            if o_sub != n_sub:
                changes.append(f"{name}: structure {pytree.describe(o_sub)} -> "
                               f"{pytree.describe(n_sub)}")
                continue
            for path, a, b in zip(pytree.leaf_paths(n_sub, name), o_part, n_part):
                if a == b:
                    continue
                if a[1:] == b[1:]:
                    changes.append(f"{path}: shape {a[0]} -> {b[0]}")
                elif a[0] == b[0] and not a[2] and not b[2]:
                    changes.append(f"{path}: dtype {a[1]} -> {b[1]}")
                else:
                    changes.append(f"{path}: {fmt_leaf(a)} -> {fmt_leaf(b)}")
    if old.variables != new.variables:
        paths = [p for name, sub in zip(new.names, new.treedef[1:])
                 for p in pytree.leaf_paths(sub, name)]
        o_vars = {i: (trainable, first) for i, trainable, first in old.variables}
        n_vars = {i: (trainable, first) for i, trainable, first in new.variables}
        for i in sorted(set(o_vars) | set(n_vars)):
            a, b = o_vars.get(i), n_vars.get(i)
            if a == b or i >= len(paths):
                continue
            if a is None or b is None:
                kinds = ("an array", "a tx.Variable") if a is None else ("a tx.Variable", "an array")
                changes.append(f"{paths[i]}: {kinds[0]} -> {kinds[1]}")
            elif a[0] != b[0]:
                changes.append(f"{paths[i]}: a Variable with trainable={a[0]} -> trainable={b[0]}")
            else:
                changes.append(f"{paths[i]}: the same Variable as {paths[a[1]]} -> "
                               f"the same as {paths[b[1]]}")
    o_map = {n: (t, v) for n, t, v in old.static}
    for name, t, v in new.static:
        if name in o_map and o_map[name] != (t, v):
            changes.append(f"{name}: static value {o_map[name][1]!r} -> {v!r}")
    return changes


def fusion_refusals(cf: Any) -> tuple:
    """Why the fuser kept ops apart in this concrete function (the one place that reads it)."""
    return cf.fusion_refusals


def _user_stacklevel() -> int:
    """The `stacklevel` for warnings.warn, called from here, that names the user's line."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


class RetraceLog:
    """Counts calls and remembers the last retraces; warns (RetraceWarning) when a function
    retraced RETRACE_LIMIT times within its last RETRACE_WINDOW calls, at most once a window.
    A cache hit costs one increment (`hit`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.retraces: deque = deque(maxlen=config.RETRACE_WINDOW)  # (call number, changes)
        self.last_warning = -(10**9)

    def hit(self) -> None:
        self.calls += 1

    def traced(self, changes: list[str]) -> None:
        """A call (or lower) that traced; `changes`: what differs from the previous key."""
        self.calls += 1
        if changes:
            self.retraces.append((self.calls, changes))
        self._maybe_warn()

    def _maybe_warn(self) -> None:
        window = config.RETRACE_WINDOW
        recent = [c for n, c in self.retraces if n > self.calls - window]
        if len(recent) < config.RETRACE_LIMIT or self.calls - self.last_warning < window:
            return
        self.last_warning = self.calls
        counts: dict[str, int] = {}
        for changes in recent:
            for c in changes:
                what = c.split(":")[0]
                counts[what] = counts.get(what, 0) + 1
        example = recent[-1][0]
        changing = ", ".join(f"{k} ({n} times)" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        warnings.warn(
            f"{self.name} has retraced {len(recent)} times in its last "
            f"{min(self.calls, window)} calls; what keeps changing: {changing} (latest: "
            f"{example}). Every retrace traces and compiles again. Keep shapes and dtypes fixed "
            "(pad or bucket sizes), pass numbers that change as Python scalars or arrays rather "
            "than static arguments, or fix the signature with "
            "input_signature=[tx.TensorSpec(...)].",
            RetraceWarning, stacklevel=_user_stacklevel())


def explain_text(name: str, key: Key, cache: dict, trace_count: int) -> str:
    """The text of `f.explain(...)` for a call with `key`, given the cache of concrete
    functions (key -> ConcreteFunction)."""
    lines = []
    cf = cache.get(key)
    if cf is not None:
        lines.append(f"{name}: cache hit: concrete function traced for ({cf.signature}), "
                     f"backend {cf.backend}")
    elif not cache:
        lines.append(f"{name}: would trace: nothing traced yet (first call)")
    else:
        best = min((differences(k, key) for k in cache), key=len)
        lines.append(f"{name}: would retrace: no concrete function matches; compared "
                     f"with the closest of {len(cache)} cached:")
        lines.extend(f"  {c}" for c in best or ["argument structure or keyword names changed"])
    variables = cf.variables if cf is not None else []
    if variables:
        lines.append(f"variables: {len(variables)} (by reference: their values are read and "
                     "written back at each call, and a new value never retraces)")
        lines.extend(f"  {v}" for v in variables)
    reason = key.backend.unavailable()
    if reason:
        lines.append(f"backend: {reason}")
    elif cf is not None:
        lines.extend(f"note: {n}" for n in cf.lowered.notes)
        refusals = fusion_refusals(cf)
        lines.append(f"fusion refusals: {len(refusals)}")
        lines.extend(f"  {r}" for r in refusals)
        lines.append(f"generated kernel sources: {len(cf.kernels)} (cf.kernels)")
    lines.append(f"traces so far: {trace_count}")
    return "\n".join(lines)
