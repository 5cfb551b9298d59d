"""Direct checks of the `"gpu"` backend and GPU tensors against the fake CuPy (tests/fakecupy).

Not collected by a plain `pytest tests` run (the name does not match test_*.py): it needs the
fake first on PYTHONPATH, which tests/gpu/test_fake_cupy.py sets up in a subprocess. The fake
counts host<->device copies and launches (`cupy._fake_stats`), so these tests check where data
moves, not only the values.
"""

from __future__ import annotations

import cupy
import numpy as np
import pytest

import tracefuse as tx

assert getattr(cupy, "_fake", False), "run with tests/fakecupy first on PYTHONPATH"


@pytest.fixture
def stats():
    cupy._fake_reset_stats()
    return cupy._fake_stats


def _moves(stats) -> dict:
    moves = dict(stats)
    cupy._fake_reset_stats()
    return moves


def _f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# --- the fake itself is strict where CuPy is ---------------------------------------------------
def test_the_fake_is_strict():
    x = cupy.asarray(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Unsupported type"):
        x + np.ones(3, np.float32)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3, np.float32) * x
    with pytest.raises(TypeError, match="Unsupported type"):
        np.add(x, np.asarray(1.0, np.float32))  # a 0-d host array too
    with pytest.raises(TypeError, match="no implementation found for 'numpy.median'"):
        np.median(x)
    assert isinstance(x + np.float32(1), cupy.ndarray) and isinstance(2.0 * x, cupy.ndarray)
    assert isinstance(np.sum(x), cupy.ndarray) and np.sum(x).ndim == 0
    code = 'extern "C" __global__ void k(const float* a, float* o, int n) {\n' \
           "  int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) o[i] = a[i] * 2.0f;\n}\n"
    k = cupy.RawModule(code=code, options=("--std=c++17",)).get_function("k")
    out = cupy.empty(3, np.float32)
    k((1,), (32,), (x, out, np.int32(3)))
    assert out.get().tolist() == [2.0, 2.0, 2.0]
    for bad in [(x, out, 3),  # a Python int is passed as int64: not an `int`
                (x, out, np.int64(3)),
                (x.astype(np.float64), out, np.int32(3)),
                (np.ones(3, np.float32), out, np.int32(3)),
                (x, out)]:
        with pytest.raises(TypeError):
            k((1,), (32,), bad)
    with pytest.raises(TypeError):
        k([1], [32], (x, out, np.int32(3)))
    with pytest.raises(ValueError):
        k((0,), (32,), (x, out, np.int32(3)))


# --- the "gpu" backend: where data moves ----------------------------------------------------
def test_cupy_inputs_are_not_copied(rng, stats):
    x, y = _f32(rng, 40, 30), _f32(rng, 30)
    f = tx.function(lambda x, y: tx.tanh(x) * y + 1.0, backend="gpu")
    dx, dy = cupy.asarray(x), cupy.asarray(y)
    f(dx, dy)  # first call: trace and build
    _moves(stats)
    out = f(dx, dy)
    assert _moves(stats) == {"h2d": 0, "d2h": 0, "launches": 1}
    assert isinstance(out, tx.Tensor) and out.device == "gpu"
    assert isinstance(out._array, cupy.ndarray)
    np.testing.assert_allclose(out.numpy(), np.tanh(x) * y + 1, rtol=1e-6, atol=1e-6)
    t = tx.asarray(dx)  # a GPU tensor argument: no copy either
    assert t._array is dx
    f(t, dy)
    assert _moves(stats)["h2d"] == 0


def test_numpy_inputs_are_copied_once_per_call(rng, stats):
    x, y = _f32(rng, 50), _f32(rng, 50)
    f = tx.function(lambda x, y: tx.sum(x * y), backend="gpu")
    f(x, y)
    _moves(stats)
    for _ in range(3):
        out = f(x, y)
        assert _moves(stats) == {"h2d": 2, "d2h": 0, "launches": 2}  # two-stage reduction
        assert out.device == "gpu"
    f(cupy.asarray(x), y)  # a mix: only the host one moves
    assert _moves(stats)["h2d"] == 1 + 1
    np.testing.assert_allclose(float(f(x, y)), np.dot(x.astype(np.float64), y), rtol=1e-5)


def test_python_scalar_arguments_are_one_copy_each(rng, stats):
    x = cupy.asarray(_f32(rng, 20))
    f = tx.function(lambda x, a: x * a, backend="gpu")
    f(x, 2.0)
    _moves(stats)
    out = f(x, 3.0)  # same concrete function, a new value
    assert _moves(stats)["h2d"] == 1 and f.trace_count == 1
    np.testing.assert_allclose(out.numpy(), x.get() * 3.0, rtol=1e-6)


def test_constants_go_to_the_device_once(rng, stats):
    w = rng.standard_normal((6, 4))
    bias = np.arange(4.0)
    f = tx.function(lambda x: x @ w + bias, backend="gpu")  # numpy arrays captured: constants
    x = rng.standard_normal((3, 6))
    ref = x @ w + bias
    np.testing.assert_allclose(f(x).numpy(), ref, rtol=1e-12)
    _moves(stats)
    for _ in range(2):
        out = f(x)
        assert _moves(stats)["h2d"] == 1  # x only: w and bias stay on the device
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)


def test_returned_constants_are_fresh_arrays(stats):
    c = np.arange(5.0)
    f = tx.function(lambda x: (x + 1, c, tx.zeros((2, 2)), c.reshape(5, 1)), backend="gpu")
    a = f(np.ones(5))
    b = f(np.ones(5))
    for r1, r2 in zip(a, b):
        assert r1.device == r2.device == "gpu"
        assert not cupy.may_share_memory(r1._array, r2._array)
    np.testing.assert_array_equal(b[1].numpy(), c)
    np.testing.assert_array_equal(b[3].numpy(), c.reshape(5, 1))


def test_captured_gpu_arrays_become_constants(rng):
    w = _f32(rng, 8, 3)
    def times(captured):
        return lambda x: x @ captured  # a closure value: a constant of the trace

    for captured in (cupy.asarray(w), tx.asarray(w, device="gpu")):
        f = tx.function(times(captured), backend="gpu")
        x = _f32(rng, 2, 8)
        np.testing.assert_allclose(f(x).numpy(), x @ w, rtol=1e-5)


def test_float16_kernels_run_through_the_array_library(rng):
    x = _f32(rng, 4, 9)
    f = tx.function(lambda x: (x.astype(tx.float16) * 2.5 + np.float16(1)).sum(axis=1),
                    backend="gpu")
    out = f(x)
    assert out.device == "gpu" and out.dtype == tx.float16
    ref = (x.astype(np.float16) * np.float16(2.5) + np.float16(1)).sum(axis=1)
    np.testing.assert_allclose(out.numpy(), ref, rtol=2e-3)


def test_strided_and_broadcast_device_inputs(rng):
    x = cupy.asarray(_f32(rng, 12, 10))
    f = tx.function(lambda a, b: tx.max(a * b, axis=0), backend="gpu")
    b = cupy.broadcast_to(cupy.asarray(_f32(rng, 10)), (6, 10))
    out = f(x[::-2, :], b)
    ref = (x.get()[::-2, :] * b.get()).max(axis=0)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)


def test_input_signature_and_tensor_spec_take_gpu_arrays(rng):
    x = cupy.asarray(_f32(rng, 3, 4))
    spec = tx.TensorSpec.from_tensor(x)
    assert spec == tx.TensorSpec((3, 4), tx.float32)
    assert tx.TensorSpec.from_tensor(tx.asarray(x)) == spec
    f = tx.function(lambda a: a * 2, backend="gpu", input_signature=[tx.TensorSpec((None, 4))])
    np.testing.assert_allclose(f(x).numpy(), x.get() * 2)


def test_host_backends_copy_gpu_arguments_back(rng, stats):
    x = _f32(rng, 6)
    t = tx.asarray(x, device="gpu")
    _moves(stats)
    out = tx.function(lambda a: a + 1, backend="numpy")(t)
    assert out.device == "cpu" and _moves(stats)["d2h"] == 1
    np.testing.assert_allclose(out.numpy(), x + 1)


# --- GPU tensors ------------------------------------------------------------------------------
def test_to_moves_between_devices(rng, stats):
    x = _f32(rng, 3, 4)
    t = tx.asarray(x, device="gpu")
    assert t.device == "gpu" and _moves(stats)["h2d"] == 1
    assert t.to("gpu") is t and t.to("cuda") is t
    host = t.to("cpu")
    assert host.device == "cpu" and _moves(stats)["d2h"] == 1
    assert isinstance(np.asarray(host), np.ndarray)
    np.testing.assert_array_equal(np.asarray(host), x)
    back = host.to("gpu")
    assert back.device == "gpu" and _moves(stats)["h2d"] == 1
    np.testing.assert_array_equal(back.numpy(), x)


def test_asarray_and_creation_on_the_gpu(rng, stats):
    x = _f32(rng, 2, 3)
    d = cupy.asarray(x)
    _moves(stats)
    t = tx.asarray(d)
    assert t.device == "gpu" and t._array is d and _moves(stats) == {"h2d": 0, "d2h": 0,
                                                                      "launches": 0}
    assert tx.asarray(d, copy=True)._array is not d
    assert tx.asarray(d, device="cpu").device == "cpu"
    assert tx.asarray(t, dtype=tx.float64).device == "gpu"
    assert tx.asarray(t, dtype=tx.float64).dtype == tx.float64
    assert tx.asarray([1.0, 2.0], device="gpu").device == "gpu"
    assert tx.asarray(x, device="cuda").device == "gpu"
    for made, ref in [(tx.zeros((2, 3), device="gpu"), np.zeros((2, 3))),
                      (tx.ones(4, dtype=tx.int32, device="gpu"), np.ones(4, np.int32)),
                      (tx.full((2,), 7, device="gpu"), np.full(2, 7)),
                      (tx.full((2,), tx.asarray(np.float32(2.5), device="gpu")),
                       np.full(2, 2.5, np.float32)),
                      (tx.full((2,), cupy.asarray(np.float32(1.5))), np.full(2, 1.5, np.float32)),
                      (tx.arange(5, device="gpu"), np.arange(5)),
                      (tx.linspace(0, 1, 5, device="gpu"), np.linspace(0, 1, 5)),
                      (tx.eye(3, device="gpu"), np.eye(3)),
                      (tx.constant([1.0, 2.0], device="gpu"), np.array([1, 2], np.float32)),
                      (tx.zeros_like(t), np.zeros((2, 3), np.float32)),
                      (tx.full_like(t, 3), np.full((2, 3), 3, np.float32)),
                      (tx.ones_like(d), np.ones((2, 3), np.float32))]:
        assert isinstance(made, tx.Tensor)
        np.testing.assert_array_equal(made.numpy(), ref)
        assert made.numpy().dtype == ref.dtype
    assert tx.zeros_like(t).device == "gpu" and tx.ones_like(d).device == "gpu"
    assert tx.zeros((2,), device="gpu").device == "gpu"


_EAGER = [
    ("exp", lambda a, b: tx.exp(a) + 1.0),
    ("arith", lambda a, b: (a - b) * 2 / (tx.abs(b) + 1) ** 2),
    ("compare", lambda a, b: tx.where(a > b, a, -b)),
    ("sum", lambda a, b: tx.sum(a * b, axis=1)),
    ("mean", lambda a, b: tx.mean(a, axis=0, keepdims=True)),
    ("var", lambda a, b: tx.var(a)),
    ("max", lambda a, b: tx.max(a, axis=-1)),
    ("argmax", lambda a, b: tx.argmax(a, axis=0)),
    ("all", lambda a, b: tx.all(a < 10)),
    ("matmul", lambda a, b: a @ b.T),
    ("concat", lambda a, b: tx.concat([a, b], axis=0)),
    ("stack", lambda a, b: tx.stack([a, b])),
    ("clip", lambda a, b: tx.clip(a, -0.5, 0.5)),
    ("astype", lambda a, b: a.astype(tx.int32) // 3 % 2),
    ("shift", lambda a, b: (a.astype(tx.int64) + 7) << 2 >> 1),
    ("index", lambda a, b: a[1:, ::-2][0]),
    ("reshape", lambda a, b: a.reshape(-1).T),
    ("transpose", lambda a, b: tx.permute_dims(a, (1, 0))),
    ("broadcast", lambda a, b: tx.broadcast_to(a[:1], (4, 5))),
    ("flip", lambda a, b: tx.flip(a, axis=1)),
    ("round", lambda a, b: tx.round(a * 10)),
    ("softmax", lambda a, b: tx.exp(a) / tx.sum(tx.exp(a), axis=-1, keepdims=True)),
]


@pytest.mark.parametrize("name,fn", _EAGER, ids=[n for n, _ in _EAGER])
def test_eager_ops_on_gpu_tensors(rng, name, fn):
    a, b = _f32(rng, 4, 5), _f32(rng, 4, 5)
    want = fn(tx.asarray(a), tx.asarray(b))
    got = fn(tx.asarray(a, device="gpu"), tx.asarray(b, device="gpu"))
    assert got.device == "gpu" and got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


def test_mixing_gpu_tensors_with_host_values(rng, stats):
    x = _f32(rng, 3, 5)
    t = tx.asarray(x, device="gpu")
    h = np.ones(5, np.float32)
    _moves(stats)
    for got in (t + h, h + t, t * np.float32(2), 2 * t, tx.maximum(h, t)):
        assert isinstance(got, tx.Tensor) and got.device == "gpu"
    np.testing.assert_allclose((h - t).numpy(), h - x)
    d = cupy.asarray(x)
    for got in (t + d, d + t, d * t, tx.asarray(h) + t):
        assert isinstance(got, tx.Tensor) and got.device == "gpu"
    np.testing.assert_allclose((d - t).numpy(), np.zeros_like(x))


def test_np_asarray_of_a_gpu_tensor_is_a_host_copy(rng, stats):
    x = _f32(rng, 2, 2)
    t = tx.asarray(x, device="gpu")
    _moves(stats)
    h = np.asarray(t)
    assert isinstance(h, np.ndarray) and _moves(stats)["d2h"] == 1
    np.testing.assert_array_equal(h, x)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    n = t.numpy()
    n[0, 0] = 100.0  # a writable copy
    assert float(t[0, 0]) == x[0, 0]


def test_repr_and_conversions_of_gpu_tensors(rng):
    t = tx.asarray(np.array([1.5, -2.0], np.float32), device="gpu")
    r = repr(t)
    assert r.startswith("tx.Tensor([ 1.5 -2. ]") and "device=gpu" in r and "float32" in r
    assert str(t) == "[ 1.5 -2. ]"
    s = tx.sum(t)
    assert float(s) == -0.5 and f"{s:.2f}" == "-0.50" and bool(s) and s.item() == -0.5
    i = tx.asarray(np.int64(3), device="gpu")
    assert int(i) == 3 and [10, 20, 30, 40][i] == 40 and t.tolist() == [1.5, -2.0]
    assert len(t) == 2 and [float(v) for v in t] == [1.5, -2.0]
    with pytest.raises(ValueError):
        bool(t)


def test_a_returned_captured_gpu_array_is_a_result(rng):
    w = cupy.asarray(_f32(rng, 3))
    f = tx.function(lambda x: (x + 1, w), backend="gpu")
    _, b = f(np.zeros(2, np.float32))
    assert b.device == "gpu" and b._array is not w
    np.testing.assert_array_equal(b.numpy(), w.get())


def test_constant_of_a_cupy_array_stays_on_the_gpu():
    d = cupy.asarray(np.arange(3, dtype=np.int16))
    c = tx.constant(d)
    assert c.device == "gpu" and c.dtype == tx.int16 and c._array is not d
    assert tx.constant(d, device="cpu").device == "cpu"


def test_np_asarray_copy_false_of_a_gpu_tensor_raises():
    t = tx.asarray(np.ones(2), device="gpu")
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, copy=False)
    assert np.asarray(t, copy=True).tolist() == [1.0, 1.0]


def test_check_runs_gpu_kernels_alone_on_device_arrays():
    """`f.check` (compiler/check.py) on gpu: each kernel alone on device copies of the
    reference's values, compared on the host."""
    @tx.function(backend="gpu")
    def f(x, w):
        y = x @ w
        return tx.exp(y - tx.max(y, axis=-1, keepdims=True))

    rng = np.random.default_rng(0)
    x, w = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (4, 5))
    report = f.check(cupy.asarray(x), cupy.asarray(w))
    assert report.ok, str(report)
    assert [c.name.split()[0] for c in report.checked] == ["op", "kernel"]
