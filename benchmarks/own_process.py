"""Each implementation of a `python -m tracefuse bench` workload timed in a process of its own,
as BENCHMARKS.md's side-by-side table was measured: XLA's thread pool, Numba's OpenMP threads and
OpenBLAS's threads each spin for a while after their work, and in one process they steal the
two cores from each other (the bench's in-process alternation measures that too, unevenly).

Per workload, `--rounds` rounds; in each, one fresh process per implementation (numpy,
tracefuse, jax; in turn, so a burst of load hits all), each doing a warm-up call and then
`--samples` timeit-style samples (calls looped to >= 0.05 s, GC off), printing its median. The
result is the median over rounds of those medians, with the spread of the rounds.

    python benchmarks/own_process.py [--only NAME ...] [--rounds 5] [--samples 15] [--json P]

(default: every workload that has a JAX version)

JAX is optional (`pip install jax`; not a dependency); jax runs with
`jax_cpu_enable_async_dispatch` off (its fastest synchronous call on the CPU) and
`jax_enable_x64` on (without it JAX computes `sumsq_f64` in float32, half the bytes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

CHILD = r"""
import gc, statistics, sys, time
impl, name, samples = sys.argv[1], sys.argv[2], int(sys.argv[3])
from tracefuse.tools.bench import workloads as W
w = W.get(name)
args = w.inputs("full")
if impl == "numpy":
    fn, call_args, sync = w.numpy, args, lambda r: r
elif impl == "tracefuse":
    fn, call_args, sync = w.compile("cpu"), args, lambda r: r
else:
    import jax, jax.numpy as jnp
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    jax.config.update("jax_enable_x64", True)  # float64 stays float64 (float32 stays float32)
    fn = jax.jit(w.jax(jnp))
    call_args = [jax.device_put(a) for a in args]
    sync = jax.block_until_ready
sync(fn(*call_args))
t = time.perf_counter(); sync(fn(*call_args)); dt = time.perf_counter() - t
number = max(1, int(0.05 / max(dt, 1e-7)))
gc.disable()
out = []
for _ in range(samples):
    t = time.perf_counter()
    for _ in range(number):
        sync(fn(*call_args))
    out.append((time.perf_counter() - t) / number)
print(statistics.median(out))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", default=["all"],
                   help="workload names (default: every workload with a JAX version)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--samples", type=int, default=15)
    p.add_argument("--impls", nargs="+", default=["numpy", "tracefuse", "jax"])
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.environ.get("PYTHONPATH", "")]))
    if a.only == ["all"]:
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from tracefuse.tools.bench.workloads import WORKLOADS
        a.only = [w.name for w in WORKLOADS if w.jax is not None]
    results = {}
    for name in a.only:
        runs: dict[str, list[float]] = {impl: [] for impl in a.impls}
        for _ in range(a.rounds):
            for impl in a.impls:
                r = subprocess.run([sys.executable, "-c", CHILD, impl, name, str(a.samples)],
                                   capture_output=True, text=True, env=env)
                if r.returncode:
                    print(f"{name} {impl} failed:\n{r.stderr[-2000:]}", file=sys.stderr)
                    return 1
                runs[impl].append(float(r.stdout.strip().splitlines()[-1]))
        results[name] = runs
        med = {impl: statistics.median(v) for impl, v in runs.items()}
        unit, scale = ("us", 1e6) if med["tracefuse"] < 1e-3 else ("ms", 1e3)
        cells = [f"{impl} {scale * m:.3g} {unit} [{scale * min(runs[impl]):.3g}-"
                 f"{scale * max(runs[impl]):.3g}]" for impl, m in med.items()]
        line = f"{name}: " + "  ".join(cells)
        if "jax" in med:
            line += f"  tracefuse vs jax: {med['jax'] / med['tracefuse']:.2f}x"
        print(line, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": platform.platform(), "cpus": os.cpu_count(),
                       "rounds": a.rounds, "samples": a.samples, "seconds": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
