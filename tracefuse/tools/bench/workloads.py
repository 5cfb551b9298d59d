"""The benchmark workloads of BENCHMARKS.md (`../shared/BENCHMARKS.md`) and issue 4's targets.

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
- `target`: the target of issue 4 for this workload.
- tolerances for the check against NumPy: `rtol` (1e-4 for float32, 1e-9 for float64) and
  `atol = atol_scale * max|reference|`.

Constants are Python floats: weak scalars in NumPy 2 and in tracefuse alike, so float32 stays
float32 everywhere. numexpr turns Python float literals into float64, so its constants are
passed in as float32 variables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tracefuse as tx

SEED = 20240604
SIZES = ("full", "small", "alt_full", "alt_small")


@dataclass(frozen=True)
class Target:
    """A target of issue 4: a minimum speedup over NumPy, a minimum % of the bandwidth floor,
    and/or a maximum time per call."""

    text: str
    min_ratio: float | None = None
    min_floor_pct: float | None = None
    max_time_s: float | None = None

    def met(self, ratio: float | None, floor_pct: float | None,
            time_s: float | None) -> bool | None:
        checks = []
        if self.min_ratio is not None:
            checks.append(ratio is not None and ratio >= self.min_ratio)
        if self.min_floor_pct is not None:
            checks.append(floor_pct is not None and floor_pct >= self.min_floor_pct)
        if self.max_time_s is not None:
            checks.append(time_s is not None and time_s <= self.max_time_s)
        return all(checks) if checks else None


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    dims: dict[str, dict[str, int]]
    make: Callable[[np.random.Generator, dict[str, int]], tuple[np.ndarray, ...]]
    numpy: Callable[..., Any]
    tx_fn: Callable[..., Any]
    target: Target
    floor: str | None = "copy"
    numexpr: Callable[[Any], Callable[..., Any]] | None = None
    jax: Callable[[Any], Callable[..., Any]] | None = None
    rtol: float = 1e-4
    atol_scale: float = 1e-6
    per_call_us: bool = False  # report this workload's times in microseconds
    notes: tuple[str, ...] = field(default=())

    def inputs(self, size: str = "full", seed: int = SEED) -> tuple[np.ndarray, ...]:
        return self.make(np.random.default_rng(seed), self.dims[size])

    def compile(self, backend: str = "cpu") -> tx.Function:
        return tx.function(self.tx_fn, backend=backend)

    def describe(self, size: str) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims[size].items())


def bytes_moved(inputs: tuple[np.ndarray, ...], output: Any) -> int:
    """The minimum memory traffic of one call: every input read once, the output written once."""
    return int(sum(np.asarray(a).nbytes for a in inputs) + np.asarray(output).nbytes)


def _normal(rng: np.random.Generator, shape, dtype=np.float32, scale: float = 1.0) -> np.ndarray:
    x = rng.standard_normal(shape, dtype=np.float64) * scale
    x[x == 0] = 1.0  # never zero (standard_normal almost never gives 0; make it never)
    return x.astype(dtype)


# --- gelu (tanh form, x**3) --------------------------------------------------------------
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
    return (_normal(rng, d["n"], dtype),)


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
    return _normal(rng, (d["rows"], d["cols"])), _normal(rng, (d["rows"], d["cols"]))


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
    return (_normal(rng, (d["rows"], d["cols"])),)


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
    return (_normal(rng, (d["rows"], d["cols"])), _normal(rng, d["cols"]), _normal(rng, d["cols"]))


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
    return _normal(rng, d["n"]), _normal(rng, d["m"])


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
    return (_normal(rng, (n, k)), _normal(rng, (k, h), scale=1 / math.sqrt(k)), _normal(rng, h),
            _normal(rng, (h, m), scale=1 / math.sqrt(h)), _normal(rng, m))


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
