"""The command line: `python -m tracefuse demo | ir FILE | bench | fuzz | cache info|clear`.

- `demo`: a few eager ops, then a compiled function, its IR at each stage, and its result
  checked against NumPy. Exits non-zero if any result disagrees.
- `ir FILE`: parse an IR text file, verify it, and print it back (a round trip): any `.ir`
  file of a dump folder (TRACEFUSE_DUMP_DIR); its kernel sources (`.py`, `.cu`) are not IR.
- `bench`: time tracefuse against NumPy eager (and numexpr, JAX when installed) on the
  workloads of BENCHMARKS.md; see `tracefuse/tools/bench/runner.py` and `bench --help`.
- `profile [--plot PATH] SCRIPT [ARGS]`: run a Python script with every compiled function timed
  step by step (compiler/profile.py) and print the `f.profile` table of each at exit; `--plot`
  also draws them all in one figure, a subplot per function (compiler/profile_plot.py).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


DEMO_SOURCE = """
@tx.function(backend=BACKEND)
def gelu(x):
    inner = 0.7978845608 * (x + 0.044715 * x**3)
    return 0.5 * x * (1.0 + tx.tanh(inner))

def gelu_np(x):
    inner = np.float32(0.7978845608) * (x + np.float32(0.044715) * x**3)
    return np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))
"""


def _median_time(fn, *args, repeats: int = 7) -> float:
    import time

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def demo(backend: str) -> int:
    import tracefuse as tx

    rng = np.random.default_rng(0)
    failures = 0

    def report(name: str, got, expected, rtol: float = 1e-5) -> None:
        nonlocal failures
        got = np.asarray(got)
        ok = got.dtype == expected.dtype and got.shape == expected.shape and np.allclose(
            got, expected, rtol=rtol, atol=1e-6, equal_nan=True)
        failures += not ok
        print(f"  {'ok ' if ok else 'BAD'} {name}: {got.dtype}{list(got.shape)}"
              f"{'' if ok else f' expected {expected.dtype}{list(expected.shape)}'}")

    _section("eager mode: every op runs at once and returns a tx.Tensor")
    a_np = rng.standard_normal((3, 4)).astype(np.float32)
    a = tx.asarray(a_np)
    b = a * 2.0 + 1  # Python scalars are weak: the result stays float32
    print("  a * 2.0 + 1 =", repr(b))
    report("a * 2.0 + 1", b, a_np * 2.0 + 1)
    report("tx.sum(tx.exp(a), axis=1)", tx.sum(tx.exp(a), axis=1), np.sum(np.exp(a_np), axis=1))
    report("a.T @ a", a.T @ a, a_np.T @ a_np, rtol=1e-4)
    report("a[::-1, 1:3]", a[::-1, 1:3], a_np[::-1, 1:3])

    _section(f"@tx.function(backend={backend!r}): trace once, run compiled")
    print("\n".join("  | " + line for line in DEMO_SOURCE.strip().splitlines()))
    namespace: dict = {"tx": tx, "np": np, "BACKEND": backend}
    exec(compile(DEMO_SOURCE, "demo.py", "exec"), namespace)  # so the IR shows demo.py:N
    gelu, gelu_np = namespace["gelu"], namespace["gelu_np"]

    x_np = rng.standard_normal(1024).astype(np.float32)
    report("gelu(x)", gelu(x_np), gelu_np(x_np))
    report("gelu(x) again (cache hit)", gelu(x_np * 2), gelu_np(x_np * 2))
    print(f"  traces so far: {gelu.trace_count}")
    cf = gelu.get_concrete_function(x_np)
    for stage in ("traced", "optimized", "fused"):
        _section(f"IR after stage '{stage}'")
        print(cf.ir(stage), end="")
    _section("f.explain() for a new input shape")
    print(gelu.explain(np.ones((8, 128), np.float32)))

    _section(f"speed: compiled (backend {backend!r}) vs NumPy eager, gelu on 4M float32")
    big = rng.standard_normal(1 << 22).astype(np.float32)
    report("gelu(big)", gelu(big), gelu_np(big))
    t_np, t_tx = _median_time(gelu_np, big), _median_time(gelu, big)
    print(f"  NumPy eager {t_np * 1e3:8.2f} ms   tracefuse {t_tx * 1e3:8.2f} ms   "
          f"speedup {t_np / t_tx:5.1f}x   (median of 7, measured side by side)")

    _section("result")
    if failures:
        print(f"{failures} result(s) disagree with NumPy")
        return 1
    print("all results match NumPy")
    return 0


# the suffixes of generated kernel sources in a dump folder (each backend's `source_suffix`)
KERNEL_SOURCES = {".py": "Numba (Python)", ".cu": "CUDA C", ".txt": "kernel"}


def ir_roundtrip(path: str) -> int:
    from .ir import print_graph
    from .ir.parser import parse_graph
    from .ir.verifier import verify

    language = KERNEL_SOURCES.get(os.path.splitext(path)[1])
    if language is not None and ".kernel" in os.path.basename(path):
        print(f"{path} is the source of a generated kernel ({language}), not tracefuse IR; "
              "the IR of each stage is in the .ir files beside it", file=sys.stderr)
        return 2
    with open(path) as f:
        graph = verify(parse_graph(f.read()))
    print(print_graph(graph), end="")
    return 0


def profile_script(script: str, script_args: list[str], plot_path: str | None = None) -> int:
    """Run `script` as __main__ (with `script_args` as its sys.argv[1:]) with profiles
    recorded; print each compiled function's table, even when the script fails or exits; with
    `plot_path`, also draw every profile in one figure there, a subplot each."""
    import runpy

    from . import config
    from .compiler.profile import recorded_profiles
    from .compiler.profile_plot import check_can_plot, plot_profiles

    if plot_path is not None:
        try:  # before the script runs, not after
            check_can_plot("--plot", plot_path)
        except (ImportError, ValueError) as e:
            print(f"python -m tracefuse profile: {e}", file=sys.stderr)
            return 2
    recorded_profiles()  # drop what an earlier run in this process left
    config.record_profiles(True)
    saved = sys.argv
    sys.argv = [script, *script_args]
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = saved
        config.record_profiles(False)
        profiles = recorded_profiles()
        _section(f"tracefuse profile of {script}: {len(profiles)} compiled functions called")
        for p in profiles:
            print(p, end="\n\n")
        if plot_path is not None and profiles:
            plot_profiles(profiles, plot_path)
            print(f"wrote {plot_path}: {len(profiles)} profiles, one subplot each")
        elif plot_path is not None:
            print(f"no compiled function was called: {plot_path} not written")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracefuse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="eager ops, a compiled function, its IR, checked against NumPy")
    p_demo.add_argument("--backend", default=None, help="backend for the compiled part (default: TRACEFUSE_BACKEND or cpu)")
    p_ir = sub.add_parser("ir", help="parse, verify and print an IR text file")
    p_ir.add_argument("file")
    p_cache = sub.add_parser("cache", help="show or empty the on-disk kernel cache")
    p_cache.add_argument("action", choices=("info", "clear"))
    p_bench = sub.add_parser("bench", help="time tracefuse against NumPy eager (and numexpr, JAX)")
    from .tools.bench.runner import add_arguments as add_bench_arguments

    add_bench_arguments(p_bench)
    p_fuzz = sub.add_parser("fuzz", help="differential fuzzing: random programs vs NumPy (tracefuse/tools/fuzz_run.py)")
    from .tools.fuzz_run import add_arguments as add_fuzz_arguments

    add_fuzz_arguments(p_fuzz)
    p_profile = sub.add_parser("profile", help="run a script; print the f.profile table of every compiled function it called")
    p_profile.add_argument("--plot", metavar="PATH", default=None,
                           help="also draw each profile's time by step to PATH, one figure with a "
                                "subplot per function (needs matplotlib: pip install "
                                "'tracefuse[plot]')")
    p_profile.add_argument("script")
    p_profile.add_argument("script_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "profile":
        return profile_script(args.script, args.script_args, args.plot)
    if args.command == "demo":
        from . import config

        return demo(args.backend or config.default_backend())
    if args.command == "cache":
        from .backends import kernel_cache

        if args.action == "clear":
            print(f"removed {kernel_cache.clear_cache()} cached kernels")
            for name, what in kernel_cache.OTHER_FOLDERS.items():
                print(f"removed {kernel_cache.clear_folder(name)} files: {what}")
        else:
            info = kernel_cache.cache_info()
            print(f"kernel cache: {info['folder']}\n  {info['kernels']} kernels, "
                  f"{info['bytes'] / 2**20:.1f} MiB of {info['limit'] / 2**20:.0f} MiB allowed")
            for name, what in kernel_cache.OTHER_FOLDERS.items():
                folder, n, size = kernel_cache.folder_info(name)
                print(f"{what}: {folder}\n  {n} files, {size / 2**20:.1f} MiB")
        return 0
    if args.command == "fuzz":
        from .tools import fuzz_run

        return fuzz_run.main(args)
    if args.command == "bench":
        from .tools.bench.runner import run_from_args

        return run_from_args(args)
    return ir_roundtrip(args.file)


if __name__ == "__main__":
    sys.exit(main())
