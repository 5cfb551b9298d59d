"""`tx.optimizers`: SGD, Adam and AdamW with Keras 3's semantics, defaults and update formulas,
updating `tx.Variable`s in place, eagerly or inside a compiled training step.

The state of an optimizer is Variables: `iterations` (int64, the number of `apply_gradients`
calls so far), the learning rate (a float32 Variable, unless it is a schedule: a callable of
`iterations`) and the *slots* of each variable it updates (SGD's `momentum`, Adam's `momentum`
and `velocity`, and `velocity_hat` with `amsgrad`), zeros of that variable's shape and dtype on
its device. Because it is all Variables, a compiled step (`tx.function`) reads and writes it by
reference: a new learning rate, the step count and the slots never retrace.

Building, as Keras' `optimizer.build(variables)`: the slots of the variables of the first
`apply_gradients` call are created then (or by an explicit `build(variables)` before it), and
later calls may only update those variables (another raises, naming it: make a new optimizer
for a new set). When that first call runs inside a trace, the slots are created outside it
(`outside_trace`, TensorFlow's `tf.init_scope`), so the first call may be the compiled step's.
A Variable passed *as an argument* to a compiled step stands for any Variable of its type and
has no identity an optimizer can key slots on: an optimizer refuses it; capture the parameters
by closure (or build the optimizer eagerly and let the step read them from a closure).

The formulas, per variable `var` with gradient `g` (both cast to `var`'s dtype, as is the
learning rate `lr`, computed once per call from `iterations` before it is incremented):
- weight decay (every optimizer's `weight_decay`, AdamW's default 0.004), first:
  `var <- var - var * wd * lr`;
- SGD: `var <- var - g * lr` without momentum; else `m <- m * momentum - g * lr`, then
  `var <- var + m`, or with `nesterov` `var <- var + m * momentum - g * lr` (the new `m`);
- Adam: `t = iterations + 1`, `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`,
  `m <- m + (g - m) * (1 - beta_1)`, `v <- v + (g**2 - v) * (1 - beta_2)`, (amsgrad:
  `v_hat <- max(v_hat, v)`, used for `v`), `var <- var - m * alpha / (sqrt(v) + epsilon)`;
then `iterations <- iterations + 1`. Gradients that are None are skipped with a warning (all
None raises), as Keras does. Each variable's update is elementwise, so inside a compiled step
the fuser makes it one kernel per variable.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..errors import ShapeError, user_location, with_location
from ..ir import dtypes as dt
from ..tracer.tracer import Tracer, current_builder, outside_trace
from .creation import asarray, zeros
from .elementwise import astype, maximum, sqrt, square
from .tensor import Tensor
from .variable import Variable


def _cast(x: Any, dtype: dt.DType) -> Any:
    """`x` (a Variable, Tensor, traced value, array or Python scalar) as an array of `dtype`:
    Keras' `ops.cast`."""
    if isinstance(x, Variable):
        x = x.value()
    if isinstance(x, (Tensor, Tracer)):
        return x if x.dtype == dtype else astype(x, dtype)
    return asarray(x, dtype=dtype)


def _is_stand_in(var: Variable) -> bool:
    """A Variable argument of a compiled step while it is traced (no buffer of its own)."""
    try:  # a stand-in's snapshot is its traced read (or, after the trace, an error)
        return not isinstance(var.snapshot(), Tensor)
    except RuntimeError:
        return True


class Optimizer:
    """What SGD, Adam and AdamW share: the learning rate, `iterations`, the slots of each
    variable, `build` and `apply_gradients` (Keras 3's `keras.optimizers.Optimizer`)."""

    SLOTS: tuple[str, ...] = ()  # the names of the slots each variable gets

    def __init__(self, learning_rate: float | Callable, weight_decay: float | None, name: str):
        if current_builder() is not None:
            raise ValueError(with_location(
                f"tx.optimizers.{type(self).__name__}(...) was created inside a function being "
                "traced; its state would not outlive the trace. Create the optimizer once, "
                "outside, and call its apply_gradients inside the compiled step",
                user_location()))
        self.name = name
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self._iterations = Variable(np.int64(0), name=f"{name}/iterations", trainable=False)
        self._lr_variable: Variable | None = None
        self._schedule: Callable | None = None
        self.learning_rate = learning_rate
        self._variables: list[Variable] = []  # the variables it was built for, in order
        self._slots: dict[int, dict[str, Variable]] = {}  # id(variable) -> its slots
        self.built = False

    # --- state --------------------------------------------------------------------------------
    @property
    def iterations(self) -> Variable:
        """The number of `apply_gradients` calls so far (an int64 Variable)."""
        return self._iterations

    @property
    def learning_rate(self) -> Any:
        """The learning rate now: the float32 Variable, or the schedule's value at
        `iterations`. Setting a float assigns that Variable (compiled steps see it, no retrace);
        setting a callable makes it the schedule (compiled steps traced before keep theirs)."""
        if self._schedule is not None:
            return self._schedule(self._iterations)
        return self._lr_variable

    @learning_rate.setter
    def learning_rate(self, value: float | Callable) -> None:
        if callable(value) and not isinstance(value, (Variable, Tensor, Tracer)):
            self._schedule = value
            return
        if self._lr_variable is None:
            self._lr_variable = Variable(_cast(value, dt.float32),
                                         name=f"{self.name}/learning_rate", trainable=False)
        else:
            self._lr_variable.assign(_cast(value, dt.float32))
        self._schedule = None

    @property
    def variables(self) -> list[Variable]:
        """Every Variable of its state: `iterations`, the learning rate (unless a schedule),
        then each variable's slots in build order (what a checkpoint saves)."""
        out = [self._iterations] + ([self._lr_variable] if self._schedule is None else [])
        for var in self._variables:
            out += list(self._slots[id(var)].values())
        return out

    def slots(self, variable: Variable) -> dict[str, Variable]:
        """The slots of `variable` by name (Adam: "momentum", "velocity")."""
        found = self._slots.get(id(variable))
        if found is None:
            raise KeyError(f"{self.name} has no slots for {variable!r}: it was not built for it")
        return dict(found)

    # --- building -----------------------------------------------------------------------------
    def build(self, variables: Iterable[Variable]) -> None:
        """Create the slots of `variables` (zeros of each one's shape, dtype and device); may
        run inside a trace (the slots are made outside it). Keras' `optimizer.build`."""
        variables = list(variables)
        for i, var in enumerate(variables):
            self._check_variable(var, i)
        with outside_trace():
            for var in variables:
                if id(var) in self._slots:
                    continue
                self._slots[id(var)] = {
                    slot: Variable(zeros(var.shape, dtype=var.dtype, device=var.device),
                                   name=f"{self.name}/{var.name}_{slot}", trainable=False)
                    for slot in self.SLOTS}
                self._variables.append(var)
        self.built = True

    def _check_variable(self, var: Any, i: int) -> None:
        if not isinstance(var, Variable):
            raise TypeError(with_location(
                f"{self.name}.apply_gradients: item {i} pairs a gradient with a "
                f"{type(var).__name__}, not a tx.Variable; an optimizer updates Variables in "
                "place: hold the parameters in tx.Variable(...)", user_location()))
        if _is_stand_in(var):
            raise TypeError(with_location(
                f"{self.name}.apply_gradients: item {i} is the Variable argument {var.name!r} "
                "of the compiled function being traced; it stands for any Variable of its type, "
                "so the optimizer cannot key its slots on it. Capture the parameters by closure "
                "instead of passing them as arguments", user_location()))
        if not var.dtype.is_float:
            raise TypeError(with_location(
                f"{self.name}.apply_gradients: item {i}, {var.name!r}, has dtype "
                f"{var.dtype.name}; optimizers update floating-point Variables only",
                user_location()))

    # --- applying -----------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Update each Variable from its gradient (`zip(grads, variables)`); None gradients are
        skipped with a warning. Returns `iterations` (as Keras does)."""
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)
        return self._iterations

    def apply(self, grads: list, variables: list[Variable]) -> None:
        """`apply_gradients` with the gradients and the variables in two lists."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ValueError(with_location(
                f"{self.name}.apply: {len(grads)} gradients for {len(variables)} variables; "
                "pass one gradient per variable (None for one without)", user_location()))
        if not variables:
            return
        if not self.built:
            self.build(variables)
        for i, var in enumerate(variables):
            self._check_variable(var, i)
            if id(var) not in self._slots:
                raise ValueError(with_location(
                    f"{self.name}.apply_gradients: unknown variable {var!r}. This optimizer "
                    f"was built for {len(self._variables)} variables (at its first "
                    "apply_gradients or build) and can only update those; make a new "
                    "optimizer for another set, or build it with all of them first",
                    user_location()))
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(with_location(
                f"{self.name}.apply_gradients: no gradients provided for any variable (every "
                "gradient is None); the loss does not depend on the variables",
                user_location()))
        if len(kept) < len(variables):
            missing = [v.name for g, v in zip(grads, variables) if g is None]
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss; "
                f"{self.name} leaves them unchanged ({user_location()})", stacklevel=3)
        lr = self.learning_rate  # once, before iterations is incremented
        checked = []
        for g, var in kept:
            if tuple(g.shape) != var.shape:
                raise ShapeError(with_location(
                    f"{self.name}.apply_gradients: the gradient of {var.name!r} has shape "
                    f"{tuple(g.shape)}, the variable {var.shape}; pass the gradients in the "
                    "order of the variables", user_location()))
            checked.append((_cast(g, var.dtype), var))
        if self.weight_decay is not None:
            for _, var in checked:
                self._apply_weight_decay(var, lr)
        for g, var in checked:
            self.update_step(g, var, _cast(lr, var.dtype), self._slots[id(var)])
        self._iterations.assign_add(1)

    def _apply_weight_decay(self, var: Variable, lr: Any) -> None:
        # a Python float is weak: it takes the variable's dtype, as Keras' cast does
        var.assign(var - var * self.weight_decay * _cast(lr, var.dtype))

    def update_step(self, g: Any, var: Variable, lr: Any, slots: dict[str, Variable]) -> None:
        raise NotImplementedError  # pragma: no cover - each optimizer defines it

    def __repr__(self) -> str:
        return f"<tx.optimizers.{type(self).__name__} {self.name!r} built={self.built}>"


class SGD(Optimizer):
    """Gradient descent with momentum: `tx.optimizers.SGD(learning_rate=0.01, momentum=0.0,
    nesterov=False, weight_decay=None, name="SGD")` (Keras 3's)."""

    def __init__(self, learning_rate: float | Callable = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None, name: str = "SGD"):
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(with_location(
                f"SGD(momentum={momentum!r}): `momentum` must be a float between 0 and 1",
                user_location()))
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.SLOTS = ("momentum",) if self.momentum != 0 else ()
        super().__init__(learning_rate, weight_decay, name)

    def update_step(self, g, var, lr, slots):
        if not slots:
            var.assign_sub(g * lr)
            return
        m = slots["momentum"]
        momentum = self.momentum  # weak: the variable's dtype, Keras' cast
        m.assign(m * momentum - g * lr)
        if self.nesterov:
            var.assign_add(m * momentum - g * lr)
        else:
            var.assign_add(m)


class Adam(Optimizer):
    """Adam: `tx.optimizers.Adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, weight_decay=None, name="adam")` (Keras 3's)."""

    def __init__(self, learning_rate: float | Callable = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, name: str = "adam"):
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)
        self.SLOTS = ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())
        super().__init__(learning_rate, weight_decay, name)

    def update_step(self, g, var, lr, slots):
        # Python floats are weak (they take the variable's dtype: Keras' casts); the bias
        # correction from the step count, as Keras computes it
        step = _cast(self._iterations + 1, var.dtype)
        alpha = lr * sqrt(1 - self.beta_2 ** step) / (1 - self.beta_1 ** step)
        m, v = slots["momentum"], slots["velocity"]
        m.assign_add((g - m) * (1 - self.beta_1))
        v.assign_add((square(g) - v) * (1 - self.beta_2))
        if self.amsgrad:
            v_hat = slots["velocity_hat"]
            v_hat.assign(maximum(v_hat, v))
            v = v_hat
        var.assign_sub((m * alpha) / (sqrt(v) + self.epsilon))


class AdamW(Adam):
    """Adam with decoupled weight decay: `tx.optimizers.AdamW(learning_rate=1e-3,
    weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="adamw")`
    (Keras 3's: `var -= var * weight_decay * lr` before the Adam step)."""

    def __init__(self, learning_rate: float | Callable = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, name: str = "adamw"):
        if weight_decay is None:
            raise ValueError(with_location(
                "AdamW(weight_decay=None): AdamW needs a weight decay (a float; 0.0 for none, "
                "or use tx.optimizers.Adam)", user_location()))
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, name)
