"""Property test: random straight-line programs give NumPy's result eagerly and compiled.

hypothesis draws a program of up to 12 steps over two float inputs of broadcastable shapes;
each step applies a unary, binary, reduction or movement function to earlier values. The same
program runs on NumPy (the oracle), eagerly in tracefuse, and under @tx.function on each
backend of oracle.BACKENDS. A failure shrinks to a short program, printed by hypothesis.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import tracefuse as tx
from oracle import BACKENDS, assert_same

UNARY = [("exp", np.exp), ("tanh", np.tanh), ("abs", np.abs), ("negative", np.negative),
         ("sin", np.sin), ("square", np.square), ("floor", np.floor), ("sign", np.sign)]
BINARY = [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
          ("maximum", np.maximum), ("minimum", np.minimum), ("divide", np.divide)]
REDUCE = [("sum", np.sum), ("max", np.max), ("min", np.min), ("prod", np.prod)]


@st.composite
def programs(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    other = tuple(d if draw(st.booleans()) else 1 for d in shape)
    steps = []
    n_values = 2
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "flip", "scalar"]))
        a = draw(st.integers(0, n_values - 1))
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(UNARY)), a))
        elif kind == "binary":
            steps.append(("binary", draw(st.sampled_from(BINARY)), a, draw(st.integers(0, n_values - 1))))
        elif kind == "scalar":
            steps.append(("scalar", draw(st.sampled_from(BINARY)), a, draw(st.sampled_from([0.5, 2.0, -3.0]))))
        elif kind == "reduce":
            steps.append(("reduce", draw(st.sampled_from(REDUCE)), a, draw(st.booleans())))
        else:
            steps.append(("flip", None, a))
        n_values += 1
    return dtype, shape, other, steps


def run_program(ns, steps, x, y):
    values = [x, y]
    for step in steps:
        kind, fn, a = step[:3]
        v = values[a]
        if kind == "unary":
            out = getattr(ns, fn[0])(v) if ns is tx else fn[1](v)
        elif kind == "binary":
            out = getattr(ns, fn[0])(v, values[step[3]]) if ns is tx else fn[1](v, values[step[3]])
        elif kind == "scalar":
            out = getattr(ns, fn[0])(v, step[3]) if ns is tx else fn[1](v, step[3])
        elif kind == "reduce":
            axis = -1 if (v.ndim and step[3]) else None
            out = getattr(ns, fn[0])(v, axis=axis, keepdims=True) if ns is tx else fn[1](v, axis=axis, keepdims=True)
        else:
            out = ns.flip(v, axis=None) if ns is tx else np.flip(v, axis=None)
        values.append(out)
    return values[-1]


@settings(max_examples=200, deadline=None)
@given(programs(), st.integers(0, 2**32 - 1))
def test_random_programs_match_numpy(program, seed):
    dtype, shape, other, steps = program
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, shape).astype(dtype)
    y = rng.uniform(-2, 2, other).astype(dtype)
    with np.errstate(all="ignore"):
        expected = np.asarray(run_program(np, steps, x, y))
    rtol = 1e-4 if dtype == "float32" else 1e-10
    assert_same(run_program(tx, steps, x, y), expected, rtol=rtol, atol=1e-6, what="eager")
    for backend in BACKENDS:
        f = tx.function(lambda a, b: run_program(tx, steps, a, b), backend=backend)
        assert_same(f(x, y), expected, rtol=rtol, atol=1e-6, what=backend)
