"""The results of `python -m tracefuse bench`: one dict per workload, the run's document (machine,
options, results), the printed tables (markdown, ready to paste into docs/performance.md) and
the JSON file. Nothing here measures anything; `runner.py` does.
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

import numpy as np

from . import workloads as W

NEW_SHAPE_TARGET_S = 20e-3  # issue 4: first call at a new shape of a seen function
FRESH_TARGET_S = 0.5  # issue 4: first call in a fresh process with a warm disk cache


def _floor_pct(nbytes: int | None, floor_gbs: float | None, median: float | None) -> float | None:
    if not nbytes or not floor_gbs or not median:
        return None
    return 100.0 * nbytes / (floor_gbs * 1e9) / median


def workload_result(w: W.Workload, size: str, inputs: tuple, ref: Any, impls: list, latency: dict,
                    notes: list[str], kernels: int | None, opts) -> dict:
    """Everything measured of one workload, as plain data (what the JSON holds)."""
    floor_gbs = {"copy": opts.copy_gbs, "read": opts.read_gbs}.get(w.floor or "")
    nbytes = W.bytes_moved(inputs, ref) if (ref is not None and w.floor) else None
    base = next((im.median_s for im in impls if im.name == "numpy"), None)
    out_impls = {}
    for im in impls:
        med = im.median_s
        out_impls[im.name] = {
            "median_s": med,
            "min_s": min(im.samples) if im.samples else None,
            "ratio_vs_numpy": (base / med) if (base and med) else None,
            "floor_pct": _floor_pct(nbytes, floor_gbs, med),
            "first_call_s": im.first_call_s,
            "samples": len(im.samples),
            "calls_per_sample": im.number,
            "samples_s": im.samples,
            "verified": im.verified,
            "checks": im.checks,
            "error": im.error,
        }
    tf = out_impls.get("tracefuse", {})
    met = None
    if not opts.small and tf.get("verified"):
        met = w.target.met(tf["ratio_vs_numpy"], tf["floor_pct"], tf["median_s"])
    return {
        "name": w.name, "title": w.title, "size": size, "dims": w.dims[size],
        "floor": w.floor, "floor_gbs": floor_gbs, "bytes_moved": nbytes,
        "target": w.target.text, "target_met": met, "per_call_us": w.per_call_us,
        "impls": out_impls, "latency": latency, "backend_notes": notes, "kernels": kernels,
    }


def _versions(peers: dict) -> dict:
    import numba

    import tracefuse

    v = {"python": platform.python_version(), "numpy": np.__version__,
         "numba": numba.__version__, "tracefuse": tracefuse.__version__}
    if "numexpr" in peers:
        v["numexpr"] = peers["numexpr"].__version__
    if "jax" in peers:
        v["jax"] = peers["jax"][0].__version__
    return v


def impl_ok(r: dict, impl: str) -> bool:
    """Whether `impl` on the workload result `r` ran and matched NumPy everywhere (also at the
    new shape)."""
    entry = r["impls"].get(impl)
    shape = r["latency"].get("new_shape", {}).get(impl, {})
    return bool(entry and entry["verified"] and shape.get("ok", True) and "error" not in shape)


def document(results: list[dict], opts, peers: dict, peer_notes: list[str], cache_dir: str) -> dict:
    all_verified = all(impl_ok(r, name) for r in results for name in r["impls"])
    tracefuse_verified = all(impl_ok(r, "numpy") and impl_ok(r, "tracefuse")
                             and "error" not in r["latency"].get("fresh_process", {})
                             for r in results)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"platform": platform.platform(), "machine": platform.machine(),
                    "processor": platform.processor(), "cpus": os.cpu_count()},
        "versions": _versions(peers),
        "peers": list(peers), "peer_notes": peer_notes,
        "options": {"backend": opts.backend, "small": opts.small, "repeats": opts.repeats,
                    "budget_s": opts.budget, "min_repeats": opts.min_repeats,
                    "max_repeats": opts.max_repeats, "min_sample_s": opts.min_sample,
                    "copy_gbs": opts.copy_gbs, "read_gbs": opts.read_gbs,
                    "cache_dir": cache_dir, "only": opts.only},
        "results": results,
        "all_verified": all_verified,
        "tracefuse_verified": tracefuse_verified,
    }


def write_json(doc: dict, path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    os.replace(tmp, path)


# --- the printed tables -------------------------------------------------------------------
def fmt_ms(s: float | None) -> str:
    if s is None:
        return "—"
    ms = s * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    if ms >= 0.01:
        return f"{ms:.3f}"
    return f"{ms:.4f}"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _cell(impl: dict | None, ratio: bool) -> str:
    if impl is None:
        return "—"
    if impl["error"]:
        return "ERROR"
    text = fmt_ms(impl["median_s"])
    if ratio and impl["ratio_vs_numpy"]:
        text += f" ({impl['ratio_vs_numpy']:.2f}x)"
    if not impl["verified"]:
        text += " MISMATCH"
    return text


def _met(value: bool | None, small: bool) -> str:
    if small:
        return "—"
    return {True: "yes", False: "no", None: "—"}[value]


def render(doc: dict) -> str:
    o, v = doc["options"], doc["versions"]
    peers = doc["peers"]
    sizes = "--small sizes (times mean nothing)" if o["small"] else "full sizes"
    lines = [f"tracefuse bench: backend {o['backend']!r}, {sizes}, {doc['date']}",
             f"machine: {doc['machine']['platform']}, {doc['machine']['cpus']} CPUs; "
             + ", ".join(f"{k} {val}" for k, val in v.items()),
             f"floors: copy {o['copy_gbs']} GB/s (bytes read + written), streaming read "
             f"{o['read_gbs']} GB/s (--copy-gbs, --read-gbs); bytes moved = inputs read once + "
             "output written once",
             "timing: implementations alternate in one process; median per call; "
             + (f"{o['repeats']} samples each" if o["repeats"] else
                f"adaptive ({o['budget_s']} s for the slowest, "
                f"{o['min_repeats']}-{o['max_repeats']} samples)")]
    lines += [f"note: {n}" for n in doc["peer_notes"]]
    per = [r["backend_notes"] for r in doc["results"] if r["backend_notes"]]
    common = [n for n in per[0] if all(n in p for p in per[1:])] if per else []
    lines += [f"note: {n}" for n in common]
    if any(set(p) - set(common) for p in per):
        lines.append("note: each workload's own backend notes are in the --json output")

    head = ["workload", "numpy ms", "tracefuse ms", "ratio", "% floor"]
    head += [f"{p} ms (ratio)" for p in peers] + ["target", "met"]
    lines += ["", "## Steady state: median per call; ratio = NumPy time / tracefuse time", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in doc["results"]:
        imp = r["impls"]
        tf = imp.get("tracefuse")
        ratio = f"{tf['ratio_vs_numpy']:.2f}x" if tf and tf["ratio_vs_numpy"] else "—"
        floor = f"{tf['floor_pct']:.0f}%" if tf and tf["floor_pct"] is not None else "—"
        row = [r["name"], _cell(imp.get("numpy"), False), _cell(tf, False), ratio, floor]
        row += [_cell(imp.get(p), True) for p in peers]
        row += [r["target"], _met(r["target_met"], o["small"])]
        lines.append("| " + " | ".join(row) + " |")

    head = ["workload", "cold (1st call in process)", "new shape: 1st call (+ over steady)",
            "fresh process, warm disk cache: 1st call (import)"]
    if "jax" in peers:
        head += ["jax cold", "jax new shape"]
    lines += ["", "## First-call latency of tracefuse (targets: new shape overhead <= "
                  f"{NEW_SHAPE_TARGET_S * 1e3:.0f} ms, fresh process <= {FRESH_TARGET_S} s "
                  "after import)", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in doc["results"]:
        tf = r["impls"].get("tracefuse", {})
        ns = r["latency"].get("new_shape", {})
        fp = r["latency"].get("fresh_process")
        row = [r["name"], fmt_s(tf.get("first_call_s")), _latency(ns.get("tracefuse"), o["small"],
                                                                  NEW_SHAPE_TARGET_S)]
        if fp is None:
            row.append("—")
        elif "error" in fp:
            row.append("ERROR")
        else:
            row.append(f"{fmt_s(fp['first_call_s'])} ({fmt_s(fp['import_s'])})"
                       + _mark(fp["first_call_s"] <= FRESH_TARGET_S, o["small"]))
        if "jax" in peers:
            jx = r["impls"].get("jax")
            row += [fmt_s(jx["first_call_s"]) if jx else "—", _latency(ns.get("jax"), True, None)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("(cold: trace + compile + one run; a kernel compiled earlier in this run for "
                 "a workload of the same structure is reused. new shape: the same Function at "
                 "another shape of the same size class; + is that first call minus the steady "
                 "time there. fresh process: a new `python -c` using this run's kernel cache.)")

    lines += [""] + _verification(doc)
    return "\n".join(lines) + "\n"


def _mark(ok: bool, small: bool) -> str:
    return "" if small else (" ok" if ok else " MISSED")


def _latency(entry: dict | None, small: bool, target: float | None) -> str:
    if entry is None:
        return "—"
    if "error" in entry:
        return "ERROR"
    text = f"{fmt_s(entry['first_call_s'])} (+{fmt_s(entry['overhead_s'])})"
    if entry.get("retraced") is False:
        text += " (no retrace?)"
    if target is not None:
        text += _mark(entry["overhead_s"] <= target, small)
    if not entry["ok"]:
        text += " MISMATCH"
    return text


def _verification(doc: dict) -> list[str]:
    bad = []
    count = 0
    for r in doc["results"]:
        for name, imp in r["impls"].items():
            count += 1
            if imp["error"]:
                bad.append(f"!!! ERROR: {name} on {r['name']}: {imp['error']}")
            for key, c in imp["checks"].items():
                if not c["ok"]:
                    bad.append(f"!!! MISMATCH: {name} on {r['name']} ({key}): {c['why']}")
        for name, entry in r["latency"].get("new_shape", {}).items():
            if "error" in entry:
                bad.append(f"!!! ERROR: {name} on {r['name']} at a new shape: {entry['error']}")
        if "error" in r["latency"].get("fresh_process", {}):
            bad.append(f"!!! ERROR: tracefuse on {r['name']} in a fresh process: "
                       f"{r['latency']['fresh_process']['error']}")
    random = [r["name"] for r in doc["results"]
              if getattr(W.BY_NAME.get(r["name"]), "distribution", None) is not None]
    how = (f"; random draws ({', '.join(random)}): NumPy's shape and dtype, values by their "
           "distribution" if random else "")
    if not bad:
        return [(f"verification: all {count} implementation results match NumPy (first call, "
                 "after timing, the held first result, and tracefuse/jax at the new shape)"
                 + how)]
    if doc["tracefuse_verified"]:
        head = ("verification: tracefuse matches NumPy everywhere; a PEER does not "
                "(exit status stays 0):")
    else:
        head = "verification FAILED (exit status 1):"
    return [head] + bad
