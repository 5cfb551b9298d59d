"""The side-by-side comparison with `jax.jit` that `transforms_vs_jax.py` (issue 14's gradients)
and `control_flow_vs_jax.py` (issue 15's loops) share: each workload of
`tracefuse/tools/bench/workloads.py` in two fresh processes, one timing tracefuse and NumPy
alternately, the other `jax.jit` and NumPy alternately, NumPy as the common reference.

A script gives a `Spec` (its workloads, its title, the factor over JAX each workload must reach)
and calls `main(spec)`; the script runs itself again as each child process (`--child`). This
module owns the rest: the children (the method of `python -m tracefuse bench`,
tracefuse/tools/bench/runner.py, reused: first call, check against NumPy, rounds of samples
that loop calls for >= 20 ms, medians, check again after timing, the held first result
included; a mismatch or an error fails the row loudly, exit status 1), the ratios
(**normalized** = (NumPy / tracefuse in its process) / (NumPy / JAX in its process), the
common reference, which cancels a machine that got slower between the processes; **direct** =
JAX median / tracefuse median), % of the copy floor, the table and the JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tracefuse.tools.bench import runner  # noqa: E402
from tracefuse.tools.bench import workloads as W  # noqa: E402

KINDS = ("tracefuse", "jax")
HEAD = ("workload", "numpy ms (tf proc)", "tracefuse ms", "tracefuse ratio", "numpy ms (jax proc)",
        "jax ms", "jax ratio", "tracefuse vs jax, normalized", "tracefuse vs jax, direct",
        "% floor tracefuse", "% floor jax", "target", "met")


@dataclass(frozen=True)
class Spec:
    """What one script compares: `names` (workloads), `script` (its own path: the children run
    it), `mark` (the prefix of a child's JSON line), `title` (the table's first words), and
    `min_vs_jax`: the normalized factor over JAX a workload's target asks (1.0, "as fast as
    jax.jit", unless listed)."""

    names: tuple[str, ...]
    script: str
    mark: str
    title: str
    description: str
    min_vs_jax: Mapping[str, float] = field(default_factory=dict)


class _Log:
    """The runner's display calls; only `log` (a mismatch, an error) prints, on stderr."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def workload(self, i, n, name): pass
    def phase(self, text): pass
    def fraction(self, f): pass
    def close(self): pass

    def log(self, text: str) -> None:
        print(f"[{self.prefix}] {text}", file=sys.stderr, flush=True)


def _timing_opts(a: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(repeats=a.repeats, budget=0.1 if a.small else 1.5,
                              min_repeats=3 if a.small else 5, max_repeats=100,
                              min_sample=0.02)


def _impl_data(im: runner.Impl) -> dict:
    return {"median_s": im.median_s, "min_s": min(im.samples) if im.samples else None,
            "samples_s": im.samples, "calls_per_sample": im.number,
            "first_call_s": im.first_call_s, "verified": im.verified, "checks": im.checks,
            "error": im.error}


def _versions(kind: str) -> dict:
    import numba

    import tracefuse

    v = {"python": platform.python_version(), "numpy": np.__version__}
    if kind == "tracefuse":
        v.update(tracefuse=tracefuse.__version__, numba=numba.__version__)
    else:
        import jax
        import jaxlib

        v.update(jax=jax.__version__, jaxlib=jaxlib.__version__)
    return v


def child(spec: Spec, a: argparse.Namespace) -> int:
    """One process: NumPy and one of tracefuse / jax.jit, alternating. Prints one JSON line."""
    w = W.get(a.workload)
    size = "small" if a.small else "full"
    display = _Log(f"{a.child} process, {w.name}")
    peers = {}
    if a.child == "jax":
        import jax
        import jax.numpy as jnp

        peers["jax"] = (jax, jnp)
    inputs = w.inputs(size)
    impls = [im for im in runner.build_impls(w, inputs, a.backend, peers)
             if im.name in ("numpy", a.child)]
    out = {"workload": w.name, "kind": a.child, "size": size, "dims": w.dims[size],
           "backend": a.backend if a.child == "tracefuse" else None, "versions": _versions(a.child)}
    ref = runner.warm_up_and_verify(w, impls, display)
    failed = [im for im in impls if not im.verified]
    if ref is None or failed:
        out["failed"] = "before timing: " + "; ".join(
            f"{im.name}: {im.error or _why(im)}" for im in failed)
    else:
        out["bytes_moved"] = W.bytes_moved(inputs, ref)
        runner.time_alternating(impls, _timing_opts(a), display)
        runner.verify_after(w, impls, ref, display)
        failed = [im for im in impls if not im.verified]
        if failed:
            out["failed"] = "after timing: " + "; ".join(
                f"{im.name}: {im.error or _why(im)}" for im in failed)
    if "failed" in out:
        display.log(f"!!! FAILED: {out['failed']}")
    out["impls"] = {im.name: _impl_data(im) for im in impls}
    print(spec.mark + json.dumps(out, default=str), flush=True)
    return 1 if "failed" in out else 0


def _why(im: runner.Impl) -> str:
    return "; ".join(f"{key}: {c['why']}" for key, c in im.checks.items() if not c["ok"])


def run_child(spec: Spec, a: argparse.Namespace, name: str, kind: str) -> dict:
    cmd = [sys.executable, os.path.abspath(spec.script), "--child", kind, "--workload", name,
           "--backend", a.backend]
    cmd += ["--small"] if a.small else []
    cmd += ["--repeats", str(a.repeats)] if a.repeats is not None else []
    import tracefuse

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(tracefuse.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    t0 = time.perf_counter()
    try:  # stderr is not captured: a child's loud messages show as they happen
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=a.timeout,
                           check=False)
    except subprocess.TimeoutExpired:
        return {"workload": name, "kind": kind, "failed": f"timed out after {a.timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in p.stdout.splitlines():
        if line.startswith(spec.mark):
            out = json.loads(line[len(spec.mark):])
            out["process_wall_s"] = wall
            return out
    return {"workload": name, "kind": kind,
            "failed": f"exit {p.returncode} without a result: {p.stdout.strip()[-400:]}"}


def combine(spec: Spec, w: W.Workload, tf: dict, jx: dict, a: argparse.Namespace) -> dict:
    """One row: both processes' medians, the ratios, % of floor and the target."""
    row = {"name": w.name, "title": w.title, "target": w.target.text,
           "failed": [f"{d['kind']}: {d['failed']}" for d in (tf, jx) if "failed" in d]}
    if row["failed"]:
        return row

    def med(d, impl):
        return d["impls"][impl]["median_s"]

    np_tf, t, np_jx, j = med(tf, "numpy"), med(tf, "tracefuse"), med(jx, "numpy"), med(jx, "jax")
    floor_gbs = {"copy": a.copy_gbs, "read": a.read_gbs}.get(w.floor or "")
    nbytes = tf.get("bytes_moved") if floor_gbs else None

    def pct(s):
        return 100.0 * nbytes / (floor_gbs * 1e9) / s if nbytes else None

    row.update(numpy_tf_s=np_tf, tracefuse_s=t, numpy_jax_s=np_jx, jax_s=j,
               tracefuse_ratio=np_tf / t, jax_ratio=np_jx / j,
               vs_jax_normalized=(np_tf / t) / (np_jx / j), vs_jax_direct=j / t,
               numpy_drift=np_jx / np_tf, floor=w.floor, floor_gbs=floor_gbs,
               bytes_moved=nbytes, tracefuse_floor_pct=pct(t), jax_floor_pct=pct(j))
    if not a.small:
        met = row["vs_jax_normalized"] >= spec.min_vs_jax.get(w.name, 1.0)
        floor_met = w.target.met(row["tracefuse_ratio"], row["tracefuse_floor_pct"], t)
        row["met"] = met and floor_met is not False
    return row


def _ms(s: float | None) -> str:
    return "—" if s is None else f"{s * 1e3:.3g}"


def _x(r: float | None) -> str:
    return "—" if r is None else f"{r:.2f}x"


def _pct(p: float | None) -> str:
    return "—" if p is None else f"{p:.0f}%"


def render(spec: Spec, doc: dict) -> str:
    o = doc["options"]
    sizes = "--small sizes (times mean nothing)" if o["small"] else "full sizes"
    lines = [f"{spec.title}, each in its own process; {sizes}; {doc['date']}",
             f"machine: {doc['machine']['platform']}, {doc['machine']['cpus']} CPUs; "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()),
             f"tracefuse backend {o['backend']!r}; copy floor {o['copy_gbs']} GB/s; "
             + (f"{o['repeats']} samples each" if o["repeats"] else "adaptive sample count")
             + "; ratio = NumPy time / its time in the same process (> 1: faster than NumPy)",
             "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for r in doc["rows"]:
        if r["failed"]:
            lines.append(f"| {r['name']} | FAILED: {' / '.join(r['failed'])} |")
            continue
        met = "—" if "met" not in r else ("yes" if r["met"] else "no")
        lines.append("| " + " | ".join([
            r["name"], _ms(r["numpy_tf_s"]), _ms(r["tracefuse_s"]), _x(r["tracefuse_ratio"]),
            _ms(r["numpy_jax_s"]), _ms(r["jax_s"]), _x(r["jax_ratio"]),
            _x(r["vs_jax_normalized"]), _x(r["vs_jax_direct"]), _pct(r["tracefuse_floor_pct"]),
            _pct(r["jax_floor_pct"]), r["target"], met]) + " |")
    lines.append("(tracefuse vs jax = JAX time / tracefuse time, > 1: tracefuse is faster; "
                 "normalized: through each process's NumPy time, direct: the two medians. "
                 "% floor = bytes moved / median / copy floor.)")
    drift = [f"{r['name']} {100 * (r['numpy_drift'] - 1):+.0f}%" for r in doc["rows"]
             if not r["failed"] and abs(r["numpy_drift"] - 1) > 0.1]
    if drift:
        lines.append("note: NumPy's time differs by more than 10 % between the two processes "
                     f"({', '.join(drift)}): the machine was not quiet")
    lines.append("verification: " + ("every result matched NumPy before and after timing"
                                     if doc["ok"] else "FAILED (exit status 1)"))
    return "\n".join(lines) + "\n"


def parser(spec: Spec) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=spec.description)
    p.add_argument("--only", action="append", metavar="NAME", choices=spec.names,
                   help=f"run this workload (repeatable): {', '.join(spec.names)}")
    p.add_argument("--small", action="store_true",
                   help="tiny sizes and short timing (a smoke run; the times mean nothing)")
    p.add_argument("--repeats", type=int, default=None, metavar="N",
                   help="exactly N timed samples per implementation (default: adaptive, "
                        "as python -m tracefuse bench)")
    p.add_argument("--backend", default="cpu", help="tracefuse backend (default cpu)")
    p.add_argument("--copy-gbs", type=float, default=runner.COPY_GBS, metavar="GBS",
                   help=f"copy bandwidth floor, bytes read + written per s "
                        f"(default {runner.COPY_GBS}, as python -m tracefuse bench)")
    p.add_argument("--read-gbs", type=float, default=runner.READ_GBS, metavar="GBS",
                   help=f"streaming-read bandwidth floor (default {runner.READ_GBS})")
    p.add_argument("--timeout", type=float, default=900, metavar="S",
                   help="time limit of each process (default 900 s)")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                   help="also write every number (samples, checks) to PATH as JSON")
    p.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    p.add_argument("--workload", choices=spec.names, help=argparse.SUPPRESS)
    return p


def main(spec: Spec, argv: list[str] | None = None) -> int:
    p = parser(spec)
    a = p.parse_args(argv)
    if a.repeats is not None and a.repeats < 1:
        p.error("--repeats must be at least 1")
    if a.child:
        return child(spec, a)
    if importlib.util.find_spec("jax") is None:
        print(f"{os.path.basename(spec.script)}: jax is not installed (pip install jax); it is "
              "not a dependency of tracefuse", file=sys.stderr)
        return 2

    doc = run_workloads(spec, a)
    print(render(spec, doc), end="")
    if a.json_path:
        with open(a.json_path, "w") as f:
            json.dump(doc, f, indent=1, default=str)
        print(f"\nwrote {a.json_path}")
    return 0 if doc["ok"] else 1


def run_workloads(spec: Spec, a: argparse.Namespace) -> dict:
    """The two fresh processes of each workload `a` selects, combined into rows: the document
    `render` prints and `--json` writes (`ok`: no row failed)."""
    names = [n for n in spec.names if not a.only or n in a.only]
    rows, processes = [], []
    for i, name in enumerate(names, 1):
        w = W.get(name)
        results = {}
        for kind in KINDS:
            print(f"[{i}/{len(names)}] {name}: {kind} and NumPy, in a fresh process",
                  file=sys.stderr, flush=True)
            results[kind] = run_child(spec, a, name, kind)
            if "failed" in results[kind]:
                print(f"!!! {name}, {kind} process FAILED: {results[kind]['failed']}",
                      file=sys.stderr, flush=True)
        processes += results.values()
        rows.append(combine(spec, w, results["tracefuse"], results["jax"], a))

    versions = {}
    for d in processes:
        versions.update(d.get("versions", {}))
    doc = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
           "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
           "versions": versions,
           "options": {"backend": a.backend, "small": a.small, "repeats": a.repeats,
                       "copy_gbs": a.copy_gbs, "read_gbs": a.read_gbs, "only": a.only},
           "rows": rows, "processes": processes, "ok": not any(r["failed"] for r in rows)}
    return doc
