"""The text form of regions: `cond`, `while` and `scan` print their graphs as indented blocks
below the op (`branch0` ..., `cond`/`body`, `body`), each with its own value names and its own
kernel blocks, and the parser reads exactly that back, nesting included."""

import textwrap

import numpy as np
import pytest

from tracefuse.__main__ import main as command_line
from tracefuse.errors import IRParseError, Loc, VerificationError
from tracefuse.ir import Attrs, Graph, OpCode, TensorType, parse_graph, print_graph, verify
from tracefuse.ir import dtypes as dt
from tracefuse.ir.numpy_impl import evaluate_graph
from tracefuse.passes import run_pipeline
from tracefuse.tracer.tracer import GraphBuilder
from tracefuse.transforms.emit import Emitter

G = OpCode
F4 = TensorType((4,), dt.float32)
I0 = TensorType((), dt.int32)


def ir(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


def round_trip(text: str) -> Graph:
    """`text` parses, verifies, and prints back to exactly itself."""
    g = verify(parse_graph(text))
    assert print_graph(g) == text
    return g


COND = ir("""
    func @pick(%0: i32[], %1: f32[4], %2: f32[]) -> (f32[4], f32[]) {
      %3: f32[4], %4: f32[] = cond %0, %1, %2                 # model.py:3
        branch0 (%0: f32[4], %1: f32[]) -> (f32[4], f32[]) {
          %2: f32[4] = sin %0                                 # model.py:4
          return %2, %1
        }
        branch1 (%0: f32[4], %1: f32[]) -> (f32[4], f32[]) {
          %2: f32[4] = multiply %0, %1                        # model.py:5
          %3: f32[] = reduce_sum %2 {axes=(0,), keepdims=false}  # model.py:5
          return %2, %3
        }
        branch2 (%0: f32[4], %1: f32[]) -> (f32[4], f32[]) {
          return %0, %1
        }
      return %3, %4
    }
""")

WHILE = ir("""
    func @power(%0: f32[4], %1: f32[4]) -> (f32[4], i32[]) {
      %2: i32[] = constant {value=dense<0>}
      %3: f32[4], %4: i32[] = while %0, %2, %1 {num_carries=2}  # loop.py:7
        cond (%0: f32[4], %1: i32[], %2: f32[4]) -> (bool[]) {
          %3: i32[] = constant {value=dense<5>}
          %4: bool[] = less %1, %3
          return %4
        }
        body (%0: f32[4], %1: i32[], %2: f32[4]) -> (f32[4], i32[]) {
          %3: f32[4] = multiply %0, %2                        # loop.py:8
          %4: i32[] = constant {value=dense<1>}
          %5: i32[] = add %1, %4
          return %3, %5
        }
      return %3, %4
    }
""")

SCAN = ir("""
    func @cumsum(%0: f32[5,3], %1: f32[3]) -> (f32[3], f32[5,3], bool[5]) {
      %2: f32[3], %3: f32[5,3], %4: bool[5] = scan %1, %0 {length=5, num_carries=1, num_xs=1, reverse=true}
        body (%0: f32[3], %1: f32[3]) -> (f32[3], f32[3], bool[]) {
          %2: f32[3] = add %0, %1
          %3: f32[] = reduce_max %2 {axes=(0,), keepdims=false}
          %4: f32[] = constant {value=dense<1.5>}
          %5: bool[] = greater %3, %4
          return %2, %2, %5
        }
      return %2, %3, %4
    }
""")

# a scan whose body holds a while whose body holds a cond: names restart in every region
NESTED = ir("""
    func @nested(%0: f32[4], %1: i32[6]) -> (f32[4], f32[6,4]) {
      %2: f32[4], %3: f32[6,4] = scan %0, %1 {length=6, num_carries=1, num_xs=1, reverse=false}  # model.py:9
        body (%0: f32[4], %1: i32[]) -> (f32[4], f32[4]) {
          %2: i32[] = constant {value=dense<0>}
          %3: f32[4], %4: i32[] = while %0, %2, %1 {num_carries=2}  # model.py:11
            cond (%0: f32[4], %1: i32[], %2: i32[]) -> (bool[]) {
              %3: bool[] = less %1, %2
              return %3
            }
            body (%0: f32[4], %1: i32[], %2: i32[]) -> (f32[4], i32[]) {
              %3: i32[] = constant {value=dense<2>}
              %4: i32[] = remainder %1, %3
              %5: f32[4] = cond %4, %0                        # model.py:13
                branch0 (%0: f32[4]) -> (f32[4]) {
                  %1: f32[4] = cos %0                         # model.py:14
                  return %1
                }
                branch1 (%0: f32[4]) -> (f32[4]) {
                  %1: f32[4] = negative %0                    # model.py:15
                  return %1
                }
              %6: i32[] = constant {value=dense<1>}
              %7: i32[] = add %1, %6
              return %5, %7
            }
          return %3, %3
        }
      return %2, %3
    }
""")

EXAMPLES = {"cond": COND, "while": WHILE, "scan": SCAN, "nested": NESTED}


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_region_op_prints_back_to_itself(name):
    round_trip(EXAMPLES[name])


def test_parsed_regions_are_wired_and_typed():
    g = parse_graph(WHILE)
    (loop,) = [op for op in g.ops if op.code is G.WHILE]
    assert loop.attrs["num_carries"] == 2 and loop.loc == Loc("loop.py", 7)
    cond, body = loop.attrs["cond"], loop.attrs["body"]
    assert [v.type for v in body.inputs] == [v.type for v in loop.inputs]
    assert body.ops[0].inputs == (body.inputs[0], body.inputs[2])  # local names
    assert body.outputs == (body.ops[0].output, body.ops[2].output)
    assert cond.outputs[0].type == TensorType((), dt.bool_)
    branches = parse_graph(COND).ops[0].attrs["branches"]
    assert len(branches) == 3 and branches[2].outputs == branches[2].inputs


@pytest.mark.parametrize("name", EXAMPLES)
def test_parsed_regions_compute_what_a_python_loop_does(name, rng):
    g = parse_graph(EXAMPLES[name])
    args = []
    for v in g.inputs:
        if v.type.dtype.is_integer:
            args.append(rng.integers(0, 4, size=v.type.shape).astype(v.type.dtype.np))
        else:
            args.append(rng.standard_normal(v.type.shape).astype(v.type.dtype.np))
    got = evaluate_graph(g, args)
    with np.errstate(all="ignore"):
        want = PYTHON[name](*args)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _cond(i, x, s):
    return [(np.sin(x), s), (x * s, np.sum(x * s, dtype=np.float32)), (x, s)][min(max(i, 0), 2)]


def _while(x, c):
    i = np.int32(0)
    while i < 5:
        x, i = x * c, i + np.int32(1)
    return x, np.asarray(i)


def _scan(xs, c):
    ys, flags = np.empty_like(xs), np.empty(len(xs), bool)
    for t in reversed(range(len(xs))):
        c = c + xs[t]
        ys[t], flags[t] = c, c.max() > 1.5
    return c, ys, flags


def _nested(c, ns):
    ys = np.empty((len(ns), 4), np.float32)
    for t, n in enumerate(ns):
        i = 0
        while i < n:
            c = np.cos(c) if i % 2 == 0 else -c
            i += 1
        ys[t] = c
    return c, ys


PYTHON = {"cond": _cond, "while": _while, "scan": _scan, "nested": _nested}


def region(fn, types, name):
    b = GraphBuilder(name)
    ins = [b.new_input(t)._value for t in types]
    return b.build(fn(Emitter(b, Loc("loop.py", 8)), *ins))


def built_while() -> Graph:
    """A while loop built as the API builds one (GraphBuilder.emit_many)."""
    cond = region(lambda e, x, i, c: [e.op(G.LESS, i, e.scalar(5, dt.int32))], [F4, I0, F4],
                  "cond")
    body = region(lambda e, x, i, c: [e.mul(x, c), e.add(i, e.scalar(1, dt.int32))],
                  [F4, I0, F4], "body")
    b = GraphBuilder("power")
    x, c = b.new_input(F4)._value, b.new_input(F4)._value
    e = Emitter(b, Loc("loop.py", 7))
    outs = b.emit_many(G.WHILE, [x, e.scalar(0, dt.int32), c],
                       Attrs(cond=cond, body=body, num_carries=2), Loc("loop.py", 7), [F4, I0])
    return b.build(outs)


def test_a_loop_built_by_the_api_prints_as_documented():
    text = print_graph(verify(built_while()))
    assert text == ir("""
        func @power(%0: f32[4], %1: f32[4]) -> (f32[4], i32[]) {
          %2: i32[] = constant {value=dense<0>}                   # loop.py:7
          %3: f32[4], %4: i32[] = while %0, %2, %1 {num_carries=2}  # loop.py:7
            cond (%0: f32[4], %1: i32[], %2: f32[4]) -> (bool[]) {
              %3: i32[] = constant {value=dense<5>}               # loop.py:8
              %4: bool[] = less %1, %3                            # loop.py:8
              return %4
            }
            body (%0: f32[4], %1: i32[], %2: f32[4]) -> (f32[4], i32[]) {
              %3: f32[4] = multiply %0, %2                        # loop.py:8
              %4: i32[] = constant {value=dense<1>}               # loop.py:8
              %5: i32[] = add %1, %4                              # loop.py:8
              return %3, %5
            }
          return %3, %4
        }
    """)
    round_trip(text)


FUSED_WHILE = ir("""
    func @power(%0: f32[4], %1: f32[4]) -> (f32[4], i32[]) {
      %2: i32[] = constant {value=dense<0>}                   # loop.py:7
      %3: f32[4], %4: i32[] = while %0, %2, %1 {num_carries=2}  # loop.py:7
        cond (%0: f32[4], %1: i32[], %2: f32[4]) -> (bool[]) {
          %3: bool[] = kernel @k0(%1)                         # loop.py:8
          return %3
        }
        kernel @k0 elementwise(%0: i32[]) -> (bool[]) over [] {
          %1: i32[] = constant {value=dense<5>}               # loop.py:8
          %2: bool[] = less %0, %1 at []                      # loop.py:8
          return %2
        }
        body (%0: f32[4], %1: i32[], %2: f32[4]) -> (f32[4], i32[]) {
          %3: f32[4] = kernel @k0(%0, %2)                     # loop.py:8
          %4: i32[] = kernel @k1(%1)                          # loop.py:8
          return %3, %4
        }
        kernel @k0 elementwise(%0: f32[4], %1: f32[4]) -> (f32[4]) over [d0=4] {
          %2: f32[4] = multiply %0, %1 at [d0]                # loop.py:8
          return %2
        }
        kernel @k1 elementwise(%0: i32[]) -> (i32[]) over [] {
          %1: i32[] = constant {value=dense<1>}               # loop.py:8
          %2: i32[] = add %0, %1 at []                        # loop.py:8
          return %2
        }
      return %3, %4
    }
""")


def test_kernels_inside_regions_print_below_their_region_and_parse_back():
    fused = run_pipeline(built_while(), verify_each=True).graph
    assert print_graph(fused) == FUSED_WHILE
    g = round_trip(FUSED_WHILE)
    body = g.ops[1].attrs["body"]
    assert [op.code for op in body.ops] == [G.KERNEL, G.KERNEL]
    assert body.ops[1].attrs["body"].ops[1].code is G.ADD  # each k0 is its own region's


def test_the_verifier_accepts_regions_whose_ops_are_kernels_and_checks_them(rng):
    g = verify(parse_graph(FUSED_WHILE))
    x, c = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    got, n = evaluate_graph(g, [x, c])
    np.testing.assert_allclose(got, x * c**5, rtol=1e-6)
    assert n == 5
    loop = g.ops[1]
    body = loop.attrs["body"]
    kernel = body.ops[0]
    broken = body.replace(ops=(kernel.replace(attrs=kernel.attrs.replace(space=(3,))),)
                          + body.ops[1:])
    bad = g.replace(ops=(g.ops[0], loop.replace(attrs=loop.attrs.replace(body=broken))))
    with pytest.raises(VerificationError, match="a region of while is invalid.*kernel @k0"):
        verify(bad)


def test_python_m_tracefuse_ir_round_trips_regions(tmp_path, capsys):
    path = tmp_path / "loop.ir"
    path.write_text(FUSED_WHILE.replace("\n", "\n\n", 3))  # blank lines are skipped
    assert command_line(["ir", str(path)]) == 0
    assert capsys.readouterr().out == FUSED_WHILE


def test_hand_written_regions_may_use_any_names_and_indentation():
    text = """
    func @f(%p: i32[], %x: f32[4]) -> (f32[4]) {
    %y: f32[4] = cond %p, %x
    branch0 (%x: f32[4]) -> (f32[4]) {
    %s: f32[4] = sin %x
    return %s
    }
    branch1 (%a: f32[4]) -> (f32[4]) {
    return %a
    }
    return %y
    }
    """
    assert print_graph(parse_graph(text)) == ir("""
        func @f(%0: i32[], %1: f32[4]) -> (f32[4]) {
          %2: f32[4] = cond %0, %1
            branch0 (%0: f32[4]) -> (f32[4]) {
              %1: f32[4] = sin %0
              return %1
            }
            branch1 (%0: f32[4]) -> (f32[4]) {
              return %0
            }
          return %2
        }
    """)


@pytest.mark.parametrize("old, new, message, where", [
    # a region reads only its own parameters
    ("multiply %0, %0", "multiply %0, %9",
     "undefined value %9", "names are local to each region"),
    # the regions must follow their op, in order
    ("    cond (%0", "    body (%0", "expected the `cond` region of the while op on line 2",
     "followed by its regions (cond, then body)"),
])
def test_mistakes_in_regions_name_the_line_and_what_to_do(old, new, message, where):
    text = ir("""
        func @f(%0: f32[4], %1: i32[]) -> (f32[4], i32[]) {
          %2: f32[4], %3: i32[] = while %0, %1 {num_carries=2}
            cond (%0: f32[4], %1: i32[]) -> (bool[]) {
              %2: i32[] = constant {value=dense<5>}
              %3: bool[] = less %1, %2
              return %3
            }
            body (%0: f32[4], %1: i32[]) -> (f32[4], i32[]) {
              %2: f32[4] = multiply %0, %0
              return %2, %1
            }
          return %2, %3
        }
    """)
    round_trip(text)
    bad = text.replace(old, new, 1)
    assert bad != text
    with pytest.raises(IRParseError) as info:
        parse_graph(bad)
    assert message in str(info.value) and where in str(info.value)


def test_a_region_whose_types_disagree_with_its_op_is_refused_at_its_line():
    text = ir("""
        func @f(%0: f32[4], %1: i32[]) -> (f32[4], i32[]) {
          %2: f32[4], %3: i32[] = while %0, %1 {num_carries=2}
            cond (%0: f32[4], %1: i32[]) -> (bool[]) {
              %2: i32[] = constant {value=dense<5>}
              %3: bool[] = less %1, %2
              return %3
            }
            body (%0: f32[4], %1: i32[]) -> (f32[4]) {
              %2: f32[4] = multiply %0, %0
              return %2
            }
          return %2, %3
        }
    """)
    with pytest.raises(IRParseError) as info:
        parse_graph(text)
    message = str(info.value)
    assert message.startswith("line 2, ") and "the body of while returns (f32[4])" in message
    assert "i32[]" in message


def test_a_missing_branch_list_and_a_truncated_region_are_reported():
    with pytest.raises(IRParseError, match="expected the `branch0` region of the cond op"):
        parse_graph(ir("""
            func @f(%0: bool[], %1: f32[4]) -> (f32[4]) {
              %2: f32[4] = cond %0, %1
              return %2
            }
        """))
    with pytest.raises(IRParseError, match="unexpected end of text"):
        parse_graph(COND.split("branch2")[0] + "branch2 (%0: f32[4], %1: f32[]) -> (f32[4], f32[]) {\n")
