"""The parser reads back exactly what the printer writes, and names the line and column of
every mistake in hand-written IR."""

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from ir_testlib import GOLDEN_GRAPHS, Builder
from tracefuse.errors import UNKNOWN_LOC, DTypeError, IRParseError, Loc, ShapeError
from tracefuse.ir import Attrs, Literal, OpCode, infer_type, parse_graph, print_graph, verify
from tracefuse.ir import dtypes as dt
from tracefuse.ir.opcodes import BINARY, UNARY
from tracefuse.ir.printer import format_attr, sanitize_name

G = OpCode


def assert_round_trip(g):
    text = print_graph(g)
    parsed = parse_graph(text)
    assert print_graph(parsed) == text
    verify(parsed)
    assert parsed.name == sanitize_name(g.name)
    assert [v.type for v in parsed.inputs] == [v.type for v in g.inputs]
    assert [v.type for v in parsed.outputs] == [v.type for v in g.outputs]
    for a, b in zip(g.ops, parsed.ops, strict=True):
        assert a.code is b.code
        assert [v.type for v in a.outputs] == [v.type for v in b.outputs]
        assert (a.loc.short() if a.loc.line else None) == (b.loc.short() if b.loc.line else None)
        assert sorted(a.attrs) == sorted(b.attrs)
        for key in a.attrs:  # by printed form: NaN attrs are not == themselves
            assert format_attr(a.attrs[key]) == format_attr(b.attrs[key])
            assert type(a.attrs[key]) is type(b.attrs[key]) or isinstance(a.attrs[key], np.generic)
    return parsed


@pytest.mark.parametrize("name", GOLDEN_GRAPHS)
def test_golden_graphs_round_trip(name):
    assert_round_trip(GOLDEN_GRAPHS[name]())


def test_parsed_graph_is_wired_and_typed():
    g = parse_graph(print_graph(GOLDEN_GRAPHS["gelu"]()))
    x = g.inputs[0]
    assert g.name == "gelu"
    assert g.ops[0].inputs == (x, x)
    assert g.ops[1].inputs == (g.ops[0].output, x)
    assert g.outputs == (g.ops[-1].output,)
    assert g.ops[0].loc == Loc("gelu.py", 5)
    assert g.ops[2].attrs["weak"] is True
    assert g.ops[2].attrs["value"] == Literal(np.array(0.044715))


def test_constants_keep_their_bits():
    g = parse_graph(print_graph(GOLDEN_GRAPHS["constants"]()))
    c = g.ops[0].attrs["value"].array
    assert c.dtype == np.float32
    assert np.isnan(c[0]) and not np.signbit(c[0])
    assert c[1] == 0 and np.signbit(c[1])
    assert c[2] == np.inf and c[3] == -np.inf
    assert g.ops[1].attrs["value"].array.item() == 0.1 + 0.2
    full = g.ops[3]
    assert full.attrs["dtype"] is dt.uint8 and full.attrs["shape"] == (2, 0)
    assert full.attrs["value"] == 255 and type(full.attrs["value"]) is int
    big = parse_graph(print_graph(GOLDEN_GRAPHS["big_signed"]()))
    np.testing.assert_array_equal(big.ops[1].attrs["value"].array,
                                  np.arange(100, dtype=np.int16).reshape(10, 10) - 50)


def test_negative_nan_keeps_its_sign():
    b = Builder()
    b.const(np.array([-np.nan, np.nan], np.float16))
    c = b.const(-np.array(np.nan))
    g = assert_round_trip(b.graph(c))
    assert "dense<[-nan, nan]>" in print_graph(g)
    assert np.signbit(g.ops[0].attrs["value"].array).tolist() == [True, False]
    assert np.signbit(g.ops[1].attrs["value"].array)


HAND_WRITTEN = """\
# a comment line, and blank lines, are allowed

func @model(%x: f32[2,3], %alpha: f64[]{weak}) -> (f32[3], i16[2], bool[]) {
  %scaled: f32[2,3] = multiply %x, %alpha      # model.py:12
  %s.1: f32[3] = reduce_sum %scaled {keepdims=false, axes=(0,)}   # my model.py:13

  # whole-line comments inside the body too
  %k: i16[2] = constant {value=dense<0x0100feff>, note="a # is fine in a string"}
  %t: bool[] = constant {value=dense<true>, extra=(1, (2.5, none), -inf, f32, ())}
  return %s.1, %k, %t
}

# trailing comment
"""


def test_hand_written_text_with_arbitrary_names():
    g = parse_graph(HAND_WRITTEN)
    assert g.name == "model"
    x, alpha = g.inputs
    assert alpha.type.weak and alpha.type.dtype is dt.float64
    mul, red, k, t = g.ops
    assert mul.inputs == (x, alpha) and red.inputs == (mul.output,)
    assert mul.loc == Loc("model.py", 12) and red.loc == Loc("my model.py", 13)
    assert k.loc is UNKNOWN_LOC
    assert red.attrs["axes"] == (0,) and red.attrs["keepdims"] is False
    np.testing.assert_array_equal(k.attrs["value"].array, np.array([1, -2], np.int16))
    assert k.attrs["note"] == "a # is fine in a string"
    extra = t.attrs["extra"]
    assert extra[:2] == (1, (2.5, None)) and extra[2] == -math.inf
    assert extra[3] is dt.float32 and extra[4] == ()
    assert t.attrs["value"].array.dtype == np.bool_ and t.attrs["value"].array.item() is True
    assert g.outputs == (red.output, k.output, t.output)
    verify(g)
    # printed back with numbered names, and round-trips from there
    text = print_graph(g)
    assert "%3: f32[3] = reduce_sum %2 {axes=(0,), keepdims=false}" in text
    assert "# my model.py:13" in text
    assert print_graph(parse_graph(text)) == text


def test_names_need_not_be_in_order():
    g = parse_graph("""\
func @f(%9: f32[]) -> (f32[]) {
  %3: f32[] = negative %9
  %1: f32[] = exp %3
  return %1
}
""")
    assert g.ops[1].inputs == (g.ops[0].output,)
    assert print_graph(g).splitlines()[1] == "  %1: f32[] = negative %0"


# --- generated graphs

SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)
DTYPES = st.sampled_from(dt.ALL_DTYPES)
LOCS = st.one_of(st.just(UNKNOWN_LOC), st.builds(
    Loc, st.sampled_from(["/a/model.py", "x.py", "<stdin>", "dir/my file.py", "a:b.py"]),
    st.integers(1, 10_000)))
UNARY_OPS = sorted(UNARY - {G.CAST}, key=lambda c: c.value)
BINARY_OPS = sorted(BINARY, key=lambda c: c.value)
EXTRA_ATTRS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), DTYPES,
              st.text(max_size=8), st.complex_numbers(allow_nan=True, allow_infinity=True)),
    lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=6)


def literal(draw, dtype, shape):
    elements = None
    if dtype.is_float:
        elements = st.floats(width=8 * dtype.itemsize, allow_nan=True, allow_infinity=True)
    elif dtype.is_complex:  # NaN and inf parts and -0.0 too: complex(re, im) keeps them
        elements = st.complex_numbers(width=8 * dtype.itemsize, allow_nan=True,
                                      allow_infinity=True)
    return Literal(draw(hnp.arrays(dtype.np, shape, elements=elements)))


def slice_attrs(draw, shape):
    starts, sizes, steps = [], [], []
    for d in shape:
        step = draw(st.sampled_from([1, 2, 3, -1, -2, -3]))
        if d == 0:
            start, size = 0, 0
        else:
            start = draw(st.integers(0, d - 1))
            most = (d - 1 - start) // step + 1 if step > 0 else start // -step + 1
            size = draw(st.integers(0, most))
        starts.append(start), sizes.append(size), steps.append(step)
    return dict(starts=tuple(starts), sizes=tuple(sizes), steps=tuple(steps))


def op_args(draw, pool):
    """An op code, its operands drawn from `pool`, and attributes that fit them (mostly)."""
    kind = draw(st.sampled_from([
        "unary", "binary", "ternary", "cast", "reduce", "arg", "reshape", "permute",
        "broadcast", "slice", "concat", "matmul", "constant", "full", "iota"]))
    pick = lambda: draw(st.sampled_from(pool))  # noqa: E731
    if kind == "unary":
        return draw(st.sampled_from(UNARY_OPS)), [pick()], {}
    if kind == "binary":
        return draw(st.sampled_from(BINARY_OPS)), [pick(), pick()], {}
    if kind == "ternary":
        return draw(st.sampled_from([G.WHERE, G.CLIP])), [pick(), pick(), pick()], {}
    if kind == "cast":
        return G.CAST, [pick()], {"dtype": draw(DTYPES)}
    if kind == "constant":
        weak = draw(st.booleans())
        if weak:
            d = draw(st.sampled_from([dt.bool_, dt.int64, dt.float64, dt.complex128]))
            return G.CONSTANT, [], {"value": literal(draw, d, ()), "weak": True}
        shape = draw(st.sampled_from([(), (0,), (3,), (2, 0), (65,), (9, 9), (2, 3)]))
        return G.CONSTANT, [], {"value": literal(draw, draw(DTYPES), shape)}
    if kind in ("full", "iota"):
        d, shape = draw(DTYPES), draw(SHAPES)
        if kind == "iota" and shape:  # the shape rule does not check the axis: keep it valid
            axis = draw(st.integers(0, len(shape) - 1))
            return G.IOTA, [], {"shape": shape, "dtype": d, "axis": axis}
        value = draw(st.booleans() if d.is_bool else st.floats() if d.is_float
                     else st.complex_numbers(allow_nan=True, allow_infinity=True)
                     if d.is_complex
                     else st.integers(int(np.iinfo(d.np).min), int(np.iinfo(d.np).max)))
        return G.FULL, [], {"shape": shape, "dtype": d, "value": value}
    x = pick()
    shape, ndim = x.type.shape, x.type.ndim
    if kind == "reduce":
        code = draw(st.sampled_from([G.SUM, G.PROD, G.MAX, G.MIN, G.ALL, G.ANY]))
        axes = tuple(sorted(draw(st.sets(st.integers(0, max(ndim - 1, 0)), max_size=ndim))))
        return code, [x], {"axes": axes, "keepdims": draw(st.booleans())}
    if kind == "arg":
        axis = draw(st.one_of(st.none(), st.integers(0, max(ndim - 1, 0))))
        code = draw(st.sampled_from([G.ARGMAX, G.ARGMIN]))
        return code, [x], {"axis": axis, "keepdims": draw(st.booleans())}
    if kind == "reshape":
        new = draw(st.sampled_from([(math.prod(shape),), (1,) + shape, shape[::-1]]))
        return G.RESHAPE, [x], {"shape": new}
    if kind == "permute":
        return G.PERMUTE, [x], {"axes": tuple(draw(st.permutations(range(ndim))))}
    if kind == "broadcast":
        return G.BROADCAST_TO, [x], {"shape": (2,) + tuple(3 if d == 1 else d for d in shape)}
    if kind == "slice":
        return G.SLICE, [x], slice_attrs(draw, shape)
    if kind == "concat":
        return G.CONCAT, [x, x, pick()], {"axis": draw(st.integers(0, max(ndim - 1, 0)))}
    return G.MATMUL, [x, pick()], {}


@st.composite
def graphs(draw):
    b = Builder(draw(st.sampled_from(["main", "f", "<lambda>", "x.y"])))
    pool = [b.input(draw(SHAPES), draw(DTYPES)) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        pool.append(b.input((), draw(st.sampled_from([dt.bool_, dt.int64, dt.float64])), True))
    for _ in range(draw(st.integers(1, 8))):
        code, inputs, attrs = op_args(draw, pool)
        if draw(st.integers(0, 4)) == 0:
            attrs["zz_extra"] = draw(EXTRA_ATTRS)
        try:
            infer_type(code, [v.type for v in inputs], attrs)
        except (ShapeError, DTypeError):
            continue  # operands that do not fit: draw another op
        pool.append(b.op(code, *inputs, loc=draw(LOCS), **attrs))
    outputs = draw(st.lists(st.sampled_from(pool), min_size=0, max_size=3))
    return b.graph(*outputs)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_generated_graphs_round_trip(g):
    verify(g)
    assert_round_trip(g)


# --- errors in hand-written text

GOOD = """\
func @f(%a: f32[3], %b: f32[3]) -> (f32[3]) {
  %c: f32[3] = add %a, %b              # m.py:4
  %d: f32[] = reduce_sum %c {axes=(0,), keepdims=false}
  %k: f32[2] = constant {value=dense<[1.0, 2.0]>}
  return %c
}
"""


def test_good_text_parses():
    assert len(parse_graph(GOOD).ops) == 3


def parse_error(text, line, *fragments, column=None):
    with pytest.raises(IRParseError) as info:
        parse_graph(text)
    message = str(info.value)
    assert message.startswith(f"line {line}, column "), message
    if column is not None:
        assert message.startswith(f"line {line}, column {column}:"), message
        caret_line = message.splitlines()[2]
        assert caret_line.index("^") - 4 == column - 1, message  # the caret under the column
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


def edit(old, new):
    assert old in GOOD
    return GOOD.replace(old, new, 1)


def test_undefined_value():
    message = parse_error(edit("add %a, %b", "add %a, %zz"), 2, "undefined value %zz",
                          "define %zz before this line", column=24)
    assert "%c: f32[3] = add %a, %zz" in message  # the offending line is quoted


def test_use_before_definition():
    text = edit("add %a, %b", "add %a, %d")
    parse_error(text, 2, "undefined value %d")


def test_redefinition():
    parse_error(edit("%d: f32[] = reduce_sum", "%c: f32[] = reduce_sum"), 3,
                "%c is defined twice", "single assignment", column=3)
    parse_error(edit("%c: f32[3] = add", "%a: f32[3] = add"), 2, "%a is defined twice")
    parse_error(edit("%b: f32[3])", "%a: f32[3])"), 1, "%a is defined twice", column=21)
    parse_error(GOOD.replace("func @f(%a: f32[3], %b: f32[3]) -> (f32[3])",
                             "func @f(%a: f32[3], %b: f32[3]) -> (f32[3], f32[3])").replace(
        "return %c", "return %c, %c").replace("%c: f32[3] = add %a, %b",
                                              "%c: f32[3], %c: f32[3] = add %a, %b"),
                2, "%c is defined twice")


def test_unknown_op():
    parse_error(edit("= add", "= addd"), 2, "unknown op `addd`", "did you mean add", column=16)
    parse_error(edit("= add", "= frobnicate"), 2, "unknown op `frobnicate`", "opcodes.py")
    parse_error(edit("= add", "= sum"), 2, "unknown op `sum`", "did you mean reduce_sum?")


def test_type_disagrees_with_the_rules():
    parse_error(edit("%c: f32[3] = add", "%c: f64[3] = add"), 2,
                "expected f32[3], got f64[3]", "write the type the op computes", column=3)
    parse_error(edit("%d: f32[] =", "%d: f32[1] ="), 3, "expected f32[], got f32[1]")
    parse_error(edit("%d: f32[] =", "%d: f32[]{weak} ="), 3, "expected f32[], got f32[]{weak}")


def test_rule_errors_are_reported_at_the_line():
    text = edit("%b: f32[3]", "%b: f32[4]").replace("-> (f32[3])", "-> (f32[3])")
    parse_error(text, 2, "cannot broadcast", "(3,)", "(4,)")
    parse_error(edit("add %a, %b", "bitwise_and %a, %b"), 2, "integer or boolean")


def test_missing_attribute_and_wrong_operand_count():
    parse_error(edit("{axes=(0,), keepdims=false}", "{axes=(0,)}"), 3,
                "missing attribute 'keepdims'", "reduce_sum needs axes, keepdims", column=29)
    parse_error(edit("reduce_sum %c {", "reduce_sum %c, %c {"), 3, "takes 1 operand(s), got 2")
    parse_error(edit("{axes=(0,), keepdims=false}", "{axes=(0,), keepdims=0}"), 3,
                "'keepdims' of reduce_sum must be true or false")


def test_elided_constant():
    parse_error(edit("dense<[1.0, 2.0]>", "dense<elided 2 elements>"), 4,
                "dense<elided 2 elements>", "elide_constants=False", column=32)


def test_bad_dense_literals():
    parse_error(edit("dense<[1.0, 2.0]>", "dense<[1.0, 2.0, 3.0]>"), 4,
                "shape (3,)", "f32[2]")
    parse_error(edit("dense<[1.0, 2.0]>", "dense<[[1.0], [2.0, 3.0]]>"), 4, "rectangular")
    parse_error(edit("dense<[1.0, 2.0]>", "dense<[1.0, x]>"), 4, "`x` is not an element value",
                column=44)
    parse_error(edit("dense<[1.0, 2.0]>", "dense<[1.0, true]>"), 4, "not a float32 element")
    parse_error(edit("%k: f32[2] = constant {value=dense<[1.0, 2.0]>",
                     "%k: i32[2] = constant {value=dense<[1, 2.5]>"), 4, "`2.5` is not a int32")
    parse_error(edit("%k: f32[2] = constant {value=dense<[1.0, 2.0]>",
                     "%k: u8[2] = constant {value=dense<[1, 300]>"), 4, "300", "fit the dtype")
    parse_error(edit("dense<[1.0, 2.0]>", "dense<0x0000803f>"), 4, "holds 4 bytes", "needs 8")
    parse_error(edit("dense<[1.0, 2.0]>", "dense<0x0000803>"), 4, "bad hex literal")


def test_hex_literal_is_little_endian():
    g = parse_graph(edit("dense<[1.0, 2.0]>", "dense<0x0000803f00000040>"))
    np.testing.assert_array_equal(g.ops[2].attrs["value"].array, [1.0, 2.0])


def test_syntax_errors():
    parse_error(edit("%c: f32[3] = add", "%c f32[3] = add"), 2, "expected `:`", column=6)
    parse_error(edit("%c: f32[3] = add", "%c: f32[3] add"), 2, "expected `=`")
    parse_error(edit("%c: f32[3] = add", "%c: f33[3] = add"), 2, "unknown dtype `f33`")
    parse_error(edit("%c: f32[3] = add", "%c: f32[3;] = add"), 2, "unexpected character ';'",
                column=12)
    parse_error(edit("%c: f32[3] = add", "%c: f32[-3] = add"), 2, "bad dimension `-3`")
    parse_error(edit("axes=(0,)", "axes=(0)"), 3, "one-element tuple needs a trailing comma")
    parse_error(edit("keepdims=false", "keepdims=nope"), 3, "`nope` is not an attribute value")
    parse_error(edit("keepdims=false}", "keepdims=false, axes=(0,)}"), 3,
                "attribute axes is given twice")
    parse_error(edit("# m.py:4", "# just a note"), 2, "not a source location", "# model.py:12")
    parse_error(edit("func @f", "fun @f"), 1, "expected `func @name")
    parse_error(edit("add %a, %b", "add %a, %b extra"), 2, "expected the end of the line")


def test_structure_errors():
    parse_error(edit("  return %c\n", ""), 5, "ends without `return`")
    parse_error(GOOD[:-2], 5, "missing `}`")
    parse_error(GOOD + "%x: f32[] = exp %a\n", 7, "text after the end of the function")
    parse_error(edit("return %c", "return %c, %a"), 5, "returns 2 value(s)", "declares 1")
    parse_error(edit("return %c", "return %d"), 5, "returns a f32[]", "declares f32[3]",
                column=10)
    parse_error(GOOD.split("\n  return")[0], 4, "unexpected end of text")
    with pytest.raises(IRParseError, match="line 1, column 1: no IR found"):
        parse_graph("\n# nothing\n")


def test_error_message_shape():
    message = parse_error(edit("add %a, %b", "add %a, %zz"), 2)
    lines = message.splitlines()
    assert lines[0] == "line 2, column 24: undefined value %zz"
    assert lines[1] == "      %c: f32[3] = add %a, %zz              # m.py:4"
    assert lines[2] == "    " + " " * 23 + "^"
    assert re.match(r"define %zz before this line", lines[3])


KERNEL_TEXT = """\
func @f(%a: f32[2,3]) -> (f32[2,3], f32[2]) {
  %b: f32[2,3], %c: f32[2] = kernel @k0(%a)                # m.py:4
  return %b, %c
}

kernel @k0 row(%x: f32[2,3]) -> (f32[2,3], f32[2]) over [d0=2, d1=3] reduced [d1] {
  %m: f32[2] = reduce_max %x {axes=(1,), keepdims=false} at [d0] from [d0, d1]
  %mm: f32[2,1] = reshape %m {shape=(2, 1)} at [d0, 0]
  %e: f32[2,3] = subtract %x, %mm at [d0, d1]   # m.py:5
  return %e, %m
}
"""


def test_kernel_index_maps_are_attributes_of_the_kernel_op():
    g = parse_graph(KERNEL_TEXT)
    (k,) = g.ops
    assert k.attrs["kind"] == "row" and k.attrs["name"] == "k0"
    assert k.attrs["space"] == (2, 3) and k.attrs["reduced"] == (1,)
    assert k.attrs["maps"] == ((0,), (0, None), (0, 1))
    assert k.attrs["reads"] == ((0, 1), None, None)
    body = k.attrs["body"]
    assert [op.code for op in body.ops] == [G.MAX, G.RESHAPE, G.SUBTRACT]
    assert body.ops[2].loc == Loc("m.py", 5)
    text = print_graph(g)
    assert "over [d0=2, d1=3] reduced [d1] {" in text
    assert "= reduce_max %0 {axes=(1,), keepdims=false} at [d0] from [d0, d1]" in text
    assert "= reshape %1 {shape=(2, 1)} at [d0, 0]" in text
    again = parse_graph(text)
    assert print_graph(again) == text
    assert Attrs({k: v for k, v in again.ops[0].attrs.items() if k != "body"}) == \
        Attrs({k: v for k, v in g.ops[0].attrs.items() if k != "body"})


def test_kernel_without_reductions_or_loops():
    text = KERNEL_TEXT.replace(" reduced [d1]", "").replace(
        "%m: f32[2] = reduce_max %x {axes=(1,), keepdims=false} at [d0] from [d0, d1]",
        "%m: f32[2] = constant {value=dense<[1.0, 2.0]>}").replace(" row(", " elementwise(")
    k = parse_graph(text).ops[0]
    assert k.attrs["reduced"] == () and k.attrs["maps"][0] is None
    assert "over [d0=2, d1=3] {" in print_graph(parse_graph(text))
    copy = parse_graph("""\
func @f(%a: f32[2,3]) -> (f32[3,2]) {
  %b: f32[3,2] = kernel @k0(%a)
  return %b
}

kernel @k0 elementwise(%x: f32[2,3]) -> (f32[3,2]) over [] {
  %t: f32[3,2] = permute_dims %x {axes=(1, 0)}
  return %t
}
""")
    assert copy.ops[0].attrs["space"] == () and copy.ops[0].attrs["maps"] == (None,)


def kedit(old, new):
    assert old in KERNEL_TEXT
    return KERNEL_TEXT.replace(old, new, 1)


def test_kernel_index_map_errors():
    parse_error(kedit(" over [d0=2, d1=3] reduced [d1]", ""), 6,
                "expected `over [d0=..., ...]`, found `{`", "`over [d0=4, d1=8]`", column=52)
    parse_error(kedit("[d0=2, d1=3]", "[d1=2, d0=3]"), 6, "expected the axis d0, found `d1`",
                "d0, d1, ... in order", column=58)
    parse_error(kedit("reduced [d1]", "reduced [d2]"), 6, "the kernel has no axis d2",
                "its loops: d0, d1")
    parse_error(kedit("reduced [d1]", "reduced [d1, d1]"), 6, "listed twice in `reduced`")
    parse_error(kedit("reduced [d1]", "reduced [0]"), 6, "`0` is not an axis")
    parse_error(kedit("from [d0, d1]", "from [d0, d2]"), 7, "the kernel has no axis d2")
    parse_error(kedit("subtract %x, %mm at [d0, d1]", "subtract %x, %mm at [d1, d0]"), 9,
                "index map of the result", "a dimension of size 2 runs along d1, of size 3",
                column=38)
    parse_error(kedit("subtract %x, %mm at [d0, d1]", "subtract %x, %mm at [d0, 0]"), 9,
                "a dimension of size 3 must run along an axis")
    parse_error(kedit("subtract %x, %mm at [d0, d1]", "subtract %x, %mm at [d0]"), 9,
                "for each of the value's 2 dimension(s), got (0,)")
    parse_error("""\
func @f(%a: f32[3,3]) -> (f32[3,3]) {
  %b: f32[3,3] = kernel @k0(%a)
  return %b
}
kernel @k0 elementwise(%x: f32[3,3]) -> (f32[3,3]) over [d0=3, d1=3] {
  %e: f32[3,3] = exp %x at [d0, d0]
  return %e
}
""", 6, "index map of the result: it names d0 twice", column=28)
    parse_error(kedit("at [d0] from [d0, d1]", "at [d0]"), 7, "reduce_max needs its operand's index map too")
    parse_error(kedit("subtract %x, %mm at [d0, d1]", "subtract %x, %mm at [d0, d1] from [d0]"),
                9, "subtract takes no `from [...]`")
    parse_error(kedit("at [d0] from [d0, d1]", "from [d0, d1]"), 7, "expected the end of the line")
    parse_error(kedit("at [d0, 0]", "at [d0, x1]"), 8, "`x1` is not an axis")
    # an elementwise op of a kernel must say where it runs: the call is where it is checked
    parse_error(kedit("subtract %x, %mm at [d0, d1]", "subtract %x, %mm"), 2,
                "kernel @k0: op 2 (subtract) is computed in the kernel but has no index map")
    parse_error(edit("add %a, %b", "add %a, %b at [d0]"), 2, "an index map outside a kernel")
