"""The IR: dtypes, `TensorType`, `Value`/`Op`/`Graph`, the op vocabulary with its rule tables,
and the printer, parser and verifier of the text form. Imports nothing else of the package
besides `errors`."""

from .dtypes import DType, as_dtype, promote
from .graph import EMPTY_ATTRS, Attrs, Graph, Op, Value
from .numpy_impl import NUMPY_IMPL, evaluate
from .opcodes import OpCode
from .parser import parse_graph
from .printer import print_graph
from .rules import DTYPE_RULES, SHAPE_RULES, infer_type
from .types import Literal, TensorType
from .verifier import verify

__all__ = [
    "Attrs", "DTYPE_RULES", "DType", "EMPTY_ATTRS", "Graph", "Literal", "NUMPY_IMPL", "Op",
    "OpCode", "SHAPE_RULES", "TensorType", "Value", "as_dtype", "evaluate", "infer_type",
    "parse_graph", "print_graph", "promote", "verify",
]
