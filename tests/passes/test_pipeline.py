"""The optimization pipeline: its passes and their order, fast math reaching `simplify`, errors
naming the pass, every pass's graph as a stage of `@tx.function`, and the issue's examples
traced from Python."""

from dataclasses import dataclass

import numpy as np
import pytest
from passes_testlib import count, ir

import tracefuse as tx
from tracefuse.errors import VerificationError
from tracefuse.ir import Graph, parse_graph, verify
from tracefuse.passes import (OPTIMIZE, Pass, PassError, build_pipeline, dce, run_pipeline)

NAMES = ["fold-constants", "simplify", "fold-simplified", "cse", "licm", "hoist-xs", "dce", "remat",
         "fuse"]


@dataclass(frozen=True)
class Options:
    fastmath: bool = False


def optimized(cf) -> Graph:
    return verify(parse_graph(cf.ir("optimized", elide_constants=False)))


def test_pipeline_order_and_options():
    assert [p.name for p in OPTIMIZE] == NAMES
    assert [p.name for p in build_pipeline(Options())] == NAMES
    assert [p.name for p in build_pipeline(Options(fastmath=True))] == NAMES
    assert build_pipeline(Options()) == OPTIMIZE
    assert build_pipeline(Options(fastmath=True)) != OPTIMIZE


def test_a_failing_pass_is_named():
    def broken(graph):
        raise KeyError("no such value")

    g = verify(parse_graph(ir("""
        func @f(%x: f32[3]) -> (f32[3]) {
          %0: f32[3] = exp %x
          return %0
        }
    """)))
    with pytest.raises(PassError, match=r"pass 'broken-pass' failed on @f: KeyError") as info:
        run_pipeline(g, (Pass("dce", dce), Pass("broken-pass", broken)))
    assert isinstance(info.value.__cause__, KeyError)


def test_verify_each_catches_a_pass_that_breaks_the_ir():
    def drop_ops(graph):
        return graph.replace(ops=())

    g = verify(parse_graph(ir("""
        func @f(%x: f32[3]) -> (f32[3]) {
          %0: f32[3] = exp %x
          return %0
        }
    """)))
    run_pipeline(g, (Pass("drop", drop_ops),))  # not verified: no error
    with pytest.raises(PassError, match="pass 'drop'") as info:
        run_pipeline(g, (Pass("drop", drop_ops),), verify_each=True)
    assert isinstance(info.value.__cause__, VerificationError)


def test_every_pass_is_a_stage():
    @tx.function(backend="numpy")
    def f(x):
        return tx.exp(x) + tx.exp(x)

    cf = f.get_concrete_function(np.ones(3, np.float32))
    for name in ["traced", "optimized", "fused"] + NAMES:
        verify(parse_graph(cf.ir(name, elide_constants=False)))
    assert cf.ir("traced").count("exp") == 2
    assert cf.ir("cse").count("exp") == 1


# --- the examples, traced from Python ------------------------------------------------

def test_no_constant_multiply_is_left():
    @tx.function(backend="numpy")
    def f(x):
        two = tx.full((), 2.0, dtype=tx.float32)
        return x * (2.0 * 3.0) + x * (two * 3.0)

    cf = f.get_concrete_function(np.ones(3, np.float32))
    g = optimized(cf)
    producers = g.producers()
    for op in g.ops:
        if op.code.value == "multiply":  # every multiply reads x
            assert g.inputs[0] in op.inputs
            const = [producers[v] for v in op.inputs if v in producers]
            assert [c.attrs["value"].array.item() for c in const] == [6.0]
    assert count(g, "multiply") == 2
    np.testing.assert_array_equal(f(np.arange(3, dtype=np.float32)).numpy(), [0, 12, 24])


def test_exp_is_computed_once():
    @tx.function(backend="numpy")
    def f(x):
        return tx.exp(x) + tx.exp(x)

    cf = f.get_concrete_function(np.ones(3, np.float32))
    assert count(optimized(cf), "exp") == 1


def test_unused_computation_is_gone():
    @tx.function(backend="numpy")
    def f(x, y):
        unused = tx.sum(tx.exp(y) * 3)  # noqa: F841
        return x + 1

    g = optimized(f.get_concrete_function(np.ones(3), np.ones(3)))
    assert [op.code.value for op in g.ops] == ["constant", "add"]
    assert len(g.inputs) == 2  # the signature stays


def test_cube_becomes_multiplies():
    @tx.function(backend="numpy")
    def f(x):
        return x ** 3

    cf = f.get_concrete_function(np.ones(3, np.float32))
    g = optimized(cf)
    assert count(g, "pow") == 0 and count(g, "multiply") == 2
    x = np.array([1.5, -2.0, np.nan], np.float32)
    np.testing.assert_allclose(cf(x).numpy(), x ** 3, rtol=1e-6)


def test_zeros_plus_one_folds_to_a_fill():
    @tx.function(backend="numpy")
    def f():
        return tx.zeros((4096, 4096)) + 1

    g = optimized(f.get_concrete_function())
    assert [op.code.value for op in g.ops] == ["full"]
    assert g.ops[0].attrs["value"] == 1.0


# --- NaN and -0.0: float rewrites only under fast math ---------------------------------------

def test_plus_zero_keeps_negative_zero():
    @tx.function(backend="numpy")
    def f(x):
        return x + 0.0

    cf = f.get_concrete_function(np.zeros(2))
    assert count(optimized(cf), "add") == 1
    out = cf(np.array([-0.0, 1.0])).numpy()
    assert not np.signbit(out[0])  # -0.0 + 0.0 is 0.0


def test_times_zero_keeps_nan_and_inf():
    @tx.function(backend="numpy")
    def f(x):
        return x * 0, x - x

    cf = f.get_concrete_function(np.zeros(3))
    g = optimized(cf)
    assert count(g, "multiply") == 1 and count(g, "subtract") == 1
    prod, diff = cf(np.array([np.nan, np.inf, -2.0]))
    np.testing.assert_array_equal(prod.numpy(), [np.nan, np.nan, -0.0])
    assert np.signbit(prod.numpy()[2])
    np.testing.assert_array_equal(diff.numpy(), [np.nan, np.nan, 0.0])


def test_integer_zero_rules_apply_without_fast_math():
    @tx.function(backend="numpy")
    def f(i):
        return i * 0, i - i

    g = optimized(f.get_concrete_function(np.arange(3)))
    assert count(g, "multiply") == 0 and count(g, "subtract") == 0


def test_fastmath_enables_the_float_rewrites():
    def body(x):
        return x * 0, x - x, x + 0.0

    strict = tx.function(body, backend="numpy").get_concrete_function(np.zeros(3))
    fast = tx.function(body, fastmath=True, backend="numpy").get_concrete_function(np.zeros(3))
    assert [op.code.value for op in optimized(strict).ops] == [
        "constant", "multiply", "subtract", "constant", "add"]
    assert [op.code.value for op in optimized(fast).ops] == ["full"]
    out = [t.numpy() for t in fast(np.array([np.nan, -0.0, 2.0]))]
    np.testing.assert_array_equal(out[0], [0, 0, 0])
    np.testing.assert_array_equal(out[2], [np.nan, -0.0, 2.0])


def test_kernels_from_fusion_pass_through_every_pass():
    from tracefuse.passes import cse, fold_constants, simplify
    from tracefuse.passes.fuse import fuse

    g = verify(parse_graph(ir("""
        func @f(%x: f32[8]) -> (f32[8], f32[8]) {
          %0: f32[8] = exp %x
          %1: f32[8] = tanh %0
          %2: f32[8] = exp %x
          %3: f32[8] = tanh %2
          return %1, %3
        }
    """)))
    fused = verify(fuse(g))
    kernels = [op for op in fused.ops if op.code.value == "kernel"]
    assert kernels
    for p in (fold_constants, simplify, cse, dce):
        out = verify(p(fused))
        assert [op for op in out.ops if op.code.value == "kernel"] == kernels


def test_fusion_refusals_come_out_of_the_pipeline_not_the_graph():
    """The fuse pass's refusals are a report beside the graphs (`PipelineResult`), and
    `f.explain()` shows them from the concrete function; no graph carries them."""
    g = verify(parse_graph(ir("""
        func @f(%x: f32[6]) -> (f32[3]) {
          %0: f32[6] = exp %x
          %1: f32[3] = slice %0 {sizes=(3,), starts=(0,), steps=(2,)}
          %2: f32[3] = negative %1
          return %2
        }
    """)))
    result = run_pipeline(g, OPTIMIZE, verify_each=True)
    assert result.fusion_refusals == (
        "slice: a slice of a value computed in this kernel needs it in memory",)
    assert dict(result.reports) == {"fuse": result.fusion_refusals}
    assert not hasattr(result.graph, "meta")
    # a pipeline without fuse reports nothing
    assert run_pipeline(g, OPTIMIZE[:-1]).fusion_refusals == ()

    f = tx.function(lambda x: -tx.exp(x)[::2], backend="numpy")
    x = np.arange(6.0, dtype=np.float32)
    f(x)
    (cf,) = f.concrete_functions
    assert len(cf.fusion_refusals) == 1 and "needs it in memory" in cf.fusion_refusals[0]
    text = f.explain(x)
    assert "fusion refusals: 1" in text and cf.fusion_refusals[0] in text
