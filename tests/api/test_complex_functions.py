"""Every elementwise function the array API standard defines for complex numbers, on complex64
and complex128, against NumPy: eagerly, on the reference interpreter and gpu-sim (oracle
BACKENDS) and on the Numba `cpu` backend (all unary functions of one dtype in one compiled
function, so one Numba compile covers them). Inputs have random real and imaginary parts (never
zero) and the special values of the standard's tables: NaN and infinite parts, signed zeros,
the branch cuts approached from both sides.
"""

import itertools

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.ir.numpy_impl import expm1_complex, tanh_complex  # NumPy + the standard's cases
from tests.oracle import MODES, assert_same, check

CDTYPES = ("complex64", "complex128")

_PARTS = (0.0, -0.0, 1.0, -1.0, 2.5, -0.5, np.inf, -np.inf, np.nan)
SPECIAL = np.array([complex(a, b) for a, b in itertools.product(_PARTS, repeat=2)])


def crand(rng, shape, dtype, scale=2.0):
    """Random complex values, real and imaginary parts in [-scale, scale], never zero."""
    def part():
        v = rng.uniform(0.1, scale, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return v
    return (part() + 1j * part()).astype(dtype)


def inputs(rng, dtype):
    """Random values then the special ones, in one 1-D array."""
    return np.concatenate([crand(rng, (13,), dtype), SPECIAL.astype(dtype)])


# name -> (tx function, NumPy function)
UNARY = {
    "negative": (tx.negative, np.negative), "positive": (tx.positive, np.positive),
    "abs": (tx.abs, np.abs), "sign": (tx.sign, np.sign), "square": (tx.square, np.square),
    "sqrt": (tx.sqrt, np.sqrt), "reciprocal": (tx.reciprocal, np.reciprocal),
    "exp": (tx.exp, np.exp), "expm1": (tx.expm1, expm1_complex), "log": (tx.log, np.log),
    "log1p": (tx.log1p, np.log1p), "log2": (tx.log2, np.log2), "log10": (tx.log10, np.log10),
    "sin": (tx.sin, np.sin), "cos": (tx.cos, np.cos), "tan": (tx.tan, np.tan),
    "sinh": (tx.sinh, np.sinh), "cosh": (tx.cosh, np.cosh), "tanh": (tx.tanh, tanh_complex),
    "asin": (tx.asin, np.arcsin), "acos": (tx.acos, np.arccos), "atan": (tx.atan, np.arctan),
    "asinh": (tx.asinh, np.arcsinh), "acosh": (tx.acosh, np.arccosh),
    "atanh": (tx.atanh, np.arctanh),
    "real": (tx.real, np.real), "imag": (tx.imag, np.imag), "conj": (tx.conj, np.conj),
    "angle": (tx.angle, np.angle), "round": (tx.round, np.round),
    "isnan": (tx.isnan, np.isnan), "isinf": (tx.isinf, np.isinf),
    "isfinite": (tx.isfinite, np.isfinite),
}

BINARY = {
    "add": (tx.add, np.add), "subtract": (tx.subtract, np.subtract),
    "multiply": (tx.multiply, np.multiply), "divide": (tx.divide, np.divide),
    "pow": (tx.pow, np.power), "equal": (tx.equal, np.equal),
    "not_equal": (tx.not_equal, np.not_equal),
}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, dtype, rng):
    tx_fn, np_fn = UNARY[name]
    check(tx_fn, np_fn, inputs(rng, dtype))


@pytest.mark.parametrize("dtype", CDTYPES)
def test_unary_on_cpu_backend(dtype, rng):
    """All unary functions in one compiled function: one Numba compile per dtype."""
    xs = {name: inputs(rng, dtype) for name in UNARY}

    def every(xs):
        return {name: UNARY[name][0](x) for name, x in xs.items()}

    got = tx.function(every, backend="cpu")(xs)
    with np.errstate(all="ignore"):
        for name, x in xs.items():
            assert_same(got[name], UNARY[name][1](x), what=f"cpu {name}({dtype})")


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary(name, dtype, rng):
    tx_fn, np_fn = BINARY[name]
    a, b = crand(rng, (3, 5), dtype), crand(rng, (5,), dtype)
    check(tx_fn, np_fn, a, b)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_binary_on_cpu_backend(dtype, rng):
    a, b = crand(rng, (3, 5), dtype), crand(rng, (5,), dtype)
    # division by zero and by infinite parts: NumPy's Smith's algorithm, the standard's table
    a = np.concatenate([a.reshape(-1), SPECIAL.astype(dtype)])
    b = np.concatenate([b, b, b, SPECIAL[::-1].astype(dtype)])

    n = 15  # pow of special values: NumPy's own loop, not the standard's table: random only

    def every(a, b):
        return {name: fn(a, b) if name != "pow" else fn(a[:n], b[:n])
                for name, (fn, _) in BINARY.items()}

    got = tx.function(every, backend="cpu")(a, b)
    with np.errstate(all="ignore"):
        for name, (_, np_fn) in BINARY.items():
            want = np_fn(a, b) if name != "pow" else np_fn(a[:n], b[:n])
            assert_same(got[name], want, what=f"cpu {name}({dtype})")


@pytest.mark.parametrize("dtype", CDTYPES)
def test_pow_cases(dtype):
    """NumPy's npy_cpow: a zero base, zero and small integer exponents, and exp(b log a)."""
    inf = complex(np.inf, 1)
    a = np.array([0j, 0j, 0j, 0j, 1 + 2j, -2 + 0.5j, 3 - 1j, 1.5, -0.5 - 0.5j, inf, inf, inf,
                  complex(1e30, 1e30)], dtype)  # its square overflows complex64
    b = np.array([2, -1, 0.5j, 0, 3, -2, 0.3 + 0.7j, 0, 7, 1, 2, 3, 2], dtype)
    check(tx.pow, np.power, a, b, modes=MODES + ("cpu",))


@pytest.mark.parametrize("dtype", CDTYPES)
def test_divide_special_values(dtype):
    a = SPECIAL.astype(dtype)
    b = SPECIAL[::-1].astype(dtype)
    check(tx.divide, np.divide, a, b)


@pytest.mark.parametrize("scalar", [2, 1.5, 1j, -0.5 + 2j])
@pytest.mark.parametrize("dtype", CDTYPES)
def test_python_scalars_are_weak(scalar, dtype, rng):
    x = crand(rng, (4,), dtype)
    check(lambda a: tx.asarray(a) * scalar + scalar, lambda a: a * scalar + scalar, x)


@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "bool"))
def test_real_valued_operands_of_the_complex_functions(dtype, rng):
    x = (rng.uniform(-3, 3, size=(7,)) if dtype != "bool" else rng.random(7) < 0.5)
    x = x.astype(dtype)
    x[:2] = (-0.0, 0.0) if dtype.startswith("float") else x[:2]
    check(tx.real, np.real, x)
    check(tx.imag, np.imag, x)
    check(tx.angle, lambda v: np.angle(v).astype(np.float64 if dtype in ("int32", "bool")
                                                 else dtype), x)
    if dtype != "bool":
        check(tx.conj, np.conj, x)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_mixed_with_real_operands(dtype, rng):
    z = crand(rng, (2, 3), dtype)
    f = rng.uniform(-2, 2, size=(3,))
    check(lambda a, b: tx.asarray(a) * b + b, lambda a, b: a * b + b, z, f)
    check(lambda a, b: tx.asarray(a) / b, lambda a, b: a / b, z, f.astype(np.float32))
    check(lambda a, b: tx.where(tx.real(a) > 0, a, b), lambda a, b: np.where(a.real > 0, a, b),
          z, f)


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_reductions(dtype, axis, rng):
    x = crand(rng, (4, 5), dtype)
    check(lambda a: tx.sum(a, axis=axis), lambda a: np.sum(a, axis=axis), x,
          modes=MODES + ("cpu",))
    check(lambda a: tx.prod(a, axis=axis), lambda a: np.prod(a, axis=axis), x)
    check(lambda a: tx.mean(a, axis=axis), lambda a: np.mean(a, axis=axis), x)
    check(lambda a: tx.var(a, axis=axis), lambda a: np.var(a, axis=axis), x)
    check(lambda a: tx.std(a, axis=axis, correction=1),
          lambda a: np.std(a, axis=axis, ddof=1), x)
    check(lambda a: tx.any(a, axis=axis), lambda a: np.any(a, axis=axis), x)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_reductions_on_cpu_backend(dtype, rng):
    """The reductions of complex values in Numba kernels (one compiled function)."""
    x = crand(rng, (3, 70), dtype)
    fns = {"sum": (tx.sum, np.sum), "prod": (tx.prod, np.prod), "mean": (tx.mean, np.mean),
           "var": (tx.var, np.var), "any": (tx.any, np.any), "all": (tx.all, np.all)}

    def every(a):
        return {(n, ax): f(a, axis=ax) for n, (f, _) in fns.items() for ax in (None, 0, 1)}

    got = tx.function(every, backend="cpu")(x)
    for (n, ax), g in got.items():
        rtol = 1e-5 if dtype == "complex64" else 1e-12
        assert_same(g, fns[n][1](x, axis=ax), rtol=rtol, what=f"cpu {n}(axis={ax})")


@pytest.mark.parametrize("dtype", CDTYPES)
def test_empty_and_0d(dtype, rng):
    check(tx.exp, np.exp, np.zeros((0, 3), dtype))
    check(lambda a: tx.sum(a), np.sum, np.zeros((0,), dtype))
    check(tx.sqrt, np.sqrt, np.asarray(-4 + 0j, dtype))
    check(tx.abs, np.abs, np.asarray(3 - 4j, dtype))


@pytest.mark.parametrize("dtype", CDTYPES)
def test_matmul_and_vecdot(dtype, rng):
    a, b = crand(rng, (3, 4), dtype), crand(rng, (4, 2), dtype)
    check(tx.matmul, np.matmul, a, b, rtol=1e-5 if dtype == "complex64" else None)
    u, v = crand(rng, (2, 4), dtype), crand(rng, (4,), dtype)
    check(lambda p, q: tx.vecdot(p, q), lambda p, q: np.vecdot(p, q), u, v,
          rtol=1e-5 if dtype == "complex64" else None)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_movement_and_concat(dtype, rng):
    x = crand(rng, (2, 3), dtype)
    y = crand(rng, (2, 1), dtype)
    check(lambda a: tx.permute_dims(a, (1, 0)), lambda a: a.T, x)
    check(lambda a: tx.reshape(a, (3, 2)), lambda a: a.reshape(3, 2), x)
    check(lambda a: tx.asarray(a)[:, ::-1], lambda a: a[:, ::-1], x)
    check(lambda a: tx.flip(a, axis=0), lambda a: np.flip(a, axis=0), x)
    check(lambda a, b: tx.concat([a, b], axis=1), lambda a, b: np.concatenate([a, b], axis=1),
          x, y)
    check(lambda a: tx.broadcast_to(a, (4, 2, 3)), lambda a: np.broadcast_to(a, (4, 2, 3)), x)
    check(lambda a: tx.stack([a, a]), lambda a: np.stack([a, a]), x)
    check(lambda a: tx.expand_dims(a, axis=0), lambda a: a[None], x)


@pytest.mark.parametrize("op", [tx.less, tx.less_equal, tx.greater, tx.greater_equal,
                                tx.maximum, tx.minimum, tx.floor_divide, tx.remainder,
                                tx.atan2, tx.hypot, tx.logaddexp, tx.copysign])
def test_ordered_functions_refuse_complex(op):
    z = tx.asarray(np.array([1 + 1j, 2 - 1j], np.complex64))
    with pytest.raises(tx.DTypeError, match="complex"):
        op(z, z)


@pytest.mark.parametrize("fn", [tx.floor, tx.ceil, tx.trunc, tx.signbit, tx.max, tx.min,
                                tx.argmax, tx.argmin, tx.erf,
                                lambda z: tx.clip(z, 0, 1), lambda z: z < 1])
def test_ordered_functions_refuse_complex_one_operand(fn):
    z = tx.asarray(np.array([1 + 1j, 2 - 1j], np.complex128))
    with pytest.raises(tx.DTypeError, match="complex"):
        fn(z)


def test_comparison_error_inside_a_function_names_the_line():
    @tx.function(backend="numpy")
    def f(z):
        return z < z

    with pytest.raises(tx.DTypeError, match=r"test_complex_functions.py:\d+"):
        f(np.array([1j]))


@pytest.mark.parametrize("dtype", CDTYPES)
def test_simplify_keeps_complex_special_values(dtype):
    """x * 0, x - x, x ** 4 are not rewritten for complex x (they are not 0 and x*x*x*x at
    infinite and NaN parts): the compiled results stay NumPy's."""
    z = SPECIAL.astype(dtype)
    def f(a):
        t = tx.asarray(a)
        return t * 0 + (t - t)

    check(f, lambda a: a * 0 + (a - a), z)
    check(lambda a: tx.asarray(a) ** 4, lambda a: a ** 4, z)


def test_expm1_follows_the_standards_special_cases():
    """Where NumPy's expm1 gives NaN the array API standard names a value; ours give it on
    every backend (and +0 + 0j for -0 + 0j)."""
    inf, nan = np.inf, np.nan
    cases = [((-0.0, 0.0), (0.0, 0.0)), ((inf, 0.0), (inf, 0.0)), ((inf, -0.0), (inf, -0.0)),
             ((-inf, inf), (-1.0, 0.0)), ((-inf, nan), (-1.0, 0.0)), ((nan, 0.0), (nan, 0.0)),
             ((-inf, 1.0), (-1.0, 0.0)), ((inf, nan), (inf, nan)), ((inf, inf), (inf, nan)),
             ((2.0, inf), (nan, nan)), ((nan, 1.0), (nan, nan))]
    z = np.zeros(len(cases), np.complex128)
    z.real, z.imag = [a for (a, _), _ in cases], [b for (_, b), _ in cases]
    for mode in ("eager", "numpy", "cpu", "gpu-sim"):
        got = (tx.expm1(z) if mode == "eager" else tx.function(tx.expm1, backend=mode)(z)).numpy()
        for g, (arg, (re, im)) in zip(got, cases):
            for part, want in ((g.real, re), (g.imag, im)):
                ok = np.isnan(part) if np.isnan(want) else (
                    part == want and (want != 0 or np.signbit(part) == np.signbit(want)))
                assert ok, f"{mode}: expm1{arg} = {g}, the standard says {complex(re, im)}"


def test_special_cases_on_0d_arrays():
    """The standard's cases hold for a 0-d array too (NumPy returns scalars there)."""
    z = np.complex128(complex(np.inf, 2.0))
    assert str(tx.tanh(z).numpy()) == "(1+0j)"
    assert str(tx.expm1(np.complex128(complex(np.inf, 0.0))).numpy()) == "(inf+0j)"
    assert str(tx.expm1(np.complex64(complex(-0.0, 0.0))).numpy()) == "0j"
