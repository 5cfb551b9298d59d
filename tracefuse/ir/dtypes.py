"""Data types and type promotion.

`DType` is tracefuse's dtype object (`tx.float32` ...), a thin frozen wrapper of a NumPy dtype
with the short name the IR prints (`f32`). Promotion follows the Python array API standard,
NumPy 2 where the standard leaves a case open (`int32 * float32 -> float64`,
`uint64 + int64 -> float64`), and NEP 50 for Python scalars, which are *weak*: a weak operand
takes the dtype of a strong one of the same or a higher kind (`float32_tensor * 2.0` stays
float32), while a weak float with an integer array gives the default float (float64).

Complex dtypes (`complex64`, `complex128`) are the kind above float: complex64 with float64
gives complex128 (the standard's table), bool and integers with complex give the complex dtype,
and a weak Python complex takes the precision of a strong float or complex operand
(`float32_tensor * 1j` is complex64, as NEP 50 says) and is complex128 with bool and integers.
`is_float` means *real* floating point; `is_complex` and `is_inexact` (either) are apart, and
`real_dtype(complex64)` is float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class DType:
    """A tracefuse dtype. Compares equal to the NumPy dtype it wraps (`tx.float32 == np.float32`)."""

    __slots__ = ("name", "short", "np", "kind", "itemsize")

    def __init__(self, name: str, short: str):
        self.name = name
        self.short = short
        self.np = np.dtype(name)
        self.kind = self.np.kind  # 'b', 'i', 'u', 'f', 'c'
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"tx.{self.name}"

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: Any) -> bool:
        """Equal to itself, and to what names the same dtype: a NumPy dtype, a scalar type
        (`np.float32`, `float`) or a NumPy dtype string (`"float32"`). Anything else (None, a
        dict, a number, an array ...) is simply not equal: comparing never raises."""
        if isinstance(other, DType):
            return self is other
        if not isinstance(other, (np.dtype, type, str)):
            return False  # np.dtype(None) is float64, np.dtype({...}) raises: never ask it
        try:
            return self.np == np.dtype(other)
        except (TypeError, ValueError):
            return False

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self):
        return (as_dtype, (self.name,))

    @property
    def is_bool(self) -> bool:
        return self.kind == "b"

    @property
    def is_integer(self) -> bool:
        return self.kind in "iu"

    @property
    def is_float(self) -> bool:
        return self.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.kind == "c"

    @property
    def is_inexact(self) -> bool:
        """Real or complex floating point."""
        return self.kind in "fc"

    @property
    def is_real_numeric(self) -> bool:
        """An integer or real floating-point dtype (what `<`, `maximum`, `floor` accept)."""
        return self.kind in "iuf"

    @property
    def is_numeric(self) -> bool:
        return self.kind in "iufc"


bool_ = DType("bool", "bool")
int8 = DType("int8", "i8")
int16 = DType("int16", "i16")
int32 = DType("int32", "i32")
int64 = DType("int64", "i64")
uint8 = DType("uint8", "u8")
uint16 = DType("uint16", "u16")
uint32 = DType("uint32", "u32")
uint64 = DType("uint64", "u64")
float16 = DType("float16", "f16")
float32 = DType("float32", "f32")
float64 = DType("float64", "f64")
complex64 = DType("complex64", "c64")
complex128 = DType("complex128", "c128")

ALL_DTYPES: tuple[DType, ...] = (
    bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32, float64,
    complex64, complex128,
)
INT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_integer)
FLOAT_DTYPES = (float16, float32, float64)
COMPLEX_DTYPES = (complex64, complex128)
NUMERIC_DTYPES = INT_DTYPES + FLOAT_DTYPES + COMPLEX_DTYPES

DEFAULT_INT = int64
DEFAULT_FLOAT = float64
DEFAULT_INDEX = int64
DEFAULT_COMPLEX = complex128

_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_SHORT = {d.short: d for d in ALL_DTYPES}
_BY_NP = {d.np: d for d in ALL_DTYPES}


def as_dtype(x: Any) -> DType:
    """A DType from a DType, a NumPy dtype or scalar type, or a name (`"float32"`, `"f32"`)."""
    if isinstance(x, DType):
        return x
    if isinstance(x, np.dtype):
        found = _BY_NP.get(x)
        if found is not None:
            return found
    if isinstance(x, str) and x in _BY_SHORT:
        return _BY_SHORT[x]
    if x is bool:
        return bool_
    if x is int:
        return DEFAULT_INT
    if x is float:
        return DEFAULT_FLOAT
    if x is complex:
        return DEFAULT_COMPLEX
    try:
        name = np.dtype(x).name
    except TypeError:
        raise TypeError(f"{x!r} is not a dtype") from None
    if name not in _BY_NAME:
        raise TypeError(
            f"dtype {name} is not supported by tracefuse; supported: "
            + ", ".join(d.name for d in ALL_DTYPES)
        )
    return _BY_NAME[name]


def from_short(short: str) -> DType:
    """The DType the IR text names `short` (`f32`)."""
    return _BY_SHORT[short]


def weak_dtype_of_scalar(value: Any) -> DType:
    """The dtype a Python scalar takes as a weak value: bool, int64, float64 or complex128."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return DEFAULT_INT
    if isinstance(value, float):
        return DEFAULT_FLOAT
    if isinstance(value, complex):
        return DEFAULT_COMPLEX
    raise TypeError(f"{type(value).__name__} is not a supported Python scalar")


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def real_dtype(d: DType) -> DType:
    """The dtype of the real and imaginary parts of `d` (complex64 -> float32); others: `d`."""
    return {complex64: float32, complex128: float64}.get(d, d)


def complex_dtype(d: DType) -> DType:
    """The complex dtype whose parts are `d` (float32 -> complex64; float64, ints and bool ->
    complex128); a complex `d` itself."""
    if d.is_complex:
        return d
    return complex64 if d in (float16, float32) else complex128


def promote(a: DType, a_weak: bool, b: DType, b_weak: bool) -> tuple[DType, bool]:
    """The result (dtype, weak) of combining two operands by the standard's rules plus NEP 50."""
    if a_weak == b_weak:
        # both strong, or both Python scalars: ordinary promotion (int + float -> float)
        return as_dtype(np.result_type(a.np, b.np)), a_weak
    strong, weak = (b, a) if a_weak else (a, b)
    if _KIND_RANK[weak.kind] <= _KIND_RANK[strong.kind]:
        return strong, False  # the weak scalar takes the strong operand's dtype
    # a weak scalar of a higher kind: bool array + 1 -> int64, int array + 1.0 -> float64,
    # float32 array + 1j -> complex64 (NEP 50: the strong operand's precision), int + 1j ->
    # complex128
    if weak.kind in "iu":
        return DEFAULT_INT, False
    if weak.kind == "f":
        return DEFAULT_FLOAT, False
    return (complex_dtype(strong) if strong.is_float else DEFAULT_COMPLEX), False


def promote_all(types: list[tuple[DType, bool]]) -> tuple[DType, bool]:
    dtype, weak = types[0]
    for other, other_weak in types[1:]:
        dtype, weak = promote(dtype, weak, other, other_weak)
    return dtype, weak


def to_float(d: DType) -> DType:
    """The float dtype an op with floating-point results gives for `d` (ints and bool -> float64;
    complex stays complex)."""
    return d if d.is_inexact else DEFAULT_FLOAT


def to_real_float(d: DType) -> DType:
    """The real float dtype of a real-valued result of `d` (`abs`, `angle`: complex64 ->
    float32, float32 -> float32, ints and bool -> float64)."""
    return real_dtype(d) if d.is_complex else to_float(d)


def sum_dtype(d: DType) -> DType:
    """NumPy's accumulator dtype for sum/prod: small ints widen to int64/uint64, bool to int64."""
    if d.is_bool:
        return DEFAULT_INT
    if d.kind == "i":
        return int64
    if d.kind == "u":
        return uint64
    return d


def can_cast_value(value: Any, d: DType) -> bool:
    """Whether a Python scalar fits `d` without overflow (NEP 50 raises when it does not)."""
    if d.is_integer and isinstance(value, int) and not isinstance(value, bool):
        info = np.iinfo(d.np)
        return info.min <= value <= info.max
    return True
