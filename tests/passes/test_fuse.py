"""The fuse pass: text in, text out; kernel counts for the workloads; legality (cycles, index
maps); and fused graphs computing exactly what the unfused ones compute."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracefuse as tx
from tracefuse.backends.numpy.backend import Interpreter
from tracefuse.ir import OpCode, parse_graph, print_graph
from tracefuse.ir.verifier import verify
from tracefuse.passes.fuse import can_fuse, fuse, fuse_with_report


def fused_of(fn, *args):
    """(optimized graph, fused graph) of fn traced on args; checks both compute the same."""
    f = tx.function(fn, backend="numpy")
    cf = f.get_concrete_function(*args)
    optimized = cf._stages["optimized"]
    fused = verify(fuse(optimized))
    arrays = [np.asarray(a) for a in args]
    for a, b in zip(Interpreter(optimized)(arrays), Interpreter(fused)(arrays)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)  # same NumPy ops in the same order: bit-identical
    text = print_graph(fused)
    assert print_graph(parse_graph(text)) == text  # the fused IR round-trips
    return optimized, fused


def kernels(graph):
    return [op for op in graph.ops if op.code is OpCode.KERNEL]


def count(graph, code):
    return sum(op.code is code for op in graph.ops)


def test_text_in_text_out_elementwise_chain():
    source = """\
func @f(%0: f32[4,3], %1: f32[3]) -> (f32[4,3]) {
  %2: f32[4,3] = multiply %0, %1
  %3: f32[4,3] = exp %2
  %4: f32[4,3] = add %3, %0
  return %4
}
"""
    expected = """\
func @f(%0: f32[4,3], %1: f32[3]) -> (f32[4,3]) {
  %2: f32[4,3] = kernel @k0(%0, %1)
  return %2
}

kernel @k0 elementwise(%0: f32[4,3], %1: f32[3]) -> (f32[4,3]) over [d0=4, d1=3] {
  %2: f32[4,3] = multiply %0, %1 at [d0, d1]
  %3: f32[4,3] = exp %2 at [d0, d1]
  %4: f32[4,3] = add %3, %0 at [d0, d1]
  return %4
}
"""
    assert print_graph(fuse(parse_graph(source))) == expected


def test_text_in_text_out_row_kernel_and_materialized_value():
    source = """\
func @f(%0: f32[2,5]) -> (f32[2,5], f32[2,1]) {
  %1: f32[2,1] = reduce_max %0 {axes=(1,), keepdims=true}
  %2: f32[2,5] = subtract %0, %1
  %3: f32[2,5] = exp %2
  %4: f32[2,1] = reduce_sum %3 {axes=(1,), keepdims=true}
  %5: f32[2,5] = divide %3, %4
  return %5, %4
}
"""
    expected = """\
func @f(%0: f32[2,5]) -> (f32[2,5], f32[2,1]) {
  %1: f32[2,1], %2: f32[2,5] = kernel @k0(%0)
  return %2, %1
}

kernel @k0 row(%0: f32[2,5]) -> (f32[2,1], f32[2,5]) over [d0=2, d1=5] reduced [d1] {
  %1: f32[2,1] = reduce_max %0 {axes=(1,), keepdims=true} at [d0, 0] from [d0, d1]
  %2: f32[2,5] = subtract %0, %1 at [d0, d1]
  %3: f32[2,5] = exp %2 at [d0, d1]
  %4: f32[2,1] = reduce_sum %3 {axes=(1,), keepdims=true} at [d0, 0] from [d0, d1]
  %5: f32[2,5] = divide %3, %4 at [d0, d1]
  return %4, %5
}
"""
    assert print_graph(fuse(parse_graph(source))) == expected


def test_gelu_is_one_kernel():
    x = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    _, g = fused_of(lambda x: 0.5 * x * (1.0 + tx.tanh(0.7978845608 * (x + 0.044715 * x**3))), x)
    assert len(kernels(g)) == 1 and len(g.ops) == 1


def test_ten_op_chain_on_two_inputs_is_one_kernel():
    rng = np.random.default_rng(1)
    a, b = rng.random((32, 16), np.float32) + 0.5, rng.random((32, 16), np.float32) + 0.5

    def chain(a, b):
        return (a * b + tx.sin(a)) / (1 + tx.exp(-b)) - tx.sqrt(tx.abs(a)) + a * a - b / 3

    optimized, g = fused_of(chain, a, b)
    assert len(optimized.ops) >= 10
    assert len(kernels(g)) == 1 and len(g.ops) == 1


def test_sum_of_squares_is_one_kernel():
    x = np.random.default_rng(2).random(1000, np.float32)
    _, g = fused_of(lambda x: tx.sum(x * x), x)
    assert len(g.ops) == 1 and kernels(g)[0].attrs["kind"] == "reduction"


def test_pairwise_distance_sum_is_one_kernel_without_2d_intermediate():
    rng = np.random.default_rng(3)
    a, b = rng.random(64, np.float32), rng.random(64, np.float32)
    _, g = fused_of(lambda a, b: tx.sum(tx.abs(a[:, None] - b[None, :]), axis=0), a, b)
    assert len(g.ops) == 1
    (k,) = kernels(g)
    assert [v.type.shape for v in k.outputs] == [(64,)]  # nothing 2-D leaves the kernel
    assert all(len(v.type.shape) == 1 for v in k.inputs)


def test_softmax_is_one_row_kernel():
    x = np.random.default_rng(4).standard_normal((16, 32)).astype(np.float32)

    def softmax(x):
        e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
        return e / tx.sum(e, axis=-1, keepdims=True)

    _, g = fused_of(softmax, x)
    assert len(g.ops) == 1 and kernels(g)[0].attrs["kind"] == "row"


def test_layernorm_is_at_most_two_kernels():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 32)).astype(np.float32)
    gamma, beta = rng.random(32, np.float32), rng.random(32, np.float32)

    def layernorm(x, gamma, beta):
        mu = tx.mean(x, axis=-1, keepdims=True)
        var = tx.var(x, axis=-1, keepdims=True)
        return (x - mu) / tx.sqrt(var + 1e-5) * gamma + beta

    _, g = fused_of(layernorm, x, gamma, beta)
    assert len(kernels(g)) <= 2 and len(g.ops) == len(kernels(g))


def test_mlp_is_two_matmuls_and_two_kernels():
    rng = np.random.default_rng(6)
    x = rng.random((8, 16), np.float32)
    w1, w2 = rng.random((16, 32), np.float32), rng.random((32, 4), np.float32)
    b1, b2 = rng.random(32, np.float32), rng.random(4, np.float32)
    _, g = fused_of(lambda x, w1, b1, w2, b2: tx.maximum(x @ w1 + b1, 0.0) @ w2 + b2,
                    x, w1, b1, w2, b2)
    assert count(g, OpCode.MATMUL) == 2 and len(kernels(g)) == 2 and len(g.ops) == 4


def test_no_cycle_through_a_matmul():
    rng = np.random.default_rng(7)
    x, w = rng.random((4, 4), np.float32), rng.random((4, 4), np.float32)
    # y feeds a matmul whose result meets y again: putting the add into y's kernel would
    # make that kernel both feed and read the matmul
    optimized, g = fused_of(lambda x, w: (lambda y: y + y @ w)(tx.exp(x)), x, w)
    assert count(g, OpCode.MATMUL) == 1 and len(kernels(g)) == 2
    assert any("cycle" in r for r in fuse_with_report(optimized)[1])


def test_slice_of_a_computed_value_ends_the_kernel_with_a_reason():
    x = np.random.default_rng(8).random(10, np.float32)
    optimized, g = fused_of(lambda x: tx.exp(x)[::2] + 1, x)
    assert len(kernels(g)) == 2
    assert any("slice" in r and "memory" in r for r in fuse_with_report(optimized)[1])


def test_transpose_and_unit_reshape_of_computed_values_stay_in_the_kernel():
    rng = np.random.default_rng(9)
    x, y = rng.random((3, 4), np.float32), rng.random((4, 3), np.float32)
    _, g = fused_of(lambda x, y: tx.exp(x).T * 2 + y, x, y)
    assert len(kernels(g)) == 1 and len(g.ops) == 1

    def softmax_without_keepdims(x):
        e = tx.exp(x - tx.max(x, axis=1)[:, None])
        return e / tx.sum(e, axis=1)[:, None]

    _, g = fused_of(softmax_without_keepdims, x)
    assert len(kernels(g)) == 1 and len(g.ops) == 1


def test_outputs_that_are_views_get_a_copy_kernel():
    x = np.random.default_rng(10).random((3, 4), np.float32)
    _, g = fused_of(lambda x: (x.T, x[:, ::-1]), x)
    assert len(kernels(g)) == 2 and all(k.attrs["kind"] == "elementwise" for k in kernels(g))


def test_two_reductions_over_different_axes_are_two_kernels():
    x = np.random.default_rng(11).random((5, 6), np.float32)
    _, g = fused_of(lambda x: (tx.sum(x * x, axis=0), tx.max(x * x, axis=1)), x)
    assert len(kernels(g)) == 2


def test_can_fuse_gives_reasons():
    source = """\
func @f(%0: f32[6]) -> (f32[3]) {
  %1: f32[6] = exp %0
  %2: f32[3] = slice %1 {sizes=(3,), starts=(0,), steps=(2,)}
  return %2
}
"""
    g = parse_graph(source)
    producer, consumer = g.ops
    assert "memory" in can_fuse(g, producer, consumer)
    source_ok = source.replace("slice %1 {sizes=(3,), starts=(0,), steps=(2,)}", "exp %1") \
        .replace("%2: f32[3]", "%2: f32[6]").replace("-> (f32[3])", "-> (f32[6])")
    g = parse_graph(source_ok)
    assert can_fuse(g, *g.ops) is None


def test_fused_graph_keeps_outputs_and_removes_nothing_needed():
    x = np.random.default_rng(12).random((4, 4), np.float32)
    _, g = fused_of(lambda x: (x * 2, tx.sum(x * 2), x * 2 + 1, x), x)
    assert len(g.outputs) == 4


UNARY = ["exp", "tanh", "abs", "negative", "sin", "square", "sqrt"]
BINARY = ["add", "subtract", "multiply", "maximum", "divide"]


@st.composite
def programs(draw):
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    steps = []
    for i in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["unary", "binary", "binary", "reduce", "transpose"]))
        a = draw(st.integers(0, i + 1))
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(UNARY)), a))
        elif kind == "binary":
            steps.append(("binary", draw(st.sampled_from(BINARY)), a, draw(st.integers(0, i + 1))))
        elif kind == "reduce":
            steps.append(("reduce", draw(st.sampled_from(["sum", "max"])), a,
                          draw(st.sampled_from([0, 1, None]))))
        else:
            steps.append(("transpose", None, a))
    return rows, cols, steps


def run_steps(steps, x, y):
    values = [x, y]
    for step in steps:
        kind, name, a = step[:3]
        v = values[a]
        if kind == "unary":
            out = getattr(tx, name)(v)
        elif kind == "binary":
            w = values[step[3]]
            try:
                out = getattr(tx, name)(v, w)
            except ValueError:  # shapes that do not broadcast: keep v
                out = v
        elif kind == "reduce":
            axis = step[3] if v.ndim == 2 else None
            out = getattr(tx, name)(v, axis=axis, keepdims=True)
        else:
            out = v.T if v.ndim == 2 else v
        values.append(out)
    return tuple(values[2:])


@settings(max_examples=150, deadline=None)
@given(programs(), st.integers(0, 2**32 - 1))
def test_random_programs_fuse_to_the_same_results(program, seed):
    rows, cols, steps = program
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 2, (rows, cols)).astype(np.float32)
    y = rng.uniform(0.1, 2, (rows, cols)).astype(np.float32)
    fused_of(lambda x, y: run_steps(steps, x, y), x, y)


def _programs_for_index_maps():
    """name -> (function, input shape): kernels of every kind and layout."""
    def layernorm(x):
        mu = tx.mean(x, axis=-1, keepdims=True)
        return (x - mu) / tx.sqrt(tx.var(x, axis=-1, keepdims=True) + 1e-5) * 0.5 + 0.25

    return {
        "broadcasting": (lambda x: tx.exp(x[:, None, :] * x[0]) + tx.sin(x[:1]), (3, 4)),
        "transposed_input": (lambda x: x * x.T + tx.reshape(x.T, (9,))[1::3] + tx.exp(x).T,
                             (3, 3)),
        "softmax": (lambda x: tx.exp(x - tx.max(x, axis=-1, keepdims=True))
                    / tx.sum(tx.exp(x - tx.max(x, axis=-1, keepdims=True)), axis=-1,
                             keepdims=True), (4, 4)),
        "layernorm": (layernorm, (5, 6)),
        "row_then_other_use": (lambda x: x + tx.sum(x, axis=-1, keepdims=True) + tx.tanh(x),
                               (4, 4)),
        # the row sum broadcasts along the *last* axis: read transposed (a real bug, 3x3)
        "row_sum_read_transposed": (lambda x: x + tx.sum(x, axis=-1) + tx.tanh(x), (3, 3)),
        "sum_and_max": (lambda x: tx.sum(x) + tx.max(x) * tx.mean(x * x), (4, 4)),
        "prologue_reduction_epilogue": (lambda x: tx.sqrt(tx.sum(tx.exp(x) * 2, axis=0)) + 1,
                                        (5, 3)),
        "leading_axis": (lambda x: tx.abs(x) - tx.mean(x, axis=0, keepdims=True) * x, (4, 4)),
        "copy_of_a_view": (lambda x: (x.T, x[:, ::-1]), (3, 4)),
        "scalar_and_iota": (lambda x: x * tx.arange(4.0, dtype=tx.float32) + 2, (3, 4)),
    }


def _loop_kernel_shape(lk):
    """A LoopKernel with its Values replaced by positions (Values are identities)."""
    where = {v: f"input{i}" for i, v in enumerate(lk.inputs)}
    where.update({op.output: f"view{i}" for i, op in enumerate(lk.views)})
    views = [(op.code, tuple(where[v] for v in op.inputs), op.attrs) for op in lk.views]
    return (lk.name, lk.kind, views, [where[v] for v in lk.arrays], lk.outer, lk.reduced,
            lk.sizes, lk.nodes, lk.outputs)


@pytest.mark.parametrize("name", sorted(_programs_for_index_maps()))
def test_printed_fused_ir_alone_rebuilds_the_same_kernels(name):
    """A kernel op carries its index maps as attributes (`over [...]`, `at [...]`, `from
    [...]` in the text): they round-trip through the text, and `parse(print(fused))` lowers to
    the same LoopKernels and the same Numba and CUDA sources as the graph fusion built."""
    from tracefuse.backends.cuda.render import render_cuda
    from tracefuse.backends.loops import lower_kernel
    from tracefuse.backends.numba.render import NumbaRenderer
    from tracefuse.ir.printer import KERNEL_LAYOUT_ATTRS

    fn, shape = _programs_for_index_maps()[name]
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    _, fused = fused_of(fn, x)
    text = print_graph(fused)
    parsed = parse_graph(text)
    assert print_graph(parsed) == text
    assert " over [" in text
    pairs = list(zip(kernels(fused), kernels(parsed), strict=True))
    assert pairs
    for op, again in pairs:
        for key in KERNEL_LAYOUT_ATTRS + ("kind", "name"):
            assert again.attrs[key] == op.attrs[key], key
        lowered = [lower_kernel(k) for k in (op, again)]
        assert _loop_kernel_shape(lowered[0]) == _loop_kernel_shape(lowered[1])
        sources = [NumbaRenderer().render(lk, "kernel", False) for lk in lowered]
        assert sources[0] == sources[1]
        cuda = [render_cuda(lk, op.attrs["name"]).source for lk in lowered]
        assert cuda[0] == cuda[1]


def test_row_sum_read_transposed_keeps_its_map_in_the_text():
    """`x + sum(x, -1)` on 3x3: the row sums run along d0 but are added along the last axis,
    so they are read transposed; the text says which axis each value runs along."""
    fn, shape = _programs_for_index_maps()["row_sum_read_transposed"]
    _, fused = fused_of(fn, np.arange(9, dtype=np.float32).reshape(shape))
    text = print_graph(fused)
    assert "kernel @k0 row(%0: f32[3,3]) -> (f32[3,3]) over [d0=3, d1=3] reduced [d1] {" in text
    assert "reduce_sum %0 {axes=(1,), keepdims=false} at [d0] from [d0, d1]" in text
    # the sum (along d0) broadcast along the last dimension: the add runs over [d1, d0]
    assert "= add %0, %1 at [d1, d0]" in text
    x = np.arange(9, dtype=np.float32).reshape(shape)
    f = tx.function(fn, backend="numpy")
    np.testing.assert_allclose(f(x).numpy(), x + x.sum(-1) + np.tanh(x), rtol=1e-6)


def test_fuse_is_fuse_with_report_without_the_report():
    x = np.random.default_rng(8).random(10, np.float32)
    optimized, fused = fused_of(lambda x: tx.exp(x)[::2] + 1, x)
    again, refusals = fuse_with_report(optimized)
    assert print_graph(again) == print_graph(fused)
    assert refusals == ("slice (" + refusals[0].split("(", 1)[1],)
    assert refusals[0].endswith("a slice of a value computed in this kernel needs it in memory")


def test_updates_over_unrelated_shapes_stay_apart_and_share_a_scalar_from_memory():
    """Two parameter updates of shapes (64, 256) and (256, 10) reading one scalar computed in
    the function (an optimizer's learning-rate factor): each update is its own kernel over its
    own loops (merged, the loops would nest over all four axes: 64*256*256*10 iterations), and
    the scalar is computed once and read by both."""
    def update(w1, g1, w2, g2, lr, t):
        alpha = lr * tx.sqrt(1.0 - 0.999 ** t) / (1.0 - 0.9 ** t)
        return w1 - alpha * g1, w2 - alpha * g2

    rng = np.random.default_rng()
    args = [rng.standard_normal(s).astype(np.float32) for s in [(64, 256)] * 2 + [(256, 10)] * 2]
    args += [np.float32(0.01), np.float32(3.0)]
    _, graph = fused_of(update, *args)
    ks = kernels(graph)
    spaces = sorted(tuple(k.attrs["space"]) for k in ks)
    assert (64, 256) in spaces and (256, 10) in spaces, print_graph(graph)
    assert all(len(s) <= 2 for s in spaces), print_graph(graph)
    scalar = [k for k in ks if k.attrs["space"] == ()]
    assert len(scalar) == 1, print_graph(graph)
    readers = [k for k in ks if any(v in scalar[0].outputs for v in k.inputs)]
    assert len(readers) == 2
    out = tx.function(update, backend="cpu")(*args)
    expected = update(*[tx.asarray(a) for a in args])
    for o, e in zip(out, expected):
        np.testing.assert_allclose(o.numpy(), e.numpy(), rtol=1e-6)
