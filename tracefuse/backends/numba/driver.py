"""Compiled loop drivers: a `scan` or `while` region step of the cpu backend run as ONE Numba
function, the whole loop inside it, instead of plan.py's Python loop over the body's runner.

The Python loop (plan.py `ScanStep` / `WhileStep`) costs several µs per iteration: the body's
generated runner, its read-only views, Numba's dispatch type checks per kernel call, the host
read of a while's predicate. When every step of the region's plans (the body; a while's cond too)
can run in Numba's nopython mode, `driver_source` generates one module instead: each body kernel's
source with its function renamed (`k0`, `k1`, ...) and `def driver(...)`,
`@njit(cache=True, nogil=True)`, which

- copies the initial carries (the results then never share memory with an argument, zero
  trips included) and allocates the ys (`np.empty`, stacked on axis 0);
- per iteration: slices each x (`xs[t]`; reverse: t from length-1 down to 0), runs the body's
  plan step by step as straight-line code (input views, `np.empty` results, the kernel called
  directly, matmul as `np.dot` on contiguous operands, the movement ops as Numba views), copies a
  body result the plan says may share memory with an argument (as the body's runner does), then
  writes `ys[t]` and replaces the carries;
- for a while: runs the cond plan the same way and reads its bool inside the loop.

The same kernels run in the same order on the same values, so the results are those of the
Python loop: `np.dot` calls BLAS as NumPy's matmul does (measured bit-identical for the 1-D/2-D
float32 and float64 shapes it takes; a plain loop was 10 % slower on the 64-wide recurrence and
rounds differently). Result shapes are literals of the source (one driver per shape, cached on
disk by source); kernel sizes, kernel constants and the plans' own constants are arguments (a
literal size let LLVM re-plan a `reassoc` reduction once the kernel was inlined: 1 ulp off).
Values that die within an iteration (`scratch`) are allocated once, before the loop.

What it refuses (the region step keeps the Python loop; `refusal` says why, and the backend
puts it in `f.explain()`): `cond` (no loop), a nested region, a float16 kernel (run by NumPy), a
library op other than matmul and the views (concat, argmax, ...), matmul outside 1-D/2-D
float32/float64 of the result's dtype (Numba's `np.dot` takes only those), and a large kernel
(`backend.is_large`: 2^16 elements of work or more). Measured on the `newton` workload (a while
over 1M float32): the Python loop 2.7 ms, a driver with serial kernels 15 ms, with the parallel
kernels 11 ms (a fresh 4 MB result per iteration page-faults where the Python loop's buffer
pool reuses one, and the dispatch it saves is a few µs per iteration). So every kernel inside a
driver is small, and small kernels are compiled serially (a parallel kernel's fork/join per
iteration would cost more than its work).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir import OpCode
from ..base import loop_extent
from ..plan import CONSTANT, KERNEL, OP, Plan, Step, constant_value

G = OpCode
VIEW_OPS = frozenset({G.RESHAPE, G.PERMUTE, G.BROADCAST_TO, G.SLICE})
LOOPS = frozenset({G.SCAN, G.WHILE})
DOT_DTYPES = frozenset({"float32", "float64"})


@dataclass(frozen=True)
class Driver:
    """A region step's compiled loop: the module `source` (its function `driver`) and the
    values passed after the step's inputs at every call (the plans' constants and the kernels'
    constant scalars, in argument order)."""

    source: str
    extra: tuple


def refusal(step: Step) -> str | None:
    """Why region step `step` cannot run as a driver (None: it can)."""
    op = step.op
    if op.code not in LOOPS:
        return f"{op.code.value} runs one branch per call: no loop to compile"
    for plan in step.regions:
        for s in plan.constants + plan.steps:
            why = _step_refusal(s)
            if why:
                return why
    return None


def _step_refusal(s: Step) -> str | None:
    if s.kind is CONSTANT:
        return None
    if s.kind is KERNEL:
        if s.kernel.large or s.kernel.parallel:
            return (f"its kernel @{s.op.attrs['name']} is large ({loop_extent(s.kernel.loop)}): "
                    "the Python loop's dispatch is small next to it, and it keeps parallel "
                    "loops and pooled buffers")
        return None
    if s.kind is OP:
        code = s.op.code
        if code in VIEW_OPS:
            return None
        if code is G.MATMUL:
            a, b = (v.type for v in s.op.inputs)
            d = s.op.output.type.dtype.name
            if (d in DOT_DTYPES and a.dtype.name == d and b.dtype.name == d
                    and a.ndim in (1, 2) and b.ndim in (1, 2)):
                return None
            return (f"a matmul of {a} and {b} (the driver's np.dot takes 1-D/2-D float32 or "
                    "float64 operands of the result's dtype)")
        return f"its body has a {code.value} op, which Numba does not run here"
    if s.kind == "body":
        return "a kernel of its body runs with NumPy (float16)"
    return f"its body holds a nested {s.op.code.value} (nested loops run as Python loops)"


def _dtype(d) -> str:
    name = np.dtype(d).name
    return "np.bool_" if name == "bool" else f"np.{name}"


class _Source:
    """The driver's source, built line by line: argument names, the kernel modules, the
    constants passed as arguments."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.extra: list = []
        self.kernels: list[str] = []  # renamed kernel function sources
        self.imports: dict[str, None] = {}
        self.counter = 0

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}{self.counter}"

    def constant(self, value) -> str:
        name = f"e{len(self.extra)}"
        self.extra.append(value)
        return name

    def kernel(self, source: str) -> str:
        """The name of a body kernel (`source`: its module from render_module) in the driver's
        module: imports merged, `def kernel(` renamed."""
        name = f"k{len(self.kernels)}"
        head, sep, body = source.partition("\n\n\n")
        if not sep:
            raise ValueError("driver: a kernel module without its imports/function separator")
        for line in head.splitlines():
            if line.startswith(("import ", "from ")):
                self.imports[line] = None
        self.kernels.append(body.strip("\n").replace("def kernel(", f"def {name}(", 1))
        return name


def scratch(plan: Plan) -> set[tuple[int, int]]:
    """(step index, result index) of each kernel or matmul result of `plan` that lives within
    one iteration: not an output of the plan, read only by kernels and matmuls (which never
    return a view of an operand). The driver allocates those once, before the loop, and the
    step writes into the same buffer every iteration; the rest are fresh arrays."""
    producer: dict[int, tuple[int, int]] = {}  # slot -> the step result it holds now
    readers: dict[tuple[int, int], list[Step]] = {}
    for i, s in enumerate(plan.steps):
        for slot in s.ins:
            if slot in producer:
                readers[producer[slot]].append(s)
        for j, slot in enumerate(s.outs):
            producer[slot] = (i, j)
            readers[(i, j)] = []
    escaping = {producer[slot] for slot in plan.outputs if slot in producer}
    local = set()
    for (i, j), rs in readers.items():
        s = plan.steps[i]
        if (i, j) in escaping or not (s.kind is KERNEL or s.op.code is G.MATMUL):
            continue
        if s.op.code is G.MATMUL and s.op.output.type.ndim == 0:
            continue
        if all(r.kind is KERNEL or r.op.code is G.MATMUL for r in rs):
            local.add((i, j))
    return local


def _plan_lines(src: _Source, plan: Plan, inputs: list[str], indent: str,
                setup: list[str], into: dict[int, str] | None = None
                ) -> tuple[list[str], list[str]]:
    """Straight-line Numba code of `plan` with its inputs in the variables `inputs`: (lines,
    the expression of each output); `setup` gets the lines that allocate its scratch buffers
    (`scratch`), run once before the loop. Every result gets a new name (Numba types each
    variable once: the plan's slot reuse would give one name two types). Outputs the plan says
    may share memory with an input or a constant are copied, as the body's runner does.
    `into` maps an output position to an array expression (a scan's `y[t]`): the kernel that
    computes that output writes there instead of into a new array."""
    env: dict[int, str] = dict(enumerate(inputs))
    lines: list[str] = []
    for s in plan.constants:  # made once at load: driver arguments
        value = constant_value(s.op)
        for slot in s.outs:
            env[slot] = src.constant(value)
    kept = scratch(plan)
    # output slot -> where its kernel writes it (the first position given one; an output that
    # is copied, as it may alias an input, gets none). Its other positions (a carry) then
    # refer to that array: the driver copies carries at the end.
    copied = {c.position for c in plan.copies}
    last: dict[int, tuple[int, int]] = {}  # slot -> the step result it holds at the end
    for i, s in enumerate(plan.steps):
        for j, slot in enumerate(s.outs):
            last[slot] = (i, j)
    dest: dict[tuple[int, int], str] = {}  # (step, result) -> where it is written
    for p, e in (into or {}).items():
        if p not in copied and plan.outputs[p] in last:
            dest.setdefault(last[plan.outputs[p]], e)
    for i, s in enumerate(plan.steps):
        ins = [env[k] for k in s.ins]
        if s.kind is KERNEL:
            outs = []
            for j, v in enumerate(s.op.outputs):
                name = src.fresh("o")
                alloc = f"{name} = np.empty({v.type.shape!r}, {_dtype(v.type.dtype.np)})"
                if (i, j) in dest:
                    alloc = f"{name} = {dest[(i, j)]}"
                    lines.append(f"{indent}{alloc}")
                elif (i, j) in kept:
                    setup.append(f"    {alloc}")
                else:
                    lines.append(f"{indent}{alloc}")
                outs.append(name)
            _kernel_lines(src, s, ins, outs, lines, indent)
        elif s.op.code is G.MATMUL:
            out = s.op.output.type
            name = src.fresh("m")
            dot = (f"np.dot(np.ascontiguousarray({ins[0]}), "
                   f"np.ascontiguousarray({ins[1]})")
            if (i, 0) in kept:  # into its buffer
                setup.append(f"    {name} = np.empty({out.shape!r}, {_dtype(out.dtype.np)})")
                lines.append(f"{indent}{dot}, {name})")
            elif out.ndim == 0:  # vector . vector: Numba's np.dot gives a scalar
                lines.append(f"{indent}{name} = np.empty((), {_dtype(out.dtype.np)})")
                lines.append(f"{indent}{name}[()] = {dot})")
            else:
                lines.append(f"{indent}{name} = {dot})")
            outs = [name]
        else:
            name = src.fresh("w")
            lines.append(f"{indent}{name} = {_view(s.op, ins[0])}")
            outs = [name]
        env.update(zip(s.outs, outs))
    results = [env[s] for s in plan.outputs]
    for c in plan.copies:
        name = src.fresh("r")
        lines.append(f"{indent}{name} = {results[c.position]}.copy()")
        results[c.position] = name
    return lines, results


def _view(op, x: str) -> str:
    """A movement op as a Numba expression (a view where NumPy's is one; reshape of a
    non-contiguous array copies, as NumPy's does)."""
    attrs = op.attrs
    if op.code is G.RESHAPE:
        return f"np.ascontiguousarray({x}).reshape({tuple(attrs['shape'])!r})"
    if op.code is G.PERMUTE:
        return f"np.transpose({x}, {tuple(attrs['axes'])!r})"
    if op.code is G.BROADCAST_TO:
        return f"np.broadcast_to({x}, {tuple(attrs['shape'])!r})"
    index = []  # G.SLICE, as numpy_impl's _slice
    for start, size, step in zip(attrs["starts"], attrs["sizes"], attrs["steps"]):
        stop = start + size * step
        index.append(f"{start}:{'None' if stop < 0 else stop}:{step}")
    return f"{x}[{', '.join(index)}]" if index else x


def _kernel_lines(src: _Source, s: Step, ins: list[str], outs: list[str], lines: list[str],
                  indent: str) -> None:
    """The call of a kernel step into the arrays `outs`, as backend.py's runner makes it:
    input views, `x[()]` for 0-d inputs, `o.reshape(1)` for 0-d results, loop sizes,
    constants."""
    k = s.kernel.loop
    fn = src.kernel(s.kernel.source)
    local = dict(zip(k.inputs, ins))
    for view in k.views:
        name = src.fresh("v")
        lines.append(f"{indent}{name} = {_view(view, local[view.inputs[0]])}")
        local[view.output] = name
    args = [f"{local[v]}[()]" if v.type.ndim == 0 else local[v] for v in k.arrays]
    args += [f"{o}.reshape(1)" if v.type.ndim == 0 else o for v, o in zip(s.op.outputs, outs)]
    # sizes as arguments, not literals: a literal lets LLVM re-plan a reduction's order
    # (fastmath 'reassoc') once the kernel is inlined, and the sum would round differently
    args += [src.constant(np.intp(k.sizes[a])) for a in k.outer + k.reduced]
    for c in k.constants:
        node = k.nodes[c]
        args.append(src.constant(node.dtype.np.type(node.value)))
    lines.append(f"{indent}{fn}({', '.join(args)})")


def driver_source(step: Step) -> Driver:
    """The driver of region step `step` (a scan or a while that `refusal` accepts)."""
    why = refusal(step)
    if why:
        raise ValueError(f"driver_source: this {step.op.code.value} cannot run as a compiled "
                         f"loop ({why}); call refusal(step) first and keep the Python loop")
    op, src = step.op, _Source()
    n = op.attrs["num_carries"]
    n_in = len(op.inputs)
    params = [f"a{i}" for i in range(n_in)]
    carries = [f"c{i}" for i in range(n)]
    body: list[str] = [f"    {c} = a{i}.copy()" for i, c in enumerate(carries)]
    setup: list[str] = []  # scratch buffers, allocated before the loop
    if op.code is G.SCAN:
        m, length = op.attrs["num_xs"], op.attrs["length"]
        xs, consts = params[n:n + m], params[n + m:]
        ys = [f"y{j}" for j in range(len(op.outputs) - n)]
        for y, v in zip(ys, op.outputs[n:]):
            body.append(f"    {y} = np.empty({v.type.shape!r}, {_dtype(v.type.dtype.np)})")
        body.append(f"    for i in range({length}):")
        body.append(f"        t = {length - 1} - i" if op.attrs["reverse"] else "        t = i")
        slices = []
        for x, v in zip(xs, op.inputs[n:n + m]):
            name = f"x{x[1:]}"
            # xs[t] of a 1-D x is a scalar in Numba: a 1-element slice keeps it a 0-d array
            body.append(f"        {name} = {x}[t:t + 1].reshape(())" if v.type.ndim == 1
                        else f"        {name} = {x}[t]")
            slices.append(name)
        (plan,) = step.regions
        # each y's row is where its kernel writes (no new array, no copy per step)
        rows = {n + j: (f"{y}[t:t + 1].reshape(())" if v.type.ndim == 1 else f"{y}[t]")
                for j, (y, v) in enumerate(zip(ys, op.outputs[n:]))}
        lines, results = _plan_lines(src, plan, carries + slices + consts, "        ", setup,
                                     into=rows)
        body += lines
        for y, r, row in zip(ys, results[n:], rows.values()):
            if r.startswith("o") and any(line.endswith(f"{r} = {row}") for line in lines):
                continue  # written in place
            body.append(f"        {y}[t] = {r}")
        outputs = carries + ys
    else:
        consts = params[n:]
        cond, plan = step.regions
        body.append("    while True:")
        lines, (pred,) = _plan_lines(src, cond, carries + consts, "        ", setup)
        body += lines
        body.append(f"        if not {pred}[()]:")
        body.append("            break")
        lines, results = _plan_lines(src, plan, carries + consts, "        ", setup)
        body += lines
        outputs = carries
    if n:
        body.append(f"        {', '.join(carries)}, = {', '.join(results[:n])},")
    if op.code is G.SCAN and n:
        # a carry may be a row of a y (written in place): the results do not share memory
        outputs = [f"{c}.copy()" for c in carries] + outputs[n:]
    body.append(f"    return ({''.join(o + ', ' for o in outputs)})")
    loop = next(k for k, line in enumerate(body) if line.startswith(("    for ", "    while ")))
    body[loop:loop] = setup
    extra = [f"e{i}" for i in range(len(src.extra))]
    text = ["# generated by tracefuse: a compiled loop driver", "import numpy as np",
            "from numba import njit, prange", *[i for i in src.imports
                                                 if i not in ("import numpy as np",
                                                              "from numba import njit, prange")]]
    for kernel in src.kernels:
        text += ["", "", kernel]
    text += ["", "", "@njit(cache=True, nogil=True, error_model='numpy')",
             f"def driver({', '.join(params + extra)}):"] + body
    return Driver("\n".join(text) + "\n", tuple(src.extra))


class DriverStep:
    """A region step run by its compiled driver: arrays in, a list of fresh arrays out (the
    contract of plan.py's region steps)."""

    def __init__(self, fn, extra: tuple):
        self.fn, self.extra = fn, extra

    def __call__(self, inputs) -> list:
        return list(self.fn(*inputs, *self.extra))
