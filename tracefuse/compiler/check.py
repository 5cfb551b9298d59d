"""`f.check(...)` and `TRACEFUSE_CHECK=1`: the compiled graph, kernel by kernel, against the
reference interpreter, and the `CheckReport` that names the first kernel that disagrees.

How a check runs, for one call's arguments:

1. The reference: the fused graph (the one the backend runs) evaluated op by op with the NumPy
   table of `ir.numpy_impl` (a kernel's body op by op, a control-flow op's graphs by the
   interpreter), keeping the value of every graph value.
2. Kernel by kernel: each op of the fused graph that computes something (a `kernel`, a library
   op such as matmul, a view, a `cond` / `while` / `scan`; not the constants) is lowered alone
   by the function's backend (a one-op graph: the kernel source the backend generates for it),
   loaded, and run on the reference's values of its inputs; its outputs are compared with the
   reference's values of the same graph values. The first op in graph order that differs
   beyond tolerance is the one reported: its name, its ops and their user lines, the largest
   absolute and relative errors, and the element that shows it.
3. The whole function: the traced graph (before any pass) on the reference interpreter against
   the backend's whole compiled executable. When every kernel agrees but the results do not
   (a pass changed the meaning, or the plan runs the kernels wrongly), that is reported.

Tolerances (`default_tolerance`): ints and bools exactly; floats (complex: per component) with
`|got - expected| <= atol + rtol * |expected|`, where rtol is 2e-3 for float16, 1e-5 for
float32 and 1e-12 for float64, and atol, unless given, is rtol times the largest finite
magnitude of the expected array (an error is measured against the array's scale, so a sum that
cancels to near zero is not a mismatch). NaN must be NaN where the reference has NaN, and an
infinity the same infinity.

A check assigns no Variable (the reference and the kernels run on copies of their buffers).
`perturb_outputs` is the test-only hook: tests monkeypatch it to make one kernel's compiled
output wrong and see it named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CheckError, Loc, user_location, with_location
from ..ir import NUMPY_IMPL, Graph, Op, OpCode
from ..ir.numpy_impl import MULTI_RESULT, evaluate_graph
from ..ir.opcodes import SOURCES
from ..backends.plan import region_graphs

G = OpCode

# relative tolerance per floating dtype (complex: its component's)
RTOL = {"float16": 2e-3, "float32": 1e-5, "float64": 1e-12}


def perturb_outputs(op: Op, outputs: list) -> list:
    """Test-only hook: what a kernel's compiled outputs become before they are compared (here
    unchanged). Tests monkeypatch it to break one kernel on purpose."""
    return outputs


def default_tolerance(dtype: np.dtype) -> float:
    """The default rtol of a dtype: 0 (exact) for ints and bools."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        dtype = np.dtype(dtype.char.lower())  # F -> f, D -> d
    return RTOL.get(dtype.name, 0.0) if dtype.kind == "f" else 0.0


@dataclass
class Mismatch:
    """Where one output differs: its position, the element, expected and got values, errors."""

    output: int
    index: tuple
    expected: Any
    got: Any
    max_abs_error: float
    max_rel_error: float
    reason: str = ""


@dataclass
class KernelCheck:
    """One checked op of the fused graph: a kernel, a library op or a control-flow op."""

    name: str
    ops: list[str]
    lines: list[str]
    mismatch: Mismatch | None = None

    @property
    def ok(self) -> bool:
        return self.mismatch is None


@dataclass
class CheckReport:
    """What `f.check(...)` returns: `ok`, the first op that differs (`kernel`: its `name`,
    `ops`, `lines`, `mismatch`), every op checked (`checked`), and `str(report)` for people."""

    function: str
    backend: str
    checked: list[KernelCheck] = field(default_factory=list)
    kernel: KernelCheck | None = None  # the first that differs
    rtol: float | None = None
    atol: float | None = None

    @property
    def ok(self) -> bool:
        return self.kernel is None

    @property
    def max_abs_error(self) -> float:
        return self.kernel.mismatch.max_abs_error if self.kernel else 0.0

    @property
    def max_rel_error(self) -> float:
        return self.kernel.mismatch.max_rel_error if self.kernel else 0.0

    @property
    def index(self) -> tuple | None:
        return self.kernel.mismatch.index if self.kernel else None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = f"check of {self.function} on {self.backend}: "
        if self.ok:
            return head + (f"ok: all {len(self.checked)} checked (kernels, library and "
                           "control-flow ops) agree with the reference interpreter")
        k, m = self.kernel, self.kernel.mismatch
        lines = [head + f"{k.name} differs from the reference interpreter",
                 f"  ops: {', '.join(k.ops)}",
                 f"  from: {', '.join(k.lines) or 'no user line recorded'}",
                 f"  output {m.output}, element {list(m.index)}: expected {m.expected!r}, "
                 f"got {m.got!r}" + (f" ({m.reason})" if m.reason else ""),
                 f"  max abs error {m.max_abs_error:.3g}, max rel error {m.max_rel_error:.3g}"]
        before = sum(1 for c in self.checked if c.ok)
        lines.append(f"  ({before} checked before it agree)")
        return "\n".join(lines)

    __repr__ = __str__


# --- comparing arrays ------------------------------------------------------------------------
def compare(expected: Any, got: Any, rtol: float | None, atol: float | None,
            output: int = 0) -> Mismatch | None:
    """None when `got` equals `expected` within tolerance, else where and by how much not."""
    e, g = np.asarray(expected), np.asarray(got)
    if e.shape != g.shape or e.dtype != g.dtype:
        return Mismatch(output, (), f"{e.dtype.name}{list(e.shape)}",
                        f"{g.dtype.name}{list(g.shape)}", np.inf, np.inf, "dtype or shape")
    if e.size == 0:
        return None
    if e.dtype.kind == "c":
        for part in (np.real, np.imag):
            m = compare(part(e), part(g), rtol, atol, output)
            if m is not None:
                m.expected, m.got = e[m.index].item(), g[m.index].item()
                return m
        return None
    if e.dtype.kind not in "fc":
        bad = e != g
        if not bad.any():
            return None
        i = np.unravel_index(int(np.argmax(bad)), e.shape)
        diff = np.abs(e.astype(np.float64) - g.astype(np.float64))
        return Mismatch(output, tuple(map(int, i)), e[i].item(), g[i].item(),
                        float(diff.max()), float((diff / np.maximum(np.abs(e), 1)).max()),
                        "integers compare exactly")
    e64, g64 = e.astype(np.float64), g.astype(np.float64)
    rtol = default_tolerance(e.dtype) if rtol is None else rtol
    finite = np.isfinite(e64)
    if atol is None:
        atol = rtol * float(np.abs(e64[finite]).max()) if finite.any() else 0.0
    with np.errstate(all="ignore"):
        both = finite & np.isfinite(g64)
        diff = np.where(both, np.abs(e64 - g64), 0.0)
        rel = np.where(both, diff / np.maximum(np.abs(e64), np.finfo(np.float64).tiny), 0.0)
        excess = np.where(both, diff - (atol + rtol * np.abs(e64)), -1.0)
    special = ~finite | ~np.isfinite(g64)
    special_bad = special & ~((np.isnan(e64) & np.isnan(g64)) | (e64 == g64))
    if special_bad.any():
        i = np.unravel_index(int(np.argmax(special_bad)), e.shape)
        reason = "NaN or infinity where the reference has another value"
    elif (excess > 0).any():
        i = np.unravel_index(int(np.argmax(excess)), e.shape)
        reason = ""
    else:
        return None
    return Mismatch(output, tuple(map(int, i)), e[i].item(), g[i].item(),
                    float(diff.max()) if not special_bad.any() else np.inf,
                    float(rel.max()) if not special_bad.any() else np.inf, reason)


# --- what a checked op is called, and where it came from -------------------------------------
def _all_ops(graph: Graph) -> list[Op]:
    """The ops of a graph and of the graphs inside its ops (kernel bodies, regions)."""
    ops: list[Op] = []
    for op in graph.ops:
        if op.code is G.KERNEL:
            ops += _all_ops(op.attrs["body"])
        elif op.code in (G.COND, G.WHILE, G.SCAN):
            for g in region_graphs(op):
                ops += _all_ops(g)
        else:
            ops.append(op)
    return ops


def describe(op: Op) -> KernelCheck:
    """The name, ops and user lines of one op of the fused graph."""
    if op.code is G.KERNEL:
        inner = _all_ops(op.attrs["body"])
        name = f"kernel @{op.attrs['name']} ({op.attrs['kind']})"
    elif op.code in (G.COND, G.WHILE, G.SCAN):
        inner = [o for g in region_graphs(op) for o in _all_ops(g)]
        name = f"{op.code.value}"
    else:
        inner = [op]
        name = f"op {op.code.value}"
    lines = sorted({o.loc.short() for o in inner + [op] if o.loc.line},
                   key=lambda s: (s.rsplit(":", 1)[0], int(s.rsplit(":", 1)[1])))
    return KernelCheck(name, [o.code.value for o in inner], lines)


# --- running --------------------------------------------------------------------------------
def _host(a: Any) -> np.ndarray:
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _reference_values(graph: Graph, arrays: Sequence[np.ndarray]) -> dict:
    """Every value of `graph` evaluated with the NumPy table."""
    env = dict(zip(graph.inputs, arrays))
    with np.errstate(all="ignore"):
        for op in graph.ops:
            result = NUMPY_IMPL[op.code]([env[v] for v in op.inputs],
                                         [v.type for v in op.inputs], op.attrs,
                                         op.outputs[0].type if op.outputs else None)
            if len(op.outputs) != 1 or op.code in MULTI_RESULT:
                env.update(zip(op.outputs, result))
            else:
                env[op.outputs[0]] = result
    return {v: np.asarray(a) for v, a in env.items()}


def _run_alone(backend: Any, options: Any, op: Op, env: dict) -> list[np.ndarray]:
    """`op` lowered alone by `backend` and run on the reference's values of its inputs."""
    inputs = tuple(dict.fromkeys(op.inputs))  # an input used twice is one graph input
    graph = Graph(inputs, (op,), op.outputs, name=f"check_{op.code.value}")
    executable = backend.load(backend.lower(graph, options))
    arrays = [env[v].copy() for v in inputs]
    if backend.device == "gpu":
        import cupy  # only with the gpu backend, which needs it anyway
        arrays = [cupy.asarray(a) for a in arrays]
    outs = [_host(o) for o in executable(arrays)]
    return perturb_outputs(op, outs)


def check_concrete(cf: Any, leaves: Sequence[Any], rtol: float | None = None,
                   atol: float | None = None) -> CheckReport:
    """Check one concrete function on one call's leaves (see the module docstring)."""
    backend = cf.key.backend
    arrays = [_host(a) for a in cf.arrays(leaves)]
    if cf.reads:
        arrays += [_host(a) for a in cf.read_arrays()]
    report = CheckReport(cf.function.__name__, backend.name, rtol=rtol, atol=atol)
    graph = cf.graph
    env = _reference_values(graph, [a.copy() for a in arrays])
    for op in graph.ops:
        if op.code in SOURCES or not op.inputs:
            continue
        entry = describe(op)
        got = _run_alone(backend, cf.key.options, op, env)
        for i, (v, g) in enumerate(zip(op.outputs, got)):
            entry.mismatch = compare(env[v], g, rtol, atol, i)
            if entry.mismatch is not None:
                break
        report.checked.append(entry)
        if not entry.ok:
            report.kernel = entry
            return report
    # the whole function: the traced graph on the reference against the whole executable
    traced = cf.stage_graph("traced")
    with np.errstate(all="ignore"):
        expected = evaluate_graph(traced, [a.copy() for a in arrays])
    got = cf.load()(_device_arrays(backend, [a.copy() for a in arrays]))
    whole = KernelCheck("the whole compiled function (every kernel agreed alone)",
                        sorted({o.code.value for o in _all_ops(graph)}),
                        sorted({o.loc.short() for o in _all_ops(traced) if o.loc.line}))
    for i, (e, g) in enumerate(zip(expected, got)):
        whole.mismatch = compare(e, _host(g), rtol, atol, i)
        if whole.mismatch is not None:
            report.checked.append(whole)
            report.kernel = whole
            break
    return report


def _device_arrays(backend: Any, arrays: list) -> list:
    if backend.device == "gpu":
        import cupy
        return [cupy.asarray(a) for a in arrays]
    return arrays


def raise_on_mismatch(report: CheckReport, loc: Loc | None = None) -> None:
    """`TRACEFUSE_CHECK=1`: a CheckError naming the kernel and the user's call."""
    if not report.ok:
        raise CheckError(with_location(
            f"{report}\nTRACEFUSE_CHECK=1 stopped this call of {report.function}: its compiled "
            "code disagrees with the reference interpreter beyond the tolerance. If the lines "
            "above subtract nearly equal numbers or overflow, both results are rounding noise: "
            "rewrite them (the user guide's 'When it is slow, when it is wrong') or widen "
            "TRACEFUSE_CHECK_RTOL / TRACEFUSE_CHECK_ATOL. Otherwise run it with "
            "backend=\"numpy\" to go on, and report the kernel above (f.lower(...).kernels "
            "shows its source)",
            loc if loc is not None else user_location()))
