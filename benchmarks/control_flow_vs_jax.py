"""Issue 15, item 6: tracefuse's loops side by side with `jax.jit`, each in its own process,
NumPy eager (a Python loop of vectorized steps) as the common reference.

    python benchmarks/control_flow_vs_jax.py [--only NAME] [--small] [--repeats N] [--json PATH]

The workloads are those of `tracefuse/tools/bench/workloads.py`:

- `mandelbrot`: escape counts on a 1000x1000 float32 grid over [-2, 1] x [-1.5, 1.5], a
  `tx.fori_loop` of 100 elementwise steps (z = z^2 + c where |z| <= 2, count += |z| <= 2;
  complex numbers as two float32 arrays), int32 counts. Target: at least 3x `jax.jit` (XLA
  runs a loop of kernels there).
- `newton`: sqrt of 1M positive float32 by Newton's iteration in a `tx.while_loop` whose
  condition reduces (`any` element's step > 1e-6 relative). Target: as fast as `jax.jit`.
- `scan_recurrence`: `tx.scan` of h = tanh(h @ W + x_t @ U + b) over 1000 steps, h of 64
  float32, returning the final h and the stacked hs. Target: as fast as `jax.jit`.

Their JAX versions are `jax.jit` of `jax.lax.fori_loop` / `while_loop` / `scan` (JAX's default
configuration: float32, no x64); the tracefuse side uses backend `--backend` (default cpu).
For each workload two fresh processes run one after the other, one timing tracefuse and NumPy
alternately, the other `jax.jit` and NumPy alternately, with the method of
`python -m tracefuse bench` (benchmarks/vs_jax.py, shared with transforms_vs_jax.py: first
call, check against NumPy before and after timing, the held first result included, alternating
samples of >= 20 ms, medians); a mismatch or an error fails that row loudly and the exit
status is 1. A Mandelbrot count on the set's boundary is chaotic (one fused multiply-add changes
it: jax.jit on cpu gets 228 of the 10^6 counts off, 6 of the 3072 of --small), so that workload
allows 1 % of its counts off (`Workload.max_mismatch_frac`); the others are checked with
allclose.

Both comparisons with JAX are printed (> 1: tracefuse is faster): **normalized** = (NumPy /
tracefuse in its process) / (NumPy / JAX in its process), on which the targets are judged, and
**direct** = JAX median / tracefuse median; a note says when NumPy's time drifted by more than
10 % between the processes. None of the three has a bandwidth floor (compute-bound, or in
cache). Targets are not judged with --small. JAX is not a dependency of tracefuse: install it to
run this.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vs_jax  # noqa: E402

SPEC = vs_jax.Spec(
    names=("mandelbrot", "newton", "scan_recurrence"),
    script=os.path.abspath(__file__), mark="CONTROL-FLOW-VS-JAX ",
    title="tracefuse control flow vs jax.jit", description=__doc__.splitlines()[0],
    min_vs_jax={"mandelbrot": 3.0})


def main(argv: list[str] | None = None) -> int:
    return vs_jax.main(SPEC, argv)


if __name__ == "__main__":
    sys.exit(main())
