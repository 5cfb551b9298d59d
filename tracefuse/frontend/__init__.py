"""The front end: the eager `Tensor`, the array-API functions by family, and `bind`, which
runs an op at once or records it into the trace in progress.

Modules, bottom to top: `device` (where arrays live), `tensor` (Tensor), `dispatch` (bind),
`elementwise` (math, comparisons, `where`, `clip`, `astype`), `reductions` (sums, extrema,
statistics), `creation`, `axes` (axis checks and slices the next four share), `manipulation`
(shapes and indexing), `manipulation_more` (`tile`, `repeat`, `roll`, `pad` ... composed of the
movement ops), `linear_algebra` (`matmul`, `vecdot`), `linalg_compose` (`tensordot`, `einsum`),
`dtypes` (the data type functions), `info` (`__array_namespace_info__`), `sorting`,
`searching`, `sets`, `indexing` (`x[key]` with index arrays and masks, `take`), `updates`
(`x.at[key].set(v)` ...), `linalg`, `fft`; `standard` lists the names of the array API
standard. No module here imports one above it.

This package's namespace is the table of functions the operators of Tensor and Tracer call
(tracer/operators.py `use_functions`): every array function below, plus `getitem` (`x[key]`)
and `index_update` (`x.at[key].set(v)` ...), which are not in `__all__`.
"""

from .creation import (arange, asarray, constant, empty, empty_like, eye, full, full_like,
                       linspace, ones, ones_like, zeros, zeros_like)
from .dtypes import can_cast, finfo, iinfo, isdtype, result_type
from .elementwise import (abs, acos, acosh, add, arccos, arccosh, arcsin, arcsinh, arctan,
                          arctan2, arctanh, asin, asinh, astype, atan, atan2, atanh, bitwise_and,
                          bitwise_invert, bitwise_left_shift, bitwise_or, bitwise_right_shift,
                          bitwise_xor, ceil, clip, copysign, cos, cosh, divide, equal, erf, erfc,
                          exp, expm1, floor, floor_divide, greater, greater_equal, hypot, invert,
                          isfinite, isinf, isnan, less, less_equal, log, log1p, log2, log10,
                          logaddexp, logical_and, logical_not, logical_or, logical_xor, maximum,
                          minimum, multiply, negative, nextafter, not_equal, positive, pow, power,
                          reciprocal, remainder, round, sign, signbit, sin, sinh, sqrt, square,
                          stop_gradient, subtract, tan, tanh, true_divide, trunc, where)
from .indexing import getitem, take
from .info import __array_namespace_info__
from .linalg_compose import einsum, tensordot
from .elementwise import angle, conj, conjugate, imag, real
from .linear_algebra import matmul, vecdot
from .manipulation import (broadcast_arrays, broadcast_to, concat, expand_dims, flip,
                           matrix_transpose, moveaxis, permute_dims, reshape, squeeze, stack,
                           swapaxes)
from .manipulation_more import (count_nonzero, diff, meshgrid, pad, repeat, roll, tile, tril, triu,
                                unstack)
from .reductions import all, any, argmax, argmin, max, mean, min, prod, std, sum, var
from .searching import nonzero, searchsorted
from .sets import unique_all, unique_counts, unique_inverse, unique_values
from .sorting import argsort, cumulative_prod, cumulative_sum, sort, take_along_axis
from .tensor import from_dlpack
from .updates import index_update

__all__ = [
    # creation
    "arange", "asarray", "constant", "empty", "empty_like", "eye", "full", "full_like",
    "linspace", "ones", "ones_like", "zeros", "zeros_like",
    # data type functions
    "astype", "can_cast", "finfo", "iinfo", "isdtype", "result_type",
    # inspection and interchange
    "__array_namespace_info__", "from_dlpack",
    # elementwise
    "abs", "acos", "acosh", "add", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and", "bitwise_invert",
    "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor", "ceil", "clip",
    "copysign", "cos", "cosh", "divide", "equal", "erf", "erfc", "exp", "expm1", "floor",
    "floor_divide",
    "greater", "greater_equal", "hypot", "invert", "isfinite", "isinf", "isnan", "less",
    "less_equal", "log", "log1p", "log2", "log10", "logaddexp", "logical_and", "logical_not",
    "logical_or", "logical_xor", "maximum", "minimum", "multiply", "negative", "nextafter",
    "not_equal", "positive", "pow", "power", "reciprocal", "remainder", "round", "sign",
    "signbit", "sin", "sinh", "sqrt", "square", "stop_gradient", "subtract", "tan", "tanh",
    "true_divide", "trunc",
    "where",
    # complex numbers
    "angle", "conj", "conjugate", "imag", "real",
    # reductions and statistics
    "all", "any", "argmax", "argmin", "max", "mean", "min", "prod", "std", "sum", "var",
    # linear algebra
    "einsum", "matmul", "tensordot", "vecdot",
    # sorting, running sums, gathers (library calls)
    "argsort", "cumulative_prod", "cumulative_sum", "sort", "take_along_axis",
    # searching, sets, indexing (library calls; nonzero and unique_* eager or with size=)
    "nonzero", "searchsorted", "take", "unique_all", "unique_counts", "unique_inverse",
    "unique_values",
    # manipulation and indexing
    "broadcast_arrays", "broadcast_to", "concat", "expand_dims", "flip", "getitem",
    "matrix_transpose", "moveaxis", "permute_dims", "reshape", "squeeze", "stack", "swapaxes",
    "diff", "meshgrid", "pad", "repeat", "roll", "tile", "tril", "triu", "unstack",
    # searching
    "count_nonzero",
]
