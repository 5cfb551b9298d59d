"""Property test: for random small programs, the optimized graph computes what the traced
graph does (run both with the numpy interpreter): exactly for ints and bools, within a few ulps
for floats with NaN in the same places, and every pass leaves a graph the verifier accepts.

The programs lean on what the passes rewrite: Python-scalar operands 0, 1, -0.0, 0.5, powers,
repeated subexpressions, self-differences, fills, casts and movement ops that undo each other.
Float inputs hold NaN, +-inf and +-0.0.
"""

from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from passes_testlib import run

import tracefuse as tx
from tracefuse.ir import Graph, parse_graph, verify
from tracefuse.passes import build_pipeline, run_pipeline

FLOAT_POOL = [np.nan, np.inf, -np.inf, -0.0, 0.0, 0.5, -1.5, 2.0, 1.25, -0.75]
SCALARS = {"float": [0.0, -0.0, 1.0, 0.0, -0.0, 2.0, 0.5], "int": [0, 1, 2, -1]}
POWERS = {"float": [0, 1, 2, 3, 4, -1, -2, -3, 0.5, 1.5, -0.5, 2.0], "int": [0, 1, 2, 3, 4]}
BINARY = ["add", "subtract", "multiply", "maximum", "minimum"]
UNARY = {"float": ["negative", "abs", "exp", "sqrt", "tanh"], "int": ["negative", "abs"]}


@dataclass(frozen=True)
class Options:
    fastmath: bool = False


@st.composite
def programs(draw):
    dtype = draw(st.sampled_from(["float32", "float64", "int32", "int64", "uint8"]))
    kind = "float" if dtype.startswith("float") else "int"
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    steps = []
    for n in range(2, 2 + draw(st.integers(1, 10))):
        op = draw(st.sampled_from(["unary", "binary", "scalar", "scalar", "rscalar", "pow",
                                   "self", "fill", "move", "cast", "twice"]))
        a = draw(st.integers(0, n - 1))
        if op == "unary":
            steps.append((op, a, draw(st.sampled_from(UNARY[kind]))))
        elif op in ("binary", "self"):
            b = a if op == "self" else draw(st.integers(0, n - 1))
            steps.append(("binary", a, draw(st.sampled_from(BINARY)), b))
        elif op in ("scalar", "rscalar"):
            scalars = [c for c in SCALARS[kind] if dtype != "uint8" or c >= 0]
            steps.append((op, a, draw(st.sampled_from(BINARY + ["divide"])),
                          draw(st.sampled_from(scalars))))
        elif op == "pow":
            steps.append((op, draw(st.integers(0, 1)), draw(st.sampled_from(POWERS[kind]))))
        elif op == "fill":
            steps.append((op, a, draw(st.sampled_from(BINARY)), draw(st.sampled_from([0, 1, 2]))))
        else:
            steps.append((op, a))
    return dtype, shape, steps


def run_program(steps, dtype, x, y):
    values = [x, y]
    for step in steps:
        op, v = step[0], values[step[1]]
        if op == "unary":
            out = getattr(tx, step[2])(v)
        elif op == "binary":
            out = getattr(tx, step[2])(v, values[step[3]])
        elif op == "scalar":
            out = getattr(tx, step[2])(v, step[3])
        elif op == "rscalar":
            out = getattr(tx, step[2])(step[3], v)
        elif op == "pow":
            out = v ** step[2]  # on an input only: keeps magnitudes (and round-off) small
        elif op == "fill":
            out = getattr(tx, step[2])(tx.full(v.shape, step[3], dtype=v.dtype) + 1, v)
        elif op == "move":
            t = tx.permute_dims(v, tuple(reversed(range(v.ndim))))
            out = tx.reshape(tx.reshape(tx.permute_dims(t, tuple(reversed(range(v.ndim)))), (-1,)),
                             v.shape)
        elif op == "cast":
            out = tx.astype(tx.broadcast_to(v, v.shape), v.dtype)
        else:  # twice: the same expression written two times
            out = tx.exp(v) + tx.exp(v) if v.dtype in (tx.float32, tx.float64) else v * 3 + v * 3
        values.append(out)
    return values[2:]


def inputs(dtype, shape, rng, k=0):
    """Draw `k` of the inputs: over k = 0..9 every element of x meets every special value."""
    if dtype.startswith("float"):
        pool = rng.permutation(np.array(FLOAT_POOL, dtype))
        j = np.arange(int(np.prod(shape))).reshape(shape)
        return [pool[(3 * j + k) % 10], pool[(7 * j + 3 * k + 1) % 10]]
    low = 0 if dtype == "uint8" else -5
    return [rng.integers(low, 6, size=shape).astype(dtype) for _ in range(2)]


def all_values(graph: Graph) -> Graph:
    """The graph with every op's result as an output (to measure the program's magnitudes)."""
    return graph.replace(outputs=tuple(op.outputs[0] for op in graph.ops))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.booleans(), st.integers(0, 2**32 - 1))
def test_optimized_graph_matches_traced_graph(program, fastmath, seed):
    dtype, shape, steps = program
    f = tx.function(lambda x, y: run_program(steps, dtype, x, y), backend="numpy")
    x, y = inputs(dtype, shape, np.random.default_rng(seed))  # for the signature only
    traced = verify(parse_graph(f.get_concrete_function(x, y).ir("traced", elide_constants=False)))
    result = run_pipeline(traced, build_pipeline(Options(fastmath)), verify_each=True)
    for _, graph in result.after:
        verify(graph)
    if fastmath:
        return  # fast math may change floats (x*0 with x=nan): only the IR is checked
    rng = np.random.default_rng(seed)
    for k in range(10):  # NaN, inf and -0.0 reach every op of the program
        x, y = inputs(dtype, shape, rng, k)
        with np.errstate(all="ignore"):
            want = run(traced, [x, y])
            got = run(result.graph, [x, y])
            every = [a for a in run(all_values(traced), [x, y]) if a.dtype.kind == "f"]
        assert_matches(got, want, every)


def assert_matches(got, want, every):
    scale = max([1.0] + [float(np.max(np.abs(a[np.isfinite(a)]), initial=0)) for a in every])
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape
        if w.dtype.kind != "f":
            np.testing.assert_array_equal(g, w, err_msg=f"value {i}")
            continue
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=f"NaN places of value {i}")
        inf = np.isinf(w) | np.isinf(g)
        np.testing.assert_array_equal(g[inf], w[inf], err_msg=f"infinities of value {i}")
        zero = (g == 0) & (w == 0)
        np.testing.assert_array_equal(np.signbit(g[zero]), np.signbit(w[zero]),
                                      err_msg=f"signs of zeros of value {i}")
        eps = float(np.finfo(w.dtype).eps)
        fin = np.isfinite(w) & np.isfinite(g)
        # x**3 -> x*x*x differs by a few ulps; later ops may carry that error along
        np.testing.assert_allclose(g[fin], w[fin], rtol=64 * eps, atol=64 * eps * scale,
                                   err_msg=f"value {i}")
