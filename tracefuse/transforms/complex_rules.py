"""Derivatives of the ops that are not holomorphic in a complex operand: `real`, `imag`, `conj`,
`angle`, and `abs` of a complex value. Their JVP and VJP rules are written here as pairs, the
VJP of each being JAX's transpose of its JVP (docs/transforms.md, "Complex numbers").

JAX's convention: a JVP pushes a tangent `t` forward by the derivative as an R-linear map `A`;
a VJP pulls a cotangent back by `conj . A^T . conj` (A^T: the transpose for the real inner
product Re(a conj(b))). For a holomorphic op `A t = f'(z) t` and the VJP is `ct * f'(z)`, the
rule every other elementwise op already has (derivatives.PARTIALS); `grad` of a real-valued
f(z) = f(x + iy) is then df/dx - i df/dy (`grad(abs(z)**2) == 2 conj(z)`). Here:

  op      JVP (t -> ...)                  VJP (ct -> ...)
  real    real(t)                         ct + 0j
  imag    imag(t)                         -1j * ct
  conj    conj(t)                         conj(ct)
  angle   imag(t / z)                     -1j * ct / z
  abs     real(conj(sign(z)) * t)         ct * conj(sign(z))      (0 at z = 0, as abs's sign)

A real operand of these ops is a plain real function: real and conj are the identity, imag and
angle are constant (no derivative), abs has the derivative sign(x) (derivatives.PARTIALS).
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import OpCode, Value
from .derivatives import PARTIALS, scale
from .emit import Emitter

G = OpCode


def _is_complex(v: Value) -> bool:
    return v.type.dtype.is_complex


def _conj_sign(e: Emitter, z: Value) -> Value:
    return e.op(G.CONJ, e.op(G.SIGN, z))


# --- forward: rule(e, op, xs, ts, out) -> tangent | None -------------------------------------
def real_jvp(e, op, xs, ts, out):
    return e.op(G.REAL, ts[0]) if _is_complex(xs[0]) else ts[0]


def imag_jvp(e, op, xs, ts, out):
    return e.op(G.IMAG, ts[0]) if _is_complex(xs[0]) else None


def conj_jvp(e, op, xs, ts, out):
    return e.op(G.CONJ, ts[0]) if _is_complex(xs[0]) else ts[0]


def angle_jvp(e, op, xs, ts, out):
    return e.op(G.IMAG, e.div(ts[0], xs[0])) if _is_complex(xs[0]) else None


def abs_jvp(e, op, xs, ts, out):
    (z,), (t,) = xs, ts
    if not _is_complex(z):
        return scale(e, t, PARTIALS[G.ABS](e, xs, out)[0])
    return e.op(G.REAL, e.mul(_conj_sign(e, z), t))


# --- reverse: rule(e, op, xs, out, ct, wants) -> [cotangent | None] ------------------------------
def real_vjp(e, op, xs, out, ct, wants):
    return [e.cast(ct, xs[0].type.dtype) if _is_complex(xs[0]) else ct]


def imag_vjp(e, op, xs, out, ct, wants):
    return [e.mul(ct, e.scalar(-1j)) if _is_complex(xs[0]) else None]


def conj_vjp(e, op, xs, out, ct, wants):
    return [e.op(G.CONJ, ct) if _is_complex(xs[0]) else ct]


def angle_vjp(e, op, xs, out, ct, wants):
    return [e.div(e.mul(ct, e.scalar(-1j)), xs[0]) if _is_complex(xs[0]) else None]


def abs_vjp(e, op, xs, out, ct, wants):
    (z,) = xs
    if not _is_complex(z):
        return [scale(e, ct, PARTIALS[G.ABS](e, xs, out)[0])]
    return [e.mul(ct, _conj_sign(e, z))]


JVP: dict[OpCode, Callable] = {G.REAL: real_jvp, G.IMAG: imag_jvp, G.CONJ: conj_jvp,
                               G.ANGLE: angle_jvp, G.ABS: abs_jvp}
VJP: dict[OpCode, Callable] = {G.REAL: real_vjp, G.IMAG: imag_vjp, G.CONJ: conj_vjp,
                               G.ANGLE: angle_vjp, G.ABS: abs_vjp}
