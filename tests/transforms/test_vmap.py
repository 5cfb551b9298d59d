"""`tx.vmap` against a Python loop over the batch, for every op with a batching rule, and its API.

The oracle of every case is NumPy applied to one example at a time (`np.take` along the mapped
axis of each batched argument, the unbatched ones as they are) and the per-example results
stacked with `np.stack(..., axis=out_axes)`: the vmapped function must give the same dtype,
shape and values. The cases are built from the public `tx` API: every elementwise op (with
mixes of batched and unbatched operands of higher and lower rank, and 0-d examples), every
reduction, every movement op, `matmul` in every rank combination with either or both operands
batched; `in_axes` and `out_axes` vary from case to case, and each case runs with batch sizes 0,
1 and 5. Each case names the OpCodes it batches, and the test checks that the batching rule of
each of them really ran (a recorder around `BATCH_RULES`); the coverage test checks that every
OpCode is named by some case or listed with the reason it never is.

The main loop runs the vmapped `tx.function` on the numpy backend; a subset (one case per
rule family) also runs on every compiled backend of `oracle.BACKENDS`. Then the API: `in_axes`
and `out_axes` as ints, None, tuples and nested pytree prefixes, keyword arguments, outputs that
do not depend on the batch, the errors (with the user's line), nested vmap, vmap inside and of
a `tx.function` (closing over a traced value), and the size of the traced IR, which does not
grow with the batch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special
import pytest

import tracefuse as tx
from oracle import BACKENDS, assert_same, rand
from tracefuse.ir import OpCode, philox
from tracefuse.ir.opcodes import Unsupported
from tracefuse.transforms.batching import BATCH_RULES

G = OpCode
SIZES = (0, 1, 5)


# --- the cases ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    """One argument of a case: its per-example shape, dtype and value range."""
    shape: tuple
    dtype: str = "float32"
    low: float = -5.0
    high: float = 5.0
    special: bool = False  # NaN, inf and -0.0 at random places (floats)


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable  # one example, tx ops
    ref: Callable  # the same function on NumPy arrays
    args: tuple  # Arg per positional argument
    in_axes: Any = 0  # an int/None for every argument, or a tuple with one per argument
    out_axes: int | None = 0
    codes: frozenset = field(default_factory=frozenset)  # OpCodes whose rule must run


CASES: list[Case] = []


def case(name, fn, ref, *args, in_axes=0, out_axes=0, codes=()):
    CASES.append(Case(name, fn, ref, tuple(a if isinstance(a, Arg) else Arg(a) for a in args),
                      in_axes, out_axes, frozenset(codes)))


F32 = "float32"
POS = {"low": 0.1, "high": 5.0}
UNIT = {"low": -0.95, "high": 0.95}

# unary: OpCode -> (tx function, NumPy function, the argument)
UNARY_OPS = {
    G.NEGATIVE: (tx.negative, np.negative, Arg((), F32)),
    G.ABS: (tx.abs, np.abs, Arg((), "int32")),
    G.SIGN: (tx.sign, np.sign, Arg((), F32)),
    G.SQRT: (tx.sqrt, np.sqrt, Arg((), F32, **POS)),
    G.SQUARE: (tx.square, np.square, Arg((), F32)),
    G.RECIPROCAL: (tx.reciprocal, np.reciprocal, Arg((), F32, **POS)),
    G.EXP: (tx.exp, np.exp, Arg((), F32)),
    G.EXPM1: (tx.expm1, np.expm1, Arg((), F32)),
    G.LOG: (tx.log, np.log, Arg((), F32, **POS)),
    G.LOG1P: (tx.log1p, np.log1p, Arg((), F32, **POS)),
    G.LOG2: (tx.log2, np.log2, Arg((), F32, **POS)),
    G.LOG10: (tx.log10, np.log10, Arg((), F32, **POS)),
    G.SIN: (tx.sin, np.sin, Arg((), F32)),
    G.COS: (tx.cos, np.cos, Arg((), F32)),
    G.TAN: (tx.tan, np.tan, Arg((), F32, low=-1.4, high=1.4)),
    G.ASIN: (tx.asin, np.arcsin, Arg((), F32, **UNIT)),
    G.ACOS: (tx.acos, np.arccos, Arg((), F32, **UNIT)),
    G.ATAN: (tx.atan, np.arctan, Arg((), F32)),
    G.SINH: (tx.sinh, np.sinh, Arg((), F32)),
    G.COSH: (tx.cosh, np.cosh, Arg((), F32)),
    G.TANH: (tx.tanh, np.tanh, Arg((), F32)),
    G.ASINH: (tx.asinh, np.arcsinh, Arg((), F32)),
    G.ACOSH: (tx.acosh, np.arccosh, Arg((), F32, low=1.1, high=5.0)),
    G.ATANH: (tx.atanh, np.arctanh, Arg((), F32, **UNIT)),
    G.ERF: (tx.erf, scipy.special.erf, Arg((), F32)),
    G.ERFC: (tx.erfc, scipy.special.erfc, Arg((), F32)),
    G.FLOOR: (tx.floor, np.floor, Arg((), F32)),
    G.CEIL: (tx.ceil, np.ceil, Arg((), F32)),
    G.TRUNC: (tx.trunc, np.trunc, Arg((), F32)),
    G.ROUND: (tx.round, np.round, Arg((), F32)),
    G.ISNAN: (tx.isnan, np.isnan, Arg((), F32, special=True)),
    G.ISINF: (tx.isinf, np.isinf, Arg((), F32, special=True)),
    G.ISFINITE: (tx.isfinite, np.isfinite, Arg((), F32, special=True)),
    G.SIGNBIT: (tx.signbit, np.signbit, Arg((), F32, special=True)),
    G.LOGICAL_NOT: (tx.logical_not, np.logical_not, Arg((), "bool")),
    G.BITWISE_INVERT: (tx.bitwise_invert, np.invert, Arg((), "int16")),
    G.CAST: (lambda x: tx.astype(x, tx.float32), lambda x: x.astype(np.float32),
             Arg((), "int8")),
    G.STOP_GRADIENT: (tx.stop_gradient, lambda x: x, Arg((), F32)),
}
# (per-example shape, in_axes, out_axes), cycled over the unary ops
UNARY_LAYOUTS = [((2, 3), 0, 0), ((2, 3), 1, -1), ((3,), -1, 1), ((), 0, 0), ((2, 1, 3), 2, 1)]
for i, (code, (f, ref, a)) in enumerate(UNARY_OPS.items()):
    shape, ia, oa = UNARY_LAYOUTS[i % len(UNARY_LAYOUTS)]
    case(code.value, f, ref, Arg(shape, a.dtype, a.low, a.high, a.special), in_axes=ia,
         out_axes=oa, codes=[code])

# binary: OpCode -> (tx function, NumPy function, dtype, x range, y range)
R = (-5.0, 5.0)
BINARY_OPS = {
    G.ADD: (tx.add, np.add, F32, R, R),
    G.SUBTRACT: (tx.subtract, np.subtract, F32, R, R),
    G.MULTIPLY: (tx.multiply, np.multiply, F32, R, R),
    G.DIVIDE: (tx.divide, np.divide, F32, R, (0.5, 5.0)),
    G.FLOOR_DIVIDE: (tx.floor_divide, np.floor_divide, "int32", R, (1, 5)),
    G.REMAINDER: (tx.remainder, np.remainder, F32, R, (0.5, 5.0)),
    G.POW: (tx.pow, np.power, F32, (0.1, 3.0), (-2.0, 2.0)),
    G.MAXIMUM: (tx.maximum, np.maximum, F32, R, R),
    G.MINIMUM: (tx.minimum, np.minimum, "int16", R, R),
    G.ATAN2: (tx.atan2, np.arctan2, F32, R, R),
    G.HYPOT: (tx.hypot, np.hypot, F32, R, R),
    G.LOGADDEXP: (tx.logaddexp, np.logaddexp, F32, R, R),
    G.COPYSIGN: (tx.copysign, np.copysign, F32, R, R),
    G.NEXTAFTER: (tx.nextafter, np.nextafter, F32, R, R),
    G.EQUAL: (tx.equal, np.equal, "int8", (-1, 1), (-1, 1)),
    G.NOT_EQUAL: (tx.not_equal, np.not_equal, "int8", (-1, 1), (-1, 1)),
    G.LESS: (tx.less, np.less, F32, R, R),
    G.LESS_EQUAL: (tx.less_equal, np.less_equal, "int32", R, R),
    G.GREATER: (tx.greater, np.greater, F32, R, R),
    G.GREATER_EQUAL: (tx.greater_equal, np.greater_equal, F32, R, R),
    G.LOGICAL_AND: (tx.logical_and, np.logical_and, "bool", R, R),
    G.LOGICAL_OR: (tx.logical_or, np.logical_or, "bool", R, R),
    G.LOGICAL_XOR: (tx.logical_xor, np.logical_xor, "bool", R, R),
    G.BITWISE_AND: (tx.bitwise_and, np.bitwise_and, "int32", (-100, 100), (-100, 100)),
    G.BITWISE_OR: (tx.bitwise_or, np.bitwise_or, "uint8", (0, 255), (0, 255)),
    G.BITWISE_XOR: (tx.bitwise_xor, np.bitwise_xor, "int64", (-100, 100), (-100, 100)),
    G.LEFT_SHIFT: (tx.bitwise_left_shift, np.left_shift, "int32", (-100, 100), (0, 5)),
    G.RIGHT_SHIFT: (tx.bitwise_right_shift, np.right_shift, "int32", (-100, 100), (0, 5)),
}
# (x shape, y shape, in_axes, out_axes), cycled over the binary ops: both batched on different
# axes, an unbatched operand of higher and of lower rank, a batched operand of lower rank than
# the other batched one, 0-d examples, a 0-d unbatched operand
BINARY_LAYOUTS = [
    ((2, 3), (2, 3), (0, 1), 0),
    ((3,), (2, 3), (0, None), 1),
    ((2, 3), (3,), (-1, None), -1),
    ((2, 3), (3,), (1, 0), 0),
    ((), (), 0, 0),
    ((), (2, 3), (None, 2), 2),
    ((3,), (2, 1), (None, 0), -1),
]
for i, (code, (f, ref, d, xr, yr)) in enumerate(BINARY_OPS.items()):
    xs, ys, ia, oa = BINARY_LAYOUTS[i % len(BINARY_LAYOUTS)]
    case(code.value, f, ref, Arg(xs, d, *xr), Arg(ys, d, *yr), in_axes=ia, out_axes=oa,
         codes=[code])
case("add_weak_scalar", lambda x: 2.5 * x - 1, lambda x: 2.5 * x - 1, Arg((3,)),
     in_axes=-1, codes=[G.MULTIPLY, G.SUBTRACT])
case("operators", lambda x, y: (x + y) * x / y, lambda x, y: (x + y) * x / y,
     Arg((2, 3)), Arg((3,), low=0.5), in_axes=(1, None), out_axes=1,
     codes=[G.ADD, G.MULTIPLY, G.DIVIDE])

case("complex_parts", lambda x, y: tx.real(x * 1j + y) * tx.imag(tx.conj(x * 1j + y))
     + tx.angle(x + 2j * y), lambda x, y: np.real(x * 1j + y) * np.imag(np.conj(x * 1j + y))
     + np.angle(x + 2j * y), Arg((2, 3)), Arg((3,)), in_axes=(1, None), out_axes=1,
     codes=[G.REAL, G.IMAG, G.CONJ, G.ANGLE])

# three operands: where (condition, x, y) and clip (x, lo, hi), batched and not, mixed ranks
B = Arg((2, 3), "bool")
case("where_cond_batched", tx.where, np.where, B, Arg((3,)), Arg(()), in_axes=(0, None, None),
     codes=[G.WHERE])
case("where_all_batched", tx.where, np.where, Arg((3,), "bool"), Arg((2, 3)), Arg(()),
     in_axes=(0, 1, 0), out_axes=-1, codes=[G.WHERE])
case("where_x_batched", tx.where, np.where, B, Arg((), "float64"), Arg((2, 1), "float64"),
     in_axes=(None, 0, -1), out_axes=1, codes=[G.WHERE])
case("clip_x_batched", lambda x, lo, hi: tx.clip(x, lo, hi), np.clip, Arg((2, 3)),
     Arg((3,), low=-3, high=-1), Arg((2, 1), low=1, high=3), in_axes=(1, None, None),
     codes=[G.CLIP])
case("clip_bounds_batched", lambda x, lo, hi: tx.clip(x, lo, hi), np.clip, Arg((3,)),
     Arg((2, 3), low=-3, high=-1), Arg((), low=1, high=3), in_axes=(None, 0, 0), out_axes=-1,
     codes=[G.CLIP])
case("clip_scalar_bounds", lambda x: tx.clip(x, min=-1, max=2), lambda x: np.clip(x, -1, 2),
     Arg((4,), "int32"), in_axes=0, out_axes=1, codes=[G.CLIP])

# reductions: the axes of the example, keepdims, axis None, argmax/argmin with axis None
X3 = Arg((2, 3, 4))
for name, f, ref, a, ia, oa, code in [
    ("sum_axis0", lambda x: tx.sum(x, axis=0), lambda x: np.sum(x, axis=0), X3, 1, 0, G.SUM),
    ("sum_axes_keepdims", lambda x: tx.sum(x, axis=(0, 2), keepdims=True),
     lambda x: np.sum(x, axis=(0, 2), keepdims=True), X3, -1, 1, G.SUM),
    ("sum_all_0d", lambda x: tx.sum(x), np.sum, Arg(()), 0, 0, G.SUM),
    ("prod_axis-1", lambda x: tx.prod(x, axis=-1), lambda x: np.prod(x, axis=-1),
     Arg((2, 3), low=0.5, high=1.5), 0, -1, G.PROD),
    ("max_none_keepdims", lambda x: tx.max(x, axis=None, keepdims=True),
     lambda x: np.max(x, axis=None, keepdims=True), X3, 2, 0, G.MAX),
    ("max_int", lambda x: tx.max(x, axis=1), lambda x: np.max(x, axis=1),
     Arg((3, 4), "int32", -1000, 1000), 0, 1, G.MAX),
    ("min_axis1", lambda x: tx.min(x, axis=1), lambda x: np.min(x, axis=1), X3, 0, -1, G.MIN),
    ("all_none", lambda x: tx.all(x), np.all, Arg((2, 3), "bool"), 1, 0, G.ALL),
    ("any_axis0_keepdims", lambda x: tx.any(x, axis=0, keepdims=True),
     lambda x: np.any(x, axis=0, keepdims=True), Arg((3, 2), "bool"), -1, -1, G.ANY),
    ("argmax_none", lambda x: tx.argmax(x), np.argmax, X3, 1, 0, G.ARGMAX),
    ("argmax_none_keepdims", lambda x: tx.argmax(x, keepdims=True),
     lambda x: np.argmax(x, keepdims=True), Arg((3, 4)), -1, 1, G.ARGMAX),
    ("argmax_axis", lambda x: tx.argmax(x, axis=-1), lambda x: np.argmax(x, axis=-1), X3, 0,
     -1, G.ARGMAX),
    ("argmin_none", lambda x: tx.argmin(x), np.argmin, Arg((4,), "int32", -1000, 1000), 0, 0,
     G.ARGMIN),
    ("argmin_axis_keepdims", lambda x: tx.argmin(x, axis=0, keepdims=True),
     lambda x: np.argmin(x, axis=0, keepdims=True), Arg((3, 4)), 2, 0, G.ARGMIN),
    ("argmin_none_keepdims_1d", lambda x: tx.argmin(x, keepdims=True),
     lambda x: np.argmin(x, keepdims=True), Arg((5,)), 1, -1, G.ARGMIN),
    ("mean_var_std", lambda x: tx.mean(x, axis=0) + tx.var(x, axis=1, keepdims=True)
     * tx.std(x), lambda x: np.mean(x, axis=0) + np.var(x, axis=1, keepdims=True) * np.std(x),
     Arg((3, 3), "float64"), 1, 1, G.SUM),
]:
    case(name, f, ref, a, in_axes=ia, out_axes=oa, codes=[code])

# movement
M = Arg((3, 4))
for name, f, ref, args, ia, oa, codes in [
    ("reshape", lambda x: tx.reshape(x, (6, 2)), lambda x: np.reshape(x, (6, 2)),
     (Arg((2, 3, 2)),), 1, 0, [G.RESHAPE]),
    ("reshape_flat", lambda x: tx.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,)), (M,), -1,
     -1, [G.RESHAPE]),
    ("reshape_0d_to_1x1", lambda x: tx.reshape(x, (1, 1)), lambda x: np.reshape(x, (1, 1)),
     (Arg(()),), 0, 1, [G.RESHAPE]),
    ("permute_dims", lambda x: tx.permute_dims(x, (2, 0, 1)),
     lambda x: np.transpose(x, (2, 0, 1)), (X3,), -1, 1, [G.PERMUTE]),
    ("matrix_transpose", tx.matrix_transpose, lambda x: np.swapaxes(x, -1, -2), (M,), 1, 0,
     [G.PERMUTE]),
    ("moveaxis", lambda x: tx.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), (X3,), 0,
     -1, [G.PERMUTE]),
    ("broadcast_to_rank_up", lambda x: tx.broadcast_to(x, (2, 4, 3)),
     lambda x: np.broadcast_to(x, (2, 4, 3)), (Arg((3,)),), 0, 1, [G.BROADCAST_TO]),
    ("broadcast_to_size1", lambda x: tx.broadcast_to(x, (2, 3)),
     lambda x: np.broadcast_to(x, (2, 3)), (Arg((1, 3)),), 1, -1, [G.BROADCAST_TO]),
    ("broadcast_to_0d", lambda x: tx.broadcast_to(x, (2, 3)),
     lambda x: np.broadcast_to(x, (2, 3)), (Arg(()),), 0, 0, [G.BROADCAST_TO]),
    ("slice_step", lambda x: x[1:4:2], lambda x: x[1:4:2], (Arg((5,)),), 0, 0, [G.SLICE]),
    ("slice_negative_step", lambda x: x[::-2, 1:], lambda x: x[::-2, 1:], (Arg((5, 3)),), 1,
     -1, [G.SLICE]),
    ("slice_negative_bounds", lambda x: x[-1:0:-2, ::-1], lambda x: x[-1:0:-2, ::-1],
     (Arg((6, 2)),), -1, 1, [G.SLICE]),
    ("flip_all", lambda x: tx.flip(x), lambda x: np.flip(x), (X3,), 1, 0, [G.SLICE]),
    ("flip_axis", lambda x: tx.flip(x, axis=-1), lambda x: np.flip(x, axis=-1), (M,), 0, -1,
     [G.SLICE]),
    ("getitem_int", lambda x: x[1], lambda x: x[1], (M,), 1, 0, [G.SLICE, G.RESHAPE]),
    ("getitem_none_int", lambda x: x[None, :, -1], lambda x: x[None, :, -1], (M,), 0, 1,
     [G.SLICE, G.RESHAPE]),
    ("getitem_ellipsis_none", lambda x: x[..., None, ::2], lambda x: x[..., None, ::2], (X3,),
     -1, -1, [G.SLICE, G.RESHAPE]),
    ("expand_dims", lambda x: tx.expand_dims(x, axis=-1), lambda x: np.expand_dims(x, -1),
     (M,), 0, 1, [G.RESHAPE]),
    ("expand_dims_0d", lambda x: tx.expand_dims(x, axis=0), lambda x: np.expand_dims(x, 0),
     (Arg(()),), 0, -1, [G.RESHAPE]),
    ("squeeze", lambda x: tx.squeeze(x, axis=1), lambda x: np.squeeze(x, axis=1),
     (Arg((3, 1, 2)),), 2, 0, [G.RESHAPE]),
    ("concat_batched_unbatched", lambda x, y: tx.concat([x, y], axis=0),
     lambda x, y: np.concatenate([x, y], axis=0), (Arg((2, 3)), Arg((4, 3))), (1, None), 0,
     [G.CONCAT]),
    ("concat_both_batched", lambda x, y, z: tx.concat([x, y, z], axis=-1),
     lambda x, y, z: np.concatenate([x, y, z], axis=-1),
     (Arg((2, 3)), Arg((2, 1)), Arg((2, 2))), (0, -1, None), -1, [G.CONCAT]),
    ("stack", lambda x, y: tx.stack([x, y], axis=1), lambda x, y: np.stack([x, y], axis=1),
     (M, M), (0, 1), 1, [G.CONCAT, G.RESHAPE]),
    ("stack_0d", lambda x, y: tx.stack([x, y]), lambda x, y: np.stack([x, y]),
     (Arg(()), Arg(())), (None, 0), 0, [G.CONCAT, G.RESHAPE]),
]:
    case(name, f, ref, *args, in_axes=ia, out_axes=oa, codes=codes)

# matmul: every rank pair the forward accepts, with a batched, b batched, or both
MATMUL_SHAPES = {(1, 1): ((4,), (4,)), (1, 2): ((4,), (4, 3)), (2, 1): ((2, 4), (4,)),
                 (2, 2): ((2, 4), (4, 3)), (3, 2): ((2, 3, 4), (4, 3)),
                 (2, 3): ((3, 4), (2, 4, 2)), (1, 3): ((4,), (2, 4, 3))}
MATMUL_AXES = {"a": ((0, None), 0), "b": ((None, -1), -1), "both": ((-1, 0), 1)}
for (ra, rb), (sa, sb) in MATMUL_SHAPES.items():
    for which, (ia, oa) in MATMUL_AXES.items():
        if ra + rb == 2 and oa == 1:
            oa = 0  # the result of 1-D @ 1-D is 0-d: out_axes 1 is out of range
        case(f"matmul_{ra}d@{rb}d_{which}", tx.matmul, np.matmul, Arg(sa, "float64"),
             Arg(sb, "float64"), in_axes=ia, out_axes=oa, codes=[G.MATMUL])


# --- running a case ---------------------------------------------------------------------------
def arg_axes(c: Case) -> list:
    return list(c.in_axes) if isinstance(c.in_axes, tuple) else [c.in_axes] * len(c.args)


# random bits: a batch of seeds (both key words batched) and a batch of fold_in data (the
# counter offset batched): each element draws what its own key draws alone
def _philox_ref(seed, shape, offset=0):
    s = int(seed) & (2**64 - 1)
    return philox.random_bits(np.uint32(s & 0xFFFFFFFF), np.uint32(s >> 32), np.uint64(offset),
                              shape)


case("random_bits_keys", lambda s: tx.random.bits(tx.random.key(s), (3, 4)),
     lambda s: _philox_ref(s, (3, 4)), Arg((), "int64"), codes=[G.RANDOM_BITS])
case("random_bits_offsets", lambda d: tx.random.fold_in(tx.random.key(5), d),
     lambda d: _philox_ref(5, (2,), 4 * (int(d) & 0xFFFFFFFF)), Arg((), "int32", low=0, high=90),
     codes=[G.RANDOM_BITS])


def make_inputs(rng, c: Case, size: int) -> list[np.ndarray]:
    """Random batched arguments: the batch axis of `size` inserted at each argument's in_axes."""
    out = []
    for a, axis in zip(c.args, arg_axes(c)):
        shape = list(a.shape)
        if axis is not None:
            shape.insert(axis % (len(shape) + 1), size)
        out.append(rand(rng, shape, a.dtype, low=a.low, high=a.high, special=a.special))
    return out


def loop_oracle(c: Case, inputs: list[np.ndarray], size: int) -> np.ndarray:
    """NumPy on each example, stacked along out_axes: what vmap must compute."""
    axes = arg_axes(c)
    with np.errstate(all="ignore"):
        if size == 0:  # no example to run: one example's shape and dtype, on an empty batch
            one = np.asarray(c.ref(*[x if ax is None else np.take(
                np.ones(tuple(n or 1 for n in x.shape), x.dtype), 0, axis=ax)
                for x, ax in zip(inputs, axes)]))
            return np.moveaxis(np.empty((0,) + one.shape, one.dtype), 0, c.out_axes)
        results = [np.asarray(c.ref(*[x if ax is None else np.take(x, i, axis=ax)
                                      for x, ax in zip(inputs, axes)])) for i in range(size)]
    return np.stack(results, axis=c.out_axes)


@pytest.fixture
def batched_codes(monkeypatch) -> set:
    """The OpCodes whose batching rule runs during the test (every rule wrapped)."""
    seen: set = set()
    for code, rule in list(BATCH_RULES.items()):
        if isinstance(rule, Unsupported):
            continue

        def recording(e, op, *rest, _rule=rule):
            seen.add(op.code)
            return _rule(e, op, *rest)
        monkeypatch.setitem(BATCH_RULES, code, recording)
    return seen


def check_case(c: Case, rng, size: int, backend: str, seen: set | None = None) -> None:
    inputs = make_inputs(rng, c, size)
    copies = [x.copy() for x in inputs]
    expected = loop_oracle(c, inputs, size)
    got = tx.function(tx.vmap(c.fn, in_axes=c.in_axes, out_axes=c.out_axes),
                      backend=backend)(*inputs)
    assert_same(got, expected, what=f"{c.name} (batch {size}, {backend})")
    for x, orig in zip(inputs, copies):
        np.testing.assert_array_equal(x, orig, err_msg=f"{c.name} modified an input")
    if seen is not None:
        missing = sorted(x.value for x in c.codes - seen)
        assert not missing, f"{c.name}: the rules of {missing} never ran (batched: " \
            f"{sorted(x.value for x in seen)})"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("c", CASES, ids=lambda c: c.name)
def test_vmap_matches_loop(c, size, rng, batched_codes):
    check_case(c, rng, size, "numpy", batched_codes)


# one case per rule family, on every compiled backend under test (gpu-sim compiles C++)
FAMILY_SUBSET = ["exp", "add", "minimum", "where_all_batched", "sum_axes_keepdims",
                 "argmax_none_keepdims", "reshape", "permute_dims", "broadcast_to_rank_up",
                 "slice_negative_step", "concat_both_batched", "matmul_2d@3d_both"]
BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", FAMILY_SUBSET)
def test_vmap_on_compiled_backends(name, backend, rng):
    check_case(BY_NAME[name], rng, 5, backend)


# --- coverage ---------------------------------------------------------------------------------
NOT_EXERCISED = {
    G.CONSTANT: "a source: no operands, so never batched (the driver copies it); "
                "test_sources_inside_vmap",
    G.FULL: "a source, as CONSTANT; test_sources_inside_vmap",
    G.IOTA: "a source, as CONSTANT; test_sources_inside_vmap",
    G.KERNEL: "Unsupported: kernels are made by fusion after every transform has run",
    # control flow: checked against a Python loop at the graph level
    G.COND: "tests/transforms/test_control_flow_rules.py",
    G.WHILE: "tests/transforms/test_control_flow_rules.py",
    G.SCAN: "tests/transforms/test_control_flow_rules.py",
    # library calls: function by function against a Python loop
    G.CALL: "tests/transforms/test_library_rules.py",
}


def test_every_opcode_is_covered():
    exercised = set().union(*(c.codes for c in CASES))
    missing = set(OpCode) - exercised - set(NOT_EXERCISED)
    assert not missing, f"no vmap case batches {sorted(c.value for c in missing)}"
    assert not exercised & set(NOT_EXERCISED)
    unsupported = {code for code, rule in BATCH_RULES.items() if isinstance(rule, Unsupported)}
    assert unsupported == {G.CONSTANT, G.FULL, G.IOTA, G.KERNEL}
    assert all(BATCH_RULES[code].reason for code in unsupported)
    assert len({c.name for c in CASES}) == len(CASES) and all(c.codes for c in CASES)
    assert set(FAMILY_SUBSET) <= set(BY_NAME)


def test_sources_inside_vmap(rng):
    x = rand(rng, (5, 4), F32)

    def f(r):
        return r * tx.arange(4, dtype=tx.float32) + tx.zeros((4,), dtype=tx.float32) \
            + tx.full((4,), 2.0, dtype=tx.float32)

    expected = np.stack([r * np.arange(4, dtype=np.float32) + 2.0 for r in x])
    assert_same(tx.function(tx.vmap(f), backend="numpy")(x), expected)
    # a function of no mapped value at all: its output is repeated along the batch
    expected = np.broadcast_to(np.arange(3, dtype=np.float32), (5, 3))
    assert_same(tx.function(tx.vmap(lambda r: tx.arange(3, dtype=tx.float32)),
                            backend="numpy")(x), expected)


# --- the API ----------------------------------------------------------------------------------
def numpy_vmap(fn: Callable, size: int, args: list, axes: list) -> list:
    """fn on each example (axes[i] None: args[i] shared), the results in a list."""
    return [fn(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)])
            for i in range(size)]


def vm(fn, **kw):
    return tx.function(tx.vmap(fn, **kw), backend="numpy")


def test_in_axes_int_none_and_tuple(rng):
    x, w = rand(rng, (3, 5), F32), rand(rng, (3,), F32)
    expected = np.stack(numpy_vmap(lambda a, b: a * b + 1, 5, [x, w], [1, None]))
    assert_same(vm(lambda a, b: a * b + 1, in_axes=(1, None))(x, w), expected)
    assert_same(vm(lambda a, b: a * b + 1, in_axes=[-1, None])(x, w), expected)  # a list
    y = rand(rng, (3, 5), F32)
    expected = np.stack(numpy_vmap(lambda a, b: a - b, 5, [x, y], [1, 1]))
    assert_same(vm(lambda a, b: a - b, in_axes=1)(x, y), expected)


def test_in_axes_nested_pytree_prefix(rng):
    """A dict argument with one leaf mapped and one shared, a tuple argument mapped by one
    entry for both its leaves, and a 0-d shared leaf."""
    a, b = rand(rng, (5, 3), F32), rand(rng, (2, 3), F32)
    u, v = rand(rng, (3, 5), F32), np.float32(rng.uniform(1, 2))

    def f(d, t):
        return d["a"] * t[0] + d["b"][0] * t[1]

    out = vm(f, in_axes=({"a": 0, "b": None}, (1, None)))({"a": a, "b": b}, (u, v))
    expected = np.stack([a[i] * u[:, i] + b[0] * v for i in range(5)])
    assert_same(out, expected)
    # a structure that is not a prefix of the argument's is an error naming in_axes
    with pytest.raises(ValueError, match=r"in_axes \{'b': 0\} does not match the structure"):
        vm(lambda d: d["a"], in_axes=({"b": 0},))({"a": a})
    with pytest.raises(ValueError, match="in_axes has 1 entries but the function was called "
                                         "with 2 positional arguments"):
        vm(lambda p, q: p * q, in_axes=(0,))(a, a)


def test_kwargs_are_mapped_over_axis_0(rng):
    x, s = rand(rng, (2, 5), F32), rand(rng, (5, 2), F32)
    out = vm(lambda a, *, scale: a * scale, in_axes=1)(x, scale=s)
    assert_same(out, np.stack([x[:, i] * s[i] for i in range(5)]))


def test_out_axes_pytree(rng):
    x = rand(rng, (5, 3), F32)
    out = vm(lambda a: (a, {"b": a * 2, "c": tx.sum(a)}), out_axes=(-1, {"b": 1, "c": 0}))(x)
    assert_same(out[0], x.T)
    assert_same(out[1]["b"], (x * 2).T)
    assert_same(out[1]["c"], np.stack([np.sum(r) for r in x]))


def test_outputs_independent_of_the_batch(rng):
    """out_axes 0: repeated along the batch (as JAX); out_axes None: returned once."""
    x, w = rand(rng, (5, 3), F32), rand(rng, (3,), F32)

    def f(a, b):
        return a + b, tx.exp(b)

    shared = vm(f, in_axes=(0, None), out_axes=(0, None))(x, w)
    assert_same(shared[0], x + w)
    assert_same(shared[1], np.exp(w))
    repeated = vm(f, in_axes=(0, None), out_axes=(0, 1))(x, w)
    assert_same(repeated[1], np.broadcast_to(np.exp(w)[:, None], (3, 5)))
    # an output that is an input unchanged, and one that is a constant
    same = vm(lambda a, b: (b, tx.asarray(2.0, dtype=tx.float32)), in_axes=(0, None))(x, w)
    assert_same(same[0], np.broadcast_to(w, (5, 3)))
    assert_same(same[1], np.full((5,), 2.0, np.float32))


def located_here(info, line: int) -> bool:
    return f"{os.path.basename(__file__)}:{line}" in str(info.value)


def line_of(marker: str) -> int:
    """The line of this file that carries `# <marker>`."""
    with open(__file__) as f:
        for n, text in enumerate(f, 1):
            if text.rstrip().endswith(f"# {marker}"):
                return n
    raise AssertionError(marker)


def test_mismatched_sizes_name_the_arguments_sizes_and_line(rng):
    x, y = rand(rng, (5, 3), F32), rand(rng, (3, 4), F32)
    with pytest.raises(ValueError) as info:
        tx.vmap(lambda first, second: first + second, in_axes=(0, 1))(x, y)  # sizes-eager
    msg = str(info.value)
    assert re.search(r"first has size 5 on axis 0, second has size 4 on axis 1", msg), msg
    assert located_here(info, line_of("sizes-eager")), msg

    @tx.function(backend="numpy")
    def traced(a, b):
        return tx.vmap(lambda first, second: first * second)(a, b)  # sizes-traced

    with pytest.raises(ValueError) as info:
        traced(x, y.T.copy())
    assert "first has size 5 on axis 0, second has size 4 on axis 0" in str(info.value)
    assert located_here(info, line_of("sizes-traced")), str(info.value)
    # leaves of a pytree argument are named by their path
    with pytest.raises(ValueError, match=r"size 5 .*size 4"):
        vm(lambda d: d["p"] + d["q"])({"p": x[:, 0].copy(), "q": y[0].copy()})


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: tx.vmap(lambda a: a, in_axes=2)(x), ValueError,
     r"in_axes 2 is out of range for argument a of shape \(5, 3\)"),
    (lambda x: tx.vmap(lambda a: a, in_axes=-3)(x), ValueError, "in_axes -3 is out of range"),
    (lambda x: tx.vmap(lambda a, b: a * b)(x, np.float32(2)), ValueError,
     r"argument b is a scalar \(shape \(\)\) but in_axes maps it over axis 0; give it "
     r"in_axes None"),
    (lambda x: tx.vmap(lambda a, b: a * b)(x, 2.0), ValueError, "argument b is a scalar"),
    (lambda x: tx.vmap(lambda a: a, in_axes=None)(x), ValueError, "no argument is mapped"),
    (lambda x: tx.vmap(lambda a: a * 2, out_axes=2)(x), tx.ShapeError,
     "out_axes 2 is out of range for an output of 1 dimensions"),
], ids=["in_axes_range", "in_axes_negative_range", "scalar_mapped", "python_scalar_mapped",
        "nothing_mapped", "out_axes_range"])
def test_argument_errors_name_the_line(call, error, pattern, rng):
    with pytest.raises(error, match=pattern) as info:
        call(rand(rng, (5, 3), F32))
    assert located_here(info, call.__code__.co_firstlineno), str(info.value)


def test_out_axes_none_for_a_batched_output(rng):
    def f(a, b):
        return b + 1, a * 2  # batched-output

    with pytest.raises(tx.ShapeError, match="output 1 depends on the mapped axis but its "
                                            "out_axes is None") as info:
        vm(f, in_axes=(0, None), out_axes=(0, None))(rand(rng, (5, 3), F32), np.float32(1))
    assert located_here(info, line_of("batched-output")), str(info.value)


def test_nested_vmap_is_an_outer_product(rng):
    x, y = rand(rng, (5, 3), F32), rand(rng, (4, 3), F32)
    inner = tx.vmap(lambda a, b: tx.sum(a * b) + a[0], in_axes=(None, 0))
    out = vm(inner, in_axes=(0, None))(x, y)
    expected = np.array([[np.sum(a * b) + a[0] for b in y] for a in x])
    assert_same(out, expected)
    # both levels mapping the same argument over different axes
    z = rand(rng, (2, 5, 3), F32)
    out = vm(tx.vmap(lambda r: tx.max(r), in_axes=1), in_axes=0, out_axes=1)(z)
    assert_same(out, np.stack([np.stack([np.max(z[i, :, j]) for j in range(3)])
                               for i in range(2)], axis=1))


def test_vmap_inside_function_closing_over_traced_values(rng):
    x, w = rand(rng, (5, 4), F32), rand(rng, (4, 3), F32)

    @tx.function(backend="numpy")
    def g(a, m):
        scaled = m * 2  # a traced value the vmapped function closes over
        return tx.vmap(lambda r: tx.tanh(r @ scaled) * m)(a)

    assert_same(g(x, w), np.stack([np.tanh(r @ (w * 2)) * w for r in x]))
    # vmap of a tx.function, itself inside a tx.function
    inner = tx.function(lambda r, m: tx.exp(r) @ m)
    outer = tx.function(lambda a, m: tx.vmap(inner, in_axes=(1, None))(a, m), backend="numpy")
    xt = x.T.copy()
    assert_same(outer(xt, w), np.stack([np.exp(xt[:, i]) @ w for i in range(5)]), rtol=1e-4)


def test_nested_vmap_closing_over_the_outer_example(rng):
    x, y = rand(rng, (5, 3), F32), rand(rng, (4, 3), F32)
    out = vm(lambda a: tx.vmap(lambda b: tx.sum(b * a) - b)(y), out_axes=1)(x)
    assert_same(out, np.stack([np.stack([np.sum(b * a) - b for b in y]) for a in x], axis=1),
                rtol=1e-4)


@pytest.mark.parametrize("form", ["captured_only", "captured_first", "nested_captured_first"])
def test_vmap_op_with_a_captured_first_operand(form, rng):
    """An op of the vmapped function whose first traced operand is a captured outer value."""
    x, w = rand(rng, (5, 4), F32), rand(rng, (4, 3), F32)
    if form == "nested_captured_first":
        y = rand(rng, (2, 4), F32)
        out = vm(lambda a: tx.vmap(lambda b: a * b)(y))(x)
        assert_same(out, np.stack([np.stack([a * b for b in y]) for a in x]))
        return
    body, ref = {"captured_only": (lambda r, m: r @ m + tx.sum(m), lambda r, m: r @ m + m.sum()),
                 "captured_first": (lambda r, m: m * r[:, None], lambda r, m: m * r[:, None]),
                 }[form]

    @tx.function(backend="numpy")
    def g(a, m):
        return tx.vmap(lambda r: body(r, m))(a)

    assert_same(g(x, w), np.stack([ref(r, w) for r in x]), rtol=1e-4)


def test_traced_ir_does_not_grow_with_the_batch(rng):
    """The batch is an axis of each value, not a loop: the same ops for 3 and 3,000."""
    def f(x, w):
        e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
        return (e / tx.sum(e, axis=-1, keepdims=True)) @ w

    w = rand(rng, (4, 3), F32)
    texts = {}
    for n in (3, 3000):
        x = rand(rng, (n, 4), F32)
        cf = tx.function(tx.vmap(f, in_axes=(0, None)), backend="numpy").get_concrete_function(
            x, w)
        texts[n] = cf.ir("traced")
        out = cf(x, w)
        e = np.exp(x - x.max(-1, keepdims=True))
        assert_same(out, (e / e.sum(-1, keepdims=True)) @ w, rtol=1e-4)
    ops = {n: [ln for ln in t.splitlines() if re.match(r"\s*%\d+.* = ", ln)]
           for n, t in texts.items()}
    assert len(ops[3]) == len(ops[3000]) and len(texts[3].splitlines()) == \
        len(texts[3000].splitlines()), texts
    codes = {n: [re.search(r"= (\w+)", ln).group(1) for ln in o] for n, o in ops.items()}
    assert codes[3] == codes[3000]
    assert {"reduce_max", "exp", "reduce_sum", "divide", "matmul"} <= set(codes[3])
    assert "3000" in texts[3000] and "3000" not in texts[3]
