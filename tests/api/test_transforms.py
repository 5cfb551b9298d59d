"""The transforms compose (issue #14, API items 2 and 3): `tx.function(tx.grad(f))`,
`tx.grad(tx.function(f))`, `tx.grad(tx.grad(f))`, `tx.vmap(tx.grad(f))`, a GradientTape inside a
`tx.function`, `tx.function(tx.vmap(f))`, the Jacobians under `tx.function`, `value_and_grad`
with `has_aux`, `argnums` as int and tuple, pytree arguments and gradients, the gradient of a
closure over a traced value, and `stop_gradient`. Each runs on every backend (numpy, cpu,
gpu-sim) and is checked against NumPy with hand-written derivatives on random inputs.

Also: eager `tx.grad(f)` traces once per signature, and its errors (integer or bool argument,
non-scalar output, has_aux without a pair, argnums out of range, a vjp cotangent or jvp tangents
that do not match) say what is wrong and name the user's file:line; `cf.ir("traced")` of a
compiled gradient shows the user's lines on the backward ops.

Shapes are tiny and the graphs few: each new graph is a Numba compile on cpu and a C++ compile
on gpu-sim.
"""

import inspect
import os

import numpy as np
import pytest
from oracle import assert_same, rand

import tracefuse as tx

THIS_FILE = os.path.basename(__file__)
ALL_BACKENDS = ("numpy", "cpu", "gpu-sim")

backends = pytest.mark.parametrize("b", ALL_BACKENDS)


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


# --- the functions and their hand-written derivatives -------------------------------------------

def loss(x):  # sum(sin(x) * x)
    return tx.sum(tx.sin(x) * x)


def loss_grad(x):
    return np.cos(x) * x + np.sin(x)


def cubic_sin(x):  # x^3 sin(x), a scalar function of a scalar
    return x ** 3 * tx.sin(x)


def cubic_sin_d2(x):
    return 6 * x * np.sin(x) + 6 * x ** 2 * np.cos(x) - x ** 3 * np.sin(x)


def sq_error(w, x, y):  # (x.w - y)^2 for one example
    return (tx.sum(x * w) - y) ** 2


# --- compositions ---------------------------------------------------------------------------------

@backends
def test_function_of_grad(b, rng):
    x = rand(rng, (5,), "float64", low=-2, high=2)
    g = tx.function(tx.grad(loss), backend=b)
    assert_same(g(x), loss_grad(x), what=b)
    assert g.backend.name == b


@backends
def test_grad_of_function(b, rng):
    x = rand(rng, (5,), "float64", low=-2, high=2)
    with tx.config.backend(b):
        g = tx.grad(tx.function(loss))
        assert_same(g(x), loss_grad(x), what=b)
        assert g.backend.name == b and g.trace_count == 1


@backends
def test_grad_of_grad(b, rng):
    x = rand(rng, (), "float64", low=-2, high=2)
    with tx.config.backend(b):
        assert_same(tx.grad(tx.grad(cubic_sin))(x), cubic_sin_d2(x), what=b)
    # and the same composition compiled as a whole
    assert_same(tx.function(tx.grad(tx.grad(cubic_sin)), backend=b)(x), cubic_sin_d2(x),
                what=f"{b} compiled")


@backends
def test_vmap_of_grad_gives_per_example_gradients(b, rng):
    w = rand(rng, (3,), "float64", low=-1, high=1)
    xs = rand(rng, (4, 3), "float64", low=-1, high=1)
    ys = rand(rng, (4,), "float64", low=-1, high=1)
    per_example = tx.function(tx.vmap(tx.grad(sq_error), in_axes=(None, 0, 0)), backend=b)
    expected = 2 * (xs @ w - ys)[:, None] * xs
    assert_same(per_example(w, xs, ys), expected, what=b)
    # eagerly on the same backend
    with tx.config.backend(b):
        got = tx.vmap(tx.grad(sq_error), in_axes=(None, 0, 0))(w, xs, ys)
    assert_same(got, expected, what=f"{b} eager")


@backends
def test_gradient_tape_inside_function(b, rng):
    x = rand(rng, (2, 3), "float64", low=-1, high=1)

    @tx.function(backend=b)
    def step(x):
        with tx.GradientTape() as tape:
            tape.watch(x)
            y = tx.sum(tx.exp(x) * x)
        return y, tape.gradient(y, x)

    y, g = step(x)
    assert_same(y, np.sum(np.exp(x) * x), what=b)
    assert_same(g, np.exp(x) * (x + 1), what=b)


@backends
def test_function_of_vmap(b, rng):
    a = rand(rng, (4, 2, 3), "float64")
    v = rand(rng, (3,), "float64")

    def f(m, v):  # one example: a matrix-vector product plus the matrix's mean
        return m @ v + tx.mean(m)

    got = tx.function(tx.vmap(f, in_axes=(0, None)), backend=b)(a, v)
    expected = np.stack([m @ v + np.mean(m) for m in a])
    assert_same(got, expected, what=b)


def poly(x):  # sin(x) * sum(x^2): a vector function of a vector
    return tx.sin(x) * tx.sum(x * x)


def poly_jacobian(x):
    return np.diag(np.cos(x)) * np.sum(x * x) + np.outer(np.sin(x), 2 * x)


def exp_times_sum(x):  # sum(exp(x)) * sum(x)
    return tx.sum(tx.exp(x)) * tx.sum(x)


def exp_times_sum_hessian(x):
    e = np.exp(x)
    return np.diag(e) * np.sum(x) + e[:, None] + e[None, :]


@backends
@pytest.mark.parametrize("jac", ["jacfwd", "jacrev"])
def test_jacobians_under_function(b, jac, rng):
    x = rand(rng, (3,), "float64", low=-1, high=1)
    f = tx.function(getattr(tx, jac)(poly), backend=b)
    assert_same(f(x), poly_jacobian(x), what=f"{b} {jac}")


@backends
def test_hessian_under_function(b, rng):
    x = rand(rng, (3,), "float64", low=-1, high=1)
    h = tx.function(tx.hessian(exp_times_sum), backend=b)
    assert_same(h(x), exp_times_sum_hessian(x), what=b)


@backends
def test_value_and_grad_with_aux(b, rng):
    w = rand(rng, (3,), "float64", low=-1, high=1)
    x = rand(rng, (4, 3), "float64", low=-1, high=1)

    def f(w, x):
        pred = tx.tanh(x @ w)
        return tx.sum(pred * pred), {"pred": pred, "n": tx.sum(x)}

    (value, aux), g = tx.function(tx.value_and_grad(f, has_aux=True), backend=b)(w, x)
    p = np.tanh(x @ w)
    assert_same(value, np.sum(p * p), what=b)
    assert set(aux) == {"pred", "n"}
    assert_same(aux["pred"], p, what=b)
    assert_same(aux["n"], np.sum(x), what=b)
    assert_same(g, x.T @ (2 * p * (1 - p * p)), what=b)
    # grad with has_aux gives (grad, aux)
    with tx.config.backend(b):
        g2, aux2 = tx.grad(f, has_aux=True)(w, x)
    assert_same(g2, x.T @ (2 * p * (1 - p * p)), what=f"{b} grad")
    assert_same(aux2["pred"], p, what=f"{b} grad aux")


def prod_sq(a, c):  # sum(a * c^2)
    return tx.sum(a * c * c)


@backends
def test_argnums_int_and_tuple(b, rng):
    a = rand(rng, (2, 3), "float64")
    c = rand(rng, (2, 3), "float64")
    g1 = tx.function(tx.grad(prod_sq, argnums=1), backend=b)(a, c)
    assert_same(g1, 2 * a * c, what=f"{b} argnums=1")
    g01 = tx.function(tx.grad(prod_sq, argnums=(0, 1)), backend=b)(a, c)
    assert isinstance(g01, tuple) and len(g01) == 2
    assert_same(g01[0], c * c, what=f"{b} argnums=(0, 1)[0]")
    assert_same(g01[1], 2 * a * c, what=f"{b} argnums=(0, 1)[1]")
    # a negative argnums counts from the end; a 1-tuple gives a 1-tuple
    (g_last,) = tx.function(tx.grad(prod_sq, argnums=(-1,)), backend=b)(a, c)
    assert_same(g_last, 2 * a * c, what=f"{b} argnums=(-1,)")


def mlp_loss(params, batch):
    (w, bias), scale = params["layer"], params["scale"]
    x, y = batch
    h = tx.tanh(x @ w + bias) * scale
    return tx.sum((h - y) ** 2)


@backends
def test_pytree_arguments_and_gradients(b, rng):
    params = {"layer": (rand(rng, (3, 2), "float64", low=-1, high=1),
                        rand(rng, (2,), "float64", low=-1, high=1)),
              "scale": rand(rng, (), "float64", low=0.5, high=2)}
    batch = (rand(rng, (4, 3), "float64", low=-1, high=1),
             rand(rng, (4, 2), "float64", low=-1, high=1))
    g = tx.function(tx.grad(mlp_loss), backend=b)(params, batch)

    (w, bias), s = params["layer"], params["scale"]
    x, y = batch
    t = np.tanh(x @ w + bias)
    dh = 2 * (t * s - y)
    dz = dh * s * (1 - t * t)
    assert set(g) == {"layer", "scale"} and isinstance(g["layer"], tuple)
    assert_same(g["layer"][0], x.T @ dz, what=f"{b} w")
    assert_same(g["layer"][1], dz.sum(0), what=f"{b} bias")
    assert_same(g["scale"], np.sum(dh * t), what=f"{b} scale")
    # both arguments: the batch's gradient keeps the tuple structure
    gp, (gx, gy) = tx.function(tx.grad(mlp_loss, argnums=(0, 1)), backend=b)(params, batch)
    assert_same(gp["scale"], np.sum(dh * t), what=f"{b} scale (0, 1)")
    assert_same(gx, dz @ w.T, what=f"{b} x")
    assert_same(gy, -dh, what=f"{b} y")


@backends
def test_grad_of_a_closure_over_a_traced_value(b, rng):
    w = rand(rng, (3,), "float64", low=-1, high=1)
    x = rand(rng, (3,), "float64", low=-1, high=1)

    @tx.function(backend=b)
    def step(w, x):
        return tx.grad(lambda w: tx.sum(tx.sin(w * x)))(w)  # x: a tracer of step's trace

    assert_same(step(w, x), np.cos(w * x) * x, what=b)


@backends
def test_stop_gradient(b, rng):
    x = rand(rng, (4,), "float64")

    def f(x):  # d/dx sum(x * sg(x) + sg(x^2)) = sg(x) = x
        return tx.sum(x * tx.stop_gradient(x) + tx.stop_gradient(x * x))

    assert_same(tx.function(tx.grad(f), backend=b)(x), x, what=b)
    assert_same(tx.function(f, backend=b)(x), np.sum(2 * x * x), what=f"{b} forward")


def test_eager_grad_traces_once_per_signature(rng):
    g = tx.grad(loss)
    x1, x2 = rand(rng, (5,), "float64"), rand(rng, (5,), "float64")
    assert_same(g(x1), loss_grad(x1))
    assert_same(g(x2), loss_grad(x2))
    assert g.trace_count == 1
    x3 = rand(rng, (2, 2), "float64")
    assert_same(g(x3), loss_grad(x3))
    assert g.trace_count == 2
    assert_same(g(x1 + 1), loss_grad(x1 + 1))
    assert g.trace_count == 2


def test_traced_ir_shows_the_users_lines_on_backward_ops(rng):
    x = rand(rng, (3,), "float64")
    lines = []

    def f(x):
        lines.append(_line() + 1)
        y = tx.sin(x)
        return tx.sum(y * x)

    ir = tx.function(tx.grad(f), backend="numpy").get_concrete_function(x).ir("traced")
    where = f"{THIS_FILE}:{lines[0]}"
    ops = [line for line in ir.splitlines() if " = " in line]
    # the forward sin and the backward cos (its derivative) both name the line of sin
    for name in ("sin", "cos"):
        hits = [line for line in ops if f"= {name} " in line]
        assert hits and all(where in line for line in hits), ir
    # the product's backward multiplies name its line
    assert sum(f"{THIS_FILE}:{lines[0] + 1}" in line for line in ops) >= 3, ir


# --- errors: what is wrong, and the user's line ---------------------------------------------------

def int_arg(n, x):
    return tx.sum(x * n)


def _says(info, *fragments) -> str:
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


@pytest.mark.parametrize("n", [np.arange(3), np.array([True, False, True]), 2, True],
                         ids=["int-array", "bool-array", "int", "bool"])
def test_grad_of_an_integer_or_bool_argument_names_it(n, rng):
    x = rand(rng, (3,), "float64")
    with pytest.raises(TypeError) as info:
        line = _line() + 1
        tx.grad(int_arg)(n, x)
    msg = _says(info, "argument n", f"{THIS_FILE}:{line}")
    assert "int64" in msg or "bool" in msg, msg
    # inside a pytree: the leaf's path
    with pytest.raises(TypeError) as info:
        line = _line() + 1
        tx.grad(lambda d: tx.sum(d["x"] * d["n"]))({"x": x, "n": n})
    _says(info, "d['n']", f"{THIS_FILE}:{line}")


def test_grad_of_a_non_scalar_output_names_its_shape(rng):
    x = rand(rng, (2, 3), "float64")
    with pytest.raises(TypeError) as info:
        line = _line() + 1
        tx.grad(lambda x: x * 2)(x)
    _says(info, "(2, 3)", "tx.vjp", "tx.jacrev", f"{THIS_FILE}:{line}")
    # a structure of outputs too
    with pytest.raises(TypeError) as info:
        line = _line() + 1
        tx.grad(lambda x: (tx.sum(x), tx.sum(x)))(x)
    _says(info, "tx.vjp", f"{THIS_FILE}:{line}")


@pytest.mark.parametrize("f", [lambda x: tx.sum(x), lambda x: (tx.sum(x), x, x)],
                         ids=["scalar", "triple"])
def test_grad_with_has_aux_needs_a_pair(f, rng):
    x = rand(rng, (3,), "float64")
    with pytest.raises(TypeError) as info:
        line = _line() + 1
        tx.grad(f, has_aux=True)(x)
    _says(info, "has_aux=True", "pair", f"{THIS_FILE}:{line}")


@pytest.mark.parametrize("argnums, bad", [(2, 2), ((0, -3), -3)])
def test_argnums_out_of_range(argnums, bad, rng):
    x = rand(rng, (3,), "float64")
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        tx.grad(prod_sq, argnums=argnums)(x, x)
    _says(info, f"argnums {bad} is out of range", "2 positional arguments",
          f"{THIS_FILE}:{line}")
    with pytest.raises(TypeError, match="argnums"):
        tx.grad(prod_sq, argnums=())


def test_vjp_fn_with_a_cotangent_of_the_wrong_shape(rng):
    x = rand(rng, (3,), "float64")
    out, vjp_fn = tx.vjp(lambda x: tx.sin(x), x)
    assert_same(out, np.sin(x))
    assert_same(vjp_fn(np.ones(3))[0], np.cos(x))  # the right one works
    with pytest.raises(ValueError) as info:
        line = _line() + 1
        vjp_fn(np.ones(4))
    _says(info, "(4,)", "(3,)", f"{THIS_FILE}:{line}")
    with pytest.raises(TypeError) as info:
        line = _line() + 1
        vjp_fn((np.ones(3),))
    _says(info, "structure", f"{THIS_FILE}:{line}")


@pytest.mark.parametrize("tangents, error, fragments", [
    ((np.ones(3),), TypeError, ("structure",)),
    ((np.ones(3), np.ones(3), np.ones(3)), TypeError, ("structure",)),
    ((np.ones(3), np.ones(2)), ValueError, ("(2,)", "(3,)")),
    (np.ones(3), TypeError, ("tuples",))], ids=["fewer", "more", "shape", "not-a-tuple"])
def test_jvp_with_tangents_of_the_wrong_structure(tangents, error, fragments, rng):
    x, y = rand(rng, (3,), "float64"), rand(rng, (3,), "float64")
    out, t = tx.jvp(lambda x, y: x * y, (x, y), (np.ones(3), np.zeros(3)))  # the right one
    assert_same(out, x * y)
    assert_same(t, y)
    with pytest.raises(error) as info:
        line = _line() + 1
        tx.jvp(lambda x, y: x * y, (x, y), tangents)
    _says(info, *fragments, f"{THIS_FILE}:{line}")
