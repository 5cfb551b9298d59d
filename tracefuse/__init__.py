"""tracefuse: a tracing compiler for NumPy-style array code.

Write array code against `import tracefuse as tx`; it runs eagerly (every op at once, returning
`tx.Tensor`s). Decorate a function with `@tx.function` to trace it into an SSA IR, optimize it,
and run it on a backend, cached per input signature. The namespace follows the Python array API
standard. CuPy is never imported here.

`__all__` is the public API, and `dir(tracefuse)` shows it alone: the package's internal
modules (`frontend`, `compiler`, `ir` ...) stay importable by their full names but are not part
of the namespace a user browses.
"""

import sys as _sys

from . import autograph, config, fft, linalg, nn, optimizers, random, train
from . import frontend as _frontend
from .compiler.function import (ConcreteFunction, Function, Lowered, Profile, TensorSpec, function,
                                jit, resolve_backend as _resolve_backend)
from .compiler.autograph import tx_range as range  # noqa: A001 - tf.range's name
from .compiler.control_flow import cond, fori_loop, scan, switch, while_loop
from .compiler.differentiate import grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vjp
from .compiler.vectorize import vmap
from .errors import (BackendUnavailableError, CheckError, ConcretizationError, DTypeError,
                     IRParseError, RetraceWarning, ShapeError, SignatureError, TracefuseError, VerificationError)
from .frontend import (  # noqa: F401 - re-exported through __all__
    abs, acos, acosh, add, all, any, arange, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
    arctanh, argmax, argmin, asarray, asin, asinh, astype, atan, atan2, atanh, bitwise_and,
    bitwise_invert, bitwise_left_shift, bitwise_or, bitwise_right_shift, bitwise_xor,
    broadcast_arrays, broadcast_to, can_cast, ceil, clip, concat, constant, copysign, cos, cosh,
    count_nonzero, diff, divide, einsum, empty, empty_like, equal, erf, erfc, exp, expand_dims,
    expm1, eye, finfo, flip, floor,
    floor_divide, full, full_like, greater, greater_equal, hypot, iinfo, invert, isdtype, isfinite,
    isinf, isnan, less, less_equal, linspace, log, log1p, log2, log10, logaddexp, logical_and,
    logical_not, logical_or, logical_xor, matmul, matrix_transpose, max, maximum, mean, meshgrid,
    min, minimum, moveaxis, multiply, negative, nextafter, not_equal, ones, ones_like, pad,
    permute_dims, positive, pow, power, prod, reciprocal, remainder, repeat, reshape, result_type,
    roll, round, sign, signbit,
    sin, sinh, sqrt, square, squeeze, stack, std, stop_gradient, subtract, sum, swapaxes, tan, tanh,
    tensordot, tile, tril, triu, true_divide,
    trunc, unstack, var, vecdot, where, zeros, zeros_like)
from .frontend import (  # noqa: F401 - re-exported through __all__
    argsort, cumulative_prod, cumulative_sum, sort, take_along_axis)
from .frontend import (  # noqa: F401 - re-exported through __all__
    nonzero, searchsorted, take, unique_all, unique_counts, unique_inverse, unique_values)
from .frontend import __array_namespace_info__, from_dlpack  # noqa: F401 - as above
from .frontend.standard import missing_name_message as _missing_name_message
from .frontend.tape import GradientTape
from .frontend.tensor import Tensor
from .frontend.variable import Variable
from .ir.dtypes import (DType, float16, float32, float64, int8, int16, int32, int64, uint8, uint16,
                        uint32, uint64)
from .ir.dtypes import bool_ as bool  # noqa: A004 - the array API names the dtype `bool`
from .ir.dtypes import complex64, complex128
from .frontend import angle, conj, conjugate, imag, real  # noqa: F401 - through __all__
from .tracer import operators as _operators

newaxis = None
e = 2.718281828459045
pi = 3.141592653589793
inf = float("inf")
nan = float("nan")
__version__ = "0.1.0"
__array_api_version__ = "2023.12"

__all__ = [
    # compiling
    "function", "jit", "Function", "ConcreteFunction", "Lowered", "Profile", "TensorSpec", "config",
    "autograph", "random", "nn", "linalg", "fft",
    # training
    "optimizers", "train",
    # transforms
    "grad", "value_and_grad", "vjp", "jvp", "vmap", "jacfwd", "jacrev", "hessian",
    "GradientTape",
    # control flow
    "cond", "switch", "while_loop", "fori_loop", "scan", "range",
    # arrays and data types
    "Tensor", "Variable", "DType", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "complex64", "complex128",
    # errors and warnings
    "TracefuseError", "ShapeError", "DTypeError", "ConcretizationError", "SignatureError",
    "BackendUnavailableError", "IRParseError", "VerificationError", "CheckError",
    "RetraceWarning",
    # constants
    "e", "pi", "inf", "nan", "newaxis", "__version__", "__array_api_version__",
]
# ... and every array function of the frontend (its __all__, less the operators' getitem)
__all__ += [name for name in _frontend.__all__ if name != "getitem"]

# The package assembled: the operators of Tensor and Tracer call the frontend's functions
_operators.use_functions(_frontend, _sys.modules[__name__])
# ... and tx.config turns backend names into the backend objects of backends/
config.use_backends(_resolve_backend)


def __dir__() -> list[str]:
    return sorted(__all__)


def __getattr__(name: str):
    raise AttributeError(_missing_name_message("tracefuse", name, __all__))
