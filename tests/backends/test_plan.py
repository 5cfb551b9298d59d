"""The execution plan (backends/plan.py), the one every backend runs: its slots (inputs, then
constants, then intermediates), the release and reuse of dead slots, and the copies of outputs
that alias an input or a constant. Each function runs on every backend and is compared with
NumPy; its results must never share memory with an argument, a kept constant or a result of
an earlier call."""

import numpy as np
import pytest
from oracle import assert_same, rand

import tracefuse as tx
from tracefuse.backends import Plan, get_backend, make_plan
from tracefuse.backends.numba.backend import executor_source
from tracefuse.backends.numpy.backend import Interpreter
from tracefuse.backends.plan import BODY, CONSTANT, KERNEL, OP
from tracefuse.ir import parse_graph

BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(get_backend(b).unavailable() is not None,
                                                     reason=str(get_backend(b).unavailable())))
            for b in ("numpy", "cpu", "gpu-sim", "gpu")]
CONST = np.arange(9.0, dtype=np.float32).reshape(3, 3) / 7


def plan_of(fn, *args, backend="numpy") -> Plan:
    f = tx.function(fn, backend=backend)
    return f.get_concrete_function(*args).lowered.plan


def run_checked(backend, fn, np_fn, *args):
    """fn on `backend` equals np_fn; no result shares memory with an argument, and none with
    the results of a second call; changing an argument afterwards changes no result."""
    f = tx.function(fn, backend=backend)
    args = [np.array(a) for a in args]
    expected = np_fn(*[a.copy() for a in args])
    expected = expected if isinstance(expected, tuple) else (expected,)
    first = f(*args)
    first = first if isinstance(first, tuple) else (first,)
    second = f(*args)
    second = second if isinstance(second, tuple) else (second,)
    assert len(first) == len(expected)
    for got, want in zip(first, expected):
        assert_same(got, want, what=backend)
    for got in first:
        for a in args:
            assert not np.shares_memory(np.asarray(got), a), \
                f"{backend}: a result aliases an input"
        for later in second:
            assert not np.shares_memory(np.asarray(got), np.asarray(later)), \
                f"{backend}: results of two calls share memory"
    for a in args:
        a[...] = 0  # the caller changes its arrays: the results stay
    for got, want in zip(first, expected):
        assert_same(got, want, what=f"{backend} after the arguments changed")
    return first


# --- the plan itself ------------------------------------------------------------------------------
def test_slots_are_inputs_then_constants_then_intermediates(rng):
    x = rand(rng, (2, 3), "float32")
    plan = plan_of(lambda x: tx.concat([x, tx.asarray(CONST)]) @ tx.asarray(CONST), x)
    assert plan.n_inputs == 1
    assert [s.kind for s in plan.constants] == [CONSTANT]
    assert plan.constant_slots == (1,)
    assert [s.kind for s in plan.steps] == [OP, OP]
    concat, matmul = plan.steps
    assert concat.ins == (0, 1) and concat.outs == (2,)
    assert matmul.ins == (2, 1) and matmul.outs == (3,) and matmul.free == (2,)
    assert plan.outputs == (3,)
    assert plan.n_slots == 4


def test_dead_slots_are_released_and_reused(rng):
    x, a = rand(rng, (2, 3), "float32"), rand(rng, (3, 3), "float32")
    plan = plan_of(lambda x, a: (tx.exp(x @ a) @ a + 1) @ a, x, a)
    steps = plan.steps
    assert [s.kind for s in steps] == [OP, BODY, OP, BODY, OP]
    # each intermediate is released after its only use, and the next result takes its slot
    assert [s.outs for s in steps] == [(2,), (3,), (2,), (3,), (2,)]
    assert [s.free for s in steps] == [(), (2,), (3,), (2,), (3,)]
    assert plan.n_slots == 4  # two inputs and two live intermediates at most
    assert plan.outputs == (2,)
    text = plan.describe()
    assert "s3 = body @k0(s2); free s2" in text and "return s2" in text


def test_inputs_constants_and_outputs_are_never_released(rng):
    x = rand(rng, (4,), "float32")
    plan = plan_of(lambda x: (x, tx.exp(x), tx.concat([x, tx.asarray(CONST[0])])), x)
    fixed = set(range(plan.n_inputs)) | set(plan.constant_slots)
    for step in plan.steps:
        assert not set(step.free) & (fixed | set(plan.outputs))


def test_an_unused_result_is_released_at_once(rng):
    graph = parse_graph("""func @g(%0: f32[4]) -> (f32[4]) {
  %1: f32[4] = exp %0
  %2: f32[4] = negative %0
  %3: f32[4] = add %2, %2
  return %3
}""")
    plan = make_plan(graph)
    assert [(s.outs, s.free) for s in plan.steps] == [((1,), (1,)), ((1,), ()), ((2,), (1,))]
    x = rand(rng, (4,), "float32")
    (out,) = Interpreter(plan)([x])
    assert_same(tx.asarray(out), -x - x)


def test_copies_name_what_each_output_may_alias(rng):
    x = rand(rng, (2, 3), "float32")
    plan = plan_of(lambda x: (x, tx.exp(x), x @ tx.asarray(CONST), tx.asarray(CONST)), x,
                   backend="cpu")
    (const,) = plan.constant_slots
    copies = {c.position: c.slots for c in plan.copies}
    assert copies[0] == (0,)  # the input itself
    assert 1 not in copies  # a compiled kernel's result is fresh
    assert copies[2] == (0, const)  # a library op's result may be a view of its operands
    assert copies[3] == (const,)  # the kept constant
    assert [s.kind for s in plan.steps] == [KERNEL, OP]


def test_every_backend_lowers_to_the_same_plan(rng):
    x, a = rand(rng, (2, 3), "float32"), rand(rng, (3, 3), "float32")

    def fn(x, a):
        return tx.tanh(x @ a) * 2, x, tx.sum(x, axis=0)

    shapes = set()
    for b in ("numpy", "cpu", "gpu-sim"):
        plan = plan_of(fn, x, a, backend=b)
        assert isinstance(plan, Plan)
        shapes.add((plan.n_inputs, plan.n_slots, plan.outputs,
                    tuple((s.op.code, s.ins, s.outs, s.free) for s in plan.steps),
                    tuple((c.position, c.slots) for c in plan.copies)
                    if b == "numpy" else None))
        kinds = {s.kind for s in plan.steps if s.op.code.value == "kernel"}
        assert kinds == ({BODY} if b == "numpy" else {KERNEL})
    assert len({s[:4] for s in shapes}) == 1  # slots, steps and outputs agree


def test_the_numba_runner_is_generated_from_the_plan(rng):
    x, a = rand(rng, (2, 3), "float32"), rand(rng, (3, 3), "float32")
    f = tx.function(lambda x, a: (tx.exp(x @ a) @ a + 1) @ a, backend="cpu")
    f(x, a)
    lowered = f.get_concrete_function(x, a).lowered
    src = executor_source(lowered)
    for i, step in enumerate(lowered.plan.steps):
        assert f"s{step.outs[0]} = " in src
        if step.kind is KERNEL:
            assert f"k{i}(" in src
    assert "del s2" in src and "del s3" in src  # dead slots released
    # matmul's result may be a view of an operand as far as the plan knows: checked, copied
    # only where it shares memory with `a` (the first operand, s3, is a kernel's fresh result)
    assert "r0 = s2\n    if share(r0, s1):" in src and src.endswith("return [r0]\n")


def test_interpreter_runs_a_graph_or_its_plan(rng):
    x = rand(rng, (3, 3), "float32")
    graph = tx.function(lambda x: tx.exp(x) @ x, backend="numpy").get_concrete_function(x).graph
    expected = np.exp(x) @ x
    for runner in (Interpreter(graph), Interpreter(make_plan(graph))):
        (out,) = runner([x])
        np.testing.assert_allclose(out, expected, rtol=1e-6)


# --- aliased outputs, on every backend -----------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_returning_an_input(backend, rng):
    x = rand(rng, (3, 4), "float32")
    run_checked(backend, lambda x: x, lambda x: x, x)
    run_checked(backend, lambda x, y: (y, x), lambda x, y: (y, x), x, rand(rng, (2,), "int32"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_value_twice(backend, rng):
    x = rand(rng, (3, 4), "float32")
    run_checked(backend, lambda x: (x, x), lambda x: (x, x), x)
    a, b = run_checked(backend, lambda x: (tx.exp(x),) * 2, lambda x: (np.exp(x),) * 2, x)
    assert_same(a, b.numpy())


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_input_and_its_views(backend, rng):
    x = rand(rng, (4, 6), "float32")
    run_checked(backend, lambda x: (x, tx.reshape(x, (-1,))), lambda x: (x, x.reshape(-1)), x)
    run_checked(backend, lambda x: (x.T, x[::2, 1:], x), lambda x: (x.T, x[::2, 1:], x), x)
    run_checked(backend, lambda x: tx.reshape(x, (6, 4)) * 2, lambda x: x.reshape(6, 4) * 2, x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_kept_constant_returned(backend, rng):
    c = tx.asarray(CONST)
    x = rand(rng, (2, 3), "float32")
    run_checked(backend, lambda x: (x + 1, c), lambda x: (x + 1, CONST), x)
    run_checked(backend, lambda x: (tx.concat([x, c]), x @ c, c),
                lambda x: (np.concatenate([x, CONST]), x @ CONST, CONST), x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_library_ops_and_released_slots(backend, rng):
    x, a = rand(rng, (2, 3), "float32"), rand(rng, (3, 3), "float32")
    run_checked(backend, lambda x, a: (tx.exp(x @ a) @ a + 1) @ a,
                lambda x, a: (np.exp(x @ a) @ a + 1) @ a, x, a)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_kernels_run_their_bodys_plan(backend, rng):
    x = rand(rng, (5, 3), "float16", low=-2, high=2)
    run_checked(backend, lambda x: (tx.exp(x) * 2, x, tx.sum(x * x, axis=1)),
                lambda x: (np.exp(x) * np.float16(2), x, np.sum(x * x, axis=1)), x)
