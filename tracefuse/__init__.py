"""tracefuse: a tracing compiler for NumPy-style array code.

Write array code against `import tracefuse as tx`; it runs eagerly (every op at once, returning
`tx.Tensor`s). Decorate a function with `@tx.function` to trace it into an SSA IR, optimize it,
and run it on a backend, cached per input signature. The namespace follows the Python array API
standard. CuPy is never imported here.
"""

from __future__ import annotations

import sys as _sys

from . import config
from . import frontend as _frontend
from .tracer import operators as _operators
from .compiler.function import ConcreteFunction, Function, Lowered, TensorSpec, function, jit
from .frontend.creation import (arange, asarray, constant, empty, empty_like, eye, full, full_like,
                                linspace, ones, ones_like, zeros, zeros_like)
from .errors import (BackendUnavailableError, ConcretizationError, DTypeError, IRParseError,
                     RetraceWarning, ShapeError, SignatureError, TracefuseError, VerificationError)
from .frontend.functions import (abs, acos, acosh, add, all, any, arccos, arccosh, arcsin, arcsinh,
                                 arctan, arctan2, arctanh, argmax, argmin, asin, asinh, astype,
                                 atan, atan2, atanh, bitwise_and, bitwise_invert,
                                 bitwise_left_shift, bitwise_or, bitwise_right_shift, bitwise_xor,
                                 ceil, clip, copysign, cos, cosh, divide, equal, exp, expm1, floor,
                                 floor_divide, greater, greater_equal, hypot, invert, isfinite,
                                 isinf, isnan, less, less_equal, log, log1p, log2, log10, logaddexp,
                                 logical_and, logical_not, logical_or, logical_xor, matmul, max,
                                 maximum, mean, min, minimum, multiply, negative, nextafter,
                                 not_equal, positive, pow, power, prod, reciprocal, remainder,
                                 round, sign, signbit, sin, sinh, sqrt, square, std, subtract, sum,
                                 tan, tanh, true_divide, trunc, var, vecdot, where)
from .ir.dtypes import (DType, bool_, float16, float32, float64, int8, int16, int32, int64, uint8,
                        uint16, uint32, uint64)
from .frontend.manipulation import (broadcast_arrays, broadcast_to, concat, expand_dims, flip,
                                    matrix_transpose, moveaxis, permute_dims, reshape, squeeze,
                                    stack, swapaxes)
from .frontend.tensor import Tensor
from .frontend.dtypes import can_cast, finfo, iinfo, isdtype, result_type

bool = bool_  # noqa: A001 - the array API names the dtype `bool`
newaxis = None
e = 2.718281828459045
pi = 3.141592653589793
inf = float("inf")
nan = float("nan")
__version__ = "0.1.0"
__array_api_version__ = "2023.12"


# The package assembled: the operators of Tensor and Tracer call the frontend's functions
_operators.use_functions(_frontend, _sys.modules[__name__])


def __getattr__(name: str):
    raise AttributeError(
        f"module 'tracefuse' has no attribute {name!r}; see the array API standard for the "
        "names tracefuse follows, or `dir(tracefuse)`"
    )
