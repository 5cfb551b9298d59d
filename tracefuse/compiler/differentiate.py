"""The public differentiation API (DESIGN.md, "Transforms"): `grad`, `value_and_grad`, `vjp`,
`jvp`, `jacfwd`, `jacrev`, `hessian`.

Each traces the user's function into a sub-graph, transforms it (transforms/autodiff.py:
`vjp_graph`, `jvp_graph`; transforms/batching.py: `vmap_graph` for the Jacobians) and runs the
result with `apply_graph`: inlined into the trace in progress, so `tx.function(tx.grad(f))` is
one graph that fuses like any other. `grad`, `value_and_grad` and the Jacobians return a
`tx.function` of that body, so called eagerly they trace once per input signature, compile for
the current backend and cache like any `tx.function`; `vjp` and `jvp` called eagerly evaluate
the transformed graph op by op, like eager ops (a `vjp` function called later recomputes the
forward ops it needs).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..frontend.elementwise import astype
from ..frontend.manipulation import reshape
from ..tracer import pytree
from ..transforms.autodiff import jvp_graph, vjp_graph
from ..transforms.batching import vmap_graph
from .apply import Arguments, apply_graph, fn_name, located, outer_values
from .function import Function


def _argnums(argnums: Any, what: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(n, int) and not isinstance(n, bool) for n in nums):
        raise TypeError(f"{what}: argnums must be an int or a non-empty tuple of ints, "
                        f"got {argnums!r}")
    return nums


def _check_argnums(A: Arguments, nums: Sequence[int], what: str) -> tuple[int, ...]:
    n = len(A.args)
    out = []
    for k in nums:
        if not -n <= k < n:
            raise located(ValueError, f"{what}: argnums {k} is out of range: the function was "
                          f"called with {n} positional argument{'s' * (n != 1)}")
        out.append(k % n)
    return tuple(out)


def _float_leaves(A: Arguments, graph, nums: Sequence[int], what: str) -> list[int]:
    """The leaves of the differentiated arguments (real or complex floating point); an integer
    or bool one is a TypeError."""
    wrt = []
    for k in nums:
        for i in A.leaves_of(k):
            t = graph.inputs[i].type
            if not t.dtype.is_inexact:
                raise located(TypeError, (
                    f"{what}: argument {A.leaf_path(i)} (argnums {k}) has dtype {t.dtype.name}; "
                    "derivatives are taken with respect to floating-point inputs only. Pass "
                    "a float array (x.astype(tx.float32)), or leave the argument out of "
                    "argnums"))
            wrt.append(i)
    return wrt


def _split_aux(treedef: Any, has_aux: bool, what: str, name: str) -> tuple[Any, Any]:
    """(value treedef, aux treedef or None) of a function's output."""
    if not has_aux:
        return treedef, None
    if not (isinstance(treedef, tuple) and treedef[0] in ("tuple", "list") and len(treedef) == 3):
        raise located(TypeError, f"{what}({name}, has_aux=True): the function must return a "
                      "pair (output, auxiliary data)")
    return treedef[1], treedef[2]


def _group(A: Arguments, nums: Sequence[int], leaves: Sequence[Any], single: bool) -> Any:
    """Per-leaf results of the differentiated arguments back in their pytrees."""
    out, at = [], 0
    for k in nums:
        n = len(A.leaves_of(k))
        out.append(A.unflatten_arg(k, leaves[at:at + n]))
        at += n
    return out[0] if single else tuple(out)


def _value_and_grad(fn, argnums, has_aux, what, args, kwargs, holomorphic=False):
    name = fn_name(fn)
    A = Arguments(fn, args, kwargs)
    nums = _check_argnums(A, _argnums(argnums, what), what)
    traced = A.trace(fn, f"{what}_{name}")
    graph = traced.graph
    value_td, aux_td = _split_aux(traced.out_treedef, has_aux, what, name)
    if value_td != pytree.LEAF:
        raise located(TypeError, f"{what}({name}): the function must return one scalar array, "
                      "not a structure of them (use tx.vjp or tx.jacrev for several outputs)")
    vt = graph.outputs[0].type
    if vt.shape == () and vt.dtype.is_complex and not holomorphic:
        raise located(TypeError, (
            f"{what}({name}) needs a function returning a real scalar, but it returned "
            f"{vt.dtype.name} ({vt}). As in JAX: take tx.real, tx.abs ... of it for a "
            f"real-valued function of complex inputs, or pass holomorphic=True if the function "
            f"is holomorphic (complex inputs, complex output: the result is f'(z))"))
    if holomorphic:
        wrt = _float_leaves(A, graph, nums, what)
        if not vt.dtype.is_complex or any(not graph.inputs[i].type.dtype.is_complex
                                          for i in wrt):
            raise located(TypeError, (
                f"{what}({name}, holomorphic=True) needs complex inputs and a complex output "
                f"(as JAX); got output {vt} and inputs "
                + ", ".join(str(graph.inputs[i].type) for i in wrt)))
    if vt.shape != () or not vt.dtype.is_inexact:
        kind = f"shape {vt.shape}" if vt.shape != () else f"dtype {vt.dtype.name}"
        raise located(TypeError, (
            f"{what}({name}) needs a function returning a floating-point scalar, but it "
            f"returned an array of {kind} ({vt}). For a non-scalar output use tx.vjp (a "
            "vector-Jacobian product) or tx.jacrev (the whole Jacobian); or reduce it first "
            "(tx.sum, tx.mean)"))
    wrt = _float_leaves(A, graph, nums, what)
    seeds = [i == 0 for i in range(len(graph.outputs))]
    transformed = vjp_graph(graph, wrt, seeds)
    outs = apply_graph(transformed, outer_values(traced, A.leaves) + [np.ones((), vt.dtype.np)])
    n_out = len(graph.outputs)
    value, grads = outs[0], _group(A, nums, outs[n_out:], isinstance(argnums, int))
    if has_aux:
        return (value, pytree.unflatten(aux_td, outs[1:n_out])), grads
    return value, grads


def _function_of(body: Callable, fn: Callable, name: str) -> Function:
    functools.update_wrapper(body, fn, updated=())
    return Function(body, name=name)


def value_and_grad(fn: Callable, argnums: int | Sequence[int] = 0,
                   has_aux: bool = False, holomorphic: bool = False) -> Function:
    """`fn`'s value and its gradient with respect to the arguments numbered `argnums` (an int:
    one gradient shaped like that argument's pytree; a tuple: a tuple of them). `fn` must
    return a floating-point scalar (with has_aux: a pair (scalar, aux)); the result is
    `(value, grad)` or `((value, aux), grad)`. Complex inputs follow JAX: for real-valued
    `fn` the gradient is df/dx - i df/dy; a complex output needs `holomorphic=True` (then the
    result is the complex derivative f'(z); docs/transforms.md)."""
    _argnums(argnums, "value_and_grad")

    def body(*args, **kwargs):
        return _value_and_grad(fn, argnums, has_aux, "value_and_grad", args, kwargs,
                               holomorphic)

    return _function_of(body, fn, f"value_and_grad({fn_name(fn)})")


def grad(fn: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Function:
    """The gradient of scalar-valued `fn` with respect to the arguments numbered `argnums`
    (JAX's `grad`): a function returning the gradient (with has_aux: `(grad, aux)`). Complex
    inputs and `holomorphic=True` as in `value_and_grad`."""
    _argnums(argnums, "grad")

    def body(*args, **kwargs):
        value, grads = _value_and_grad(fn, argnums, has_aux, "grad", args, kwargs, holomorphic)
        return (grads, value[1]) if has_aux else grads

    return _function_of(body, fn, f"grad({fn_name(fn)})")


def _matching(ct: Any, treedef: Any, types: Sequence[Any], what: str) -> list[Any]:
    """The leaves of a cotangent/tangent tree, checked against the primal's structure and
    shapes and converted to the primal's dtype."""
    leaves, td = pytree.flatten(ct)
    if td != treedef:
        raise located(TypeError, f"{what}: expected a structure like the primal's "
                      f"({pytree.unflatten(treedef, ['*'] * len(types))}), got "
                      f"{pytree.unflatten(td, ['*'] * len(leaves))}")
    out = []
    for leaf, t in zip(leaves, types):
        shape = tuple(getattr(leaf, "shape", np.shape(leaf)))
        if shape != t.shape:
            raise located(ValueError, f"{what}: shape {shape} does not match the primal's "
                          f"shape {t.shape}")
        dtype = getattr(leaf, "dtype", None)
        if dtype is None or np.dtype(getattr(dtype, "np", dtype)) != t.dtype.np:
            leaf = astype(leaf, t.dtype)
        out.append(leaf)
    return out


def vjp(fn: Callable, *primals: Any, has_aux: bool = False):
    """`(fn(*primals), vjp_fn)`: `vjp_fn(ct)` is the cotangent `ct` (shaped like the output)
    pulled back to each primal: a tuple with one entry per primal (JAX's `vjp`). With
    has_aux, `(out, vjp_fn, aux)`. Integer primals get zero cotangents of their dtype."""
    name = fn_name(fn)
    A = Arguments(fn, primals, {})
    traced = A.trace(fn, f"vjp_{name}")
    graph = traced.graph
    value_td, aux_td = _split_aux(traced.out_treedef, has_aux, "vjp", name)
    outs = apply_graph(graph, outer_values(traced, A.leaves))
    n_value = pytree.num_leaves(value_td)
    out = pytree.unflatten(value_td, outs[:n_value])
    types = [v.type for v in graph.outputs[:n_value]]

    def vjp_fn(ct):
        cts = _matching(ct, value_td, types, f"vjp of {name}")
        wrt = list(range(len(A.leaves)))
        seeds = [i < n_value for i in range(len(graph.outputs))]
        transformed = vjp_graph(graph, wrt, seeds)
        results = apply_graph(transformed, outer_values(traced, A.leaves) + cts)
        grads = results[len(graph.outputs):]
        return tuple(_group(A, range(len(primals)), grads, False))

    if has_aux:
        return out, vjp_fn, pytree.unflatten(aux_td, outs[n_value:])
    return out, vjp_fn


def jvp(fn: Callable, primals: Sequence[Any], tangents: Sequence[Any]):
    """`(fn(*primals), tangent_out)`: the directional derivative of `fn` at `primals` along
    `tangents` (JAX's `jvp`; both tuples with one entry per argument, tangents shaped and
    structured like the primals)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise located(TypeError, "jvp: primals and tangents must be tuples (one entry per "
                      "argument of the function)")
    name = fn_name(fn)
    A = Arguments(fn, tuple(primals), {})
    traced = A.trace(fn, f"jvp_{name}")
    graph = traced.graph
    in_types = [graph.inputs[i].type for i in range(len(A.leaves))]
    ts = _matching(tuple(tangents), pytree.flatten(tuple(primals))[1], in_types,
                   f"jvp of {name}")
    differentiable = [t.dtype.is_inexact for t in in_types]
    with_tangent = differentiable + [False] * len(traced.captured)
    transformed = jvp_graph(graph, with_tangent)
    outs = apply_graph(transformed, outer_values(traced, A.leaves)
                       + [t for t, d in zip(ts, differentiable) if d])
    n = len(graph.outputs)
    td = traced.out_treedef
    return pytree.unflatten(td, outs[:n]), pytree.unflatten(td, outs[n:])


def _jacobian(fn, argnums, mode: str):
    what = "jacfwd" if mode == "fwd" else "jacrev"
    _argnums(argnums, what)
    single = isinstance(argnums, int)

    def body(*args, **kwargs):
        name = fn_name(fn)
        A = Arguments(fn, args, kwargs)
        nums = _check_argnums(A, _argnums(argnums, what), what)
        traced = A.trace(fn, f"{what}_{name}")
        graph = traced.graph
        wrt = _float_leaves(A, graph, nums, what)
        for i in wrt:
            if graph.inputs[i].type.dtype.is_complex:
                raise located(TypeError, (
                    f"{what}({name}): argument {A.leaf_path(i)} is complex; Jacobians of "
                    "complex inputs are not supported yet: use tx.jvp (a tangent per "
                    "direction, 1 and 1j) or tx.vjp"))
        n_in, n_out = len(graph.inputs), len(graph.outputs)
        outer = outer_values(traced, A.leaves)
        blocks: dict[tuple[int, int], Any] = {}  # (output leaf, input leaf) -> Jacobian block
        if mode == "fwd":
            for k in wrt:
                x = graph.inputs[k].type
                n = x.size
                transformed = jvp_graph(graph, [i == k for i in range(n_in)])
                out_axes = [None] * n_out + [v.type.ndim for v in graph.outputs]
                mapped = vmap_graph(transformed, [None] * n_in + [0], n, out_axes)
                basis = np.eye(n, dtype=x.dtype.np).reshape((n,) + x.shape)
                res = apply_graph(mapped, outer + [basis])[n_out:]
                for j, v in enumerate(graph.outputs):
                    blocks[j, k] = reshape(res[j], v.type.shape + x.shape)
        else:
            for j, v in enumerate(graph.outputs):
                o = v.type
                if not o.dtype.is_float:
                    raise located(TypeError, f"jacrev({name}): output {j} has dtype "
                                  f"{o.dtype.name}; a Jacobian needs real floating-point "
                                  "outputs (of a complex one: use tx.jacfwd, or take "
                                  "tx.real and tx.imag of it)")
                m = o.size
                transformed = vjp_graph(graph, wrt, [i == j for i in range(n_out)])
                mapped = vmap_graph(transformed, [None] * n_in + [0], m,
                                    [None] * n_out + [0] * len(wrt))
                basis = np.eye(m, dtype=o.dtype.np).reshape((m,) + o.shape)
                res = apply_graph(mapped, outer + [basis])[n_out:]
                for r, k in zip(res, wrt):
                    blocks[j, k] = reshape(r, o.shape + graph.inputs[k].type.shape)
        per_output = [_group(A, nums, [blocks[j, k] for k in wrt], single)
                      for j in range(n_out)]
        return pytree.unflatten(traced.out_treedef, per_output)

    return _function_of(body, fn, f"{what}({fn_name(fn)})")


def jacfwd(fn: Callable, argnums: int | Sequence[int] = 0) -> Function:
    """The Jacobian of `fn` by forward mode (a `jvp` per input element, batched with vmap): for
    an output of shape O and an argument of shape I, an array of shape O + I."""
    return _jacobian(fn, argnums, "fwd")


def jacrev(fn: Callable, argnums: int | Sequence[int] = 0) -> Function:
    """The Jacobian of `fn` by reverse mode (a `vjp` per output element, batched with vmap):
    for an output of shape O and an argument of shape I, an array of shape O + I."""
    return _jacobian(fn, argnums, "rev")


def hessian(fn: Callable, argnums: int | Sequence[int] = 0) -> Function:
    """The Hessian of scalar-valued `fn`: `jacfwd(jacrev(fn))`, shape I + I for an argument of
    shape I."""
    return _jacobian(jacrev(fn, argnums), argnums, "fwd")
