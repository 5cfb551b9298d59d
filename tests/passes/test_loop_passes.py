"""licm and the dce of control flow. licm: loop-invariant ops of while/scan bodies move in
front of the loop (their results enter as new constants), literals stay for fusion,
loop-varying ops stay, nested loops hoist twice. dce: unused ys, carries nobody depends on,
unread xs and constants leave a loop; a while keeps the carries its condition reads; a cond
drops unused results and the operands no branch reads then. Results are unchanged (against
the Python loop)."""

import numpy as np
import pytest
from oracle import rand

import tracefuse as tx
from tracefuse.ir import OpCode
from tracefuse.passes import licm

G = OpCode


def loop_op(graph, code):
    (op,) = [o for o in graph.ops if o.code is code]
    return op


def step(w, b, x):
    """An RNN-like fori_loop: w.T and b * 2 are invariant, the rest is not."""
    return tx.fori_loop(0, 5, lambda i, h: tx.tanh(h @ tx.matrix_transpose(w) + b * 2.0), x)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_invariants_of_a_scan_body_move_out(backend, rng):
    w, b, x = rand(rng, (4, 4), "float64"), rand(rng, (4,), "float64"), rand(rng, (3, 4), "float64")
    f = tx.function(step, backend=backend)
    cf = f.get_concrete_function(w, b, x)
    before, after = cf.stage_graph("cse"), cf.stage_graph("licm")
    body_before = loop_op(before, G.SCAN).attrs["body"]
    body_after = loop_op(after, G.SCAN).attrs["body"]
    codes = [o.code for o in body_after.ops]
    assert G.PERMUTE in [o.code for o in body_before.ops] and G.PERMUTE not in codes
    assert G.MATMUL in codes and G.TANH in codes  # loop-varying: they stay
    outer = [o.code for o in after.ops]
    assert outer.index(G.PERMUTE) < outer.index(G.SCAN)
    assert len(loop_op(after, G.SCAN).inputs) == len(loop_op(before, G.SCAN).inputs) + 2
    h = x
    for _ in range(5):
        h = np.tanh(h @ w.T + b * 2.0)
    np.testing.assert_allclose(f(w, b, x).numpy(), h, rtol=1e-12)


def test_while_cond_and_body_hoist_into_one_signature(rng):
    def f(a, x):
        def cond(c):
            return tx.sum(c) < tx.sum(a * a)  # sum(a * a) is invariant

        def body(c):
            return c + tx.exp(a) * 0.5  # exp(a) * 0.5 is invariant
        return tx.while_loop(cond, body, x)

    a, x = rand(rng, (3,), "float64", low=0.1, high=1.0), rand(rng, (3,), "float64", low=-1, high=0)
    g = tx.function(f, backend="numpy")
    after = g.get_concrete_function(a, x).stage_graph("licm")
    op = loop_op(after, G.WHILE)
    assert not any(o.code is G.EXP for o in op.attrs["body"].ops)
    assert len(op.attrs["cond"].inputs) == len(op.attrs["body"].inputs) == len(op.inputs)
    c = x.copy()
    while c.sum() < (a * a).sum():
        c = c + np.exp(a) * 0.5
    np.testing.assert_allclose(g(a, x).numpy(), c, rtol=1e-12)


def test_nested_loops_hoist_out_of_both(rng):
    def f(w, x):
        def outer(i, h):
            return tx.fori_loop(0, 3, lambda j, u: u * tx.sum(tx.cos(w)) + 1.0, h)
        return tx.fori_loop(0, 2, outer, x)

    w, x = rand(rng, (4,), "float64"), rand(rng, (4,), "float64")
    g = tx.function(f, backend="numpy")
    after = g.get_concrete_function(w, x).stage_graph("licm")
    outer_op = loop_op(after, G.SCAN)
    inner_op = loop_op(outer_op.attrs["body"], G.SCAN)
    assert not any(o.code is G.COS for o in inner_op.attrs["body"].ops)
    assert not any(o.code is G.COS for o in outer_op.attrs["body"].ops)
    assert any(o.code is G.COS for o in after.ops)
    h = x.copy()
    for _ in range(2):
        for _ in range(3):
            h = h * np.cos(w).sum() + 1.0
    np.testing.assert_allclose(g(w, x).numpy(), h, rtol=1e-12)


def test_literals_and_varying_ops_stay(rng):
    def f(x):
        return tx.fori_loop(0, 4, lambda i, h: h * 2.0 + tx.full((3,), 1.5), x)

    g = tx.function(f, backend="numpy")
    before = g.get_concrete_function(rand(rng, (3,), "float64")).stage_graph("cse")
    assert licm(before) is before  # nothing invariant but literals: the graph is unchanged


# --- dce of control flow: unused results, carries, xs and constants go -------------------------
def test_dce_drops_unused_ys_carries_xs_and_consts(rng):
    def f(x, xs, w, unused_const):
        def body(c, xi):
            a, b, k = c
            # a depends on b; k depends only on itself and the unused constant
            return (a + b * xi[0], b * 0.5 + w, k * unused_const), (a * 2.0, xi[1] * 3.0)
        (a, _, _), (y0, _) = tx.scan(body, (x, x * 2.0, x), xs)
        return a + tx.sum(y0)

    x, w, u = (rand(rng, (3,), "float64") for _ in range(3))
    xs = rand(rng, (4, 2), "float64")
    g = tx.function(f, backend="numpy")
    cf = g.get_concrete_function(x, xs, w, u)
    scan = loop_op(cf.stage_graph("dce"), G.SCAN)
    assert scan.attrs["num_carries"] == 2  # k is gone: nobody reads it
    assert len(scan.outputs) == 2 + 1  # a, b and the one used y
    assert len(scan.inputs) == 2 + 1 + 1  # a, b; xs; w (the unused constant is gone)
    a, b = x.copy(), x * 2.0
    total = 0.0
    for xi in xs:
        total += np.sum(a * 2.0)
        a, b = a + b * xi[0], b * 0.5 + w
    np.testing.assert_allclose(g(x, xs, w, u).numpy(), a + total, rtol=1e-12)


def test_dce_keeps_the_carries_a_while_condition_reads(rng):
    def f(x):
        def body(c):
            i, v, unused = c
            return i + 1, v * 1.5, unused + v
        return tx.while_loop(lambda c: c[0] < 3, body, (0, x, x))[1]

    x = rand(rng, (3,), "float64")
    g = tx.function(f, backend="numpy")
    op = loop_op(g.get_concrete_function(x).stage_graph("dce"), G.WHILE)
    assert op.attrs["num_carries"] == 2 and len(op.outputs) == 2  # i (read by cond) and v
    np.testing.assert_allclose(g(x).numpy(), x * 1.5 ** 3, rtol=1e-12)


def test_dce_drops_unused_cond_results_and_operands(rng):
    def f(p, x, y):
        r, _ = tx.cond(p, lambda a, b: (a * 2.0, b), lambda a, b: (a - 1.0, b * 3.0), x, y)
        return r

    x, y = rand(rng, (3,), "float64"), rand(rng, (3,), "float64")
    g = tx.function(f, backend="numpy")
    op = loop_op(g.get_concrete_function(True, x, y).stage_graph("dce"), G.COND)
    assert len(op.outputs) == 1 and len(op.inputs) == 2  # the index and x
    np.testing.assert_allclose(g(True, x, y).numpy(), x * 2.0)
    np.testing.assert_allclose(g(False, x, y).numpy(), x - 1.0)
