"""`f.check(...)` and `TRACEFUSE_CHECK=1` (compiler/check.py): correct functions are ok on
every backend, a kernel broken on purpose (the `perturb_outputs` hook) is named with its ops
and its user line, and check mode raises `tx.CheckError` at the first mismatch."""

import inspect

import numpy as np
import pytest

import tracefuse as tx
from oracle import rand
from tracefuse.compiler import check as check_module
from tracefuse.ir import OpCode

CHECK_BACKENDS = ("numpy", "cpu", "gpu-sim")


def softmax_matmul(x, w):
    y = x @ w
    e = tx.exp(y - tx.max(y, axis=-1, keepdims=True))  # SOFTMAX_LINE
    return e / tx.sum(e, axis=-1, keepdims=True)


def total_of_squares(x):
    return tx.sum(x * x, axis=0), tx.max(tx.abs(x))


def with_cond(x):
    return tx.cond(tx.sum(x) > 0, lambda v: v * 2.0, lambda v: v - 1.0, x)


def softmax_line() -> str:
    source, first = inspect.getsourcelines(softmax_matmul)
    offset = next(i for i, text in enumerate(source) if "SOFTMAX_LINE" in text)
    return f"test_check.py:{first + offset}"


def inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rand(rng, (3, 4), "float32"), rand(rng, (4, 5), "float32")


def break_kernels(monkeypatch, by=0.5):
    """Every compiled `kernel` op's outputs are off by `by` (the test-only hook)."""
    def perturb(op, outs):
        return [o + o.dtype.type(by) for o in outs] if op.code is OpCode.KERNEL else outs
    monkeypatch.setattr(check_module, "perturb_outputs", perturb)


@pytest.mark.parametrize("backend", CHECK_BACKENDS)
@pytest.mark.parametrize("fn, make", [
    (softmax_matmul, inputs),
    (total_of_squares, lambda: (rand(np.random.default_rng(1), (6, 3), "float64"),)),
    (with_cond, lambda: (rand(np.random.default_rng(2), (4,), "float32"),)),
])
def test_a_correct_function_is_ok(backend, fn, make):
    f = tx.function(fn, backend=backend)
    report = f.check(*make())
    assert report.ok, str(report)
    assert report.kernel is None and report.checked
    assert "ok" in str(report)


@pytest.mark.parametrize("backend", CHECK_BACKENDS)
def test_a_broken_kernel_is_named_with_its_user_line(backend, monkeypatch):
    break_kernels(monkeypatch)
    f = tx.function(softmax_matmul, backend=backend)
    report = f.check(*inputs())
    assert not report.ok and not report
    k = report.kernel
    assert k.name.startswith("kernel @")
    assert "exp" in k.ops and "reduce_sum" in k.ops
    assert softmax_line() in k.lines
    # the matmul before it ran alone and agreed
    assert [c.ok for c in report.checked] == [True, False]
    assert report.max_abs_error == pytest.approx(0.5, rel=1e-3)
    assert report.max_rel_error > 0.5
    assert len(report.index) == 2
    text = str(report)
    assert k.name in text and softmax_line() in text and "max abs error" in text


def test_an_integer_kernel_compares_exactly(monkeypatch):
    f = tx.function(lambda a: a * 3 + 1, backend="numpy")
    a = rand(np.random.default_rng(3), (5,), "int32")
    assert f.check(a).ok
    break_kernels(monkeypatch, by=1)
    report = f.check(a)
    assert not report.ok and report.max_abs_error == 1.0
    assert "exactly" in str(report)


def test_tolerances_can_be_widened():
    f = tx.function(softmax_matmul, backend="numpy")
    assert f.check(*inputs(), rtol=0.0, atol=0.0).ok  # the interpreter is the reference


def test_the_tolerance_is_per_dtype_and_a_wider_one_accepts(monkeypatch):
    break_kernels(monkeypatch, by=1e-9)
    f = tx.function(softmax_matmul, backend="numpy")
    x, w = inputs()
    assert f.check(x, w).ok  # 1e-9 is within float32's 1e-5
    report = f.check(x.astype(np.float64), w.astype(np.float64))
    assert not report.ok  # but not within float64's 1e-12
    assert f.check(x.astype(np.float64), w.astype(np.float64), rtol=1e-6).ok


def test_nan_where_the_reference_has_a_number_is_a_mismatch(monkeypatch):
    def perturb(op, outs):
        if op.code is not OpCode.KERNEL:
            return outs
        outs = [o.copy() for o in outs]
        outs[0].reshape(-1)[2] = np.nan
        return outs
    monkeypatch.setattr(check_module, "perturb_outputs", perturb)
    f = tx.function(lambda x: tx.exp(x) + 1, backend="numpy")
    report = f.check(rand(np.random.default_rng(4), (2, 3), "float32"))
    assert not report.ok and report.index == (0, 2)
    assert "NaN" in str(report)


def test_nan_and_inf_the_reference_also_has_are_ok():
    f = tx.function(lambda x: tx.log(x) * 2, backend="cpu")
    x = np.array([1.0, 0.0, -1.0, np.inf, 2.5])
    assert f.check(x).ok


def test_empty_and_0d_arrays():
    f = tx.function(lambda x: tx.sum(tx.exp(x)), backend="gpu-sim")
    assert f.check(np.zeros((0, 3), np.float32)).ok
    assert f.check(np.float64(0.5)).ok


def test_check_mode_raises_check_error_at_the_first_mismatch(monkeypatch):
    f = tx.function(softmax_matmul, backend="cpu")
    x, w = inputs()
    expected = f(x, w).numpy()
    monkeypatch.setenv("TRACEFUSE_CHECK", "1")
    tx.config.set_check_calls(None)  # read the environment again
    try:
        np.testing.assert_allclose(f(x, w).numpy(), expected, rtol=1e-6)  # correct: runs
        break_kernels(monkeypatch)
        with pytest.raises(tx.CheckError) as info:
            f(x, w)
        message = str(info.value)
        assert "kernel @" in message and softmax_line() in message
        assert "test_check.py" in message.splitlines()[-1]  # where the user called it
    finally:
        monkeypatch.delenv("TRACEFUSE_CHECK")
        tx.config.set_check_calls(None)
    assert f(x, w).numpy().shape == (3, 5)  # off again: the cached call path runs


def test_check_does_not_assign_variables():
    v = tx.Variable(np.ones(3, np.float32))

    @tx.function(backend="cpu")
    def step(x):
        v.assign(v + x)
        return v * 2

    x = np.full(3, 0.5, np.float32)
    assert step.check(x).ok
    np.testing.assert_array_equal(v.numpy(), np.ones(3, np.float32))
    step(x)
    np.testing.assert_array_equal(v.numpy(), np.full(3, 1.5, np.float32))


def test_a_broken_control_flow_op_is_named(monkeypatch):
    def perturb(op, outs):
        return [o + 1 for o in outs] if op.code is OpCode.COND else outs
    monkeypatch.setattr(check_module, "perturb_outputs", perturb)
    f = tx.function(with_cond, backend="cpu")
    report = f.check(rand(np.random.default_rng(5), (4,), "float32", low=0.5))
    assert not report.ok and report.kernel.name == "cond"
    assert {"multiply", "subtract"} <= set(report.kernel.ops)
    assert report.max_abs_error == 1.0


def test_check_mode_tolerances_from_the_environment(monkeypatch):
    f = tx.function(softmax_matmul, backend="cpu")
    x, w = inputs()
    monkeypatch.setenv("TRACEFUSE_CHECK", "1")
    monkeypatch.setenv("TRACEFUSE_CHECK_RTOL", "0.5")
    monkeypatch.setenv("TRACEFUSE_CHECK_ATOL", "10")
    tx.config.set_check_calls(None)
    try:
        break_kernels(monkeypatch)  # a perturbation far inside those tolerances: accepted
        assert f(x, w).numpy().shape == (3, 5)
        assert tx.config.check_tolerances() == (0.5, 10.0)
        monkeypatch.setenv("TRACEFUSE_CHECK_RTOL", "loose")
        tx.config.set_check_calls(None)
        with pytest.raises(ValueError, match="TRACEFUSE_CHECK_RTOL='loose' is not a number"):
            f(x, w)
    finally:
        for name in ("TRACEFUSE_CHECK", "TRACEFUSE_CHECK_RTOL", "TRACEFUSE_CHECK_ATOL"):
            monkeypatch.delenv(name, raising=False)
        tx.config.set_check_calls(None)
