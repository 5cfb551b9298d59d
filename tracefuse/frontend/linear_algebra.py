"""Linear algebra of the array API's main namespace: `matmul` and `vecdot` (`tensordot` and
`einsum`: linalg_compose.py).

`matmul` is one op; `vecdot` is a multiply and a sum over the contracted axis (moved last).
"""

from __future__ import annotations

from .dispatch import bind, type_of
from .axes import check_axis
from .elementwise import conj, multiply
from .manipulation import moveaxis
from .reductions import sum
from ..errors import ShapeError, user_location, with_location
from ..ir import OpCode

G = OpCode


def matmul(x1, x2, /):
    """Matrix product with the array API's rules for 1-D operands and batch broadcasting."""
    return bind(G.MATMUL, (x1, x2))


def vecdot(x1, x2, /, *, axis=-1):
    """Dot product of vectors along `axis` (broadcasting the other axes); a complex x1 is
    conjugated, sum(conj(x1) * x2), as the standard says. The standard asks for a negative
    `axis`, counted from the end of both; a non-negative one names each operand's own axis, as
    NumPy's gufunc does. Out of range: AxisError (an IndexError)."""
    s1, s2 = type_of(x1).shape, type_of(x2).shape
    a1, a2 = check_axis(axis, len(s1)), check_axis(axis, len(s2))
    if s1[a1] != s2[a2]:
        raise ShapeError(with_location(
            f"vecdot: the contracted axis {axis} differs: shapes {s1} and {s2}", user_location()))
    # like NumPy's gufunc: `axis` names each operand's own axis; the result has the promoted dtype
    if type_of(x1).dtype.is_complex:
        x1 = conj(x1)
    product = multiply(moveaxis(x1, a1, -1), moveaxis(x2, a2, -1))
    return sum(product, axis=-1, dtype=type_of(product).dtype)
