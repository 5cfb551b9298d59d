"""The tracer: what becomes an input, a constant or an op, pytrees, and concretization errors."""

import collections
import inspect

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.tracer import pytree


def lineno() -> int:
    return inspect.currentframe().f_back.f_lineno


def test_pytree_round_trip_and_paths():
    Point = collections.namedtuple("Point", "x y")
    tree = {"a": (1, [2.0, None]), "b": Point(np.ones(2), 3)}
    leaves, td = pytree.flatten(tree)
    assert len(leaves) == 4 and pytree.num_leaves(td) == 4
    rebuilt = pytree.unflatten(td, leaves)
    assert rebuilt["a"] == (1, [2.0, None]) and isinstance(rebuilt["b"], Point)
    assert pytree.leaf_paths(td, "p") == ["p['a'][0]", "p['a'][1][0]", "p['b'].x", "p['b'].y"]
    # hashable and structure-sensitive
    assert hash(td) == hash(pytree.flatten(tree)[1])
    assert pytree.flatten((1, 2))[1] != pytree.flatten([1, 2])[1]


def test_pytree_paths_are_named():
    _, td = pytree.flatten({"w": [np.ones(1), np.ones(1)], "b": None})
    assert pytree.leaf_paths(td, "params") == ["params['w'][0]", "params['w'][1]"]


def test_inputs_ops_and_locations_in_traced_ir():
    @tx.function(backend="numpy")
    def f(x, y):
        return tx.exp(x) + y  # the op line

    line = lineno() - 2
    x = np.ones((2, 3), np.float32)
    cf = f.get_concrete_function(x, np.ones(3, np.float32))
    text = cf.ir("traced")
    assert text.splitlines()[0] == "func @f(%0: f32[2,3], %1: f32[3]) -> (f32[2,3]) {"
    assert f"%2: f32[2,3] = exp %0" in text
    assert f"test_tracer.py:{line}" in text
    assert "%3: f32[2,3] = add %2, %1" in text


def test_closure_array_becomes_a_snapshotted_constant():
    w = np.arange(3, dtype=np.float64)

    @tx.function(backend="numpy")
    def f(x):
        return x * w

    x = np.ones(3)
    first = f(x).numpy()
    w[:] = 100.0  # captured at trace time: later changes do not reach the compiled function
    np.testing.assert_array_equal(f(x).numpy(), first)
    assert "constant" in f.get_concrete_function(x).ir("traced")


def test_python_scalars_are_weak_inputs():
    @tx.function(backend="numpy")
    def f(x, s):
        return x * s

    x = np.ones(4, np.float32)
    assert f(x, 2.0).dtype == tx.float32  # NEP 50: the weak float takes float32
    np.testing.assert_array_equal(f(x, 3.5).numpy(), np.full(4, 3.5, np.float32))
    assert f.trace_count == 1  # only the value changed
    assert "%1: f64[]{weak}" in f.get_concrete_function(x, 1.0).ir("traced")
    f(x, 2)  # an int is another kind of scalar: retrace
    assert f.trace_count == 2


def test_numpy_scalar_is_typed_like_a_0d_array():
    @tx.function(backend="numpy")
    def f(x, s):
        return x * s

    out = f(np.ones(2, np.float32), np.float64(2.0))
    assert out.dtype == tx.float64


@pytest.mark.parametrize("action, what", [
    (lambda t: bool(t), "bool(x)"),
    (lambda t: int(t), "int(x)"),
    (lambda t: float(t), "float(x)"),
    (lambda t: t.item(), "x.item()"),
    (lambda t: np.asarray(t), "np.asarray(x)"),
    (lambda t: 1 if t > 0 else 2, "bool(x)"),
])
def test_concretization_errors_name_the_line_and_suggest_a_fix(action, what):
    @tx.function(backend="numpy")
    def f(x):
        return action(tx.sum(x))

    with pytest.raises(tx.ConcretizationError) as info:
        f(np.ones(3))
    message = str(info.value)
    assert isinstance(info.value, TypeError)
    assert what in message
    assert "test_tracer.py:" in message
    assert "tx.where" in message and "static" in message
    assert f.concrete_functions == []  # a failed trace caches nothing


def test_python_if_on_static_argument_is_fine():
    @tx.function(backend="numpy", static_argnames="mode")
    def f(x, mode):
        if mode == "double":
            return x * 2
        return x

    np.testing.assert_array_equal(f(np.ones(2), mode="double").numpy(), [2.0, 2.0])


def test_pytrees_in_and_out():
    Pair = collections.namedtuple("Pair", "a b")

    @tx.function(backend="numpy")
    def f(params, xs):
        total = xs[0] + xs[1]
        return {"y": params["w"] * total, "pair": Pair(total, None), "list": [total, 1.5]}

    params = {"w": np.full(2, 3.0)}
    out = f(params, [np.ones(2), np.ones(2)])
    assert set(out) == {"y", "pair", "list"}
    np.testing.assert_array_equal(out["y"].numpy(), [6.0, 6.0])
    assert isinstance(out["pair"], Pair) and out["pair"].b is None
    assert isinstance(out["list"][1], tx.Tensor) and out["list"][1].numpy() == 1.5


def test_tracer_shape_dtype_len_iteration():
    seen = {}

    @tx.function(backend="numpy")
    def f(x):
        seen["shape"], seen["dtype"], seen["len"] = x.shape, x.dtype, len(x)
        seen["repr"] = repr(x)
        return tx.stack([row * i for i, row in enumerate(x)])

    out = f(np.ones((3, 2), np.float32))
    assert seen["shape"] == (3, 2) and seen["dtype"] == tx.float32 and seen["len"] == 3
    assert seen["repr"] == "Tracer<f32[3,2]>"
    np.testing.assert_array_equal(out.numpy(), [[0, 0], [1, 1], [2, 2]])


def test_creation_inside_trace_records_ops():
    @tx.function(backend="numpy")
    def f(x):
        return x + tx.zeros((1000, 3), dtype=tx.float32) + tx.ones_like(x)

    x = np.ones((1000, 3), np.float32)
    np.testing.assert_array_equal(f(x).numpy(), np.full((1000, 3), 2.0, np.float32))
    text = f.get_concrete_function(x).ir("traced")
    assert "= full" in text and "elided" not in text


def test_leaked_tracer_is_an_error():
    leaked = []

    @tx.function(backend="numpy")
    def f(x):
        leaked.append(x)
        return x + 1

    @tx.function(backend="numpy")
    def g(x):
        return x + leaked[0]

    f(np.ones(2))
    with pytest.raises(tx.ConcretizationError, match="another trace"):
        g(np.ones(2))
