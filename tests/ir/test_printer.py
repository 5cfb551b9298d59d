"""Golden tests of the IR text: hand-built graphs and the exact text they print as."""

import numpy as np

from ir_testlib import (
    Builder, big_constant_graph, constants_graph, gelu_graph, reduction_graph, weak_scalar_graph,
)
from tracefuse.ir import Literal, OpCode, print_graph
from tracefuse.ir import dtypes as dt
from tracefuse.ir.printer import format_attr, format_float

G = OpCode


def test_gelu_chain_with_locations():
    assert print_graph(gelu_graph()) == """\
func @gelu(%0: f32[1024]) -> (f32[1024]) {
  %1: f32[1024] = multiply %0, %0                         # gelu.py:5
  %2: f32[1024] = multiply %1, %0                         # gelu.py:5
  %3: f64[]{weak} = constant {value=dense<0.044715>, weak=true}  # gelu.py:6
  %4: f32[1024] = multiply %3, %2                         # gelu.py:6
  %5: f32[1024] = add %0, %4                              # gelu.py:6
  %6: f64[]{weak} = constant {value=dense<0.7978845608028654>, weak=true}  # gelu.py:7
  %7: f32[1024] = multiply %6, %5                         # gelu.py:7
  %8: f32[1024] = tanh %7                                 # gelu.py:7
  %9: f64[]{weak} = constant {value=dense<1.0>, weak=true}  # gelu.py:8
  %10: f32[1024] = add %8, %9                             # gelu.py:8
  %11: f64[]{weak} = constant {value=dense<0.5>, weak=true}  # gelu.py:8
  %12: f32[1024] = multiply %0, %11                       # gelu.py:8
  %13: f32[1024] = multiply %12, %10                      # gelu.py:8
  return %13
}
"""


def test_reduction_attrs():
    assert print_graph(reduction_graph()) == """\
func @softmax_parts(%0: f64[8,16]) -> (f64[8], i64[]) {
  %1: f64[8,1] = reduce_max %0 {axes=(1,), keepdims=true}  # model.py:3
  %2: f64[8,16] = subtract %0, %1
  %3: f64[8,16] = exp %2
  %4: f64[8] = reduce_sum %3 {axes=(1,), keepdims=false}
  %5: i64[] = argmax %0 {axis=none, keepdims=false}
  return %4, %5
}
"""


def test_weak_scalar_inputs():
    assert print_graph(weak_scalar_graph()) == """\
func @scale(%0: i8[2,3], %1: f64[]{weak}, %2: i64[]{weak}) -> (f64[2,3], i8[2,3], f64[]{weak}) {
  %3: f64[2,3] = multiply %0, %1
  %4: i8[2,3] = add %0, %2
  %5: f64[]{weak} = multiply %1, %2
  return %3, %4, %5
}
"""


def test_constants_nan_negative_zero_inf_and_sources():
    assert print_graph(constants_graph()) == """\
func @consts(%0: f32[4]) -> (f16[4], f64[], bool[1,2], u8[2,0], i32[3]) {
  %1: f32[4] = constant {value=dense<[nan, -0.0, inf, -inf]>}
  %2: f64[] = constant {value=dense<0.30000000000000004>}
  %3: bool[1,2] = constant {value=dense<[[true, false]]>}
  %4: u8[2,0] = full {dtype=u8, shape=(2, 0), value=255}
  %5: i32[3] = iota {axis=0, dtype=i32, shape=(3,)}
  %6: f32[4] = add %0, %1
  %7: f16[4] = cast %6 {dtype=f16}
  return %7, %2, %3, %4, %5
}
"""


_HEX_0_TO_64 = "".join(f"{i:02x}" for i in range(65))


def test_large_constant_prints_as_little_endian_hex():
    assert print_graph(big_constant_graph()) == f"""\
func @big(%0: u8[5,13]) -> (u8[5,13]) {{
  %1: u8[5,13] = constant {{value=dense<0x{_HEX_0_TO_64}>}}
  %2: u8[5,13] = add %0, %1
  return %2
}}
"""
    assert _HEX_0_TO_64.startswith("000102") and _HEX_0_TO_64.endswith("3f40")


def test_elided_constants():
    assert print_graph(big_constant_graph(), elide_constants=True) == """\
func @big(%0: u8[5,13]) -> (u8[5,13]) {
  %1: u8[5,13] = constant {value=dense<elided 65 elements>}
  %2: u8[5,13] = add %0, %1
  return %2
}
"""
    # small constants are printed in full even when eliding
    assert "dense<[nan, -0.0, inf, -inf]>" in print_graph(constants_graph(), elide_constants=True)


def test_hex_is_little_endian_for_multibyte_dtypes():
    b = Builder("le")
    c = b.const(np.full(65, 0x0102, dtype=np.int16))
    assert "dense<0x" + "0201" * 65 + ">" in print_graph(b.graph(c))


def test_empty_and_zero_d_shapes_and_no_outputs():
    b = Builder("shapes")
    b.input((), dt.bool_)
    b.input((0,), dt.uint64)
    b.input((3, 0, 2), dt.int32)
    assert print_graph(b.graph()) == (
        "func @shapes(%0: bool[], %1: u64[0], %2: i32[3,0,2]) -> () {\n  return \n}\n"
    )


def test_function_name_is_sanitized():
    b = Builder("<lambda>")
    x = b.input((1,))
    assert print_graph(b.graph(x)).startswith("func @_lambda_(%0: f32[1]) -> (f32[1]) {")


def test_attr_value_formats():
    assert format_attr(None) == "none"
    assert format_attr(True) == "true" and format_attr(np.bool_(False)) == "false"
    assert format_attr(-3) == "-3" and format_attr(np.int64(2**40)) == str(2**40)
    assert format_attr(()) == "()" and format_attr((3,)) == "(3,)"
    assert format_attr((1, (2, None))) == "(1, (2, none))"
    assert format_attr(dt.float32) == "f32" and format_attr(dt.bool_) == "bool"
    assert format_attr('a "q"\n') == '"a \\"q\\"\\n"'
    assert format_attr(Literal(np.array(7, np.uint8))) == "dense<7>"
    assert format_attr(Literal(np.zeros((2, 0)))) == "dense<[[], []]>"


def test_floats_print_exactly():
    assert format_float(float("nan")) == "nan"
    assert format_float(-float("nan")) == "-nan"  # the sign bit of a NaN is kept
    assert format_float(float("inf")) == "inf" and format_float(-float("inf")) == "-inf"
    assert format_float(-0.0) == "-0.0"
    assert format_float(0.1) == "0.1"
    assert format_float(np.float32(0.1)) == "0.10000000149011612"
    assert format_float(1e300) == "1e+300" and format_float(5e-324) == "5e-324"
    for x in (0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308, -123456.789e-20):
        assert float(format_float(x)) == x
