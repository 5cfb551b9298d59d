"""The building blocks of `vmath`: LLVM-level intrinsics and per-dtype constants.

Everything here is a Numba `intrinsic` that emits a few LLVM instructions, so that the scalar
math functions built from them (functions.py, trig.py) inline into a loop body as plain
arithmetic that LLVM's loop vectorizer widens to `<16 x float>` / `<8 x double>`:

- `fma`, `rint`, `fabs`, `copysign`, `sqrt`: the `llvm.*` intrinsics of the same names. LLVM
  vectorizes them (`vfmadd`, `vrndscale`, `vandps`, `vsqrt`...). `fma` is a real fused
  multiply-add: the code relies on it for exact Cody-Waite reductions, so the target must have
  hardware FMA (x86-64-v3 / AVX2 machines and later, every AArch64); elsewhere LLVM would
  call the libm `fma` and the loop would not vectorize.
- `poly(x, coeffs)`: Horner's scheme with `fma`, unrolled at compile time over a constant tuple.
- `fdiv(a, b)`: an IEEE division with no zero-division check, whatever the caller's
  `error_model` (Numba's default 'python' model inserts a branch that blocks vectorization).
- `sel(c, a, b)`: an LLVM `select`; branch-free special cases are written with it.
- `add_x`, `sub_x`: additions whose exact rounding error the caller recovers (Fast2Sum). They
  carry the `contract` flag, so Numba's fastmath rewrite (which only flags instructions that
  have none) leaves them without `reassoc`/`nsz`, and LLVM cannot fold `x - ((1 + x) - 1)`
  to 0 even when the caller compiled with `fastmath=True`.
- `as_int`, `as_float`: bit casts float32<->int32, float64<->int64 (`builder.bitcast`).
- `pow2(n)`: 2**n for an integer-valued float n in the normal exponent range, built from bits.
- `log_k(x)`, `log_m(x)`: for a positive normal x, k (as a float) and m with x = 2**k * m and
  m in [sqrt(2)/2, sqrt(2)): the exponent/mantissa split of the log family.
- `signbit(x)`: the sign bit, as a bool (True for -0.0 and negative NaNs).

Intrinsics type strictly (all float operands of one dtype) so that an accidental float64
constant in float32 code is a compile error, not a silent halving of the SIMD width.

`consts(F)` holds the dtype-dependent numbers (bit layout, ln2 split, thresholds, the minimax
coefficients fitted by tools/vmath_fit.py) as NumPy scalars of dtype F, and the NaN each function
returns for an input outside its domain (`NAN_LOG` ...): the NaN that NumPy gives for it here,
sign bit included. That sign is not IEEE's to say and differs between NumPy's loops (by dtype,
by SIMD level, by C library: float64 `log(-1)` is +nan on some x86 machines, -nan on others),
so `domain_nans(F)` asks NumPy once, and `vmath_version()` includes the answer.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["fma", "rint", "fabs", "copysign", "sqrt", "fdiv", "sel", "add_x", "sub_x", "poly",
           "as_int", "as_float", "pow2", "log_k", "log_m", "signbit", "consts", "domain_nans"]


def _is_float(t) -> bool:
    return isinstance(t, types.Float)


def _llvm_math(builder, name: str, ty, nargs: int):
    suffix = "f32" if ty == ir.FloatType() else "f64"
    fnty = ir.FunctionType(ty, [ty] * nargs)
    return cgutils.get_or_insert_function(builder.module, fnty, f"llvm.{name}.{suffix}")


def _layout(t):
    """(integer bits, mantissa bits, exponent bias) of a float type."""
    return (32, 23, 127) if t.bitwidth == 32 else (64, 52, 1023)


def _unary_llvm(name: str):
    def typer(typingctx, x):
        if not _is_float(x):
            return None

        def codegen(context, builder, sig, args):
            fn = _llvm_math(builder, name, context.get_value_type(x), 1)
            return builder.call(fn, args)
        return x(x), codegen
    typer.__name__ = name
    return intrinsic(typer)


rint = _unary_llvm("rint")
fabs = _unary_llvm("fabs")
sqrt = _unary_llvm("sqrt")


@intrinsic
def fma(typingctx, a, b, c):
    if not (_is_float(a) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        return builder.call(_llvm_math(builder, "fma", context.get_value_type(a), 3), args)
    return a(a, b, c), codegen


@intrinsic
def copysign(typingctx, a, b):
    if not (_is_float(a) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.call(_llvm_math(builder, "copysign", context.get_value_type(a), 2), args)
    return a(a, b), codegen


@intrinsic
def fdiv(typingctx, a, b):
    if not (_is_float(a) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.fdiv(args[0], args[1])
    return a(a, b), codegen


def _exact_binop(op: str):
    def typer(typingctx, a, b):
        if not (_is_float(a) and a == b):
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, op)(args[0], args[1], flags=("contract",))
        return a(a, b), codegen
    typer.__name__ = op + "_x"
    return intrinsic(typer)


add_x = _exact_binop("fadd")
sub_x = _exact_binop("fsub")


@intrinsic
def sel(typingctx, c, a, b):
    if not (isinstance(c, types.Boolean) and a == b):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(args[0], args[1], args[2])
    return a(c, a, b), codegen


@intrinsic
def poly(typingctx, x, coeffs):
    """c0 + x*(c1 + x*(c2 + ...)), each step one fma."""
    if not (_is_float(x) and isinstance(coeffs, types.UniTuple) and coeffs.dtype == x):
        return None
    n = coeffs.count

    def codegen(context, builder, sig, args):
        xv, tup = args
        fn = _llvm_math(builder, "fma", context.get_value_type(x), 3)
        acc = builder.extract_value(tup, n - 1)
        for k in range(n - 2, -1, -1):
            acc = builder.call(fn, [acc, xv, builder.extract_value(tup, k)])
        return acc
    return x(x, coeffs), codegen


@intrinsic
def as_int(typingctx, x):
    if not _is_float(x):
        return None
    ity = types.int32 if x.bitwidth == 32 else types.int64

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(x.bitwidth))
    return ity(x), codegen


@intrinsic
def as_float(typingctx, i):
    if not (isinstance(i, types.Integer) and i.bitwidth in (32, 64)):
        return None
    fty = types.float32 if i.bitwidth == 32 else types.float64

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], context.get_value_type(fty))
    return fty(i), codegen


@intrinsic
def signbit(typingctx, x):
    if not _is_float(x):
        return None

    def codegen(context, builder, sig, args):
        ity = ir.IntType(x.bitwidth)
        bits = builder.bitcast(args[0], ity)
        return builder.icmp_signed("<", bits, ir.Constant(ity, 0))
    return types.boolean(x), codegen


@intrinsic
def pow2(typingctx, n):
    """2**n for integer-valued n with 1 - bias <= n <= bias (a normal float): no range check,
    the callers clamp."""
    if not _is_float(n):
        return None
    bits, mant, bias = _layout(n)

    def codegen(context, builder, sig, args):
        ity = ir.IntType(bits)
        i = builder.fptosi(args[0], ity)
        i = builder.add(i, ir.Constant(ity, bias))
        i = builder.shl(i, ir.Constant(ity, mant))
        return builder.bitcast(i, context.get_value_type(n))
    return n(n), codegen


def _sqrt_half_bits(bits: int) -> int:
    """The bit pattern of sqrt(2)/2 rounded down in the float of `bits` bits."""
    if bits == 32:
        return int(np.array(math.sqrt(0.5), np.float32).view(np.int32))
    return int(np.array(math.sqrt(0.5), np.float64).view(np.int64))


def _log_split(typingctx, x, want_k: bool):
    if not _is_float(x):
        return None
    bits, mant, _ = _layout(x)
    off = _sqrt_half_bits(bits)
    mask = -(1 << mant)  # the sign and exponent bits

    def codegen(context, builder, sig, args):
        ity = ir.IntType(bits)
        ix = builder.bitcast(args[0], ity)
        tmp = builder.sub(ix, ir.Constant(ity, off))  # exponent of x / (sqrt(2)/2)
        if want_k:
            k = builder.ashr(tmp, ir.Constant(ity, mant))
            return builder.sitofp(k, context.get_value_type(x))
        im = builder.sub(ix, builder.and_(tmp, ir.Constant(ity, mask)))
        return builder.bitcast(im, context.get_value_type(x))
    return x(x), codegen


@intrinsic
def log_k(typingctx, x):
    return _log_split(typingctx, x, True)


@intrinsic
def log_m(typingctx, x):
    return _log_split(typingctx, x, False)


# ---------------------------------------------------------------------------------------------
# Minimax coefficients (relative-error Remez fits, tools/vmath_fit.py), lowest order first.
# EXPM1: expm1(r) = r + r^2 * P(r),            |r| <= 0.347 (ln2/2 plus rounding slack)
# LOG:   log1p(f) = f - hf + s*(hf + z*P(z)),  s = f/(2+f), z = s^2 <= 0.0295, hf = f*f/2
# SIN:   sin(r) = r + r^3 * P(r^2),            |r| <= pi/4 (+0.02%)
# COS:   cos(r) = 1 - r^2/2 + r^4 * P(r^2),    |r| <= pi/4 (+0.02%)
# ATAN:  atan(t) = t + t^3 * P(t^2),           |t| <= 7/16
# TAN:   tan(r) = r + r^3 * P(r^2),            |r| <= pi/4 (+0.02%)
# TANH:  tanh(x) = x + x^3 * P(x^2),           |x| <= 0.625
# ASIN:  asin(t) = t + t^3 * P(t^2),           |t| <= 1/2
# ERF:   erf(t) = t + t * P(t^2),              |t| < 1
# ERFC:  erfc(t) = exp(-t^2)/(1 + 2t) * P(y),  y = (t - ERFC_K)/(t + ERFC_K), t >= 0 (special.py)
_COEFFS = {
    "EXPM1": {
        np.float32: (0.5, 0.1666666567325592, 0.04166635870933533, 0.008333389647305012,
                     0.001394074410200119, 0.00019845884526148438),
        np.float64: (0.5, 0.16666666666666677, 0.041666666666666505, 0.008333333333321586,
                     0.0013888888888963042, 0.00019841269886269758, 2.4801587171652485e-05,
                     2.7557244035254343e-06, 2.755740302781709e-07, 2.5109107558965798e-08,
                     2.0875324555613657e-09),
    },
    "LOG": {
        np.float32: (0.6666677594184875, 0.3997756838798523, 0.29871076345443726),
        np.float64: (0.6666666666666734, 0.3999999999941603, 0.2857142874209955,
                     0.22222198601392126, 0.18183562930859298, 0.15314084468265982,
                     0.14795627694090296),
    },
    "SIN": {
        np.float32: (-0.16666655242443085, 0.008332159370183945, -0.00019515152962412685),
        np.float64: (-0.1666666666666663, 0.008333333333322096, -0.0001984126982957078,
                     2.7557313614642917e-06, -2.5050746672442843e-08, 1.5896165047169772e-10),
    },
    "COS": {
        np.float32: (0.04166664555668831, -0.0013887315290048718, 2.443300763843581e-05),
        np.float64: (0.041666666666666595, -0.0013888888888873023, 2.4801587288830948e-05,
                     -2.7557314173141685e-07, 2.0875699984713885e-09, -1.1358491108631095e-11),
    },
    "ATAN": {
        np.float32: (-0.3333330452442169, 0.19997736811637878, -0.14229552447795868,
                     0.10490602999925613, -0.058186162263154984),
        np.float64: (-0.3333333333333292, 0.19999999999873447, -0.14285714272240088,
                     0.11111110394060951, -0.0909088684875877, 0.07691871799423156,
                     -0.06661029499339066, 0.05833293070268496, -0.04975787299701889,
                     0.036507334204523456, -0.016262577705401914),
    },
    "TAN": {
        np.float32: (0.33333349227905273, 0.13332661986351013, 0.05406014993786812,
                     0.021280953660607338, 0.01083910372108221, 8.525305020157248e-05,
                     0.004378440789878368),
        np.float64: (0.33333333333332776, 0.13333333333414785, 0.05396825392659096,
                     0.0218694896108631, 0.00886321913765988, 0.0035922893229271336,
                     0.0014547564538844374, 0.0005950712429986356, 0.0002223603020698336,
                     0.0001365662729838696, -2.644417425184743e-05, 8.950609819332044e-05,
                     -4.4905792287805354e-05, 2.0870335299050645e-05),
    },
    "TANH": {
        np.float32: (-0.3333328068256378, 0.13331441581249237, -0.05373971536755562,
                     0.02063908986747265, -0.005704989191144705),
        np.float64: (-0.33333333333332854, 0.1333333333326209, -0.053968253931267016,
                     0.021869487576084045, -0.008863221002536262, 0.0035919891732932203,
                     -0.0014549588761664646, 0.0005863165364079631, -0.0002285642062323785,
                     7.714436374355568e-05, -1.6072569268857874e-05),
    },
    "ASIN": {
        np.float32: (0.16666752099990845, 0.07495295256376266, 0.04547068476676941,
                     0.02417786419391632, 0.04216930270195007),
        np.float64: (0.1666666666666676, 0.07499999999970756, 0.04464285717465537,
                     0.03038194270561377, 0.022372215051054523, 0.01735161083499978,
                     0.013980835141803009, 0.011398789059186558, 0.010780963974570974,
                     0.0037036445394987034, 0.021714359347900634, -0.021009104318451634,
                     0.032635063366623224),
    },
    "ERF": {
        np.float32: (0.12837916612625122, -0.3761262595653534, 0.1128358542919159,
                     -0.026853810995817184, 0.005188326351344585, -0.0008010183810256422,
                     7.853832357795909e-05),
        np.float64: (0.12837916709551256, -0.3761263890318352, 0.11283791670944181,
                     -0.026866170643111104, 0.0052239776061162495, -0.0008548325929229769,
                     0.00012055293574796183, -1.4924712267372952e-05, 1.6447131196627278e-06,
                     -1.6206311198599833e-07, 1.3710970380844909e-08, -7.779451380582742e-10),
    },
    "ERFC": {
        np.float32: (1.2375125885009766, -0.1402406543493271, 0.003585541620850563,
                     0.08227845281362534, -0.10880579799413681, 0.09229058772325516,
                     -0.058682881295681, 0.028409704566001892, -0.009775200858712196,
                     0.001675435807555914, 0.00033483956940472126, -0.00022393622202798724,
                     2.04540974664269e-05),
        np.float64: (1.2375126308378275, -0.14024059858554697, 0.003585415485464774,
                     0.08227673849014676, -0.10880393014176584, 0.0923043211603363,
                     -0.05869339858931066, 0.028362277419458515, -0.009746579561252428,
                     0.001755625849501392, 0.00029371368432703164, -0.00029015406654854065,
                     5.1649030033703775e-05, 2.2384202158974617e-05, -1.1443980006066551e-05,
                     -9.73495851385721e-07, 1.7513704366347739e-06, -5.729044597913236e-08,
                     -2.5838523649975114e-07, 2.331459442303402e-08, 3.848514936491331e-08,
                     -3.764794519491309e-09, -5.100720988073467e-09, 3.147473396626838e-10,
                     4.1280967786844424e-10),
    },
}


def _split(value, F, parts: int) -> tuple:
    """`value` (a float or an exact Fraction) as a sum of `parts` floats of dtype F, each the
    rounding of what is left."""
    from fractions import Fraction
    exact = Fraction(value) if not isinstance(value, Fraction) else value
    out = []
    for _ in range(parts):
        p = F(float(exact))
        out.append(p)
        exact -= Fraction(float(p))
    return tuple(out)


# pi to 84 digits (~279 bits), as an exact fraction, for the Cody-Waite splits of pi/2 (the
# float64 one takes 4 x 53 bits).
_PI_STR = "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899863"


def _pi_fraction():
    from fractions import Fraction
    return Fraction(_PI_STR)


def _atan_fraction(c: float):
    """atan(c) to ~60 digits as a Fraction (the series of atan(1/m) with Machin's formula would
    do as well; mpmath is not a runtime dependency, so sum the Euler series exactly)."""
    from fractions import Fraction
    x = Fraction(c)
    # Euler: atan(x) = sum_n 2^(2n) (n!)^2 / (2n+1)! * x^(2n+1) / (1+x^2)^(n+1)
    y = x * x / (1 + x * x)
    term = x / (1 + x * x)
    total = term
    for n in range(1, 400):
        term = term * y * Fraction(2 * n, 2 * n + 1)
        total += term
        if term < Fraction(1, 10 ** 70):
            break
    return total


# function -> (NumPy's name, inputs below its domain, inputs above it): each side gets the NaN
# NumPy returns there (atanh(-2) and atanh(2) might differ), as the constant NAN_<NAME>[_LO|_HI]
DOMAIN_PROBES: dict[str, tuple[str, float | None, float | None]] = {
    "log": ("log", -1.5, None),
    "log2": ("log2", -1.5, None),
    "log10": ("log10", -1.5, None),
    "log1p": ("log1p", -2.5, None),
    "acosh": ("arccosh", 0.5, None),
    "atanh": ("arctanh", -2.5, 2.5),
    "asin": ("arcsin", -2.5, 2.5),
    "acos": ("arccos", -2.5, 2.5),
}
_DOMAIN_NANS: dict = {}


def domain_nans(F) -> dict[str, object]:
    """`NAN_LOG`, `NAN_ATANH_LO`, `NAN_ATANH_HI` ...: the NaN (a NumPy scalar of dtype F, with
    the sign NumPy gives) that each function of DOMAIN_PROBES returns outside its domain."""
    if F in _DOMAIN_NANS:
        return _DOMAIN_NANS[F]
    out = {}
    for name, (np_name, below, above) in DOMAIN_PROBES.items():
        for side, x in (("_LO", below), ("_HI", above)):
            if x is None:
                continue
            with np.errstate(invalid="ignore"):  # an array long enough for NumPy's SIMD loop
                r = getattr(np, np_name)(np.full(64, x, dtype=F))
            negative = bool(np.signbit(r[0])) if np.isnan(r[0]) else False
            key = f"NAN_{name.upper()}" + (side if below is not None and above is not None else "")
            out[key] = F(-np.nan) if negative else F(np.nan)
    _DOMAIN_NANS[F] = out
    return out


_CONSTS: dict = {}


def consts(F) -> dict:
    """The constants of dtype F (np.float32 or np.float64), by name, as NumPy scalars."""
    if F in _CONSTS:
        return _CONSTS[F]
    from fractions import Fraction
    f32 = F is np.float32
    pi = _pi_fraction()
    ln2 = Fraction("0.69314718055994530941723212145817656807550013436025525412068000949339362")
    ln10 = Fraction("2.30258509299404568401799145468436420760110148862877297603332790096757260967")
    k: dict = {}
    k["ONE"], k["HALF"], k["TWO"], k["ZERO"] = F(1), F(0.5), F(2), F(0)
    k["INF"], k["NAN"] = F(np.inf), F(np.nan)
    k.update(domain_nans(F))
    k["MIN_NORMAL"] = F(np.finfo(F).tiny)
    k["SCALE_UP"] = F(2.0 ** (25 if f32 else 54))     # lifts a denormal into the normal range
    k["SCALE_UP_K"] = F(25 if f32 else 54)
    k["LOG2E"] = F(1 / math.log(2))
    k["LN2_HI"], k["LN2_LO"] = _split(ln2, F, 2)
    k["LN2"] = k["LN2_HI"]
    k["INVLN2_HI"], k["INVLN2_LO"] = _split(1 / ln2, F, 2)
    k["INVLN10_HI"], k["INVLN10_LO"] = _split(1 / ln10, F, 2)
    k["LOG10_2_HI"], k["LOG10_2_LO"] = _split(ln2 / ln10, F, 2)
    # exp: inputs are clamped to [EXP_LO, EXP_HI]: exp underflows to 0 below and overflows to
    # inf above, and n = rint(x/ln2) stays where pow2(n/2) and pow2(n - n/2) are normal.
    k["EXP_LO"], k["EXP_HI"] = (F(-104.0), F(89.0)) if f32 else (F(-746.0), F(710.0))
    # expm1: below EXPM1_LO the result is -1 in this precision; pow2(n - 1) must stay normal.
    k["EXPM1_LO"] = F(-80.0) if f32 else F(-700.0)
    # |x| below TINY_*: the function equals x (or its first term) in this precision.
    k["TINY_EXPM1"] = F(2.0 ** (-25 if f32 else -54))
    k["TINY_SIN"] = F(2.0 ** (-12 if f32 else -27))
    # tanh(x) rounds to +-1 above TANH_HI; sinh/cosh switch to exp(|x|)/2 above HYP_HI.
    k["TANH_HI"] = F(10.0) if f32 else F(20.0)
    k["HYP_HI"] = F(9.5) if f32 else F(19.5)
    k["HYP_MAX"] = F(90.0) if f32 else F(711.0)
    k["TWO_OVER_PI"] = F(float(2 / pi))
    k["PIO2_1"], k["PIO2_2"], k["PIO2_3"], k["PIO2_4"] = _split(pi / 2, F, 4)
    k["PI_HI"], k["PI_LO"] = _split(pi, F, 2)
    k["PIO2_HI"], k["PIO2_LO"] = _split(pi / 2, F, 2)
    # atan: |x| split at 7/16, 11/16, 19/16, 39/16; atan(x) = atan(c) + atan((x-c)/(1+c*x))
    k["ATAN_C"] = tuple(F(c) for c in (0.5, 1.0, 1.5))
    for i, c in enumerate((0.5, 1.0, 1.5)):
        k[f"ATAN_C{i}_HI"], k[f"ATAN_C{i}_LO"] = _split(_atan_fraction(c), F, 2)
    k["TANH_SMALL"] = F(0.625)
    # asinh/acosh: log(2x) above BIG_HYP (1/x below an ulp of the result, x*x finite)
    k["BIG_HYP"] = F(2.0 ** (30 if f32 else 60))
    # erf/erfc (special.py): Shepherd-Laframboise's K; erfc is 0 in the dtype from ERFC_ZERO_AT
    # on; ERFC_HIGH_BITS keeps the top half of the mantissa (so th*th is exact)
    k["ERFC_K"] = F(3.75)
    k["ERFC_ZERO_AT"] = F(11.0) if f32 else F(28.0)
    k["ERFC_HIGH_BITS"] = np.int32(-(1 << 12)) if f32 else np.int64(-(1 << 27))
    for name, table in _COEFFS.items():
        k[name] = tuple(F(c) for c in table[F])
    _CONSTS[F] = k
    return k
