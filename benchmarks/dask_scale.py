"""Issue #20 item 5: gelu, a layernorm and a column variance over an array 4x larger than one
Dask worker's memory limit, on a 2-worker `distributed.LocalCluster`, with tracefuse chunk functions against the same
Dask graph with NumPy chunk functions (Dask's own array ops), and both against one process on a
slice that fits.

    python benchmarks/dask_scale.py [--limit-mib 256] [--times 4] [--chunk-rows 4096]
                                    [--persist] [--json P]

The input is drawn on the workers (`da.random.default_rng(seed).random(dtype=float32)`), or
with --persist drawn once and persisted on the cluster (4x the workers' memory: Dask spills
the chunks that do not fit to disk and reads them back for each run), the function applied,
and the result summed by Dask (`.sum().compute()`): every chunk is computed, nothing of the
4x-memory result is kept. The column variance (`tx.var(x, axis=0)` against Dask's own
`x.var(axis=0)`, both one pass over x with a pairwise combine) is computed whole. `input
only` times the same graph without the function
(`x.sum()`): drawing the input plus the scheduler's work, the overhead both sides pay. Per case
the median of `--repeat` computes (after one warm-up, which also compiles tracefuse's chunk
functions on each worker). Workers run one thread each with `NUMBA_NUM_THREADS=1` (two worker
processes on two cores); the one-process comparison uses both cores as a user would, and
again one thread (`numba.set_num_threads(1)`), as a worker does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tracefuse as tx  # noqa: E402

C = 0.7978845608
NAMES = ("gelu", "layernorm", "colvar")


def gelu_tx(x):
    return 0.5 * x * (1.0 + tx.tanh(C * (x + 0.044715 * x * x * x)))


def gelu_np(xp):
    def gelu(x):
        return 0.5 * x * (1.0 + xp.tanh(C * (x + 0.044715 * x * x * x)))
    return gelu


def layernorm_tx(x, g, b):
    mu = tx.mean(x, axis=-1, keepdims=True)
    d = x - mu
    var = tx.mean(d * d, axis=-1, keepdims=True)
    return d / tx.sqrt(var + 1e-5) * g + b


def layernorm_np(x, g, b):
    mu = x.mean(axis=-1, keepdims=True)
    d = x - mu
    var = (d * d).mean(axis=-1, keepdims=True)
    return d / np.sqrt(var + 1e-5) * g + b


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up: compiles, loads the workers
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit-mib", type=int, default=256, help="each worker's memory limit")
    p.add_argument("--times", type=float, default=4.0, help="data size / one worker's limit")
    p.add_argument("--cols", type=int, default=1024)
    p.add_argument("--chunk-rows", type=int, default=4096)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--persist", action="store_true",
                   help="persist the input on the cluster first (spilled to disk)")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    import dask.array as da
    from distributed import Client, LocalCluster

    rows = int(a.times * a.limit_mib * 2**20 / (4 * a.cols)) // a.chunk_rows * a.chunk_rows
    saved = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"  # the workers' kernels: one thread each
    try:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               memory_limit=f"{a.limit_mib}MiB", dashboard_address=None)
    finally:
        if saved is None:
            del os.environ["NUMBA_NUM_THREADS"]
        else:
            os.environ["NUMBA_NUM_THREADS"] = saved
    client = Client(cluster)
    rng = np.random.default_rng(0)
    g = rng.standard_normal(a.cols).astype(np.float32)
    b = rng.standard_normal(a.cols).astype(np.float32)

    def drawn():
        return da.random.default_rng(1).random((rows, a.cols), dtype=np.float32,
                                                chunks=(a.chunk_rows, a.cols)) * 8 - 4

    data = drawn
    if a.persist:
        from distributed import wait

        kept = drawn().persist()
        wait(kept)
        data = lambda: kept  # noqa: E731

    f_gelu = tx.function(gelu_tx, backend="cpu")
    f_ln = tx.function(layernorm_tx, backend="cpu")
    f_var = tx.function(lambda x: tx.var(x, axis=0), backend="cpu")
    cases = {
        "input only": lambda: data().sum().compute(),
        "gelu dask+numpy": lambda: gelu_np(da)(data()).sum().compute(),
        "gelu dask+tracefuse": lambda: f_gelu(data()).sum().compute(),
        "layernorm dask+numpy": lambda: layernorm_np(data(), g, b).sum().compute(),
        "layernorm dask+tracefuse": lambda: f_ln(data(), g, b).sum().compute(),
        "colvar dask+numpy": lambda: data().var(axis=0).compute(),
        "colvar dask+tracefuse": lambda: f_var(data()).compute(),
    }
    # the answers agree before anything is timed
    for name in NAMES:
        want = cases[f"{name} dask+numpy"]()
        got = cases[f"{name} dask+tracefuse"]()
        assert np.allclose(got, want, rtol=1e-3), (name, got, want)
    res = {k: timed(fn, a.repeat) for k, fn in cases.items()}
    client.close()
    cluster.close()
    # one process, a slice that fits: the single-machine ratio
    x = (np.random.default_rng(1).random((a.chunk_rows * 8, a.cols), dtype=np.float32) * 8 - 4)
    single = {
        "gelu numpy": lambda: gelu_np(np)(x), "gelu tracefuse": lambda: f_gelu(x),
        "layernorm numpy": lambda: layernorm_np(x, g, b),
        "layernorm tracefuse": lambda: f_ln(x, g, b),
        "colvar numpy": lambda: x.var(axis=0), "colvar tracefuse": lambda: f_var(x)}
    res.update({k + " (one process)": timed(fn, 5) for k, fn in single.items()})
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # as on a worker: one thread
    try:
        res.update({k + " (one thread)": timed(fn, 5) for k, fn in single.items()
                    if "tracefuse" in k})
    finally:
        numba.set_num_threads(threads)
    med = {k: statistics.median(v) for k, v in res.items()}
    gib = rows * a.cols * 4 / 2**30
    print(f"{rows} x {a.cols} float32 = {gib:.2f} GiB ({a.times:g}x a worker's "
          f"{a.limit_mib} MiB), chunks of {a.chunk_rows} rows, 2 workers x 1 thread, "
          f"{'persisted (spilled)' if a.persist else 'drawn on the workers'}; "
          f"{platform.machine()}, {os.cpu_count()} cpus")
    for k, v in med.items():
        print(f"  {k:36s} {v:8.3f} s" if "one " not in k else f"  {k:36s} {1e3 * v:8.2f} ms")
    over = med["input only"]
    for name in NAMES:
        dn, dt = med[f"{name} dask+numpy"], med[f"{name} dask+tracefuse"]
        sn, st = med[f"{name} numpy (one process)"], med[f"{name} tracefuse (one process)"]
        s1 = med[f"{name} tracefuse (one thread)"]
        net = (f"{(dn - over) / (dt - over):.2f}x" if dt - over > 0.05 * over else
               "n/a (tracefuse's work is within the overhead's noise)")
        print(f"  {name}: dask+tracefuse vs dask+numpy {dn / dt:.2f}x; without the input and "
              f"scheduler's {over:.2f} s: {net}; one "
              f"process {sn / st:.2f}x ({sn / s1:.2f}x on one thread, as a worker runs)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"rows": rows, "cols": a.cols, "limit_mib": a.limit_mib,
                       "persist": a.persist,
                       "chunk_rows": a.chunk_rows, "seconds": res}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
