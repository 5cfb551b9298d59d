"""Elementwise loops inside one kernel (issue 15, item 3): a `fori_loop` (a scan over carries
only) whose body is elementwise over one shape fuses into a single kernel that runs the whole
loop for each element (fuse.py, loops.py, render.py; numba/render.py interchanges it with a
block of elements). Checked: the fused IR holds one kernel and no kernel per iteration; results
equal a plain Python loop in NumPy on numpy, cpu and gpu-sim (whose CUDA C also passes the NVRTC
gate when it is installed); the counter, broadcast operands, scalar carries, zero trips, fusion
with the ops around the loop; the loops that stay loops of kernels say why; the fused IR text
parses back to the same graph; the verifier refuses a kernel loop it cannot run.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle import assert_same
from oracle import rand as oracle_rand

import tracefuse as tx
from tracefuse.backends import get_backend
from tracefuse.errors import VerificationError
from tracefuse.ir import OpCode, parse_graph, print_graph, verify
from tracefuse.ir.opcodes import REGIONS

G = OpCode
NAMES = ("numpy", "cpu", "gpu-sim")
backends = pytest.mark.parametrize("b", [
    pytest.param(b, marks=pytest.mark.skipif(get_backend(b).unavailable() is not None,
                                             reason=str(get_backend(b).unavailable())))
    for b in NAMES])


def rand(shape, dtype="float32"):
    return oracle_rand(np.random.default_rng(), shape, dtype, low=-2.0, high=2.0)


def kernels(graph) -> list:
    """Every kernel op of `graph` and of its regions, at any depth."""
    found = []
    for op in graph.ops:
        if op.code is G.KERNEL:
            found.append(op)
        if op.code in REGIONS:
            for name in ("body", "cond"):
                if name in op.attrs:
                    found += kernels(op.attrs[name])
            for g in op.attrs.get("branches", ()):
                found += kernels(g)
    return found


def loop_kernel(cf):
    """The one kernel of a compiled function whose loop runs inside it."""
    graph = cf.stage_graph("fused")
    found = kernels(graph)
    assert len(found) == 1, cf.ir("fused")
    assert [op.code for op in graph.ops if op.code in REGIONS] == [], cf.ir("fused")
    (k,) = found
    assert any(op.code is G.SCAN for op in k.attrs["body"].ops), cf.ir("fused")
    return k


# --- Mandelbrot: the workload of item 6 -----------------------------------------------------------
ITERS = 30


def mandel_tx(cr, ci):
    def body(i, state):
        zr, zi, count = state
        zr2, zi2 = zr * zr, zi * zi
        inside = zr2 + zi2 <= 4.0
        return (tx.where(inside, zr2 - zi2 + cr, zr), tx.where(inside, 2.0 * zr * zi + ci, zi),
                count + tx.astype(inside, tx.int32))
    z = tx.zeros_like(cr)
    return tx.fori_loop(0, ITERS, body, (z, z, tx.zeros(cr.shape, dtype=tx.int32)))[2]


def mandel_np(cr, ci):
    zr, zi = np.zeros_like(cr), np.zeros_like(ci)
    count = np.zeros(cr.shape, np.int32)
    for _ in range(ITERS):
        zr2, zi2 = zr * zr, zi * zi
        inside = zr2 + zi2 <= 4.0
        zr, zi = np.where(inside, zr2 - zi2 + cr, zr), np.where(inside, 2.0 * zr * zi + ci, zi)
        count += inside
    return count


def grid(rows, cols, dtype=np.float32):
    x = (-2.0 + 3.0 * (np.arange(cols) + 0.5) / cols).astype(dtype)
    y = (-1.5 + 3.0 * (np.arange(rows) + 0.5) / rows).astype(dtype)
    return (np.ascontiguousarray(np.broadcast_to(x, (rows, cols))),
            np.ascontiguousarray(np.broadcast_to(y[:, None], (rows, cols))))


@backends
@pytest.mark.parametrize("shape", [(13, 300), (7,), (2, 3, 5)])
def test_mandelbrot_is_one_kernel_and_matches_numpy(b, shape):
    rows, cols = (1, shape[0]) if len(shape) == 1 else (int(np.prod(shape[:-1])), shape[-1])
    cr, ci = (a.reshape(shape) for a in grid(rows, cols))
    f = tx.function(mandel_tx, backend=b)
    loop_kernel(f.get_concrete_function(cr, ci))
    assert_same(f(cr, ci), mandel_np(cr, ci))


@backends
def test_numba_blocks_cover_a_partial_last_block(b):
    cr, ci = grid(3, 2 * 256 + 57)  # LOOP_BLOCK 256: two full blocks and a partial one
    assert_same(tx.function(mandel_tx, backend=b)(cr, ci), mandel_np(cr, ci))


# --- what a loop kernel's body can read ---------------------------------------------------------
def counter_tx(x, y):
    """The counter in the body, a float64 carry, a broadcast (1, n) operand and an int carry."""
    def body(i, c):
        a, n = c
        return a * 0.5 + tx.sin(a) * y + tx.astype(i, tx.float64), n + (a > 0.0)
    return tx.fori_loop(2, 9, body, (x, tx.zeros(x.shape, dtype=tx.int64)))


def counter_np(x, y):
    a, n = x, np.zeros(x.shape, np.int64)
    for i in range(2, 9):
        a, n = a * 0.5 + np.sin(a) * y + np.float64(i), n + (a > 0.0)
    return a, n


@backends
def test_counter_broadcast_operand_and_mixed_dtypes(b):
    x, y = rand((6, 40), "float64"), rand((1, 40), "float64")
    f = tx.function(counter_tx, backend=b)
    loop_kernel(f.get_concrete_function(x, y))
    got, expected = f(x, y), counter_np(x, y)
    for g, e in zip(got, expected):
        assert_same(g, e)


@backends
def test_scalar_carries_only(b):
    """Every carry a scalar: a 0-d kernel that runs the loop once."""
    def f(x):
        return tx.fori_loop(0, 20, lambda i, c: (c[0] * 0.9 + 1.0, c[1] * 2 + 1), (x, x * 0 + 1))

    x = np.float32(1.5)
    a, n = np.float32(1.5), np.float32(1.0)
    for _ in range(20):
        a, n = a * np.float32(0.9) + np.float32(1.0), n * np.float32(2) + np.float32(1)
    g = tx.function(f, backend=b)
    loop_kernel(g.get_concrete_function(x))
    ga, gn = g(x)
    assert_same(ga, np.asarray(a))
    assert_same(gn, np.asarray(n))


@backends
def test_zero_trips_return_the_initial_values(b):
    def f(x):
        return tx.fori_loop(5, 5, lambda i, c: c * 2.0 + 1.0, x + 1.0)

    x = rand((4, 9))
    g = tx.function(f, backend=b)
    loop_kernel(g.get_concrete_function(x))
    assert_same(g(x), x + np.float32(1.0))


@backends
def test_fuses_with_the_ops_before_and_after(b):
    """The init computed elementwise and the result read by elementwise ops: one kernel."""
    def f(x, c):
        r = tx.fori_loop(0, 6, lambda i, z: z * z * 0.25 + c, tx.tanh(x) * 0.5)
        return tx.exp(r) - c

    def expected(x, c):
        z = np.tanh(x) * np.float32(0.5)
        for _ in range(6):
            z = z * z * np.float32(0.25) + c
        return np.exp(z) - c

    x, c = rand((5, 33)), rand((5, 33))
    g = tx.function(f, backend=b)
    k = loop_kernel(g.get_concrete_function(x, c))
    codes = [op.code for op in k.attrs["body"].ops]
    assert G.TANH in codes and G.EXP in codes
    assert_same(g(x, c), expected(x, c))


@backends
def test_scan_without_xs_or_ys_is_a_loop_kernel(b):
    def f(x):
        return tx.scan(lambda c, _: (tx.cos(c), None), x, None, length=7)[0]

    x = rand((3, 17))
    expected = x
    for _ in range(7):
        expected = np.cos(expected)
    g = tx.function(f, backend=b)
    loop_kernel(g.get_concrete_function(x))
    assert_same(g(x), expected)


# --- loops that stay loops of kernels, and why ---------------------------------------------------
def refusals(cf) -> str:
    return "\n".join(cf.fusion_refusals)


def test_a_reduction_in_the_body_keeps_a_loop_of_kernels():
    def f(x):
        return tx.fori_loop(0, 3, lambda i, z: z - tx.mean(z), x)

    x = rand((4, 8))
    g = tx.function(f, backend="cpu")
    cf = g.get_concrete_function(x)
    assert "runs as a loop of kernels" in refusals(cf) and "sum" in refusals(cf)
    assert any(op.code is G.SCAN for op in cf.stage_graph("fused").ops)
    expected = x
    for _ in range(3):
        expected = expected - expected.mean()
    assert_same(g(x), expected, rtol=1e-5)


def test_xs_keep_a_loop_of_kernels():
    def f(x, xs):
        return tx.scan(lambda c, t: (c * t, None), x, xs)[0]

    x, xs = rand((4,)), rand((3, 4))
    cf = tx.function(f, backend="cpu").get_concrete_function(x, xs)
    assert "slices xs or stacks ys" in refusals(cf)


def test_a_scalar_carry_read_after_the_loop_keeps_a_loop_of_kernels():
    def f(x):
        return tx.fori_loop(0, 4, lambda i, c: (c[0] * 2.0, c[1] + 1.0), (x, x[0, 0]))

    x = rand((3, 5))
    g = tx.function(f, backend="cpu")
    cf = g.get_concrete_function(x)
    assert "a scalar carry is read after the loop" in refusals(cf)
    a, s = g(x)
    assert_same(a, x * np.float32(16.0))
    assert_same(s, np.asarray(x[0, 0] + np.float32(4.0)))


# --- the IR text and the verifier ------------------------------------------------------------------
def test_fused_ir_text_parses_back():
    cr, ci = grid(4, 6)
    graph = tx.function(mandel_tx).get_concrete_function(cr, ci).stage_graph("fused")
    text = print_graph(graph)
    assert " at [d0, d1]" in text.split("scan")[1].splitlines()[0]
    again = parse_graph(text)
    verify(again)
    assert print_graph(again) == text


def test_verifier_refuses_a_kernel_loop_it_cannot_run():
    cr, ci = grid(4, 6)
    text = print_graph(tx.function(mandel_tx).get_concrete_function(cr, ci).stage_graph("fused"))
    # give the loop xs: a kernel cannot slice them
    bad = text.replace("num_xs=0", "num_xs=1").replace("num_carries=3", "num_carries=2")
    with pytest.raises(Exception) as info:
        verify(parse_graph(bad))
    assert isinstance(info.value, (VerificationError, tx.errors.IRParseError))


def test_numba_source_runs_the_loop_inside_the_kernel():
    cr, ci = grid(8, 300)
    cf = tx.function(mandel_tx, backend="cpu").get_concrete_function(cr, ci)
    (source,) = cf.kernels
    assert "for t" in source and "prange" in source  # the loop, in the one parallel kernel


def test_cuda_source_of_a_loop_kernel_passes_nvrtc():
    from tracefuse.backends.cuda import nvrtc_gate
    from tracefuse.backends.cuda.render import NVRTC_OPTIONS

    why = nvrtc_gate.unavailable()
    if why:
        pytest.skip(why)
    x, y = rand((6, 40), "float64"), rand((1, 40), "float64")
    cf = tx.function(counter_tx, backend="gpu-sim").get_concrete_function(x, y)
    (source,) = cf.kernels
    assert "for (int t" in source  # the loop, inside the one kernel
    for arch in ("sm_80", "sm_90"):
        assert nvrtc_gate.compile_cubin(source, arch, NVRTC_OPTIONS)[:4] == b"\x7fELF"
