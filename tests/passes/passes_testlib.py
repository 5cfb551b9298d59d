"""Helpers for the pass tests: run one pass on IR text and compare the printed result, count
ops, and run two graphs on the same inputs with the numpy interpreter."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import numpy as np

from tracefuse.backends.numpy.backend import Interpreter
from tracefuse.ir import Graph, parse_graph, print_graph, verify


def ir(text: str) -> str:
    """IR text written indented in a test, as the printer writes it."""
    return textwrap.dedent(text).strip("\n") + "\n"


def run_pass(fn: Callable[[Graph], Graph], text: str) -> Graph:
    """Parse `text`, run one pass, verify the result, and check the pass kept the signature."""
    before = verify(parse_graph(ir(text)))
    after = verify(fn(before))
    assert after.inputs == before.inputs
    assert [v.type for v in after.outputs] == [v.type for v in before.outputs]
    return after


def check_pass(fn: Callable[[Graph], Graph], before: str, after: str, exact: bool = True) -> Graph:
    """Run `fn` on `before` and assert the printed result is exactly `after`; the rewritten
    graph also computes what the original did on random inputs (bit for bit when `exact`)."""
    g = run_pass(fn, before)
    assert print_graph(g) == ir(after)
    assert_same_results(parse_graph(ir(before)), g, exact=exact)
    return g


def count(graph: Graph, name: str) -> int:
    """How many ops named `name` (`multiply`) the graph has."""
    return sum(op.code.value == name for op in graph.ops)


def random_inputs(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    """Values for the graph's inputs: floats with NaN, +-inf and +-0.0 among them."""
    arrays = []
    specials = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0]
    for v in graph.inputs:
        d = v.type.dtype.np
        shape = v.type.shape
        if d.kind == "b":
            a = rng.random(shape) < 0.5
        elif d.kind in "iu":
            a = rng.integers(0 if d.kind == "u" else -5, 6, size=shape).astype(d)
        else:
            a = (rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1, 1], size=shape)).astype(d)
            flat = a.reshape(-1)
            for i in range(min(flat.size, len(specials))):
                flat[rng.integers(flat.size)] = specials[i]
        arrays.append(np.asarray(a))
    return arrays


def run(graph: Graph, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(a) for a in Interpreter(graph)(list(arrays))]


def assert_close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float = 0.0,
                 what: str = "") -> None:
    """Same dtype and shape; ints and bools exactly; floats within tolerance, NaN and inf
    where the other has them."""
    assert got.dtype == want.dtype and got.shape == want.shape, (what, got.dtype, want.dtype)
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{what}: NaN places")
    inf = np.isinf(want) | np.isinf(got)
    np.testing.assert_array_equal(got[inf], want[inf], err_msg=f"{what}: infinities")
    fin = ~np.isnan(want) & ~inf
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=atol, err_msg=what)


def assert_same_results(before: Graph, after: Graph, exact: bool = True, seed: int = 0,
                        trials: int = 3) -> None:
    """`after` computes what `before` does on random inputs with NaN, inf and -0.0 among them:
    bit for bit (up to NaN payloads) when `exact`, else within a few ulps."""
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        arrays = random_inputs(before, rng)
        with np.errstate(all="ignore"):
            want, got = run(before, arrays), run(after, arrays)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            if exact:
                assert g.dtype == w.dtype and g.shape == w.shape
                assert np.array_equal(g, w, equal_nan=w.dtype.kind == "f"), (i, g, w)
                if w.dtype.kind == "f":
                    assert np.array_equal(np.signbit(g[~np.isnan(w)]), np.signbit(w[~np.isnan(w)]))
            else:
                rtol = {"float16": 4e-3, "float32": 1e-6}.get(w.dtype.name, 1e-15)
                assert_close(g, w, rtol=rtol, what=f"output {i}")
