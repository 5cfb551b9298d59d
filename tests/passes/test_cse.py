"""cse, text in and text out: repeated computations collapse to the first, constants merge
only when their bits are equal, and ops holding graphs are never merged."""

import numpy as np
from passes_testlib import check_pass, count, ir

from tracefuse.errors import UNKNOWN_LOC
from tracefuse.ir import (Attrs, Graph, Literal, Op, OpCode, TensorType, Value, parse_graph,
                          verify)
from tracefuse.ir import dtypes as dt
from tracefuse.passes import cse

G = OpCode


def test_exp_of_x_plus_exp_of_x_computes_exp_once():
    g = check_pass(cse, """
        func @f(%x: f32[4], %y: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], f32[4]) {
          %0: f32[4] = exp %x                          # m.py:1
          %1: f32[4] = exp %x                          # m.py:1
          %2: f32[4] = add %0, %1                      # m.py:1
          %3: f32[4] = multiply %x, %y
          %4: f32[4] = multiply %y, %x
          %5: f32[4] = subtract %x, %y
          %6: f32[4] = subtract %y, %x
          %7: f32[4] = add %3, %4
          %8: f32[4] = add %4, %3
          return %2, %7, %8, %5, %6
        }
    """, """
        func @f(%0: f32[4], %1: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], f32[4]) {
          %2: f32[4] = exp %0                                     # m.py:1
          %3: f32[4] = add %2, %2                                 # m.py:1
          %4: f32[4] = multiply %0, %1
          %5: f32[4] = subtract %0, %1
          %6: f32[4] = subtract %1, %0
          %7: f32[4] = add %4, %4
          return %3, %7, %7, %5, %6
        }
    """)
    assert count(g, "exp") == 1


def test_constants_merge_only_when_bit_for_bit_equal():
    check_pass(cse, """
        func @f() -> (f32[], f32[], f32[], f64[]{weak}, f64[], f32[3], f32[3], f32[3]) {
          %0: f32[] = constant {value=dense<0.0>}
          %1: f32[] = constant {value=dense<0.0>}
          %2: f32[] = constant {value=dense<-0.0>}
          %3: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %4: f64[] = constant {value=dense<1.0>}
          %5: f32[3] = full {dtype=f32, shape=(3,), value=0.0}
          %6: f32[3] = full {dtype=f32, shape=(3,), value=-0.0}
          %7: f32[3] = full {dtype=f32, shape=(3,), value=0.0}
          return %0, %1, %2, %3, %4, %5, %6, %7
        }
    """, """
        func @f() -> (f32[], f32[], f32[], f64[]{weak}, f64[], f32[3], f32[3], f32[3]) {
          %0: f32[] = constant {value=dense<0.0>}
          %1: f32[] = constant {value=dense<-0.0>}
          %2: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %3: f64[] = constant {value=dense<1.0>}
          %4: f32[3] = full {dtype=f32, shape=(3,), value=0.0}
          %5: f32[3] = full {dtype=f32, shape=(3,), value=-0.0}
          return %0, %0, %1, %2, %3, %4, %5, %4
        }
    """)


def test_nans_with_different_payloads_stay_apart():
    payload = np.array([0x7FC00000, 0x7FC00001, 0x7FC00000], np.uint32).view(np.float32)
    outs, ops = [], []
    for bits in payload:
        v = Value(TensorType((), dt.float32))
        ops.append(Op(G.CONSTANT, (), Attrs(value=Literal(np.asarray(bits))), (v,), UNKNOWN_LOC))
        outs.append(v)
    g = verify(cse(Graph((), tuple(ops), tuple(outs))))
    assert count(g, "constant") == 2
    assert g.outputs[0] is g.outputs[2] and g.outputs[1] is not g.outputs[0]


def test_attributes_must_agree():
    check_pass(cse, """
        func @f(%x: f32[2,3]) -> (f32[3], f32[2], f32[3], f32[1,3]) {
          %0: f32[3] = reduce_sum %x {axes=(0,), keepdims=false}
          %1: f32[2] = reduce_sum %x {axes=(1,), keepdims=false}
          %2: f32[3] = reduce_sum %x {axes=(0,), keepdims=false}
          %3: f32[1,3] = reduce_sum %x {axes=(0,), keepdims=true}
          return %0, %1, %2, %3
        }
    """, """
        func @f(%0: f32[2,3]) -> (f32[3], f32[2], f32[3], f32[1,3]) {
          %1: f32[3] = reduce_sum %0 {axes=(0,), keepdims=false}
          %2: f32[2] = reduce_sum %0 {axes=(1,), keepdims=false}
          %3: f32[1,3] = reduce_sum %0 {axes=(0,), keepdims=true}
          return %1, %2, %1, %3
        }
    """)


def test_merges_cascade_through_users():
    check_pass(cse, """
        func @f(%x: f32[4]) -> (f32[4]) {
          %0: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %1: f32[4] = add %x, %0
          %2: f32[4] = tanh %1
          %3: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %4: f32[4] = add %x, %3
          %5: f32[4] = tanh %4
          %6: f32[4] = subtract %2, %5
          return %6
        }
    """, """
        func @f(%0: f32[4]) -> (f32[4]) {
          %1: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %2: f32[4] = add %0, %1
          %3: f32[4] = tanh %2
          %4: f32[4] = subtract %3, %3
          return %4
        }
    """)


def test_ops_holding_a_graph_are_only_equal_to_themselves():
    body = Graph((), (), (), name="body")
    x = Value(TensorType((3,), dt.float32))
    outs = [Value(TensorType((3,), dt.float32)) for _ in range(2)]
    ops = tuple(Op(G.EXP, (x,), Attrs(body=body), (o,), UNKNOWN_LOC) for o in outs)
    g = verify(cse(Graph((x,), ops, tuple(outs))))
    assert len(g.ops) == 2


def test_unchanged_graph_is_returned_as_is():
    g = verify(parse_graph(ir("""
        func @f(%x: f32[3]) -> (f32[3], f32[3]) {
          %0: f32[3] = exp %x
          %1: f32[3] = log %x
          return %0, %1
        }
    """)))
    assert cse(g) is g


def test_float_maximum_and_minimum_keep_their_operand_order():
    # np.minimum(-0.0, 0.0) is 0.0 but np.minimum(0.0, -0.0) is -0.0: not the same computation
    check_pass(cse, """
        func @f(%x: f32[], %y: f32[], %i: i32[], %j: i32[]) -> (f32[], f32[], i32[], i32[]) {
          %0: f32[] = minimum %x, %y
          %1: f32[] = minimum %y, %x
          %2: i32[] = maximum %i, %j
          %3: i32[] = maximum %j, %i
          return %0, %1, %2, %3
        }
    """, """
        func @f(%0: f32[], %1: f32[], %2: i32[], %3: i32[]) -> (f32[], f32[], i32[], i32[]) {
          %4: f32[] = minimum %0, %1
          %5: f32[] = minimum %1, %0
          %6: i32[] = maximum %2, %3
          return %4, %5, %6, %6
        }
    """)
