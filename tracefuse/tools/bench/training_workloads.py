"""The training-step workloads of issue 17 (`train_digits`, `train_mlp1024`): one Adam step of
an MLP classifier written as a pure function, the same code in NumPy, tracefuse and JAX.

    step(W1, b1, ..., Wk, bk, m_1..m_2k, v_1..v_2k, x, labels, t)
        -> (loss, W1', ..., bk', m'..., v'...)

relu hidden layers, softmax cross-entropy with int32 labels (mean over the batch), and Adam in
Keras' form (`tx.optimizers.Adam`'s formulas: lr 1e-3, beta 0.9 / 0.999, epsilon 1e-7, the
bias correction from `t + 1`, `t` the steps already taken). NumPy writes the backward pass out
by hand; tracefuse takes `tx.value_and_grad` of the loss (with `tx.nn`), JAX
`jax.value_and_grad` (the runner jits it). The state goes in and comes out, so each call is
independent and checkable; the stateful form (`tx.Variable`s updated in place by
`tx.optimizers.Adam` inside a `tx.function`, against `jax.jit` + `optax.adam`) is
`benchmarks/training_vs_jax.py`'s, the one that judges issue 17's "at least as fast as JAX".

Inputs are drawn so that every relu's input is computed exactly in float32 in any summation
order and is never 0 (see `make_train_step`): otherwise a pre-activation within rounding
distance of the kink flips its mask between implementations and a correct gradient differs.
"""

from __future__ import annotations

import math

import numpy as np

import tracefuse as tx

from .base import grid, normal

LR, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7
STEPS_TAKEN = 1000  # t: the optimizer's iteration count before this step

# layer widths and batch of each workload at each size (the full ones: issue 17, item 6)
TRAIN_DIGITS = {"full": {"batch": 64, "widths": (64, 256, 256, 10)},
                "small": {"batch": 6, "widths": (8, 12, 10, 5)},
                "alt_full": {"batch": 61, "widths": (63, 231, 241, 10)},
                "alt_small": {"batch": 5, "widths": (7, 9, 11, 4)}}
TRAIN_MLP1024 = {"full": {"batch": 256, "widths": (1024, 1024, 1024, 10)},
                 "small": {"batch": 6, "widths": (8, 12, 10, 5)},
                 "alt_full": {"batch": 231, "widths": (1001, 921, 1003, 10)},
                 "alt_small": {"batch": 5, "widths": (7, 9, 11, 4)}}


def _odd_multiples(rng, n: int, exponent: int) -> np.ndarray:
    """Normal values rounded to odd multiples of 2**-exponent (never 0)."""
    return ((np.round(rng.standard_normal(n) * 2.0 ** (exponent - 1)) + 0.5)
            / 2.0 ** (exponent - 1)).astype(np.float32)


def make_train_step(rng, d):
    """Parameters, Adam slots, a batch and t for an MLP of `d["widths"]`.

    Exactness of the relu inputs: x is on a grid of 1/8, W1 of 1/256 and b1 odd multiples of
    2**-12, so x @ W1 + b1 is an odd multiple of 2**-12, far below 2**24 of them: exact, never 0.
    relu keeps multiples of 2**-12 (under 2**4: 16 significant bits); later hidden weights on a
    grid of 1/256 below 1 (8 bits) make exact products, multiples of 2**-20, and biases odd
    multiples of 2**-21 make every pre-activation an odd multiple of 2**-21, exact while the
    partial sums stay below 8 (they are sums of about unit variance: five sigma is 3.5). The
    output layer has no kink: normal values. Slots: m about the gradients' size, v positive."""
    widths, batch = d["widths"], d["batch"]
    params = []
    for i, (k, n) in enumerate(zip(widths[:-1], widths[1:])):
        hidden = i < len(widths) - 2
        if not hidden:
            params += [normal(rng, (k, n), scale=1 / math.sqrt(k)), normal(rng, n, scale=0.1)]
        elif i == 0:
            params += [grid(rng, (k, n), 1 / 256, scale=1 / math.sqrt(k)),
                       _odd_multiples(rng, n, 12)]
        else:
            params += [grid(rng, (k, n), 1 / 256, scale=1 / math.sqrt(k)),
                       _odd_multiples(rng, n, 21)]
    m = [normal(rng, p.shape, scale=1e-3) for p in params]
    v = [(np.square(normal(rng, p.shape, scale=1e-3)) + 1e-8).astype(np.float32)
         for p in params]
    x = grid(rng, (batch, widths[0]), 1 / 8)
    labels = rng.integers(0, widths[-1], batch, dtype=np.int32)
    return (*params, *m, *v, x, labels, np.int32(STEPS_TAKEN))


def _split(args):
    n = (len(args) - 3) // 3
    return args[:n], args[n:2 * n], args[2 * n:3 * n], *args[3 * n:]


def _adam(p, g, m, v, t, xp):
    """Keras' Adam update of one parameter (tx.optimizers.Adam's formulas), in library `xp`."""
    step = xp.astype(t + 1, p.dtype)
    alpha = LR * xp.sqrt(1 - BETA_2 ** step) / (1 - BETA_1 ** step)
    m = m + (g - m) * (1 - BETA_1)
    v = v + (g * g - v) * (1 - BETA_2)
    return p - (m * alpha) / (xp.sqrt(v) + EPSILON), m, v


def _update(params, grads, ms, vs, t, xp):
    new = [_adam(p, g, m, v, t, xp) for p, g, m, v in zip(params, grads, ms, vs)]
    return tuple(u[0] for u in new) + tuple(u[1] for u in new) + tuple(u[2] for u in new)


def train_step_np(*args):
    params, ms, vs, x, labels, t = _split(args)
    hs, pres = [x], []
    for i in range(0, len(params), 2):
        z = hs[-1] @ params[i] + params[i + 1]
        if i < len(params) - 2:
            pres.append(z)
            hs.append(np.maximum(z, 0.0))
    batch = x.shape[0]
    zmax = z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True)) + zmax
    loss = np.mean(lse[:, 0] - z[np.arange(batch), labels]).astype(np.float32)
    dz = np.exp(z - lse)
    dz[np.arange(batch), labels] -= 1.0
    dz /= np.float32(batch)
    grads = [None] * len(params)
    for i in range(len(params) - 2, -1, -2):
        grads[i], grads[i + 1] = hs[i // 2].T @ dz, dz.sum(axis=0)
        if i:
            dz = (dz @ params[i].T) * (pres[i // 2 - 1] > 0)
    return (loss,) + _update(params, grads, ms, vs, t, np)


def _logits(params, x, relu):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i < len(params) - 2:
            h = relu(h)
    return h


def _loss_tx(params, x, labels):
    return tx.mean(tx.nn.sparse_softmax_cross_entropy(labels, _logits(params, x, tx.nn.relu)))


def train_step_tx(*args):
    params, ms, vs, x, labels, t = _split(args)
    loss, grads = tx.value_and_grad(_loss_tx)(tuple(params), x, labels)
    return (loss,) + _update(params, grads, ms, vs, t, tx)


def train_step_jax(jnp):
    import jax

    def loss_fn(params, x, labels):
        logp = jax.nn.log_softmax(_logits(params, x, jax.nn.relu))
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))

    def step(*args):
        params, ms, vs, x, labels, t = _split(args)
        loss, grads = jax.value_and_grad(loss_fn)(tuple(params), x, labels)
        return (loss,) + _update(params, grads, ms, vs, t, jnp)
    return step
