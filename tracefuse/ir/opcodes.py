"""The op vocabulary: one `OpCode` enum, and grouping sets that state each group's algebra.

The enum value is the op's name in the IR text (`add`, `reduce_sum`). Every per-op table
(shape rule, dtype rule, NumPy implementation here; Numba and CUDA templates in the backends)
is a dict keyed by OpCode, and a test checks that each table covers every OpCode. An op that a
table does not handle has an explicit `Unsupported(reason)` entry there, never a missing key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class OpCode(Enum):
    # sources
    CONSTANT = "constant"  # a literal array (attrs: value)
    FULL = "full"  # every element = value (attrs: shape, dtype, value)
    IOTA = "iota"  # the index along `axis` (attrs: shape, dtype, axis)
    # elementwise, one operand
    NEGATIVE = "negative"
    ABS = "abs"
    SIGN = "sign"
    SQRT = "sqrt"
    SQUARE = "square"
    RECIPROCAL = "reciprocal"
    EXP = "exp"
    EXPM1 = "expm1"
    LOG = "log"
    LOG1P = "log1p"
    LOG2 = "log2"
    LOG10 = "log10"
    SIN = "sin"
    COS = "cos"
    TAN = "tan"
    ASIN = "asin"
    ACOS = "acos"
    ATAN = "atan"
    SINH = "sinh"
    COSH = "cosh"
    TANH = "tanh"
    ASINH = "asinh"
    ACOSH = "acosh"
    ATANH = "atanh"
    ERF = "erf"  # 2/sqrt(pi) * integral_0^x exp(-t^2) dt, as scipy.special.erf
    ERFC = "erfc"  # 1 - erf(x), accurate where it is tiny (x = 10: 2e-45)
    FLOOR = "floor"
    CEIL = "ceil"
    TRUNC = "trunc"
    ROUND = "round"
    ISNAN = "isnan"
    ISINF = "isinf"
    ISFINITE = "isfinite"
    SIGNBIT = "signbit"
    LOGICAL_NOT = "logical_not"
    BITWISE_INVERT = "bitwise_invert"
    CAST = "cast"  # attrs: dtype
    STOP_GRADIENT = "stop_gradient"  # the identity; transforms give it no derivative
    # complex numbers (real operands: real(x) = x, imag(x) = 0, conj(x) = x, angle = 0 or pi)
    REAL = "real"  # the real part, in the real dtype of the operand's (complex64 -> float32)
    IMAG = "imag"  # the imaginary part, likewise
    CONJ = "conj"  # the complex conjugate, the operand's dtype
    ANGLE = "angle"  # atan2(imag, real), a real floating-point result
    # elementwise, two operands
    ADD = "add"
    SUBTRACT = "subtract"
    MULTIPLY = "multiply"
    DIVIDE = "divide"
    FLOOR_DIVIDE = "floor_divide"
    REMAINDER = "remainder"
    POW = "pow"
    MAXIMUM = "maximum"
    MINIMUM = "minimum"
    ATAN2 = "atan2"
    HYPOT = "hypot"
    LOGADDEXP = "logaddexp"
    COPYSIGN = "copysign"
    NEXTAFTER = "nextafter"
    EQUAL = "equal"
    NOT_EQUAL = "not_equal"
    LESS = "less"
    LESS_EQUAL = "less_equal"
    GREATER = "greater"
    GREATER_EQUAL = "greater_equal"
    LOGICAL_AND = "logical_and"
    LOGICAL_OR = "logical_or"
    LOGICAL_XOR = "logical_xor"
    BITWISE_AND = "bitwise_and"
    BITWISE_OR = "bitwise_or"
    BITWISE_XOR = "bitwise_xor"
    LEFT_SHIFT = "bitwise_left_shift"
    RIGHT_SHIFT = "bitwise_right_shift"
    # elementwise, three operands
    WHERE = "where"  # where(cond, x, y)
    CLIP = "clip"  # clip(x, lo, hi); the result has x's dtype
    # reductions (attrs: axes, keepdims)
    SUM = "reduce_sum"
    PROD = "reduce_prod"
    MAX = "reduce_max"
    MIN = "reduce_min"
    ALL = "reduce_all"
    ANY = "reduce_any"
    ARGMAX = "argmax"  # attrs: axis (int or None), keepdims
    ARGMIN = "argmin"
    # movement
    RESHAPE = "reshape"  # attrs: shape
    PERMUTE = "permute_dims"  # attrs: axes
    BROADCAST_TO = "broadcast_to"  # attrs: shape
    SLICE = "slice"  # attrs: starts, sizes, steps (a step may be negative)
    CONCAT = "concat"  # attrs: axis; any number of operands
    # linear algebra
    MATMUL = "matmul"
    # random numbers: (k0, k1, offset): uint32 key words and a uint64 counter offset, each
    # broadcasting to attrs `shape`; uint32 Philox bits, each element from its own counter
    # (ir/philox.py)
    RANDOM_BITS = "random_bits"
    # library functions: `fn` names one of ir/library's FUNCTIONS (sort, cumulative_sum,
    # linalg.solve, fft.fft ...), the other attributes are its parameters; one or several
    # results, typed by the function's rule; run as a library step, never fused
    CALL = "call"
    # fusion: a kernel runs its body graph (attrs: body, kind, name, and its loop layout: space,
    # reduced, maps, reads; docs/ir.md); one result per body output
    KERNEL = "kernel"
    # structured control flow: ops holding sub-graphs (regions); results come from the regions
    COND = "cond"  # (index, *args); attrs: branches (tuple of Graphs)
    WHILE = "while"  # (*carries, *consts); attrs: cond, body (Graphs), num_carries
    SCAN = "scan"  # (*carries, *xs, *consts); attrs: body, num_carries, num_xs, length, reverse


G = OpCode

SOURCES = frozenset({G.CONSTANT, G.FULL, G.IOTA})

UNARY = frozenset({
    G.NEGATIVE, G.ABS, G.SIGN, G.SQRT, G.SQUARE, G.RECIPROCAL, G.EXP, G.EXPM1, G.LOG, G.LOG1P,
    G.LOG2, G.LOG10, G.SIN, G.COS, G.TAN, G.ASIN, G.ACOS, G.ATAN, G.SINH, G.COSH, G.TANH,
    G.ASINH, G.ACOSH, G.ATANH, G.ERF, G.ERFC, G.FLOOR, G.CEIL, G.TRUNC, G.ROUND, G.ISNAN,
    G.ISINF, G.ISFINITE, G.SIGNBIT, G.LOGICAL_NOT, G.BITWISE_INVERT, G.CAST, G.STOP_GRADIENT,
    G.REAL, G.IMAG, G.CONJ, G.ANGLE,
})

BINARY = frozenset({
    G.ADD, G.SUBTRACT, G.MULTIPLY, G.DIVIDE, G.FLOOR_DIVIDE, G.REMAINDER, G.POW, G.MAXIMUM,
    G.MINIMUM, G.ATAN2, G.HYPOT, G.LOGADDEXP, G.COPYSIGN, G.NEXTAFTER, G.EQUAL, G.NOT_EQUAL,
    G.LESS, G.LESS_EQUAL, G.GREATER, G.GREATER_EQUAL, G.LOGICAL_AND, G.LOGICAL_OR,
    G.LOGICAL_XOR, G.BITWISE_AND, G.BITWISE_OR, G.BITWISE_XOR, G.LEFT_SHIFT, G.RIGHT_SHIFT,
})

TERNARY = frozenset({G.WHERE, G.CLIP})

# Elementwise ops broadcast their operands and map scalars to scalars: what fusion chains.
ELEMENTWISE = UNARY | BINARY | TERNARY

# Counter-based random bits: like an elementwise op of its key operands, but each element
# also depends on its own index (ir/philox.py); fusion puts them in kernels.
RANDOM = frozenset({G.RANDOM_BITS})

# Reductions over `axes` (argmax/argmin over one `axis`).
REDUCE = frozenset({G.SUM, G.PROD, G.MAX, G.MIN, G.ALL, G.ANY, G.ARGMAX, G.ARGMIN})

# Ops that only move or replicate elements: each output element is some input element.
MOVEMENT = frozenset({G.RESHAPE, G.PERMUTE, G.BROADCAST_TO, G.SLICE, G.CONCAT})

# Library calls (ir/library): run by the array library between kernels, never fused.
LIBRARY_CALLS = frozenset({G.CALL})

# Ops that hold a body graph: made by the fuse pass, run by a backend as one kernel.
FUSED = frozenset({G.KERNEL})

# Structured control flow: ops whose attributes hold the graphs they run (branches, loop
# bodies); several results, typed by their graphs (docs/ir.md).
REGIONS = frozenset({G.COND, G.WHILE, G.SCAN})

# The graph-valued attributes of each op that holds graphs.
GRAPH_ATTRS = {G.KERNEL: ("body",), G.COND: ("branches",), G.WHILE: ("cond", "body"),
               G.SCAN: ("body",)}

# f(a, b) == f(b, a) for every a, b (incl. NaN: maximum/minimum propagate either NaN).
COMMUTATIVE = frozenset({
    G.ADD, G.MULTIPLY, G.MAXIMUM, G.MINIMUM, G.HYPOT, G.LOGADDEXP, G.EQUAL, G.NOT_EQUAL,
    G.LOGICAL_AND, G.LOGICAL_OR, G.LOGICAL_XOR, G.BITWISE_AND, G.BITWISE_OR, G.BITWISE_XOR,
})

# f(f(a, b), c) == f(a, f(b, c)) exactly for integers; for floats only under fast math.
ASSOCIATIVE = frozenset({
    G.ADD, G.MULTIPLY, G.MAXIMUM, G.MINIMUM, G.LOGICAL_AND, G.LOGICAL_OR, G.LOGICAL_XOR,
    G.BITWISE_AND, G.BITWISE_OR, G.BITWISE_XOR,
})

# Ops whose result is bool whatever the operands.
PREDICATES = frozenset({
    G.ISNAN, G.ISINF, G.ISFINITE, G.SIGNBIT, G.LOGICAL_NOT, G.EQUAL, G.NOT_EQUAL, G.LESS,
    G.LESS_EQUAL, G.GREATER, G.GREATER_EQUAL, G.LOGICAL_AND, G.LOGICAL_OR, G.LOGICAL_XOR,
})

# Costly scalar functions (a libm call or a polynomial): fusion recomputes them reluctantly.
TRANSCENDENTAL = frozenset({
    G.EXP, G.EXPM1, G.LOG, G.LOG1P, G.LOG2, G.LOG10, G.SIN, G.COS, G.TAN, G.ASIN, G.ACOS,
    G.ATAN, G.SINH, G.COSH, G.TANH, G.ASINH, G.ACOSH, G.ATANH, G.ERF, G.ERFC, G.POW, G.ATAN2,
    G.HYPOT, G.LOGADDEXP, G.ANGLE,
})

# The complex-number ops: real <-> complex (their derivatives are linear maps, not products).
COMPLEX_PARTS = frozenset({G.REAL, G.IMAG, G.CONJ, G.ANGLE})

BY_NAME = {code.value: code for code in OpCode}


@dataclass(frozen=True)
class Unsupported:
    """The entry of a per-op table for an op that the table does not handle, saying why (e.g.
    `Unsupported("matmul runs as a BLAS call in the execution plan, not inside a kernel")`).
    Whoever looks an op up and finds this raises an error that quotes the reason."""

    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise ValueError("Unsupported needs a reason: say why the table has no entry")
