"""Derivative and batching rules of the FFTs (ir/library/fft.py), JAX's (jax/_src/lax/fft.py),
with JAX's convention for complex values (docs/transforms.md, "Complex numbers").

Every transform is linear over the reals, so its JVP is the same call on the tangent. Its VJP
is the transpose: with that convention the cotangent of a complex-linear map `A` is `A^T ct`
(no conjugate), and of a real input the real part of it.
- fft, ifft, fftn, ifftn: the DFT matrix is symmetric, so the transpose of a transform is the
  same transform (same norm) of the cotangent, then the n points cropped or padded back to the
  input's length (the transpose of padding is cropping and the other way round).
- rfft, rfftn: the transpose of "the first n // 2 + 1 points of the full transform": the full
  transform of the cotangent padded with zeros to n (fft's own `n`), real part.
- irfft, irfftn: an irfft adds each spectrum point k in 1 .. (n - 1) // 2 twice (its mirror
  image), the DC and (n even) the Nyquist point once; the transpose is the rfft of the cotangent
  with the other scale (norm swapped), weighted by that mask [1, 2, ..., 2, 1], conjugated.
- hfft (= irfft of the conjugate, norm swapped) and ihfft (= the conjugate of rfft, norm
  swapped): the same, through the conjugate's transpose (the conjugate).
Batching moves every transformed axis one further (the batch axis is first).
"""

from __future__ import annotations

import numpy as np

from ...ir import OpCode, TensorType
from ...ir.library import full_params
from ...ir.library.fft import C2C, R2C, SWAP_NORM, TRANSFORMS, plan
from ..emit import Emitter
from .common import all_batched, same_call


def _plan(op, t: TensorType):
    """(kind, n-d, axes, points, norm) of the call `op` on an operand of type `t`."""
    fn = op.attrs["fn"]
    kind, nd = TRANSFORMS[fn][:2]
    p = full_params(op.attrs)
    axes, sizes = plan(fn, kind, t, p, nd)
    return kind, nd, axes, sizes, p["norm"]


def _transform(e: Emitter, fn: str, nd: bool, x, axes, sizes, norm):
    """The 1-d (`n`, `axis`) or n-d (`s`, `axes`) call of `fn` ("fft", "rfft" ...)."""
    if nd:
        return e.call(f"fft.{fn}n", x, s=tuple(sizes), axes=tuple(axes), norm=norm)[0]
    return e.call(f"fft.{fn}", x, n=sizes[0], axis=axes[0], norm=norm)[0]


def _resize(e: Emitter, v, axes, lengths):
    """`v` cropped or padded with zeros to `lengths` along `axes`."""
    for a, m in zip(axes, lengths):
        have = v.type.shape[a]
        if have > m:
            v = e.slice_axis(v, a, 0, m)
        elif have < m:
            shape = tuple(m - have if i == a else d for i, d in enumerate(v.type.shape))
            v = e.op(OpCode.CONCAT, v, e.zeros(TensorType(shape, v.type.dtype)), axis=a)
    return v


def _conj(e: Emitter, v):
    return e.op(OpCode.CONJ, v)  # exists wherever complex values do


def _hermitian_weights(e: Emitter, v, axis: int, n: int):
    """`v` (a half spectrum along `axis` of an n-point real signal) times [1, 2, ..., 2, 1]:
    the points an inverse real transform counts twice, weighted 2 (the last one 1 for even n)."""
    h = v.type.shape[axis]
    w = np.full(h, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    shape = tuple(h if i == axis else 1 for i in range(v.type.ndim))
    real = np.float32 if v.type.dtype.itemsize == 8 else np.float64
    return e.mul(v, e.constant(w.astype(real).reshape(shape)))


def _vjp(e, op, xs, outs, cts, wants):
    (x,), (ct,) = xs, cts
    t = x.type
    kind, nd, axes, sizes, norm = _plan(op, t)
    fn = TRANSFORMS[op.attrs["fn"]][2]
    if kind == C2C:  # fft, ifft, fftn, ifftn: the same transform
        g = _transform(e, fn[:-1] if nd else fn, nd, ct, axes, sizes, norm)
    elif fn == "ihfft":  # conj(rfft(x), norm swapped): Re(ifft) of the padded cotangent
        g = _transform(e, "ifft", nd, ct, axes, sizes, norm)
    elif kind == R2C:  # rfft, rfftn: the full transform of the zero-padded cotangent
        g = _transform(e, "fft", nd, ct, axes, sizes, norm)
    else:  # irfft, irfftn, hfft: the weighted rfft of the cotangent
        g = _transform(e, "rfft", nd, ct, axes, sizes, norm if fn == "hfft" else SWAP_NORM[norm])
        g = _hermitian_weights(e, g, axes[-1], sizes[-1])
        g = g if fn == "hfft" else _conj(e, g)
    g = _resize(e, g, axes, [t.shape[a] for a in axes])
    return [e.like(g, t)]


def _jvp(e, op, xs, ts, outs):
    return same_call(op, e, ts[0])


def _batch(e, op, xs, batched, size):
    (x,) = all_batched(e, xs, batched, size)
    inner = TensorType(x.type.shape[1:], x.type.dtype)
    _, nd, axes, sizes, norm = _plan(op, inner)
    moved = [a + 1 for a in axes]
    if nd:
        return e.call(op.attrs["fn"], x, s=tuple(sizes), axes=tuple(moved), norm=norm)
    return e.call(op.attrs["fn"], x, n=sizes[0], axis=moved[0], norm=norm)


JVP = {name: _jvp for name in TRANSFORMS}
VJP = {name: _vjp for name in TRANSFORMS}
BATCH = {name: _batch for name in TRANSFORMS}
