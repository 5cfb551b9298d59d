"""fold-constants, text in and text out: ops on constants become constants with the exact bits
eager mode computes; fills stay fills however large; big or failing folds are left alone."""

import numpy as np
from passes_testlib import check_pass, count, ir, run_pass

from tracefuse.errors import UNKNOWN_LOC
from tracefuse.ir import Attrs, Graph, Literal, Op, OpCode, TensorType, Value, parse_graph, verify
from tracefuse.ir import dtypes as dt
from tracefuse.passes import fold_constants
from tracefuse.passes.fold import FOLD_MAX_ELEMENTS

G = OpCode


def test_weak_scalars_fold_to_a_weak_constant():
    check_pass(fold_constants, """
        func @f() -> (f64[]{weak}) {
          %0: f64[]{weak} = constant {value=dense<2.0>, weak=true}
          %1: f64[]{weak} = constant {value=dense<3.0>, weak=true}
          %2: f64[]{weak} = multiply %0, %1
          return %2
        }
    """, """
        func @f() -> (f64[]{weak}) {
          %0: f64[]{weak} = constant {value=dense<2.0>, weak=true}
          %1: f64[]{weak} = constant {value=dense<3.0>, weak=true}
          %2: f64[]{weak} = constant {value=dense<6.0>, weak=true}
          return %2
        }
    """)


def test_constant_times_python_scalar_keeps_the_strong_dtype_and_location():
    check_pass(fold_constants, """
        func @f(%x: f32[4]) -> (f32[4]) {
          %0: f32[] = constant {value=dense<2.0>}                  # model.py:3
          %1: f64[]{weak} = constant {value=dense<3.0>, weak=true} # model.py:3
          %2: f32[] = multiply %0, %1                              # model.py:3
          %3: f32[4] = multiply %x, %2                             # model.py:3
          return %3
        }
    """, """
        func @f(%0: f32[4]) -> (f32[4]) {
          %1: f32[] = constant {value=dense<2.0>}                 # model.py:3
          %2: f64[]{weak} = constant {value=dense<3.0>, weak=true}  # model.py:3
          %3: f32[] = constant {value=dense<6.0>}                 # model.py:3
          %4: f32[4] = multiply %0, %3                            # model.py:3
          return %4
        }
    """)


def test_a_large_fill_plus_a_scalar_is_one_full_not_a_literal():
    g = check_pass(fold_constants, """
        func @f() -> (f64[4096,4096]) {
          %0: f64[4096,4096] = full {dtype=f64, shape=(4096, 4096), value=0.0}
          %1: i64[]{weak} = constant {value=dense<1>, weak=true}
          %2: f64[4096,4096] = add %0, %1
          return %2
        }
    """, """
        func @f() -> (f64[4096,4096]) {
          %0: f64[4096,4096] = full {dtype=f64, shape=(4096, 4096), value=0.0}
          %1: i64[]{weak} = constant {value=dense<1>, weak=true}
          %2: f64[4096,4096] = full {dtype=f64, shape=(4096, 4096), value=1.0}
          return %2
        }
    """)
    assert all(op.attrs["value"].array.size == 1 for op in g.ops if op.code is G.CONSTANT)


def test_movement_of_a_fill_is_a_fill():
    check_pass(fold_constants, """
        func @f() -> (f32[2,3], f32[3,2], i32[6], i32[1,3]) {
          %0: f32[3] = full {dtype=f32, shape=(3,), value=0.5}
          %1: f32[2,3] = broadcast_to %0 {shape=(2, 3)}
          %2: f32[3,2] = permute_dims %1 {axes=(1, 0)}
          %3: i32[2,3] = full {dtype=i32, shape=(2, 3), value=7}
          %4: i32[6] = reshape %3 {shape=(6,)}
          %5: i32[1,3] = slice %3 {sizes=(1, 3), starts=(1, 0), steps=(1, 1)}
          return %1, %2, %4, %5
        }
    """, """
        func @f() -> (f32[2,3], f32[3,2], i32[6], i32[1,3]) {
          %0: f32[3] = full {dtype=f32, shape=(3,), value=0.5}
          %1: f32[2,3] = full {dtype=f32, shape=(2, 3), value=0.5}
          %2: f32[3,2] = full {dtype=f32, shape=(3, 2), value=0.5}
          %3: i32[2,3] = full {dtype=i32, shape=(2, 3), value=7}
          %4: i32[6] = full {dtype=i32, shape=(6,), value=7}
          %5: i32[1,3] = full {dtype=i32, shape=(1, 3), value=7}
          return %1, %2, %4, %5
        }
    """)


def test_folded_literals_are_exact():
    check_pass(fold_constants, """
        func @f() -> (i64[3], f64[], f32[], f32[], f64[], u8[]) {
          %0: i64[3] = constant {value=dense<[1, 2, 3]>}
          %1: i64[]{weak} = constant {value=dense<2>, weak=true}
          %2: i64[3] = multiply %0, %1
          %3: f64[] = constant {value=dense<0.1>}
          %4: f64[] = constant {value=dense<0.2>}
          %5: f64[] = add %3, %4
          %6: f32[] = constant {value=dense<0.0>}
          %7: f32[] = negative %6
          %8: f32[] = constant {value=dense<1.0>}
          %9: f32[] = divide %8, %6
          %10: f64[] = constant {value=dense<-1e+300>}
          %11: f64[] = multiply %10, %10
          %12: u8[] = constant {value=dense<200>}
          %13: u8[] = add %12, %12
          return %2, %5, %7, %9, %11, %13
        }
    """, """
        func @f() -> (i64[3], f64[], f32[], f32[], f64[], u8[]) {
          %0: i64[3] = constant {value=dense<[1, 2, 3]>}
          %1: i64[]{weak} = constant {value=dense<2>, weak=true}
          %2: i64[3] = constant {value=dense<[2, 4, 6]>}
          %3: f64[] = constant {value=dense<0.1>}
          %4: f64[] = constant {value=dense<0.2>}
          %5: f64[] = constant {value=dense<0.30000000000000004>}
          %6: f32[] = constant {value=dense<0.0>}
          %7: f32[] = constant {value=dense<-0.0>}
          %8: f32[] = constant {value=dense<1.0>}
          %9: f32[] = constant {value=dense<inf>}
          %10: f64[] = constant {value=dense<-1e+300>}
          %11: f64[] = constant {value=dense<inf>}
          %12: u8[] = constant {value=dense<200>}
          %13: u8[] = constant {value=dense<144>}
          return %2, %5, %7, %9, %11, %13
        }
    """)


def test_nan_keeps_the_bits_numpy_computes():
    g = run_pass(fold_constants, """
        func @f() -> (f32[]) {
          %0: f32[] = constant {value=dense<0.0>}
          %1: f32[] = divide %0, %0
          return %1
        }
    """)
    with np.errstate(all="ignore"):
        want = np.divide(np.float32(0), np.float32(0))
    (op,) = [op for op in g.ops if op.outputs == g.outputs]
    assert op.code is G.CONSTANT
    assert op.attrs["value"].array.tobytes() == np.asarray(want).tobytes()


def test_iota_folds_when_small():
    check_pass(fold_constants, """
        func @f() -> (i64[]) {
          %0: i64[4] = iota {axis=0, dtype=i64, shape=(4,)}
          %1: i64[] = reduce_sum %0 {axes=(0,), keepdims=false}
          return %1
        }
    """, """
        func @f() -> (i64[]) {
          %0: i64[4] = iota {axis=0, dtype=i64, shape=(4,)}
          %1: i64[] = constant {value=dense<6>}
          return %1
        }
    """)


def test_large_results_are_not_expanded_into_literals():
    n = FOLD_MAX_ELEMENTS + 1
    text = f"""
        func @f() -> (i64[{n}], i64[]) {{
          %0: i64[{n}] = iota {{axis=0, dtype=i64, shape=({n},)}}
          %1: i64[]{{weak}} = constant {{value=dense<2>, weak=true}}
          %2: i64[{n}] = multiply %0, %1
          %3: i64[] = reduce_sum %2 {{axes=(0,), keepdims=false}}
          return %2, %3
        }}
    """
    g = run_pass(fold_constants, text)
    assert count(g, "multiply") == 1  # 65 elements: left to run time
    assert count(g, "reduce_sum") == 1  # its operand is not a constant
    assert count(g, "constant") == 1


def test_ops_on_inputs_and_failing_ops_are_left():
    text = """
        func @f(%x: f32[3]) -> (f32[3], i32[], i8[]) {
          %0: f64[]{weak} = constant {value=dense<2.0>, weak=true}
          %1: f32[3] = multiply %x, %0
          %2: i32[] = constant {value=dense<2>}
          %3: i64[]{weak} = constant {value=dense<-1>, weak=true}
          %4: i32[] = pow %2, %3
          %5: i8[] = constant {value=dense<1>}
          %6: i64[]{weak} = constant {value=dense<1000>, weak=true}
          %7: i8[] = add %5, %6
          return %1, %4, %7
        }
    """
    g = run_pass(fold_constants, text)
    assert [op.code.value for op in g.ops] == [op.code.value for op in parse_graph(ir(text)).ops]
    # int ** -1 raises, and 1000 does not fit int8: eager mode raises too, so nothing is folded


def test_unchanged_graph_is_returned_as_is():
    g = verify(parse_graph(ir("""
        func @f(%x: f32[3]) -> (f32[3]) {
          %0: f32[3] = exp %x
          return %0
        }
    """)))
    assert fold_constants(g) is g


def test_ops_holding_a_graph_are_not_folded():
    body = Graph((), (), (), name="body")
    c = Value(TensorType((), dt.float32))
    out = Value(TensorType((), dt.float32))
    ops = (Op(G.CONSTANT, (), Attrs(value=Literal(np.float32(1.0))), (c,), UNKNOWN_LOC),
           Op(G.EXP, (c,), Attrs(body=body), (out,), UNKNOWN_LOC))
    g = verify(Graph((), ops, (out,)))
    assert fold_constants(g).ops[1].code is G.EXP
