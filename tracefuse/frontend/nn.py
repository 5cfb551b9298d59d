"""Neural-network functions (`tx.nn`): activations (`relu`, `gelu`, `sigmoid`, `softplus`,
`silu`), the softmax family (`softmax`, `log_softmax`, `logsumexp`), `one_hot`, and the losses
`softmax_cross_entropy` and `sparse_softmax_cross_entropy`.

Every function is a composition of the array functions of this package (no op of its own), so
each runs eagerly, traces into `tx.function` (where a softmax fuses into one row kernel), and
differentiates and batches through the ops' own rules (`tx.grad`, `tx.vmap`, the tape). The
compositions are chosen to be stable (`docs/user-guide.md`, "tx.nn"):

- nothing computes `exp` of a large positive number: `sigmoid` and `softplus` go through
  `e = exp(-|x|)` (in (0, 1]), `softmax`, `log_softmax` and `logsumexp` subtract the maximum
  first (a `stop_gradient` maximum: the result does not depend on it, so its derivative is the
  textbook one, `softmax`, and ties in the maximum cannot split it);
- `softplus(x) = max(x, 0) + log1p(exp(-|x|))`; `sigmoid(x) = 1 / (1 + e)` for x >= 0 and
  `e / (1 + e)` below, so neither branch overflows and small values keep their relative
  precision (`sigmoid(-700)` is 1e-304, not 0);
- the losses are `-sum(labels * log_softmax(logits), -1)`: finite for logits of +-1000, and
  their derivative with respect to the logits is `softmax(logits) * sum(labels) - labels`
  (`softmax - labels` for labels that sum to 1), all of whose terms are bounded.

Losses are per example, as optax (`optax.softmax_cross_entropy`) and TensorFlow
(`tf.nn.softmax_cross_entropy_with_logits`): the result has the logits' shape without the
class axis; take its mean for the usual training loss.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import DTypeError, user_location, with_location
from ..ir import dtypes as dt
from ..tracer.tracer import Tracer
from .creation import arange, asarray
from .elementwise import (abs, add, astype, divide, equal, erfc, exp, isfinite, isinf, less_equal,
                          log, log1p, logical_and, maximum, multiply, negative, stop_gradient,
                          subtract, tanh, where)
from .manipulation import expand_dims, reshape
from .reductions import max, sum
from .tensor import Tensor

__all__ = ["gelu", "log_softmax", "logsumexp", "one_hot", "relu", "sigmoid", "silu", "softmax",
           "softmax_cross_entropy", "softplus", "sparse_softmax_cross_entropy"]

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT_HALF = math.sqrt(0.5)

def _float_input(x: Any, fn: str):
    """x as an array of a floating dtype (a Python int or float becomes a float64 scalar, as in
    NumPy; an integer array is refused, not converted to a dtype the caller did not choose)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        x = float(x)
    x = asarray(x)
    if not x.dtype.is_float:
        raise DTypeError(with_location(
            f"tx.nn.{fn}: expected a floating-point array, got {x.dtype.name}; convert it "
            f"first, e.g. tx.astype(x, tx.float32)", user_location()))
    return x


# --- activations ------------------------------------------------------------------------------
def relu(x, /):
    """max(x, 0), with derivative 0 at x = 0 (as JAX and TensorFlow); NaN stays NaN. Any real
    dtype; the result has x's dtype."""
    x = asarray(x)
    return where(less_equal(x, 0), 0, x)


def sigmoid(x, /):
    """1 / (1 + exp(-x)), without overflow: from e = exp(-|x|), 1 / (1 + e) for x >= 0 and
    e / (1 + e) below (full relative precision for very negative x)."""
    x = _float_input(x, "sigmoid")
    e = exp(negative(abs(x)))
    one_plus = add(1.0, e)
    return where(less_equal(0.0, x), divide(1.0, one_plus), divide(e, one_plus))


def softplus(x, /):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): x itself for large x, exp(x) for very
    negative x, never an overflow. Its derivative is sigmoid(x) (1/2 at 0)."""
    x = _float_input(x, "softplus")
    return add(maximum(x, 0.0), log1p(exp(negative(abs(x)))))


def silu(x, /):
    """x * sigmoid(x) (also called swish)."""
    x = _float_input(x, "silu")
    return multiply(x, sigmoid(x))


def gelu(x, /, approximate: bool = False):
    """The Gaussian error linear unit x * Phi(x), Phi the standard normal CDF.

    approximate=False: exactly, `0.5 * x * erfc(-x / sqrt(2))` (equal to the textbook
    `0.5 * x * (1 + erf(x / sqrt(2)))`, without its cancellation for negative x).
    approximate=True: the tanh form of JAX's `jax.nn.gelu` and PyTorch's
    `approximate="tanh"`, `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))`.
    """
    x = _float_input(x, "gelu")
    if approximate:
        inner = multiply(SQRT_2_OVER_PI, add(x, multiply(0.044715, multiply(x, multiply(x, x)))))
        return multiply(multiply(0.5, x), add(1.0, tanh(inner)))
    return multiply(multiply(0.5, x), erfc(multiply(-SQRT_HALF, x)))


# --- the softmax family -----------------------------------------------------------------------
def _shifted(x, axis):
    """x - max(x, axis) with the maximum held constant (the results do not depend on it)."""
    return subtract(x, stop_gradient(max(x, axis=axis, keepdims=True)))


def softmax(x, /, axis: int | tuple[int, ...] = -1):
    """exp(x) / sum(exp(x), axis), computed as exp(x - m) / sum(exp(x - m)), m = max(x, axis):
    finite for any finite x (a row of +-1000 too); a row holding +inf or NaN gives NaNs, as JAX.
    Compiled, it is one row kernel."""
    x = _float_input(x, "softmax")
    e = exp(_shifted(x, axis))
    return divide(e, sum(e, axis=axis, keepdims=True))


def log_softmax(x, /, axis: int | tuple[int, ...] = -1):
    """x - logsumexp(x, axis), as (x - m) - log(sum(exp(x - m))), m = max(x, axis): finite for
    finite x (no log of 0: the row's maximum contributes exp(0) = 1 to the sum)."""
    x = _float_input(x, "log_softmax")
    s = _shifted(x, axis)
    return subtract(s, log(sum(exp(s), axis=axis, keepdims=True)))


def logsumexp(x, /, axis: int | tuple[int, ...] | None = None, keepdims: bool = False):
    """log(sum(exp(x), axis)), as m + log(sum(exp(x - m))) with m = max(x, axis) where that is
    finite and 0 where not (as SciPy and JAX): an all -inf row gives -inf, one with +inf gives
    +inf, one with NaN NaN. Its derivative is softmax(x, axis)."""
    x = _float_input(x, "logsumexp")
    m = max(x, axis=axis, keepdims=True)
    m = stop_gradient(where(isfinite(m), m, 0.0))
    out = log(sum(exp(subtract(x, m)), axis=axis, keepdims=keepdims))
    return add(out, m if keepdims else reshape(m, out.shape))


# --- labels and losses ------------------------------------------------------------------------
def one_hot(labels, depth: int, *, dtype: Any = dt.float32):
    """A new last axis of length `depth`: 1 at each label's index, 0 elsewhere (as
    `jax.nn.one_hot`). A label outside [0, depth) (a negative one too) gives a row of zeros.
    `labels` is an integer array; `dtype` the result's (default float32)."""
    labels = asarray(labels)
    if not labels.dtype.is_integer:
        raise DTypeError(with_location(
            f"tx.nn.one_hot: labels must be integers, got {labels.dtype.name}; convert them "
            f"with tx.astype(labels, tx.int64)", user_location()))
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise ValueError(with_location(
            f"tx.nn.one_hot: depth must be a non-negative Python int (the number of classes), "
            f"got {depth!r}", user_location()))
    device = labels.device if isinstance(labels, (Tensor, Tracer)) else None
    classes = arange(depth, dtype=dt.int64, device=device)
    return astype(equal(expand_dims(labels, axis=-1), classes), dtype)


def softmax_cross_entropy(labels, logits):
    """Per-example cross entropy between `labels`, a probability distribution (e.g. one-hot)
    over the last axis, and softmax(logits): `-sum(labels * log_softmax(logits), axis=-1)`,
    shape `logits.shape[:-1]` (as `optax.softmax_cross_entropy`; take the mean yourself). A
    class with label 0 adds 0 even where its logit is -inf (a masked class)."""
    logits = _float_input(logits, "softmax_cross_entropy")
    labels = asarray(labels)
    log_probs = log_softmax(logits, axis=-1)
    terms = multiply(labels, log_probs)
    # 0 * -inf is NaN: a class with label 0 and logit -inf adds 0 (elsewhere the terms stand,
    # so the derivative in the labels stays -log_probs)
    masked = logical_and(equal(labels, 0), isinf(log_probs))
    return negative(sum(where(masked, 0.0, terms), axis=-1))


def sparse_softmax_cross_entropy(labels, logits):
    """Per-example cross entropy for integer class `labels` (shape `logits.shape[:-1]`):
    `-log_softmax(logits)[..., label]` (as `optax.softmax_cross_entropy_with_integer_labels`,
    `tf.nn.sparse_softmax_cross_entropy_with_logits`). A label outside [0, classes) selects
    nothing and gives a loss of 0 (use -1 to mask an example out of a sum)."""
    logits = _float_input(logits, "sparse_softmax_cross_entropy")
    if not len(logits.shape):
        raise ValueError(with_location(
            "tx.nn.sparse_softmax_cross_entropy: logits must have a class axis (the last), "
            "got a 0-d array", user_location()))
    labels = asarray(labels)
    if tuple(labels.shape) != tuple(logits.shape[:-1]):
        raise ValueError(with_location(
            f"tx.nn.sparse_softmax_cross_entropy: labels of shape {tuple(labels.shape)} do not "
            f"match logits of shape {tuple(logits.shape)}: labels must have the logits' shape "
            "without the last (class) axis", user_location()))
    return softmax_cross_entropy(one_hot(labels, logits.shape[-1], dtype=logits.dtype), logits)
