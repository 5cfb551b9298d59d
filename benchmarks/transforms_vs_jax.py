"""Issue 14, item 6: tracefuse's gradients side by side with `jax.jit`, each in its own process,
NumPy eager with hand-written gradients as the common reference.

    python benchmarks/transforms_vs_jax.py [--only NAME] [--small] [--repeats N] [--json PATH]

The workloads are those of `tracefuse/tools/bench/workloads.py` (`gelu_grad`, `xent_grad`,
`mlp_grad`, `per_example_grad`): their NumPy versions are the gradients written out by hand,
their tracefuse versions `tx.grad` / `tx.vmap` of the loss (backend `--backend`, default cpu),
their JAX versions `jax.jit` of `jax.grad` / `jax.vmap` (JAX's default configuration: float32,
no x64). For each workload two fresh processes run one after the other:

- one times tracefuse and NumPy alternately, the other `jax.jit` and NumPy alternately, with the
  method of `python -m tracefuse bench` (tracefuse/tools/bench/runner.py, reused by
  benchmarks/vs_jax.py, which this script and control_flow_vs_jax.py share: first
  call, check against NumPy, rounds A, B, A, B, ... of samples that loop calls for >= 20 ms,
  medians, check again after timing, the held first result included);
- every result is checked against NumPy's before timing (same shape, dtype, allclose; a tuple
  array by array); a mismatch or an error stops that process with a loud message, its row says
  FAILED, and the exit status is 1.

Two ways to compare tracefuse with JAX, both printed (> 1: tracefuse is faster):
**normalized** = (NumPy / tracefuse in its process) / (NumPy / JAX in its process), the common
reference of the issue, which cancels a machine that got slower between the two processes; and
**direct** = JAX median / tracefuse median. When they fall on different sides of 1, the machine
drifted between the processes: run again on a quiet machine. "% floor" is bytes moved (inputs
read once + output written once) / median / the copy bandwidth floor, the floor that
`python -m tracefuse bench` uses (`--copy-gbs`, default runner.COPY_GBS, measured in
BENCHMARKS.md on the 2-core CI machine). Targets (issue 14): tracefuse at least as fast as JAX on
each (judged on the normalized ratio), and gelu_grad at >= 60 % of the floor; not judged with
--small. JAX is not a dependency of tracefuse: install it to run this.
"""


from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vs_jax  # noqa: E402

SPEC = vs_jax.Spec(
    names=("gelu_grad", "xent_grad", "mlp_grad", "per_example_grad"),
    script=os.path.abspath(__file__), mark="TRANSFORMS-VS-JAX ",
    title="tracefuse gradients vs jax.jit", description=__doc__.splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    return vs_jax.main(SPEC, argv)


if __name__ == "__main__":
    sys.exit(main())
