"""Two checkouts of tracefuse side by side: `python -m tracefuse bench` run alternately on each,
several rounds, and the median time per call of every workload compared.

    git worktree add /tmp/tf-old <old commit>
    python benchmarks/compare_commits.py --old /tmp/tf-old --new . --rounds 3 [-- bench options]

Each run is a fresh process with the checkout first on PYTHONPATH (its own cold kernel cache,
as the bench makes one per run). Runs alternate old/new and swap order every round, so drift
of a shared machine hits both alike. Reported per workload: the median over rounds of each
checkout's tracefuse median, the ratio new/old (> 1: the new checkout is slower), and NumPy's
ratio new-run/old-run, which measures only the noise between runs (the same NumPy code).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run_bench(checkout: str, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
        cmd = [sys.executable, "-m", "tracefuse", "bench", "--json", out, "--progress", "none",
               "--no-fresh-process", *extra]
        done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True)
        if not os.path.exists(out):
            raise SystemExit(f"bench failed in {checkout}:\n{done.stderr[-3000:]}")
        with open(out) as f:
            return json.load(f)


def medians(doc: dict) -> dict[str, tuple[float | None, float | None]]:
    out = {}
    for r in doc["results"]:
        impls = r["impls"]
        out[r["name"]] = (impls.get("tracefuse", {}).get("median_s"),
                          impls.get("numpy", {}).get("median_s"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", required=True, help="checkout of the earlier commit")
    p.add_argument("--new", required=True, help="checkout of the later commit")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("bench_args", nargs="*", help="passed to `python -m tracefuse bench`")
    args = p.parse_args()
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(args.rounds):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        for which in order:
            print(f"round {i + 1}/{args.rounds}: {which}", file=sys.stderr, flush=True)
            runs[which].append(medians(run_bench(getattr(args, which), args.bench_args)))
    names = list(runs["new"][0])
    print("| workload | old tracefuse | new tracefuse | new / old | NumPy new-run / old-run |")
    print("|---|---|---|---|---|")
    for name in names:
        def med(which: str, k: int) -> float | None:
            vals = [r[name][k] for r in runs[which] if name in r and r[name][k]]
            return statistics.median(vals) if vals else None
        old_t, new_t, old_np, new_np = med("old", 0), med("new", 0), med("old", 1), med("new", 1)
        ratio = f"{new_t / old_t:.3f}" if old_t and new_t else "-"
        noise = f"{new_np / old_np:.3f}" if old_np and new_np else "-"
        print(f"| {name} | {fmt(old_t)} | {fmt(new_t)} | {ratio} | {noise} |")


def fmt(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.3f} ms"


if __name__ == "__main__":
    main()
