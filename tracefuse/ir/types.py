"""`TensorType` (shape, dtype, weak flag) and `Literal`, the hashable payload of a constant.

Both are frozen and hashable, so they can sit in op attributes and cache keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .dtypes import DType, as_dtype


@dataclass(frozen=True)
class TensorType:
    """The static type of a value: its shape, its dtype, and whether it is a weak Python scalar.

    A weak type (`f64[]{weak}`) comes from a Python scalar; it takes the dtype of a strong
    operand it is combined with (NEP 50).
    """

    shape: tuple[int, ...]
    dtype: DType
    weak: bool = False

    def __post_init__(self):
        shape = self.shape
        if type(shape) is not tuple or not all(type(d) is int for d in shape):
            object.__setattr__(self, "shape", tuple(int(d) for d in shape))
        if type(self.dtype) is not DType:
            object.__setattr__(self, "dtype", as_dtype(self.dtype))
        for d in self.shape:
            if d < 0:
                raise ValueError(f"negative dimension in shape {self.shape}")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        dims = ",".join(str(d) for d in self.shape)
        return f"{self.dtype.short}[{dims}]" + ("{weak}" if self.weak else "")

    def strong(self) -> "TensorType":
        return TensorType(self.shape, self.dtype) if self.weak else self


class Literal:
    """An immutable array value used as a constant: hashable by its bytes, shape and dtype."""

    __slots__ = ("array", "_hash")

    def __init__(self, array: np.ndarray):
        arr = np.array(array, copy=True, order="C")
        arr.flags.writeable = False
        self.array = arr
        self._hash = hash((arr.shape, arr.dtype.str, arr.tobytes()))

    @property
    def dtype(self) -> DType:
        return as_dtype(self.array.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Literal)
            and self._hash == other._hash
            and self.array.shape == other.array.shape
            and self.array.dtype == other.array.dtype
            and self.array.tobytes() == other.array.tobytes()
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Literal({self.array!r})"
