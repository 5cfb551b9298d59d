"""The derivative and batching rules of the library functions (transforms/library):
JVP and VJP against central finite differences (the harness of test_derivative_rules.py), vmap
against a Python loop, an eager GradientTape through a call, and coverage: every function with
a rule has a case here, every function without one raises NonDifferentiableError naming it."""

from __future__ import annotations

import numpy as np
import oracle
import pytest
from test_derivative_rules import U, case, check_case, fd_jacobian, noncontiguous
from test_fft_grads import COVERED as FFT_COVERED
from test_linalg_grads import COVERED as LINALG_COVERED
from test_library_rules_indexing import COVERAGE as INDEXING_COVERAGE

import tracefuse as tx
from tracefuse.ir import OpCode
from tracefuse.ir.library import FUNCTIONS
from tracefuse.ir.opcodes import Unsupported
from tracefuse.transforms import library as library_rules
from tracefuse.transforms.autodiff import NonDifferentiableError


def distinct(*shape):
    """Uniform values far from ties (sorting is differentiable away from them)."""
    def make(rng):
        n = int(np.prod(shape))
        return (rng.permutation(n).reshape(shape) * 0.37 - 1.0 + rng.random(shape) * 0.1)
    return make


IDX = np.array([[2, 0, 2, -1], [1, 1, 0, 3], [3, 2, 1, 0]])

CASES = [
    case("sort_axis1", lambda x: tx.sort(x, axis=1) * tx.arange(4.0), distinct(3, 4)),
    case("sort_desc_axis0", lambda x: tx.sort(x, axis=0, descending=True) ** 2, distinct(3, 4)),
    case("cumsum", lambda x: tx.cumulative_sum(x, axis=1) ** 2, U(3, 4)),
    case("cumsum_initial_1d", lambda x: tx.sin(tx.cumulative_sum(x, include_initial=True)),
         U(5)),
    case("take_along_axis_repeats", lambda x: tx.take_along_axis(x, IDX, axis=1) ** 2, U(3, 4)),
    case("take_along_axis_axis0", lambda x: tx.take_along_axis(x, IDX[:2], axis=0) * 3.0,
         U(4, 4)),
    case("take_along_axis_broadcast",
         lambda x: tx.take_along_axis(x, np.array([[1, 0, 1]]), axis=1) ** 3, U(3, 2)),
]
NO_RULE = {"cumulative_prod"}  # Unsupported, with its reason
INTEGER_ONLY = {"argsort"}  # integer results: nothing to differentiate
INTERNAL = {"scatter_add_along_axis": "take_along_axis's cotangent: checked through it"}
# other families' functions, covered by the cases of their own test files
OTHER_FILES = FFT_COVERED  # test_fft_grads.py


@pytest.mark.parametrize("c", CASES)
def test_library_rules_against_finite_differences(c, rng):
    xs = [maker(rng) for maker in c.makers]
    out, blocks = fd_jacobian(c, xs)
    check_case(c, xs, out, blocks, rng, "contiguous")
    check_case(c, [noncontiguous(x) for x in xs], out, blocks, rng, "non-contiguous")


def _called_functions(c, rng) -> set[str]:
    """The library functions a case's traced graph calls."""
    xs = [maker(rng) for maker in c.makers]
    graph = tx.function(c.fn, backend="numpy").get_concrete_function(*xs).stage_graph("traced")
    return {op.attrs["fn"] for op in graph.ops if op.code is OpCode.CALL}


def test_every_library_function_is_covered(rng):
    named = set().union(*(_called_functions(c.values[0], rng) for c in CASES))
    named -= set(INTERNAL)  # called by a case only through a rule: not a case of its own
    named |= LINALG_COVERED  # differentiated by tests/transforms/test_linalg_grads.py
    # gather, scatter, searchsorted, nonzero, unique: covered (and checked) in
    # test_library_rules_indexing.py
    listed = (named | NO_RULE | INTEGER_ONLY | set(INTERNAL) | OTHER_FILES
              | set(INDEXING_COVERAGE))
    assert listed == set(FUNCTIONS), sorted(set(FUNCTIONS) ^ listed)
    for fn in NO_RULE:
        assert isinstance(library_rules.VJP[fn], Unsupported)
        assert isinstance(library_rules.JVP[fn], Unsupported)


def test_a_function_without_a_rule_raises_naming_it(rng):
    x = U(4)(rng)
    with pytest.raises(NonDifferentiableError, match=r"cumulative_prod.*tx.scan"):
        tx.grad(lambda a: tx.sum(tx.cumulative_prod(a)))(x)


def test_argsort_has_a_zero_gradient(rng):
    x = distinct(5)(rng)
    g = tx.grad(lambda a: tx.sum(tx.astype(tx.argsort(a), tx.float64) * a))(x)
    np.testing.assert_array_equal(g.numpy(), np.argsort(x).astype(np.float64))


def test_vmap_of_calls_matches_a_loop(rng):
    x = oracle.rand(rng, (3, 4, 5), "float32")
    idx = rng.integers(0, 5, (3, 4, 2))
    fns = [
        (lambda a: tx.sort(a, axis=0), lambda a: np.sort(a, axis=0)),
        (lambda a: tx.argsort(a, descending=True), None),
        (lambda a: tx.cumulative_sum(a, axis=-1, include_initial=True), None),
        (lambda a: tx.cumulative_prod(a, axis=0), lambda a: np.cumprod(a, axis=0)),
    ]
    for f, _ in fns:
        for in_axes in (0, 1):
            batched = tx.vmap(f, in_axes=in_axes)(x).numpy()
            loop = np.stack([f(np.take(x, i, axis=in_axes)).numpy()
                             for i in range(x.shape[in_axes])])
            np.testing.assert_array_equal(batched, loop)
    got = tx.vmap(lambda a, i: tx.take_along_axis(a, i, axis=1))(x, idx).numpy()
    want = np.stack([np.take_along_axis(x[b], idx[b], axis=1) for b in range(3)])
    np.testing.assert_array_equal(got, want)
    shared = tx.vmap(lambda a: tx.take_along_axis(a, idx[0], axis=1))(x).numpy()
    np.testing.assert_array_equal(shared, np.stack([np.take_along_axis(x[b], idx[0], axis=1)
                                                    for b in range(3)]))


def test_gradient_tape_records_calls(rng):
    x = tx.Variable(distinct(2, 3)(rng))
    with tx.GradientTape() as tape:
        y = tx.sum(tx.sort(x, axis=1) * np.array([1.0, 2.0, 3.0]))
    g = tape.gradient(y, x).numpy()
    want = np.empty((2, 3))
    for r in range(2):
        want[r, np.argsort(x.numpy()[r])] = [1.0, 2.0, 3.0]
    np.testing.assert_allclose(g, want)


def test_gradients_compile(rng):
    x = distinct(3, 4)(rng)
    f = lambda a: tx.sum(tx.cumulative_sum(tx.sort(a, axis=1), axis=0) ** 2)  # noqa: E731
    eager = tx.grad(f)(x).numpy()
    for backend in ("numpy", "cpu", "gpu-sim"):
        np.testing.assert_allclose(tx.function(tx.grad(f), backend=backend)(x).numpy(), eager,
                                   rtol=1e-12)
