"""The `numpy` backend: the reference interpreter of (fused) graphs, op by op through the
NumPy table of `ir/` (the oracle the other backends are compared with)."""
