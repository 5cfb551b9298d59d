"""The passes and regions, text in and text out: every pass runs inside the graphs of `cond`,
`while` and `scan` (nesting included), fold-constants inlines a `cond` whose index is known,
dce drops dead ops in regions and region ops nobody reads, cse merges region ops only when
their graphs are the same objects, remat and fuse treat region ops as library ops and fuse
makes kernels inside regions; the pipeline's graph runs on every backend as NumPy does."""

import numpy as np
import pytest
from passes_testlib import assert_same_results, check_pass, count, run_pass

from tracefuse.backends import get_backend
from tracefuse.backends.base import CompileOptions
from tracefuse.errors import Loc
from tracefuse.ir import Attrs, Graph, OpCode, TensorType, parse_graph, print_graph, verify
from tracefuse.ir import dtypes as dt
from tracefuse.passes import (
    cse,
    dce,
    fold_constants,
    fuse,
    fuse_with_report,
    remat,
    run_pipeline,
    simplify,
)
from tracefuse.passes.regions import in_regions, map_regions
from tracefuse.tracer.tracer import GraphBuilder
from tracefuse.transforms.emit import Emitter

G = OpCode
F4 = TensorType((4,), dt.float32)
I0 = TensorType((), dt.int32)


def test_fold_replaces_a_cond_with_a_constant_index_by_its_branch_and_folds_it():
    check_pass(fold_constants, """
        func @f(%x: f32[4]) -> (f32[4], f32[]) {
          %i: i32[] = constant {value=dense<7>}
          %s: f32[] = constant {value=dense<2.0>}
          %r: f32[4], %t: f32[] = cond %i, %x, %s            # m.py:3
            branch0 (%a: f32[4], %b: f32[]) -> (f32[4], f32[]) {
              %c: f32[4] = sin %a                            # m.py:4
              return %c, %b
            }
            branch1 (%a: f32[4], %b: f32[]) -> (f32[4], f32[]) {
              %c: f32[] = multiply %b, %b                    # m.py:5
              %d: f32[4] = multiply %a, %c                   # m.py:5
              return %d, %c
            }
          %u: f32[4] = add %r, %t                            # m.py:6
          return %u, %t
        }
    """, """
        func @f(%0: f32[4]) -> (f32[4], f32[]) {
          %1: i32[] = constant {value=dense<7>}
          %2: f32[] = constant {value=dense<2.0>}
          %3: f32[] = constant {value=dense<4.0>}                 # m.py:5
          %4: f32[4] = multiply %0, %3                            # m.py:5
          %5: f32[4] = add %4, %3                                 # m.py:6
          return %5, %3
        }
    """)  # index 7 runs the last branch (clipped), whose b*b folds once inlined


def test_fold_inlines_nested_conds_selected_by_one_outer_constant():
    check_pass(fold_constants, """
        func @f(%x: f32[4]) -> (f32[4]) {
          %p: bool[] = constant {value=dense<false>}
          %r: f32[4] = cond %p, %x, %p
            branch0 (%a: f32[4], %q: bool[]) -> (f32[4]) {
              %c: f32[4] = cond %q, %a
                branch0 (%a: f32[4]) -> (f32[4]) {
                  %e: f32[4] = exp %a
                  return %e
                }
                branch1 (%a: f32[4]) -> (f32[4]) {
                  return %a
                }
              return %c
            }
            branch1 (%a: f32[4], %q: bool[]) -> (f32[4]) {
              return %a
            }
          return %r
        }
    """, """
        func @f(%0: f32[4]) -> (f32[4]) {
          %1: bool[] = constant {value=dense<false>}
          %2: f32[4] = exp %0
          return %2
        }
    """)


def test_fold_runs_inside_loop_bodies_and_leaves_an_unknown_cond():
    check_pass(fold_constants, """
        func @f(%x: f32[4], %n: i32[]) -> (f32[4], i32[]) {
          %z: i32[] = constant {value=dense<0>}
          %r: f32[4], %i: i32[] = while %x, %z, %n {num_carries=2}
            cond (%a: f32[4], %i: i32[], %n: i32[]) -> (bool[]) {
              %m: bool[] = less %i, %n
              return %m
            }
            body (%a: f32[4], %i: i32[], %n: i32[]) -> (f32[4], i32[]) {
              %h: f32[] = constant {value=dense<0.5>}
              %t: f32[] = constant {value=dense<3.0>}
              %k: f32[] = multiply %h, %t
              %b: f32[4] = multiply %a, %k
              %one: i32[] = constant {value=dense<1>}
              %j: i32[] = add %i, %one
              return %b, %j
            }
          return %r, %i
        }
    """, """
        func @f(%0: f32[4], %1: i32[]) -> (f32[4], i32[]) {
          %2: i32[] = constant {value=dense<0>}
          %3: f32[4], %4: i32[] = while %0, %2, %1 {num_carries=2}
            cond (%0: f32[4], %1: i32[], %2: i32[]) -> (bool[]) {
              %3: bool[] = less %1, %2
              return %3
            }
            body (%0: f32[4], %1: i32[], %2: i32[]) -> (f32[4], i32[]) {
              %3: f32[] = constant {value=dense<0.5>}
              %4: f32[] = constant {value=dense<3.0>}
              %5: f32[] = constant {value=dense<1.5>}
              %6: f32[4] = multiply %0, %5
              %7: i32[] = constant {value=dense<1>}
              %8: i32[] = add %1, %7
              return %6, %8
            }
          return %3, %4
        }
    """)


def test_dce_drops_dead_ops_in_regions_and_region_ops_nobody_reads():
    check_pass(dce, """
        func @f(%x: f32[5,4], %c: f32[4]) -> (f32[4]) {
          %unused: f32[4], %ys: f32[5,4] = scan %c, %x {length=5, num_carries=1, num_xs=1, reverse=false}
            body (%c: f32[4], %x: f32[4]) -> (f32[4], f32[4]) {
              %n: f32[4] = add %c, %x
              return %n, %n
            }
          %z: i32[] = constant {value=dense<0>}
          %r: f32[4], %i: i32[] = while %c, %z {num_carries=2}
            cond (%a: f32[4], %i: i32[]) -> (bool[]) {
              %k: i32[] = constant {value=dense<3>}
              %dead: i32[] = multiply %i, %k
              %m: bool[] = less %i, %k
              return %m
            }
            body (%a: f32[4], %i: i32[]) -> (f32[4], i32[]) {
              %s: f32[4] = sin %a
              %dead: f32[4] = cos %a
              %one: i32[] = constant {value=dense<1>}
              %j: i32[] = add %i, %one
              return %s, %j
            }
          %r2: f32[4], %i2: i32[] = while %c, %z {num_carries=2}
            cond (%a: f32[4], %i: i32[]) -> (bool[]) {
              %k: i32[] = constant {value=dense<3>}
              %m: bool[] = less %i, %k
              return %m
            }
            body (%a: f32[4], %i: i32[]) -> (f32[4], i32[]) {
              %one: i32[] = constant {value=dense<1>}
              %j: i32[] = add %i, %one
              return %a, %j
            }
          return %r
        }
    """, """
        func @f(%0: f32[5,4], %1: f32[4]) -> (f32[4]) {
          %2: i32[] = constant {value=dense<0>}
          %3: f32[4], %4: i32[] = while %1, %2 {num_carries=2}
            cond (%0: f32[4], %1: i32[]) -> (bool[]) {
              %2: i32[] = constant {value=dense<3>}
              %3: bool[] = less %1, %2
              return %3
            }
            body (%0: f32[4], %1: i32[]) -> (f32[4], i32[]) {
              %2: f32[4] = sin %0
              %3: i32[] = constant {value=dense<1>}
              %4: i32[] = add %1, %3
              return %2, %4
            }
          return %3
        }
    """)


def test_cse_merges_inside_regions_but_never_compares_graphs_by_structure():
    g = check_pass(cse, """
        func @f(%p: bool[], %x: f32[4]) -> (f32[4], f32[4]) {
          %e: f32[4] = exp %x
          %r: f32[4] = cond %p, %x, %e
            branch0 (%a: f32[4], %b: f32[4]) -> (f32[4]) {
              %s: f32[4] = sin %a
              %t: f32[4] = sin %a
              %u: f32[4] = add %s, %t
              return %u
            }
            branch1 (%a: f32[4], %b: f32[4]) -> (f32[4]) {
              %e: f32[4] = exp %a
              %u: f32[4] = add %e, %b
              return %u
            }
          %r2: f32[4] = cond %p, %x, %e
            branch0 (%a: f32[4], %b: f32[4]) -> (f32[4]) {
              %s: f32[4] = sin %a
              %u: f32[4] = add %s, %s
              return %u
            }
            branch1 (%a: f32[4], %b: f32[4]) -> (f32[4]) {
              %e: f32[4] = exp %a
              %u: f32[4] = add %e, %b
              return %u
            }
          return %r, %r2
        }
    """, """
        func @f(%0: bool[], %1: f32[4]) -> (f32[4], f32[4]) {
          %2: f32[4] = exp %1
          %3: f32[4] = cond %0, %1, %2
            branch0 (%0: f32[4], %1: f32[4]) -> (f32[4]) {
              %2: f32[4] = sin %0
              %3: f32[4] = add %2, %2
              return %3
            }
            branch1 (%0: f32[4], %1: f32[4]) -> (f32[4]) {
              %2: f32[4] = exp %0
              %3: f32[4] = add %2, %1
              return %3
            }
          %4: f32[4] = cond %0, %1, %2
            branch0 (%0: f32[4], %1: f32[4]) -> (f32[4]) {
              %2: f32[4] = sin %0
              %3: f32[4] = add %2, %2
              return %3
            }
            branch1 (%0: f32[4], %1: f32[4]) -> (f32[4]) {
              %2: f32[4] = exp %0
              %3: f32[4] = add %2, %1
              return %3
            }
          return %3, %4
        }
    """)  # the two conds print alike but hold different Graph objects: both stay
    assert count(g, "cond") == 2


def region(fn, types, name) -> Graph:
    b = GraphBuilder(name)
    ins = [b.new_input(t)._value for t in types]
    return b.build(fn(Emitter(b, Loc("loop.py", 8)), *ins))


def two_loops_on_one_body() -> Graph:
    """Two while ops on the same operands and the same cond and body objects (as the API
    makes them when one loop function is traced once and called twice); the body computes
    x*c twice."""
    cond = region(lambda e, x, i, c: [e.op(G.LESS, i, e.scalar(4, dt.int32))], [F4, I0, F4],
                  "cond")
    body = region(lambda e, x, i, c: [e.add(e.mul(x, c), e.mul(x, c)),
                                      e.add(i, e.scalar(1, dt.int32))], [F4, I0, F4], "body")
    b = GraphBuilder("twice")
    x, c = b.new_input(F4)._value, b.new_input(F4)._value
    e = Emitter(b, Loc("loop.py", 7))
    zero = e.scalar(0, dt.int32)
    attrs = Attrs(cond=cond, body=body, num_carries=2)
    first = b.emit_many(G.WHILE, [x, zero, c], attrs, Loc("loop.py", 7), [F4, I0])
    second = b.emit_many(G.WHILE, [x, zero, c], attrs, Loc("loop.py", 9), [F4, I0])
    return verify(b.build([e.add(first[0], second[0])]))


def test_cse_merges_region_ops_whose_graphs_are_the_same_objects():
    g = two_loops_on_one_body()
    merged = verify(cse(g))
    loops = [op for op in merged.ops if op.code is G.WHILE]
    assert len(loops) == 1  # the body was rewritten once, so both ops still share it
    assert [op.code for op in loops[0].attrs["body"].ops].count(G.MULTIPLY) == 1
    assert merged.ops[-1].inputs == (loops[0].outputs[0],) * 2
    assert_same_results(g, merged)


def test_map_regions_rewrites_a_shared_graph_once_and_keeps_what_did_not_change():
    g = two_loops_on_one_body()
    calls = []
    same = map_regions(g, lambda r: calls.append(r) or r)
    assert same is g and len(calls) == 2  # cond and body, once each
    renamed = map_regions(g, lambda r: r.replace(name=r.name + "2"))
    loops = [op for op in renamed.ops if op.code is G.WHILE]
    assert loops[0].attrs["body"] is loops[1].attrs["body"]
    assert loops[0].attrs["body"].name == "body2"
    depth = []
    in_regions(lambda r: depth.append(r.name) or r)(g)
    assert depth == ["cond", "body", "twice"]  # innermost first


def test_simplify_runs_inside_a_scan_body():
    check_pass(simplify, """
        func @f(%x: i32[6], %c: i32[]) -> (i32[], i32[6]) {
          %r: i32[], %ys: i32[6] = scan %c, %x {length=6, num_carries=1, num_xs=1, reverse=true}
            body (%c: i32[], %x: i32[]) -> (i32[], i32[]) {
              %one: i32[] = constant {value=dense<1>}
              %a: i32[] = multiply %x, %one
              %z: i32[] = subtract %c, %c
              %n: i32[] = add %a, %z
              %s: i32[] = add %c, %n
              return %s, %n
            }
          return %r, %ys
        }
    """, """
        func @f(%0: i32[6], %1: i32[]) -> (i32[], i32[6]) {
          %2: i32[], %3: i32[6] = scan %1, %0 {length=6, num_carries=1, num_xs=1, reverse=true}
            body (%0: i32[], %1: i32[]) -> (i32[], i32[]) {
              %2: i32[] = constant {value=dense<1>}
              %3: i32[] = constant {value=dense<0>}
              %4: i32[] = add %0, %1
              return %4, %1
            }
          return %2, %3
        }
    """)


def test_remat_treats_a_loop_as_a_library_op_and_leaves_it_alone():
    # h is read by the loop and after it: the consumer behind the loop recomputes h, as it
    # would behind a matmul, and the loop op is untouched
    check_pass(remat, """
        func @f(%x: f32[4], %w: f32[]) -> (f32[4]) {
          %h: f32[4] = multiply %x, %w                     # m.py:2
          %z: i32[] = constant {value=dense<0>}
          %r: f32[4], %i: i32[] = while %h, %z {num_carries=2}  # m.py:3
            cond (%a: f32[4], %i: i32[]) -> (bool[]) {
              %k: i32[] = constant {value=dense<3>}
              %m: bool[] = less %i, %k
              return %m
            }
            body (%a: f32[4], %i: i32[]) -> (f32[4], i32[]) {
              %s: f32[4] = tanh %a
              %one: i32[] = constant {value=dense<1>}
              %j: i32[] = add %i, %one
              return %s, %j
            }
          %y: f32[4] = multiply %h, %r                     # m.py:4
          return %y
        }
    """, """
        func @f(%0: f32[4], %1: f32[]) -> (f32[4]) {
          %2: f32[4] = multiply %0, %1                            # m.py:2
          %3: i32[] = constant {value=dense<0>}
          %4: f32[4], %5: i32[] = while %2, %3 {num_carries=2}    # m.py:3
            cond (%0: f32[4], %1: i32[]) -> (bool[]) {
              %2: i32[] = constant {value=dense<3>}
              %3: bool[] = less %1, %2
              return %3
            }
            body (%0: f32[4], %1: i32[]) -> (f32[4], i32[]) {
              %2: f32[4] = tanh %0
              %3: i32[] = constant {value=dense<1>}
              %4: i32[] = add %1, %3
              return %2, %4
            }
          %6: f32[4] = multiply %0, %1                            # m.py:2
          %7: f32[4] = multiply %6, %4                            # m.py:4
          return %7
        }
    """)


FUSE_BEFORE = """
    func @f(%x: f32[4], %w: f32[4]) -> (f32[4], f32[]) {
      %h: f32[4] = add %x, %w                          # m.py:2
      %z: i32[] = constant {value=dense<0>}
      %r: f32[4], %i: i32[] = while %h, %z, %w {num_carries=2}  # m.py:3
        cond (%a: f32[4], %i: i32[], %w: f32[4]) -> (bool[]) {
          %k: i32[] = constant {value=dense<3>}
          %m: bool[] = less %i, %k
          return %m
        }
        body (%a: f32[4], %i: i32[], %w: f32[4]) -> (f32[4], i32[]) {
          %s: f32[4] = tanh %a                         # m.py:4
          %t: f32[4] = multiply %s, %w                 # m.py:4
          %one: i32[] = constant {value=dense<1>}
          %j: i32[] = add %i, %one
          return %t, %j
        }
      %y: f32[4] = multiply %h, %r                     # m.py:5
      %q: f32[] = reduce_sum %y {axes=(0,), keepdims=false}  # m.py:5
      return %y, %q
    }
"""


def test_fuse_keeps_a_loop_out_of_kernels_and_fuses_inside_its_regions():
    check_pass(fuse, FUSE_BEFORE, """
        func @f(%0: f32[4], %1: f32[4]) -> (f32[4], f32[]) {
          %2: f32[4] = kernel @k0(%0, %1)                         # m.py:2
          %3: i32[] = constant {value=dense<0>}
          %4: f32[4], %5: i32[] = while %2, %3, %1 {num_carries=2}  # m.py:3
            cond (%0: f32[4], %1: i32[], %2: f32[4]) -> (bool[]) {
              %3: bool[] = kernel @k0(%1)
              return %3
            }
            kernel @k0 elementwise(%0: i32[]) -> (bool[]) over [] {
              %1: i32[] = constant {value=dense<3>}
              %2: bool[] = less %0, %1 at []
              return %2
            }
            body (%0: f32[4], %1: i32[], %2: f32[4]) -> (f32[4], i32[]) {
              %3: f32[4] = kernel @k0(%0, %2)                     # m.py:4
              %4: i32[] = kernel @k1(%1)
              return %3, %4
            }
            kernel @k0 elementwise(%0: f32[4], %1: f32[4]) -> (f32[4]) over [d0=4] {
              %2: f32[4] = tanh %0 at [d0]                        # m.py:4
              %3: f32[4] = multiply %2, %1 at [d0]                # m.py:4
              return %3
            }
            kernel @k1 elementwise(%0: i32[]) -> (i32[]) over [] {
              %1: i32[] = constant {value=dense<1>}
              %2: i32[] = add %0, %1 at []
              return %2
            }
          %6: f32[4], %7: f32[] = kernel @k1(%2, %4)              # m.py:5
          return %6, %7
        }

        kernel @k0 elementwise(%0: f32[4], %1: f32[4]) -> (f32[4]) over [d0=4] {
          %2: f32[4] = add %0, %1 at [d0]                         # m.py:2
          return %2
        }

        kernel @k1 reduction(%0: f32[4], %1: f32[4]) -> (f32[4], f32[]) over [d0=4] reduced [d0] {
          %2: f32[4] = multiply %0, %1 at [d0]                    # m.py:5
          %3: f32[] = reduce_sum %2 {axes=(0,), keepdims=false} at [] from [d0]  # m.py:5
          return %2, %3
        }
    """, exact=False)


def test_fusion_refusals_inside_regions_are_reported():
    g = run_pass(lambda g: g, """
        func @f(%x: f32[3,4], %c: f32[3,4]) -> (f32[3,4]) {
          %z: i32[] = constant {value=dense<0>}
          %r: f32[3,4], %i: i32[] = while %x, %z, %c {num_carries=2}
            cond (%a: f32[3,4], %i: i32[], %c: f32[3,4]) -> (bool[]) {
              %k: i32[] = constant {value=dense<2>}
              %m: bool[] = less %i, %k
              return %m
            }
            body (%a: f32[3,4], %i: i32[], %c: f32[3,4]) -> (f32[3,4], i32[]) {
              %e: f32[3,4] = exp %a                         # body.py:4
              %s: f32[3,2] = slice %e {sizes=(3, 2), starts=(0, 0), steps=(1, 1)}  # body.py:5
              %v: f32[3,2] = add %s, %s                   # body.py:5
              %t: f32[3,4] = concat %v, %v {axis=1}       # body.py:5
              %u: f32[3,4] = multiply %t, %c              # body.py:6
              %one: i32[] = constant {value=dense<1>}
              %j: i32[] = add %i, %one
              return %u, %j
            }
          return %r
        }
    """)
    fused, refusals = fuse_with_report(g)
    assert any(r.startswith("slice (body.py:5)") and "memory" in r for r in refusals)
    assert_same_results(g, verify(fused), exact=False)


# The example programs of the end-to-end check: each builds a graph as the API does and gives
# the plain Python loop it must compute.

def while_program():
    cond = region(lambda e, x, i, c: [e.op(G.LESS, i, e.scalar(5, dt.int32))], [F4, I0, F4],
                  "cond")
    body = region(lambda e, x, i, c: [e.mul(e.op(G.TANH, x), c), e.add(i, e.scalar(1, dt.int32))],
                  [F4, I0, F4], "body")
    b = GraphBuilder("power")
    x, c = b.new_input(F4)._value, b.new_input(F4)._value
    e = Emitter(b, Loc("loop.py", 7))
    outs = b.emit_many(G.WHILE, [e.add(x, c), e.scalar(0, dt.int32), c],
                       Attrs(cond=cond, body=body, num_carries=2), Loc("loop.py", 7), [F4, I0])
    graph = b.build([e.mul(outs[0], e.scalar(2.0, dt.float32)), outs[1]])

    def python(x, c):
        x, i = x + c, 0
        while i < 5:
            x, i = np.tanh(x) * c, i + 1
        return x * np.float32(2), np.int32(i)

    return graph, python


def scan_cond_program():
    """A reversed scan whose body picks a branch by the sign of the step's x sum."""
    branch0 = region(lambda e, c, x: [e.add(c, x)], [F4, F4], "branch0")
    branch1 = region(lambda e, c, x: [e.mul(e.op(G.SIN, c), x)], [F4, F4], "branch1")

    def body_fn(e, c, x, k):
        total = e.op(G.SUM, x, axes=(0,), keepdims=False)
        pred = e.op(G.GREATER, total, e.scalar(0.0, dt.float32))
        (picked,) = e.builder.emit_many(G.COND, [pred, c, x], Attrs(branches=(branch0, branch1)),
                                        Loc("loop.py", 12), [F4])
        return [e.mul(picked, k), e.add(picked, k)]

    body = region(body_fn, [F4, F4, F4], "body")
    b = GraphBuilder("steps")
    c, xs, k = (b.new_input(t)._value for t in (F4, TensorType((6, 4), dt.float32), F4))
    outs = b.emit_many(G.SCAN, [c, xs, k], Attrs(body=body, num_carries=1, num_xs=1, length=6,
                                                 reverse=True),
                       Loc("loop.py", 10), [F4, TensorType((6, 4), dt.float32)])
    graph = b.build(outs)

    def python(c, xs, k):
        ys = np.empty_like(xs)
        for t in reversed(range(6)):
            picked = c + xs[t] if not xs[t].sum() > 0 else np.sin(c) * xs[t]
            c, ys[t] = picked * k, picked + k
        return c, ys

    return graph, python


PROGRAMS = {"while": while_program, "scan_cond": scan_cond_program}


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("backend", ["numpy", "cpu", "gpu-sim"])
def test_the_pipelines_graph_runs_on_every_backend_as_numpy_does(program, backend, rng):
    be = get_backend(backend)
    if be.unavailable():
        pytest.skip(be.unavailable())
    graph, python = PROGRAMS[program]()
    fused = run_pipeline(verify(graph), verify_each=True).graph
    assert parse_graph(print_graph(fused)) is not None
    inner = [op for op in graph_and_regions(fused) if op not in fused.ops]
    assert any(op.code is G.KERNEL for op in inner)  # fused inside the regions too
    args = [rng.standard_normal(v.type.shape).astype(np.float32) for v in graph.inputs]
    got = be.load(be.lower(fused, CompileOptions()))(args)
    want = python(*args)
    for a, w in zip(got, want, strict=True):
        a = np.asarray(a.get() if hasattr(a, "get") else a)
        w = np.asarray(w)
        assert a.dtype == w.dtype and a.shape == w.shape
        np.testing.assert_allclose(a, w, rtol=2e-6, atol=1e-6)


def graph_and_regions(graph: Graph) -> list:
    """Every op of `graph` and of its regions, recursively, with the regions' ops first."""
    found: list = []
    in_regions(lambda g: found.extend(g.ops) or g)(graph)
    return found
