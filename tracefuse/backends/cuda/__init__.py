"""The `gpu` and `gpu-sim` backends: fused kernels rendered as self-contained CUDA C
(`render.py`), launched through CuPy on a device or built with g++ and our shim header and run
on the CPU (`sim.py`); `nvrtc_gate.py` compiles every kernel to cubin in CI. CuPy is imported
at first use only."""
