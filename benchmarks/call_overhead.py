"""The cost of one cached call: a trivial compiled function (gelu of 1,000 float32 elements) on
tracefuse's `cpu` backend against `jax.jit` on JAX's CPU backend, in one process.

Each round times a batch of calls of each candidate in turn (alternately, so a burst of load on
a shared machine hits all), and reports the median over rounds of the per-call time of a batch.
Every call returns a fresh array, computed: JAX's is waited for (`block_until_ready`), and JAX
runs with `jax_cpu_enable_async_dispatch` off (its CPU computation runs in the calling thread,
as ours does; its fastest synchronous call here) unless `--jax-async` (then each call hands the
work to JAX's thread and waits for it). "executable" is tracefuse's backend alone (the
concrete function's loaded executable on the input array, no key, no Tensor): what the call
path around it costs is the difference.

    python benchmarks/call_overhead.py [--rounds 200] [--batch 200] [--repeat 3] [--profile]

`--profile` prints cProfile's view of tracefuse's cached call path instead. JAX is optional:
`pip install jax` (never a dependency of the package).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tracefuse as tx

N = 1000


def gelu_tx(x):
    inner = 0.7978845608 * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + tx.tanh(inner))


def candidates(x: np.ndarray, jax_async: bool) -> dict:
    f = tx.function(gelu_tx, backend="cpu")
    f(x)
    executable = f.get_concrete_function(x).load()
    out = {"tracefuse cpu": lambda: f(x), "(executable)": lambda: executable([x])}
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("jax is not installed: tracefuse only (pip install jax)")
        return out
    jax.config.update("jax_cpu_enable_async_dispatch", jax_async)

    @jax.jit
    def gelu_jax(v):
        inner = 0.7978845608 * (v + 0.044715 * v**3)
        return 0.5 * v * (1.0 + jnp.tanh(inner))

    xj = jax.device_put(x)
    out["jax.jit cpu" + (" async" if jax_async else "")] = lambda: gelu_jax(xj).block_until_ready()
    return out


def measure(fns: dict, rounds: int, batch: int) -> dict[str, float]:
    for fn in fns.values():  # compile and warm up
        for _ in range(batch):
            fn()
    per_call: dict[str, list[float]] = {name: [] for name in fns}
    clock = time.perf_counter
    for _ in range(rounds):
        for name, fn in fns.items():
            start = clock()
            for _ in range(batch):
                fn()
            per_call[name].append((clock() - start) / batch)
    return {name: statistics.median(ts) for name, ts in per_call.items()}


def profile(fn, calls: int = 200_000) -> None:
    import cProfile
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    for _ in range(calls):
        fn()
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="measure this many times")
    parser.add_argument("--jax-async", action="store_true", help="JAX's default async dispatch")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    x = np.random.default_rng(0).standard_normal(N).astype(np.float32)
    fns = candidates(x, args.jax_async)
    if args.profile:
        profile(fns["tracefuse cpu"])
        return 0
    print(f"gelu of {N} float32, cached call, median of {args.rounds} batches of {args.batch} "
          f"calls, measured alternately; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}")
    for i in range(args.repeat):
        result = measure(fns, args.rounds, args.batch)
        print(f"  run {i + 1}: " + "   ".join(f"{name} {t * 1e6:6.2f} µs"
                                             for name, t in result.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
