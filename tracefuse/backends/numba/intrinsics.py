"""LLVM intrinsics for generated Numba kernels that plain Python cannot express.

`nan_max` / `nan_min` are LLVM's `llvm.maximum` / `llvm.minimum`: IEEE 754-2019 maximum and
minimum, which return NaN when either operand is NaN (as NumPy's max/min reductions do) and
order -0.0 below +0.0. Written as a select, a NaN-propagating max reduction does not
vectorize; with the intrinsic LLVM vectorizes it (measured here: a row max over 2048x1024
float32 went from 7.3 ms to 0.45 ms, NumPy's own speed).
"""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


def _binary_intrinsic(base: str):
    def typer(typingctx, a, b):
        if not (isinstance(a, types.Float) and a == b):
            return None
        sig = a(a, b)

        def codegen(context, builder, signature, args):
            ty = args[0].type
            suffix = "f32" if ty == ir.FloatType() else "f64"
            fnty = ir.FunctionType(ty, [ty, ty])
            fn = cgutils.get_or_insert_function(builder.module, fnty, f"{base}.{suffix}")
            return builder.call(fn, args)

        return sig, codegen

    return intrinsic(typer)


nan_max = _binary_intrinsic("llvm.maximum")
nan_min = _binary_intrinsic("llvm.minimum")
