"""@tx.function: the signature cache, static arguments, input_signature, retrace reports,
explain, eager switch, thread safety, aliasing, errors with the user's line, dumps."""

import inspect
import os
import warnings

import numpy as np
import pytest
from oracle import run_at_once

import tracefuse as tx


def lineno() -> int:
    return inspect.currentframe().f_back.f_lineno


def test_bare_and_with_options_and_jit_alias():
    @tx.function
    def f(x):
        return x + 1

    @tx.jit(backend="numpy")
    def g(x):
        return x + 1

    assert isinstance(f, tx.Function) and isinstance(g, tx.Function)
    assert f.__name__ == "f" and f.__doc__ is None
    np.testing.assert_array_equal(g(np.arange(3)).numpy(), [1, 2, 3])
    assert isinstance(g(np.arange(3)), tx.Tensor)


def test_cache_keys_on_shape_dtype_and_structure():
    @tx.function(backend="numpy")
    def f(x):
        return x * 2

    f(np.ones((3, 4), np.float32))
    f(np.ones((3, 4), np.float32) * 5)  # new values, same signature
    f(tx.ones((3, 4), dtype=tx.float32))  # a Tensor of the same shape and dtype hits too
    assert f.trace_count == 1
    f(np.ones((5, 4), np.float32))
    assert f.trace_count == 2
    f(np.ones((5, 4), np.float64))
    assert f.trace_count == 3
    assert len(f.concrete_functions) == 3


def test_static_arguments_are_part_of_the_key():
    @tx.function(backend="numpy", static_argnums=1, static_argnames=("axis",))
    def f(x, n, *, axis):
        return tx.sum(x, axis=axis) * n

    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(f(x, 2, axis=0).numpy(), x.sum(0) * 2)
    f(x, 2, axis=0)
    assert f.trace_count == 1
    np.testing.assert_array_equal(f(x, 3, axis=1).numpy(), x.sum(1) * 3)
    assert f.trace_count == 2


def test_unhashable_static_argument_is_a_clear_error_and_caches_nothing():
    @tx.function(backend="numpy", static_argnames="axes")
    def f(x, axes):
        return tx.sum(x, axis=axes)

    with pytest.raises(tx.SignatureError) as info:
        f(np.ones((2, 2)), axes=[0, 1])
    assert "axes" in str(info.value) and "unhashable" in str(info.value)
    assert "tuple" in str(info.value) and "test_function.py:" in str(info.value)
    assert f.trace_count == 0
    assert f(np.ones((2, 2)), axes=(0, 1)).numpy() == 4.0


def test_bad_static_declarations_fail_at_decoration():
    with pytest.raises(ValueError, match="static_argnames"):
        tx.function(lambda x: x, static_argnames="y")
    with pytest.raises(ValueError, match="static_argnums"):
        tx.function(lambda x: x, static_argnums=3)
    with pytest.raises(ValueError, match="unknown backend"):
        tx.function(lambda x: x, backend="tpu")


def test_keyword_defaults_and_varargs():
    @tx.function(backend="numpy")
    def f(x, *rest, scale=2.0, **named):
        out = x * scale
        for r in rest:
            out = out + r
        for v in named.values():
            out = out - v
        return out

    x = np.ones(2)
    np.testing.assert_array_equal(f(x).numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(f(x, x, x, scale=3.0, a=x).numpy(), [4.0, 4.0])
    with pytest.raises(TypeError, match="f\\(\\)"):
        f()


def test_wrong_argument_kind_names_the_argument():
    @tx.function(backend="numpy")
    def f(params):
        return params["w"]

    with pytest.raises(tx.DTypeError) as info:
        f({"w": "hello"})
    assert "params['w']" in str(info.value) and "str" in str(info.value)
    with pytest.raises(tx.DTypeError, match="datetime64"):
        f({"w": np.ones(2, "datetime64[s]")})
    assert f.trace_count == 0 or f.concrete_functions == []


def test_returning_a_non_array_is_an_error_and_caches_nothing():
    @tx.function(backend="numpy")
    def f(x):
        return x, "label"

    with pytest.raises(tx.DTypeError, match=r"result\[1\].*str"):
        f(np.ones(2))
    assert f.concrete_functions == []


def test_trace_that_raises_leaves_no_cache_entry_and_next_call_works():
    calls = {"n": 0}

    @tx.function(backend="numpy")
    def f(x):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return x + 1

    with pytest.raises(RuntimeError, match="boom"):
        f(np.ones(2))
    assert f.concrete_functions == []
    np.testing.assert_array_equal(f(np.ones(2)).numpy(), [2.0, 2.0])


def test_get_concrete_function_and_calling_it():
    @tx.function(backend="numpy")
    def f(x, y):
        return x @ y

    a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    cf = f.get_concrete_function(a, b)
    assert isinstance(cf, tx.ConcreteFunction)
    assert cf is f.get_concrete_function(a * 2, b)
    np.testing.assert_array_equal(cf(a, b).numpy(), a @ b)
    assert cf.kernels == []  # the numpy interpreter generates no kernels
    assert "matmul" in cf.ir("traced") and cf.ir("optimized") and cf.ir("fused")
    with pytest.raises(ValueError, match="unknown stage"):
        cf.ir("lowered-to-mars")
    with pytest.raises(tx.SignatureError, match=r"x: shape \(2, 3\) -> \(5, 3\)"):
        cf(np.ones((5, 3), np.float32), b)


def test_explain_says_hit_or_what_changed():
    @tx.function(backend="numpy", static_argnames="n")
    def f(x, n=1):
        return x * n

    assert "first call" in f.explain(np.ones((3, 4)))
    f(np.ones((3, 4), np.float32))
    assert "cache hit" in f.explain(np.ones((3, 4), np.float32))
    assert "x: shape (3, 4) -> (5, 4)" in f.explain(np.ones((5, 4), np.float32))
    assert "x: dtype float32 -> float64" in f.explain(np.ones((3, 4), np.float64))
    assert "n: static value 1 -> 2" in f.explain(np.ones((3, 4), np.float32), n=2)
    assert "x: float32[3, 4] -> Python float" in f.explain(1.0)
    assert f.trace_count == 1  # explain traces nothing


def test_explain_shows_the_backend_and_its_kernels():
    @tx.function(backend="cpu")
    def f(x):
        return tx.exp(x) + 1

    f(np.ones(2))
    text = f.explain(np.ones(2))
    assert "Numba: 1 kernels" in text and "generated kernel sources: 1" in text
    assert "kernel @k0 elementwise: serial loops over 2; ops exp, constant, add" in text
    assert "fusion refusals: 0" in text


def test_retrace_warning_names_what_keeps_changing():
    @tx.function(backend="numpy")
    def f(x):
        return x + 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 8):
            f(np.ones(n))
    retrace = [w for w in caught if issubclass(w.category, tx.RetraceWarning)]
    assert len(retrace) == 1
    message = str(retrace[0].message)
    assert "retraced 5 times" in message and "x (5 times)" in message
    assert "shape" in message
    assert retrace[0].filename == __file__  # points at the user's call


def test_no_retrace_warning_for_steady_calls():
    @tx.function(backend="numpy")
    def f(x):
        return x + 1

    with warnings.catch_warnings():
        warnings.simplefilter("error", tx.RetraceWarning)
        for n in (1, 2, 3, 4):
            f(np.ones(n))
        for _ in range(20):
            f(np.ones(4))


def test_input_signature_validates_and_allows_no_arg_concrete_function():
    @tx.function(backend="numpy", input_signature=[tx.TensorSpec((None, 3), tx.float32),
                                                  tx.TensorSpec((), tx.float32)])
    def f(x, s):
        return x * s

    out = f(np.ones((2, 3), np.float32), 2.0)  # a Python scalar converts to the spec's dtype
    assert out.dtype == tx.float32
    f(np.ones((7, 3), np.float32), np.float32(1))
    with pytest.raises(tx.SignatureError, match=r"x is float64\[2, 3\].*TensorSpec\(shape=\(None, 3\)"):
        f(np.ones((2, 3)), 2.0)
    with pytest.raises(tx.SignatureError, match="unknown"):
        f.get_concrete_function()

    @tx.function(backend="numpy", input_signature=[tx.TensorSpec((4,), tx.int32)])
    def g(x):
        return x + 1

    cf = g.get_concrete_function()
    assert cf.ir("traced").startswith("func @g(%0: i32[4])")
    np.testing.assert_array_equal(cf(np.arange(4, dtype=np.int32)).numpy(), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="one TensorSpec per parameter"):
        tx.function(lambda a, b: a, input_signature=[tx.TensorSpec((1,))])


def test_run_functions_eagerly_runs_python_every_call():
    calls = []

    @tx.function(backend="numpy")
    def f(x):
        calls.append(type(x).__name__)
        return x * 2

    tx.config.run_functions_eagerly(True)
    try:
        out = f(np.ones(2))
        f(np.ones(2))
    finally:
        tx.config.run_functions_eagerly(False)
    assert calls == ["Tensor", "Tensor"] and f.trace_count == 0  # as compiled code sees them
    assert isinstance(out, tx.Tensor)
    f(np.ones(2))
    assert calls[-1] == "Tracer" and f.trace_count == 1


def test_thread_safe_tracing_and_calls():
    @tx.function(backend="numpy")
    def f(x):
        return tx.tanh(x) * 2

    results = run_at_once(lambda i: f(np.full(16, float(i))).numpy(), 8)
    assert f.trace_count == 1
    for i, r in enumerate(results):
        np.testing.assert_allclose(r, np.tanh(np.full(16, float(i))) * 2)


@pytest.mark.parametrize("body", [
    lambda x: x,
    lambda x: x.T,
    lambda x: x[::2],
    lambda x: tx.reshape(x, (-1,)),
    lambda x: (x, x),
])
def test_outputs_never_alias_inputs_and_inputs_are_not_modified(body):
    f = tx.function(body, backend="numpy")
    x = np.arange(8.0).reshape(2, 4)
    before = x.copy()
    out = f(x)
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        assert not np.shares_memory(np.asarray(o), x)
    x[:] = -1.0  # changing the input afterwards does not change a returned output
    for o in outs:
        assert (o.numpy() >= 0).all()
    np.testing.assert_array_equal(before, np.arange(8.0).reshape(2, 4))


def test_broadcast_error_names_op_shapes_and_line():
    x, y = tx.ones((3, 4)), tx.ones((5,))
    with pytest.raises(tx.ShapeError) as info:
        x + y  # eager
    line = lineno() - 1
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "add" in msg and "(3, 4)" in msg and "(5,)" in msg and f"test_function.py:{line}" in msg

    @tx.function(backend="numpy")
    def f(a, b):
        return a * b

    line = lineno() - 2
    with pytest.raises(tx.ShapeError) as info:
        f(np.ones((3, 4)), np.ones(5))
    msg = str(info.value)
    assert "multiply" in msg and "(3, 4)" in msg and f"test_function.py:{line}" in msg


def test_lower_renders_without_running_and_gpu_is_unavailable():
    @tx.function(backend="numpy")
    def f(x):
        return tx.exp(x)

    lowered = f.lower(np.ones(3))
    assert "exp" in lowered.ir("traced") and lowered.kernels == []
    assert any("interpreter" in n for n in lowered.notes)

    @tx.function(backend="gpu")
    def g(x):
        return x + 1

    with pytest.raises(tx.BackendUnavailableError) as info:
        g(np.ones(2))
    assert isinstance(info.value, RuntimeError) and "tracefuse[gpu]" in str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_methods_and_nested_functions_inline():
    class Model:
        def __init__(self):
            self.w = np.full(3, 2.0)

        @tx.function(backend="numpy")
        def __call__(self, x):
            return inner(x) * self.w

    @tx.function(backend="numpy")
    def inner(x):
        return x + 1

    m = Model()
    np.testing.assert_array_equal(m(np.ones(3)).numpy(), [4.0, 4.0, 4.0])
    assert inner.trace_count == 0  # inlined into the outer trace


@pytest.fixture
def fresh_backend_choice():
    """TRACEFUSE_BACKEND is read once, at the first need: forget it (and any set_backend)
    before and after the test, so a monkeypatched value is read and none leaks out."""
    tx.config.set_backend(None)
    yield
    tx.config.set_backend(None)


def test_default_backend_from_environment(monkeypatch, fresh_backend_choice):
    monkeypatch.setenv("TRACEFUSE_BACKEND", "numpy")
    f = tx.function(lambda x: x + 1)
    f(np.ones(2))
    assert f.concrete_functions[0].backend == "numpy" and f.backend.name == "numpy"
    tx.config.set_backend(None)
    monkeypatch.setenv("TRACEFUSE_BACKEND", "nonsense")
    with pytest.raises(ValueError, match="TRACEFUSE_BACKEND"):
        f(np.ones(2))


def test_dump_dir_writes_each_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEFUSE_DUMP_DIR", str(tmp_path))

    @tx.function(backend="numpy")
    def dumped(x):
        return tx.sqrt(x)

    dumped(np.ones(3))
    names = sorted(os.listdir(tmp_path))
    assert names == ["dumped.1.00.traced.ir", "dumped.1.01.fold-constants.ir",
                     "dumped.1.02.simplify.ir", "dumped.1.03.fold-simplified.ir",
                     "dumped.1.04.cse.ir", "dumped.1.05.licm.ir", "dumped.1.06.hoist-xs.ir",
                     "dumped.1.07.dce.ir", "dumped.1.08.remat.ir", "dumped.1.09.fuse.ir"]
    assert "kernel @k0" in (tmp_path / names[-1]).read_text()
    assert "sqrt" in (tmp_path / names[0]).read_text()


def test_dead_code_is_removed_after_tracing():
    @tx.function(backend="numpy")
    def f(x):
        unused = tx.exp(x) * 3  # noqa: F841
        return x + 1

    cf = f.get_concrete_function(np.ones(2))
    assert "exp" in cf.ir("traced") and "exp" not in cf.ir("optimized")
