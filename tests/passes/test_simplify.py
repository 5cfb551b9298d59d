"""simplify, text in and text out: each rule of the table, the rewrites that must NOT happen for
floats (NaN, inf and -0.0 make them wrong), what fast math allows, and the powers checked
against `np.power`."""

import functools

import numpy as np
import pytest
from passes_testlib import assert_close, check_pass, count, ir, run, run_pass

from tracefuse.ir import Graph, parse_graph, print_graph, verify
from tracefuse.passes import dce, simplify
from tracefuse.passes.simplify import RULES

fast_simplify = functools.partial(simplify, fastmath=True)


def test_identities_give_the_operand():
    check_pass(simplify, """
        func @f(%x: f32[], %i: i32[]) -> (f32[], f32[], f32[], i32[], f32[], f32[], f32[]) {
          %0: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %1: f32[] = multiply %x, %0
          %2: f32[] = multiply %0, %x
          %3: f32[] = divide %x, %0
          %4: i64[]{weak} = constant {value=dense<0>, weak=true}
          %5: i32[] = add %i, %4
          %6: f64[]{weak} = constant {value=dense<0.0>, weak=true}
          %7: f32[] = add %x, %6
          %8: f64[]{weak} = constant {value=dense<-0.0>, weak=true}
          %9: f32[] = add %x, %8
          %10: f32[] = subtract %x, %6
          return %1, %2, %3, %5, %7, %9, %10
        }
    """, """
        func @f(%0: f32[], %1: i32[]) -> (f32[], f32[], f32[], i32[], f32[], f32[], f32[]) {
          %2: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %3: i64[]{weak} = constant {value=dense<0>, weak=true}
          %4: f64[]{weak} = constant {value=dense<0.0>, weak=true}
          %5: f32[] = add %0, %4
          %6: f64[]{weak} = constant {value=dense<-0.0>, weak=true}
          return %0, %0, %0, %1, %5, %0, %0
        }
    """)
    # x + 0.0 stays: it turns -0.0 into 0.0; x + (-0.0) and x - 0.0 are exact identities


def test_powers_become_multiplies_sqrt_and_reciprocals():
    check_pass(simplify, """
        func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], f32[4], f32[4], f32[4]) {
          %0: i64[]{weak} = constant {value=dense<1>, weak=true}
          %1: f32[4] = pow %x, %0
          %2: i64[]{weak} = constant {value=dense<2>, weak=true}
          %3: f32[4] = pow %x, %2
          %4: i64[]{weak} = constant {value=dense<3>, weak=true}
          %5: f32[4] = pow %x, %4                                  # m.py:7
          %6: i64[]{weak} = constant {value=dense<4>, weak=true}
          %7: f32[4] = pow %x, %6
          %8: f64[]{weak} = constant {value=dense<0.5>, weak=true}
          %9: f32[4] = pow %x, %8
          %10: i64[]{weak} = constant {value=dense<-1>, weak=true}
          %11: f32[4] = pow %x, %10
          %12: i64[]{weak} = constant {value=dense<-2>, weak=true}
          %13: f32[4] = pow %x, %12
          return %1, %3, %5, %7, %9, %11, %13
        }
    """, """
        func @f(%0: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], f32[4], f32[4], f32[4]) {
          %1: i64[]{weak} = constant {value=dense<1>, weak=true}
          %2: i64[]{weak} = constant {value=dense<2>, weak=true}
          %3: f32[4] = multiply %0, %0
          %4: i64[]{weak} = constant {value=dense<3>, weak=true}
          %5: f32[4] = multiply %0, %0                            # m.py:7
          %6: f32[4] = multiply %5, %0                            # m.py:7
          %7: i64[]{weak} = constant {value=dense<4>, weak=true}
          %8: f32[4] = multiply %0, %0
          %9: f32[4] = multiply %8, %8
          %10: f64[]{weak} = constant {value=dense<0.5>, weak=true}
          %11: f32[4] = sqrt %0
          %12: i64[]{weak} = constant {value=dense<-1>, weak=true}
          %13: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %14: f32[4] = divide %13, %0
          %15: i64[]{weak} = constant {value=dense<-2>, weak=true}
          %16: f32[4] = multiply %0, %0
          %17: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %18: f32[4] = divide %17, %16
          return %0, %3, %6, %9, %11, %14, %18
        }
    """, exact=False)


def test_integer_powers():
    # i ** -1 raises for integers in NumPy: it must stay a pow (not become 1/i)
    g = run_pass(simplify, """
        func @f(%i: i32[4]) -> (i32[4], i32[4], i32[4]) {
          %0: i64[]{weak} = constant {value=dense<3>, weak=true}
          %1: i32[4] = pow %i, %0
          %2: i64[]{weak} = constant {value=dense<-1>, weak=true}
          %3: i32[4] = pow %i, %2
          %4: i64[]{weak} = constant {value=dense<0>, weak=true}
          %5: i32[4] = pow %i, %4
          return %1, %3, %5
        }
    """)
    assert print_graph(g) == ir("""
        func @f(%0: i32[4]) -> (i32[4], i32[4], i32[4]) {
          %1: i64[]{weak} = constant {value=dense<3>, weak=true}
          %2: i32[4] = multiply %0, %0
          %3: i32[4] = multiply %2, %0
          %4: i64[]{weak} = constant {value=dense<-1>, weak=true}
          %5: i32[4] = pow %0, %4
          %6: i64[]{weak} = constant {value=dense<0>, weak=true}
          %7: i32[4] = full {dtype=i32, shape=(4,), value=1}
          return %3, %5, %7
        }
    """)
    x = np.array([-3, 7, 1290, -2**20], np.int32)  # wraps around: x*x*x equals np.power exactly
    with np.errstate(all="ignore"):
        cube = dce(g.replace(outputs=g.outputs[:1]))  # i ** -1 would raise
        np.testing.assert_array_equal(run(cube, [x])[0], np.power(x, 3))


def test_movement_and_cast_identities():
    check_pass(simplify, """
        func @f(%x: f32[2,3]) -> (f32[2,3], f32[2,3], f32[2,3], f32[3,2], f32[2,3], f32[6]) {
          %0: f32[2,3] = cast %x {dtype=f32}
          %1: f32[2,3] = reshape %x {shape=(2, 3)}
          %2: f32[2,3] = broadcast_to %x {shape=(2, 3)}
          %3: f32[3,2] = permute_dims %x {axes=(1, 0)}
          %4: f32[2,3] = permute_dims %3 {axes=(1, 0)}
          %5: f32[3,2] = reshape %x {shape=(3, 2)}
          %6: f32[6] = reshape %5 {shape=(6,)}
          %7: f32[2,3] = permute_dims %x {axes=(0, 1)}
          return %0, %1, %2, %3, %4, %6
        }
    """, """
        func @f(%0: f32[2,3]) -> (f32[2,3], f32[2,3], f32[2,3], f32[3,2], f32[2,3], f32[6]) {
          %1: f32[3,2] = permute_dims %0 {axes=(1, 0)}
          %2: f32[3,2] = reshape %0 {shape=(3, 2)}
          %3: f32[6] = reshape %0 {shape=(6,)}
          return %0, %0, %0, %1, %0, %3
        }
    """)


def test_two_permutations_compose_into_one():
    check_pass(simplify, """
        func @f(%x: f32[2,3,4]) -> (f32[4,2,3], f32[2,2,3,4]) {
          %0: f32[3,4,2] = permute_dims %x {axes=(1, 2, 0)}
          %1: f32[4,2,3] = permute_dims %0 {axes=(1, 2, 0)}
          %2: f32[2,3,4] = broadcast_to %x {shape=(2, 3, 4)}
          %3: f32[2,2,3,4] = broadcast_to %2 {shape=(2, 2, 3, 4)}
          return %1, %3
        }
    """, """
        func @f(%0: f32[2,3,4]) -> (f32[4,2,3], f32[2,2,3,4]) {
          %1: f32[3,4,2] = permute_dims %0 {axes=(1, 2, 0)}
          %2: f32[4,2,3] = permute_dims %0 {axes=(2, 0, 1)}
          %3: f32[2,2,3,4] = broadcast_to %0 {shape=(2, 2, 3, 4)}
          return %2, %3
        }
    """)


def test_integer_zero_rules():
    check_pass(simplify, """
        func @f(%i: i32[4], %b: bool[4]) -> (i32[4], i32[4], i32[4], bool[4], i32[4]) {
          %0: i32[4] = subtract %i, %i
          %1: i64[]{weak} = constant {value=dense<0>, weak=true}
          %2: i32[4] = multiply %i, %1
          %3: i32[4] = subtract %1, %i
          %4: bool[]{weak} = constant {value=dense<false>, weak=true}
          %5: bool[4] = multiply %4, %b
          %6: i32[4] = bitwise_xor %i, %i
          return %0, %2, %3, %5, %6
        }
    """, """
        func @f(%0: i32[4], %1: bool[4]) -> (i32[4], i32[4], i32[4], bool[4], i32[4]) {
          %2: i32[4] = full {dtype=i32, shape=(4,), value=0}
          %3: i64[]{weak} = constant {value=dense<0>, weak=true}
          %4: i32[4] = full {dtype=i32, shape=(4,), value=0}
          %5: i32[4] = negative %0
          %6: bool[]{weak} = constant {value=dense<false>, weak=true}
          %7: bool[4] = full {dtype=bool, shape=(4,), value=false}
          %8: i32[4] = full {dtype=i32, shape=(4,), value=0}
          return %2, %4, %5, %7, %8
        }
    """)


FLOAT_ZERO_RULES = """
    func @f(%x: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], f32[4]) {
      %0: f32[4] = subtract %x, %x
      %1: f64[]{weak} = constant {value=dense<0.0>, weak=true}
      %2: f32[4] = multiply %x, %1
      %3: f32[4] = add %x, %1
      %4: f64[]{weak} = constant {value=dense<1.5>, weak=true}
      %5: f32[4] = pow %x, %4
      %6: f64[]{weak} = constant {value=dense<-0.5>, weak=true}
      %7: f32[4] = pow %x, %6
      return %0, %2, %3, %5, %7
    }
"""


def test_float_rewrites_that_change_results_wait_for_fastmath():
    # x-x is nan for inf, x*0 is nan for nan and inf (and -0.0 for negative x), x+0.0 is 0.0 for
    # x = -0.0, and x*sqrt(x) is nan for -inf where x**1.5 is inf: none may happen by default
    g = run_pass(simplify, FLOAT_ZERO_RULES)
    assert print_graph(g) == print_graph(parse_graph(ir(FLOAT_ZERO_RULES)))
    x = np.array([-0.0, np.nan, np.inf, -np.inf, 2.0], np.float32)
    diff, times0, plus0, _, _ = run(g, [x])
    assert np.isnan(diff[1:4]).all() and np.isnan(times0[1:4]).all()
    assert not np.signbit(plus0[0])


def test_fastmath_allows_the_float_rewrites():
    g = run_pass(fast_simplify, FLOAT_ZERO_RULES)
    assert print_graph(g) == ir("""
        func @f(%0: f32[4]) -> (f32[4], f32[4], f32[4], f32[4], f32[4]) {
          %1: f32[4] = full {dtype=f32, shape=(4,), value=0.0}
          %2: f64[]{weak} = constant {value=dense<0.0>, weak=true}
          %3: f32[4] = full {dtype=f32, shape=(4,), value=0.0}
          %4: f64[]{weak} = constant {value=dense<1.5>, weak=true}
          %5: f32[4] = sqrt %0
          %6: f32[4] = multiply %0, %5
          %7: f64[]{weak} = constant {value=dense<-0.5>, weak=true}
          %8: f32[4] = sqrt %0
          %9: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %10: f32[4] = divide %9, %8
          return %1, %3, %0, %6, %10
        }
    """)


def test_a_replacement_of_another_type_gets_a_cast_or_broadcast():
    check_pass(simplify, """
        func @f(%i: i32[4], %s: f64[]{weak}, %h: f32[4]) -> (f64[4], f64[], f32[3,4]) {
          %0: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %1: f64[4] = multiply %i, %0
          %2: f64[] = constant {value=dense<1.0>}
          %3: f64[] = multiply %s, %2
          %4: f32[3,4] = full {dtype=f32, shape=(3, 4), value=1.0}
          %5: f32[3,4] = multiply %h, %4
          return %1, %3, %5
        }
    """, """
        func @f(%0: i32[4], %1: f64[]{weak}, %2: f32[4]) -> (f64[4], f64[], f32[3,4]) {
          %3: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %4: f64[4] = cast %0 {dtype=f64}
          %5: f64[] = constant {value=dense<1.0>}
          %6: f64[] = cast %1 {dtype=f64}
          %7: f32[3,4] = full {dtype=f32, shape=(3, 4), value=1.0}
          %8: f32[3,4] = broadcast_to %2 {shape=(3, 4)}
          return %4, %6, %8
        }
    """)


def test_weak_results_stay_weak():
    # s * 1 with s a weak Python float: the result is s itself (same weak type)
    check_pass(simplify, """
        func @f(%s: f64[]{weak}) -> (f64[]{weak}, f64[]{weak}) {
          %0: i64[]{weak} = constant {value=dense<1>, weak=true}
          %1: f64[]{weak} = multiply %s, %0
          %2: i64[]{weak} = constant {value=dense<2>, weak=true}
          %3: f64[]{weak} = pow %s, %2
          return %1, %3
        }
    """, """
        func @f(%0: f64[]{weak}) -> (f64[]{weak}, f64[]{weak}) {
          %1: i64[]{weak} = constant {value=dense<1>, weak=true}
          %2: i64[]{weak} = constant {value=dense<2>, weak=true}
          %3: f64[]{weak} = multiply %0, %0
          return %0, %3
        }
    """)


def test_rules_run_to_a_fixpoint():
    check_pass(simplify, """
        func @f(%x: f32[4]) -> (f32[4]) {
          %0: f32[4] = negative %x
          %1: f32[4] = negative %0
          %2: f32[4] = negative %1
          %3: f32[4] = negative %2
          %4: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          %5: f32[4] = multiply %3, %4
          %6: f32[4] = multiply %4, %5
          return %6
        }
    """, """
        func @f(%0: f32[4]) -> (f32[4]) {
          %1: f32[4] = negative %0
          %2: f32[4] = negative %0
          %3: f64[]{weak} = constant {value=dense<1.0>, weak=true}
          return %0
        }
    """)


def test_self_rules():
    check_pass(simplify, """
        func @f(%x: f32[4], %c: bool[4], %i: u8[4]) -> (f32[4], f32[4], f32[4], u8[4], u8[4]) {
          %0: f32[4] = maximum %x, %x
          %1: f32[4] = minimum %x, %x
          %2: f32[4] = where %c, %x, %x
          %3: u8[4] = bitwise_and %i, %i
          %4: u8[4] = bitwise_or %i, %i
          return %0, %1, %2, %3, %4
        }
    """, """
        func @f(%0: f32[4], %1: bool[4], %2: u8[4]) -> (f32[4], f32[4], f32[4], u8[4], u8[4]) {
          return %0, %0, %0, %2, %2
        }
    """)


def test_unknown_and_unchanged_graphs_pass_through():
    g = verify(parse_graph(ir("""
        func @f(%x: f32[4]) -> (f32[4]) {
          %0: f32[4] = exp %x
          %1: f32[4] = add %0, %x
          return %1
        }
    """)))
    assert simplify(g) is g


def test_every_rule_line_states_its_identity():
    import inspect

    from tracefuse.passes import simplify as module

    source = inspect.getsource(inspect.getmodule(module))
    table = source[source.index("RULES: tuple"):source.index("\n)\n", source.index("RULES: tuple"))]
    lines = [line for line in table.splitlines()[1:] if line.strip()]
    assert len(lines) == len(RULES)
    assert all("# " in line and "->" in line.split("# ", 1)[1] for line in lines)


# --- x**k against np.power -------------------------------------------------------------------

SPECIAL = [-np.inf, np.inf, np.nan, -0.0, 0.0, -1.0, 1.0, -4.0, 4.0, 0.5, -0.5, 1e-30, 1e30,
           3e38, 1e-40]


def _pow_graph(dtype: str, k) -> Graph:
    short = {"float32": "f32", "float64": "f64"}[dtype]
    kt = "f64[]{weak}" if isinstance(k, float) else "i64[]{weak}"
    return verify(parse_graph(ir(f"""
        func @f(%x: {short}[1000]) -> ({short}[1000]) {{
          %0: {kt} = constant {{value=dense<{k!r}>, weak=true}}
          %1: {short}[1000] = pow %x, %0
          return %1
        }}
    """)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k", [-4, -3, -2, -1, 0, 1, 2, 3, 4, 0.5, 1.0, 2.0, -2.0])
def test_powers_agree_with_np_power(dtype, k, rng):
    g = _pow_graph(dtype, k)
    out = run_pass(simplify, print_graph(g))
    assert count(out, "pow") == 0
    x = np.concatenate([np.array(SPECIAL, dtype),
                        (rng.standard_normal(1000 - len(SPECIAL)) * 10).astype(dtype)])
    with np.errstate(all="ignore"):
        want = np.power(x, np.asarray(k, dtype))
        (got,) = run(out, [x])
    # NaN, inf and signed zeros agree exactly; finite values within a few ulps
    num = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(got[num]), np.signbit(want[num]))
    info = np.finfo(dtype)
    assert_close(got, want, rtol=4 * info.eps, atol=4 * info.smallest_subnormal, what=f"x**{k}")


@pytest.mark.parametrize("k", [1.5, 2.5, -0.5, -1.5])
def test_half_powers_are_fast_math_only(k, rng):
    g = _pow_graph("float64", k)
    assert count(run_pass(simplify, print_graph(g)), "pow") == 1
    out = run_pass(fast_simplify, print_graph(g))
    assert count(out, "pow") == 0 and count(out, "sqrt") == 1
    x = rng.uniform(0.01, 100, 1000)  # away from -inf and -0.0, where they differ
    with np.errstate(all="ignore"):
        assert_close(run(out, [x])[0], np.power(x, k), rtol=1e-14, what=f"x**{k}")


def test_computed_replacements_work_in_the_result_dtype():
    # 0 - x with a strong int64 zero and int8 x is int64: -(-128) must be 128, not int8's -128
    g = check_pass(simplify, """
        func @f(%x: i8[3]) -> (i64[3]) {
          %0: i64[] = constant {value=dense<0>}
          %1: i64[3] = subtract %0, %x
          return %1
        }
    """, """
        func @f(%0: i8[3]) -> (i64[3]) {
          %1: i64[] = constant {value=dense<0>}
          %2: i64[3] = cast %0 {dtype=i64}
          %3: i64[3] = negative %2
          return %3
        }
    """)
    np.testing.assert_array_equal(run(g, [np.array([-128, 5, 127], np.int8)])[0], [128, -5, -127])


@pytest.mark.parametrize("k", ["inf", "-inf", "nan", "1e+300"])
def test_odd_exponents_are_left_alone(k):
    g = run_pass(simplify, f"""
        func @f(%x: f64[3]) -> (f64[3]) {{
          %0: f64[]{{weak}} = constant {{value=dense<{k}>, weak=true}}
          %1: f64[3] = pow %x, %0
          return %1
        }}
    """)
    assert count(g, "pow") == 1


def _divide_graph(dtype: str, k: str, kt: str = "f64[]{weak}") -> str:
    short = {"float16": "f16", "float32": "f32", "float64": "f64"}[dtype]
    return f"""
        func @f(%x: {short}[1000]) -> ({short}[1000]) {{
          %0: {kt} = constant {{value=dense<{k}>, weak=true}}
          %1: {short}[1000] = divide %x, %0
          return %1
        }}
    """


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("k", ["8.0", "-0.25", "1024.0", "0.0009765625"])
def test_division_by_a_power_of_two_is_an_exact_multiply(dtype, k, rng):
    out = run_pass(simplify, ir(_divide_graph(dtype, k)))
    assert count(out, "divide") == 0 and count(out, "multiply") == 1
    info = np.finfo(dtype)
    with np.errstate(over="ignore"):  # SPECIAL's 3e38 is inf in float16
        special = np.array(SPECIAL, dtype)
    x = np.concatenate([special,  # inf, nan, -0.0, huge and subnormal values
                        np.array([info.smallest_subnormal, -info.smallest_subnormal,
                                  info.smallest_normal, info.max, -info.max], dtype),
                        (rng.standard_normal(980 - len(SPECIAL)) * 10).astype(dtype),
                        (rng.standard_normal(15) * float(info.smallest_normal)).astype(dtype)])
    with np.errstate(all="ignore"):
        want = x / np.asarray(float(k), dtype)
        (got,) = run(out, [x])
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)  # bit for bit: NaN at NaN, signs of zeros
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype,k", [("float32", "3.0"), ("float64", "0.1"),
                                     ("float16", "1e-07"),  # its inverse overflows float16
                                     ("float32", "1e-45"),  # a subnormal: 1/k overflows
                                     ("float32", "0.0"), ("float32", "inf"), ("float32", "nan")])
def test_other_divisors_stay_divisions(dtype, k):
    assert count(run_pass(simplify, ir(_divide_graph(dtype, k))), "divide") == 1


def test_a_reductions_result_divided_by_a_power_of_two_stays_a_division():
    """A mean's sum / 1024 runs once per row: rewriting it would make the layernorm kernel for
    1024 columns another kernel than for 1000 (a compile at each such change of shape)."""
    g = run_pass(simplify, ir("""
        func @f(%x: f32[8,1024]) -> (f32[8,1]) {
          %0: f32[8,1] = reduce_sum %x {axes=(1,), keepdims=true}
          %1: i64[]{weak} = constant {value=dense<1024>, weak=true}
          %2: f32[8,1] = divide %0, %1
          return %2
        }
    """))
    assert count(g, "divide") == 1 and count(g, "multiply") == 0
    import tracefuse as tx

    def layernorm(x):
        d = x - tx.mean(x, axis=-1, keepdims=True)
        return d / tx.sqrt(tx.mean(d * d, axis=-1, keepdims=True) + 1e-5)

    f = tx.function(layernorm, backend="numpy")
    shapes = [(4, 1024), (4, 1000)]
    texts = [f.lower(np.ones(s, np.float32)).ir("optimized") for s in shapes]
    assert [t.count("divide") for t in texts] == [3, 3], texts


def test_integer_division_by_two_converts_then_multiplies():
    # i32 / 2 is a float64 division of the converted operand: x_f64 * 0.5 is the same number
    g = run_pass(simplify, ir("""
        func @f(%x: i32[4]) -> (f64[4]) {
          %0: i64[]{weak} = constant {value=dense<2>, weak=true}
          %1: f64[4] = divide %x, %0
          return %1
        }
    """))
    assert count(g, "divide") == 0 and count(g, "cast") == 1
    x = np.array([-(2**31), -7, 3, 2**31 - 1], np.int32)
    np.testing.assert_array_equal(run(g, [x])[0], x / 2)
