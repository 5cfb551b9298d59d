"""complex64 and complex128: promotion (the standard's table, NumPy 2 and NEP 50 for Python
complex scalars), result_type, can_cast, isdtype, finfo, astype, asarray and the creation
functions, the IR text of complex constants, and the signature cache key of complex inputs."""

import itertools

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.ir import dtypes as dt
from tracefuse.ir import parse_graph, print_graph

C64, C128 = tx.complex64, tx.complex128
REAL = (tx.bool, tx.int8, tx.int16, tx.int32, tx.int64, tx.uint8, tx.uint16, tx.uint32,
        tx.uint64, tx.float32, tx.float64)


def test_names_and_properties():
    assert C64 == np.complex64 and C128 == np.complex128
    assert C64.short == "c64" and C128.short == "c128"
    assert C64.is_complex and C64.is_inexact and C64.is_numeric and not C64.is_float
    assert dt.real_dtype(C64) == tx.float32 and dt.real_dtype(C128) == tx.float64
    assert dt.as_dtype(complex) is C128 and dt.as_dtype("complex64") is C64
    assert "complex64" in tx.__all__ and "complex128" in tx.__all__


def test_the_standards_promotion_table():
    assert tx.result_type(C64, C64) == C64
    assert tx.result_type(C64, C128) == C128
    assert tx.result_type(C64, tx.float32) == C64
    assert tx.result_type(C64, tx.float64) == C128  # the standard: complex64 with float64
    assert tx.result_type(C128, tx.float32) == C128


@pytest.mark.parametrize("a, b", list(itertools.product(REAL + (C64, C128), (C64, C128))))
def test_strong_promotion_is_numpys(a, b):
    assert tx.result_type(a, b) == np.result_type(a.np, b.np)
    assert tx.result_type(b, a) == np.result_type(a.np, b.np)


@pytest.mark.parametrize("d", REAL + (C64, C128))
def test_python_complex_is_weak(d):
    """NEP 50: float32 * 1j is complex64; ints and bool with 1j give complex128."""
    want = np.result_type(np.ones(1, d.np) * 1j)
    assert tx.result_type(d, 1j) == want
    assert tx.result_type(1j, d) == want
    x = tx.ones((2,), dtype=d)
    assert (x * 1j).dtype == want and (1j + x).dtype == want


def test_weak_real_scalars_keep_complex64():
    x = tx.ones((2,), dtype=C64)
    assert (x * 2).dtype == C64 and (x + 2.5).dtype == C64 and (x / True).dtype == C64
    assert tx.result_type(1j, 2.0) == C128


def test_can_cast():
    assert tx.can_cast(tx.float32, C64) and tx.can_cast(tx.float64, C128)
    assert tx.can_cast(C64, C128) and not tx.can_cast(C128, C64)
    assert not tx.can_cast(C64, tx.float64) and not tx.can_cast(tx.float64, C64)
    assert tx.can_cast(tx.int16, C64) and not tx.can_cast(tx.int64, C64)


def test_isdtype():
    assert tx.isdtype(C64, "complex floating") and tx.isdtype(C128, "complex floating")
    assert not tx.isdtype(tx.float64, "complex floating")
    assert not tx.isdtype(C64, "real floating") and tx.isdtype(C64, "numeric")
    assert tx.isdtype(C128, ("integral", "complex floating"))


def test_finfo_is_the_real_parts():
    assert tx.finfo(C64).eps == np.finfo(np.float32).eps
    assert tx.finfo(C128).max == np.finfo(np.float64).max
    assert tx.finfo(C64).dtype == np.float32


def test_astype():
    z = tx.asarray(np.array([1.5 - 2j, 0j, -0.0 + 1j], np.complex64))
    assert tx.astype(z, C128).dtype == C128
    np.testing.assert_array_equal(tx.astype(z, tx.bool).numpy(), [True, False, True])
    np.testing.assert_array_equal(tx.astype(tx.asarray([True, False]), C64).numpy(), [1, 0])
    np.testing.assert_array_equal(tx.astype(tx.asarray([3, -1]), C128).numpy(), [3 + 0j, -1])
    # the standard: say which part becomes the real value (NumPy drops the imaginary part)
    for to in (tx.float32, tx.float64, tx.int32):
        with pytest.raises(tx.DTypeError, match=r"real\(x\)"):
            tx.astype(z, to)
    np.testing.assert_array_equal(tx.astype(tx.real(z), tx.float64).numpy(), [1.5, 0, -0.0])


def test_asarray_and_creation():
    assert tx.asarray(1j).dtype == C128
    assert tx.asarray([1, 2j]).dtype == C128
    a = np.array([1 + 1j], np.complex64)
    assert tx.asarray(a).dtype == C64
    assert tx.asarray([1.0, 2.0], dtype=C64).dtype == C64
    for make in (tx.zeros, tx.ones, tx.empty):
        assert make((2, 3), dtype=C64).dtype == C64
    assert tx.full((2,), 1 - 2j).dtype == C128
    np.testing.assert_array_equal(tx.full((2,), 1 - 2j).numpy(), [1 - 2j, 1 - 2j])
    assert tx.full((2,), 3, dtype=C64).dtype == C64
    assert tx.eye(2, dtype=C64).dtype == C64
    assert tx.zeros_like(tx.asarray(a)).dtype == C64
    np.testing.assert_array_equal(tx.linspace(0, 2j, 3).numpy(), np.linspace(0, 2j, 3))
    assert tx.constant(1 + 1j).dtype == C128


def test_complex_values_to_a_real_dtype_are_refused():
    for make in (lambda: tx.full((2,), 1j, dtype=tx.float32),
                 lambda: tx.asarray(1 + 1j, dtype=tx.float64),
                 lambda: tx.asarray(np.array([1j], np.complex64), dtype=tx.int32),
                 lambda: tx.full((2,), np.complex64(1j), dtype=tx.float32)):
        with pytest.raises(tx.DTypeError, match=r"tx.real\(.*test_complex_dtypes.py"):
            make()
    np.testing.assert_array_equal(tx.asarray([1j, 0j], dtype=tx.bool).numpy(), [True, False])


def test_creation_inside_a_function():
    @tx.function(backend="numpy")
    def f(x):
        return tx.full(x.shape, 0.5 + 1j, dtype=C64) * x + tx.zeros_like(x) + tx.eye(2, dtype=C64)

    x = np.array([[1 + 2j, 3 - 1j], [0.5j, -2]], np.complex64)
    np.testing.assert_allclose(f(x).numpy(), (0.5 + 1j) * x + np.eye(2), rtol=1e-6)
    assert f(x).dtype == C64


def _round_trip(text):
    graph = parse_graph(text)
    assert print_graph(graph) == text
    return graph


def test_ir_text_of_complex_constants_round_trips():
    @tx.function(backend="numpy")
    def f(z, w):
        special = np.array([complex(np.nan, -0.0), complex(-np.inf, 1e-300), 1.5 - 2j],
                           np.complex128)
        return tx.full((3,), complex(-0.0, np.inf)) * z + special + 1j * w + tx.real(z)

    z = np.array([1 + 1j, 2, 3j])
    text = f.get_concrete_function(z, np.float32(2)).ir("traced")
    assert "value=complex(-0.0, inf)" in text
    assert "complex(nan, -0.0)" in text and "complex(-inf, 1e-300)" in text
    assert ": c128[3]" in text
    graph = _round_trip(text)
    lit = [op.attrs["value"] for op in graph.ops if op.code.value == "constant"
           and op.attrs["value"].array.size == 3][0].array
    assert np.signbit(lit[0].imag) and np.isnan(lit[0].real)
    # the parsed graph computes what the traced one does
    from tracefuse.ir import numpy_impl
    with np.errstate(all="ignore"):  # inf * 0: the evaluator's callers silence it
        got = numpy_impl.evaluate_graph(graph, [z, np.asarray(np.float32(2))])[0]
    np.testing.assert_array_equal(got, f(z, np.float32(2)).numpy())


def test_ir_text_of_a_large_complex_constant_round_trips():
    @tx.function(backend="numpy")
    def f(z):
        return z + np.arange(100).astype(np.complex64) * (1 - 1j)

    cf = f.get_concrete_function(np.ones(100, np.complex64))
    assert "elided 100" in cf.ir("traced")
    text = cf.ir("traced", elide_constants=False)
    assert "dense<0x" in text
    graph = _round_trip(text)
    lit = [op.attrs["value"].array for op in graph.ops if op.code.value == "constant"][0]
    np.testing.assert_array_equal(lit, np.arange(100).astype(np.complex64) * (1 - 1j))


def test_parser_rejects_a_real_number_for_a_complex_element():
    text = ("func @f() -> (c64[2]) {\n"
            "  %0: c64[2] = constant {value=dense<[1.0, complex(0.0, 1.0)]>}\n"
            "  return %0\n}\n")
    with pytest.raises(tx.IRParseError, match="complex"):
        parse_graph(text)


def test_signature_key_tells_complex_inputs_apart():
    @tx.function(backend="numpy")
    def f(x):
        return x * 2

    f(np.ones(2, np.complex64))
    f(np.ones(2, np.complex64))
    assert f.trace_count == 1
    f(np.ones(2, np.complex128))
    f(1j)
    f(2j)  # a Python complex is weak, keyed by its type, not its value
    assert f.trace_count == 3
    assert f(1j).dtype == C128 and f(np.complex64(1j)).dtype == C64
