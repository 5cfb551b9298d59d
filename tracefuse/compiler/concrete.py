"""`ConcreteFunction`: one traced and lowered specialization of a `Function` for one key, and
what runs it (arguments to arrays, the backend's executable, results to Tensors); `Lowered`,
what `f.lower(...)` returns.

The executable is loaded at the first run, so a concrete function made by `f.lower(...)` on a
machine without the backend's device can be inspected, and is cached all the same.

Variables (frontend/variable.py): the graph's inputs are the argument leaves, then one per
Variable the function closes over and reads (`reads`: their buffers are passed at each call);
its outputs are the function's results, then one per Variable it assigns (`writes`: a closed
over Variable, or the index of the argument leaf that is one). After each call the backend's
fresh output arrays become those Variables' buffers (no copy; moved only where a Variable lives
on the other device), and only after the whole call succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import config
from ..backends import LoweredGraph
from ..errors import BackendUnavailableError, SignatureError, with_location
from ..frontend.device import is_gpu_array
from ..frontend.tensor import Tensor
from ..frontend.variable import Variable
from ..ir import TensorType, print_graph
from ..ir import dtypes as dt
from ..tracer import pytree
from .explain import differences
from .profile import recording_executable
from .signature import Key, Signature

_new = object.__new__


def wrap_host(a: Any) -> Tensor:
    """A Tensor around a host array that a backend just returned: what `Tensor._wrap` does,
    without its checks for CuPy arrays (a host backend returns none): a read-only view."""
    if type(a) is not np.ndarray:
        a = np.asarray(a)  # a NumPy scalar from the interpreter
    a = a.view()
    a.setflags(False)  # write=False: positional is 2x cheaper, `a.flags.writeable = False` 4x
    t = _new(Tensor)
    t._array = a
    return t


class ConcreteFunction:
    """One traced and compiled specialization of a `Function` for one signature."""

    def __init__(self, function: Any, signature: Signature, key: Key, stages: dict,
                 lowered: LoweredGraph, in_types: list[TensorType], in_paths: list[str],
                 out_treedef: Any, int_limits: tuple = (), fusion_refusals: tuple = (),
                 reads: tuple = (), writes: tuple = ()):
        self.function = function
        self._signature = signature
        self.key = key
        self.static = key.static
        self._stages = stages
        self.lowered = lowered
        self.in_types = in_types
        self.in_paths = in_paths
        self._out_treedef = out_treedef
        self._single = out_treedef == pytree.LEAF  # returns one array
        self._backend = key.backend
        self._host = key.backend.device != "gpu"  # arrays go to the host
        self._wrap = wrap_host if self._host else Tensor._wrap
        self._executable = None  # loaded at the first run
        self.int_limits = int_limits  # (leaf, dtype, op, loc): Python int arguments' bounds
        self.fusion_refusals = fusion_refusals  # why the fuse pass kept ops apart
        self.reads = reads  # closed-over Variables read: extra inputs after the leaves
        self.writes = writes  # per extra output: the Variable (or argument leaf index) assigned
        self._n_results = len(lowered.graph.outputs) - len(writes)

    @property
    def graph(self):
        """The graph the backend runs (after every pass)."""
        return self.lowered.graph

    @property
    def out_treedef(self) -> Any:
        """The pytree structure of what the Python function returned."""
        return self._out_treedef

    @property
    def stage_names(self) -> list[str]:
        """The stages `ir(stage)` and `stage_graph(stage)` know, in pipeline order."""
        return list(self._stages)

    @property
    def backend(self) -> str:
        """The name of the backend it was compiled for (`f.backend` is the backend object)."""
        return self._backend.name

    @property
    def kernels(self) -> list[str]:
        """The source of each generated kernel (none for the numpy interpreter)."""
        return list(self.lowered.kernels)

    @property
    def signature(self) -> str:
        parts = [f"{p}: {t}" for p, t in zip(self.in_paths, self.in_types)]
        parts += [f"{name}={value!r}" for name, _, value in self.static]
        return ", ".join(parts)

    @property
    def variables(self) -> list[str]:
        """The Variables this concrete function reads and assigns, one line each: the ones it
        closes over (captured by reference) and the arguments that are Variables."""
        lines = []
        written = {id(w) if isinstance(w, Variable) else w for w in self.writes}
        for v in self.reads:
            what = "read and assigned" if id(v) in written else "read"
            lines.append(f"{v.name} ({v.dtype.name}{list(v.shape)}): captured, {what}")
        read = {id(v) for v in self.reads}
        for w in self.writes:
            if isinstance(w, Variable) and id(w) not in read:
                lines.append(f"{w.name} ({w.dtype.name}{list(w.shape)}): captured, assigned")
            elif not isinstance(w, Variable):
                lines.append(f"{self.in_paths[w]} ({self.in_types[w]}): argument, assigned")
        return lines

    def ir(self, stage: str = "fused", *, elide_constants: bool = True) -> str:
        """The IR text after `stage`: "traced", "optimized" or "fused" (or a pass name)."""
        if stage not in self._stages:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(self._stages)}")
        return print_graph(self._stages[stage], elide_constants=elide_constants)

    def check_ints(self, leaves: Any) -> None:
        """A Python int argument must fit the integer dtype of each op it meets, as in NumPy
        (NEP 50: `int8_array + 300` raises); compiled code would wrap it."""
        for i, limit, code, loc in self.int_limits:
            value = leaves[i]
            if isinstance(value, int) and not dt.can_cast_value(value, limit):
                raise OverflowError(with_location(
                    f"{self.function.__name__}(): argument {self.in_paths[i]} is the Python int "
                    f"{value}, out of bounds for {limit.name} in {code.value} (as in NumPy); "
                    "pass a value that fits, or convert the array first", loc))

    def load(self):
        """The backend's executable (loaded once; BackendUnavailableError without the device)."""
        if self._executable is None:
            reason = self._backend.unavailable()
            if reason is not None:  # traced by f.lower() on a machine without the device
                raise BackendUnavailableError(reason)
            self._executable = self._backend.load(self.lowered)
            if config.profiles_recorded():  # python -m tracefuse profile
                self._executable = recording_executable(self, self._executable)
        return self._executable

    def execute(self, arrays: list, leaves: Any = ()) -> Any:
        """Run on arrays the backend takes (host NumPy arrays, or device arrays on gpu; the
        read Variables' buffers are added here), write the assigned Variables back (`leaves`:
        the call's leaves, for Variable arguments); the results as Tensors in the structure the
        Python function returned."""
        if self.reads:
            arrays = list(arrays) + self.read_arrays()
        outs = (self._executable or self.load())(arrays)
        if self.writes:
            self.write_back(outs, leaves)
        if self._single:
            return self._wrap(outs[0])
        wrap = self._wrap
        return pytree.unflatten(self._out_treedef, [wrap(o) for o in outs[:self._n_results]])

    def read_arrays(self) -> list:
        """The buffers of the Variables read, as the backend takes them."""
        if self._host:
            return [v._buffer.get() if v._gpu else v._buffer for v in self.reads]
        return [v._buffer for v in self.reads]

    def write_back(self, outs: Any, leaves: Any) -> None:
        """The extra outputs become the assigned Variables' buffers."""
        for target, out in zip(self.writes, outs[self._n_results:]):
            if type(target) is int:
                target = leaves[target]
            target._store(out)

    def runner(self) -> Callable[[tuple, list], Any]:
        """`run(args, arrays)` for the cached call path of `Function.__call__`: the executable
        loaded, and each attribute it needs bound once. `args` are the call's positional
        arguments (for the Python int bounds), `arrays` what the backend takes."""
        execute = self.load()
        check_ints = self.check_ints if self.int_limits else None
        if self.reads or self.writes:
            return self._state_runner(execute, check_ints)
        if self._single and self._host and check_ints is None:
            def run(args: tuple, arrays: list) -> Tensor:
                a = execute(arrays)[0]  # wrap_host, inlined
                if type(a) is not np.ndarray:
                    a = np.asarray(a)
                a = a.view()
                a.setflags(False)
                t = _new(Tensor)
                t._array = a
                return t
            return run
        wrap, treedef, single = self._wrap, self._out_treedef, self._single

        def run(args: tuple, arrays: list) -> Any:
            if check_ints is not None:
                check_ints(args)
            outs = execute(arrays)
            if single:
                return wrap(outs[0])
            return pytree.unflatten(treedef, [wrap(o) for o in outs])
        return run

    def _state_runner(self, execute: Callable, check_ints: Any) -> Callable[[tuple, list], Any]:
        """`runner()` for a concrete function that reads or assigns Variables it closes over
        (the cached call path has no Variable arguments)."""
        if any(type(w) is int for w in self.writes):
            raise RuntimeError("a concrete function with Variable arguments has no fast runner")
        reads, writes, n = self.reads, self.writes, self._n_results
        read_arrays = self.read_arrays
        host_only = self._host and not any(v._gpu for v in reads)
        wrap, treedef, single = self._wrap, self._out_treedef, self._single

        def run(args: tuple, arrays: list) -> Any:
            if check_ints is not None:
                check_ints(args)
            if host_only:
                for v in reads:
                    arrays.append(v._buffer)
            else:
                arrays += read_arrays()
            outs = execute(arrays)
            for target, out in zip(writes, outs[n:]):
                target._store(out)
            if single:
                return wrap(outs[0])
            return pytree.unflatten(treedef, [wrap(o) for o in outs[:n]])
        return run

    def stage_graph(self, stage: str = "traced"):
        """The `Graph` at `stage` ("traced", "optimized", "fused" or a pass name); `graph` is
        the one the backend runs."""
        if stage not in self._stages:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(self._stages)}")
        return self._stages[stage]

    def run(self, leaves: list[Any]) -> Any:
        """Run on the flattened dynamic leaves of a call with this concrete function's key."""
        return self.execute(self.leaf_arrays(leaves), leaves)

    def leaf_arrays(self, leaves: list[Any]) -> list:
        """The arrays the backend takes for the flattened dynamic leaves of a call (Python
        ints checked against their bounds first); not the read Variables'."""
        if self.int_limits:
            self.check_ints(leaves)
        return self.arrays(leaves)

    def arrays(self, leaves: list[Any]) -> list:
        """A call's dynamic leaves as the arrays the backend takes (not the Variables read)."""
        arrays = []
        for leaf, t in zip(leaves, self.in_types):
            if isinstance(leaf, Tensor):
                leaf = leaf._array
            elif type(leaf) is Variable:
                leaf = leaf._buffer
            if isinstance(leaf, np.ndarray):
                arrays.append(leaf)
            elif is_gpu_array(leaf):  # a host backend copies GPU arguments to the host
                arrays.append(leaf.get() if self._host else leaf)
            else:
                arrays.append(np.asarray(leaf, dtype=t.dtype.np))
        return arrays

    def __call__(self, *args: Any, **kwargs: Any):
        key, leaves, _ = self._signature.key(self.key.backend, self.key.options, args, kwargs)
        if key != self.key:
            changes = differences(self.key, key)
            raise SignatureError(
                f"this concrete function of {self.function.__name__} was traced for "
                f"({self.signature}); the arguments differ: {'; '.join(changes) or 'structure'}"
            )
        return self.run(leaves)

    def __repr__(self) -> str:
        return f"<ConcreteFunction {self.function.__name__}({self.signature}) backend={self.backend}>"


class Lowered:
    """What `f.lower(...)` returns: the IR at each stage and the kernel sources, not run. The
    concrete function is in the Function's cache: the next call with these arguments runs it
    without tracing again. Lowered with dask arrays among the arguments (traced at their full
    shapes), it also has the stage "partition": how the call is split for Dask."""

    def __init__(self, cf: ConcreteFunction, partition: str | None = None):
        self._cf, self._partition = cf, partition

    def ir(self, stage: str = "fused", *, elide_constants: bool = True) -> str:
        if stage == "partition":
            if self._partition is None:
                raise ValueError(
                    f"{self._cf.function.__name__} was lowered for arguments with no dask "
                    "array: the stage 'partition' (how a call is split for Dask) exists for "
                    f"f.lower(*args) with dask arrays among args; stages here: "
                    f"{', '.join(self._cf.stage_names)}")
            return self._partition
        return self._cf.ir(stage, elide_constants=elide_constants)

    @property
    def kernels(self) -> list[str]:
        return self._cf.kernels

    @property
    def notes(self) -> list[str]:
        return list(self._cf.lowered.notes)

    def compile(self) -> ConcreteFunction:
        return self._cf
