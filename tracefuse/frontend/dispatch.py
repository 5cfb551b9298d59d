"""`bind`: apply one op to user values, eagerly or into the trace in progress.

If an operand is a `Tracer`, or this thread is tracing a `@tx.function`, the op is recorded in
that trace. Otherwise it runs at once through the same NumPy table the reference backend uses,
and returns a `Tensor`. Type and shape errors get the user's file:line either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import device as _device
from . import tape as _tape
from . import tensor as _tensor
from ..errors import DTypeError, ShapeError, user_location, with_location
from ..ir import EMPTY_ATTRS, Attrs, OpCode, TensorType, evaluate, infer_type
from ..ir.rules import infer_types
from ..ir.convert import is_dask_array, to_array
from ..ir.dtypes import as_dtype
from ..ir.rules import weak_int_overflow
from ..tracer.tracer import ByReference, Tracer, current_builder


def bind(code: OpCode, args: Sequence[Any], attrs: Mapping = EMPTY_ATTRS):
    builder = current_builder()
    for a in args:
        if isinstance(a, Tracer):
            # inside a transform's sub-trace, the op belongs to it even when its first traced
            # operand is a value of an enclosing trace (captured by the sub-trace)
            inner = builder is not None and builder.parent is not None
            return (builder if inner else a._builder).bind(code, args, attrs)
    if builder is not None:
        return builder.bind(code, args, attrs)
    return eager_bind(code, args, attrs)


def call(fn: str, args: Sequence[Any], **params: Any) -> list:
    """Library function `fn` (ir/library) on `args` with static `params`: one Tensor (eager) or
    Tracer (traced) per result, as `bind` does for one op."""
    attrs = Attrs({"fn": fn, **params})
    builder = current_builder()
    for a in args:
        if isinstance(a, Tracer):
            inner = builder is not None and builder.parent is not None
            return (builder if inner else a._builder).bind_call(args, attrs)
    if builder is not None:
        return builder.bind_call(args, attrs)
    try:
        operands = [eager_operand(a) for a in args]
        types = [t for _, t in operands]
        outs = infer_types(OpCode.CALL, types, attrs)
    except (ShapeError, DTypeError, IndexError) as e:
        raise type(e)(with_location(str(e), user_location())) from None
    arrays = _device.same_device([a for a, _ in operands])
    try:
        results = [_tensor.Tensor._wrap(r) for r in evaluate(OpCode.CALL, arrays, types, attrs,
                                                             None)]
    except (IndexError, np.linalg.LinAlgError) as e:  # found when the function ran: an index
        # out of range, a singular matrix
        raise type(e)(with_location(str(e), user_location())) from None
    if _tape.recording_tapes():
        _tape.record(OpCode.CALL, args, types, attrs, results, outs)
    return results


def eager_operand(x: Any) -> tuple[Any, TensorType]:
    if isinstance(x, _tensor.Tensor):
        arr = x._array
        return arr, TensorType(arr.shape, x.dtype)
    if _device.is_gpu_array(x):
        try:
            return x, TensorType(x.shape, as_dtype(x.dtype))
        except TypeError as e:
            raise DTypeError(f"operand: {e}") from None
    if isinstance(x, ByReference):  # a tx.Variable: its value now
        x = x.value()
        return x._array, TensorType(x.shape, x.dtype)
    if is_dask_array(x):
        # NumPy's conversion would compute the whole dask array into memory, silently
        raise TypeError(with_location(
            f"an eager tracefuse op got a dask array (shape {tuple(x.shape)}); eager ops "
            "run on NumPy arrays at once and would load all of it into memory. Put the code "
            "in a @tx.function: called with dask arrays it returns lazy dask arrays, chunk by "
            "chunk. Or pass x.compute() if it fits in memory", user_location()))
    return to_array(x)


def eager_bind(code: OpCode, args: Sequence[Any], attrs: Mapping = EMPTY_ATTRS):
    try:
        operands = [eager_operand(a) for a in args]
        types = [t for _, t in operands]
        out = infer_type(code, types, attrs)
        message = weak_int_overflow(code, [(t, a) for a, t in operands], out)
        if message:
            raise OverflowError(message)
    except (ShapeError, DTypeError, OverflowError) as e:
        raise type(e)(with_location(str(e), user_location())) from None
    # an op with a GPU operand runs on the GPU (through CuPy), its host operands copied there
    arrays = _device.same_device([a for a, _ in operands])
    result = _tensor.Tensor._wrap(evaluate(code, arrays, types, attrs, out))
    if _tape.recording_tapes():
        _tape.record(code, args, types, attrs, result, out)
    return result


def type_of(x: Any) -> TensorType:
    """The static type of any operand: Tensor, Tracer, NumPy array or Python scalar."""
    if isinstance(x, Tracer):
        return x._value.type
    if isinstance(x, _tensor.Tensor):
        return TensorType(x.shape, x.dtype)
    if _device.is_gpu_array(x):
        return eager_operand(x)[1]
    if isinstance(x, ByReference):  # a tx.Variable: the type of every read of it
        return TensorType(tuple(x.shape), x.dtype)
    return to_array(x)[1]


def is_traced(*args: Any) -> bool:
    return current_builder() is not None or any(isinstance(a, Tracer) for a in args)
