"""Tracing a Python function into a `ConcreteFunction`: tracers for the key's inputs, the
user's function run under the tracer, the pass pipeline, the backend's `lower`, and the dump
folder (`TRACEFUSE_DUMP_DIR`).

Dump files: `<name>.<trace>.<NN>.<stage>.ir` for the IR after tracing and after each pass
(each one parses back: `python -m tracefuse ir FILE`), then `<name>.<trace>.<NN>.kernel<i>` +
the backend's `source_suffix` for each generated kernel's source (`.py` Numba for cpu, `.cu`
CUDA C for gpu and gpu-sim; the numpy backend generates none).

Variables: the trace captures them by reference (`GraphBuilder(by_reference=True)`, see
tracer/tracer.py). A Variable argument is passed to the function as a stand-in Variable bound to
that argument's input (`variable.stand_in`), so the concrete function serves any Variable of
that type; the Variables it closes over are read from and written to at every call.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np

from .. import config
from ..errors import (BackendUnavailableError, ConcretizationError, DTypeError, Loc, user_location,
                      with_location)
from ..frontend.device import is_gpu_array
from ..frontend.tensor import Tensor
from ..frontend.variable import Variable, stand_in
from ..ir import TensorType, print_graph
from ..ir import dtypes as dt
from ..ir.convert import PY_SCALARS
from ..ir.printer import sanitize_name
from ..passes import build_pipeline, dump_stages, run_pipeline
from ..tracer import pytree
from ..tracer.tracer import GraphBuilder, Tracer, tracing
from .autograph import why_not_converted
from .autograph.runtime import Undefined
from .concrete import ConcreteFunction
from .signature import Key, Signature

RESULT_TYPES = (Tracer, Tensor, Variable, np.ndarray, np.generic) + PY_SCALARS


def none_paths(names: tuple, treedef: Any) -> list[str]:
    """The argument paths that are None (empty pytree nodes), for error hints."""
    out: list[str] = []

    def walk(td: Any, prefix: str) -> None:
        if td == pytree.LEAF:
            return
        kind = td[0]
        if kind == "none":
            out.append(prefix)
        elif kind in ("tuple", "list"):
            for i, c in enumerate(td[1:]):
                walk(c, f"{prefix}[{i}]")
        elif kind == "dict":
            for k, c in zip(td[1], td[2:]):
                walk(c, f"{prefix}[{k!r}]")
        elif kind == "namedtuple":
            for name, c in zip(td[1]._fields, td[2:]):
                walk(c, f"{prefix}.{name}")

    for name, sub in zip(names, treedef[1:]):
        walk(sub, name)
    return out


def definition_location(fn: Any) -> Loc | None:
    """Where the Python function is defined (for errors about what it returned)."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return Loc(code.co_filename, code.co_firstlineno) if code is not None else None


def trace(function: Any, signature: Signature, key: Key,
          need_device: bool = True) -> ConcreteFunction:
    """Trace `function.traced_function` (AutoGraph's conversion of the Python function) for
    `key`, optimize, lower (and dump); counts one trace in `function.trace_count`. With
    need_device=False (`f.lower`), the backend's device need not be here: nothing is loaded."""
    name = function.__name__
    backend = key.backend
    reason = backend.unavailable() if need_device else None
    if reason is not None:
        raise BackendUnavailableError(reason)
    paths = signature.paths(key.names, key.treedef)
    in_types = []
    for path, (shape, dtype, weak) in zip(paths, key.leaves):
        try:
            in_types.append(TensorType(shape, dt.as_dtype(dtype), weak))
        except TypeError as e:
            raise DTypeError(with_location(f"{name}(): argument {path}: {e}",
                                           user_location())) from None
    builder = GraphBuilder(sanitize_name(name), backend.device, by_reference=True)
    tracers: list = [builder.new_input(t) for t in in_types]
    arguments: dict[int, int] = {}  # id(stand-in Variable) -> its argument leaf
    for i, trainable, first in key.variables:
        if first == i:
            t = in_types[i]
            var = stand_in(t.shape, t.dtype, paths[i], trainable)
            builder.bind_state(var, tracers[i]._value)
            arguments[id(var)] = i
            tracers[i] = var
        else:  # the same Variable passed again: the same stand-in
            tracers[i] = tracers[first]
    values = pytree.unflatten(key.treedef, tracers)
    call_args, call_kwargs = signature.rebuild(key.names, values, key.static)
    function.trace_count += 1
    with tracing(builder):
        try:
            out = function.traced_function(*call_args, **call_kwargs)
        except Exception as e:  # the user's own exception, unchanged, perhaps with a hint
            nones = none_paths(key.names, key.treedef)
            if nones and isinstance(e, (TypeError, AttributeError)):
                e.add_note(f"note: {name} was traced with None for {', '.join(nones)}; "
                           "tracefuse passes None through as an empty structure, not an array")
            why = why_not_converted(function.python_function) if function.autograph else None
            if why and isinstance(e, ConcretizationError):
                e.add_note(f"note: AutoGraph left {name} as written, so its Python `if`, "
                           f"`while` and `for` stay Python: {why}")
            raise
        out_leaves, out_treedef = pytree.flatten(out)
        out_paths = pytree.leaf_paths(out_treedef, "result")
        out_values = []
        for path, leaf in zip(out_paths, out_leaves):
            if isinstance(leaf, Undefined):  # AutoGraph's: a variable with no value here
                leaf.fail()
            if not isinstance(leaf, RESULT_TYPES) and not is_gpu_array(leaf):
                raise DTypeError(with_location(
                    f"{name} returned {path} = a {type(leaf).__name__}; a compiled function "
                    "may return arrays, Python numbers and tuples/lists/dicts of them",
                    definition_location(function.python_function)))
            out_values.append(builder.lift(leaf, what=path))
    traced = builder.build(out_values)
    options = key.options
    result = run_pipeline(traced, build_pipeline(options), verify_each=config.verify_passes())
    after = dict(result.after)
    stages = {"traced": traced, "optimized": after["dce"], "fused": result.graph}
    stages.update(after)
    lowered = backend.lower(result.graph, options)
    int_limits = tuple((i, limit, code, loc) for i, v in enumerate(builder.inputs)
                       for limit, code, loc in builder.int_limits.get(v, ()))
    reads = tuple(use.ref for use in builder.state_inputs())
    for ref in reads:
        ref.snapshot()  # raises for a stand-in Variable kept from another trace
    writes = tuple(arguments.get(id(use.ref), use.ref) for use in builder.state_outputs())
    cf = ConcreteFunction(function, signature, key, stages, lowered, in_types, paths,
                          out_treedef, int_limits, result.fusion_refusals, reads, writes)
    folder = config.dump_dir()
    if folder:
        texts = [("traced", print_graph(traced))]
        texts += [(stage, print_graph(graph)) for stage, graph in result.after]
        dump(folder, f"{sanitize_name(name)}.{function.trace_count}", texts,
             lowered.kernels, backend.source_suffix)
    return cf


def dump(folder: str, name: str, stages: list[tuple[str, str]], kernels: Any,
         suffix: str) -> list[str]:
    """Write the IR stages (`.ir`) and the kernel sources (named by their language) numbered
    in order; returns the paths."""
    paths = dump_stages(folder, name, stages)
    for i, source in enumerate(kernels):
        path = os.path.join(folder, f"{name}.{len(stages) + i:02d}.kernel{i}{suffix or '.txt'}")
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)
        paths.append(path)
    return paths
