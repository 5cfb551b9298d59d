"""`tx.Variable`: mutable state, read and updated in place by eager code and by compiled
functions alike (TensorFlow's `tf.Variable`).

A Variable owns one buffer (a host NumPy array or a CuPy array: it stays on the device it was
created on) and a fixed shape and dtype. `assign`, `assign_add` and `assign_sub` check the new
value's shape and dtype (a mismatch raises naming both and the user's line) and replace the
buffer: buffers are never written into, so a value read earlier (`v.value()`, a Tensor) keeps
the value it had, as in TensorFlow. Every Tensor operator and method works on a Variable by
reading its value (`v + 1` is `v.value() + 1`), and so do the array functions (`tx.sum(v)`).

Under `tx.function` a Variable is captured by reference (tracer/tracer.py `ByReference`): a
read is an input of the graph and an assign an output, and the Function writes the outputs back
into the Variables after each call (compiler/concrete.py), so a new value never retraces. Reads
after an assign in the same trace see the assigned value. A Variable cannot be created inside a
traced function (its buffer would not outlive the trace).

Tapes: an eager read of a trainable Variable while a `GradientTape` records is watched by it
(`tape.read_variable`), so `tape.gradient(loss, v)` is the gradient with respect to the
Variable (summed over its reads). An assign is not differentiable (the new value is a
`stop_gradient` of the expression), as in TensorFlow; `tx.grad` treats a Variable its function
reads as a constant.

This module also makes the *stand-in* Variable a trace passes for a Variable argument
(`stand_in`): it has the argument's type and no buffer, and its reads and assigns become the
argument's input and output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError, ShapeError, user_location, with_location
from ..ir import EMPTY_ATTRS, OpCode, TensorType, evaluate
from ..ir import dtypes as dt
from ..ir.convert import to_array
from ..tracer.operators import ArrayMethods
from ..tracer.tracer import ByReference, Tracer, current_builder
from . import device as _device
from . import tape as _tape
from .creation import constant
from .elementwise import astype, stop_gradient
from .tensor import Tensor


class Variable(ByReference):
    """A mutable array: `tx.Variable(initial_value, dtype=None, name=None, trainable=True)`.

    `initial_value` is an array, a Tensor, a Python value (a float becomes float32 and an int
    int32, as TensorFlow infers) or a callable returning one; `dtype` converts it. `trainable`
    Variables are watched by `tx.GradientTape` automatically."""

    __slots__ = (
        "__weakref__",
        "_buffer",
        "_dtype",
        "_gpu",
        "_name",
        "_shape",
        "_snapshot",
        "_trainable",
    )
    __array_ufunc__ = None  # NumPy defers: np_array + v -> Tensor
    __array_priority__ = 1000
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as for tf.Variable

    def __init__(self, initial_value: Any, dtype: Any = None, name: str | None = None,
                 trainable: bool = True):
        if current_builder() is not None:
            raise ValueError(with_location(
                "tx.Variable(...) was created inside a function being traced (tx.function, "
                "tx.grad, tx.vmap, a control-flow body); its buffer would not outlive the "
                "trace. Create the Variable outside, once (at module level, in __init__ of a "
                "model), and use it inside: the compiled function reads and assigns it by "
                "reference", user_location()))
        if callable(initial_value):
            initial_value = initial_value()
        if isinstance(initial_value, ByReference):
            initial_value = initial_value.value()
        t = constant(initial_value, dtype=dtype)
        self._init(t._array, name, trainable)

    def _init(self, buffer: Any, name: str | None, trainable: bool) -> None:
        self._buffer = buffer
        self._snapshot: Tensor | None = None
        if buffer is not None:
            self._shape = tuple(buffer.shape)
            self._dtype = dt.as_dtype(buffer.dtype)
        self._name = "Variable" if name is None else str(name)
        self._trainable = bool(trainable)
        self._gpu = buffer is not None and _device.is_gpu_array(buffer)

    # --- what it is -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> dt.DType:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def name(self) -> str:
        return self._name

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def device(self) -> str:
        """Where its buffer lives: "cpu" (NumPy) or "gpu" (CuPy)."""
        return "gpu" if self._gpu else "cpu"

    def _describe(self) -> str:
        return f"Variable {self._name!r} ({self._dtype.name}{list(self._shape)})"

    # --- reading ----------------------------------------------------------------------------
    def value(self) -> Any:
        """Its value: a Tensor eagerly (watched by recording tapes when trainable), a traced
        value inside a compiled function (the value at this point of the trace)."""
        builder = current_builder()
        if builder is not None:
            return Tracer(builder, builder.read_state(self))
        t = self._snapshot
        if t is None:
            if self._buffer is None:
                raise RuntimeError(with_location(
                    f"{self._describe()} stands for a Variable argument of a compiled function "
                    "while it is traced and has no value outside that trace; do not keep it "
                    "past the call", user_location()))
            t = self._snapshot = Tensor._wrap(self._buffer)
        if _tape.recording_tapes():
            _tape.read_variable(self, t)
        return t

    read_value = value

    def snapshot(self) -> Tensor:
        """Its value now, as a Tensor, without a trace or a tape noticing (`ByReference`)."""
        if self._buffer is None:
            return self.value()  # a stand-in: raises
        t = self._snapshot
        if t is None:
            t = self._snapshot = Tensor._wrap(self._buffer)
        return t

    # --- assigning --------------------------------------------------------------------------
    def assign(self, value: Any, use_locking: bool = False, name: str | None = None,
               read_value: bool = True) -> Variable:
        """Replace its value by `value` (of its shape and dtype; a Python scalar is converted).
        Returns the Variable (TensorFlow returns it too, or None with read_value=False)."""
        self._update(value, "assign", None)
        return self if read_value else None

    def assign_add(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Variable:
        """Add `delta` (of its shape and dtype) to its value; returns the Variable."""
        self._update(delta, "assign_add", OpCode.ADD)
        return self if read_value else None

    def assign_sub(self, delta: Any, use_locking: bool = False, name: str | None = None,
                   read_value: bool = True) -> Variable:
        """Subtract `delta` (of its shape and dtype) from its value; returns the Variable."""
        self._update(delta, "assign_sub", OpCode.SUBTRACT)
        return self if read_value else None

    def _update(self, value: Any, what: str, code: OpCode | None) -> None:
        builder = current_builder()
        if builder is None and isinstance(value, Tracer):
            builder = value._builder  # a value that escaped its trace: lift raises
        if isinstance(value, ByReference):
            value = value.value()
        if builder is None:
            arr = self._eager_operand(value, what)
            if code is not None:
                t = TensorType(self._shape, self._dtype)
                arr = evaluate(code, [self._buffer, arr], [t, t], EMPTY_ATTRS, t)
            self._store(arr)
            return
        new = Tracer(builder, builder.lift(value, what=f"{what}()"))
        t = new._value.type
        self._check(t.shape, t.dtype, t.weak, what, value)
        if t.weak or t.dtype != self._dtype:
            new = astype(new, self._dtype)
        if code is OpCode.ADD:
            new = self.value() + new
        elif code is OpCode.SUBTRACT:
            new = self.value() - new
        # an assign has no derivative: a later read is a new read of the Variable
        new = stop_gradient(new)
        builder.assign_state(self, new._value, f"{self._name}.{what}()")

    def _check(self, shape: tuple, dtype: dt.DType, weak: bool, what: str, value: Any) -> None:
        """A value of another shape, or a strong dtype other than ours, raises naming both."""
        if tuple(shape) != self._shape:
            raise ShapeError(with_location(
                f"{self._describe()}.{what}(): the value has shape {tuple(shape)}, the Variable "
                f"{self._shape}; a Variable's shape is fixed: assign a value of its shape "
                "(tx.broadcast_to(value, v.shape) to fill it)", user_location()))
        if weak:
            fits = (dt.promote(self._dtype, False, dtype, True)[0] == self._dtype
                    and (not isinstance(value, int) or dt.can_cast_value(value, self._dtype)))
            if not fits:
                raise DTypeError(with_location(
                    f"{self._describe()}.{what}(): the Python value {value!r} does not fit "
                    f"its dtype {self._dtype.name}; pass a value of that dtype", user_location()))
        elif dtype != self._dtype:
            raise DTypeError(with_location(
                f"{self._describe()}.{what}(): the value has dtype {dtype.name}, the Variable "
                f"{self._dtype.name}; a Variable's dtype is fixed: convert the value first "
                f"(tx.astype(value, tx.{self._dtype.name}))", user_location()))

    def _eager_operand(self, value: Any, what: str) -> Any:
        """`value` as an array of exactly our type on our device (checked), not shared with
        anything the caller may write to."""
        if isinstance(value, Tensor):
            arr, t = value._array, TensorType(value.shape, value.dtype)
        elif _device.is_gpu_array(value):
            arr = value.copy()
            t = TensorType(arr.shape, dt.as_dtype(arr.dtype))
        else:
            try:
                arr, t = to_array(value, f"the value of {what}()")
            except DTypeError as e:
                raise DTypeError(with_location(str(e), user_location())) from None
            if isinstance(value, np.ndarray) and arr is value:
                arr = arr.copy()  # the caller's array: they may write to it later
        self._check(t.shape, t.dtype, t.weak, what, value)
        if t.weak:
            arr = np.asarray(arr, dtype=self._dtype.np)
        return _device.move(arr, self.device)

    def _store(self, array: Any) -> None:
        """Make `array` (of our type: a backend's fresh output, or an array nobody writes to)
        the buffer, on our device. The compiled functions' write-back (compiler/concrete.py)."""
        if self._gpu:
            array = _device.to_gpu(array)
        elif type(array) is not np.ndarray and _device.is_gpu_array(array):
            array = array.get()
        self._buffer = array
        self._snapshot = None

    # --- printing ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        head = f"<tx.Variable {self._name!r} shape={self._shape} dtype={self._dtype.name}"
        if self._buffer is None or current_builder() is not None:
            return head + ">"
        return head + f", numpy={np.array_repr(_device.to_host(self._buffer))}>"

    def __str__(self) -> str:
        return repr(self)


def stand_in(shape: tuple, dtype: dt.DType, name: str, trainable: bool) -> Variable:
    """A Variable with this type and no buffer: what a trace passes for a Variable argument
    (the trace binds it to the argument's input with `GraphBuilder.bind_state`)."""
    v = object.__new__(Variable)
    v._init(None, name, trainable)
    v._shape, v._dtype = tuple(shape), dt.as_dtype(dtype)
    return v


def _delegate(name: str):
    def method(self, *args, **kwargs):
        return getattr(self.value(), name)(*args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"`{name}` of the Variable's value (see tx.Tensor)."
    return method


def _delegate_property(name: str):
    return property(lambda self: getattr(self.value(), name),
                    doc=f"`{name}` of the Variable's value (see tx.Tensor).")


# Every operator and method of a Tensor works on a Variable by reading its value: those of
# `ArrayMethods` (shared by Tensor and Tracer), and the Tensor's own conversions.
_OWN = {"__slots__", "__array_ufunc__", "__array_priority__", "__hash__", "__module__",
        "__doc__", "__qualname__", "_describe", "ndim", "size", "__format__"}
TENSOR_METHODS = ("numpy", "__array__", "to", "item", "tolist", "__bool__", "__int__",
                  "__float__", "__complex__", "__index__", "__dlpack__", "__dlpack_device__",
                  "__format__")
DELEGATED = tuple(n for n in vars(ArrayMethods) if n not in _OWN) + TENSOR_METHODS
for _name in DELEGATED:
    if isinstance(vars(ArrayMethods).get(_name), property):
        setattr(Variable, _name, _delegate_property(_name))
    else:
        setattr(Variable, _name, _delegate(_name))
del _name
