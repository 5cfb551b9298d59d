"""Linear algebra of the array API's main namespace: `matmul` and `vecdot`.

`matmul` is one op; `vecdot` is a multiply and a sum over the contracted axis (moved last).
"""

from __future__ import annotations

from .dispatch import bind, type_of
from .elementwise import conj, multiply
from .manipulation import moveaxis
from .reductions import sum
from ..errors import ShapeError, user_location, with_location
from ..ir import OpCode
from ..ir.rules import normalize_axis

G = OpCode


def matmul(x1, x2, /):
    """Matrix product with the array API's rules for 1-D operands and batch broadcasting."""
    return bind(G.MATMUL, (x1, x2))


def vecdot(x1, x2, /, *, axis=-1):
    """Dot product of vectors along `axis` (broadcasting the other axes); a complex x1 is
    conjugated, sum(conj(x1) * x2), as the standard says."""
    s1, s2 = type_of(x1).shape, type_of(x2).shape
    try:
        a1, a2 = normalize_axis(axis, len(s1)), normalize_axis(axis, len(s2))
    except ShapeError as e:
        raise ShapeError(with_location(f"vecdot: {e}", user_location())) from None
    if s1[a1] != s2[a2]:
        raise ShapeError(with_location(
            f"vecdot: the contracted axis {axis} differs: shapes {s1} and {s2}", user_location()))
    # like NumPy's gufunc: `axis` names each operand's own axis; the result has the promoted dtype
    if type_of(x1).dtype.is_complex:
        x1 = conj(x1)
    product = multiply(moveaxis(x1, a1, -1), moveaxis(x2, a2, -1))
    return sum(product, axis=-1, dtype=type_of(product).dtype)
