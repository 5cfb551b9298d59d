"""Benchmarks: the workloads of BENCHMARKS.md and the runner behind `python -m tracefuse bench`.

Why a subpackage of `tracefuse` and not a top-level `benchmarks/` package: the CLI must import
the runner and the workloads in every way tracefuse is installed (`pip install -e .` from a
clone, a wheel, a fresh process spawned by the runner itself to measure the warm disk cache).
`pyproject.toml` installs `tracefuse*` and nothing else, so code under the repository's
`benchmarks/` folder would only be importable with the clone's root on `sys.path`; patching
`sys.path` from the CLI would break for a non-editable install and hide import errors. The
repository's `benchmarks/README.md` points here.

- `workloads.py`: each workload's inputs, its NumPy, tracefuse, numexpr and JAX versions, bytes
  moved and target.
- `runner.py`: warm-up, verification, alternating timing, first-call latency, the table, JSON.
- `display.py`: the progress display (rich, else tqdm, else plain lines; none is a dependency).

This module imports nothing heavy: the fresh-process latency probe imports `workloads` only.
"""
