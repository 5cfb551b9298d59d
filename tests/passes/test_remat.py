"""remat, text in and text out: a cheap elementwise chain used behind a matmul that depends on
it is recomputed next to its consumer (so fusion keeps it out of memory); chains with a
transcendental op, with two full-size arrays, or with no library op in between stay as they are.
And fusion keeps a transpose that only a matmul reads as a view (no copy kernel)."""

from passes_testlib import assert_same_results, check_pass, count, ir, run_pass

from tracefuse.ir import parse_graph
from tracefuse.passes import fuse, remat

RELU_BACKWARD = """
    func @f(%x: f32[4,3], %w: f32[3,5], %b: f32[5], %w2: f32[5,2], %y: f32[4,2]) -> (f32[4,2], f32[4,5]) {
      %0: f32[4,5] = matmul %x, %w
      %1: f32[4,5] = add %0, %b
      %2: f64[]{weak} = constant {value=dense<0.0>, weak=true}
      %3: f32[4,5] = maximum %1, %2
      %4: bool[4,5] = greater %1, %2
      %5: f32[4,2] = matmul %3, %w2
      %ct: f32[4,2] = subtract %5, %y
      %6: f32[2,5] = permute_dims %w2 {axes=(1, 0)}
      %7: f32[4,5] = matmul %ct, %6
      %8: f32[4,5] = where %4, %7, %2
      return %5, %8
    }
"""


def test_a_relu_mask_behind_the_backward_matmul_is_recomputed_there():
    g = check_pass(remat, RELU_BACKWARD, """
        func @f(%0: f32[4,3], %1: f32[3,5], %2: f32[5], %3: f32[5,2], %4: f32[4,2]) -> (f32[4,2], f32[4,5]) {
          %5: f32[4,5] = matmul %0, %1
          %6: f32[4,5] = add %5, %2
          %7: f64[]{weak} = constant {value=dense<0.0>, weak=true}
          %8: f32[4,5] = maximum %6, %7
          %9: f32[4,2] = matmul %8, %3
          %10: f32[4,2] = subtract %9, %4
          %11: f32[2,5] = permute_dims %3 {axes=(1, 0)}
          %12: f32[4,5] = matmul %10, %11
          %13: f32[4,5] = add %5, %2
          %14: bool[4,5] = greater %13, %7
          %15: f32[4,5] = where %14, %12, %7
          return %9, %15
        }
    """)
    # the forward kernel writes only relu(...) (the matmul needs it), not the mask
    fused = fuse(g)
    kernels = [op for op in fused.ops if op.code.value == "kernel"]
    assert [len(k.outputs) for k in kernels] == [1, 1, 1]


def test_without_a_library_op_in_between_nothing_changes():
    """The consumer reads a matmul, but the matmul does not depend on the chain: fusion can put
    the chain and its consumer in one kernel, so the graph stays as it is."""
    before = parse_graph(ir("""
        func @f(%x: f32[8], %w: f32[8,8]) -> (f32[8], f32[8]) {
          %0: f32[8] = add %x, %x
          %1: f32[8] = multiply %0, %x
          %2: f32[8] = matmul %w, %x
          %3: f32[8] = subtract %0, %2
          return %1, %3
        }
    """))
    assert remat(before) is before


def test_transcendental_chains_and_two_full_size_arrays_are_stored():
    text = """
        func @f(%x: f32[4,4], %y: f32[4,4], %w: f32[4,4]) -> (f32[4,4], f32[4,4], f32[4,4]) {
          %0: f32[4,4] = exp %x
          %1: f32[4,4] = add %x, %y
          %2: f32[4,4] = matmul %0, %w
          %3: f32[4,4] = matmul %1, %w
          %4: f32[4,4] = multiply %2, %0
          %5: f32[4,4] = multiply %3, %1
          return %4, %5, %2
        }
    """
    g = run_pass(remat, text)
    assert count(g, "exp") == 1 and count(g, "add") == 1


def test_remat_results_match_on_random_inputs():
    before = parse_graph(ir(RELU_BACKWARD))
    assert_same_results(before, remat(before), exact=True)


def test_a_transpose_only_a_matmul_reads_stays_a_view():
    fused = fuse(parse_graph(ir("""
        func @f(%x: f32[4,3], %ct: f32[4,2]) -> (f32[3,2]) {
          %0: f32[4,3] = tanh %x
          %1: f32[3,4] = permute_dims %0 {axes=(1, 0)}
          %2: f32[3,2] = matmul %1, %ct
          return %2
        }
    """)))
    kernels = [op for op in fused.ops if op.code.value == "kernel"]
    assert len(kernels) == 1 and kernels[0].outputs[0].type.shape == (4, 3)
    assert count(fused, "permute_dims") == 1  # a view between the kernel and the matmul
