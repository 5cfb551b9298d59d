"""Control flow in the execution plan (backends/plan.py): cond, while and scan as region steps
whose graphs are lowered by the backend itself (Numba kernels on cpu, CUDA C on gpu-sim/gpu),
run by the loops of plan.py. Graphs are built op by op (GraphBuilder.emit_many), lowered and
loaded by each backend, and compared with a plain Python loop in NumPy on random inputs; the
results must never share memory with an argument or with an earlier call's results.

Runs on every backend of oracle.BACKENDS and on "cpu" (whose own tests run in every CI run);
under tests/fakecupy with TRACEFUSE_TEST_BACKENDS=gpu it runs the CuPy code paths.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle import BACKENDS as ORACLE_BACKENDS
from oracle import rand

from tracefuse.backends import get_backend
from tracefuse.backends.base import CompileOptions
from tracefuse.backends.plan import KERNEL, REGION
from tracefuse.errors import UNKNOWN_LOC
from tracefuse.ir import NUMPY_IMPL, Attrs, Graph, OpCode, TensorType
from tracefuse.ir import dtypes as dt
from tracefuse.ir.opcodes import ELEMENTWISE, REDUCE, REGIONS
from tracefuse.passes import build_pipeline, run_pipeline
from tracefuse.tracer.tracer import GraphBuilder
from tracefuse.transforms.emit import Emitter

G = OpCode
NAMES = tuple(dict.fromkeys(ORACLE_BACKENDS + ("cpu",)))
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(get_backend(b).unavailable() is not None,
                                                     reason=str(get_backend(b).unavailable())))
            for b in NAMES]
COMPILED = [b for b in BACKENDS if b.values[0] != "numpy"]


def T(shape, dtype="float32") -> TensorType:
    return TensorType(tuple(shape), dt.as_dtype(dtype))


def region(name: str, types, fn) -> Graph:
    """A graph of `types` inputs whose outputs `fn(emitter, *inputs)` returns."""
    b = GraphBuilder(name)
    ins = [b.new_input(t)._value for t in types]
    return b.build(list(fn(Emitter(b, UNKNOWN_LOC), *ins)))


def outer(types, fn) -> Graph:
    """The function graph: `fn(emitter, builder, *inputs)` returns its outputs."""
    b = GraphBuilder("f")
    ins = [b.new_input(t)._value for t in types]
    return b.build(list(fn(Emitter(b, UNKNOWN_LOC), b, *ins)))


def lower(backend: str, graph: Graph):
    fused = run_pipeline(graph, build_pipeline()).graph
    return get_backend(backend).lower(fused, CompileOptions())


def host(a) -> np.ndarray:
    return a.get() if hasattr(a, "get") else np.asarray(a)


def run_checked(backend: str, graph: Graph, args, expected, rtol=2e-5):
    """The graph on `backend` equals `expected` twice; no result shares memory with an
    argument or with the other call's results; results are the backend's arrays."""
    exe = get_backend(backend).load(lower(backend, graph))
    args = [np.array(a) for a in args]
    first, second = exe(list(args)), exe(list(args))
    assert len(first) == len(expected)
    for got in (first, second):
        for i, (g, want) in enumerate(zip(got, expected)):
            want = np.asarray(want)
            g = host(g)
            assert g.dtype == want.dtype and g.shape == want.shape, \
                f"{backend}[{i}]: {g.dtype}{g.shape} != {want.dtype}{want.shape}"
            if want.dtype.kind in "biu":
                np.testing.assert_array_equal(g, want, err_msg=f"{backend}[{i}]")
            else:
                np.testing.assert_allclose(g, want, rtol=rtol, atol=1e-6, err_msg=f"{backend}[{i}]")
    if backend == "gpu":
        return first
    for a, b in zip(first, second):
        assert not np.shares_memory(a, b), f"{backend}: results of two calls share memory"
        for arg in args:
            assert not np.shares_memory(a, arg), f"{backend}: a result aliases an argument"
    return first


# --- cond ---------------------------------------------------------------------------------------
def cond_graph(index_type: TensorType, n_branches: int) -> Graph:
    """cond(index, x, c): branch k returns (x * c + k, x), the second the argument unchanged."""
    x_t, c_t = T((5,)), T((5,))

    def branch(k):
        def fn(e, x, c):
            y = e.add(e.mul(x, c), e.scalar(float(k), dt.float32)) if k else e.sub(x, c)
            return [y, x]
        return region(f"branch{k}", [x_t, c_t], fn)

    branches = tuple(branch(k) for k in range(n_branches))
    return outer([index_type, x_t, c_t], lambda e, b, i, x, c: b.emit_many(
        G.COND, [i, x, c], Attrs(branches=branches), UNKNOWN_LOC, [x_t, x_t]))


def cond_oracle(k, x, c):
    return [x - c if k == 0 else (x * c + np.float32(k)).astype(np.float32), x]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("pred", [False, True])
def test_cond_with_a_bool(backend, pred, rng):
    x, c = rand(rng, (5,), "float32"), rand(rng, (5,), "float32")
    run_checked(backend, cond_graph(T((), "bool"), 2), [np.bool_(pred), x, c],
                cond_oracle(int(pred), x, c))


@pytest.mark.parametrize("backend", BACKENDS)
def test_cond_with_an_int_index_is_clamped(backend, rng):
    graph = cond_graph(T((), "int32"), 3)
    for index in (-4, 0, 1, 2, 9):
        x, c = rand(rng, (5,), "float32"), rand(rng, (5,), "float32")
        run_checked(backend, graph, [np.int32(index), x, c],
                    cond_oracle(min(max(index, 0), 2), x, c))


# --- while --------------------------------------------------------------------------------------
def counting_while(shape=(2, 3)) -> Graph:
    """while i < n: x = x * 0.5 + c; i += 1 (carries x, i; consts c, n)."""
    x_t, i_t = T(shape), T((), "int32")
    types = [x_t, i_t, x_t, i_t]
    cond = region("cond", types, lambda e, x, i, c, n: [e.op(G.LESS, i, n)])
    body = region("body", types, lambda e, x, i, c, n: [
        e.add(e.mul(x, e.scalar(0.5, dt.float32)), c), e.add(i, e.scalar(1, dt.int32))])
    return outer([x_t, x_t, i_t], lambda e, b, x, c, n: b.emit_many(
        G.WHILE, [x, e.scalar(0, dt.int32), c, n],
        Attrs(cond=cond, body=body, num_carries=2), UNKNOWN_LOC, [x_t, i_t]))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("trips", [0, 1, 13])
@pytest.mark.parametrize("shape", [(2, 3), (96, 256)])  # 96 KiB: cpu's pooled result buffers
def test_while_zero_one_and_many_trips(backend, trips, shape, rng):
    x, c = rand(rng, shape, "float32"), rand(rng, shape, "float32")
    want, i = x.copy(), 0
    while i < trips:
        want, i = (want * np.float32(0.5) + c).astype(np.float32), i + 1
    run_checked(backend, counting_while(shape), [x, c, np.int32(trips)], [want, np.int32(trips)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_while_with_a_reduction_predicate_and_a_matmul_body(backend, rng):
    """while max(|x|) > tol: x = (x @ w) * 0.5 (the trip count depends on the data)."""
    x_t, w_t, s_t = T((3, 4)), T((4, 4)), T(())
    types = [x_t, w_t, s_t]
    cond = region("cond", types, lambda e, x, w, tol: [
        e.op(G.GREATER, e.op(G.MAX, e.op(G.ABS, x), axes=(0, 1), keepdims=False), tol)])
    body = region("body", types, lambda e, x, w, tol: [
        e.mul(e.op(G.MATMUL, x, w), e.scalar(0.5, dt.float32))])
    graph = outer(types, lambda e, b, x, w, tol: b.emit_many(
        G.WHILE, [x, w, tol], Attrs(cond=cond, body=body, num_carries=1), UNKNOWN_LOC, [x_t]))
    x = rand(rng, (3, 4), "float32")
    w = (rand(rng, (4, 4), "float32", low=-1, high=1) / 2).astype(np.float32)
    tol = np.float32(1e-2)
    want, trips = x.copy(), 0
    while np.abs(want).max() > tol:
        want, trips = ((want @ w) * np.float32(0.5)).astype(np.float32), trips + 1
    assert trips > 2
    run_checked(backend, graph, [x, w, tol], [want], rtol=1e-4)


# --- scan ---------------------------------------------------------------------------------------
H = 3


def scan_graph(length: int, reverse: bool) -> Graph:
    """Carries h f32[H], total f64[], k i32[] (passed through); xs a f32[L, H], m i32[L];
    consts w f32[H, H], bias f32[H]. Body: h' = (h @ w) * 0.5 + a + bias; total' = total +
    sum(h'); ys: h', m * 2 + k, and a unchanged."""
    h_t, tot_t, k_t, w_t = T((H,)), T((), "float64"), T((), "int32"), T((H, H))
    a_t, m_t = T((H,)), T((), "int32")

    def body(e, h, total, k, a, m, w, bias):
        h2 = e.add(e.add(e.mul(e.op(G.MATMUL, h, w), e.scalar(0.5, dt.float32)), a), bias)
        total2 = e.add(total, e.cast(e.op(G.SUM, h2, axes=(0,), keepdims=False), dt.float64))
        return [h2, total2, k, h2, e.add(e.mul(m, e.scalar(2, dt.int32)), k), a]

    body_g = region("body", [h_t, tot_t, k_t, a_t, m_t, w_t, h_t], body)
    outs = [h_t, tot_t, k_t, T((length, H)), T((length,), "int32"), T((length, H))]
    return outer([h_t, tot_t, k_t, T((length, H)), T((length,), "int32"), w_t, h_t],
                 lambda e, b, *ins: b.emit_many(
                     G.SCAN, list(ins), Attrs(body=body_g, num_carries=3, num_xs=2,
                                              length=length, reverse=reverse),
                     UNKNOWN_LOC, outs))


def scan_oracle(h, total, k, a, m, w, bias, reverse):
    length = a.shape[0]
    ys = [np.empty((length, H), np.float32), np.empty(length, np.int32),
          np.empty((length, H), np.float32)]
    for t in (reversed(range(length)) if reverse else range(length)):
        h = ((h @ w) * np.float32(0.5) + a[t] + bias).astype(np.float32)
        total = total + np.float64(h.sum(dtype=np.float32))
        ys[0][t], ys[1][t], ys[2][t] = h, m[t] * 2 + k, a[t]
    return [h, np.float64(total), np.int32(k)] + ys


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("length", [0, 1, 7])
def test_scan_forward_and_reverse(backend, reverse, length, rng):
    args = [rand(rng, (H,), "float32"), np.float64(rng.uniform(-1, 1)), np.int32(3),
            rand(rng, (length, H), "float32"), rand(rng, (length,), "int32"),
            (rand(rng, (H, H), "float32", low=-1, high=1) / 2).astype(np.float32),
            rand(rng, (H,), "float32")]
    run_checked(backend, scan_graph(length, reverse), args,
                scan_oracle(*args, reverse=reverse), rtol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cond_nested_in_a_scan_body(backend, rng):
    """scan over (a, flag): the body's carry is acc + a where flag else acc * a (a cond on the
    slice of a bool x), and ys the carry; a while loop around it would nest the same way."""
    length, acc_t, a_t, f_t = 6, T((4,)), T((4,)), T((), "bool")
    neg = region("branch0", [acc_t, a_t], lambda e, acc, a: [e.mul(acc, a)])
    pos = region("branch1", [acc_t, a_t], lambda e, acc, a: [e.add(acc, a)])

    def body(e, acc, a, flag):
        (acc2,) = e.builder.emit_many(G.COND, [flag, acc, a], Attrs(branches=(neg, pos)),
                                      UNKNOWN_LOC, [acc_t])
        return [acc2, acc2]

    body_g = region("body", [acc_t, a_t, f_t], body)
    graph = outer([acc_t, T((length, 4)), T((length,), "bool")], lambda e, b, *ins: b.emit_many(
        G.SCAN, list(ins), Attrs(body=body_g, num_carries=1, num_xs=2, length=length,
                                 reverse=False),
        UNKNOWN_LOC, [acc_t, T((length, 4))]))
    acc0, a = rand(rng, (4,), "float32", low=0.5, high=1.5), rand(rng, (length, 4), "float32")
    flags = rand(rng, (length,), "bool")
    acc, ys = acc0.copy(), np.empty((length, 4), np.float32)
    for t in range(length):
        acc = acc + a[t] if flags[t] else acc * a[t]
        ys[t] = acc
    run_checked(backend, graph, [acc0, a, flags], [acc, ys], rtol=1e-5)


# --- the bodies run as the backend's compiled kernels -----------------------------------------------
@pytest.mark.parametrize("backend", COMPILED)
def test_region_bodies_run_as_compiled_kernels(backend, rng, monkeypatch):
    """The plan holds a region step whose plans run the backend's kernels, their sources are
    among the lowered graph's; and with the NumPy table of every elementwise op, reduction and
    region op broken, the loaded executable still runs: no body op goes through NumPy."""
    graph = scan_graph(5, reverse=True)
    lowered = lower(backend, graph)
    (step,) = [s for s in lowered.plan.steps if s.kind is REGION]
    (body,) = step.regions
    kernels = [s.kernel for s in body.steps if s.kind is KERNEL]
    assert kernels and all(k is not None for k in kernels)
    assert len(lowered.kernels) >= len(kernels)
    assert any("scan" in note and "body" in note for note in lowered.notes)

    def broken(*args, **kwargs):
        raise AssertionError("a region body ran through the NumPy interpreter")

    for code in ELEMENTWISE | REDUCE | REGIONS:
        if code in NUMPY_IMPL:
            monkeypatch.setitem(NUMPY_IMPL, code, broken)
    exe = get_backend(backend).load(lowered)
    args = [rand(rng, (H,), "float32"), np.float64(0.25), np.int32(-2),
            rand(rng, (5, H), "float32"), rand(rng, (5,), "int32"),
            (rand(rng, (H, H), "float32", low=-1, high=1) / 2).astype(np.float32),
            rand(rng, (H,), "float32")]
    got = exe([np.array(a) for a in args])
    for g, want in zip(got, scan_oracle(*args, reverse=True)):
        np.testing.assert_allclose(host(g), want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_plan_describes_region_steps(backend):
    text = lower(backend, counting_while()).plan.describe()
    assert "= while(" in text and "    cond: plan @cond" in text and "    body: plan @body" in text
