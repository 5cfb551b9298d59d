"""The `cpu` backend: fused kernels rendered as Numba Python (`render.py`), compiled once per
structure and cached on disk, run by a generated straight-line runner (`backend.py`).
Numba and llvmlite are imported at the first compile, never by `import tracefuse`."""
