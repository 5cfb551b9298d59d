"""The Numba CPU backend on the workloads of BENCHMARKS.md (small sizes) and the semantics that
generated code can get wrong: integer wrap-around, division by zero, NaN in max/min, signed
zeros, shifts, full reductions split into parallel chunks, float32 sum accuracy, float16
fallback, and the kernel cache (a new shape of a seen function compiles nothing)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import tracefuse as tx
from oracle import assert_same, check, rand
from tracefuse.backends import kernel_cache
from tracefuse.backends.numba.backend import PARALLEL_MIN, executor_source

CPU = ("cpu",)


def gelu(x):
    return 0.5 * x * (1.0 + tx.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def gelu_np(x):
    c = np.float32(0.7978845608) if x.dtype == np.float32 else 0.7978845608
    return 0.5 * x * (1.0 + np.tanh(c * (x + 0.044715 * x**3)))


def softmax(x):
    e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
    return e / tx.sum(e, axis=-1, keepdims=True)


def softmax_np(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def layernorm(x, g, b):
    mu = tx.mean(x, axis=-1, keepdims=True)
    var = tx.var(x, axis=-1, keepdims=True)
    return (x - mu) / tx.sqrt(var + 1e-5) * g + b


def layernorm_np(x, g, b):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * g + b


@pytest.mark.parametrize("shape", [(7,), (33, 65), (300, 300)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu(rng, shape, dtype):
    check(gelu, gelu_np, rand(rng, shape, dtype, special=True), modes=CPU, rtol=1e-5, atol=1e-6)


def test_ten_op_chain(rng):
    a, b = rand(rng, (65, 129), "float32"), rand(rng, (65, 129), "float32")
    check(lambda a, b: (a * b + tx.sin(a)) / (1 + tx.exp(-b)) - tx.sqrt(tx.abs(a)) + a * a - b / 3,
          lambda a, b: (a * b + np.sin(a)) / (1 + np.exp(-b)) - np.sqrt(np.abs(a)) + a * a - b / 3,
          a, b, modes=CPU, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (64, 1030), (300, 256)])
def test_softmax_and_layernorm(rng, shape):
    x = rand(rng, shape, "float32")
    g, b = rand(rng, shape[-1:], "float32"), rand(rng, shape[-1:], "float32")
    check(softmax, softmax_np, x, modes=CPU, rtol=1e-5, atol=1e-7)
    check(layernorm, layernorm_np, x, g, b, modes=CPU, rtol=1e-4, atol=1e-5)


def test_softmax_propagates_nan_and_inf_per_row(rng):
    x = rand(rng, (4, 9), "float32")
    x[1, 3], x[2, 0] = np.nan, np.inf
    check(softmax, softmax_np, x, modes=CPU, rtol=1e-5, atol=1e-7)


def test_softmax_computes_exp_once_per_element(rng):
    # the sum pass stores exp(x - max) into the result row; the result pass reads it back
    x = rand(rng, (6, 300), "float32")
    (src,) = tx.function(softmax, backend="cpu").get_concrete_function(x).kernels
    assert src.count("exp_f32(") == 1 and src.count("o0[") == 3  # store, load, store
    check(softmax, softmax_np, x, modes=CPU, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (2, 3, 1500), (4, 2, 5, 7), (1, 4, 1, 7)])
def test_row_cache_on_every_rank_and_row_length(rng, shape):
    x = rand(rng, shape, "float64") * 30  # rows longer than a block of 1024, and of one element
    check(softmax, softmax_np, x, modes=CPU, rtol=1e-12, atol=1e-15)
    if shape[-1] > 1:  # size-1 axes are index 0 in the kernel: the row is still cached
        src = tx.function(softmax, backend="cpu").get_concrete_function(x).kernels[0]
        assert src.count("exp_f64(") == 1


def test_row_cache_needs_the_results_dtype_and_layout(rng):
    x = rand(rng, (5, 9), "float32")
    # a float64 result of a float32 exp: nowhere to keep it, computed twice
    wide = tx.function(lambda v: softmax(v).astype(tx.float64), backend="cpu")
    assert wide.get_concrete_function(x).kernels[0].count("exp_f32(") == 2
    check(lambda v: softmax(v).astype(tx.float64),
          lambda v: softmax_np(v).astype(np.float64), x, modes=CPU, rtol=1e-5, atol=1e-7)
    # reduced along the first axis: the result is not written in loop order
    check(lambda v: tx.exp(v) / tx.sum(tx.exp(v), axis=0), lambda v: np.exp(v) / np.exp(v).sum(0),
          x, modes=CPU, rtol=1e-5, atol=1e-7)
    # two row results: exp itself and the softmax; the log-softmax has no exp in its row pass
    check(lambda v: (tx.exp(v - 1.0), tx.exp(v - 1.0) / tx.sum(tx.exp(v - 1.0), axis=-1,
                                                                    keepdims=True)),
          lambda v: (np.exp(v - 1.0), np.exp(v - 1.0) / np.exp(v - 1.0).sum(-1, keepdims=True)),
          x, modes=CPU, rtol=1e-5, atol=1e-7)
    check(lambda v: tx.nn.log_softmax(v, axis=-1),
          lambda v: v - v.max(-1, keepdims=True)
          - np.log(np.exp(v - v.max(-1, keepdims=True)).sum(-1, keepdims=True)),
          x, modes=CPU, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sum_of_squares_parallel_chunks_and_accuracy(rng, dtype):
    n = 3 * 65536 + 123  # several parallel chunks and a ragged end
    x = rand(rng, (n,), dtype, low=-1, high=1)
    f = tx.function(lambda x: tx.sum(x * x), backend="cpu")
    got = float(f(x))
    exact = float(np.sum(x.astype(np.float64) ** 2))
    assert abs(got - exact) <= 1e-6 * exact
    assert f(x).dtype == dtype


def test_float32_sum_of_many_elements_is_accurate(rng):
    x = rng.random(5_000_000, dtype=np.float32)
    got = float(tx.function(lambda x: tx.sum(x), backend="cpu")(x))
    exact = float(np.sum(x, dtype=np.float64))
    assert abs(got - exact) <= 1e-6 * exact


@pytest.mark.parametrize("shape", [(700, 517), (3, 5, 300), (2, 257)])
def test_column_reductions_walk_memory_in_order(rng, shape):
    """Reductions over the leading axes (column sums, a bias gradient) run the reduced loops
    outside and blocks of columns inside: with an elementwise result beside them, a max, a
    mean, a ragged last block and an int sum, against NumPy (and float32 sums accumulated in
    float64, so closer to the exact sum than NumPy's)."""
    x, b = rand(rng, shape, "float32"), rand(rng, shape[-1:], "float32")
    lead = tuple(range(len(shape) - 1))
    f = tx.function(lambda x, b: (x * b, tx.mean(x * b, axis=lead), tx.max(x, axis=lead),
                                  tx.sum(tx.astype(x > 0, tx.int32), axis=lead)), backend="cpu")
    got = f(x, b)
    assert "for blk in " in f.get_concrete_function(x, b).kernels[0]  # render_columns
    exact = (x.astype(np.float64) * b).mean(lead)
    assert_same(got[0], x * b)
    np.testing.assert_allclose(got[1].numpy(), exact, rtol=1e-6, atol=1e-6)
    assert got[1].dtype == np.float32
    assert_same(got[2], x.max(lead))
    assert_same(got[3], (x > 0).astype(np.int32).sum(lead))


@pytest.mark.parametrize("shape,axis", [((8, 300, 40), 1), ((3, 7, 5), 1), ((50, 6, 33), 0),
                                        ((2, 3, 40, 9), (1, 2))])
def test_reductions_over_middle_axes_walk_memory_in_order(rng, shape, axis):
    """A mean, variance and softmax over axes before the last with outer axes before them (a
    batch: mean pooling over a sequence) or between (reducing axis 0 of a 3-D array): the
    outer axes loop outside, the rows whole, against NumPy in float64."""
    x = rand(rng, shape, "float32") + 2

    def f(x):
        e = tx.exp(x - tx.max(x, axis=axis, keepdims=True))
        return (tx.mean(x, axis=axis), tx.var(x, axis=axis, keepdims=True),
                e / tx.sum(e, axis=axis, keepdims=True))

    cf = tx.function(f, backend="cpu")
    got = cf(x)
    assert all("rpc = " in k for k in cf.get_concrete_function(x).kernels)  # render_columns
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis, keepdims=True))
    expect = (x64.mean(axis), x64.var(axis, keepdims=True), e / e.sum(axis, keepdims=True))
    for g, want in zip(got, expect):
        assert g.dtype == np.float32 and g.shape == want.shape
        np.testing.assert_allclose(g.numpy(), want, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("shape", [(700, 517), (3, 5, 300), (2, 257)])
def test_row_kernels_down_the_columns_walk_memory_in_order(rng, shape):
    """Row kernels over the leading axes (a variance, a softmax and a standardization down the
    columns: reductions whose results are used again along the reduced axes) run one pass over
    each block of columns per reduction level, in memory order, with the elementwise result
    of level 0 beside them and a per-column result; against NumPy."""
    x = rand(rng, shape, "float32") + 3
    lead = tuple(range(len(shape) - 1))

    def f(x):
        m = tx.mean(x, axis=lead, keepdims=True)
        e = tx.exp(x - tx.max(x, axis=lead, keepdims=True))
        return (tx.var(x, axis=lead), e / tx.sum(e, axis=lead, keepdims=True),
                (x - m) / tx.std(x, axis=lead, keepdims=True), x * 2)

    cf = tx.function(f, backend="cpu")
    got = cf(x)
    reducing = [k for k in cf.get_concrete_function(x).kernels if "acc" in k]
    assert reducing and all("for blk in " in k for k in reducing), reducing  # render_columns
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(lead, keepdims=True))
    expect = (x64.var(lead), e / e.sum(lead, keepdims=True),
              (x64 - x64.mean(lead, keepdims=True)) / x64.std(lead, keepdims=True), x64 * 2)
    for g, want in zip(got, expect):
        assert g.dtype == np.float32 and g.shape == want.shape
        np.testing.assert_allclose(g.numpy(), want, rtol=2e-5, atol=2e-6)


def test_pairwise_distance_and_mlp(rng):
    a, b = rand(rng, (200,), "float32"), rand(rng, (300,), "float32")
    check(lambda a, b: tx.sum(tx.abs(a[:, None] - b[None, :]), axis=0),
          lambda a, b: np.abs(a[:, None] - b[None, :]).sum(0), a, b, modes=CPU, rtol=1e-5)
    x, w1, w2 = rand(rng, (16, 32), "float32"), rand(rng, (32, 64), "float32"), rand(rng, (64, 8), "float32")
    b1, b2 = rand(rng, (64,), "float32"), rand(rng, (8,), "float32")
    check(lambda x, w1, b1, w2, b2: tx.maximum(x @ w1 + b1, 0.0) @ w2 + b2,
          lambda x, w1, b1, w2, b2: np.maximum(x @ w1 + b1, 0.0) @ w2 + b2,
          x, w1, b1, w2, b2, modes=CPU, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "uint64"])
def test_integer_semantics(rng, dtype):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, 7, -7 if info.min < 0 else 7, 0, 1], dtype)
    b = np.array([1, 1, 0, 2, 0, 3], dtype)
    for fn in ("add", "subtract", "multiply", "floor_divide", "remainder", "maximum",
               "minimum", "bitwise_xor"):
        check(getattr(tx, fn), getattr(np, fn), a, b, modes=CPU)
    shifts = np.array([0, 1, 3, 7, 2, 5], dtype)
    check(tx.bitwise_left_shift, np.left_shift, a, shifts, modes=CPU)
    check(tx.bitwise_right_shift, np.right_shift, a, shifts, modes=CPU)
    check(lambda x: tx.sum(x, axis=0), lambda x: np.sum(x, axis=0), a, modes=CPU)


def test_float_edge_semantics():
    a = np.array([np.nan, 1.0, -0.0, 0.0, np.inf, -np.inf, 3.0], np.float32)
    b = np.array([1.0, np.nan, 0.0, -0.0, np.inf, 2.0, 0.0], np.float32)
    for fn in ("maximum", "minimum", "divide", "floor_divide", "remainder", "copysign"):
        check(getattr(tx, fn), getattr(np, fn), a, b, modes=CPU)
    check(lambda x: tx.max(x), np.max, a, modes=CPU)
    check(lambda x: tx.min(x), np.min, a, modes=CPU)
    check(lambda x: tx.sum(x), np.sum, a, modes=CPU)
    check(lambda x: tx.prod(x), np.prod, a, modes=CPU)
    check(tx.sign, np.sign, a, modes=CPU)
    check(lambda x: tx.where(x > 0, x, -x), lambda x: np.where(x > 0, x, -x), a, modes=CPU)


def test_float16_kernels_fall_back_to_numpy(rng):
    x = rand(rng, (9,), "float16")
    f = tx.function(lambda x: x * 2 + 1, backend="cpu")
    check(lambda x: x * 2 + 1, lambda x: x * 2 + 1, x, modes=CPU)
    assert f.get_concrete_function(x).kernels == []


def test_views_of_inputs_and_outputs_that_alias_inputs(rng):
    x = rand(rng, (6, 8), "float32")
    check(lambda x: x.T[::-1, 1:] * 2, lambda x: x.T[::-1, 1:] * 2, x, modes=CPU)
    check(lambda x: (x, x.T, x[::2]), lambda x: (x, x.T, x[::2]), x, modes=CPU)


def test_new_shape_reuses_compiled_kernels(rng):
    f = tx.function(lambda x: tx.exp(x) * 3 - 1, backend="cpu")
    f(rand(rng, (100,), "float32"))
    before = len(kernel_cache._memory)
    f(rand(rng, (123,), "float32"))
    assert f.trace_count == 2  # a new shape retraces ...
    assert len(kernel_cache._memory) == before  # ... but compiles nothing new


def test_generated_code_is_kept_and_readable(rng):
    x = rand(rng, (PARALLEL_MIN + 5,), "float32")
    f = tx.function(lambda x: tx.tanh(x) + 1, backend="cpu")
    f(x)
    cf = f.get_concrete_function(x)
    (src,) = cf.kernels
    assert "@njit(parallel=True" in src and "prange" in src and "def kernel(" in src
    assert "k0(" in executor_source(cf.lowered)


def test_disk_cache_serves_a_fresh_process(tmp_path):
    code = ("import numpy as np, tracefuse as tx\n"
            "f = tx.function(lambda x: tx.sqrt(x) * 2 + 7, backend='cpu')\n"
            "print(float(tx.sum(f(np.ones(10, np.float32)))))\n")
    env = dict(os.environ, TRACEFUSE_CACHE_DIR=str(tmp_path))
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "90.0"
    kernels = list((tmp_path / "kernels").glob("tf_*.py"))
    assert len(kernels) >= 1
    assert oct((tmp_path / "kernels").stat().st_mode & 0o777) == "0o700"


def test_results_never_share_a_buffer_across_calls(rng):
    f = tx.function(lambda x: x + 1, backend="cpu")
    x = rand(rng, (50,), "float32")
    first = f(x)
    second = f(x * 2)
    assert_same(first, x + 1)
    assert not np.shares_memory(np.asarray(first), np.asarray(second))


def test_buffer_reuse_never_changes_a_result_the_user_holds(rng):
    f = tx.function(lambda x: tx.exp(x) + 1, backend="cpu")
    x = rand(rng, (100_000,), "float32")  # large enough for the buffer pool
    held = f(x)
    expected = held.numpy()
    view = np.asarray(f(x * 0.5))  # a view keeps its buffer alive too
    view_expected = view.copy()
    for k in range(5):
        out = f(x * (k + 2))
        assert_same(out, np.exp(x * np.float32(k + 2)) + 1, rtol=1e-5)
        del out  # freed: its buffer may serve the next call
    np.testing.assert_array_equal(held.numpy(), expected)
    np.testing.assert_array_equal(view, view_expected)


def test_damaged_cache_entry_is_rebuilt_and_cache_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(tmp_path))
    kernel_cache.clear_memory()
    f = tx.function(lambda x: tx.exp(x) * 5 + 3, backend="cpu")
    x = np.linspace(-1, 1, 9, dtype=np.float32)
    expected = f(x).numpy()
    (entry,) = (tmp_path / "kernels").glob("tf_*.py")
    entry.write_text("garbage = (")  # truncated / corrupted
    kernel_cache.clear_memory()
    g = tx.function(lambda x: tx.exp(x) * 5 + 3, backend="cpu")
    np.testing.assert_array_equal(g(x).numpy(), expected)
    assert "garbage" not in entry.read_text()
    out = subprocess.run([sys.executable, "-m", "tracefuse", "cache", "info"], capture_output=True,
                         text=True, env=dict(os.environ, TRACEFUSE_CACHE_DIR=str(tmp_path)))
    assert "1 kernels" in out.stdout
    out = subprocess.run([sys.executable, "-m", "tracefuse", "cache", "clear"], capture_output=True,
                         text=True, env=dict(os.environ, TRACEFUSE_CACHE_DIR=str(tmp_path)))
    assert "removed 1" in out.stdout
    assert kernel_cache.cache_info()["kernels"] == 0
    kernel_cache.clear_memory()


def test_unusable_cache_dir_warns_once_and_still_computes(tmp_path, monkeypatch):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setenv("TRACEFUSE_CACHE_DIR", str(not_a_dir))
    kernel_cache.clear_memory()
    with pytest.warns(RuntimeWarning, match="cannot use the kernel cache"):
        out = tx.function(lambda x: x * 3 + 1, backend="cpu")(np.ones(3, np.float32))
    np.testing.assert_array_equal(out.numpy(), [4.0, 4.0, 4.0])
    kernel_cache.clear_memory()
