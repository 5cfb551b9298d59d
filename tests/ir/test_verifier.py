"""The verifier accepts sound graphs and names the problem of each malformed one.

Malformed graphs are built directly with Op/Graph, as a buggy pass would build them.
"""

import numpy as np
import pytest

from ir_testlib import GOLDEN_GRAPHS
from tracefuse.errors import UNKNOWN_LOC, Loc, VerificationError
from tracefuse.ir import Attrs, Graph, Literal, Op, OpCode, TensorType, Value, verify
from tracefuse.ir import dtypes as dt
from tracefuse.ir.verifier import ARITY, REQUIRED_ATTRS, check_op

G = OpCode
LOC = Loc("/src/model.py", 12)


def val(*shape, dtype=dt.float32, weak=False):
    return Value(TensorType(shape, dtype, weak))


def graph(inputs, ops, outputs):
    return Graph(tuple(inputs), tuple(ops), tuple(outputs), name="bad")


def one_op(code, inputs, attrs, out, loc=LOC, graph_inputs=None):
    op = Op(code, tuple(inputs), Attrs(attrs), (out,), loc)
    return graph(inputs if graph_inputs is None else graph_inputs, [op], [out])


def rejects(g, *fragments):
    with pytest.raises(VerificationError) as info:
        verify(g)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


@pytest.mark.parametrize("name", GOLDEN_GRAPHS)
def test_valid_graphs_pass_unchanged(name):
    g = GOLDEN_GRAPHS[name]()
    assert verify(g) is g


def test_empty_graph_and_passthrough_are_valid():
    x = val(3)
    assert verify(graph([], [], [])) is not None
    assert verify(graph([x], [], [x, x])) is not None


def test_use_before_definition():
    x, y = val(3), val(3)
    later = Op(G.NEGATIVE, (x,), Attrs(), (y,), LOC)
    z = val(3)
    first = Op(G.ADD, (x, y), Attrs(), (z,), Loc("/src/model.py", 11))
    message = rejects(graph([x], [first, later], [z]), "op 0 (add)", "operand 1",
                      "used before it is defined", "model.py:11")
    assert "%1: f32[3] = add %0, %?" in message  # the op, printed as IR text


def test_operand_from_nowhere():
    x, stray, out = val(3), val(3), val(3)
    rejects(one_op(G.ADD, [x, stray], {}, out, graph_inputs=[x]), "operand 1",
            "used before it is defined")


def test_value_defined_twice():
    x = val(3)
    y = val(3)
    ops = [Op(G.NEGATIVE, (x,), Attrs(), (y,), LOC), Op(G.ABS, (x,), Attrs(), (y,), LOC)]
    rejects(graph([x], ops, [y]), "op 1 (abs)", "defined twice", "single assignment")


def test_op_output_that_is_a_graph_input():
    x = val(3)
    rejects(graph([x], [Op(G.NEGATIVE, (x,), Attrs(), (x,), LOC)], [x]), "op 0 (negative)",
            "defined twice")


def test_graph_input_listed_twice():
    x = val(3)
    rejects(graph([x, x], [], [x]), "input 1", "listed twice")


def test_undefined_graph_output():
    x = val(3)
    rejects(graph([x], [], [x, val(2, dtype=dt.int8)]), "output 1", "i8[2]", "not defined")


def test_output_type_differs_from_the_rules():
    x = val(3)
    message = rejects(one_op(G.EXP, [x], {}, val(3, dtype=dt.float64)), "op 0 (exp)",
                      "expected f32[3], got f64[3]", "model.py:12")
    assert "%1: f64[3] = exp %0" in message


def test_weak_flag_is_part_of_the_type():
    s = val(weak=True, dtype=dt.float64)
    rejects(one_op(G.NEGATIVE, [s], {}, val(dtype=dt.float64)), "expected f64[]{weak}, got f64[]")


def test_shape_rule_error_is_wrapped():
    a, b = val(3, 4), val(5)
    rejects(one_op(G.ADD, [a, b], {}, val(3, 4)), "op 0 (add)", "type rule rejects",
            "cannot broadcast", "(3, 4)", "(5,)")


def test_dtype_rule_error_is_wrapped():
    a = val(3)
    rejects(one_op(G.BITWISE_INVERT, [a], {}, val(3)), "type rule rejects", "integer or boolean")


@pytest.mark.parametrize("code, n", [
    (G.NEGATIVE, 2), (G.ADD, 1), (G.ADD, 3), (G.WHERE, 2), (G.SUM, 2), (G.MATMUL, 1),
    (G.RESHAPE, 0), (G.CONCAT, 0), (G.CONSTANT, 1), (G.FULL, 1), (G.IOTA, 2),
])
def test_wrong_number_of_operands(code, n):
    xs = [val(3) for _ in range(n)]
    message = rejects(one_op(code, xs, {}, val(3)), f"op 0 ({code.value})", f"got {n}")
    assert "operand" in message


@pytest.mark.parametrize("code, attrs, missing", [
    (G.SUM, {"axes": (0,)}, "'keepdims'"),
    (G.MAX, {"keepdims": False}, "'axes'"),
    (G.ARGMAX, {"keepdims": False}, "'axis'"),
    (G.ARGMIN, {"axis": 0}, "'keepdims'"),
    (G.RESHAPE, {}, "'shape'"),
    (G.BROADCAST_TO, {}, "'shape'"),
    (G.PERMUTE, {}, "'axes'"),
    (G.SLICE, {"starts": (0,), "steps": (1,)}, "'sizes'"),
    (G.CONCAT, {}, "'axis'"),
    (G.CAST, {}, "'dtype'"),
])
def test_missing_attributes_of_unary_ops(code, attrs, missing):
    message = rejects(one_op(code, [val(3)], attrs, val(3)), "missing attribute", missing)
    assert ", ".join(REQUIRED_ATTRS[code]) in message


@pytest.mark.parametrize("code, attrs, missing", [
    (G.CONSTANT, {}, "'value'"),
    (G.FULL, {"shape": (3,), "dtype": dt.float32}, "'value'"),
    (G.FULL, {"shape": (3,), "value": 1.0}, "'dtype'"),
    (G.IOTA, {"shape": (3,), "dtype": dt.int32}, "'axis'"),
    (G.IOTA, {"axis": 0, "dtype": dt.int32}, "'shape'"),
])
def test_missing_attributes_of_sources(code, attrs, missing):
    rejects(one_op(code, [], attrs, val(3)), "missing attribute", missing)


@pytest.mark.parametrize("code, attrs, fragment", [
    (G.CONSTANT, {"value": 3.0}, "must be a Literal"),
    (G.CAST, {"dtype": "float32"}, "must be a dtype"),
    (G.SUM, {"axes": (0,), "keepdims": 1}, "must be true or false"),
    (G.RESHAPE, {"shape": (3.0,)}, "must be a tuple of ints"),
    (G.CONCAT, {"axis": None}, "must be an int"),
])
def test_malformed_attribute_values(code, attrs, fragment):
    inputs = [] if code is G.CONSTANT else [val(3)]
    rejects(one_op(code, inputs, attrs, val(3)), fragment)


def test_unhashable_attribute_value():
    # Attrs refuses unhashable values, so a buggy pass would have to bypass it, as here
    x, out = val(3), val()
    op = Op(G.SUM, (x,), {"axes": [0], "keepdims": False}, (out,), LOC)
    rejects(graph([x], [op], [out]), "'axes'", "not hashable", "[0]", "model.py:12",
            "%1: f32[] = reduce_sum %0")


def test_wrong_number_of_results():
    x = val(3)
    op = Op(G.NEGATIVE, (x,), Attrs(), (val(3), val(3)), LOC)
    rejects(graph([x], [op], list(op.outputs)), "exactly one result, got 2")


def test_unknown_location_is_said():
    rejects(one_op(G.EXP, [val(3)], {}, val(2), loc=UNKNOWN_LOC), "at an unknown location")


def test_large_constant_is_elided_in_the_message():
    c = Literal(np.zeros(1000, np.float32))
    bad = Op(G.CONSTANT, (), Attrs(value=c), (val(999),), LOC)
    g = Graph((), (bad,), bad.outputs)
    message = rejects(g, "expected f32[1000], got f32[999]", "dense<elided 1000 elements>")
    assert len(message) < 1000


def test_check_op_reports_the_part():
    x = val(3)
    assert check_op(Op(G.NEGATIVE, (x,), Attrs(), (val(3),))) is None
    assert check_op(Op(G.NEGATIVE, (), Attrs(), (val(3),)))[0] == "operands"
    assert check_op(Op(G.SUM, (x,), Attrs(), (val(),)))[0] == "attrs"
    assert check_op(Op(G.NEGATIVE, (x,), Attrs(), (val(4),)))[0] == "type"


def test_arity_table_shape():
    for code, (lo, hi) in ARITY.items():
        assert hi is None or lo <= hi, code


def kernel_graph(**layout):
    """A graph of one row kernel over [d0=2, d1=3]; `layout` overrides its index maps."""
    x = val(2, 3)
    m, e = val(2, 1), val(2, 3)
    body_ops = (Op(G.MAX, (x,), Attrs(axes=(1,), keepdims=True), (m,), LOC),
                Op(G.SUBTRACT, (x, m), Attrs(), (e,), LOC))
    body = Graph((x,), body_ops, (e,), name="k0")
    attrs = {"body": body, "kind": "row", "name": "k0", "space": (2, 3), "reduced": (1,),
             "maps": ((0, None), (0, 1)), "reads": ((0, 1), None)}
    attrs.update(layout)
    a, out = val(2, 3), val(2, 3)
    return graph([a], [Op(G.KERNEL, (a,), Attrs(attrs), (out,), LOC)], [out])


def test_kernel_index_maps_are_checked():
    assert verify(kernel_graph()) is not None
    rejects(kernel_graph(space=(2,), reduced=()), "kernel @k0: op 0 (reduce_max)",
            "axis 1 is not one of the kernel's 1 axes")
    rejects(kernel_graph(space=(2, -3)), "'space' must be a tuple of axis sizes")
    rejects(kernel_graph(reduced=(2,)), "'reduced' must name distinct axes")
    rejects(kernel_graph(reduced=(1, 1)), "'reduced' must name distinct axes")
    rejects(kernel_graph(maps=((0, None),)), "'maps' must hold one entry", "per body op (2)")
    rejects(kernel_graph(maps=((0, None), None)),
            "op 1 (subtract) is computed in the kernel but has no index map")
    rejects(kernel_graph(maps=((0, None), (1, 0))),
            "op 1 (subtract): a dimension of size 2 runs along d1, of size 3")
    rejects(kernel_graph(reads=(None, None)), "a reduction needs its operand's map")
    rejects(kernel_graph(reads=((0, 1), (0, 1))), "only a reduction has an operand map")
    rejects(kernel_graph(reads=((0, None), None)), "op 0 (reduce_max), its operand:",
            "a dimension of size 3 must run along an axis")
    bad = kernel_graph()
    kernel = bad.ops[0]
    no_maps = Attrs({k: v for k, v in kernel.attrs.items() if k != "maps"})
    rejects(graph(bad.inputs, [kernel.replace(attrs=no_maps)], bad.outputs),
            "missing attribute 'maps'", "kernel needs body, kind, name, space, reduced, maps, reads")
