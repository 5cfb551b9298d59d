"""The derivative and batching rules of gather, scatter, searchsorted, nonzero and unique
(transforms/library/indexing.py, searching.py, sets.py): JVP and VJP of take, integer-array
`x[key]` and `x.at[key].set/add` against central finite differences (the harness of
test_derivative_rules.py), out-of-range updates dropped in the derivative too, vmap against a
loop with the batch on x, on the indices or both, and `COVERAGE`: what
tests/transforms/test_library_rules.py counts as covered for these functions."""

from __future__ import annotations

import numpy as np
import pytest
from test_derivative_rules import U, case, check_case, fd_jacobian, noncontiguous

import tracefuse as tx
from tracefuse.ir.opcodes import Unsupported
from tracefuse.transforms import library as library_rules

I = np.array([2, 0, -1, 2])  # repeated and negative
J = np.array([[1, 0], [3, -4]])
OUT = np.array([5, 1, -7, 3])  # two out of range: their updates are dropped

A = tx.asarray

CASES = [
    case("gather_take_axis1", lambda x: tx.take(x, I, axis=1) ** 2, U(3, 4)),
    case("gather_take_flat", lambda x: tx.sin(tx.take(x, J)), U(2, 3)),
    case("gather_getitem_mixed", lambda x: A(x)[1:, J, ::-1] * 3.0, U(3, 4, 2)),
    case("gather_getitem_apart", lambda x: A(x)[J, :, 0] ** 3, U(4, 2, 3)),
    case("gather_getitem_mask",
         lambda x: A(x)[np.array([[True, False, True], [False, True, True]])] ** 2, U(2, 3)),
    case("scatter_set", lambda x, v: A(x).at[I[:3]].set(v) ** 2, U(3, 4), U(3, 4)),
    case("scatter_set_repeated", lambda x, v: tx.exp(A(x).at[I].set(v)), U(3, 2), U(4, 2)),
    case("scatter_set_slices", lambda x, v: A(x).at[1:, ::-2].set(v) * x, U(3, 4), U(2, 2)),
    case("scatter_add", lambda x, v: A(x).at[:, I].add(v) ** 2, U(2, 3), U(2, 4)),
    case("scatter_add_out_of_range", lambda x, v: tx.sin(A(x).at[OUT].add(v)), U(4, 2),
         U(4, 2)),
    case("scatter_set_out_of_range", lambda x, v: A(x).at[OUT, 1].set(v) ** 2, U(4, 2), U(4)),
]

# what tests/transforms/test_library_rules.py counts as covered (name -> how)
COVERAGE = {
    "gather": "finite differences: take, x[index arrays], x[mask]",
    "scatter": "finite differences: x.at[].set / .add (multiply, min, max: Unsupported)",
    "searchsorted": "integer results: no derivative",
    "nonzero": "integer results: no derivative",
    "unique": "Unsupported, with its reason",
}


@pytest.mark.parametrize("c", CASES)
def test_indexing_rules_against_finite_differences(c, rng):
    xs = [maker(rng) for maker in c.makers]
    out, blocks = fd_jacobian(c, xs)
    check_case(c, xs, out, blocks, rng, "contiguous")
    check_case(c, [noncontiguous(x) for x in xs], out, blocks, rng, "non-contiguous")


def test_coverage_claims_hold():
    names = {c.values[0].name.split("_")[0] for c in CASES}
    assert {"gather", "scatter"} <= names
    for fn in ("searchsorted", "nonzero"):
        assert library_rules.JVP[fn].__name__ == "no_tangent"
        assert library_rules.VJP[fn].__name__ == "no_cotangent"
    assert isinstance(library_rules.JVP["unique"], Unsupported)
    assert isinstance(library_rules.VJP["unique"], Unsupported)
    for mode in ("multiply", "min", "max"):
        assert isinstance(library_rules.VJP["scatter"].rows[mode], Unsupported)


def test_integer_results_have_zero_gradients(rng):
    x = rng.random(6)
    g = tx.grad(lambda a: tx.sum(a * tx.astype(tx.searchsorted(tx.sort(a), a), tx.float64)))(x)
    np.testing.assert_allclose(g.numpy(), np.searchsorted(np.sort(x), x).astype(float))


def _loop(f, *args, axes):
    n = next(a.shape[ax] for a, ax in zip(args, axes) if ax is not None)
    return np.stack([f(*(A(np.take(a, i, axis=ax)) if ax is not None else A(a)
                         for a, ax in zip(args, axes))).numpy() for i in range(n)])


@pytest.mark.parametrize("axes", [(0, None), (None, 0), (0, 0), (2, 1)], ids=str)
def test_vmap_of_gathers_matches_a_loop(axes, rng):
    x = rng.random((3, 3, 3, 3))
    idx = rng.integers(-3, 3, (3, 3, 3))
    fns = [
        lambda a, i: a[i],
        lambda a, i: a[:, i[0]],
        lambda a, i: tx.take(a, i, axis=1),
        lambda a, i: a[i, 1:, i[:, 0]],  # apart: index axes first
        lambda a, i: a.at[i[0], 0].get(),
    ]
    for f in fns:
        got = tx.vmap(f, in_axes=axes)(x, idx).numpy()
        np.testing.assert_array_equal(got, _loop(f, x, idx, axes=axes))


@pytest.mark.parametrize("axes", [(0, None, None), (None, 0, 0), (0, 0, 0), (1, None, 0)],
                         ids=str)
@pytest.mark.parametrize("mode", ["set", "add", "multiply", "min", "max"])
def test_vmap_of_scatters_matches_a_loop(axes, mode, rng):
    x = rng.random((3, 3, 4))
    idx = np.array([[0, 2], [1, 1], [-1, 5]])  # a repeat (accumulates) and one out of range
    if mode == "set":
        idx = np.array([[0, 2], [1, -3], [-1, 5]])
    v = rng.random((3, 2, 4))
    if axes[0] is None:
        x = x[0]  # one x for every batch element

    def f(a, i, b):
        return getattr(a.at[i], mode)(b)

    got = tx.vmap(f, in_axes=axes)(x, idx, v).numpy()
    np.testing.assert_allclose(got, _loop(f, x, idx, v, axes=axes), rtol=1e-15)


def test_gradients_of_updates_compile(rng):
    x, v = rng.random((4, 3)), rng.random((2, 3))

    def f(a, b):
        return tx.sum(tx.exp(a.at[I[:2]].set(b).at[:, 1:].add(b[0, :2])) * a[J[0]].sum())

    eager = [g.numpy() for g in tx.grad(f, argnums=(0, 1))(x, v)]
    for backend in ("numpy", "cpu", "gpu-sim"):
        got = tx.function(tx.grad(f, argnums=(0, 1)), backend=backend)(x, v)
        for g, e in zip(got, eager):
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-12)


def test_gradient_tape_records_gathers_and_scatters(rng):
    x = tx.Variable(rng.random((3, 4)))
    with tx.GradientTape() as tape:
        y = tx.sum(x[I[:3], 1:] ** 2) + tx.sum(x.at[0].set(0.0))
    g = tape.gradient(y, x).numpy()
    want = np.ones((3, 4))
    want[0] = 0.0
    np.add.at(want, (I[:3], slice(1, None)), 2 * x.numpy()[I[:3], 1:])
    np.testing.assert_allclose(g, want, rtol=1e-12)
