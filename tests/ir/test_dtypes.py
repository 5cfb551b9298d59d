"""Type promotion and the elementwise dtype rules, with NumPy as the oracle.

NumPy's result dtype is found by calling the ufunc on one-element arrays (and on Python
scalars for the weak cases of NEP 50). The documented differences are listed below; every
other dtype (pair) must give NumPy's dtype, or a DTypeError where NumPy raises TypeError.
"""

import itertools
import warnings

import numpy as np
import scipy.special
import pytest

from tracefuse.errors import DTypeError
from tracefuse.ir import dtypes as dt
from tracefuse.ir.opcodes import BINARY, UNARY, OpCode
from tracefuse.ir.rules import DTYPE_RULES

G = OpCode
ALL = dt.ALL_DTYPES

NUMPY_UFUNC = {
    G.NEGATIVE: np.negative, G.ABS: np.abs, G.SIGN: np.sign, G.SQRT: np.sqrt,
    G.SQUARE: np.square, G.RECIPROCAL: np.reciprocal, G.EXP: np.exp, G.EXPM1: np.expm1,
    G.LOG: np.log, G.LOG1P: np.log1p, G.LOG2: np.log2, G.LOG10: np.log10, G.SIN: np.sin,
    G.COS: np.cos, G.TAN: np.tan, G.ASIN: np.arcsin, G.ACOS: np.arccos, G.ATAN: np.arctan,
    G.SINH: np.sinh, G.COSH: np.cosh, G.TANH: np.tanh, G.ASINH: np.arcsinh,
    G.ACOSH: np.arccosh, G.ATANH: np.arctanh, G.FLOOR: np.floor, G.CEIL: np.ceil,
    G.TRUNC: np.trunc, G.ROUND: np.round, G.ISNAN: np.isnan, G.ISINF: np.isinf,
    G.ISFINITE: np.isfinite, G.SIGNBIT: np.signbit, G.LOGICAL_NOT: np.logical_not,
    G.BITWISE_INVERT: np.invert, G.STOP_GRADIENT: np.copy,
    G.ADD: np.add, G.SUBTRACT: np.subtract, G.MULTIPLY: np.multiply, G.DIVIDE: np.divide,
    G.FLOOR_DIVIDE: np.floor_divide, G.REMAINDER: np.remainder, G.POW: np.power,
    G.MAXIMUM: np.maximum, G.MINIMUM: np.minimum, G.ATAN2: np.arctan2, G.HYPOT: np.hypot,
    G.LOGADDEXP: np.logaddexp, G.COPYSIGN: np.copysign, G.NEXTAFTER: np.nextafter,
    G.EQUAL: np.equal, G.NOT_EQUAL: np.not_equal, G.LESS: np.less, G.LESS_EQUAL: np.less_equal,
    G.GREATER: np.greater, G.GREATER_EQUAL: np.greater_equal, G.LOGICAL_AND: np.logical_and,
    G.LOGICAL_OR: np.logical_or, G.LOGICAL_XOR: np.logical_xor, G.BITWISE_AND: np.bitwise_and,
    G.BITWISE_OR: np.bitwise_or, G.BITWISE_XOR: np.bitwise_xor, G.LEFT_SHIFT: np.left_shift,
    G.RIGHT_SHIFT: np.right_shift, G.ERF: scipy.special.erf, G.ERFC: scipy.special.erfc,
    G.REAL: np.real, G.IMAG: np.imag, G.CONJ: np.conj, G.ANGLE: np.angle,
}

# Deviation 1 (documented in rules.py): functions with floating-point results give float64 for
# integer and bool operands, where NumPy gives float16 for 8-bit and float32 for 16-bit ints.
FLOAT_FUNCTIONS = {
    G.SQRT, G.EXP, G.EXPM1, G.LOG, G.LOG1P, G.LOG2, G.LOG10, G.SIN, G.COS, G.TAN, G.ASIN,
    G.ACOS, G.ATAN, G.SINH, G.COSH, G.TANH, G.ASINH, G.ACOSH, G.ATANH, G.DIVIDE, G.ATAN2,
    G.HYPOT, G.LOGADDEXP, G.COPYSIGN, G.NEXTAFTER, G.ERF, G.ERFC, G.ANGLE,
}
# Deviation 1b: erf/erfc are scipy.special's (NumPy has none): float16 stays float16, as exp's
# does (scipy has no float16 loop and gives float64).
SCIPY_ONLY = {G.ERF, G.ERFC}
# Deviation 2: reciprocal is a floating-point function here too; NumPy computes an *integer*
# reciprocal for integer operands (1 // x: 0 for |x| > 1) and int8 for bool.
# Deviation 3: the array API allows only numeric operands for these ops; NumPy accepts bool
# (floor/ceil/trunc -> bool, round -> float16, square/floor_divide/remainder/pow/shifts -> int8).
# tracefuse raises DTypeError, as the standard says.
NUMERIC_ONLY = {
    G.FLOOR, G.CEIL, G.TRUNC, G.ROUND, G.SQUARE, G.FLOOR_DIVIDE, G.REMAINDER, G.POW,
    G.LEFT_SHIFT, G.RIGHT_SHIFT, G.CONJ,
}
# Deviation 4: complex numbers are not ordered (the standard): comparisons, maximum/minimum,
# floor/ceil/trunc, floor_divide/remainder and the real-only functions (erf, atan2, hypot,
# logaddexp, copysign, nextafter) are DTypeErrors for complex operands, where NumPy orders them
# lexicographically or takes the real part; so are the logical ops (the standard: bool).
REAL_ONLY = {
    G.LESS, G.LESS_EQUAL, G.GREATER, G.GREATER_EQUAL, G.MAXIMUM, G.MINIMUM, G.FLOOR, G.CEIL,
    G.TRUNC, G.FLOOR_DIVIDE, G.REMAINDER, G.ERF, G.ERFC, G.ATAN2, G.HYPOT, G.LOGADDEXP,
    G.COPYSIGN, G.NEXTAFTER, G.SIGNBIT, G.LOGICAL_NOT, G.LOGICAL_AND, G.LOGICAL_OR,
    G.LOGICAL_XOR,
}


def numpy_result(code, *operands):
    """NumPy's result dtype for `code` on `operands` (arrays or Python scalars), or TypeError."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return dt.as_dtype(np.asarray(NUMPY_UFUNC[code](*operands)).dtype)
        except TypeError:
            return DTypeError


def expected_dtype(code, dtypes, numpy_dtype):
    """NumPy's answer, corrected by the documented deviations above."""
    if numpy_dtype is DTypeError:
        return DTypeError
    if code in NUMERIC_ONLY and all(d.is_bool for d in dtypes):
        return DTypeError
    if code in REAL_ONLY and any(d.is_complex for d in dtypes):
        return DTypeError
    if code in FLOAT_FUNCTIONS | {G.RECIPROCAL} and not any(d.is_inexact for d in dtypes):
        return dt.float64
    if code in SCIPY_ONLY and dtypes == [dt.float16]:
        return dt.float16
    return numpy_dtype


def rule_result(code, types):
    try:
        return DTYPE_RULES[code](types, {})
    except DTypeError:
        return DTypeError, None


# --- promotion


@pytest.mark.parametrize("a", ALL, ids=str)
def test_promotion_of_strong_dtypes_matches_numpy(a):
    for b in ALL:
        assert dt.promote(a, False, b, False) == (dt.as_dtype(np.result_type(a.np, b.np)), False)


def test_nep50_weak_scalars():
    assert dt.promote(dt.float32, False, dt.float64, True) == (dt.float32, False)
    assert dt.promote(dt.float64, True, dt.float32, False) == (dt.float32, False)
    assert dt.promote(dt.bool_, False, dt.int64, True) == (dt.int64, False)
    assert dt.promote(dt.int8, False, dt.float64, True) == (dt.float64, False)
    assert dt.promote(dt.int8, False, dt.int64, True) == (dt.int8, False)
    assert dt.promote(dt.uint8, False, dt.int64, True) == (dt.uint8, False)
    assert dt.promote(dt.float16, False, dt.float64, True) == (dt.float16, False)
    assert dt.promote(dt.int64, True, dt.float64, True) == (dt.float64, True)
    assert dt.promote(dt.int64, True, dt.int64, True) == (dt.int64, True)
    assert dt.promote(dt.bool_, True, dt.int64, True) == (dt.int64, True)


@pytest.mark.parametrize("scalar", [True, 1, 1.0, 1j], ids=repr)
def test_weak_promotion_matches_numpy_with_python_scalars(scalar):
    weak = dt.weak_dtype_of_scalar(scalar)
    for d in ALL:
        want = dt.as_dtype(np.add(np.ones(1, d.np), scalar).dtype)
        assert dt.promote(d, False, weak, True) == (want, False), d
        assert dt.promote(weak, True, d, False) == (want, False), d


# --- elementwise dtype rules


@pytest.mark.parametrize("code", sorted(UNARY - {G.CAST}, key=lambda c: c.value), ids=str)
def test_unary_dtype_rule_matches_numpy(code):
    for d in ALL:
        want = expected_dtype(code, [d], numpy_result(code, np.ones(1, d.np)))
        got, weak = rule_result(code, [(d, False)])
        assert got == want, f"{code.value}({d}): rule gives {got}, expected {want}"
        assert not weak


@pytest.mark.parametrize("code", sorted(BINARY, key=lambda c: c.value), ids=str)
def test_binary_dtype_rule_matches_numpy(code):
    for a, b in itertools.product(ALL, repeat=2):
        want = expected_dtype(code, [a, b], numpy_result(code, np.ones(1, a.np), np.ones(1, b.np)))
        got, weak = rule_result(code, [(a, False), (b, False)])
        assert got == want, f"{code.value}({a}, {b}): rule gives {got}, expected {want}"
        assert not weak


@pytest.mark.parametrize("code", sorted(BINARY, key=lambda c: c.value), ids=str)
def test_binary_dtype_rule_with_a_python_scalar_matches_numpy(code):
    for d, scalar in itertools.product(ALL, (True, 1, 1.0, 1j)):
        weak = dt.weak_dtype_of_scalar(scalar)
        # the dtypes the scalar's value takes part as after NEP 50 promotion
        as_value = [dt.promote(d, False, weak, True)[0]]
        for operands, types in (
            ((np.ones(1, d.np), scalar), [(d, False), (weak, True)]),
            ((scalar, np.ones(1, d.np)), [(weak, True), (d, False)]),
        ):
            want = expected_dtype(code, as_value, numpy_result(code, *operands))
            got, got_weak = rule_result(code, types)
            assert got == want, f"{code.value}{operands}: rule gives {got}, expected {want}"
            assert not got_weak


def test_weak_operands_stay_weak():
    weak_f = (dt.float64, True)
    assert DTYPE_RULES[G.ADD]([weak_f, (dt.int64, True)], {}) == (dt.float64, True)
    assert DTYPE_RULES[G.EXP]([weak_f], {}) == (dt.float64, True)
    assert DTYPE_RULES[G.LESS]([weak_f, (dt.float32, False)], {}) == (dt.bool_, False)


def test_dtype_error_names_the_dtypes():
    with pytest.raises(DTypeError, match="integer.*float32"):
        DTYPE_RULES[G.LEFT_SHIFT]([(dt.float32, False), (dt.int8, False)], {})
