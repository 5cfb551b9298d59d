"""`tx.nn` (issue 17): each function against a NumPy float64 reference (SciPy's where it has
one), eagerly and compiled on numpy, cpu and gpu-sim, in float32 and float64; axis variants and
keepdims; empty, 0-d and non-contiguous inputs; +-1000 inputs give finite values and finite
gradients, with no overflow warning; gradients against central finite differences (float64) and
the analytic forms (the losses' `softmax - labels`); `tx.vmap`; one_hot's out-of-range and
negative labels; a softmax is one row kernel; errors name the user's line.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import scipy.special as sp
from oracle import assert_same, check, rand

import tracefuse as tx
from tracefuse.backends import get_backend
from tracefuse.ir import OpCode

THIS_FILE = os.path.basename(__file__)
COMPILED = tuple(b for b in ("numpy", "cpu", "gpu-sim") if get_backend(b).unavailable() is None)
MODES = ("eager",) + COMPILED
FLOATS = ("float32", "float64")
SPECIAL = np.array([-1000.0, 1000.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -40.0, 40.0])


def run(mode, fn, *args):
    return fn(*args) if mode == "eager" else tx.function(fn, backend=mode)(*args)


def grad_in(mode, fn):
    g = tx.grad(fn)
    return g if mode == "eager" else tx.function(g, backend=mode)


# --- NumPy float64 references -----------------------------------------------------------------
def ref_gelu(x):
    return 0.5 * x * sp.erfc(-x / np.sqrt(2.0))


def ref_gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def ref_softplus(x):
    return np.logaddexp(x, 0.0)


ACTIVATIONS = {  # name: (tx function, float64 reference, derivative)
    "relu": (tx.nn.relu, lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(x.dtype)),
    "sigmoid": (tx.nn.sigmoid, sp.expit, lambda x: sp.expit(x) * sp.expit(-x)),
    "softplus": (tx.nn.softplus, ref_softplus, sp.expit),
    "silu": (tx.nn.silu, lambda x: x * sp.expit(x),
             lambda x: sp.expit(x) + x * sp.expit(x) * sp.expit(-x)),
    "gelu": (tx.nn.gelu, ref_gelu,
             lambda x: 0.5 * sp.erfc(-x / np.sqrt(2)) + x * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)),
    "gelu_tanh": (lambda x: tx.nn.gelu(x, approximate=True), ref_gelu_tanh, None),
}
# absolute tolerance on top of the dtype's rtol: the tanh gelu cancels in 1 + tanh(u) for
# negative x, in the reference as in tx, so tiny values carry absolute, not relative, error
ATOL = {"gelu_tanh": {"float32": 1e-6, "float64": 1e-15}}


def in_dtype(ref, dtype):
    return lambda x: ref(x.astype(np.float64)).astype(dtype)


# --- activations ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_numpy(name, dtype, mode, rng):
    fn, ref, _ = ACTIVATIONS[name]
    x = rand(rng, (4, 33), dtype, low=-12, high=12)
    x.reshape(-1)[:SPECIAL.size] = SPECIAL
    check(fn, in_dtype(ref, dtype), x, atol=ATOL.get(name, {}).get(dtype, 0.0), modes=(mode,))


@pytest.mark.parametrize("shape", [(), (0,), (1,), (0, 3)])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_edge_shapes(name, shape, rng):
    fn, ref, _ = ACTIVATIONS[name]
    x = rand(rng, shape, "float64", low=-3, high=3)
    check(fn, ref, x, modes=("eager", "numpy"))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_of_non_contiguous_input(name, rng):
    fn, ref, _ = ACTIVATIONS[name]
    base = rand(rng, (6, 10), "float32", low=-6, high=6)
    for x in (base.T, base[::-1, ::3]):
        check(fn, in_dtype(ref, "float32"), x, modes=("eager", "numpy"),
              atol=ATOL.get(name, {}).get("float32", 0.0))


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64"])
def test_relu_keeps_integer_dtypes(dtype, rng):
    x = rand(rng, (3, 7), dtype, low=-100, high=100)
    check(tx.nn.relu, lambda a: np.maximum(a, 0).astype(a.dtype), x, modes=("eager", "numpy"))


def test_python_numbers_are_float64_scalars():
    assert_same(tx.nn.sigmoid(2.0), np.float64(sp.expit(2.0)))
    assert_same(tx.nn.softplus(-3), np.float64(ref_softplus(-3.0)))


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu", "gelu", "gelu_tanh"])
def test_integer_input_is_refused_with_the_line(name):
    fn = ACTIVATIONS[name][0]
    with pytest.raises(tx.DTypeError, match=rf"tx\.nn\.\w+: expected a floating-point .*int32.*"
                                            rf"{THIS_FILE}"):
        fn(tx.asarray(np.arange(3, dtype=np.int32)))


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "silu", "gelu", "gelu_tanh", "relu"])
def test_no_overflow_warnings_at_1000(name):
    fn = ACTIVATIONS[name][0]
    for dtype in (np.float32, np.float64):
        x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = fn(x).numpy()
            d = tx.grad(lambda a: tx.sum(fn(a)))(x).numpy()
        assert np.isfinite(out).all() and np.isfinite(d).all(), (out, d)


# --- derivatives of the activations -----------------------------------------------------------
def finite_differences(f, x, h=1e-6):
    """Central differences of the elementwise f at each point of x (float64)."""
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradient(name, mode, rng):
    fn, ref, deriv = ACTIVATIONS[name]
    x = rand(rng, (3, 11), "float64", low=-6, high=6)
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep relu's kink out of the finite differences
    d = grad_in(mode, lambda a: tx.sum(fn(a)))(x)
    expected = finite_differences(ref, x)
    assert_same(d, expected, rtol=1e-6, atol=1e-9, what=f"{name} {mode} vs differences")
    if deriv is not None:
        assert_same(d, deriv(x), rtol=1e-12, atol=1e-15, what=f"{name} {mode} analytic")


@pytest.mark.parametrize("mode", ["eager", "numpy"])
@pytest.mark.parametrize("name", ["relu", "sigmoid", "softplus", "silu", "gelu"])
def test_activation_gradient_at_1000_is_finite_and_exact(name, mode):
    fn, _, deriv = ACTIVATIONS[name]
    for dtype in FLOATS:
        x = np.array([-1000.0, -30.0, 30.0, 1000.0], dtype)
        d = grad_in(mode, lambda a: tx.sum(fn(a)))(x).numpy()
        assert d.dtype == dtype and np.isfinite(d).all(), (name, d)
        np.testing.assert_allclose(d, deriv(x.astype(np.float64)), rtol=2e-6, atol=1e-30)


def test_relu_derivative_at_zero_is_zero_and_nan_stays_nan():
    x = np.array([-0.0, 0.0, np.nan, 2.0])
    d = tx.grad(lambda a: tx.sum(tx.nn.relu(a)))(x).numpy()
    np.testing.assert_array_equal(d[[0, 1, 3]], [0.0, 0.0, 1.0])
    assert np.isnan(tx.nn.relu(x).numpy()[2])


def test_softplus_derivative_at_zero_is_half():
    assert tx.grad(tx.nn.softplus)(np.float64(0.0)).numpy() == 0.5


# --- the softmax family -----------------------------------------------------------------------
def ref_softmax(x, axis):
    return sp.softmax(x.astype(np.float64), axis=axis).astype(x.dtype)


def ref_log_softmax(x, axis):
    return sp.log_softmax(x.astype(np.float64), axis=axis).astype(x.dtype)


def ref_logsumexp(x, axis, keepdims):
    return np.asarray(sp.logsumexp(x.astype(np.float64), axis=axis, keepdims=keepdims)
                      ).astype(x.dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_family_last_axis(dtype, mode, rng):
    x = rand(rng, (5, 33), dtype, low=-20, high=20)
    x[0] *= 50  # a row of values up to +-1000
    x[1] = x[1] - 1000.0
    # log of a sum near 1 carries an absolute error of a few ulps of 1, not a relative one
    atol = 4 * np.finfo(dtype).eps
    check(tx.nn.softmax, lambda a: ref_softmax(a, -1), x, atol=1e-30, modes=(mode,))
    check(tx.nn.log_softmax, lambda a: ref_log_softmax(a, -1), x, atol=atol, modes=(mode,))
    check(lambda a: tx.nn.logsumexp(a, axis=-1), lambda a: ref_logsumexp(a, -1, False), x,
          atol=atol, modes=(mode,))


AXES = [0, 1, -1, (0, 2), None]


@pytest.mark.parametrize("mode", ["eager", "numpy", "gpu-sim"])
@pytest.mark.parametrize("axis", AXES)
def test_softmax_family_axes(axis, mode, rng):
    x = rand(rng, (3, 4, 5), "float64", low=-8, high=8)
    check(lambda a: tx.nn.softmax(a, axis=axis), lambda a: ref_softmax(a, axis), x, modes=(mode,))
    check(lambda a: tx.nn.log_softmax(a, axis=axis), lambda a: ref_log_softmax(a, axis), x,
          modes=(mode,))
    for keepdims in (False, True):
        check(lambda a, k=keepdims: tx.nn.logsumexp(a, axis=axis, keepdims=k),
              lambda a, k=keepdims: ref_logsumexp(a, axis, k), x, modes=(mode,))


def test_logsumexp_defaults_reduce_everything_to_0d(rng):
    x = rand(rng, (4, 6), "float32")
    check(tx.nn.logsumexp, lambda a: ref_logsumexp(a, None, False), x, modes=MODES)
    check(lambda a: tx.nn.logsumexp(a, keepdims=True), lambda a: ref_logsumexp(a, None, True), x,
          modes=("eager", "numpy"))


def test_softmax_family_on_non_contiguous_inputs(rng):
    base = rand(rng, (8, 6), "float32", low=-9, high=9)
    for x in (base.T, base[::-2, 1:]):
        check(tx.nn.softmax, lambda a: ref_softmax(a, -1), x, modes=("eager", "numpy"))
        check(lambda a: tx.nn.logsumexp(a, axis=0), lambda a: ref_logsumexp(a, 0, False), x,
              modes=("eager", "numpy"))


def test_softmax_family_edge_shapes(rng):
    empty = rand(rng, (0, 5), "float64")
    check(tx.nn.softmax, lambda a: ref_softmax(a, -1), empty, modes=("eager", "numpy"))
    check(tx.nn.log_softmax, lambda a: ref_log_softmax(a, -1), empty, modes=("eager", "numpy"))
    check(lambda a: tx.nn.logsumexp(a, axis=-1), lambda a: ref_logsumexp(a, -1, False), empty,
          modes=("eager", "numpy"))
    scalar = rand(rng, (), "float64")
    check(tx.nn.logsumexp, lambda a: ref_logsumexp(a, None, False), scalar,
          modes=("eager", "numpy"))
    check(lambda a: tx.nn.softmax(a, axis=None), lambda a: ref_softmax(a, None), scalar,
          modes=("eager", "numpy"))
    one = rand(rng, (3, 1), "float32")
    check(tx.nn.softmax, lambda a: ref_softmax(a, -1), one, modes=("eager", "numpy"))
    check(tx.nn.log_softmax, lambda a: ref_log_softmax(a, -1), one, modes=("eager", "numpy"))
    with pytest.raises(tx.ShapeError, match="empty axis"):
        tx.nn.logsumexp(rand(rng, (3, 0), "float64"), axis=-1)


def test_softmax_family_special_rows_as_scipy():
    x = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [np.nan, 1.0, 2.0],
                  [-np.inf, 0.0, 1.0], [1000.0, -1000.0, 999.0]])
    for mode in ("eager", "numpy"):
        check(lambda a: tx.nn.logsumexp(a, axis=-1), lambda a: ref_logsumexp(a, -1, False), x,
              modes=(mode,))
        finite_max = [0, 2, 3, 4]  # SciPy gives [nan, 0, 0] for the +inf row, tx (and JAX) NaNs
        with np.errstate(all="ignore"):
            for fn, ref in ((tx.nn.softmax, ref_softmax), (tx.nn.log_softmax, ref_log_softmax)):
                got = run(mode, fn, x)
                assert_same(tx.asarray(got.numpy()[finite_max]), ref(x, -1)[finite_max])
                assert np.isnan(got.numpy()[1]).all()


def test_softmax_family_at_1000_is_finite_without_warnings():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for fn in (tx.nn.softmax, tx.nn.log_softmax, lambda a: tx.nn.logsumexp(a, axis=-1)):
            assert np.isfinite(fn(x).numpy()).all()
            assert np.isfinite(tx.grad(lambda a, f=fn: tx.sum(tx.sin(f(a))))(x).numpy()).all()


@pytest.mark.parametrize("mode", MODES)
def test_softmax_family_gradients_analytic_and_by_differences(mode, rng):
    x = rand(rng, (4, 7), "float64", low=-5, high=5)
    w = rand(rng, (4, 7), "float64")
    s = sp.softmax(x, axis=-1)
    cases = {  # name: (scalar function of x, its analytic gradient)
        "softmax": (lambda a: tx.sum(w * tx.nn.softmax(a)),
                    s * (w - np.sum(w * s, axis=-1, keepdims=True))),
        "log_softmax": (lambda a: tx.sum(w * tx.nn.log_softmax(a)),
                        w - s * np.sum(w, axis=-1, keepdims=True)),
        "logsumexp": (lambda a: tx.sum(w[:, 0] * tx.nn.logsumexp(a, axis=-1)), w[:, :1] * s),
    }
    refs = {"softmax": lambda a: np.sum(w * sp.softmax(a, axis=-1)),
            "log_softmax": lambda a: np.sum(w * sp.log_softmax(a, axis=-1)),
            "logsumexp": lambda a: np.sum(w[:, 0] * sp.logsumexp(a, axis=-1))}
    for name, (f, analytic) in cases.items():
        d = grad_in(mode, f)(x)
        assert_same(d, analytic, rtol=1e-12, atol=1e-15, what=f"{name} analytic")
        assert_same(d, numeric_gradient(refs[name], x), rtol=1e-6, atol=1e-8,
                    what=f"{name} differences")


def numeric_gradient(f, x, h=1e-6):
    """Central differences of the scalar f with respect to every element of x (float64)."""
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        out[i] = (f(up) - f(down)) / (2 * h)
    return out


def test_softmax_of_a_64_by_1000_input_is_one_row_kernel(rng):
    x = rand(rng, (64, 1000), "float32")
    for fn in (tx.nn.softmax, tx.nn.log_softmax, lambda a: tx.nn.logsumexp(a, axis=-1)):
        fused = tx.function(fn, backend="numpy").get_concrete_function(x).stage_graph("fused")
        kernels = [op for op in fused.ops if op.code is OpCode.KERNEL]
        assert len(fused.ops) == 1 and len(kernels) == 1, [op.code for op in fused.ops]
        assert kernels[0].attrs["kind"] == "row"


def test_activations_are_one_elementwise_kernel(rng):
    x = rand(rng, (64, 100), "float32")
    for name, (fn, _, _) in ACTIVATIONS.items():
        fused = tx.function(fn, backend="numpy").get_concrete_function(x).stage_graph("fused")
        assert [op.attrs["kind"] for op in fused.ops if op.code is OpCode.KERNEL] == \
            ["elementwise"] and len(fused.ops) == 1, name


# --- one_hot ----------------------------------------------------------------------------------
def ref_one_hot(labels, depth, dtype):
    return (labels[..., None] == np.arange(depth)).astype(dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("label_dtype", ["int32", "int64", "uint8"])
def test_one_hot_with_out_of_range_and_negative_labels(label_dtype, mode, rng):
    labels = rand(rng, (4, 9), label_dtype, low=-3, high=8)  # depth 5: -3..-1 and 5..8 are out
    labels.reshape(-1)[:3] = [0, 4, 5] if label_dtype == "uint8" else [-1, 4, 5]
    for dtype in (tx.float32, tx.int32):
        check(lambda a, d=dtype: tx.nn.one_hot(a, 5, dtype=d),
              lambda a, d=dtype: ref_one_hot(a, 5, d.name), labels, modes=(mode,))


def test_one_hot_default_dtype_shapes_and_vmap(rng):
    labels = rand(rng, (6,), "int64", low=-1, high=4)
    check(lambda a: tx.nn.one_hot(a, 4), lambda a: ref_one_hot(a, 4, "float32"), labels,
          modes=("eager", "numpy"))
    assert_same(tx.nn.one_hot(np.int64(2), 3), np.array([0, 0, 1], np.float32))
    assert_same(tx.nn.one_hot(np.zeros(0, np.int32), 3, dtype=tx.bool), np.zeros((0, 3), bool))
    assert_same(tx.nn.one_hot(labels, 0), np.zeros((6, 0), np.float32))
    assert_same(tx.nn.one_hot(labels[::-2], 4, dtype=tx.float64),
                ref_one_hot(labels[::-2], 4, "float64"))
    batched = tx.vmap(lambda a: tx.nn.one_hot(a, 4))(labels.reshape(2, 3))
    assert_same(batched, ref_one_hot(labels.reshape(2, 3), 4, "float32"))


def test_one_hot_refuses_float_labels_and_bad_depths_with_the_line():
    with pytest.raises(tx.DTypeError, match=rf"labels must be integers, got float32.*{THIS_FILE}"):
        tx.nn.one_hot(np.array([1.0, 2.0], np.float32), 3)
    for depth in (-1, 2.0, True):
        with pytest.raises(ValueError, match=rf"depth must be a non-negative .*{THIS_FILE}"):
            tx.nn.one_hot(np.array([1, 2]), depth)


# --- losses -----------------------------------------------------------------------------------
def ref_cross_entropy(labels, logits):
    ls = sp.log_softmax(logits.astype(np.float64), axis=-1)
    with np.errstate(invalid="ignore"):  # 0 * -inf, masked out by the where
        return -np.sum(np.where(labels == 0, 0.0, labels * ls), axis=-1)


def ref_sparse(labels, logits):
    return ref_cross_entropy(ref_one_hot(labels, logits.shape[-1], "float64"), logits)


def distributions(rng, shape, dtype):
    p = rng.random(shape) + 0.05
    return (p / p.sum(axis=-1, keepdims=True)).astype(dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_cross_entropy_is_per_example(dtype, mode, rng):
    logits = rand(rng, (8, 10), dtype, low=-10, high=10)
    logits[0] *= 100  # logits of +-1000
    labels = distributions(rng, (8, 10), dtype)
    labels[1] = ref_one_hot(np.int64(3), 10, dtype)
    check(tx.nn.softmax_cross_entropy, lambda l, z: ref_cross_entropy(l, z).astype(dtype),
          labels, logits, modes=(mode,))
    ints = rng.integers(0, 10, size=8)
    check(tx.nn.sparse_softmax_cross_entropy, lambda l, z: ref_sparse(l, z).astype(dtype),
          ints, logits, modes=(mode,))


def test_losses_batch_shapes(rng):
    for shape in [(10,), (2, 3, 5), (0, 4)]:
        logits = rand(rng, shape, "float64")
        labels = distributions(rng, shape, "float64")
        check(tx.nn.softmax_cross_entropy, ref_cross_entropy, labels, logits,
              modes=("eager", "numpy"))
        ints = rng.integers(0, shape[-1], size=shape[:-1])
        check(tx.nn.sparse_softmax_cross_entropy, ref_sparse, ints, logits,
              modes=("eager", "numpy"))


def test_losses_at_1000_are_exact_and_finite():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]], np.float32)
    labels = np.array([1, 0])
    want = np.array([2000.0, 2000.0 + np.log(2.0)], np.float32)
    assert_same(tx.nn.sparse_softmax_cross_entropy(labels, logits), want)
    assert_same(tx.nn.softmax_cross_entropy(ref_one_hot(labels, 3, "float32"), logits), want)


def test_out_of_range_sparse_labels_give_zero_loss(rng):
    logits = rand(rng, (3, 4), "float64")
    got = tx.nn.sparse_softmax_cross_entropy(np.array([-1, 2, 4]), logits).numpy()
    assert got[0] == 0.0 and got[2] == 0.0 and got[1] > 0.0


def test_masked_class_with_minus_inf_logit_adds_nothing():
    logits = np.array([[2.0, -np.inf, 0.5]])
    labels = np.array([[0.25, 0.0, 0.75]])
    got = tx.nn.softmax_cross_entropy(labels, logits)
    assert_same(got, ref_cross_entropy(labels, logits))
    d = tx.grad(lambda z: tx.sum(tx.nn.softmax_cross_entropy(labels, z)))(logits).numpy()
    np.testing.assert_allclose(d, sp.softmax(logits, axis=-1) - labels, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("mode", MODES)
def test_loss_gradients_are_softmax_minus_labels(mode, rng):
    logits = rand(rng, (6, 5), "float64", low=-4, high=4)
    logits[0] = [1000.0, -1000.0, 0.0, 999.0, -999.0]
    logits[1] = [-1000.0] * 5
    ints = rng.integers(0, 5, size=6)
    onehot = ref_one_hot(ints, 5, "float64")
    probs = distributions(rng, (6, 5), "float64")
    dense = grad_in(mode, lambda z, l: tx.sum(tx.nn.softmax_cross_entropy(l, z)))
    sparse = grad_in(mode, lambda z, l: tx.sum(tx.nn.sparse_softmax_cross_entropy(l, z)))
    s = sp.softmax(logits, axis=-1)
    for labels, d in ((probs, dense(logits, probs)), (onehot, dense(logits, onehot)),
                      (onehot, sparse(logits, ints))):
        assert np.isfinite(d.numpy()).all()
        assert_same(d, s - labels, rtol=1e-12, atol=1e-15, what=mode)


def test_loss_gradients_by_differences(rng):
    logits = rand(rng, (3, 4), "float64", low=-3, high=3)
    labels = distributions(rng, (3, 4), "float64")
    ints = rng.integers(0, 4, size=3)
    d = tx.grad(lambda z: tx.sum(tx.nn.softmax_cross_entropy(labels, z)))(logits)
    assert_same(d, numeric_gradient(lambda z: ref_cross_entropy(labels, z).sum(), logits),
                rtol=1e-6, atol=1e-8)
    d = tx.grad(lambda z: tx.mean(tx.nn.sparse_softmax_cross_entropy(ints, z)))(logits)
    assert_same(d, numeric_gradient(lambda z: ref_sparse(ints, z).mean(), logits),
                rtol=1e-6, atol=1e-8)


def test_soft_label_gradient_is_minus_log_softmax(rng):
    logits = rand(rng, (4, 6), "float64", low=-3, high=3)
    labels = distributions(rng, (4, 6), "float64")
    labels[0, 2] = 0.0  # a zero label keeps its derivative (only 0 * -inf is masked)
    d = tx.grad(lambda l: tx.sum(tx.nn.softmax_cross_entropy(l, logits)))(labels)
    assert_same(d, -sp.log_softmax(logits, axis=-1), rtol=1e-12)


def test_gradient_tape_on_a_loss(rng):
    logits = tx.asarray(rand(rng, (5, 3), "float64"))
    ints = rng.integers(0, 3, size=5)
    with tx.GradientTape() as tape:
        tape.watch(logits)
        loss = tx.sum(tx.nn.sparse_softmax_cross_entropy(ints, logits))
    want = sp.softmax(logits.numpy(), axis=-1) - ref_one_hot(ints, 3, "float64")
    assert_same(tape.gradient(loss, logits), want, rtol=1e-12, atol=1e-16)


def test_sparse_loss_refuses_mismatched_shapes_with_the_line(rng):
    logits = rand(rng, (3, 4), "float64")
    with pytest.raises(ValueError, match=rf"labels of shape \(4,\) do not match .*{THIS_FILE}"):
        tx.nn.sparse_softmax_cross_entropy(np.arange(4), logits)
    with pytest.raises(ValueError, match=rf"must have a class axis.*{THIS_FILE}"):
        tx.nn.sparse_softmax_cross_entropy(np.int64(0), np.float64(1.0))


# --- transforms together ----------------------------------------------------------------------
def test_vmap_matches_the_batched_call(rng):
    x = rand(rng, (5, 3, 7), "float64")
    ints = rng.integers(0, 7, size=(5, 3))
    cases = [
        (tx.nn.softmax, (x,), lambda: ref_softmax(x, -1)),
        (lambda a: tx.nn.logsumexp(a), (x,), lambda: sp.logsumexp(x, axis=(1, 2))),
        (tx.nn.gelu, (x,), lambda: ref_gelu(x)),
        (tx.nn.sparse_softmax_cross_entropy, (ints, x), lambda: ref_sparse(ints, x)),
    ]
    for fn, args, expected in cases:
        assert_same(tx.vmap(fn)(*args), expected())
        assert_same(tx.function(tx.vmap(fn), backend="numpy")(*args), expected())


def test_compiled_training_step_grad_of_mean_loss(rng):
    """A linear classifier's loss and gradient, compiled: the shape of a training step."""
    x = rand(rng, (16, 8), "float32")
    w = rand(rng, (8, 4), "float32", low=-0.5, high=0.5)
    y = rng.integers(0, 4, size=16)

    def loss(w, x, y):
        return tx.mean(tx.nn.sparse_softmax_cross_entropy(y, x @ w))

    value, d = tx.function(tx.value_and_grad(loss), backend="numpy")(w, x, y)
    z = x.astype(np.float64) @ w.astype(np.float64)
    np.testing.assert_allclose(value.numpy(), ref_sparse(y, z).mean(), rtol=1e-5)
    want = x.T.astype(np.float64) @ (sp.softmax(z, axis=-1) - ref_one_hot(y, 4, "float64")) / 16
    np.testing.assert_allclose(d.numpy(), want, rtol=1e-4, atol=1e-6)
