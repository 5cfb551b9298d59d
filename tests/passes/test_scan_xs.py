"""hoist_xs: a scan body's work on its xs alone (elementwise ops and a matmul with the xs on the
left) is done for all steps in front of the scan and read back as new xs; work that reads the
carry, reductions, draws, and matmuls with the xs on the right stay. Results against a Python
loop on the reference interpreter and on the cpu backend, forward and reverse."""

import numpy as np
import pytest
from oracle import rand

import tracefuse as tx
from tracefuse.ir import OpCode

G = OpCode


def scan_op(graph):
    (op,) = [o for o in graph.ops if o.code is G.SCAN]
    return op


def rnn(h, xs, w, u, b, reverse=False):
    def step(h, x):
        h = tx.tanh(h @ w + (x * 0.5) @ u + b)
        return h, h
    return tx.scan(step, h, xs, reverse=reverse)


def rnn_np(h, xs, w, u, b, reverse=False):
    hs = [None] * len(xs)
    for t in (reversed(range(len(xs))) if reverse else range(len(xs))):
        h = np.tanh(h @ w + (xs[t] * 0.5) @ u + b)
        hs[t] = h
    return h, np.stack(hs)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("reverse", [False, True])
def test_the_input_projection_of_an_rnn_moves_out(backend, reverse, rng):
    h, xs = rand(rng, (6,), "float64"), rand(rng, (9, 5), "float64")
    w, u, b = rand(rng, (6, 6), "float64"), rand(rng, (5, 6), "float64"), rand(rng, (6,), "float64")
    f = tx.function(lambda *a: rnn(*a, reverse=reverse), backend=backend)
    cf = f.get_concrete_function(h, xs, w, u, b)
    before, after = cf.stage_graph("licm"), cf.stage_graph("hoist-xs")
    assert [o.code for o in scan_op(before).attrs["body"].ops].count(G.MATMUL) == 2
    body = scan_op(after).attrs["body"]
    assert [o.code for o in body.ops].count(G.MATMUL) == 1  # h @ w stays: it reads the carry
    outer = [o.code for o in after.ops]
    assert outer.index(G.MATMUL) < outer.index(G.SCAN) and G.MULTIPLY in outer
    hoisted = [o for o in after.ops if o.code is G.MATMUL][0]
    assert hoisted.output.type.shape == (9, 6)  # all nine steps' x_t @ u in one product
    got = f(h, xs, w, u, b)
    want = rnn_np(h, xs, w, u, b, reverse=reverse)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-14)


def test_what_stays_in_the_loop(rng):
    def f(h, xs, u):
        def step(c, x):
            r = tx.sum(x)  # a reduction: its batched form is not the same op
            v = u @ x  # x on the right: (T, k) rows would need a transpose
            return c + r + v, c * x  # c * x reads the carry
        return tx.scan(step, h, xs)

    h, xs, u = rand(rng, (4,), "float32"), rand(rng, (7, 4), "float32"), rand(rng, (4, 4), "float32")
    fn = tx.function(f, backend="numpy")
    cf = fn.get_concrete_function(h, xs, u)
    assert cf.stage_graph("hoist-xs") is cf.stage_graph("licm") or \
        [o.code for o in cf.stage_graph("hoist-xs").ops] == [o.code for o in cf.stage_graph("licm").ops]
    c, ys = h.copy(), []
    for x in xs:
        ys.append(c * x)
        c = c + x.sum() + u @ x
    got = fn(h, xs, u)
    np.testing.assert_allclose(got[0].numpy(), c, rtol=1e-5)
    np.testing.assert_allclose(got[1].numpy(), np.stack(ys), rtol=1e-5)


def test_elementwise_chains_with_constants_and_literals_move(rng):
    def f(h, xs, a):
        def step(c, x):
            y = tx.exp(x * a - 1.0)  # a: a (3,) loop constant; 1.0: a literal
            return c + y, y
        return tx.scan(step, h, xs)

    h, xs, a = rand(rng, (3,), "float64"), rand(rng, (8, 3), "float64"), rand(rng, (3,), "float64")
    for backend in ("numpy", "cpu"):
        fn = tx.function(f, backend=backend)
        after = fn.get_concrete_function(h, xs, a).stage_graph("hoist-xs")
        body_codes = [o.code for o in scan_op(after).attrs["body"].ops]
        assert G.EXP not in body_codes and G.ADD in body_codes
        ys = np.exp(xs * a - 1.0)
        got = fn(h, xs, a)
        np.testing.assert_allclose(got[0].numpy(), h + ys.sum(0), rtol=1e-12)
        np.testing.assert_allclose(got[1].numpy(), ys, rtol=1e-12)
