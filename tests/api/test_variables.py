"""`tx.Variable`, eagerly and captured by `tx.function` on numpy, cpu and gpu-sim, against NumPy
on random inputs (never zeros): construction and its dtypes, every Tensor operator by reading
the value, `assign` / `assign_add` / `assign_sub` and their shape and dtype errors (naming both
and this file's line), a value read before an assign keeping its value; inside a compiled
function: the read-then-assign order of one call (TensorFlow's), no retrace when the value
changes, two functions sharing a Variable, a Variable passed as an argument (one trace for any
Variable of that type), the error for creating one inside a trace and for an assign inside a
control-flow body; `GradientTape` watching trainable Variables (not non-trainable ones unless
watched) eagerly, inside a compiled function and across a compiled call it records; `tx.grad`
treating a Variable as a constant; `explain` naming the Variables. Where the "gpu" backend can
run (a GPU, or the fake CuPy of tests/gpu/test_fake_cupy.py) the compiled tests run on it too.
"""

import inspect
import os

import numpy as np
import pytest
from oracle import assert_same, rand

import tracefuse as tx
from tracefuse.backends import get_backend
from tracefuse.frontend.variable import DELEGATED

THIS_FILE = os.path.basename(__file__)
COMPILED = ("numpy", "cpu", "gpu-sim") + (("gpu",) if get_backend("gpu").unavailable() is None
                                          else ())
compiled = pytest.mark.parametrize("backend", COMPILED)
modes = pytest.mark.parametrize("mode", ("eager",) + COMPILED)


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def maybe_compiled(mode, fn):
    return fn if mode == "eager" else tx.function(fn, backend=mode)


# --- construction and reading ----------------------------------------------------------------

def test_construction_infers_dtypes_as_tensorflow(rng):
    assert tx.Variable(1.5).dtype == tx.float32
    assert tx.Variable(3).dtype == tx.int32
    assert tx.Variable([True, False]).dtype == tx.bool
    x = rand(rng, (2, 3), "float64")
    v = tx.Variable(x, name="w", trainable=False)
    assert (v.shape, v.dtype, v.name, v.trainable, v.device) == ((2, 3), tx.float64, "w",
                                                                 False, "cpu")
    assert (v.ndim, v.size, len(v)) == (2, 6, 2)
    assert_same(v.value(), x)
    assert_same(tx.Variable(x, dtype=tx.float32).value(), x.astype(np.float32))
    assert_same(tx.Variable(lambda: tx.asarray(x)).value(), x)
    assert_same(tx.Variable(v).value(), x)
    assert tx.Variable(x).name == "Variable" and tx.Variable(x).trainable


def test_the_initial_array_is_copied_and_numpy_is_a_copy(rng):
    x = rand(rng, (5,), "float32")
    keep = x.copy()
    v = tx.Variable(x)
    x += 1  # the caller's array changes: the Variable does not
    out = v.numpy()
    out += 1
    np.testing.assert_array_equal(v.numpy(), keep)


def test_repr_like_tensorflow(rng):
    v = tx.Variable(np.array([1.0, 2.0], np.float32), name="w")
    assert repr(v) == ("<tx.Variable 'w' shape=(2,) dtype=float32, "
                       "numpy=array([1., 2.], dtype=float32)>")


def test_every_tensor_operator_and_method_is_there():
    for name in DELEGATED:
        assert hasattr(tx.Variable, name), name
    for name in ("__add__", "__radd__", "__matmul__", "__getitem__", "__lt__", "__array__",
                 "astype", "sum", "reshape", "T", "numpy", "item", "__float__"):
        assert name in DELEGATED, name


def operators(v, w, m):
    """Operators and methods on a Variable `v` (float64[3, 4]) and a Tensor or traced `w`."""
    return (v + w, 2.0 - v, v * w, v / 3.0, -v, abs(v), v ** 2, 1.0 + v, v > w, v <= 0.5,
            v @ m, m.T @ v.T, v[1], v[:, ::2], v.astype(tx.float32), v.sum(axis=0),
            v.reshape(12), v.T, tx.sum(v), tx.matmul(v, m), tx.where(v > 0, v, w),
            tx.maximum(v, w), tx.asarray(v))


def operators_np(v, w, m):
    return (v + w, 2.0 - v, v * w, v / 3.0, -v, np.abs(v), v ** 2, 1.0 + v, v > w, v <= 0.5,
            v @ m, m.T @ v.T, v[1], v[:, ::2], v.astype(np.float32), v.sum(axis=0),
            v.reshape(12), v.T, np.sum(v), v @ m, np.where(v > 0, v, w), np.maximum(v, w), v)


@modes
def test_operators_and_functions_read_the_value(mode, rng):
    x, w, m = rand(rng, (3, 4), "float64"), rand(rng, (3, 4), "float64"), \
        rand(rng, (4, 2), "float64")
    v = tx.Variable(x)
    fn = maybe_compiled(mode, lambda w, m: operators(v, w, m))
    got = fn(tx.asarray(w), tx.asarray(m)) if mode == "eager" else fn(w, m)
    for i, (g, e) in enumerate(zip(got, operators_np(x, w, m))):
        assert_same(g, e, what=f"{mode}[{i}]")


def test_numpy_conversions_and_scalars(rng):
    x = rand(rng, (3,), "float32")
    v = tx.Variable(x)
    np.testing.assert_array_equal(np.asarray(v), x)
    assert_same(np.ones(3, np.float32) + v, 1 + x)  # NumPy defers to the Variable
    s = tx.Variable(np.float64(2.5))
    assert float(s) == 2.5 and s.item() == 2.5 and f"{s:.1f}" == "2.5"
    assert int(tx.Variable(7)) == 7 and [1, 2, 3][tx.Variable(1)] == 2


# --- assigning eagerly -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "uint8"])
def test_assign_assign_add_assign_sub(rng, dtype):
    x, a, b, c = (rand(rng, (2, 5), dtype, low=1, high=20) for _ in range(4))
    v = tx.Variable(x)
    before = v.value()
    assert v.assign(a) is v
    assert_same(v.value(), a)
    assert_same(before, x)  # a value read earlier keeps its value
    assert v.assign_add(tx.asarray(b)) is v
    assert_same(v.value(), a + b)
    assert v.assign_sub(c) is v
    assert_same(v.value(), a + b - c)
    assert v.assign(a, read_value=False) is None


def test_assign_copies_the_callers_array_and_converts_python_scalars(rng):
    a = rand(rng, (4,), "float32")
    v = tx.Variable(np.zeros(4, np.float32) + 1)
    v.assign(a)
    a += 1  # the caller's array changes after the assign: the Variable does not
    assert_same(v.value(), a - 1)
    s = tx.Variable(np.float32(1.5))
    s.assign(3)
    assert_same(s.value(), np.float32(3))
    s.assign_add(0.25)
    assert_same(s.value(), np.float32(3.25))


def check_message(excinfo, line, *parts):
    text = str(excinfo.value)
    for p in parts:
        assert p in text, f"{p!r} not in {text!r}"
    assert f"{THIS_FILE}:{line}" in text, text


def bad_shape(v, x):
    v.assign(x)
    return x


def bad_dtype(v, x):
    v.assign_add(x.astype(tx.float64))
    return x


@modes
def test_assign_errors_name_both_types_and_the_line(mode, rng):
    v = tx.Variable(rand(rng, (2, 3), "float32"), name="w")
    wrong = rand(rng, (3, 2), "float32")
    fn = maybe_compiled(mode, lambda x: bad_shape(v, x))
    with pytest.raises(tx.ShapeError) as e:
        fn(tx.asarray(wrong))
    check_message(e, inspect.getsourcelines(bad_shape)[1] + 1, "(3, 2)", "(2, 3)", "'w'")
    fn = maybe_compiled(mode, lambda x: bad_dtype(v, x))
    with pytest.raises(tx.DTypeError) as e:
        fn(tx.asarray(rand(rng, (2, 3), "float32")))
    check_message(e, inspect.getsourcelines(bad_dtype)[1] + 1, "float64", "float32")
    i = tx.Variable(np.int32(3))
    line = _line() + 2
    with pytest.raises(tx.DTypeError) as e:
        i.assign(2.5)
    check_message(e, line, "2.5", "int32")
    with pytest.raises(tx.DTypeError):
        tx.Variable(np.int8(3)).assign(1000)  # out of int8's range


# --- inside tx.function ----------------------------------------------------------------------

def step(v, x):
    """Read, assign, read again: the first read sees the old value, the second the new."""
    before = v * x
    v.assign_add(x)
    after = v + 1.0
    v.assign_sub(x * 0.5)
    return before, after


@compiled
def test_read_then_assign_order_and_no_retrace(backend, rng):
    x0 = rand(rng, (7,), "float32")
    v = tx.Variable(x0)
    f = tx.function(lambda x: step(v, x), backend=backend)
    expected = x0.copy()
    for k in range(4):
        x = rand(rng, (7,), "float32")
        before, after = f(x)
        assert_same(before, expected * x, what=f"call {k} before")
        assert_same(after, expected + x + 1.0, what=f"call {k} after")
        expected = expected + x - x * np.float32(0.5)
        assert_same(v.value(), expected, what=f"call {k} variable")
        if k == 1:  # an eager assign between calls: read by the next call, no retrace
            expected = rand(rng, (7,), "float32")
            v.assign(expected)
    assert f.trace_count == 1


@compiled
def test_two_functions_share_a_variable(backend, rng):
    count = tx.Variable(np.int64(0), trainable=False)
    total = tx.Variable(np.zeros(3) + 1.0)
    add = tx.function(lambda x: (count.assign_add(1), total.assign_add(x))[1].value(),
                      backend=backend)
    mean = tx.function(lambda: total / count.astype(tx.float64), backend="numpy")
    xs = [rand(rng, (3,), "float64") for _ in range(3)]
    for k, x in enumerate(xs, 1):
        got = add(x)
        assert_same(got, 1.0 + sum(xs[:k]))
        assert_same(mean(), (1.0 + sum(xs[:k])) / k)
    assert count.numpy() == 3 and add.trace_count == 1 and mean.trace_count == 1


@compiled
def test_assign_only_and_read_only_variables(backend, rng):
    src, dst = tx.Variable(rand(rng, (2, 3), "float64")), tx.Variable(rand(rng, (2, 3), "float64"))
    def assign_twice_src():
        dst.assign(src * 2.0)

    copy = tx.function(assign_twice_src, backend=backend)
    expected = src.numpy() * 2
    assert copy() is None
    assert_same(dst.value(), expected)
    cf = copy.concrete_functions[0]
    assert cf.reads == (src,) and cf.writes == (dst,)


@compiled
def test_a_variable_as_an_argument(backend, rng):
    @tx.function(backend=backend)
    def scale(v, x):
        v.assign(v * x)
        return v.value() + 0.0

    a, b = tx.Variable(rand(rng, (5,), "float64")), tx.Variable(rand(rng, (5,), "float64"))
    ea, eb = a.numpy(), b.numpy()
    for _ in range(2):
        x = rand(rng, (5,), "float64")
        assert_same(scale(a, x), ea * x)
        ea = ea * x
        assert_same(scale(b, x), eb * x)
        eb = eb * x
    assert_same(a.value(), ea)
    assert_same(b.value(), eb)
    assert scale.trace_count == 1  # one trace serves every Variable of that type
    assert "cache hit" in scale.explain(tx.Variable(ea), x)
    assert "v: a tx.Variable -> an array" in scale.explain(tx.asarray(ea), x)
    frozen = tx.Variable(ea, trainable=False)
    assert "v: a Variable with trainable=True -> trainable=False" in scale.explain(frozen, x)


@compiled
def test_the_same_variable_passed_twice(backend, rng):
    @tx.function(backend=backend)
    def f(p, q):
        p.assign_add(q)
        return q + 0.0  # q is p: it sees the assign

    x = rand(rng, (3,), "float64")
    v = tx.Variable(x)
    assert_same(f(v, v), 2 * x)
    assert_same(v.value(), 2 * x)
    w, u = tx.Variable(x), tx.Variable(x + 1)
    assert_same(f(w, u), x + 1)  # another aliasing: another trace
    assert_same(w.value(), 2 * x + 1)
    assert f.trace_count == 2


def test_returning_a_variable_returns_its_value(rng):
    x = rand(rng, (3,), "float32")
    v = tx.Variable(x)
    f = tx.function(lambda: v, backend="numpy")
    got = f()
    assert isinstance(got, tx.Tensor)
    assert_same(got, x)


def test_creating_a_variable_inside_a_trace_names_the_line():
    def make(x):
        v = tx.Variable(x)  # the line the error names
        return v + 1

    line = inspect.getsourcelines(make)[1] + 1
    with pytest.raises(ValueError) as e:
        tx.function(make, backend="numpy")(np.ones(3))
    check_message(e, line, "tx.Variable", "traced", "outside")


def test_assign_inside_a_control_flow_body_names_the_line(rng):
    v = tx.Variable(rand(rng, (3,), "float64"))

    def body(i, x):
        v.assign(x)  # the line the error names
        return x

    line = inspect.getsourcelines(body)[1] + 1
    with pytest.raises(tx.ConcretizationError) as e:
        tx.function(lambda x: tx.fori_loop(0, 3, body, x), backend="numpy")(np.ones(3))
    check_message(e, line, "assign", "tx.where")


def test_reads_inside_control_flow_and_transforms_are_captured(rng):
    x0 = rand(rng, (4,), "float64", low=0.5, high=2)
    v = tx.Variable(x0)

    @tx.function(backend="numpy")
    def f(x):
        y = tx.fori_loop(0, 3, lambda i, c: c * v, x)
        g = tx.grad(lambda x: tx.sum(x * v * v))(x)  # v is a constant to grad
        return y, g

    x = rand(rng, (4,), "float64")
    y, g = f(x)
    assert_same(y, x * x0 ** 3)
    assert_same(g, x0 * x0)
    v.assign(x0 + 1)
    y, g = f(x)
    assert_same(y, x * (x0 + 1) ** 3)
    assert f.trace_count == 1


def test_grad_treats_a_variable_as_a_constant_eagerly(rng):
    x0, x = rand(rng, (4,), "float64"), rand(rng, (4,), "float64")
    v = tx.Variable(x0)
    assert_same(tx.grad(lambda x: tx.sum(tx.sin(x) * v))(x), np.cos(x) * x0)


def test_explain_names_the_captured_variables(rng):
    v = tx.Variable(rand(rng, (2,), "float32"), name="weights")
    f = tx.function(lambda x: v.assign_add(x).value(), backend="numpy")
    x = rand(rng, (2,), "float32")
    f(x)
    text = f.explain(x)
    assert "cache hit" in text and "weights (float32[2]): captured, read and assigned" in text


def test_run_functions_eagerly_updates_the_variable(rng):
    x0, x = rand(rng, (3,), "float64"), rand(rng, (3,), "float64")
    v = tx.Variable(x0)
    f = tx.function(lambda x: step(v, x), backend="numpy")
    tx.config.run_functions_eagerly(True)
    try:
        before, after = f(x)
    finally:
        tx.config.run_functions_eagerly(False)
    assert_same(before, x0 * x)
    assert_same(after, x0 + x + 1)
    assert_same(v.value(), x0 + x * 0.5)


# --- tapes -----------------------------------------------------------------------------------

def small(rng, shape):
    """Inputs where tanh(x @ w) does not saturate (1 - t * t would cancel)."""
    return rand(rng, shape, "float64", low=-0.7, high=0.7)


def loss_of(w, b, x):
    return tx.sum(tx.tanh(x @ w) * b)


def loss_np_grads(w, b, x):
    t = np.tanh(x @ w)
    return np.sum(t * b), x.T @ ((1 - t * t) * b)


def tape_step(w, b, x):
    with tx.GradientTape() as tape:
        loss = loss_of(w, b, x)
    gw, gb = tape.gradient(loss, [w, b])
    return loss, gw, gb


@modes
def test_tape_watches_trainable_variables_only(mode, rng):
    w0, b0, x = small(rng, (3, 2)), small(rng, (2,)), small(rng, (4, 3))
    w, b = tx.Variable(w0), tx.Variable(b0, trainable=False)
    fn = maybe_compiled(mode, lambda x: tape_step(w, b, x))
    loss, gw, gb = fn(x)
    expected_loss, expected_gw = loss_np_grads(w0, b0, x)
    assert_same(loss, expected_loss)
    assert_same(gw, expected_gw)
    assert gb is None


def watched_step(w, b, x):
    with tx.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(b)
        loss = loss_of(w, b, x)
    return tape.gradient(loss, [w, b], unconnected_gradients="zero")


@modes
def test_tape_watch_of_a_non_trainable_variable(mode, rng):
    w0, b0, x = small(rng, (3, 2)), small(rng, (2,)), small(rng, (4, 3))
    w, b = tx.Variable(w0), tx.Variable(b0, trainable=False)
    gw, gb = maybe_compiled(mode, lambda x: watched_step(w, b, x))(x)
    assert_same(gw, np.zeros_like(w0))  # trainable, but not watched: zeros (asked for)
    assert_same(gb, np.sum(np.tanh(x @ w0), axis=0))


def sgd_step(w, x):
    """A compiled training step: gradient with the tape, then the update."""
    with tx.GradientTape() as tape:
        loss = tx.sum((x @ w) ** 2)
    w.assign_sub(0.1 * tape.gradient(loss, w))
    return loss


@compiled
def test_compiled_training_step(backend, rng):
    w0, x = rand(rng, (3, 2), "float64", low=-1, high=1), rand(rng, (5, 3), "float64",
                                                               low=-1, high=1)
    w = tx.Variable(w0)
    f = tx.function(lambda x: sgd_step(w, x), backend=backend)
    expected = w0.copy()
    for _ in range(3):
        loss = f(x)
        assert_same(loss, np.sum((x @ expected) ** 2))
        expected = expected - 0.1 * (2 * x.T @ (x @ expected))
        assert_same(w.value(), expected)
    assert f.trace_count == 1


def test_tape_records_a_compiled_call_reading_a_variable(rng):
    w0, b0, x = small(rng, (3, 2)), small(rng, (2,)), small(rng, (4, 3))
    w, b = tx.Variable(w0), tx.Variable(b0, trainable=False)
    f = tx.function(lambda x: loss_of(w, b, x), backend="numpy")
    with tx.GradientTape() as tape:
        loss = f(x)
    gw, gb = tape.gradient(loss, [w, b])
    expected_loss, expected_gw = loss_np_grads(w0, b0, x)
    assert_same(loss, expected_loss)
    assert_same(gw, expected_gw)
    assert gb is None


def test_tape_sums_the_reads_of_a_variable_across_an_assign(rng):
    x0 = rand(rng, (3,), "float64")
    v = tx.Variable(x0)
    with tx.GradientTape() as tape:
        y = tx.sum(v * v)
        v.assign(v * 2.0)  # not differentiable: the next read is a new read of v
        y = y + tx.sum(v)
    assert_same(tape.gradient(y, v), 2 * x0 + 1)


@pytest.mark.gpu
def test_a_gpu_variable_stays_on_the_gpu(rng):
    x = rand(rng, (1000,), "float32")
    v = tx.Variable(tx.asarray(x, device="gpu"))
    f = tx.function(lambda y: v.assign_add(y).value(), backend="gpu")
    out = f(x)
    assert v.device == "gpu" and out.device == "gpu"
    assert_same(v.value(), x + x)
    host = tx.Variable(x)  # a host Variable updated by a GPU function stays on the host
    tx.function(lambda y: host.assign_add(y).value(), backend="gpu")(x)
    assert host.device == "cpu"
    assert_same(host.value(), x + x)
