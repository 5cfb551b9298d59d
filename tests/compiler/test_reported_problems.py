"""What a new user ran into with `@tx.function` (issue #13, item 5), each fixed: defaults left
out are constants of the trace; the eager switch hands the body Tensors; dumped kernel sources
are named by their language and every `.ir` dump parses back; `f.lower` fills the cache;
`static_argnums` on `*args` functions."""

import os

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.__main__ import main as command_line


# --- defaults that are not passed ----------------------------------------------------------
def test_a_default_left_out_is_a_constant_not_an_argument():
    f = tx.function(lambda x, mode="sum": tx.sum(x) if mode == "sum" else tx.max(x),
                    backend="numpy")
    x = np.arange(4.0)
    assert f(x).numpy() == 6.0
    assert f.trace_count == 1 and f.concrete_functions[0].signature == "x: f64[4]"
    f(x + 1)
    assert f.trace_count == 1
    with pytest.raises(tx.DTypeError, match="argument mode is a str.*static_argnames"):
        f(x, mode="max")  # passed, it is an argument like any other


def test_a_default_left_out_with_a_static_one_and_keyword_only_ones():
    @tx.function(backend="numpy", static_argnames="mode")
    def f(x, scale=2.0, *, mode="sum", bias=None):
        y = x * scale if bias is None else x * scale + bias
        return tx.sum(y) if mode == "sum" else tx.max(y)

    x = np.arange(4.0)
    assert f(x).numpy() == 12.0
    assert f(x, mode="sum").numpy() == 12.0
    assert f.trace_count == 1  # a static's default keys like the value passed
    assert f(x, mode="max").numpy() == 6.0
    assert f(x, bias=np.ones(4)).numpy() == 16.0  # the later default passed by keyword
    assert f(x, 3.0).numpy() == 18.0  # the earlier default passed, a weak scalar argument
    f(x, 5.0)
    assert f.trace_count == 4


def test_an_array_default_left_out_is_a_constant_of_the_trace():
    w = np.array([1.0, 2.0, 3.0])

    @tx.function(backend="numpy")
    def f(x, w=w):
        return x * w

    np.testing.assert_array_equal(f(np.ones(3)).numpy(), [1.0, 2.0, 3.0])
    assert "constant" in f.concrete_functions[0].ir("traced")
    assert "w" not in f.concrete_functions[0].signature
    np.testing.assert_array_equal(f(np.ones(3), np.zeros(3)).numpy(), [0.0, 0.0, 0.0])
    assert f.trace_count == 2


# --- the eager switch ----------------------------------------------------------------------
def test_eager_body_sees_tensors_and_behaves_as_compiled():
    seen = []

    @tx.function(backend="numpy")
    def f(x, s, n):
        seen.append((type(x).__name__, type(s).__name__, type(n).__name__))
        return x.astype(tx.float64) * s + n

    x = np.arange(3, dtype=np.float32)
    compiled = f(x, 2.0, 1)
    tx.config.run_functions_eagerly(True)
    try:
        eager = f(x, 2.0, 1)
    finally:
        tx.config.run_functions_eagerly(False)
    # traced, Python scalars are weak 0-d inputs; eagerly they stay Python scalars (as weak)
    assert seen == [("Tracer", "Tracer", "Tracer"), ("Tensor", "float", "int")]
    assert isinstance(eager, tx.Tensor) and eager.dtype == compiled.dtype == tx.float64
    np.testing.assert_array_equal(eager.numpy(), compiled.numpy())


def test_eager_body_cannot_change_or_return_the_callers_array():
    def write(x):
        x[0] = 5
        return x

    x = np.arange(3.0)
    for eagerly in (False, True):
        tx.config.run_functions_eagerly(eagerly)
        try:
            with pytest.raises(TypeError, match="immutable"):
                tx.function(write, backend="numpy")(x)
            out = tx.function(lambda a: a, backend="numpy")(x)
        finally:
            tx.config.run_functions_eagerly(False)
        assert not np.shares_memory(np.asarray(out), x)
        np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])


def test_eager_call_checks_arguments_as_a_compiled_call():
    f = tx.function(lambda x, axes: tx.sum(x, axis=axes), backend="numpy",
                    static_argnames="axes")
    tx.config.run_functions_eagerly(True)
    try:
        assert f(np.ones((2, 2)), axes=(0, 1)).numpy() == 4.0
        with pytest.raises(tx.SignatureError, match="unhashable"):
            f(np.ones((2, 2)), axes=[0, 1])
        with pytest.raises(tx.DTypeError, match="argument x is a str"):
            f("no", axes=0)
    finally:
        tx.config.run_functions_eagerly(False)
    assert f.trace_count == 0


# --- the dump folder -----------------------------------------------------------------------
def _dump(tmp_path, monkeypatch, backend: str) -> list[str]:
    monkeypatch.setenv("TRACEFUSE_DUMP_DIR", str(tmp_path))

    @tx.function(backend=backend)
    def dumped(x, y):
        return tx.sum(tx.exp(x) * y, axis=0) + 1

    dumped(np.ones((3, 4), np.float32), np.ones(4, np.float32))
    return sorted(os.listdir(tmp_path))


@pytest.mark.parametrize("backend, suffix", [("cpu", ".py"), ("gpu-sim", ".cu")])
def test_kernel_sources_are_named_by_their_language(tmp_path, monkeypatch, capsys, backend,
                                                    suffix):
    if tx.function(lambda x: x, backend=backend).backend.unavailable():
        pytest.skip(f"{backend} cannot run here")
    names = _dump(tmp_path, monkeypatch, backend)
    kernels = [n for n in names if ".kernel" in n]
    assert kernels and all(n.endswith(suffix) for n in kernels), names
    assert kernels[0] == f"dumped.1.{len(names) - len(kernels):02d}.kernel0{suffix}"
    irs = [n for n in names if n.endswith(".ir")]
    assert len(irs) + len(kernels) == len(names) and irs[-1].endswith(".fuse.ir")
    for name in irs:  # every .ir file parses back: `python -m tracefuse ir FILE`
        assert command_line(["ir", str(tmp_path / name)]) == 0
        assert capsys.readouterr().out.startswith("func @dumped(")
    assert command_line(["ir", str(tmp_path / kernels[0])]) == 2
    assert "is the source of a generated kernel" in capsys.readouterr().err


def test_the_numpy_backend_dumps_no_kernel_source(tmp_path, monkeypatch):
    names = _dump(tmp_path, monkeypatch, "numpy")
    assert all(n.endswith(".ir") for n in names) and names[-1] == "dumped.1.09.fuse.ir"


# --- lower fills the cache -----------------------------------------------------------------
def test_lower_fills_the_cache_and_the_next_call_does_not_trace():
    f = tx.function(lambda x: tx.exp(x) * 2, backend="cpu")
    x = np.ones(5, np.float32)
    lowered = f.lower(x)
    assert f.trace_count == 1 and len(f.concrete_functions) == 1
    assert "cache hit" in f.explain(x)
    np.testing.assert_allclose(f(x).numpy(), np.exp(x) * 2, rtol=1e-6)
    assert f.trace_count == 1
    assert lowered.compile() is f.get_concrete_function(x)
    assert f.lower(x).compile() is lowered.compile() and f.trace_count == 1


def test_lower_without_the_device_caches_and_the_call_says_what_is_missing():
    f = tx.function(lambda x: x + 1, backend="gpu")
    if f.backend.unavailable() is None:
        pytest.skip("a GPU is here")
    assert "__global__" in f.lower(np.ones(2)).kernels[0]
    with pytest.raises(tx.BackendUnavailableError, match="tracefuse\\[gpu\\]"):
        f(np.ones(2))
    assert f.trace_count == 1


# --- static_argnums on *args ---------------------------------------------------------------
def test_static_argnums_index_the_calls_positional_arguments_on_star_args():
    seen = []

    def body(*a):
        seen.append(type(a[1]))
        return a[0] * a[1] + a[2]

    f = tx.function(body, backend="numpy", static_argnums=(1,))
    x = np.arange(3.0)
    np.testing.assert_array_equal(f(x, 3, x).numpy(), x * 3 + x)
    f(x + 1, 3, x)
    assert f.trace_count == 1 and seen == [int]  # the value is static: a plain int
    assert "a[1]: static value 3 -> 4" in f.explain(x, 4, x)
    np.testing.assert_array_equal(f(x, 4, x).numpy(), x * 4 + x)
    assert f.trace_count == 2
    with pytest.raises(TypeError, match="static_argnums 1 but was called with 1 positional"):
        f(x)


def test_static_argnums_on_star_args_negative_named_and_methods():
    @tx.function(backend="numpy", static_argnums=(0, -1))
    def f(n, *rest):
        out = rest[0] * n
        for r in rest[1:-1]:
            out = out + r
        return out * rest[-1]

    x = np.ones(2)
    np.testing.assert_array_equal(f(2, x, x, 10).numpy(), [30.0, 30.0])
    np.testing.assert_array_equal(f(2, x, 10).numpy(), [20.0, 20.0])
    assert "rest[2]: static value 10 -> 11" in f.explain(2, x, x, 11)
    assert f.trace_count == 2

    class Model:
        @tx.function(backend="numpy", static_argnums=(2,))
        def __call__(self, x, *extra):
            return x * extra[0]

    np.testing.assert_array_equal(Model()(x, 3).numpy(), [3.0, 3.0])
