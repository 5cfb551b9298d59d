"""The names of the Python array API standard (2023.12, main namespace) in one place, and the
message for a name tracefuse does not have (`tx.sort`, `tx.concatenate` ...).

`missing_name_message` tells apart a name the standard defines but tracefuse does not implement
yet (say so, and how to get by meanwhile), a NumPy name the standard spells differently
(`concatenate` -> `concat`), and a name that is neither (suggest close names).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# https://data-apis.org/array-api/2023.12/API_specification/index.html, by section
ARRAY_API_NAMES: frozenset[str] = frozenset({
    # constants
    "e", "inf", "nan", "newaxis", "pi",
    # creation functions
    "arange", "asarray", "empty", "empty_like", "eye", "from_dlpack", "full", "full_like",
    "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros", "zeros_like",
    # data type functions and data types
    "astype", "can_cast", "finfo", "iinfo", "isdtype", "result_type",
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float32", "float64", "complex64", "complex128",
    # element-wise functions
    "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_left_shift", "bitwise_invert", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "ceil", "clip", "conj", "copysign", "cos", "cosh", "divide", "equal", "exp", "expm1",
    "floor", "floor_divide", "greater", "greater_equal", "hypot", "imag", "isfinite", "isinf",
    "isnan", "less", "less_equal", "log", "log1p", "log2", "log10", "logaddexp", "logical_and",
    "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "multiply", "negative",
    "not_equal", "positive", "pow", "real", "remainder", "round", "sign", "signbit", "sin",
    "sinh", "square", "sqrt", "subtract", "tan", "tanh", "trunc",
    # indexing, inspection, linear algebra
    "take", "__array_namespace_info__", "matmul", "matrix_transpose", "tensordot", "vecdot",
    # manipulation functions
    "broadcast_arrays", "broadcast_to", "concat", "expand_dims", "flip", "moveaxis",
    "permute_dims", "repeat", "reshape", "roll", "squeeze", "stack", "tile", "unstack",
    # searching, set, sorting functions
    "argmax", "argmin", "nonzero", "searchsorted", "where",
    "unique_all", "unique_counts", "unique_inverse", "unique_values", "argsort", "sort",
    # statistical and utility functions
    "cumulative_sum", "max", "mean", "min", "prod", "std", "sum", "var", "all", "any",
    # extensions (submodules)
    "fft", "linalg",
})

# NumPy names the standard spells differently: what to write instead
NUMPY_SPELLINGS: dict[str, str] = {
    "concatenate": "concat",
    "transpose": "permute_dims (or x.T, x.mT)",
    "absolute": "abs",
    "amax": "max",
    "amin": "min",
    "dot": "matmul (or vecdot for vectors)",
    "bool_": "bool",
    "array": "asarray",
}


def missing_name_message(module: str, name: str, available: Iterable[str]) -> str:
    """What `AttributeError` says for `module.name` when the module has no such name."""
    head = f"module {module!r} has no attribute {name!r}"
    if name in ARRAY_API_NAMES:
        return (f"tx.{name} is part of the array API standard but not implemented in {module} "
                f"yet; meanwhile, outside a @tx.function, convert with x.numpy(), use "
                f"numpy.{name}, and tx.asarray(...) the result")
    if name in NUMPY_SPELLINGS:
        return (f"{head}: that is NumPy's name; the array API standard, which {module} "
                f"follows, spells it tx.{NUMPY_SPELLINGS[name]}")
    close = difflib.get_close_matches(name, sorted(available), n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (f"{head}{hint} ({module} follows the Python array API standard; dir({module}) "
            "lists what it has)")
