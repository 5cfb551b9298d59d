"""Derivatives and vmap through control flow at the API level (issue 15 item 4): `tx.grad` and
`tx.jvp` through `cond`, `switch`, `scan` (forward and reverse) and `fori_loop` (Python bounds)
against central finite differences in float64, eagerly and compiled on numpy, cpu and gpu-sim;
`tx.jvp` through `while_loop`, and `tx.grad` through it an error naming the line and the
alternatives; `tx.vmap` of each op against a Python loop over the batch, including a batched
predicate (`cond` selects per element) and a `while_loop` whose trip count differs per element.
"""

import inspect
import os

import numpy as np
import pytest
from oracle import rand

import tracefuse as tx

THIS_FILE = os.path.basename(__file__)
BACKENDS3 = ("numpy", "cpu", "gpu-sim")


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def loss(x, w):
    """cond, switch, scan (both directions) and fori_loop in one scalar function."""
    c = tx.cond(tx.sum(x) > 0.0, lambda v: tx.sin(v) * w, lambda v: v * v + w, x)
    k = tx.astype(tx.sum(w) > 0.0, tx.int32) + 1
    c = tx.switch(k, [lambda v: v, lambda v: tx.tanh(v), lambda v: v * 0.5], c)
    carry, ys = tx.scan(lambda h, xi: (tx.tanh(h * xi + w), tx.sin(h) * xi), c,
                        tx.stack([x, x * 2.0, w]))
    back, _ = tx.scan(lambda h, xi: (h * 0.9 + xi, h), carry, ys, reverse=True)
    y = tx.fori_loop(0, 3, lambda i, v: v * 1.1 + tx.cos(v) * w, back)
    return tx.sum(y * y) + tx.sum(ys)


def finite_differences(f, args, i, eps=1e-6):
    x = args[i]
    grad = np.zeros_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e.flat[j] = eps
        plus = [a + e if k == i else a for k, a in enumerate(args)]
        minus = [a - e if k == i else a for k, a in enumerate(args)]
        grad.flat[j] = (float(f(*plus)) - float(f(*minus))) / (2 * eps)
    return grad


@pytest.mark.parametrize("mode", ("eager",) + BACKENDS3)
@pytest.mark.parametrize("sign", [1.0, -1.0])  # both branches of the cond and the switch
def test_grad_through_cond_switch_scan_and_fori_loop(mode, sign, rng):
    x = rand(rng, (3,), "float64", low=0.1, high=1.0) * sign
    w = rand(rng, (3,), "float64", low=0.1, high=1.0) * sign
    g = tx.grad(loss, argnums=(0, 1))
    gx, gw = g(x, w) if mode == "eager" else tx.function(g, backend=mode)(x, w)
    np.testing.assert_allclose(gx.numpy(), finite_differences(loss, [x, w], 0), rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(gw.numpy(), finite_differences(loss, [x, w], 1), rtol=1e-5,
                               atol=1e-7)


def test_jvp_through_every_op_including_while_loop(rng):
    def f(x, w):
        y = tx.while_loop(lambda c: c[1] < 4, lambda c: (c[0] * w + 0.1, c[1] + 1), (x, 0))[0]
        return loss(y, w)

    x, w = rand(rng, (3,), "float64", low=0.1, high=0.9), rand(rng, (3,), "float64",
                                                               low=0.1, high=0.9)
    tx_, tw = rand(rng, (3,), "float64"), rand(rng, (3,), "float64")
    _, t = tx.jvp(f, (x, w), (tx_, tw))
    eps = 1e-6
    fd = (float(f(x + eps * tx_, w + eps * tw)) - float(f(x - eps * tx_, w - eps * tw))) / (2 * eps)
    np.testing.assert_allclose(float(t), fd, rtol=1e-5)


def test_grad_through_while_loop_is_an_error_that_names_the_line():
    def f(x):
        return tx.while_loop(lambda v: tx.sum(v) < 10.0, lambda v: v * 2.0, x)  # the loop

    line = _line() - 2
    with pytest.raises(TypeError) as e:
        tx.grad(lambda x: tx.sum(f(x)))(np.ones(3))
    message = str(e.value)
    assert "while" in message and "fori_loop" in message and "scan" in message
    assert f"{THIS_FILE}:{line}" in message


def newton_sqrt(a):
    """sqrt(a) by Newton's iteration: each element stops after its own number of steps."""
    return tx.while_loop(lambda v: tx.abs(v * v - a) > 1e-9 * a, lambda v: 0.5 * (v + a / v), a)


VMAP_CASES = {
    "cond_batched_predicate": lambda p, v: tx.cond(p, lambda u: u + 1.0, lambda u: u * 3.0, v),
    "switch_batched_index": lambda k, v: tx.switch(k, [lambda u: u, lambda u: -u,
                                                       lambda u: u * u], v),
    "while_per_element_trips": newton_sqrt,
    "fori_loop": lambda v: tx.fori_loop(0, 4, lambda i, u: u * 0.5 + tx.sin(u), v),
    "scan_batched_xs": lambda xs: tx.scan(lambda c, x: (c + x, c * x), 0.0, xs),
}


def _python_fori(v):
    for _ in range(4):
        v = v * 0.5 + np.sin(v)
    return v


def _python_scan(xs):
    c, ys = 0.0, []
    for x in xs:
        ys.append(c * x)
        c = c + x
    return c, np.array(ys)


@pytest.mark.parametrize("backend", BACKENDS3)
@pytest.mark.parametrize("name", sorted(VMAP_CASES))
def test_vmap_matches_a_python_loop(name, backend, rng):
    fn = VMAP_CASES[name]
    size = 5
    if name == "cond_batched_predicate":
        p, v = rng.random(size) < 0.5, rand(rng, (size, 2), "float64")
        got = tx.function(tx.vmap(fn), backend=backend)(p, v).numpy()
        want = np.stack([v[i] + 1.0 if p[i] else v[i] * 3.0 for i in range(size)])
    elif name == "switch_batched_index":
        k, v = rng.integers(-1, 4, size).astype(np.int32), rand(rng, (size, 2), "float64")
        got = tx.function(tx.vmap(fn), backend=backend)(k, v).numpy()
        want = np.stack([[v[i], -v[i], v[i] * v[i]][min(max(k[i], 0), 2)] for i in range(size)])
    elif name == "while_per_element_trips":
        a = rng.uniform(0.5, 500.0, size)
        got = tx.function(tx.vmap(fn), backend=backend)(a).numpy()
        want = np.sqrt(a)
    elif name == "fori_loop":
        v = rand(rng, (size, 3), "float64")
        got = tx.function(tx.vmap(fn), backend=backend)(v).numpy()
        want = np.stack([_python_fori(v[i]) for i in range(size)])
    else:
        xs = rand(rng, (size, 4), "float64")
        c, ys = tx.function(tx.vmap(fn), backend=backend)(xs)
        got = np.concatenate([c.numpy()[:, None], ys.numpy()], axis=1)
        want = np.stack([np.concatenate([[r[0]], r[1]]) for r in map(_python_scan, xs)])
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_per_example_gradients_through_a_scan(rng):
    """vmap(grad) through a scan: the per-example gradient of a small recurrence."""
    def per_example(w, xs):
        h, _ = tx.scan(lambda h, x: (tx.tanh(h * w + x), h), 0.0, xs)
        return h * h

    w, xs = 0.7, rand(rng, (4, 6), "float64", low=-1.0, high=1.0)
    got = tx.vmap(tx.grad(per_example), in_axes=(None, 0))(w, xs).numpy()
    want = [float(finite_differences(lambda w_: per_example(float(w_[0]), xs[i]),
                                     [np.array([w])], 0)[0]) for i in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
