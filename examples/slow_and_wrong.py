"""The worked example of the user guide's chapter "When it is slow, when it is wrong".

    python examples/slow_and_wrong.py [--backend cpu] [--trace trace.json]

A 10-class classifier's loss on sensor readings: each row of 256 readings (around a baseline
between 500 and 1500) is standardized by its own mean and variance, a dense layer makes the
logits, and the loss is the mean softmax cross-entropy of the rows that have a label (-1: none).
The readings are stored in float16, as files of readings often are. Three versions:

- `loss_v1`, as first written: called on the labelled rows only (`x[labels >= 0]`), so each
  batch has another number of rows and traces again (`trace_count`, the `tx.RetraceWarning`,
  `f.explain` of a shorter batch). Its variance is `mean(x*x) - mean(x)**2`.
- `loss_v2`: every row, the unlabelled ones weighted 0: one shape, one trace. On float16 data
  its first kernel runs op by op through NumPy (`f.profile`'s "kernel (op by op)" row, the
  "run by NumPy (float16)" note of `f.explain`), and its loss is NaN (`x * x` overflows
  float16; `f.check` is ok: the reference gets NaN too). The fix of both: float32 data. Its
  variance still cancels when the readings sit far from zero: the loss differs from a float64
  NumPy reference, and `f.check` names the kernel and the lines.
- `loss_v3`: the variance as `tx.var` (the mean of squared deviations): `f.check` is ok, and
  the loss equals the reference within float32 rounding.

The script prints each step in that order, then the `tx.CheckError` that `TRACEFUSE_CHECK=1`
(here `tx.config.set_check_calls(True)`) raises for loss_v2. The guide's claims about it are
checked by tests/examples/test_slow_and_wrong_example.py.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import tracefuse as tx

FEATURES, CLASSES, BATCH = 256, 10, 512


def make_data(batches: int = 10, seed: int = 0) -> dict:
    """Readings around a per-row baseline in [500, 1500) with noise of 4, stored as float16;
    labels in [0, 10) with about one row in ten unlabelled (-1); the layer's w and b."""
    rng = np.random.default_rng(seed)
    rows = batches * BATCH
    baseline = rng.uniform(500, 1500, (rows, 1))
    x = (baseline + 4 * rng.standard_normal((rows, FEATURES))).astype(np.float16)
    labels = rng.integers(0, CLASSES, rows).astype(np.int32)
    labels[rng.random(rows) < 0.1] = -1
    w = (0.1 * rng.standard_normal((FEATURES, CLASSES))).astype(np.float32)
    b = (0.1 * rng.standard_normal(CLASSES)).astype(np.float32)
    return {"x": x, "labels": labels, "w": w, "b": b}


def batches_of(data: dict, x: np.ndarray | None = None):
    """(x, labels) of each batch of BATCH rows, in order."""
    x = data["x"] if x is None else x
    for start in range(0, len(x), BATCH):
        yield x[start:start + BATCH], data["labels"][start:start + BATCH]


def standardize_naive(x):
    mu = tx.mean(x, axis=-1, keepdims=True)
    var = tx.mean(x * x, axis=-1, keepdims=True) - mu * mu  # cancels when |mu| >> std
    return (x - mu) / tx.sqrt(var + 1e-5)


def standardize(x):
    mu = tx.mean(x, axis=-1, keepdims=True)
    var = tx.var(x, axis=-1, keepdims=True)  # the mean of (x - mu)**2: no cancellation
    return (x - mu) / tx.sqrt(var + 1e-5)


def masked_cross_entropy(logits, labels):
    """The mean cross-entropy of the labelled rows; a row labelled -1 weighs 0."""
    known = labels >= 0
    per_row = tx.nn.sparse_softmax_cross_entropy(tx.where(known, labels, 0), logits)
    weight = tx.astype(known, logits.dtype)
    return tx.sum(per_row * weight) / tx.sum(weight)


@tx.function
def loss_v1(x, w, b, labels):  # called on the labelled rows only
    logits = standardize_naive(x) @ w + b
    return tx.mean(tx.nn.sparse_softmax_cross_entropy(labels, logits))


@tx.function
def loss_v2(x, w, b, labels):  # every row; unlabelled rows weigh 0
    return masked_cross_entropy(standardize_naive(x) @ w + b, labels)


@tx.function
def loss_v3(x, w, b, labels):  # the variance without cancellation
    return masked_cross_entropy(standardize(x) @ w + b, labels)


def reference_loss(x, w, b, labels) -> float:
    """The loss in float64 with NumPy: what the compiled versions should give."""
    x, w, b = (np.asarray(a, np.float64) for a in (x, w, b))
    z = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
    logits = z @ w + b
    top = logits.max(axis=-1)
    lse = np.log(np.exp(logits - top[:, None]).sum(axis=-1)) + top
    known = labels >= 0
    picked = logits[np.arange(len(labels)), np.where(known, labels, 0)]
    return float(((lse - picked) * known).sum() / known.sum())


def epoch_v1(data: dict) -> dict:
    """One epoch of the first version, on the labelled rows of each batch: its time, the
    traces, the losses and the RetraceWarnings."""
    losses = []
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", tx.RetraceWarning)
        for x, labels in batches_of(data):
            keep = labels >= 0
            losses.append(float(loss_v1(x[keep], data["w"], data["b"], labels[keep])))
    return {"seconds": time.perf_counter() - start, "traces": loss_v1.trace_count,
            "calls": len(losses), "losses": losses,
            "warnings": [str(w.message) for w in caught
                         if issubclass(w.category, tx.RetraceWarning)]}


def explain_short_batch(data: dict, rows: int = 300) -> str:
    """What `loss_v1.explain` says of a shorter batch (the last one of a file, say)."""
    x, labels = data["x"][-BATCH:], data["labels"][-BATCH:]
    return loss_v1.explain(x[:rows], data["w"], data["b"], labels[:rows])


def epoch(fn, data: dict, x: np.ndarray) -> dict:
    """One epoch of a fixed-shape version on readings `x`: its time and the traces."""
    start = time.perf_counter()
    losses = [float(fn(xb, data["w"], data["b"], labels)) for xb, labels in batches_of(data, x)]
    return {"seconds": time.perf_counter() - start, "traces": fn.trace_count, "losses": losses}


def first_batch(data: dict, x: np.ndarray) -> tuple:
    """The arguments of a call on the first batch of readings `x`."""
    return x[:BATCH], data["w"], data["b"], data["labels"][:BATCH]


def check_mode_error(args: tuple) -> str | None:
    """What `TRACEFUSE_CHECK=1` raises for a call of loss_v2 (None: nothing raised)."""
    tx.config.set_check_calls(True)
    try:
        loss_v2(*args)
    except tx.CheckError as e:
        return str(e)
    finally:
        tx.config.set_check_calls(None)  # back to what TRACEFUSE_CHECK says
    return None


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--trace", default=None, help="write the float32 profile's Chrome "
                        "trace to this file (open it in ui.perfetto.dev)")
    args = parser.parse_args()
    data = make_data()
    x32 = data["x"].astype(np.float32)
    batch16, batch32 = first_batch(data, data["x"]), first_batch(data, x32)
    with tx.config.backend(args.backend):
        section("slow: loss_v1 on the labelled rows of each batch (float16 data)")
        v1 = epoch_v1(data)
        print(f"{v1['calls']} batches in {v1['seconds']:.3f} s; loss_v1 traced "
              f"{v1['traces']} times; losses {v1['losses'][:2]}...")
        for message in v1["warnings"]:
            print(f"RetraceWarning: {message}")
        print(explain_short_batch(data))

        section("loss_v2: every row, unlabelled rows weigh 0 (float16 data)")
        epoch(loss_v2, data, data["x"])  # the first epoch traces and compiles
        v2 = epoch(loss_v2, data, data["x"])
        print(f"{len(v2['losses'])} batches in {v2['seconds']:.3f} s; loss_v2 traced "
              f"{v2['traces']} time(s); losses {v2['losses'][:2]}...")
        print(loss_v2.profile(*batch16, repeat=20))
        print("\n".join(line for line in loss_v2.explain(*batch16).splitlines()
                        if "float16" in line))
        print(loss_v2.check(*batch16))

        section("the fix: float32 data")
        profile = loss_v2.profile(*batch32, repeat=20)
        print(profile)
        if args.trace:
            profile.save_chrome_trace(args.trace)
            print(f"Chrome trace: {args.trace} (open it in ui.perfetto.dev)")
        epoch(loss_v2, data, x32)  # traces for float32 and compiles
        v2 = epoch(loss_v2, data, x32)
        print(f"{len(v2['losses'])} batches in {v2['seconds']:.4f} s; loss_v2 traced "
              f"{v2['traces']} times in all (float16 and float32); losses {v2['losses'][:2]}...")

        section("wrong: loss_v2 against a float64 reference")
        print(f"reference {reference_loss(*batch32):.7f}  loss_v2 {float(loss_v2(*batch32)):.7f}"
              f"  loss_v3 {float(loss_v3(*batch32)):.7f}")
        batch64 = (batch32[0].astype(np.float64),) + batch32[1:]
        print(f"loss_v2 on float64 readings {float(loss_v2(*batch64)):.7f}")
        print(loss_v2.check(*batch32))
        print(loss_v3.check(*batch32))

        section("TRACEFUSE_CHECK=1: the same call of loss_v2 raises tx.CheckError")
        print(check_mode_error(batch32))


if __name__ == "__main__":
    main()
