"""Per-op shape and dtype rules: `SHAPE_RULES[code]` and `DTYPE_RULES[code]`, and `infer_type`.

A shape rule maps the operand shapes and the attributes to the result shape; a dtype rule maps
the operand `(dtype, weak)` pairs and the attributes to the result's. Both raise `ShapeError` /
`DTypeError` with a message for people; `infer_type` adds the op name and the user's line.

Elementwise dtype rules first promote the operands (array API + NumPy + NEP 50, see dtypes.py),
then check the operand kind the op accepts and map to the result kind. Deliberate differences
from NumPy: functions with floating-point results (`exp`, `divide`, `atan2`, `reciprocal` ...)
give float64 for every integer and bool input, where NumPy gives float16 for 8-bit and float32
for 16-bit ints (and keeps ints for `reciprocal`); arithmetic that NumPy does on bools by
converting them to int8 (`floor`, `square`, `//`, `%`, `**`, shifts ...) is a DTypeError here,
as in the array API standard: cast first. Complex operands: functions the standard defines
only for real numbers (ordering: `<`, `maximum`, `floor`, `%`, `clip`, max/min/argmax
reductions; `atan2`, `hypot`, `erf` ...) and the logical ops are a DTypeError that says what to
write instead (NumPy orders complex numbers lexicographically); `abs` of complex gives the real
dtype of its parts; a cast of complex to a real dtype is a DTypeError too (the standard: take
`real(x)` or `imag(x)` first; NumPy drops the imaginary part), to bool it is `x != 0`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import DTypeError, Loc, ShapeError, with_location
from . import dtypes as dt
from .dtypes import DType
from . import library
from .opcodes import BINARY, TERNARY, UNARY, OpCode
from .types import TensorType

G = OpCode
Shape = tuple[int, ...]
DW = tuple[DType, bool]  # (dtype, weak)

# ---------------------------------------------------------------------------------------------
# shapes


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting of several shapes; ShapeError names all of them when they do not fit."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for i in range(-ndim, 0):
        size = 1
        for s in shapes:
            if len(s) >= -i:
                d = s[i]
                if d != 1:
                    if size != 1 and d != size:
                        raise ShapeError(
                            "cannot broadcast shapes " + " and ".join(str(tuple(x)) for x in shapes)
                        )
                    size = d
        result.append(size)
    return tuple(result)


def normalize_axis(axis: int, ndim: int) -> int:
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise ShapeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ShapeError(f"axis {axis} is out of bounds for an array of {ndim} dimensions")
    return axis % ndim


def normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """`axis` as a sorted tuple of non-negative axes (None: all axes); repeats are an error."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    norm = tuple(normalize_axis(a, ndim) for a in axes)
    if len(set(norm)) != len(norm):
        raise ShapeError(f"repeated axis in {tuple(axes)}")
    return tuple(sorted(norm))


def _elementwise_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    return broadcast_shapes(*shapes)


def _reduce_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    axes = attrs["axes"]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"repeated axis in {tuple(axes)}")
    for a in axes:
        if not 0 <= a < len(shape):
            raise ShapeError(f"reduction axis {a} out of range for shape {shape}")
    if attrs["keepdims"]:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_nonempty_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    if any(shape[a] == 0 for a in attrs["axes"] if 0 <= a < len(shape)):
        raise ShapeError(
            f"cannot take the maximum/minimum of an empty axis: shape {shape}, axes {attrs['axes']}"
            " (the reduction has no identity)"
        )
    return _reduce_shape(shapes, attrs)


def _arg_reduce_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    axis = attrs["axis"]
    if axis is None:
        if math.prod(shape) == 0:
            raise ShapeError(f"argmax/argmin of an empty array (shape {shape})")
        return (1,) * len(shape) if attrs["keepdims"] else ()
    if not 0 <= axis < len(shape):
        raise ShapeError(f"axis {axis} out of range for shape {shape}")
    if shape[axis] == 0:
        raise ShapeError(f"argmax/argmin over an empty axis {axis} of shape {shape}")
    if attrs["keepdims"]:
        return tuple(1 if i == axis else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i != axis)


def _reshape_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    new = tuple(attrs["shape"])
    if math.prod(new) != math.prod(shape) or any(d < 0 for d in new):
        raise ShapeError(f"cannot reshape an array of shape {shape} into shape {new}")
    return new


def _permute_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    axes = tuple(attrs["axes"])
    if sorted(axes) != list(range(len(shape))):
        raise ShapeError(f"axes {axes} are not a permutation of the {len(shape)} axes of {shape}")
    return tuple(shape[a] for a in axes)


def _broadcast_to_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    target = tuple(attrs["shape"])
    ok = len(target) >= len(shape) and all(t >= 0 for t in target) and all(
        d == t or d == 1 for d, t in zip(reversed(shape), reversed(target))
    )
    if not ok:
        raise ShapeError(f"cannot broadcast shape {shape} to shape {target}")
    return target


def _slice_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    (shape,) = shapes
    starts, sizes, steps = attrs["starts"], attrs["sizes"], attrs["steps"]
    if not len(starts) == len(sizes) == len(steps) == len(shape):
        raise ShapeError(f"slice attributes do not match the rank of shape {shape}")
    for dim, start, size, step in zip(shape, starts, sizes, steps):
        if step == 0 or size < 0:
            raise ShapeError(f"bad slice: step {step}, size {size}")
        last = start + (size - 1) * step
        if size > 0 and not (0 <= start < dim and 0 <= last < dim):
            raise ShapeError(f"slice start {start} size {size} step {step} out of range {dim}")
    return tuple(sizes)


def _concat_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    axis = attrs["axis"]
    if not shapes:
        raise ShapeError("needs at least one array")
    first = shapes[0]
    if len(first) == 0:
        raise ShapeError("0-d arrays have no axis to join along: use stack instead")
    if not 0 <= axis < len(first):
        raise ShapeError(f"axis {axis} out of range for shape {first}")
    for s in shapes[1:]:
        if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != axis):
            raise ShapeError(
                "all shapes must agree except along axis "
                f"{axis}: " + ", ".join(str(x) for x in shapes)
            )
    return first[:axis] + (sum(s[axis] for s in shapes),) + first[axis + 1 :]


def _matmul_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    a, b = shapes
    if len(a) == 0 or len(b) == 0:
        raise ShapeError(f"a 0-d operand: shapes {a} and {b}")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ShapeError(
            f"inner dimensions differ: shapes {a} and {b} ({a2[-1]} != {b2[-2]})"
        )
    try:
        batch = broadcast_shapes(a2[:-2], b2[:-2])
    except ShapeError:
        raise ShapeError(f"batch dimensions of {a} and {b} do not broadcast") from None
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _constant_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    return tuple(attrs["value"].shape)


def _full_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    value, dtype = attrs["value"], attrs["dtype"]
    if dtype.is_integer and (isinstance(value, float) or not dt.can_cast_value(value, dtype)):
        raise ShapeError(f"fill value {value!r} does not fit {dtype.name}")
    return tuple(attrs["shape"])


def _iota_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    shape = tuple(attrs["shape"])
    if not 0 <= attrs["axis"] < len(shape):
        raise ShapeError(f"iota axis {attrs['axis']} out of range for shape {shape}")
    return shape


def _kernel_rule(values: Sequence[Any], attrs: Mapping) -> Any:
    raise ShapeError("a kernel's result types are its body's output types (see verifier.py)")


def _region_rule(values: Sequence[Any], attrs: Mapping) -> Any:
    raise ShapeError("a control-flow op's result types are its regions' output types "
                     "(see verifier.py)")


def _call_rule(values: Sequence[Any], attrs: Mapping) -> Any:
    raise ShapeError("a call's result types come from its library function's rule "
                     "(ir/library, `infer_types`)")


def _random_bits_shape(shapes: Sequence[Shape], attrs: Mapping) -> Shape:
    target = tuple(attrs["shape"])
    for shape in shapes:
        _broadcast_to_shape([shape], {"shape": target})
    return target


SHAPE_RULES: dict[OpCode, Callable[[Sequence[Shape], Mapping], Shape]] = {
    G.KERNEL: _kernel_rule,
    **{code: _region_rule for code in (G.COND, G.WHILE, G.SCAN)},
    G.CONSTANT: _constant_shape,
    G.FULL: _full_shape,
    G.IOTA: _iota_shape,
    **{code: _elementwise_shape for code in UNARY | BINARY | TERNARY},
    G.SUM: _reduce_shape,
    G.PROD: _reduce_shape,
    G.MAX: _reduce_nonempty_shape,
    G.MIN: _reduce_nonempty_shape,
    G.ALL: _reduce_shape,
    G.ANY: _reduce_shape,
    G.ARGMAX: _arg_reduce_shape,
    G.ARGMIN: _arg_reduce_shape,
    G.RESHAPE: _reshape_shape,
    G.PERMUTE: _permute_shape,
    G.BROADCAST_TO: _broadcast_to_shape,
    G.SLICE: _slice_shape,
    G.CONCAT: _concat_shape,
    G.MATMUL: _matmul_shape,
    G.RANDOM_BITS: _random_bits_shape,
    G.CALL: _call_rule,
}

# ---------------------------------------------------------------------------------------------
# dtypes

_ACCEPT: dict[str, Callable[[DType], bool]] = {
    "any": lambda d: True,
    "numeric": lambda d: d.is_numeric,
    "real": lambda d: d.is_real_numeric,
    "real_or_bool": lambda d: not d.is_complex,
    "int": lambda d: d.is_integer,
    "int_or_bool": lambda d: d.is_integer or d.is_bool,
}
_ACCEPT_TEXT = {
    "numeric": "a numeric (integer, floating-point or complex)",
    "real": "a real-valued numeric (integer or real floating-point)",
    "real_or_bool": "a real-valued (boolean, integer or real floating-point)",
    "int": "an integer",
    "int_or_bool": "an integer or boolean",
}
_COMPLEX_HINT = {
    "real": "; complex numbers are not ordered (the array API standard): compare real(x) and "
            "imag(x), or abs(x)",
    "real_or_bool": "; complex numbers are not ordered (the array API standard): apply it to "
                    "real(x) and imag(x), or abs(x)",
}
_RESULT: dict[str, Callable[[DType], DType]] = {
    "same": lambda d: d,
    "bool": lambda d: dt.bool_,
    "float": dt.to_float,
    "real_float": dt.to_real_float,  # abs and angle of complex64: float32
    "real_part": dt.real_dtype,  # real, imag, abs: complex64 -> float32, others unchanged
}


def _elementwise_dtype(accept: str, result: str) -> Callable[[Sequence[DW], Mapping], DW]:
    check, to_result = _ACCEPT[accept], _RESULT[result]

    def rule(types: Sequence[DW], attrs: Mapping) -> DW:
        dtype, weak = dt.promote_all(list(types))
        if not check(dtype):
            got = ", ".join(d.name for d, _ in types)
            hint = _COMPLEX_HINT.get(accept, "") if dtype.is_complex else ""
            raise DTypeError(f"needs {_ACCEPT_TEXT[accept]} dtype, got {got}{hint}")
        return to_result(dtype), weak

    return rule


# (accepted operand kind after promotion, result kind) for each elementwise op
_ELEMENTWISE_KINDS: dict[OpCode, tuple[str, str]] = {
    G.NEGATIVE: ("numeric", "same"), G.ABS: ("any", "real_part"), G.SIGN: ("numeric", "same"),
    G.SQUARE: ("numeric", "same"), G.FLOOR: ("real", "same"), G.CEIL: ("real", "same"),
    G.TRUNC: ("real", "same"), G.ROUND: ("numeric", "same"),
    G.BITWISE_INVERT: ("int_or_bool", "same"), G.STOP_GRADIENT: ("any", "same"),
    G.REAL: ("any", "real_part"), G.IMAG: ("any", "real_part"),
    G.CONJ: ("numeric", "same"), G.ANGLE: ("any", "real_float"),
    **{c: ("any", "float") for c in (
        G.SQRT, G.RECIPROCAL, G.EXP, G.EXPM1, G.LOG, G.LOG1P, G.LOG2, G.LOG10, G.SIN, G.COS,
        G.TAN, G.ASIN, G.ACOS, G.ATAN, G.SINH, G.COSH, G.TANH, G.ASINH, G.ACOSH, G.ATANH,
        G.DIVIDE)},
    **{c: ("real_or_bool", "float") for c in (
        G.ERF, G.ERFC, G.ATAN2, G.HYPOT, G.LOGADDEXP, G.COPYSIGN, G.NEXTAFTER)},
    **{c: ("any", "bool") for c in (G.ISNAN, G.ISINF, G.ISFINITE, G.EQUAL, G.NOT_EQUAL)},
    **{c: ("real_or_bool", "bool") for c in (
        G.SIGNBIT, G.LOGICAL_NOT, G.LESS, G.LESS_EQUAL, G.GREATER, G.GREATER_EQUAL,
        G.LOGICAL_AND, G.LOGICAL_OR, G.LOGICAL_XOR)},
    G.ADD: ("any", "same"), G.MULTIPLY: ("any", "same"), G.SUBTRACT: ("numeric", "same"),
    G.FLOOR_DIVIDE: ("real", "same"), G.REMAINDER: ("real", "same"),
    G.POW: ("numeric", "same"), G.MAXIMUM: ("real_or_bool", "same"),
    G.MINIMUM: ("real_or_bool", "same"),
    G.BITWISE_AND: ("int_or_bool", "same"), G.BITWISE_OR: ("int_or_bool", "same"),
    G.BITWISE_XOR: ("int_or_bool", "same"), G.LEFT_SHIFT: ("int", "same"),
    G.RIGHT_SHIFT: ("int", "same"),
}


def weak_int_limit(code: OpCode, t: TensorType, out: TensorType) -> DType | None:
    """The integer dtype that a weak Python int operand of type `t` must fit in op `code`
    with result `out` (NEP 50: NumPy raises OverflowError otherwise), or None."""
    if code in BINARY and out.dtype.is_integer and not out.weak and t.weak and t.dtype.is_integer:
        return out.dtype
    return None


def weak_int_overflow(code: OpCode, operands: Sequence[tuple[TensorType, Any]],
                      out: TensorType) -> str | None:
    """NEP 50: integer arithmetic with a Python int that does not fit the integer dtype
    raises in NumPy (int8_x + 300); the message for that, else None. `operands` pairs each
    operand's type with its value where known (None: not a constant). Comparisons, `where`
    and `clip` take any Python int, as in NumPy; float results (int8_x / 300) too."""
    for t, value in operands:
        if value is not None and weak_int_limit(code, t, out) is not None:
            value = int(getattr(value, "array", value).reshape(()).item()) \
                if not isinstance(value, int) else value
            if not dt.can_cast_value(value, out.dtype):
                return (f"Python integer {value} out of bounds for {out.dtype.name} in "
                        f"{code.value} (as in NumPy): convert the array first, e.g. "
                        f"x.astype(tx.int64), or use a value that fits")
    return None


def operand_dtype(types: Sequence[DW]) -> DType:
    """The dtype elementwise operands are converted to before the scalar function runs."""
    return dt.promote_all(list(types))[0]


def _cast_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    (src, _), = types
    to = attrs["dtype"]
    if src.is_complex and not (to.is_complex or to.is_bool):
        # the standard: which part becomes the real value must be said, not discarded silently
        raise DTypeError(f"cannot cast {src.name} to {to.name}: take real(x) or imag(x) (or "
                         f"abs(x)) first, then cast that (the array API standard does not cast "
                         f"complex to real, where NumPy drops the imaginary part)")
    return to, False


def _where_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return dt.promote_all(list(types[1:]))


def _clip_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    x = types[0]
    if x[0].is_bool:
        raise DTypeError("needs a numeric dtype, got bool")
    if any(d.is_complex for d, _ in types):
        raise DTypeError("needs real-valued operands, got complex (complex numbers are not "
                         "ordered: clip real(x) and imag(x) apart)")
    return x


def _sum_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    (d, weak), = types
    return dt.sum_dtype(d), weak


def _same_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return types[0]


def _ordered_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    """max/min: the operand's dtype, which must be ordered (not complex, as the standard says)."""
    if types[0][0].is_complex:
        raise DTypeError(f"needs a real-valued dtype, got {types[0][0].name} (complex numbers "
                         "are not ordered: reduce real(x), imag(x) or abs(x))")
    return types[0]


def _bool_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return dt.bool_, types[0][1]


def _index_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    _ordered_dtype(types, attrs)
    return dt.DEFAULT_INDEX, False


def _promote_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return dt.promote_all(list(types))


def _matmul_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return dt.promote_all(list(types))


def _constant_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return attrs["value"].dtype, bool(attrs.get("weak", False))


def _random_bits_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    if [d for d, _ in types] != [dt.uint32, dt.uint32, dt.uint64]:
        raise DTypeError("the operands are two uint32 key words and a uint64 counter offset, "
                         f"got {', '.join(d.name for d, _ in types)}")
    return dt.uint32, False


def _attr_dtype(types: Sequence[DW], attrs: Mapping) -> DW:
    return attrs["dtype"], False


DTYPE_RULES: dict[OpCode, Callable[[Sequence[DW], Mapping], DW]] = {
    G.KERNEL: _kernel_rule,
    **{code: _region_rule for code in (G.COND, G.WHILE, G.SCAN)},
    G.CONSTANT: _constant_dtype,
    G.FULL: _attr_dtype,
    G.IOTA: _attr_dtype,
    **{code: _elementwise_dtype(*kinds) for code, kinds in _ELEMENTWISE_KINDS.items()},
    G.CAST: _cast_dtype,
    G.WHERE: _where_dtype,
    G.CLIP: _clip_dtype,
    G.SUM: _sum_dtype,
    G.PROD: _sum_dtype,
    G.MAX: _ordered_dtype,
    G.MIN: _ordered_dtype,
    G.ALL: _bool_dtype,
    G.ANY: _bool_dtype,
    G.ARGMAX: _index_dtype,
    G.ARGMIN: _index_dtype,
    G.RESHAPE: _same_dtype,
    G.PERMUTE: _same_dtype,
    G.BROADCAST_TO: _same_dtype,
    G.SLICE: _same_dtype,
    G.CONCAT: _promote_dtype,
    G.MATMUL: _matmul_dtype,
    G.RANDOM_BITS: _random_bits_dtype,
    G.CALL: _call_rule,
}

# ---------------------------------------------------------------------------------------------


def infer_type(
    code: OpCode, in_types: Sequence[TensorType], attrs: Mapping[str, Any], loc: Loc | None = None
) -> TensorType:
    """The result type of `code` on operands of `in_types`; errors name the op and `loc`."""
    if code is G.CALL:
        types = infer_types(code, in_types, attrs, loc)
        if len(types) != 1:
            raise ShapeError(with_location(
                f"{attrs.get('fn')} has {len(types)} results: use infer_types", loc))
        return types[0]
    try:
        shape = SHAPE_RULES[code]([t.shape for t in in_types], attrs)
        dtype, weak = DTYPE_RULES[code]([(t.dtype, t.weak) for t in in_types], attrs)
    except (ShapeError, DTypeError) as e:
        # the rules' messages do not name the op: it is named here, once
        raise type(e)(with_location(f"{code.value}: {e}", loc)) from None
    return TensorType(shape, dtype, weak)


def infer_types(code: OpCode, in_types: Sequence[TensorType], attrs: Mapping[str, Any],
                loc: Loc | None = None) -> tuple[TensorType, ...]:
    """The result types of a `call` (one or several: its library function's rule); errors name
    the function and `loc`."""
    if code is not G.CALL:
        return (infer_type(code, in_types, attrs, loc),)
    try:
        return library.result_types(in_types, attrs)
    except (ShapeError, DTypeError) as e:
        raise type(e)(with_location(f"{attrs.get('fn')}: {e}", loc)) from None
