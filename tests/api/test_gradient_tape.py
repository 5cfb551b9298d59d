"""`tx.GradientTape`, eagerly and inside `tx.function` (on each backend of oracle.BACKENDS),
against NumPy with hand-written derivatives on random inputs: `watch`, the gradient of a scalar
target to one source, a list and a dict of sources; `None` for an unconnected or unwatched
source and zeros with `unconnected_gradients="zero"`; `persistent=True` for several gradients
and RuntimeError naming the line for a second one on a non-persistent tape; nested tapes for a
second derivative; `output_gradients`; `stop_recording`; a non-scalar target and a list of targets
(summed, as TensorFlow); float32 kept float32; gradients through matmul, reductions and
indexing.

Each test body is one Python function of its inputs run in every mode: eagerly on Tensors, or
compiled with `tx.function` (the tape then records a span of the trace).
"""

import inspect
import os

import numpy as np
import pytest
from oracle import BACKENDS, assert_same, rand

import tracefuse as tx

THIS_FILE = os.path.basename(__file__)
MODES = ("eager",) + BACKENDS

modes = pytest.mark.parametrize("mode", MODES)


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def run(mode, fn, *inputs):
    """fn on Tensors of `inputs` eagerly, or compiled on backend `mode`."""
    if mode == "eager":
        return fn(*[tx.asarray(x) for x in inputs])
    return tx.function(fn, backend=mode)(*inputs)


# --- sources ---------------------------------------------------------------------------------------

def single(x):
    with tx.GradientTape() as tape:
        tape.watch(x)
        y = tx.sum(tx.exp(x) * x)
    return y, tape.gradient(y, x)


@modes
def test_gradient_to_one_source(mode, rng):
    x = rand(rng, (2, 3), "float64", low=-1, high=1)
    y, g = run(mode, single, x)
    assert_same(y, np.sum(np.exp(x) * x), what=mode)
    assert_same(g, np.exp(x) * (x + 1), what=mode)


def list_and_dict(x, w):
    with tx.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        t = tx.sum(tx.tanh(x @ w))
    return tape.gradient(t, [x, w]), tape.gradient(t, {"w": w, "x": x})


@modes
def test_list_and_dict_of_sources(mode, rng):
    x = rand(rng, (2, 3), "float64", low=-1, high=1)
    w = rand(rng, (3,), "float64", low=-1, high=1)
    as_list, as_dict = run(mode, list_and_dict, x, w)
    dz = 1 - np.tanh(x @ w) ** 2
    assert isinstance(as_list, list) and len(as_list) == 2
    assert isinstance(as_dict, dict) and set(as_dict) == {"w", "x"}
    for got in (as_list, [as_dict["x"], as_dict["w"]]):
        assert_same(got[0], np.outer(dz, w), what=f"{mode} x")
        assert_same(got[1], x.T @ dz, what=f"{mode} w")


def unconnected(x, z, u):
    with tx.GradientTape(persistent=True) as tape:
        tape.watch([x, z])  # z watched but not used; u used but not watched
        t = tx.sum(x * x * u)
    return (tape.gradient(t, [x, z, u]),
            tape.gradient(t, {"z": z, "u": u}, unconnected_gradients="zero"))


@modes
def test_unconnected_and_unwatched_sources(mode, rng):
    x, z, u = (rand(rng, (3,), "float64") for _ in range(3))
    z[0], u[1] = np.inf, np.nan  # the zeros of an unconnected source are zeros still
    nones, zeros = run(mode, unconnected, x, z, u)
    assert_same(nones[0], 2 * x * u, what=mode)
    assert nones[1] is None and nones[2] is None
    assert_same(zeros["z"], np.zeros(3), what=f"{mode} z")
    assert_same(zeros["u"], np.zeros(3), what=f"{mode} u")


def test_a_numpy_array_can_be_watched_eagerly(rng):
    x = rand(rng, (4,), "float64")
    with tx.GradientTape() as tape:
        tape.watch(x)
        y = tx.sum(tx.sin(x))
    assert_same(tape.gradient(y, x), np.cos(x))


def test_unconnected_gradients_must_be_none_or_zero(rng):
    x = tx.asarray(rand(rng, (2,), "float64"))
    with tx.GradientTape() as tape:
        tape.watch(x)
        y = tx.sum(x)
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, x, unconnected_gradients="zeros")


# --- persistent ------------------------------------------------------------------------------------

def persistent(x):
    with tx.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = tx.sum(tx.sin(x))
        b = tx.sum(x * x)
    return tape.gradient(a, x), tape.gradient(b, x), tape.gradient(a, x)


@modes
def test_a_persistent_tape_gives_several_gradients(mode, rng):
    x = rand(rng, (3,), "float64")
    ga, gb, ga2 = run(mode, persistent, x)
    assert_same(ga, np.cos(x), what=mode)
    assert_same(gb, 2 * x, what=mode)
    assert_same(ga2, np.cos(x), what=mode)


@modes
def test_a_second_gradient_on_a_non_persistent_tape_names_the_line(mode, rng):
    x = rand(rng, (3,), "float64")
    lines = []

    def twice(x):
        with tx.GradientTape() as tape:
            tape.watch(x)
            y = tx.sum(x * x)
        first = tape.gradient(y, x)
        lines.append(_line() + 1)
        return first, tape.gradient(y, x)

    with pytest.raises(RuntimeError) as info:
        run(mode, twice, x)
    msg = str(info.value)
    assert "persistent" in msg and f"{THIS_FILE}:{lines[0]}" in msg, msg


# --- higher derivatives, output_gradients, stop_recording --------------------------------------------

def nested(x):
    with tx.GradientTape() as outer:
        outer.watch(x)
        with tx.GradientTape() as inner:
            inner.watch(x)
            y = tx.sum(x ** 3 * tx.sin(x))
        dy = inner.gradient(y, x)
        s = tx.sum(dy)
    return dy, outer.gradient(s, x)


@modes
def test_nested_tapes_give_a_second_derivative(mode, rng):
    x = rand(rng, (3,), "float64", low=-2, high=2)
    dy, d2y = run(mode, nested, x)
    assert_same(dy, 3 * x ** 2 * np.sin(x) + x ** 3 * np.cos(x), what=mode)
    assert_same(d2y, 6 * x * np.sin(x) + 6 * x ** 2 * np.cos(x) - x ** 3 * np.sin(x),
                what=mode)


def weighted(x, w, ct):
    with tx.GradientTape() as tape:
        tape.watch([x, w])
        u = x * w  # (2, 3) * (3,): a non-scalar target
    return tape.gradient(u, [x, w], output_gradients=ct)


@modes
def test_output_gradients_weigh_the_target(mode, rng):
    x, ct = rand(rng, (2, 3), "float64"), rand(rng, (2, 3), "float64")
    w = rand(rng, (3,), "float64")
    gx, gw = run(mode, weighted, x, w, ct)
    assert_same(gx, ct * w, what=f"{mode} x")
    assert_same(gw, np.sum(ct * x, axis=0), what=f"{mode} w (summed over the broadcast axis)")


def paused(x):
    with tx.GradientTape() as tape:
        tape.watch(x)
        a = x * tx.sin(x)
        with tape.stop_recording():
            b = x * x  # a constant to the tape
        t = tx.sum(a * b)
    return tape.gradient(t, x)


@modes
def test_stop_recording_makes_a_constant(mode, rng):
    x = rand(rng, (3,), "float64")
    g = run(mode, paused, x)
    assert_same(g, (np.sin(x) + x * np.cos(x)) * x * x, what=mode)


# --- targets and dtypes -----------------------------------------------------------------------------

def non_scalar(x, w):
    with tx.GradientTape(persistent=True) as tape:
        tape.watch(x)
        u = tx.exp(x) * w  # (2, 3)
        v = tx.sum(x, axis=0)  # (3,)
        s = tx.sum(u)
    outside = tx.sum(u)  # not recorded: after the tape's block
    return (tape.gradient(u, x), tape.gradient([u, v], x), tape.gradient(s, x),
            tape.gradient(outside, x))


@modes
def test_a_non_scalar_target_or_a_list_of_targets_is_summed(mode, rng):
    x = rand(rng, (2, 3), "float64", low=-1, high=1)
    w = rand(rng, (3,), "float64")
    g_u, g_uv, g_sum, g_outside = run(mode, non_scalar, x, w)
    assert_same(g_u, np.exp(x) * w, what=f"{mode} d(sum u)/dx")
    assert_same(g_uv, np.exp(x) * w + 1, what=f"{mode} d(sum u + sum v)/dx")
    assert_same(g_sum, np.exp(x) * w, what=f"{mode} explicit sum")
    assert g_outside is None


def float32_tape(x, y):
    with tx.GradientTape() as tape:
        tape.watch([x, y])
        t = tx.sum(tx.tanh(x) * y * 0.5)  # a Python float does not promote float32
    return tape.gradient(t, [x, y])


@modes
def test_a_float32_tape_keeps_float32(mode, rng):
    x, y = rand(rng, (4,), "float32", low=-1, high=1), rand(rng, (4,), "float32")
    gx, gy = run(mode, float32_tape, x, y)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    assert_same(gx, (0.5 * y64 * (1 - np.tanh(x64) ** 2)).astype(np.float32), rtol=1e-5,
                what=f"{mode} x")
    assert_same(gy, (0.5 * np.tanh(x64)).astype(np.float32), rtol=1e-5, what=f"{mode} y")


def through_ops(x, m):
    with tx.GradientTape() as tape:
        tape.watch(x)
        t = (tx.max(x[1, ::-1]) + tx.mean(x[:, 1:]) + tx.sum(x.T @ x)
             + tx.sum((x @ m)[0]) + x[2, 0] * 3)
    return tape.gradient(t, x)


@modes
def test_gradient_through_matmul_reductions_and_indexing(mode, rng):
    x = rand(rng, (3, 4), "float64")
    m = rand(rng, (4, 2), "float64")
    g = run(mode, through_ops, x, m)
    expected = np.zeros_like(x)
    expected[1, np.argmax(x[1])] += 1  # max of a reversed row: the argmax of the row
    expected[:, 1:] += 1 / x[:, 1:].size  # mean
    expected += 2 * x.sum(axis=1, keepdims=True)  # sum(x.T @ x) = sum of squared row sums
    expected[0] += m.sum(axis=1)  # sum((x @ m)[0])
    expected[2, 0] += 3
    assert_same(g, expected, what=mode)


# --- compiled calls recorded by an eager tape ------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_an_eager_tape_records_a_compiled_call(backend, rng):
    """As TensorFlow records a tf.function: the tape keeps the compiled function's ops, and
    the reverse pass recomputes its intermediate values."""
    xs = rand(rng, (5,), "float64")
    h = tx.function(lambda x, w: tx.sum(tx.sin(x) * w), backend=backend)
    x, w = tx.asarray(xs), 0.5
    with tx.GradientTape() as tape:
        tape.watch(x)
        y = h(x, w) * 2.0
    assert_same(tape.gradient(y, x), 2 * 0.5 * np.cos(xs))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_eager_tape_over_an_eager_grad_gives_the_second_derivative(backend, rng):
    xs = rand(rng, (4,), "float64")
    x = tx.asarray(xs)
    with tx.config.backend(backend):
        with tx.GradientTape() as tape:
            tape.watch(x)
            z = tx.sum(tx.grad(lambda x: tx.sum(x ** 3))(x))  # sum(3 x**2)
        assert_same(tape.gradient(z, x), 6 * xs)
