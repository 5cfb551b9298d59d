"""The JVP, VJP and batching rules of the control-flow ops (transforms/control_flow_rules.py),
at the graph level: graphs holding `cond`, `while` and `scan` built op by op, transformed by
`jvp_graph`, `vjp_graph` and `vmap_graph`, and run with the NumPy interpreter. Oracles: central
finite differences in float64 (forward mode) and `<u, J v> == <J^T u, v>` (reverse mode), and a
Python loop over the batch (vmap). Reverse mode through `while` is an error that names the op,
the line and the alternatives."""

import numpy as np
import pytest

from tracefuse.errors import Loc
from tracefuse.ir import Attrs, OpCode, TensorType, verify
from tracefuse.ir import dtypes as dt
from tracefuse.ir.numpy_impl import evaluate_graph
from tracefuse.tracer.tracer import GraphBuilder
from tracefuse.transforms.autodiff import NonDifferentiableError, jvp_graph, vjp_graph
from tracefuse.transforms.batching import vmap_graph
from tracefuse.transforms.emit import Emitter

G = OpCode
LOC = Loc("model.py", 7)
I32 = TensorType((), dt.int32)


def f64(*shape):
    return TensorType(shape, dt.float64)


def region(fn, types, name="r"):
    b = GraphBuilder(name)
    ins = [b.new_input(t)._value for t in types]
    return b.build(fn(Emitter(b, LOC), *ins))


def graph(fn, types):
    b = GraphBuilder("f")
    ins = [b.new_input(t)._value for t in types]
    return b.build(list(fn(b, Emitter(b, LOC), *ins)))


def scan_graph(reverse: bool, length: int = 5):
    """carry c (3,), xs (length, 3), const w (3,): c' = tanh(c*x + w), y = sin(c)*x."""
    body = region(lambda e, c, x, w: [e.op(G.TANH, e.add(e.mul(c, x), w)),
                                      e.mul(e.op(G.SIN, c), x)], [f64(3)] * 3)
    attrs = Attrs(body=body, num_carries=1, num_xs=1, length=length, reverse=reverse)
    return graph(lambda b, e, c, xs, w: b.emit_many(G.SCAN, [c, xs, w], attrs, LOC,
                                                    [f64(3), f64(length, 3)]),
                 [f64(3), f64(length, 3), f64(3)])


def counted_while_graph(trips: int = 4):
    """x' = x*w + 0.1, `trips` times (an int32 counter carried beside x)."""
    types = [f64(3), I32, f64(3)]
    cond = region(lambda e, x, i, w: [e.op(G.LESS, i, e.scalar(trips, dt.int32))], types)
    body = region(lambda e, x, i, w: [e.add(e.mul(x, w), e.scalar(0.1)),
                                      e.add(i, e.scalar(1, dt.int32))], types)
    return graph(lambda b, e, x, w: b.emit_many(
        G.WHILE, [x, e.scalar(0, dt.int32), w], Attrs(cond=cond, body=body, num_carries=2),
        LOC, [f64(3), I32])[:1], [f64(3), f64(3)])


BRANCHES = (region(lambda e, x, w: [e.mul(e.op(G.SIN, x), w)], [f64(3), f64(3)]),
            region(lambda e, x, w: [e.add(e.op(G.COS, x), w)], [f64(3), f64(3)]),
            region(lambda e, x, w: [e.mul(x, x)], [f64(3), f64(3)]))


def cond_graph(index):
    """cond with a constant index (an int, or a bool) over the first two or all three branches."""
    branches = BRANCHES[:2] if isinstance(index, bool) else BRANCHES
    d = dt.bool_ if isinstance(index, bool) else dt.int32
    return graph(lambda b, e, x, w: b.emit_many(G.COND, [e.scalar(index, d), x, w],
                                                Attrs(branches=branches), LOC, [f64(3)]),
                 [f64(3), f64(3)])


def run(g, args):
    return evaluate_graph(g, args)


GRAPHS = {
    "scan": lambda: scan_graph(False), "scan_reverse": lambda: scan_graph(True),
    "scan_zero_length": lambda: scan_graph(False, length=0),
    "cond_true": lambda: cond_graph(True), "cond_false": lambda: cond_graph(False),
    "switch_2": lambda: cond_graph(2), "switch_clamped": lambda: cond_graph(7),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_jvp_and_vjp_match_finite_differences(name, rng):
    g = GRAPHS[name]()
    args = [rng.uniform(-1, 1, v.type.shape) for v in g.inputs]
    tans = [rng.uniform(-1, 1, v.type.shape) for v in g.inputs]
    eps = 1e-6
    plus = run(g, [a + eps * t for a, t in zip(args, tans)])
    minus = run(g, [a - eps * t for a, t in zip(args, tans)])
    fd = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    n = len(g.outputs)
    J = verify(jvp_graph(g, [True] * len(args)))
    for got, want in zip(run(J, args + tans)[n:], fd):
        np.testing.assert_allclose(got, want, atol=1e-7, rtol=1e-6)
    cts = [rng.uniform(-1, 1, v.type.shape) for v in g.outputs]
    V = verify(vjp_graph(g, list(range(len(args))), [True] * n))
    grads = run(V, args + cts)[n:]
    lhs = sum(np.sum(c * f) for c, f in zip(cts, fd))
    rhs = sum(np.sum(gr * t) for gr, t in zip(grads, tans))
    assert np.isclose(lhs, rhs, rtol=1e-6, atol=1e-9), (lhs, rhs)
    if n and "zero" not in name:
        assert any(np.any(gr != 0) for gr in grads)  # the check is not vacuous


def test_while_forward_mode_and_no_reverse_mode(rng):
    g = counted_while_graph()
    args = [rng.uniform(-1, 1, 3) for _ in range(2)]
    tans = [rng.uniform(-1, 1, 3) for _ in range(2)]
    eps = 1e-6
    fd = (run(g, [a + eps * t for a, t in zip(args, tans)])[0]
          - run(g, [a - eps * t for a, t in zip(args, tans)])[0]) / (2 * eps)
    np.testing.assert_allclose(run(verify(jvp_graph(g, [True, True])), args + tans)[1], fd,
                               atol=1e-7)
    with pytest.raises(NonDifferentiableError) as e:
        vjp_graph(g, [0, 1], [True])
    assert "while" in str(e.value) and "fori_loop" in str(e.value) and "scan" in str(e.value)
    assert "model.py:7" in str(e.value)


def test_a_carry_that_gets_a_tangent_inside_the_loop():
    """The initial carry has no tangent, the body mixes in a constant that has one: the
    carry's tangent is found by the fixpoint, not dropped."""
    body = region(lambda e, c, w: [e.add(e.mul(c, e.scalar(0.5)), w)], [f64(2), f64(2)])
    g = graph(lambda b, e, c, w: b.emit_many(
        G.SCAN, [c, w], Attrs(body=body, num_carries=1, num_xs=0, length=3, reverse=False),
        LOC, [f64(2)]), [f64(2), f64(2)])
    J = verify(jvp_graph(g, [False, True]))
    c, w, tw = np.array([1.0, 2.0]), np.array([0.3, -0.4]), np.array([1.0, 1.0])
    # c3 = c/8 + w (1 + 1/2 + 1/4): d c3 / dw . tw = 1.75
    np.testing.assert_allclose(run(J, [c, w, tw])[1], 1.75 * tw)


def while_batched_predicate_graph():
    """x' = x + |w| while sum(x) < 3: each batch element stops at its own trip."""
    types = [f64(3), f64(3)]
    cond = region(lambda e, x, w: [e.op(G.LESS, e.op(G.SUM, x, axes=(0,), keepdims=False),
                                        e.scalar(3.0))], types)
    body = region(lambda e, x, w: [e.add(x, e.op(G.ABS, w))], types)
    return graph(lambda b, e, x, w: b.emit_many(
        G.WHILE, [x, w], Attrs(cond=cond, body=body, num_carries=1), LOC, [f64(3)]), types)


def batched_index_cond_graph():
    return graph(lambda b, e, x, w: b.emit_many(
        G.COND, [e.op(G.GREATER, e.op(G.SUM, x, axes=(0,), keepdims=False), e.scalar(0.0)),
                 x, w], Attrs(branches=BRANCHES[:2]), LOC, [f64(3)]), [f64(3), f64(3)])


VMAP_CASES = [
    ("scan_carry_and_xs", lambda: scan_graph(False), (0, 0, None)),
    ("scan_const_only", lambda: scan_graph(True), (None, None, 0)),
    ("scan_all", lambda: scan_graph(False), (0, 0, 0)),
    ("cond_operand", lambda: cond_graph(True), (0, None)),
    ("switch_operand", lambda: cond_graph(2), (None, 0)),
    ("cond_batched_index", batched_index_cond_graph, (0, None)),
    ("while_carry", counted_while_graph, (0, None)),
    ("while_const", counted_while_graph, (None, 0)),
    ("while_batched_predicate", while_batched_predicate_graph, (0, 0)),
]


@pytest.mark.parametrize("name, make, axes", VMAP_CASES, ids=[c[0] for c in VMAP_CASES])
@pytest.mark.parametrize("size", [1, 5])
def test_vmap_matches_a_python_loop(name, make, axes, size, rng):
    g = make()
    args = [rng.uniform(-2, 2, ((size,) if a is not None else ()) + v.type.shape)
            for v, a in zip(g.inputs, axes)]
    M = verify(vmap_graph(g, list(axes), size, [0] * len(g.outputs)))
    got = run(M, args)
    for j in range(len(g.outputs)):
        want = np.stack([run(g, [a[i] if ax is not None else a for a, ax in zip(args, axes)])[j]
                         for i in range(size)])
        np.testing.assert_allclose(got[j], want, rtol=1e-12)


def test_a_fori_style_scan_with_an_integer_counter(rng):
    """fori_loop with Python bounds is a scan with no xs and an int32 counter carried: its
    gradient skips the counter and matches finite differences."""
    types = [f64(3), I32, f64(3)]
    body = region(lambda e, x, i, w: [e.add(e.mul(x, w), e.cast(i, dt.float64)),
                                      e.add(i, e.scalar(1, dt.int32))], types)
    attrs = Attrs(body=body, num_carries=2, num_xs=0, length=4, reverse=False)
    g = graph(lambda b, e, x, w: b.emit_many(G.SCAN, [x, e.scalar(0, dt.int32), w], attrs, LOC,
                                             [f64(3), I32])[:1], [f64(3), f64(3)])
    x, w = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    ct = rng.uniform(-1, 1, 3)
    gx, gw = run(verify(vjp_graph(g, [0, 1], [True])), [x, w, ct])[1:]
    # x4 = x w^4 + 0 w^3 + 1 w^2 + 2 w + 3
    np.testing.assert_allclose(gx, ct * w ** 4)
    np.testing.assert_allclose(gw, ct * (4 * x * w ** 3 + 2 * w + 2))
