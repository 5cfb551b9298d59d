"""The benchmark runner: `python -m tracefuse bench [--only NAME] [--small] [--repeats N] ...`.

Owns the method; `report.py` owns the table and the JSON, `workloads.py` the workloads.

Per workload, in one process:

1. **Inputs** from a fixed seed. Implementations: NumPy eager (the baseline), tracefuse
   (`tx.function(..., backend=--backend)`), and numexpr and JAX (jitted, inputs placed with
   `jax.device_put`, results waited for with `block_until_ready`) when they import.
2. **Warm-up**: the first call of each implementation, timed: its *first-call latency in this
   process* (for tracefuse and JAX: trace + compile + one run).
3. **Verification before timing**: every result against NumPy's (same shape, same dtype,
   `allclose` with the workload's rtol, 1e-4 for float32, and atol = atol_scale x max|ref|;
   a tuple result, as `mlp_grad`'s four gradients, array by array; `mandelbrot` allows 1 % of
   its counts off, `Workload.max_mismatch_frac`). Random draws (`uniform_50m`, `dropout`)
   cannot equal NumPy's values: shape and dtype are checked against NumPy's, the values by
   their distribution (`Workload.distribution`, given the call's inputs).
   A mismatch or an error is reported loudly on stderr and in the table; when it is tracefuse's
   (or NumPy raised), the exit status is 1. After timing it is checked again: a new call's
   result, and the warm-up result the runner kept holding (a reused output buffer must never
   overwrite an array the caller still holds).
4. **Timing, alternating**: rounds of one sample per implementation in turn (A, B, C, A, B, C,
   ...), so drift of a noisy shared machine hits all alike. A sample loops `number` calls
   (calibrated by loops of growing length, as timeit's autorange, so one sample lasts >=
   --min-sample s) and records time per call; GC is off while sampling; each result is
   dropped at once (every call allocates its output, as NumPy eager does). Rounds go on until the slowest implementation has been timed for --budget
   seconds and every one has --min-repeats samples, or --max-repeats samples (--repeats N:
   exactly N). Reported: the median per call, its ratio vs NumPy (NumPy time / its time: > 1
   is faster), and % of the bandwidth floor: bytes moved / median / floor bandwidth.
5. **First-call latency**: cold (step 2); *new shape of a seen function* (the same Function
   called at another shape of the same size class: a retrace, which must compile nothing; the
   overhead is that first call minus the steady time at that shape); and *warm disk
   cache in a fresh process* (a `python -c` subprocess that imports tracefuse, builds the same
   inputs and Function and times one call; import time is reported separately).

Compiled kernels go to a fresh temporary `TRACEFUSE_CACHE_DIR` (removed at the end), so "cold"
is a real cold compile and the subprocess sees exactly the cache this run wrote; `--cache-dir`
uses a given folder instead. The variable is set before the first compile of this run: a
backend that read it earlier in the same process would not see it.

`--json PATH` writes every number of the run (report.py); `--plot PATH` draws the ratios
(plot.py); `--load JSON` times nothing and prints (and with `--plot` draws) a saved run.

Bandwidth floors (`--copy-gbs`, `--read-gbs`): what BENCHMARKS.md measured on the 2-core CI
machine, both cores: 17.8 GB/s copy (bytes read + written) and 18.7 GB/s streaming read.
Measure your machine's and pass them to get a meaningful % of floor elsewhere.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import report
from . import workloads as W
from .display import make_display

COPY_GBS = 17.8  # GB/s, copy (read + write), both cores, BENCHMARKS.md
READ_GBS = 18.7  # GB/s, streaming read, both cores, BENCHMARKS.md


def add_arguments(p: argparse.ArgumentParser) -> None:
    names = ", ".join(w.name for w in W.WORKLOADS)
    p.add_argument("--only", action="append", metavar="NAME",
                   help=f"run this workload (repeatable; a prefix selects all it starts): {names}")
    p.add_argument("--small", action="store_true",
                   help="tiny sizes and short timing (a smoke test; the times mean nothing)")
    p.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="exactly N timed samples per implementation (default: adaptive)")
    p.add_argument("--budget", type=float, default=None, metavar="S",
                   help="adaptive timing: time the slowest implementation for about S seconds "
                        "(default 1.5; 0.1 with --small)")
    p.add_argument("--min-repeats", type=int, default=None, metavar="N",
                   help="adaptive timing: at least N samples each (default 5; 3 with --small)")
    p.add_argument("--max-repeats", type=int, default=100, metavar="N",
                   help="adaptive timing: at most N samples each (default 100)")
    p.add_argument("--min-sample", type=float, default=0.02, metavar="S",
                   help="loop short calls so that one sample lasts at least S seconds (0.02)")
    p.add_argument("--backend", default="cpu", help="tracefuse backend to time (default cpu)")
    p.add_argument("--copy-gbs", type=float, default=COPY_GBS, metavar="GBS",
                   help=f"copy bandwidth floor, bytes read + written per s (default {COPY_GBS})")
    p.add_argument("--read-gbs", type=float, default=READ_GBS, metavar="GBS",
                   help=f"streaming-read bandwidth floor (default {READ_GBS})")
    p.add_argument("--no-peers", action="store_true", help="skip numexpr and JAX even if installed")
    p.add_argument("--no-fresh-process", action="store_true",
                   help="skip the fresh-process (warm disk cache) first-call latency")
    p.add_argument("--cache-dir", default=None,
                   help="TRACEFUSE_CACHE_DIR for this run (default: a fresh temporary folder)")
    p.add_argument("--progress", default="auto", choices=("auto", "rich", "tqdm", "plain", "none"),
                   help="progress display on stderr (auto: rich, else tqdm, else plain lines)")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                   help="also write every number (samples included) to PATH as JSON")
    p.add_argument("--plot", dest="plot_path", default=None, metavar="PATH",
                   help="also draw every implementation's ratio to NumPy per workload to PATH "
                        "(.png, .svg, .pdf; needs matplotlib: pip install 'tracefuse[plot]')")
    p.add_argument("--load", dest="load_path", default=None, metavar="JSON",
                   help="time nothing: print (and --plot) a run saved earlier with --json")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")


@dataclass
class Impl:
    """One implementation of one workload, and what was measured of it."""

    name: str
    fn: Callable[..., Any]
    args: tuple
    sync: Callable[[Any], Any]
    first_call_s: float | None = None
    number: int = 1
    samples: list[float] = field(default_factory=list)
    total_s: float = 0.0
    checks: dict[str, dict] = field(default_factory=dict)
    error: str | None = None
    held: Any = None  # the warm-up result, kept to check nobody overwrote it

    @property
    def verified(self) -> bool:
        return (self.error is None and bool(self.checks)
                and all(c["ok"] for c in self.checks.values()))

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


class _NullDisplay:
    def workload(self, i, n, name): pass
    def phase(self, text): pass
    def fraction(self, f): pass
    def log(self, text): print(text, file=sys.stderr, flush=True)
    def close(self): pass


def _identity(x):
    return x


def load_peers(enabled: bool) -> tuple[dict[str, Any], list[str]]:
    """The peers that import here: {"numexpr": module, "jax": (jax, jax.numpy)}, and notes."""
    peers: dict[str, Any] = {}
    notes: list[str] = []
    if not enabled:
        return peers, ["peers skipped (--no-peers)"]
    try:
        import numexpr

        peers["numexpr"] = numexpr
    except ImportError:
        notes.append("numexpr not installed: no numexpr column")
    except Exception as e:  # a broken install: say so, go on
        notes.append(f"numexpr failed to import: {e!r}")
    try:
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 workloads stay float64
        import jax.numpy as jnp

        peers["jax"] = (jax, jnp)
    except ImportError:
        notes.append("jax not installed: no jax column")
    except Exception as e:
        notes.append(f"jax failed to import: {e!r}")
    return peers, notes


def build_impls(w: W.Workload, inputs: tuple, backend: str, peers: dict) -> list[Impl]:
    impls = [Impl("numpy", w.numpy, inputs, _identity),
             Impl("tracefuse", w.compile(backend), inputs, _identity)]
    if "numexpr" in peers and w.numexpr is not None:
        impls.append(Impl("numexpr", w.numexpr(peers["numexpr"]), inputs, _identity))
    if "jax" in peers and w.jax is not None:
        jax, jnp = peers["jax"]
        impls.append(Impl("jax", jax.jit(w.jax(jnp)), tuple(jax.device_put(a) for a in inputs),
                          jax.block_until_ready))  # waits for every array of a tuple result
    return impls


def as_numpy(result: Any) -> Any:
    """A result as NumPy: an array, or a tuple of arrays for a tuple result (mlp_grad)."""
    if isinstance(result, (tuple, list)):
        return tuple(np.asarray(a) for a in result)
    return np.asarray(result)


def check(got: Any, ref: Any, w: W.Workload, inputs: tuple | None = None) -> dict:
    """`got` against NumPy's `ref`: same shape and dtype, allclose(rtol, atol). A tuple `ref`
    (a gradient with respect to several arguments) is checked array by array: `got` must be a
    tuple of as many, and each must pass; atol is taken from each array's own max|ref|. A
    random workload's values are judged by `w.distribution(got, inputs)` instead of allclose
    (`inputs`: the call's arguments)."""
    if not isinstance(ref, tuple):
        return _check_array(got, ref, w, inputs)
    if not isinstance(got, (tuple, list)) or len(got) != len(ref):
        what = (f"a {type(got).__name__} of {len(got)}" if isinstance(got, (tuple, list))
                else f"one {type(got).__name__}")
        return {"ok": False, "why": f"got {what}, NumPy gives a tuple of {len(ref)} arrays"}
    leaves = [_check_array(g, r, w) for g, r in zip(got, ref)]
    out = {"ok": all(c["ok"] for c in leaves),
           "max_abs_err": max((c.get("max_abs_err", math.inf) for c in leaves), default=0.0),
           "rtol": w.rtol,
           "max_err_rel_to_max_ref": max((c.get("max_err_rel_to_max_ref", math.inf)
                                          for c in leaves), default=0.0),
           "leaves": leaves}
    if not out["ok"]:
        out["why"] = "; ".join(f"result[{i}]: {c['why']}" for i, c in enumerate(leaves)
                               if not c["ok"])
    return out


def _check_array(got: Any, ref: np.ndarray, w: W.Workload, inputs: tuple | None = None) -> dict:
    got = np.asarray(got)
    ref = np.asarray(ref)
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return {"ok": False, "why": f"got {got.dtype}{list(got.shape)}, "
                                    f"NumPy gives {ref.dtype}{list(ref.shape)}"}
    if w.distribution is not None:
        return _check_distribution(got, w, inputs)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    atol = w.atol_scale * scale
    bad = int(np.count_nonzero(~np.isclose(got, ref, rtol=w.rtol, atol=atol, equal_nan=True)))
    allowed = int(w.max_mismatch_frac * ref.size)
    ok = bad <= allowed
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    max_err = float(np.nanmax(err)) if err.size else 0.0
    out = {"ok": ok, "max_abs_err": max_err, "rtol": w.rtol, "atol": atol,
           "max_err_rel_to_max_ref": max_err / scale if scale else 0.0}
    if allowed:
        out.update(mismatched=bad, mismatches_allowed=allowed)
    if not ok:
        out["why"] = (f"not allclose: max |err| {max_err:.3g} (max |ref| {scale:.3g}, "
                      f"rtol {w.rtol:g}, atol {atol:.3g})"
                      + (f", {bad} elements off, {allowed} allowed" if allowed else ""))
    return out


def _check_distribution(got: np.ndarray, w: W.Workload, inputs: tuple | None) -> dict:
    """Random draws: their values by what they must satisfy, not by NumPy's (module doc)."""
    if inputs is None:
        raise ValueError(f"{w.name}: checking random draws needs the call's inputs")
    problems = w.distribution(got, tuple(np.asarray(a) for a in inputs))
    out = {"ok": not problems, "compared": "shape, dtype and distribution (random draws)"}
    if problems:
        out["why"] = "distribution: " + "; ".join(problems)
    return out


def _record_check(im: Impl, key: str, got: Any, ref: Any, w: W.Workload, display) -> None:
    c = check(got, ref, w, im.args)
    im.checks[key] = c
    if not c["ok"]:
        display.log(f"!!! MISMATCH: {im.name} on {w.name} ({key}): {c['why']}")


def warm_up_and_verify(w: W.Workload, impls: list[Impl], display) -> Any:
    ref = None
    for im in impls:
        display.phase(f"first call of {im.name}")
        try:
            t0 = time.perf_counter()
            r = im.sync(im.fn(*im.args))
            im.first_call_s = time.perf_counter() - t0
        except Exception as e:  # keep going: the table says ERROR, the exit status is 1
            im.error = f"{type(e).__name__}: {e}"
            display.log(f"!!! ERROR: {im.name} on {w.name}: {im.error}")
            continue
        if ref is None:  # numpy is first: its result is the reference
            ref = as_numpy(r)
        im.held = r
        _record_check(im, "first result", r, ref, w, display)
    return ref


def _calibrate(im: Impl, min_sample: float, most: int = 1_000_000) -> int:
    """Calls per sample: loops of growing length until one lasts >= min_sample (as timeit's
    autorange). One call is not enough to size the loop: an early call that is slow (page
    faults on fresh output buffers, a busy machine) would make every sample far shorter than
    min_sample (4 calls of 0.4 ms for per_example_grad, from one call of 5 ms)."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            im.sync(im.fn(*im.args))
        dt = time.perf_counter() - t0
        if dt >= min_sample or number >= most:
            return number
        number = min(most, max(2 * number, math.ceil(1.2 * number * min_sample / max(dt, 1e-9))))


def time_alternating(impls: list[Impl], opts: argparse.Namespace, display) -> None:
    impls = list(impls)
    for im in list(impls):
        try:
            im.number = _calibrate(im, opts.min_sample)
        except Exception as e:  # raised after a good first call: do not time it
            im.error = f"{type(e).__name__} on the second call: {e}"
            display.log(f"!!! ERROR: {im.name}: {im.error}")
            impls.remove(im)
    gc.collect()
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        n = 0
        while impls:
            for im in list(impls):
                fn, args, sync, number = im.fn, im.args, im.sync, im.number
                try:
                    t0 = time.perf_counter()
                    for _ in range(number):
                        sync(fn(*args))
                    dt = time.perf_counter() - t0
                except Exception as e:  # raised after a good first call: stop timing it
                    im.error = f"{type(e).__name__} while timing: {e}"
                    display.log(f"!!! ERROR: {im.name}: {im.error}")
                    impls.remove(im)
                    continue
                im.samples.append(dt / number)
                im.total_s += dt
            n += 1
            longest = max((im.total_s for im in impls), default=0.0)
            if opts.repeats is not None:
                display.fraction(n / opts.repeats)
                if n >= opts.repeats:
                    break
                continue
            display.fraction(max(n / opts.max_repeats,
                                 min(n / opts.min_repeats, longest / opts.budget)))
            if n >= opts.max_repeats or (n >= opts.min_repeats and longest >= opts.budget):
                break
    finally:
        if gc_was_on:
            gc.enable()


def verify_after(w: W.Workload, impls: list[Impl], ref: Any, display) -> None:
    for im in impls:
        if im.error:
            continue
        try:
            r = im.sync(im.fn(*im.args))
        except Exception as e:
            im.error = f"{type(e).__name__} after timing: {e}"
            display.log(f"!!! ERROR: {im.name} on {w.name}: {im.error}")
            continue
        _record_check(im, "result after timing", r, ref, w, display)
        _record_check(im, "held first result", im.held, ref, w, display)
        im.held = None


def new_shape_latency(w: W.Workload, size: str, impls: list[Impl], peers: dict, display) -> dict:
    """First call of the seen tracefuse Function (and the jitted JAX function) at the workload's
    other shape of the same size class, checked against NumPy there. Three more calls give the
    steady time at that shape; `overhead_s` = first call - steady (what the retrace costs)."""
    alt = w.inputs(f"alt_{size}")
    ref = as_numpy(w.numpy(*alt))
    out = {}
    for im in impls:
        if im.error or im.name not in ("tracefuse", "jax"):
            continue
        args = alt
        if im.name == "jax":
            args = tuple(peers["jax"][0].device_put(a) for a in alt)
        traces = getattr(im.fn, "trace_count", None)
        try:
            t0 = time.perf_counter()
            r = im.sync(im.fn(*args))
            first = time.perf_counter() - t0
            steady = []
            for _ in range(3):
                t0 = time.perf_counter()
                im.sync(im.fn(*args))
                steady.append(time.perf_counter() - t0)
        except Exception as e:
            out[im.name] = {"error": f"{type(e).__name__}: {e}"}
            display.log(f"!!! ERROR: {im.name} on {w.name} at a new shape: {out[im.name]['error']}")
            continue
        c = check(r, ref, w, alt)
        im.checks["new shape"] = c
        if not c["ok"]:
            display.log(f"!!! MISMATCH: {im.name} on {w.name} (new shape): {c['why']}")
        med = statistics.median(steady)
        out[im.name] = {"first_call_s": first, "steady_s": med, "overhead_s": max(0.0, first - med),
                        "shape": w.describe(f"alt_{size}"), "ok": c["ok"]}
        if traces is not None:
            out[im.name]["retraced"] = im.fn.trace_count > traces
    return out


_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import tracefuse
t1 = time.perf_counter()
from tracefuse.tools.bench import workloads
w = workloads.get(sys.argv[1])
args = w.inputs(sys.argv[2])
f = w.compile(sys.argv[3])
t2 = time.perf_counter()
f(*args)
t3 = time.perf_counter()
f(*args)
t4 = time.perf_counter()
print("BENCH-RESULT " + json.dumps({"import_s": t1 - t0, "first_call_s": t3 - t2,
                                    "second_call_s": t4 - t3}))
"""


def fresh_process_latency(w: W.Workload, size: str, backend: str, timeout: float = 600) -> dict:
    """One call of the same Function on the same inputs in a fresh `python -c` process that
    shares this run's TRACEFUSE_CACHE_DIR (warm: this process compiled it already)."""
    import json

    import tracefuse

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(tracefuse.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    try:
        p = subprocess.run([sys.executable, "-c", _CHILD, w.name, size, backend], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in p.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return json.loads(line[len("BENCH-RESULT "):])
    return {"error": f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}"}


def _backend_notes(im: Impl) -> tuple[list[str], int | None]:
    try:
        lowered = im.fn.lower(*im.args)
        return list(lowered.notes), len(lowered.kernels)
    except Exception:
        return [], None


def run_workload(w: W.Workload, opts: argparse.Namespace, peers: dict, display) -> dict:
    size = "small" if opts.small else "full"
    display.phase(f"inputs ({w.describe(size)})")
    inputs = w.inputs(size)
    impls = build_impls(w, inputs, opts.backend, peers)
    ref = warm_up_and_verify(w, impls, display)
    if ref is None:  # NumPy itself failed: nothing to compare against
        return report.workload_result(w, size, inputs, None, impls, {}, [], None, opts)
    timed = [im for im in impls if im.error is None]
    display.phase("timing " + ", ".join(im.name for im in timed) + " (alternating)")
    time_alternating(timed, opts, display)
    display.phase("verifying again")
    verify_after(w, impls, ref, display)
    tf = next(im for im in impls if im.name == "tracefuse")
    notes, kernels = _backend_notes(tf) if tf.error is None else ([], None)
    display.phase("first call at a new shape")
    latency = {"new_shape": new_shape_latency(w, size, impls, peers, display)}
    if not opts.no_fresh_process and tf.error is None:
        display.phase("first call in a fresh process (warm disk cache)")
        latency["fresh_process"] = fresh_process_latency(w, size, opts.backend)
        if "error" in latency["fresh_process"]:
            display.log(f"!!! fresh process for {w.name} failed: "
                        f"{latency['fresh_process']['error']}")
    return report.workload_result(w, size, inputs, ref, impls, latency, notes, kernels, opts)


def _resolve(opts: argparse.Namespace) -> argparse.Namespace:
    if opts.budget is None:
        opts.budget = 0.1 if opts.small else 1.5
    if opts.min_repeats is None:
        opts.min_repeats = 3 if opts.small else 5
    if opts.repeats is not None and opts.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    opts.min_repeats = max(1, min(opts.min_repeats, opts.max_repeats))
    return opts


def run(opts: argparse.Namespace) -> tuple[dict, int]:
    """Run the selected workloads; returns (results, exit status): 1 when a tracefuse result
    disagrees with NumPy or raised (a peer's mismatch is flagged as loudly, but is not ours)."""
    opts = _resolve(opts)
    selected = W.select(opts.only)
    peers, peer_notes = load_peers(not opts.no_peers)
    display = _NullDisplay() if opts.progress == "none" else make_display(opts.progress)
    old_cache = os.environ.get("TRACEFUSE_CACHE_DIR")
    tmp = None if opts.cache_dir else tempfile.mkdtemp(prefix="tracefuse-bench-cache-")
    os.environ["TRACEFUSE_CACHE_DIR"] = opts.cache_dir or tmp
    results = []
    try:
        for i, w in enumerate(selected, 1):
            display.workload(i, len(selected), w.name)
            results.append(run_workload(w, opts, peers, display))
            gc.collect()
    finally:
        display.close()
        if old_cache is None:
            os.environ.pop("TRACEFUSE_CACHE_DIR", None)
        else:
            os.environ["TRACEFUSE_CACHE_DIR"] = old_cache
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    doc = report.document(results, opts, peers, peer_notes, cache_dir=opts.cache_dir or tmp)
    return doc, (0 if doc["tracefuse_verified"] else 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tracefuse bench",
                                description=__doc__.splitlines()[0])
    add_arguments(p)
    return run_from_args(p.parse_args(argv))


def run_from_args(opts: argparse.Namespace) -> int:
    if opts.list:
        for w in W.WORKLOADS:
            print(f"{w.name:10s} {w.title}  [target {w.target.text}]")
        return 0
    try:
        W.select(opts.only)
        if opts.plot_path:  # before minutes of timing, not after
            from ...compiler.profile_plot import check_can_plot

            check_can_plot("--plot", opts.plot_path)
        loaded = load_run(opts.load_path, opts.only) if opts.load_path else None
    except (KeyError, ImportError, ValueError, OSError) as e:
        print(f"python -m tracefuse bench: {e.args[0] if isinstance(e, KeyError) else e}",
              file=sys.stderr)
        return 2
    doc, status = (loaded, 0) if loaded is not None else run(opts)
    print(report.render(doc), end="")
    if opts.json_path:
        report.write_json(doc, opts.json_path)
        print(f"\nwrote {opts.json_path}")
    if opts.plot_path:
        from .plot import plot_run

        plot_run(doc, opts.plot_path)
        print(f"\nwrote {opts.plot_path}")
    return status


def load_run(path: str, only: list[str] | None) -> dict:
    """The document of a run saved with --json; with --only, the workloads it names."""
    import json

    with open(path, encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not JSON ({e}): pass a file written by "
                             "python -m tracefuse bench --json") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ValueError(f"{path} holds no benchmark run (no 'results' list): pass a file "
                         "written by python -m tracefuse bench --json")
    if only:
        names = {w.name for w in W.select(only)}
        doc["results"] = [r for r in doc["results"] if r["name"] in names]
        if not doc["results"]:
            raise ValueError(f"{path} has none of the workloads {', '.join(sorted(names))}")
    return doc


if __name__ == "__main__":
    sys.exit(main())
