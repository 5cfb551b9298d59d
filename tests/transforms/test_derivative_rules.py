"""The JVP and VJP rule of every differentiable OpCode against central finite differences.

Each case of `CASES` is a function written with the public API that exercises one or more
ops, with the random float64 inputs it is checked at (away from kinks and singular points,
except the ties and zeros built on purpose, where coordinate-wise central differences give
JAX's sharing conventions too). For each case the finite-difference Jacobian J (one central
difference per input element, of the function run eagerly on NumPy arrays) is the oracle of:
`tx.vjp` (J^T u for a random u), `tx.jvp` (J v for a random v), and their agreement
`<u, J v> == <J^T u, v>`; again with the inputs in a non-contiguous layout (a transposed
view, a negative-stride view of a bigger buffer). Shapes include broadcasting ((3, 1) with
(4,), Python scalars), 0-d and size-1.

`test_every_opcode_is_covered`: every OpCode is differentiated by some case, or listed in
`NONDIFFERENTIABLE` (a zero derivative, with its reason; `test_zero_derivative` checks the
gradient through it is exactly zero) or in `UNSUPPORTED` (no rule: differentiating a graph
that holds one raises NonDifferentiableError naming it). Kinks, second derivatives and
dtypes: test_derivative_kinks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import oracle
import pytest

import tracefuse as tx
from tracefuse.compiler.apply import Arguments
from tracefuse.ir import OpCode
from tracefuse.ir.opcodes import Unsupported
from tracefuse.passes.pipeline import run_pipeline
from tracefuse.transforms.autodiff import NonDifferentiableError, jvp_graph, vjp_graph
from tracefuse.transforms.jvp_rules import JVP_RULES
from tracefuse.transforms.vjp_rules import VJP_RULES

G = OpCode
F32, F64 = tx.float32, tx.float64


# --- input makers ------------------------------------------------------------------------------
def U(*shape, lo=-2.0, hi=2.0, dtype="float64"):
    """Uniform in [lo, hi]."""
    return lambda rng: np.asarray(oracle.rand(rng, shape, dtype, low=lo, high=hi))


def P(*shape, lo=0.5, hi=2.0):
    """Magnitude in [lo, hi], random sign: away from 0."""
    return lambda rng: np.asarray(oracle.rand(rng, shape, "float64", low=lo, high=hi)
                                  * rng.choice([-1.0, 1.0], size=shape))


def ties(kind: str):
    """A (3, 4) matrix whose rows 0 and 2 hold their max (min) twice; row 1 has no tie."""
    def make(rng):
        x = oracle.rand(rng, (3, 4), "float64", low=-2.0, high=2.0)
        pick, beyond = (np.max, 0.5) if kind == "max" else (np.min, -0.5)
        x[0, 1] = x[0, 3] = pick(x[0]) + beyond
        x[2, 0] = x[2, 2] = pick(x[2]) + 2 * beyond
        return x
    return make


def global_tie(rng):
    x = oracle.rand(rng, (2, 3), "float64", low=-2.0, high=2.0)
    x[0, 0] = x[1, 2] = x.max() + 0.25
    return x


def with_zeros(count: int):
    """(2, 4): row 0 has `count` zeros, row 1 none."""
    def make(rng):
        x = P(2, 4)(rng)
        x[0, rng.choice(4, size=count, replace=False)] = 0.0
        return x
    return make


def at_bounds(rng):
    """Values in [-2, 2] with some exactly at clip's bounds -0.5 and 1.0."""
    x = oracle.rand(rng, (3, 4), "float64", low=-2.0, high=2.0)
    x[0, 0], x[1, 2], x[2, 3] = -0.5, 1.0, -0.5
    return x


def away_from_jumps(rng):
    """Numerators for remainder(x, 1.3): x / 1.3 never within 0.2 of an integer."""
    k = rng.integers(-3, 3, size=(3, 4)) + rng.uniform(0.2, 0.8, size=(3, 4))
    return k * 1.3


def mask(shape):
    return np.random.default_rng(7).random(shape) < 0.5


@dataclass
class Case:
    name: str
    fn: Callable[..., Any]
    makers: tuple
    rtol: float = 1e-6
    eps: float = 1e-6


def case(name, fn, *makers, **kw) -> Any:
    return pytest.param(Case(name, fn, makers, **kw), id=name)


# --- the table ---------------------------------------------------------------------------------
UNARY = [
    case("negative", lambda x: -x, U(3, 4)),
    case("positive_0d", lambda x: +tx.sin(x), U()),
    case("abs", tx.abs, P(3, 4)),
    case("sqrt", tx.sqrt, U(3, 4, lo=0.5, hi=3.0)),
    case("square", tx.square, U(7)),
    case("reciprocal", tx.reciprocal, P(3, 4)),
    case("exp", tx.exp, U(3, 4)),
    case("expm1", tx.expm1, U(3, 4, lo=-1e-3, hi=1.0)),
    case("log", tx.log, U(3, 4, lo=0.3, hi=3.0)),
    case("log1p", tx.log1p, U(3, 4, lo=-0.5, hi=2.0)),
    case("log2", tx.log2, U(5, lo=0.3, hi=3.0)),
    case("log10", tx.log10, U(1, lo=0.3, hi=3.0)),
    case("sin", tx.sin, U(3, 4, lo=-4.0, hi=4.0)),
    case("cos", tx.cos, U(3, 4, lo=-4.0, hi=4.0)),
    case("tan", tx.tan, U(3, 4, lo=-1.2, hi=1.2)),
    case("asin", tx.asin, U(3, 4, lo=-0.8, hi=0.8)),
    case("acos", tx.acos, U(3, 4, lo=-0.8, hi=0.8)),
    case("atan", tx.atan, U(3, 4, lo=-3.0, hi=3.0)),
    case("sinh", tx.sinh, U(3, 4)),
    case("cosh", tx.cosh, U(3, 4)),
    case("tanh", tx.tanh, U(3, 4)),
    case("asinh", tx.asinh, U(3, 4, lo=-3.0, hi=3.0)),
    case("acosh", tx.acosh, U(3, 4, lo=1.2, hi=3.0)),
    case("atanh", tx.atanh, U(3, 4, lo=-0.8, hi=0.8)),
    case("erf", tx.erf, U(3, 4, lo=-2.5, hi=2.5)),
    case("erfc", tx.erfc, U(3, 4, lo=-2.5, hi=2.5)),
    # the complex-number ops, of real operands and through complex values (their complex
    # rules: test_complex_grads.py)
    case("real", lambda x: tx.real(x) * x, U(3, 4)),
    case("conj", lambda x: tx.conj(x) ** 2, U(3, 4)),
    case("imag_of_complex", lambda x: tx.imag(tx.exp(1j * x)), U(3, 4)),
    case("angle_of_complex", lambda x: tx.angle(tx.exp(1j * x) * (2.0 + 0.5j)), U(3, 4)),
    case("sin_0d", tx.sin, U()),
    case("exp_size1", tx.exp, U(1, 1)),
    case("cast_f64_f32_f64", lambda x: tx.astype(tx.astype(x, F32) * 3.0, F64), U(3, 4),
         rtol=3e-4, eps=1e-3),
    case("cast_f32_f64", lambda x: tx.astype(x, F64) ** 2, U(3, 4, dtype="float32"),
         rtol=1e-5, eps=1e-3),
    case("cast_f32_f64_mixed", lambda x, y: x * y, U(3, 1, dtype="float32"), U(4),
         rtol=1e-5, eps=1e-3),
]

BINARY = [
    case("add_bcast", lambda x, y: x + y, U(3, 1), U(4)),
    case("add_scalar", lambda x: 1.5 + x, U(3, 4)),
    case("subtract_bcast", lambda x, y: x - y, U(3, 1), U(4)),
    case("subtract_rscalar", lambda x: 2.0 - x, U()),
    case("multiply_bcast", lambda x, y: x * y, U(3, 1), U(4)),
    case("multiply_self", lambda x: x * x * x, U(2, 3)),
    case("divide_bcast", lambda x, y: x / y, U(3, 1), P(4)),
    case("divide_rscalar", lambda x: 2.0 / x, P(3, 4)),
    case("remainder", lambda x, y: tx.remainder(x, y), away_from_jumps, U(lo=1.29, hi=1.31)),
    case("pow_both", tx.pow, U(3, 1, lo=0.5, hi=2.0), U(4, lo=-2.0, hi=2.0)),
    case("pow_int_exponent", lambda x: x ** 3, U(3, 4)),
    case("pow_scalar_base", lambda y: 2.0 ** y, U(3, 4)),
    case("pow_0d_base", tx.pow, U(lo=0.5, hi=2.0), U(1, 3)),
    case("maximum_bcast", tx.maximum, U(3, 1), U(4)),
    case("minimum_bcast", tx.minimum, U(3, 1), U(4)),
    case("maximum_scalar", lambda x: tx.maximum(x, 0.3), U(3, 4)),
    case("maximum_ties", lambda x, y: tx.maximum(x, tx.where(mask((3, 4)), x, y)),
         U(3, 4), U(3, 4)),
    case("minimum_ties", lambda x, y: tx.minimum(tx.where(mask((3, 4)), x, y), x),
         U(3, 4), U(3, 4)),
    case("atan2_bcast", tx.atan2, U(3, 1), P(4)),
    case("atan2_scalar", lambda y: tx.atan2(y, 0.7), U(3, 4)),
    case("atan2_0d", tx.atan2, U(), P(1)),
    case("hypot_bcast", tx.hypot, U(3, 1), P(4)),
    case("logaddexp", tx.logaddexp, U(3, 1, lo=-3.0, hi=3.0), U(4, lo=-3.0, hi=3.0)),
    case("logaddexp_scalar", lambda x: tx.logaddexp(x, 0.5), U(3, 4)),
    case("copysign", tx.copysign, U(3, 4), P(3, 4)),
    case("nextafter", tx.nextafter, U(3, 1), U(4)),
]

TERNARY = [
    case("where_bcast", lambda x, y: tx.where(mask((3, 1)), x, y), U(4), U()),
    case("where_on_x", lambda x, y: tx.where(x > 0, tx.sin(x), y * y), P(3, 4), U(4)),
    case("where_scalar", lambda x: tx.where(mask((3, 4)), x, 0.5), U(3, 4)),
    case("clip_scalar_bounds", lambda x: tx.clip(x, -0.5, 1.0), U(3, 4)),
    case("clip_at_bounds", lambda x: tx.clip(x, -0.5, 1.0), at_bounds),
    case("clip_array_bounds", lambda x, lo, hi: tx.clip(x, lo, hi),
         U(3, 4), U(4, lo=-2.0, hi=-0.1), U(3, 1, lo=0.1, hi=2.0)),
    case("clip_min_only", lambda x: tx.clip(x, min=0.2), U(3, 4)),
]

REDUCTIONS = [
    case("sum_axis", lambda x: tx.sum(x, axis=1), U(3, 4)),
    case("sum_all", tx.sum, U(2, 3, 4)),
    case("sum_keepdims", lambda x: tx.sum(x, axis=(0, 2), keepdims=True), U(2, 3, 4)),
    case("sum_0d", tx.sum, U()),
    case("sum_size1_axis", lambda x: tx.sum(x, axis=0), U(1, 3)),
    case("mean", lambda x: tx.mean(x, axis=0), U(3, 4)),
    case("prod_axis", lambda x: tx.prod(x, axis=1), P(3, 4)),
    case("prod_all", tx.prod, P(2, 3)),
    case("prod_one_zero", lambda x: tx.prod(x, axis=1), with_zeros(1)),
    case("prod_two_zeros", lambda x: tx.prod(x, axis=1, keepdims=True), with_zeros(2)),
    case("max_axis_ties", lambda x: tx.max(x, axis=1), ties("max")),
    case("min_axis_ties", lambda x: tx.min(x, axis=1), ties("min")),
    case("max_all_tie", tx.max, global_tie),
    case("min_keepdims", lambda x: tx.min(x, axis=0, keepdims=True), U(3, 4)),
    case("max_0d", tx.max, U()),
    case("var_axis", lambda x: tx.var(x, axis=1), U(3, 4)),
    case("var_correction", lambda x: tx.var(x, axis=0, correction=1.0), U(3, 4)),
    case("std_all", tx.std, U(3, 4)),
    case("std_keepdims", lambda x: tx.std(x, axis=1, keepdims=True), U(2, 5)),
    case("logsumexp", lambda x: tx.max(x, axis=1) + tx.log(tx.sum(
        tx.exp(x - tx.max(x, axis=1, keepdims=True)), axis=1)), U(3, 4)),
    case("vecdot", tx.vecdot, U(3, 4), U(4)),
]

MOVEMENT = [
    case("reshape", lambda x: tx.reshape(x, (2, 6)) * tx.arange(6.0), U(3, 4)),
    case("reshape_0d", lambda x: tx.reshape(x, (1, 1)), U()),
    case("reshape_infer", lambda x: tx.reshape(x, (-1,)), U(2, 3, 2)),
    case("permute_dims", lambda x: tx.permute_dims(x, (2, 0, 1)), U(2, 3, 4)),
    case("transpose_T", lambda x: x.T @ tx.arange(3.0), U(3, 4)),
    case("swapaxes", lambda x: tx.swapaxes(x, 0, 2), U(2, 3, 4)),
    case("moveaxis", lambda x: tx.moveaxis(x, 0, -1), U(2, 3, 4)),
    case("slice_steps", lambda x: x[1:3, ::2], U(3, 5)),
    case("slice_step2", lambda x: x[::2], U(7)),
    case("slice_neg3", lambda x: x[::-3], U(7)),
    case("slice_neg_offset", lambda x: x[5:0:-2], U(7)),
    case("slice_neg_2d", lambda x: x[::-1, 1::2], U(3, 5)),
    case("slice_empty", lambda x: tx.sum(x[2:2]) + x[0], U(4)),
    case("flip_all", tx.flip, U(3, 4)),
    case("flip_axis", lambda x: tx.flip(x, axis=1), U(3, 4)),
    case("concat_axis0", lambda x, y: tx.concat([x, y], axis=0), U(2, 3), U(1, 3)),
    case("concat_axis1", lambda x, y: tx.concat([y, x, x * 2.0], axis=1), U(2, 3), U(2, 1)),
    case("concat_constant", lambda x: tx.concat([x, tx.ones((2,), dtype=F64)]), U(3)),
    case("concat_none", lambda x: tx.concat([x, x], axis=None), U(2, 2)),
    case("stack", lambda x, y: tx.stack([x, y, x], axis=1), U(3), U(3)),
    case("broadcast_to", lambda x: tx.broadcast_to(x, (2, 3, 4)), U(3, 1)),
    case("broadcast_to_size1", lambda x: tx.broadcast_to(x, (3, 4)), U(1)),
    case("broadcast_to_0d", lambda x: tx.broadcast_to(x, (2, 2)), U()),
    case("expand_dims", lambda x: tx.expand_dims(x, axis=1), U(3, 4)),
    case("squeeze", lambda x: tx.squeeze(x, axis=(0, 2)), U(1, 3, 1)),
    case("getitem_int_none", lambda x: x[1, None, :], U(3, 4)),
    case("getitem_negative_int", lambda x: x[-1], U(3, 4)),
    case("getitem_ellipsis", lambda x: x[None, ..., 0], U(2, 3, 4)),
    case("getitem_to_0d", lambda x: x[1, 2] * x, U(3, 4)),
]

MATMUL = [
    case("matmul_1d_1d", tx.matmul, U(4), U(4)),
    case("matmul_1d_2d", tx.matmul, U(4), U(4, 3)),
    case("matmul_2d_1d", tx.matmul, U(3, 4), U(4)),
    case("matmul_2d_2d", tx.matmul, U(3, 4), U(4, 2)),
    case("matmul_3d_2d", tx.matmul, U(2, 3, 4), U(4, 2)),
    case("matmul_2d_3d", tx.matmul, U(3, 4), U(2, 4, 2)),
    case("matmul_4d_bcast", tx.matmul, U(2, 1, 3, 4), U(1, 3, 4, 2)),
    case("matmul_1d_3d", tx.matmul, U(4), U(2, 4, 3)),
    case("matmul_3d_1d", tx.matmul, U(2, 3, 4), U(4)),
    case("matmul_size1", tx.matmul, U(1, 1), U(1, 3)),
    case("matmul_operator", lambda a, b: (a @ b) @ a, U(3, 3), U(3, 3)),
]

CASES = UNARY + BINARY + TERNARY + REDUCTIONS + MOVEMENT + MATMUL


# --- finite differences ------------------------------------------------------------------------
def _value(fn, xs) -> np.ndarray:
    out = fn(*xs)
    return np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float64)


def fd_jacobian(c: Case, xs: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The value of `c.fn` at xs and, per input, the (out.size, x.size) Jacobian block by central
    differences (the step measured after rounding to the input's dtype)."""
    out = _value(c.fn, xs)
    blocks = []
    for i, x in enumerate(xs):
        block = np.empty((out.size, x.size))
        for k in range(x.size):
            h = c.eps * max(1.0, abs(float(x.flat[k])))
            sides = []
            for sign in (1.0, -1.0):
                moved = x.copy()
                moved.flat[k] = float(x.flat[k]) + sign * h
                sides.append((_value(c.fn, xs[:i] + [moved] + xs[i + 1:]),
                              float(moved.flat[k])))
            (hi, at_hi), (lo, at_lo) = sides
            block[:, k] = ((hi - lo) / (at_hi - at_lo)).reshape(-1)
        blocks.append(block)
    return out, blocks


def noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values, not C-contiguous (unless a has one element): a transposed view, or a
    negative-stride view of a bigger buffer along its first axis longer than 1."""
    if a.size <= 1:
        return a
    if a.ndim >= 2:
        view = np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1)
        if not view.flags.c_contiguous:
            return view
    axis = next(i for i, d in enumerate(a.shape) if d > 1)
    big = np.zeros(a.shape[:axis] + (2 * a.shape[axis],) + a.shape[axis + 1:], a.dtype)
    every_other = (slice(None),) * axis + (slice(None, None, -2),)
    big[every_other] = a
    view = big[every_other]
    assert np.array_equal(view, a) and not view.flags.c_contiguous
    return view


def assert_close(got: np.ndarray, want: np.ndarray, rtol: float, what: str) -> None:
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale + 1e-12, err_msg=what)


def check_case(c: Case, xs: list[np.ndarray], out: np.ndarray, blocks: list[np.ndarray],
               rng: np.random.Generator, layout: str) -> None:
    u = np.asarray(rng.standard_normal(out.shape))
    vs = [np.asarray(rng.standard_normal(x.shape)).astype(x.dtype) for x in xs]

    value, pull = tx.vjp(c.fn, *xs)
    assert value.shape == out.shape
    cts = pull(u.astype(value.numpy().dtype))
    assert len(cts) == len(xs)
    for i, (x, ct, block) in enumerate(zip(xs, cts, blocks)):
        ct = ct.numpy()
        assert (ct.dtype, ct.shape) == (x.dtype, x.shape), f"{layout}: cotangent {i}"
        assert_close(ct.astype(np.float64).reshape(-1), block.T @ u.reshape(-1), c.rtol,
                     f"{c.name} ({layout}): vjp of input {i} vs finite differences")

    value2, tangent = tx.jvp(c.fn, tuple(xs), tuple(vs))
    t = tangent.numpy()
    assert (t.dtype, t.shape) == (value2.numpy().dtype, out.shape), f"{layout}: tangent"
    jv = sum(block @ v.astype(np.float64).reshape(-1) for block, v in zip(blocks, vs))
    assert_close(t.astype(np.float64).reshape(-1), jv, c.rtol,
                 f"{c.name} ({layout}): jvp vs finite differences")

    # <u, J v> == <J^T u, v>, both sides from the rules
    lhs = u.reshape(-1) * t.astype(np.float64).reshape(-1)
    rhs = np.concatenate([(ct.numpy().astype(np.float64) * v.astype(np.float64)).reshape(-1)
                          for ct, v in zip(cts, vs)])
    tol = 1e-9 if c.rtol <= 1e-6 else 1e-5  # looser where float32 rounding is on the path
    assert abs(lhs.sum() - rhs.sum()) <= tol * (np.abs(lhs).sum() + np.abs(rhs).sum()) + 1e-300, \
        f"{c.name} ({layout}): <u, Jv> = {lhs.sum()!r} but <J^T u, v> = {rhs.sum()!r}"


@pytest.mark.parametrize("c", CASES)
def test_rules_against_finite_differences(c: Case, rng):
    xs = [maker(rng) for maker in c.makers]
    out, blocks = fd_jacobian(c, xs)
    assert np.all(np.isfinite(out)) and all(np.all(np.isfinite(b)) for b in blocks)
    originals = [x.copy() for x in xs]
    check_case(c, xs, out, blocks, rng, "contiguous")
    check_case(c, [noncontiguous(x) for x in xs], out, blocks, rng, "non-contiguous")
    for x, orig in zip(xs, originals):
        np.testing.assert_array_equal(x, orig, err_msg="an input was modified")


# --- coverage ----------------------------------------------------------------------------------
def differentiated_codes(fn, xs) -> set[OpCode]:
    """The ops of `fn`'s traced graph that the transforms differentiate: a floating-point (real
    or complex) result with an operand that depends on a float input."""
    traced = Arguments(fn, tuple(xs), {}).trace(fn, "coverage")
    active = {v for v in traced.graph.inputs if v.type.dtype.is_inexact}
    codes = set()
    for op in traced.graph.ops:
        if any(v in active for v in op.inputs) and op.output.type.dtype.is_inexact:
            codes.add(op.code)
            active.add(op.output)
    return codes


def traced_codes(fn, xs) -> set[OpCode]:
    return {op.code for op in Arguments(fn, tuple(xs), {}).trace(fn, "coverage").graph.ops}


def _f(x):
    return tx.astype(x, F64)


def _ints(x):
    return tx.astype(x * 10.0, tx.int64)


# Ops whose derivative is zero everywhere it exists (or which have no differentiable operand):
# the reason, and a function g(x) through which the gradient must be exactly zero.
NONDIFFERENTIABLE: dict[OpCode, tuple[str, Callable]] = {
    G.CONSTANT: ("a source: no operand", lambda x: tx.arange(4.0) * 0.0 + x * 0.0),
    G.FULL: ("a source: no operand", lambda x: tx.full_like(x, 2.0)),
    G.IOTA: ("a source: no operand", lambda x: tx.eye(4, dtype=F64)[0]),
    G.STOP_GRADIENT: ("the identity with its derivative cut, by design", tx.stop_gradient),
    G.SIGN: ("piecewise constant", tx.sign),
    G.FLOOR: ("piecewise constant", tx.floor),
    G.CEIL: ("piecewise constant", tx.ceil),
    G.TRUNC: ("piecewise constant", tx.trunc),
    G.ROUND: ("piecewise constant", tx.round),
    G.FLOOR_DIVIDE: ("piecewise constant in both operands",
                     lambda x: tx.floor_divide(x, x * 0.25 + 3.0)),
    G.ISNAN: ("a predicate: bool result", lambda x: _f(tx.isnan(x))),
    G.ISINF: ("a predicate: bool result", lambda x: _f(tx.isinf(x))),
    G.ISFINITE: ("a predicate: bool result", lambda x: _f(tx.isfinite(x))),
    G.SIGNBIT: ("a predicate: bool result", lambda x: _f(tx.signbit(x))),
    G.LOGICAL_NOT: ("a predicate: bool result", lambda x: _f(tx.logical_not(x > 0))),
    G.EQUAL: ("a comparison: bool result", lambda x: _f(x == tx.round(x))),
    G.NOT_EQUAL: ("a comparison: bool result", lambda x: _f(x != 0.5)),
    G.LESS: ("a comparison: bool result", lambda x: _f(x < 0.5)),
    G.LESS_EQUAL: ("a comparison: bool result", lambda x: _f(x <= 0.5)),
    G.GREATER: ("a comparison: bool result", lambda x: _f(x > 0.5)),
    G.GREATER_EQUAL: ("a comparison: bool result", lambda x: _f(x >= 0.5)),
    G.LOGICAL_AND: ("a predicate: bool result", lambda x: _f(tx.logical_and(x > 0, x < 1))),
    G.LOGICAL_OR: ("a predicate: bool result", lambda x: _f(tx.logical_or(x > 1, x < 0))),
    G.LOGICAL_XOR: ("a predicate: bool result", lambda x: _f(tx.logical_xor(x > 0, x < 1))),
    G.BITWISE_INVERT: ("an integer op", lambda x: _f(tx.bitwise_invert(_ints(x)))),
    G.BITWISE_AND: ("an integer op", lambda x: _f(tx.bitwise_and(_ints(x), 3))),
    G.BITWISE_OR: ("an integer op", lambda x: _f(tx.bitwise_or(_ints(x), 3))),
    G.BITWISE_XOR: ("an integer op", lambda x: _f(tx.bitwise_xor(_ints(x), 3))),
    G.LEFT_SHIFT: ("an integer op", lambda x: _f(tx.bitwise_left_shift(_ints(x), 2))),
    G.RIGHT_SHIFT: ("an integer op", lambda x: _f(tx.bitwise_right_shift(_ints(x), 1))),
    G.ALL: ("a bool reduction", lambda x: _f(tx.all(x > -1.5, axis=1, keepdims=True))),
    G.ANY: ("a bool reduction", lambda x: _f(tx.any(x > 1.5, axis=0))),
    G.ARGMAX: ("an integer result", lambda x: _f(tx.argmax(x, axis=1, keepdims=True))),
    G.ARGMIN: ("an integer result", lambda x: _f(tx.argmin(x, axis=0))),
    G.RANDOM_BITS: ("integer bits of integer keys",
                    lambda x: _f(tx.random.bits(tx.random.key(_ints(x)[0, 0]), x.shape))),
}

# Ops with no rule (Unsupported): differentiating a graph holding one raises.
UNSUPPORTED = {G.KERNEL: "kernels are made by fusion, after every transform has run",
               G.WHILE: "reverse mode needs the trip count (forward mode works): "
                        "tests/transforms/test_control_flow_rules.py"}
# control flow: checked against finite differences at the graph level
TESTED_ELSEWHERE = {G.COND: "tests/transforms/test_control_flow_rules.py",
                    G.SCAN: "tests/transforms/test_control_flow_rules.py",
                    G.CALL: "tests/transforms/test_library_rules.py, function by function"}


def test_every_opcode_is_covered(rng):
    covered: dict[OpCode, str] = {}
    for param in CASES:
        c = param.values[0]
        for code in differentiated_codes(c.fn, [maker(rng) for maker in c.makers]):
            covered.setdefault(code, c.name)
    listed = set(NONDIFFERENTIABLE) | set(UNSUPPORTED) | set(TESTED_ELSEWHERE)
    missing = sorted(code.value for code in OpCode if code not in covered and code not in listed)
    assert not missing, f"no derivative case exercises {missing}: add a case to CASES"
    unsupported = {code for code in OpCode if isinstance(JVP_RULES[code], Unsupported)
                   or isinstance(VJP_RULES[code], Unsupported)}
    assert unsupported == set(UNSUPPORTED), "UNSUPPORTED must list exactly the ops without rules"
    # a differentiable op is not hidden among the zero-derivative ones
    wrongly_listed = sorted(code.value for code in NONDIFFERENTIABLE if code in covered)
    assert not wrongly_listed, f"{wrongly_listed} are listed as non-differentiable but " \
                               f"have cases: {[covered[G(c)] for c in wrongly_listed]}"


@pytest.mark.parametrize("code", list(NONDIFFERENTIABLE), ids=lambda c: c.value)
def test_zero_derivative(code, rng):
    """d/dx (g(x) + x) is exactly the identity: g contributes exactly zero, in both modes."""
    _, g = NONDIFFERENTIABLE[code]
    x = oracle.rand(rng, (3, 4), "float64", low=-2.0, high=2.0)
    assert code in traced_codes(g, [x]), f"the zero-derivative case of {code.value} lacks it"

    def f(x):
        return g(x) + x

    u = rng.standard_normal((3, 4))
    (ct,) = tx.vjp(f, x)[1](u)
    np.testing.assert_array_equal(ct.numpy(), u)
    v = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(tx.jvp(f, (x,), (v,))[1].numpy(), v)
    with tx.config.backend("numpy"):
        got = tx.grad(lambda x: tx.sum(g(x) * 1.0 + x))(x)
    np.testing.assert_array_equal(got.numpy(), np.ones((3, 4)))


@pytest.mark.parametrize("transform", ["vjp_graph", "jvp_graph"])
def test_kernel_is_not_differentiable(transform):
    def f(x):
        return tx.sum(tx.sin(x) * 2.0)

    traced = Arguments(f, (np.ones((3, 4)),), {}).trace(f, "f")
    fused = run_pipeline(traced.graph).graph
    assert G.KERNEL in {op.code for op in fused.ops}
    with pytest.raises(NonDifferentiableError) as info:
        if transform == "vjp_graph":
            vjp_graph(fused, [0], [True])
        else:
            jvp_graph(fused, [True])
    message = str(info.value)
    assert "kernel" in message and UNSUPPORTED[G.KERNEL] in message
    assert "test_derivative_rules.py:" in message, f"no location in: {message}"
