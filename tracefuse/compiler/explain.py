"""Why a Function traces again: the differences between two keys, the `RetraceLog` that warns
when a function keeps retracing, and the text of `f.explain(...)` (for a call with dask
arrays: how the call is partitioned for Dask).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import deque
from typing import Any

from .. import config
from ..errors import RetraceWarning
from ..ir import OpCode
from ..tracer import pytree
from .dask_partition import reduced_axes
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


# --- calls with dask arrays ----------------------------------------------------------------
def _ops_by_line(ops: list) -> str:
    """`exp, subtract (model.py:12); reduce_sum (model.py:13)`: ops grouped by user line."""
    groups: list[tuple[str, list[str]]] = []
    for op in ops:
        where = op.loc.short() if op.loc is not None else "?"
        if not groups or groups[-1][0] != where:
            groups.append((where, []))
        groups[-1][1].append(op.code.value)
    return "; ".join(f"{', '.join(names)} ({where})" for where, names in groups)


def dask_explain_text(name: str, part: Any, leaves: list) -> str:
    """The text of `f.explain(...)` for a call with dask arrays: how the traced graph is
    partitioned (`part`, a dask_partition.Partition): the axis labels and their chunks, then
    each step in order: dask arguments (and their rechunks), NumPy values, tree reductions,
    blocked matmuls and blockwise regions with their ops' user lines."""
    find, L = part.labels.find, part.labels
    classes: dict[int, str] = {}
    chunks: dict[int, tuple] = {}
    for i, v in enumerate(part.graph.inputs):
        for a, c in zip(part.axes[v], part.dask_chunks.get(i, ())):
            chunks.setdefault(find(a), c)

    def axes(v) -> str:
        names = [classes.setdefault(find(a), _label_name(len(classes))) for a in part.axes[v]]
        return f"{v.type.dtype.name}[{', '.join(names)}]"

    for v in part.graph.inputs:  # the arguments' axes named first: a, b, ...
        axes(v)
    steps = part.plan()
    number = {v: k + 1 for k, v in enumerate(steps)}

    def ref(v) -> str:
        return f"[{number[v]}]" if v in number else "a NumPy scalar"

    lines = [f"{name}: on dask arrays, {len(steps)} steps (dask builds them lazily; "
             "each runs on every chunk, on any scheduler):"]
    for k, v in enumerate(steps, 1):
        kind, op = part.kind(v), part.producer.get(v)
        if kind == "input":
            i = part.graph.inputs.index(v)
            text = f"dask argument {i}: {axes(v)}"
            if i in part.rechunk_axes:
                text += (f", rechunked into one chunk along axis "
                         f"{', '.join(map(str, part.rechunk_axes[i]))} (rechunk=True: a row op)")
        elif kind == "eager":
            text = f"NumPy value {axes(v)} (computed at the call, one chunk)"
        elif kind == "tree" and op.code in (OpCode.ARGMAX, OpCode.ARGMIN):
            text = (f"tree reduction (da.{op.code.value}): {op.code.value} of "
                    f"{ref(op.inputs[0])} over axes {tuple(sorted(reduced_axes(op)))} -> "
                    f"{axes(v)} ({op.loc.short() if op.loc else '?'})")
        elif kind == "tree" and op in part.moment_sums:
            text = (f"sum of {ref(op.inputs[0])} over axes {tuple(sorted(reduced_axes(op)))} "
                    f"-> {axes(v)} ({op.loc.short() if op.loc else '?'}): count * mean from "
                    f"the moments of {ref(part.moment_sums[op].output)} (no second read)")
        elif kind == "tree":
            moments = op in part.moments
            made = part.moments[op] if moments else op.inputs[0]
            ops, operands = part.members(made)
            of = ref(made) if not ops else (
                f"{axes(made)} from {', '.join(ref(u) for u in operands)}")
            fused = (f", fused with the {len(ops)} op{'s' if len(ops) > 1 else ''} making "
                     f"its operand: {_ops_by_line(ops)}") if ops else ""
            over = f"over axes {tuple(sorted(reduced_axes(op)))}"
            where = op.loc.short() if op.loc else "?"
            text = (f"one-pass variance (da.reduction): the squared deviations from the mean "
                    f"of {of}, summed {over} -> {axes(v)} ({where}); its chunk step one "
                    f"compiled function per chunk giving (count, mean, M2){fused}; Chan's "
                    "pairwise combine compiled too (the operand is read once)") if moments else (
                    f"tree reduction (da.reduction): {op.code.value} of {of} {over} -> "
                    f"{axes(v)} ({where}); its chunk step one compiled function per "
                    f"chunk{fused}; combine and aggregate compiled too")
        elif kind == "matmul":
            a, b = op.inputs
            ka, kb = part.axes[a][-1], part.axes[b][0 if len(b.type.shape) == 1 else -2]
            text = (f"blocked matmul (da.matmul): {ref(a)} {axes(a)} @ {ref(b)} {axes(b)} -> "
                    f"{axes(v)}, contracting {classes[find(ka)]} with {classes[find(kb)]} "
                    f"(dask aligns their chunks) ({op.loc.short() if op.loc else '?'})")
        else:
            ops, operands = part.members(v)
            reads = ", ".join(ref(u) for u in operands)
            text = (f"blockwise region (da.blockwise, one compiled function per chunk) of "
                    f"{len(ops)} op{'s' if len(ops) > 1 else ''} on {reads} -> {axes(v)}: "
                    f"{_ops_by_line(ops)}")
        lines.append(f"  [{k}] {text}")
    lines.append("results: " + ", ".join(ref(v) for v in part.graph.outputs))
    lines.append("axes:")
    for c, label in classes.items():
        size = L.size[c]
        if c in part.rechunked:
            how = f"one chunk (rechunked from {L.n_chunks[c]} chunks for a row op)"
        elif c in chunks and len(chunks[c]) > 1:
            how = f"{len(chunks[c])} chunks {_short(chunks[c])}"
        else:
            how = "one chunk"
        lines.append(f"  {label} = {size}, {how}")
    return "\n".join(lines)


def _label_name(k: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[k] if k < 26 else f"a{k}"


def _short(chunks: tuple) -> str:
    return str(chunks) if len(chunks) <= 6 else f"({chunks[0]}, {chunks[1]}, ..., {chunks[-1]})"
