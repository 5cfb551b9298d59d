"""`tx.optimizers` against Keras 3's update formulas written out in NumPy float64, step by step
for 5 steps on Variables of several shapes (0-d, size 1, empty, 2-D, 3-D; Fortran-order and
strided gradients), eagerly and inside `tx.function` on numpy, cpu and gpu-sim: SGD (plain,
momentum, nesterov, weight decay), Adam (and amsgrad), AdamW. Compiled: one trace for every step,
the slots created at the first (traced) call, the whole update one kernel per parameter shape at
most. None gradients (skipped with a warning; all None raises), a learning-rate schedule of
`iterations`, a new learning rate without a retrace, float32 Variables, a training step with a
GradientTape, and the errors (unknown variable, a Variable argument, a non-Variable, a gradient
of the wrong shape, an optimizer made inside a trace) naming this file's line.
"""

import inspect
import os
import warnings

import math

import numpy as np
import pytest
from oracle import assert_same, rand

import tracefuse as tx
from tracefuse.ir import OpCode

THIS_FILE = os.path.basename(__file__)
COMPILED = ("numpy", "cpu", "gpu-sim")
modes = pytest.mark.parametrize("mode", ("eager",) + COMPILED)
compiled = pytest.mark.parametrize("backend", COMPILED)
SHAPES = [(), (1,), (0,), (7,), (3, 5), (2, 1, 4)]
STEPS = 5

# (name, constructor keywords) of each optimizer configuration checked against Keras
CONFIGS = {
    "sgd": ("SGD", {"learning_rate": 0.1}),
    "sgd_momentum": ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    "sgd_weight_decay": ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "weight_decay": 0.01}),
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.02, "beta_1": 0.8, "amsgrad": True}),
    "adamw": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
}
DEFAULTS = {"SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False,
                    "weight_decay": None},
            "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                     "amsgrad": False, "weight_decay": None},
            "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9,
                      "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}}


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


# --- Keras 3's formulas in NumPy (keras/src/optimizers/{sgd,adam,base_optimizer}.py) -----------

def keras_reference(kind, hp, params, grad_steps, lrs=None):
    """The parameters after each step, as Keras computes them: `lr` is a float32 Variable (or a
    schedule's value) cast to the parameter dtype, weight decay `var -= var * wd * lr` first."""
    hp = {**DEFAULTS[kind], **hp}
    params = [p.astype(np.float64) for p in params]
    state = [{"m": np.zeros_like(p), "v": np.zeros_like(p), "vhat": np.zeros_like(p)}
             for p in params]
    out = []
    for k, grads in enumerate(grad_steps):
        lr = np.float64(np.float32(hp["learning_rate"])) if lrs is None else lrs[k]
        if hp["weight_decay"] is not None:
            params = [p - p * hp["weight_decay"] * lr for p in params]
        new = []
        for p, g, s in zip(params, grads, state):
            if g is None:
                new.append(p)
                continue
            if kind == "SGD":
                mom = hp["momentum"]
                if mom == 0:
                    p = p - g * lr
                else:
                    s["m"] = s["m"] * mom - g * lr
                    p = p + (s["m"] * mom - g * lr if hp["nesterov"] else s["m"])
            else:
                t = k + 1
                alpha = lr * np.sqrt(1 - hp["beta_2"] ** t) / (1 - hp["beta_1"] ** t)
                s["m"] = s["m"] + (g - s["m"]) * (1 - hp["beta_1"])
                s["v"] = s["v"] + (g * g - s["v"]) * (1 - hp["beta_2"])
                v = s["v"]
                if hp["amsgrad"]:
                    s["vhat"] = np.maximum(s["vhat"], s["v"])
                    v = s["vhat"]
                p = p - s["m"] * alpha / (np.sqrt(v) + hp["epsilon"])
            new.append(p)
        params = new
        out.append([p.copy() for p in params])
    return out


def make_problem(rng, shapes=SHAPES, dtype="float64"):
    params = [rand(rng, s, dtype) for s in shapes]
    grad_steps = []
    for _ in range(STEPS):
        grads = [rand(rng, s, dtype) for s in shapes]
        grads[-2] = np.asfortranarray(grads[-2])  # a Fortran-order gradient
        big = rand(rng, shapes[3][:-1] + (2 * shapes[3][-1],), dtype)
        grads[3] = big[..., ::2]  # a strided view
        grad_steps.append(grads)
    return params, grad_steps


def stepper(mode, opt, variables):
    def step(grads):
        opt.apply_gradients(zip(grads, variables))
    return step if mode == "eager" else tx.function(step, backend=mode)


def check_fused(cf, opt, variables, shapes):
    """Each parameter's update (its new value and its slots') comes out of one kernel, and
    there are at most one kernel per distinct parameter shape, plus the step counter's."""
    graph = cf.stage_graph("fused")
    kernels = [op for op in graph.ops if op.code is OpCode.KERNEL]
    producer = {id(out): op for op in graph.ops for out in op.outputs}
    written = {id(v): out for v, out in zip(cf.writes, graph.outputs[-len(cf.writes):])}
    for v in variables:
        if v.size == 0:  # nothing to compute: the simplifier may make it a constant
            continue
        state = [v, *opt.slots(v).values()]
        ops = {id(producer[id(written[id(s)])]) for s in state}
        assert len(ops) == 1, cf.ir("fused")
        assert producer[id(written[id(v)])].code is OpCode.KERNEL, cf.ir("fused")
    # kernels that write only empty arrays cost nothing and are not counted
    working = [k for k in kernels if any(v.type.size for v in k.outputs)]
    assert len(working) <= len({s for s in shapes if math.prod(s)}) + 1, cf.ir("fused")
    return kernels


@pytest.mark.parametrize("config", sorted(CONFIGS))
@modes
def test_matches_keras_step_by_step(config, mode, rng):
    kind, hp = CONFIGS[config]
    params, grad_steps = make_problem(rng)
    variables = [tx.Variable(p, name=f"p{i}") for i, p in enumerate(params)]
    opt = getattr(tx.optimizers, kind)(**hp)
    assert not opt.built
    step = stepper(mode, opt, variables)
    expected = keras_reference(kind, hp, params, grad_steps)
    for k, grads in enumerate(grad_steps):
        step([tx.asarray(g) if i % 2 else g for i, g in enumerate(grads)])
        for i, v in enumerate(variables):
            assert_same(v.value(), expected[k][i], rtol=1e-12, atol=1e-15,
                        what=f"{config} {mode} step {k} param {SHAPES[i]}")
    assert opt.built and opt.iterations.numpy() == STEPS
    assert opt.iterations.dtype == tx.int64
    if mode != "eager":
        assert step.trace_count == 1
        check_fused(step.concrete_functions[0], opt, variables, SHAPES)


def test_defaults_are_keras():
    for kind, defaults in DEFAULTS.items():
        opt = getattr(tx.optimizers, kind)()
        assert opt.learning_rate.numpy() == np.float32(defaults["learning_rate"])
        assert opt.learning_rate.dtype == tx.float32
        for name, value in defaults.items():
            if name != "learning_rate":
                assert getattr(opt, name) == value, (kind, name)
    assert tx.optimizers.SGD().momentum == 0.0 and tx.optimizers.SGD().nesterov is False
    assert tx.optimizers.Adam().name == "adam" and tx.optimizers.AdamW().name == "adamw"


@modes
def test_float32_variables_match_keras_in_float32(mode, rng):
    shapes = [(4,), (3, 6)]
    params = [rand(rng, s, "float32") for s in shapes]
    grad_steps = [[rand(rng, s, "float32") for s in shapes] for _ in range(STEPS)]
    variables = [tx.Variable(p) for p in params]
    opt = tx.optimizers.Adam(learning_rate=0.03)
    step = stepper(mode, opt, variables)
    expected = keras_reference("Adam", {"learning_rate": 0.03}, params, grad_steps)
    for k, grads in enumerate(grad_steps):
        step(grads)
        for i, v in enumerate(variables):
            got = v.value()
            assert got.dtype == tx.float32
            np.testing.assert_allclose(got.numpy(), expected[k][i], rtol=2e-5, atol=2e-6)
    assert all(s.dtype == tx.float32 for s in opt.variables[2:])


@modes
def test_none_gradients_are_skipped_with_a_warning(mode, rng):
    a, b = tx.Variable(rand(rng, (3,), "float64")), tx.Variable(rand(rng, (2, 2), "float64"))
    a0, b0 = a.numpy(), b.numpy()
    opt = tx.optimizers.Adam(learning_rate=0.1)

    def step(g):
        opt.apply_gradients([(g, a), (None, b)])

    f = step if mode == "eager" else tx.function(step, backend=mode)
    grads = [rand(rng, (3,), "float64") for _ in range(3)]
    expected = keras_reference("Adam", {"learning_rate": 0.1}, [a0, b0],
                               [[g, None] for g in grads])
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['Variable'\]"):
        f(grads[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for g in grads[1:]:
            f(g)
    assert_same(a.value(), expected[-1][0], rtol=1e-12)
    assert_same(b.value(), b0)
    assert_same(opt.slots(b)["momentum"].value(), np.zeros((2, 2)))  # built, never updated
    assert opt.iterations.numpy() == 3
    with pytest.raises(ValueError, match="no gradients provided for any variable"):
        opt.apply_gradients([(None, a), (None, b)])


@modes
def test_a_schedule_of_iterations(mode, rng):
    shapes = [(5,), (2, 3)]
    params = [rand(rng, s, "float64") for s in shapes]
    grad_steps = [[rand(rng, s, "float64") for s in shapes] for _ in range(STEPS)]
    variables = [tx.Variable(p) for p in params]
    seen = []

    def schedule(iterations):
        seen.append(iterations)
        return 0.2 / (1.0 + tx.astype(iterations, tx.float64))

    opt = tx.optimizers.SGD(learning_rate=schedule, momentum=0.5)
    step = stepper(mode, opt, variables)
    lrs = [0.2 / (1.0 + k) for k in range(STEPS)]
    expected = keras_reference("SGD", {"momentum": 0.5}, params, grad_steps, lrs=lrs)
    for k, grads in enumerate(grad_steps):
        step(grads)
        for i, v in enumerate(variables):
            assert_same(v.value(), expected[k][i], rtol=1e-12)
    assert seen[0] is opt.iterations  # the schedule is called with the counter, as in Keras
    assert opt.learning_rate.numpy() == pytest.approx(0.2 / (1 + STEPS))
    assert all(v is not None for v in opt.variables) and len(opt.variables) == 1 + 2
    if mode != "eager":
        assert step.trace_count == 1


@compiled
def test_a_new_learning_rate_needs_no_retrace(backend, rng):
    p = rand(rng, (6,), "float64")
    v = tx.Variable(p)
    opt = tx.optimizers.SGD(learning_rate=0.1)
    step = tx.function(lambda g: opt.apply_gradients([(g, v)]), backend=backend)
    g1, g2 = rand(rng, (6,), "float64"), rand(rng, (6,), "float64")
    step(g1)
    opt.learning_rate = 0.25
    step(g2)
    expected = p - g1 * np.float64(np.float32(0.1)) - g2 * 0.25
    assert_same(v.value(), expected, rtol=1e-12)
    assert step.trace_count == 1


@compiled
def test_a_training_step_with_a_tape_matches_eager(backend, rng):
    x, y = rand(rng, (16, 3), "float64"), rand(rng, (16, 2), "float64")
    w0, b0 = rand(rng, (3, 2), "float64"), rand(rng, (2,), "float64")

    def make():
        w, b = tx.Variable(w0), tx.Variable(b0)
        opt = tx.optimizers.AdamW(learning_rate=0.05)

        def train_step(x, y):
            with tx.GradientTape() as tape:
                loss = tx.mean((x @ w + b - y) ** 2)
            grads = tape.gradient(loss, [w, b])
            opt.apply_gradients(zip(grads, [w, b]))
            return loss
        return w, b, train_step

    we, be, eager_step = make()
    wc, bc, step = make()
    step = tx.function(step, backend=backend)
    for _ in range(4):
        assert_same(step(x, y), eager_step(x, y).numpy(), rtol=1e-12)
    assert_same(wc.value(), we.numpy(), rtol=1e-12)
    assert_same(bc.value(), be.numpy(), rtol=1e-12)
    assert step.trace_count == 1


def test_build_first_then_only_those_variables(rng):
    a, b = tx.Variable(rand(rng, (3,), "float32")), tx.Variable(rand(rng, (3,), "float32"))
    opt = tx.optimizers.Adam()
    opt.build([a])
    assert opt.built and set(opt.slots(a)) == {"momentum", "velocity"}
    assert opt.slots(a)["velocity"].shape == (3,) and not opt.slots(a)["momentum"].trainable
    line = _line() + 2
    with pytest.raises(ValueError, match="unknown variable") as e:
        opt.apply_gradients([(np.ones(3, np.float32), b)])
    assert f"{THIS_FILE}:{line}" in str(e.value)
    assert opt.iterations.numpy() == 0
    with pytest.raises(KeyError, match="not built for it"):
        opt.slots(b)


def test_errors_name_the_line(rng):
    v = tx.Variable(rand(rng, (2, 3), "float64"))
    opt = tx.optimizers.SGD()
    line = _line() + 2
    with pytest.raises(tx.ShapeError, match=r"shape \(3, 2\), the variable \(2, 3\)") as e:
        opt.apply_gradients([(np.ones((3, 2)), v)])
    assert f"{THIS_FILE}:{line}" in str(e.value)
    line = _line() + 2
    with pytest.raises(TypeError, match="not a tx.Variable") as e:
        tx.optimizers.SGD().apply_gradients([(np.ones(2), tx.asarray(np.ones(2)))])
    assert f"{THIS_FILE}:{line}" in str(e.value)
    with pytest.raises(TypeError, match="floating-point Variables only"):
        tx.optimizers.SGD().apply_gradients([(np.ones(2, np.int32),
                                              tx.Variable(np.ones(2, np.int32)))])
    with pytest.raises(ValueError, match="momentum"):
        tx.optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        tx.optimizers.SGD().apply([np.ones(2), np.ones(2)], [tx.Variable(np.ones(2))])


@compiled
def test_a_variable_argument_is_refused_and_creating_inside_a_trace_too(backend, rng):
    opt = tx.optimizers.SGD(momentum=0.9)

    lines = []

    @tx.function(backend=backend)
    def step(v, g):
        lines.append(_line() + 1)
        opt.apply_gradients([(g, v)])

    with pytest.raises(TypeError, match="Capture the parameters by closure") as e:
        step(tx.Variable(rand(rng, (3,), "float64")), rand(rng, (3,), "float64"))
    assert f"{THIS_FILE}:{lines[0]}" in str(e.value)
    assert not opt.built

    @tx.function(backend=backend)
    def make(x):
        tx.optimizers.Adam()
        return x

    with pytest.raises(ValueError, match="created inside a function being traced"):
        make(rand(rng, (2,), "float64"))


def test_slots_made_inside_a_trace_outlive_it(rng):
    v = tx.Variable(rand(rng, (4,), "float64"))
    opt = tx.optimizers.Adam(learning_rate=0.1)
    step = tx.function(lambda g: opt.apply_gradients([(g, v)]), backend="numpy")
    step(rand(rng, (4,), "float64"))
    m = opt.slots(v)["momentum"]
    assert m.device == "cpu" and np.all(m.numpy() != 0)
    assert [s.name for s in opt.variables] == ["adam/iterations", "adam/learning_rate",
                                               "adam/Variable_momentum", "adam/Variable_velocity"]
