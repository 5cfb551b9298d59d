"""The benchmark workloads of BENCHMARKS.md (`../shared/BENCHMARKS.md`) and issue 4's targets,
and the gradient workloads of issue 14 (`gelu_grad`, `xent_grad`, `mlp_grad`,
`per_example_grad`): their NumPy versions are gradients written out by hand, their tracefuse
versions `tx.grad` / `tx.vmap` of the loss, their JAX factories `jax.grad` / `jax.vmap` forms
(the runner jits them). `mlp_grad` returns a tuple of four gradients; the runner checks and
counts a tuple result array by array. The control-flow workloads of issue 15 (`mandelbrot`,
`newton`, `scan_recurrence`): NumPy loops of vectorized steps against one `tx.fori_loop` /
`tx.while_loop` / `tx.scan` and `jax.lax`'s; `benchmarks/control_flow_vs_jax.py` judges them.
The random-number workloads of issue 16 (`uniform_50m`, `dropout`, and `dropout_mask`, the same
kernel with the draw replaced by a comparison of x: the reference of the "< 1.3x" target):
`tx.random` against `np.random.default_rng(key)` and `jax.random`; their values differ by
design, so they are checked by distribution (`distribution` below);
`benchmarks/random_vs_jax.py` judges them (`random_workloads.py`). The training steps of
issue 17 (`train_digits`, `train_mlp1024`: one Adam step of an MLP classifier as a pure
function, `training_workloads.py`); `benchmarks/training_vs_jax.py` judges them in their
stateful form. The workloads of issue 19 where JAX was ahead (`black_scholes`, `attention`,
`model_workloads.py`) and `standardize` (row kernels down the columns, issue 20). `Workload` and `Target` live in `base.py`.

Each `Workload` owns:

- `make(rng, dims)`: its inputs, drawn from a fixed seed (`inputs(size)`); standard normal
  values with exact zeros replaced by 1, so no input is ever zero (a kernel that reads the
  wrong buffer cannot pass by reading zeros). Sizes: `"full"` (the sizes of BENCHMARKS.md),
  `"small"` (tiny, for smoke tests), and `"alt_full"` / `"alt_small"`: another shape of the
  same size class (about 90 % of each dimension, odd where it can be), for the "first call
  at a new shape of a seen function" probe. The same size class, so that a backend that picks
  its kernel by size (serial loops for small work) is not made to compile a different one.
- `numpy`: the NumPy eager version (the baseline every ratio is taken against).
- `tx_fn`: the same code written against `tracefuse`; `compile(backend)` wraps it in
  `tx.function(..., backend=backend)`. A new `Function` per call, so its cache starts empty.
- `numexpr(ne)` / `jax(jnp)`: factories for the peers' versions, used when those packages
  import (neither is a dependency).
- `floor`: which bandwidth floor applies: `"copy"` (reads an array and writes one: bytes are
  counted as read + written, the STREAM copy convention), `"read"` (reduces to a scalar), or
  None (compute-bound or in cache: no floor is reported). Bytes moved are the minimum traffic:
  every input read once plus the output written once (`bytes_moved`).
- `target`: the target of issue 4 (or 14, 15) for this workload. A target against JAX (the
  gradients' "as fast as jax.jit", mandelbrot's ">= 3x jax.jit") is judged by
  `benchmarks/transforms_vs_jax.py` / `control_flow_vs_jax.py`, not here: its `met` is None
  ("—" in the table).
- tolerances for the check against NumPy: `rtol` (1e-4 for float32, 1e-9 for float64) and
  `atol = atol_scale * max|reference|`; `max_mismatch_frac`, the fraction of elements allowed
  outside them (0 but for `mandelbrot`: a count on the set's boundary is chaotic, one fused
  multiply-add changes it, and XLA's fusions do: jax.jit on cpu gets 228 of the 10^6 counts
  of the full size off, 6 of the 3072 of the small size; 1 % is allowed).
- `distribution(got, inputs)`: for random draws, whose values cannot equal NumPy's (other
  generators): the runner checks shape and dtype against NumPy's result, then this judges the
  values by what they must satisfy (range, mean and variance within 5 sigma, a histogram; for
  dropout, each element 0 or x / 0.9 and the dropped fraction), and returns what is wrong
  (empty: ok). The same check is applied to NumPy's and JAX's draws.

Constants are Python floats: weak scalars in NumPy 2 and in tracefuse alike, so float32 stays
float32 everywhere. numexpr turns Python float literals into float64, so its constants are
passed in as float32 variables.
"""

from __future__ import annotations

import math

import numpy as np

import tracefuse as tx

from .base import SEED, SIZES, Target, Workload, grid, normal, bytes_moved, leaves
from .model_workloads import (attention_jax, attention_np, attention_tx, black_scholes_jax,
                              black_scholes_np, black_scholes_tx, make_features, make_options,
                              make_qkv, standardize_jax, standardize_np, standardize_tx)
from .random_workloads import (make_key_like, make_key_x, check_dropout, check_uniform,
                               dropout_jax, dropout_mask_jax, dropout_mask_np, dropout_mask_tx,
                               dropout_np, dropout_tx, uniform_jax, uniform_np, uniform_tx)
from .training_workloads import (TRAIN_DIGITS, TRAIN_MLP1024, make_train_step, train_step_jax,
                                 train_step_np, train_step_tx)

__all__ = ["SEED", "SIZES", "Target", "Workload", "WORKLOADS", "BY_NAME", "bytes_moved",
           "get", "leaves", "select"]

def gelu_np(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def gelu_tx(x):
    return 0.5 * x * (1 + tx.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def gelu_ne(ne):
    half, c, k = np.float32(0.5), np.float32(0.7978845608), np.float32(0.044715)
    one = np.float32(1)

    def gelu(x):
        return ne.evaluate("half * x * (one + tanh(c * (x + k * x**3)))",
                           local_dict={"x": x, "half": half, "one": one, "c": c, "k": k})
    return gelu


def gelu_jax(jnp):
    def gelu(x):
        return 0.5 * x * (1 + jnp.tanh(0.7978845608 * (x + 0.044715 * x**3)))
    return gelu


def _make_1d(rng, d, dtype=np.float32):
    return (normal(rng, d["n"], dtype),)


# --- the 10-op elementwise chain ----------------------------------------------------------
def chain_np(a, b):
    return (a * b + np.sin(a)) / (1 + np.exp(-b)) - np.sqrt(np.abs(a)) + a * a - b / 3


def chain_tx(a, b):
    return (a * b + tx.sin(a)) / (1 + tx.exp(-b)) - tx.sqrt(tx.abs(a)) + a * a - b / 3


def chain_ne(ne):
    one, three = np.float32(1), np.float32(3)

    def chain(a, b):
        return ne.evaluate("(a * b + sin(a)) / (one + exp(-b)) - sqrt(abs(a)) + a * a - b / three",
                           local_dict={"a": a, "b": b, "one": one, "three": three})
    return chain


def chain_jax(jnp):
    def chain(a, b):
        return (a * b + jnp.sin(a)) / (1 + jnp.exp(-b)) - jnp.sqrt(jnp.abs(a)) + a * a - b / 3
    return chain


def _make_chain(rng, d):
    return normal(rng, (d["rows"], d["cols"])), normal(rng, (d["rows"], d["cols"]))


# --- row softmax ----------------------------------------------------------------------------
def softmax_np(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_tx(x):
    e = tx.exp(x - tx.max(x, axis=-1, keepdims=True))
    return e / tx.sum(e, axis=-1, keepdims=True)


def softmax_ne(ne):
    def softmax(x):  # numexpr has no keepdims reductions: NumPy reduces, numexpr maps
        m = x.max(axis=-1, keepdims=True)
        e = ne.evaluate("exp(x - m)", local_dict={"x": x, "m": m})
        s = e.sum(axis=-1, keepdims=True)
        return ne.evaluate("e / s", local_dict={"e": e, "s": s})
    return softmax


def softmax_jax(jnp):
    def softmax(x):
        e = jnp.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return softmax


def _make_rows(rng, d):
    return (normal(rng, (d["rows"], d["cols"])),)


# --- layernorm over the last axis, with gamma and beta ---------------------------------
EPS = 1e-5


def layernorm_np(x, gamma, beta):
    mu = x.mean(axis=-1, keepdims=True)
    d = x - mu
    var = (d * d).mean(axis=-1, keepdims=True)
    return d / np.sqrt(var + EPS) * gamma + beta


def layernorm_tx(x, gamma, beta):
    mu = tx.mean(x, axis=-1, keepdims=True)
    d = x - mu
    var = tx.mean(d * d, axis=-1, keepdims=True)
    return d / tx.sqrt(var + EPS) * gamma + beta


def layernorm_ne(ne):
    eps = np.float32(EPS)

    def layernorm(x, gamma, beta):
        mu = x.mean(axis=-1, keepdims=True)
        d = ne.evaluate("x - mu", local_dict={"x": x, "mu": mu})
        var = (ne.evaluate("sum(d * d, axis=1)", local_dict={"d": d}) / np.float32(x.shape[-1]))
        var = var.reshape(-1, 1)
        return ne.evaluate("d / sqrt(var + eps) * gamma + beta",
                           local_dict={"d": d, "var": var, "eps": eps, "gamma": gamma,
                                       "beta": beta})
    return layernorm


def layernorm_jax(jnp):
    def layernorm(x, gamma, beta):
        mu = x.mean(axis=-1, keepdims=True)
        d = x - mu
        var = (d * d).mean(axis=-1, keepdims=True)
        return d / jnp.sqrt(var + EPS) * gamma + beta
    return layernorm


def _make_layernorm(rng, d):
    return (normal(rng, (d["rows"], d["cols"])), normal(rng, d["cols"]), normal(rng, d["cols"]))


# --- sum(x*x) ---------------------------------------------------------------------------------
def sumsq_np(x):
    return np.sum(x * x)


def sumsq_tx(x):
    return tx.sum(x * x)


def sumsq_ne(ne):
    def sumsq(x):
        return ne.evaluate("sum(x * x)", local_dict={"x": x})
    return sumsq


def sumsq_jax(jnp):
    def sumsq(x):
        return jnp.sum(x * x)
    return sumsq


# --- abs(a[:,None] - b[None,:]).sum(0) ------------------------------------------------------
def absdiff_np(a, b):
    return np.abs(a[:, None] - b[None, :]).sum(0)


def absdiff_tx(a, b):
    return tx.sum(tx.abs(a[:, None] - b[None, :]), axis=0)


def absdiff_ne(ne):
    def absdiff(a, b):
        return ne.evaluate("sum(abs(a2 - b2), axis=0)",
                           local_dict={"a2": a[:, None], "b2": b[None, :]})
    return absdiff


def absdiff_jax(jnp):
    def absdiff(a, b):
        return jnp.abs(a[:, None] - b[None, :]).sum(0)
    return absdiff


def _make_absdiff(rng, d):
    return normal(rng, d["n"]), normal(rng, d["m"])


# --- MLP relu(x@W1+b1)@W2+b2 -----------------------------------------------------------------
def mlp_np(x, w1, b1, w2, b2):
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


def mlp_tx(x, w1, b1, w2, b2):
    return tx.maximum(x @ w1 + b1, 0.0) @ w2 + b2


def mlp_ne(ne):
    zero = np.float32(0)

    def mlp(x, w1, b1, w2, b2):
        h = ne.evaluate("where(h + b1 > zero, h + b1, zero)",
                        local_dict={"h": x @ w1, "b1": b1, "zero": zero})
        return ne.evaluate("o + b2", local_dict={"o": h @ w2, "b2": b2})
    return mlp


def mlp_jax(jnp):
    def mlp(x, w1, b1, w2, b2):
        return jnp.maximum(x @ w1 + b1, 0.0) @ w2 + b2
    return mlp


def _make_mlp(rng, d):
    n, k, h, m = d["batch"], d["d_in"], d["hidden"], d["d_out"]
    return (normal(rng, (n, k)), normal(rng, (k, h), scale=1 / math.sqrt(k)), normal(rng, h),
            normal(rng, (h, m), scale=1 / math.sqrt(h)), normal(rng, m))


# --- gradients (issue 14): tracefuse's tx.grad / tx.vmap against hand-written NumPy --------
# The NumPy versions are the gradients written out by hand (the common reference); the
# tracefuse versions differentiate the loss with tx.grad (and batch it with tx.vmap); the JAX
# factories return jax.grad / jax.vmap forms, which the runner wraps in jax.jit.
def gelu_grad_np(x):
    u = 0.7978845608 * (x + 0.044715 * x**3)
    t = np.tanh(u)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.7978845608 * (1 + 3 * 0.044715 * x * x)


def _gelu_sum_tx(x):
    return tx.sum(gelu_tx(x))


def gelu_grad_tx(x):
    return tx.grad(_gelu_sum_tx)(x)


def gelu_grad_jax(jnp):
    import jax

    gelu = gelu_jax(jnp)
    return jax.grad(lambda x: jnp.sum(gelu(x)))


def xent_grad_np(logits, labels):
    rows = logits.shape[0]
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    g = e / e.sum(axis=-1, keepdims=True)
    g[np.arange(rows), labels] -= 1
    return g / rows


def _xent_tx(logits, labels):
    """-mean over rows of log_softmax(logits)[label]; the max shift is a constant to the
    gradient (stop_gradient, as JAX's logsumexp)."""
    shifted = logits - tx.stop_gradient(tx.max(logits, axis=-1, keepdims=True))
    logp = shifted - tx.log(tx.sum(tx.exp(shifted), axis=-1, keepdims=True))
    onehot = labels[:, None] == tx.arange(logits.shape[-1], dtype=tx.int32)
    return -tx.sum(tx.where(onehot, logp, 0.0)) / logits.shape[0]


def xent_grad_tx(logits, labels):
    return tx.grad(_xent_tx)(logits, labels)


def xent_grad_jax(jnp):
    import jax

    def xent(logits, labels):
        shifted = logits - jax.lax.stop_gradient(logits.max(axis=-1, keepdims=True))
        logp = shifted - jnp.log(jnp.exp(shifted).sum(axis=-1, keepdims=True))
        onehot = labels[:, None] == jnp.arange(logits.shape[-1], dtype=jnp.int32)
        return -jnp.sum(jnp.where(onehot, logp, 0.0)) / logits.shape[0]
    return jax.grad(xent)


def _make_xent(rng, d):
    labels = rng.integers(0, d["cols"], d["rows"], dtype=np.int32)
    return normal(rng, (d["rows"], d["cols"])), labels


def mlp_grad_np(w1, b1, w2, b2, x, y):
    pre = x @ w1 + b1
    h = np.maximum(pre, 0.0)
    d_out = (2.0 / y.size) * (h @ w2 + b2 - y)
    d_pre = (d_out @ w2.T) * (pre > 0)
    return x.T @ d_pre, d_pre.sum(axis=0), h.T @ d_out, d_out.sum(axis=0)


def _mlp_loss_tx(w1, b1, w2, b2, x, y):
    return tx.mean((tx.maximum(x @ w1 + b1, 0.0) @ w2 + b2 - y) ** 2)


def mlp_grad_tx(w1, b1, w2, b2, x, y):
    return tx.grad(_mlp_loss_tx, argnums=(0, 1, 2, 3))(w1, b1, w2, b2, x, y)


def mlp_grad_jax(jnp):
    import jax

    def loss(w1, b1, w2, b2, x, y):
        return jnp.mean((jnp.maximum(x @ w1 + b1, 0.0) @ w2 + b2 - y) ** 2)
    return jax.grad(loss, argnums=(0, 1, 2, 3))


def _make_mlp_grad(rng, d):
    """x on a grid of 1/8, W1 on a grid of 1/256, b1 on the odd multiples of 1/4096: every
    product and partial sum of x @ W1 + b1 is a multiple of 1/4096 far below 2**24 of them, so
    float32 computes the pre-activation exactly in any summation order, and it is never within
    1/4096 of the relu kink. Without this, a pre-activation within rounding distance of 0 (one
    in a million is) gets its mask flipped by a different summation order, and a correct
    gradient is off by 0.5 % (JAX at 1000x1000 did)."""
    n, k, h, m = d["batch"], d["d_in"], d["hidden"], d["d_out"]
    b1 = ((np.round(rng.standard_normal(h) * 2048) + 0.5) / 2048).astype(np.float32)
    return (grid(rng, (k, h), 1 / 256, scale=1 / math.sqrt(k)), b1,
            normal(rng, (h, m), scale=1 / math.sqrt(h)), normal(rng, m),
            grid(rng, (n, k), 1 / 8), normal(rng, (n, m)))


def per_example_grad_np(w, b, X, y):
    return (2 * (X @ w + b - y))[:, None] * X


def _linear_loss_tx(w, b, x, y):
    return (x @ w + b - y) ** 2


def per_example_grad_tx(w, b, X, y):
    return tx.vmap(tx.grad(_linear_loss_tx), in_axes=(None, None, 0, 0))(w, b, X, y)


def per_example_grad_jax(jnp):
    import jax

    def loss(w, b, x, y):
        return (x @ w + b - y) ** 2
    return jax.vmap(jax.grad(loss), in_axes=(None, None, 0, 0))


def _make_linear(rng, d):
    n, k = d["n"], d["features"]
    b = normal(rng, 1).reshape(())  # a 0-d float32 array
    return normal(rng, k, scale=1 / math.sqrt(k)), b, normal(rng, (n, k)), normal(rng, n)


# --- control flow (issue 15): tx.fori_loop / tx.while_loop / tx.scan against NumPy loops ----
# The NumPy versions are plain Python loops of vectorized NumPy steps (the common reference);
# the tracefuse versions are one loop op each; the JAX factories use jax.lax.fori_loop /
# while_loop / scan, which the runner wraps in jax.jit.
MANDELBROT_ITERS = 100
NEWTON_RTOL = 1e-6


def mandelbrot_np(cr, ci):
    zr, zi = np.zeros_like(cr), np.zeros_like(ci)
    count = np.zeros_like(cr, dtype=np.int32)  # *_like: CuPy arrays stay CuPy (gpu_bench)
    for _ in range(MANDELBROT_ITERS):
        zr2, zi2 = zr * zr, zi * zi
        inside = zr2 + zi2 <= 4.0
        zr, zi = np.where(inside, zr2 - zi2 + cr, zr), np.where(inside, 2.0 * zr * zi + ci, zi)
        count += inside
    return count


def mandelbrot_tx(cr, ci):
    def body(i, state):
        zr, zi, count = state
        zr2, zi2 = zr * zr, zi * zi
        inside = zr2 + zi2 <= 4.0
        return (tx.where(inside, zr2 - zi2 + cr, zr), tx.where(inside, 2.0 * zr * zi + ci, zi),
                count + tx.astype(inside, tx.int32))
    z = tx.zeros_like(cr)
    init = (z, z, tx.zeros(cr.shape, dtype=tx.int32))
    return tx.fori_loop(0, MANDELBROT_ITERS, body, init)[2]


def mandelbrot_jax(jnp):
    import jax

    def mandelbrot(cr, ci):
        def body(i, state):
            zr, zi, count = state
            zr2, zi2 = zr * zr, zi * zi
            inside = zr2 + zi2 <= 4.0
            return (jnp.where(inside, zr2 - zi2 + cr, zr),
                    jnp.where(inside, 2.0 * zr * zi + ci, zi), count + inside.astype(jnp.int32))
        z = jnp.zeros_like(cr)
        init = (z, z, jnp.zeros(cr.shape, jnp.int32))
        return jax.lax.fori_loop(0, MANDELBROT_ITERS, body, init)[2]
    return mandelbrot


def _make_mandelbrot(rng, d):
    """c = x + i y at the pixel centres of [-2, 1] x [-1.5, 1.5] (no pixel on an axis, so no
    zero), as two float32 arrays (rows, cols); the grid is fixed, `rng` is not used."""
    rows, cols = d["rows"], d["cols"]
    x = (-2.0 + 3.0 * (np.arange(cols) + 0.5) / cols).astype(np.float32)
    y = (-1.5 + 3.0 * (np.arange(rows) + 0.5) / rows).astype(np.float32)
    return (np.ascontiguousarray(np.broadcast_to(x, (rows, cols))),
            np.ascontiguousarray(np.broadcast_to(y[:, None], (rows, cols))))


def newton_np(a):
    x, step = 0.5 * (a + 1.0), a
    while np.any(step > NEWTON_RTOL * x):
        new = 0.5 * (x + a / x)
        x, step = new, np.abs(new - x)
    return x


def newton_tx(a):
    def body(state):
        x, _ = state
        new = 0.5 * (x + a / x)
        return new, tx.abs(new - x)
    return tx.while_loop(lambda s: tx.any(s[1] > NEWTON_RTOL * s[0]), body,
                         (0.5 * (a + 1.0), a))[0]


def newton_jax(jnp):
    import jax

    def newton(a):
        def body(state):
            x, _ = state
            new = 0.5 * (x + a / x)
            return new, jnp.abs(new - x)
        return jax.lax.while_loop(lambda s: jnp.any(s[1] > NEWTON_RTOL * s[0]), body,
                                  (0.5 * (a + 1.0), a))[0]
    return newton


def _make_newton(rng, d):
    """Positive float32 values, log-uniform over [1e-4, 1e4]: from x0 = (a + 1) / 2 Newton
    takes about 20 steps on the largest (every element steps until the last has converged)."""
    return (np.exp(rng.uniform(-4, 4, d["n"]) * math.log(10)).astype(np.float32),)


def scan_recurrence_np(h0, xs, w, u, b):
    h, hs = h0, np.empty_like(xs)  # the hs have the xs' shape; CuPy stays CuPy (gpu_bench)
    for t in range(xs.shape[0]):
        h = np.tanh(h @ w + xs[t] @ u + b)
        hs[t] = h
    return h, hs


def scan_recurrence_tx(h0, xs, w, u, b):
    def step(h, x):
        h = tx.tanh(h @ w + x @ u + b)
        return h, h
    return tx.scan(step, h0, xs)


def scan_recurrence_jax(jnp):
    import jax

    def recurrence(h0, xs, w, u, b):
        def step(h, x):
            h = jnp.tanh(h @ w + x @ u + b)
            return h, h
        return jax.lax.scan(step, h0, xs)
    return recurrence


def _make_recurrence(rng, d):
    """h0 (hidden,), xs (steps, hidden), W and U (hidden, hidden) scaled by 0.5 / sqrt(hidden)
    (a contraction: rounding differences do not grow over the steps), b (hidden,)."""
    k, s = d["hidden"], 0.5 / math.sqrt(d["hidden"])
    return (normal(rng, k), normal(rng, (d["steps"], k)), normal(rng, (k, k), scale=s),
            normal(rng, (k, k), scale=s), normal(rng, k, scale=0.1))


# --- random numbers (issue 16): tx.random against np.random.default_rng and jax.random ------
STATEFUL_NOTE = ("benchmarks/training_vs_jax.py times the stateful form (Variables, "
                 "tx.optimizers.Adam) against jax.jit + optax and judges the target")


def _f64(make):
    return lambda rng, d: make(rng, d, np.float64)


WORKLOADS: tuple[Workload, ...] = (
    Workload("gelu", "gelu (tanh form, x**3), 10M float32",
             {"full": {"n": 10_000_000}, "small": {"n": 4096},
              "alt_full": {"n": 9_000_001}, "alt_small": {"n": 777}},
             _make_1d, gelu_np, gelu_tx, Target(">= 35x", min_ratio=35),
             numexpr=gelu_ne, jax=gelu_jax),
    Workload("chain", "10-op elementwise chain, two 4096x4096 float32",
             {"full": {"rows": 4096, "cols": 4096}, "small": {"rows": 64, "cols": 48},
              "alt_full": {"rows": 4000, "cols": 4001},
              "alt_small": {"rows": 33, "cols": 17}},
             _make_chain, chain_np, chain_tx, Target(">= 4.5x", min_ratio=4.5),
             numexpr=chain_ne, jax=chain_jax, atol_scale=1e-5),
    Workload("softmax", "row softmax 8192x1024 float32",
             {"full": {"rows": 8192, "cols": 1024}, "small": {"rows": 32, "cols": 64},
              "alt_full": {"rows": 8000, "cols": 1000},
              "alt_small": {"rows": 7, "cols": 100}},
             _make_rows, softmax_np, softmax_tx, Target(">= 3x", min_ratio=3),
             numexpr=softmax_ne, jax=softmax_jax),
    Workload("layernorm", "layernorm over the last axis 8192x1024 float32, gamma, beta",
             {"full": {"rows": 8192, "cols": 1024}, "small": {"rows": 32, "cols": 64},
              "alt_full": {"rows": 8000, "cols": 1000},
              "alt_small": {"rows": 7, "cols": 100}},
             _make_layernorm, layernorm_np, layernorm_tx, Target(">= 5x", min_ratio=5),
             numexpr=layernorm_ne, jax=layernorm_jax, atol_scale=1e-5),
    Workload("sumsq_f32", "sum(x*x), 50M float32",
             {"full": {"n": 50_000_000}, "small": {"n": 10_000},
              "alt_full": {"n": 45_000_001}, "alt_small": {"n": 1234}},
             _make_1d, sumsq_np, sumsq_tx,
             Target(">= 9x, >= 85% floor", min_ratio=9, min_floor_pct=85), floor="read",
             numexpr=sumsq_ne, jax=sumsq_jax),
    Workload("sumsq_f64", "sum(x*x), 50M float64",
             {"full": {"n": 50_000_000}, "small": {"n": 10_000},
              "alt_full": {"n": 45_000_001}, "alt_small": {"n": 1234}},
             _f64(_make_1d), sumsq_np, sumsq_tx,
             Target(">= 9x, >= 85% floor", min_ratio=9, min_floor_pct=85), floor="read",
             numexpr=sumsq_ne, jax=sumsq_jax, rtol=1e-9, atol_scale=1e-12),
    Workload("absdiff", "abs(a[:,None]-b[None,:]).sum(0), a, b of 4096 float32",
             {"full": {"n": 4096, "m": 4096}, "small": {"n": 200, "m": 150},
              "alt_full": {"n": 4000, "m": 3999}, "alt_small": {"n": 77, "m": 50}},
             _make_absdiff, absdiff_np, absdiff_tx, Target(">= 45x", min_ratio=45), floor=None,
             numexpr=absdiff_ne, jax=absdiff_jax),
    Workload("mlp", "MLP relu(x@W1+b1)@W2+b2, all 1024x1024 float32",
             {"full": {"batch": 1024, "d_in": 1024, "hidden": 1024, "d_out": 1024},
              "small": {"batch": 16, "d_in": 32, "hidden": 24, "d_out": 8},
              "alt_full": {"batch": 1000, "d_in": 1000, "hidden": 1000, "d_out": 1000},
              "alt_small": {"batch": 5, "d_in": 7, "hidden": 9, "d_out": 3}},
             _make_mlp, mlp_np, mlp_tx, Target(">= 1.2x", min_ratio=1.2), floor=None,
             numexpr=mlp_ne, jax=mlp_jax, atol_scale=1e-5),
    Workload("gelu_1k", "gelu on 1000 float32 elements, per call",
             {"full": {"n": 1000}, "small": {"n": 1000},
              "alt_full": {"n": 999}, "alt_small": {"n": 500}},
             _make_1d, gelu_np, gelu_tx, Target("<= 15 us/call", max_time_s=15e-6), floor=None,
             numexpr=gelu_ne, jax=gelu_jax, per_call_us=True),
    Workload("gelu_grad", "gradient of sum(gelu(x)), 10M float32",
             {"full": {"n": 10_000_000}, "small": {"n": 4096},
              "alt_full": {"n": 9_000_001}, "alt_small": {"n": 777}},
             _make_1d, gelu_grad_np, gelu_grad_tx, Target(">= 60% floor", min_floor_pct=60),
             jax=gelu_grad_jax, atol_scale=1e-5),
    Workload("xent_grad", "logits-gradient of softmax cross-entropy, 8192x1024 float32, "
             "int32 labels",
             {"full": {"rows": 8192, "cols": 1024}, "small": {"rows": 32, "cols": 64},
              "alt_full": {"rows": 8000, "cols": 1000},
              "alt_small": {"rows": 7, "cols": 100}},
             _make_xent, xent_grad_np, xent_grad_tx, Target("as fast as jax.jit"),
             jax=xent_grad_jax, atol_scale=1e-5),
    Workload("mlp_grad", "MLP training-step gradient (W1, b1, W2, b2), x 1024x1024, hidden "
             "1024, 256 outputs, mean squared error, float32",
             {"full": {"batch": 1024, "d_in": 1024, "hidden": 1024, "d_out": 256},
              "small": {"batch": 16, "d_in": 32, "hidden": 24, "d_out": 8},
              "alt_full": {"batch": 1000, "d_in": 1000, "hidden": 1000, "d_out": 250},
              "alt_small": {"batch": 5, "d_in": 7, "hidden": 9, "d_out": 3}},
             _make_mlp_grad, mlp_grad_np, mlp_grad_tx, Target("as fast as jax.jit"), floor=None,
             jax=mlp_grad_jax, atol_scale=1e-5),
    Workload("per_example_grad", "per-example gradients of a linear model, vmap(grad), "
             "X 4096x256 float32",
             {"full": {"n": 4096, "features": 256}, "small": {"n": 64, "features": 16},
              "alt_full": {"n": 4000, "features": 249},
              "alt_small": {"n": 33, "features": 7}},
             _make_linear, per_example_grad_np, per_example_grad_tx,
             Target("as fast as jax.jit"), jax=per_example_grad_jax, atol_scale=1e-5),
    Workload("mandelbrot", "Mandelbrot escape counts, 1000x1000 float32 grid, fori_loop of 100 "
             "elementwise steps, int32 counts",
             {"full": {"rows": 1000, "cols": 1000}, "small": {"rows": 48, "cols": 64},
              "alt_full": {"rows": 999, "cols": 901}, "alt_small": {"rows": 33, "cols": 50}},
             _make_mandelbrot, mandelbrot_np, mandelbrot_tx, Target(">= 3x jax.jit"),
             floor=None, jax=mandelbrot_jax, max_mismatch_frac=1e-2),
    Workload("newton", "Newton sqrt of 1M float32 in a while_loop, until every element's step "
             "is <= 1e-6 relative",
             {"full": {"n": 1_000_000}, "small": {"n": 4096},
              "alt_full": {"n": 900_001}, "alt_small": {"n": 777}},
             _make_newton, newton_np, newton_tx, Target("as fast as jax.jit"), floor=None,
             jax=newton_jax),
    Workload("scan_recurrence", "scan of h = tanh(h @ W + x_t @ U + b) over 1000 steps, h of 64 "
             "float32, final h and the stacked hs",
             {"full": {"steps": 1000, "hidden": 64}, "small": {"steps": 50, "hidden": 16},
              "alt_full": {"steps": 999, "hidden": 57}, "alt_small": {"steps": 37, "hidden": 9}},
             _make_recurrence, scan_recurrence_np, scan_recurrence_tx,
             Target("as fast as jax.jit"), floor=None, jax=scan_recurrence_jax,
             atol_scale=1e-5),
    Workload("uniform_50m", "tx.random.uniform of 50M float32 (key and shape in; numpy: "
             "default_rng(key).random(dtype=float32))",
             {"full": {"n": 50_000_000}, "small": {"n": 4096},
              "alt_full": {"n": 45_000_001}, "alt_small": {"n": 777}},
             make_key_like, uniform_np, uniform_tx,
             Target(">= 50% write floor, faster than numpy and jax"), floor=None,
             jax=uniform_jax, distribution=check_uniform,
             notes=(("write-only: the runner's floors are copy and read, so none is reported "
                     "here; benchmarks/random_vs_jax.py reports % of a measured write floor"),)),
    Workload("dropout", "dropout where(uniform(key, x.shape) > 0.1, x / 0.9, 0), x 8192x6144 "
             "float32",
             {"full": {"rows": 8192, "cols": 6144}, "small": {"rows": 64, "cols": 48},
              "alt_full": {"rows": 8000, "cols": 6001}, "alt_small": {"rows": 33, "cols": 17}},
             make_key_x, dropout_np, dropout_tx, Target("< 1.3x dropout_mask"),
             jax=dropout_jax, distribution=check_dropout),
    Workload("dropout_mask", "dropout's kernel without the draw: where(x > 0.1, x / 0.9, 0), "
             "x 8192x6144 float32",
             {"full": {"rows": 8192, "cols": 6144}, "small": {"rows": 64, "cols": 48},
              "alt_full": {"rows": 8000, "cols": 6001}, "alt_small": {"rows": 33, "cols": 17}},
             _make_rows, dropout_mask_np, dropout_mask_tx, Target("reference of dropout"),
             jax=dropout_mask_jax),
    Workload("black_scholes", "Black-Scholes call and put prices of 4M options (log, sqrt, exp, "
             "two erf normal CDFs), float32",
             {"full": {"n": 4_000_000}, "small": {"n": 4096},
              "alt_full": {"n": 3_600_001}, "alt_small": {"n": 777}},
             make_options, black_scholes_np, black_scholes_tx, Target("as fast as jax.jit"),
             jax=black_scholes_jax, atol_scale=1e-5),
    Workload("attention", "attention softmax(q @ k^T / sqrt(d)) @ v, batch 8, 8 heads, 256 "
             "tokens, head dim 64, float32",
             {"full": {"batch": 8, "heads": 8, "seq": 256, "dim": 64},
              "small": {"batch": 2, "heads": 3, "seq": 16, "dim": 8},
              "alt_full": {"batch": 7, "heads": 8, "seq": 231, "dim": 64},
              "alt_small": {"batch": 3, "heads": 2, "seq": 13, "dim": 5}},
             make_qkv, attention_np, attention_tx, Target("as fast as jax.jit"), floor=None,
             jax=attention_jax, atol_scale=1e-5),
    Workload("standardize", "feature scaling down the columns (x - mean(x, 0)) / std(x, 0), "
             "16384x1024 float32",
             {"full": {"rows": 16384, "cols": 1024}, "small": {"rows": 40, "cols": 24},
              "alt_full": {"rows": 15000, "cols": 1001}, "alt_small": {"rows": 33, "cols": 17}},
             make_features, standardize_np, standardize_tx, Target("as fast as jax.jit"),
             jax=standardize_jax, atol_scale=1e-5),
    Workload("train_digits", "one Adam training step of the digits MLP (examples/train_mlp.py) "
             "as a pure function: 64-256-256-10, batch 64, softmax cross-entropy, float32",
             TRAIN_DIGITS, make_train_step, train_step_np, train_step_tx,
             Target("as fast as jax.jit + optax"), floor=None, jax=train_step_jax,
             atol_scale=1e-5,
             notes=(STATEFUL_NOTE,)),
    Workload("train_mlp1024", "one Adam training step of a 3-layer 1024-wide MLP as a pure "
             "function: 1024-1024-1024-10, batch 256, softmax cross-entropy, float32",
             TRAIN_MLP1024, make_train_step, train_step_np, train_step_tx,
             Target("as fast as jax.jit + optax"), floor=None, jax=train_step_jax,
             atol_scale=1e-5,
             notes=(STATEFUL_NOTE,)),
)

BY_NAME = {w.name: w for w in WORKLOADS}


def get(name: str) -> Workload:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; choose from {', '.join(BY_NAME)}") from None


def select(names: list[str] | None) -> list[Workload]:
    """The workloads named (an exact name, else every workload whose name starts with it), in
    the order of WORKLOADS; all of them for None or []."""
    if not names:
        return list(WORKLOADS)
    chosen = set()
    for name in names:
        if name in BY_NAME:
            chosen.add(name)
            continue
        matches = [w.name for w in WORKLOADS if w.name.startswith(name)]
        if not matches:
            raise KeyError(f"unknown workload {name!r}; choose from {', '.join(BY_NAME)}")
        chosen.update(matches)
    return [w for w in WORKLOADS if w.name in chosen]
