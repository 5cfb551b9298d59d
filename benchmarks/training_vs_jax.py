"""Issue 17, item 6: one training step side by side with `jax.jit` + `optax.adam`, each library
in its own process.

    python benchmarks/training_vs_jax.py [--repeats 200] [--backend cpu]

Two models, float32, Adam (lr 1e-3, Keras / optax defaults but epsilon 1e-7 on both sides),
softmax cross-entropy with integer labels, mean over the batch:

- `digits`: the MLP of examples/train_mlp.py, 64-256-256-10, a batch of 64 (random data of the
  digits' shapes: the step's cost does not depend on the values);
- `mlp1024`: a 3-layer 1024-wide MLP, 1024-1024-1024-10, a batch of 256, random data.

tracefuse: the parameters are `tx.Variable`s, the step a `tx.function` holding a
`GradientTape`, the loss and `Adam.apply_gradients` (the update written back in place). JAX:
`jax.jit` of a pure step `(params, opt_state, x, y) -> (params, opt_state, loss)` with
`optax.adam`, the usual functional style (its outputs fed back in; `donate_argnums` on
params and state so XLA may update in place). Each side: warm-up calls, then `--repeats`
steps timed one by one (blocking on the loss), median and quartiles. jax and optax are not
dependencies of tracefuse: install them to run this.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

MODELS = {"digits": ([64, 256, 256, 10], 64), "mlp1024": ([1024, 1024, 1024, 10], 256)}


def data(sizes, batch, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        params += [(rng.standard_normal((m, n)) * np.sqrt(2.0 / m)).astype(np.float32),
                   np.zeros(n, np.float32)]
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int32)
    return params, x, y


def run_tracefuse(name: str, repeats: int, backend: str) -> list[float]:
    import tracefuse as tx

    sizes, batch = MODELS[name]
    params, x, y = data(sizes, batch)
    variables = [tx.Variable(p) for p in params]
    opt = tx.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7)

    def forward(x):
        h = x
        for i in range(0, len(variables), 2):
            h = h @ variables[i] + variables[i + 1]
            if i < len(variables) - 2:
                h = tx.nn.relu(h)
        return h

    def step(x, y):
        with tx.GradientTape() as tape:
            loss = tx.mean(tx.nn.sparse_softmax_cross_entropy(y, forward(x)))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    f = tx.function(step, backend=backend)
    for _ in range(10):
        float(f(x, y))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        float(f(x, y))
        times.append(time.perf_counter() - t)
    assert f.trace_count == 1
    return times


def run_jax(name: str, repeats: int) -> list[float]:
    import jax
    import jax.numpy as jnp
    import optax

    sizes, batch = MODELS[name]
    params, x, y = data(sizes, batch)
    params = [jnp.asarray(p) for p in params]
    opt = optax.adam(1e-3, eps=1e-7)
    state = opt.init(params)

    def loss_fn(params, x, y):
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = jax.nn.relu(h)
        return optax.softmax_cross_entropy_with_integer_labels(h, y).mean()

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    step = jax.jit(step.__wrapped__, donate_argnums=(0, 1))
    x, y = jnp.asarray(x), jnp.asarray(y)
    for _ in range(10):
        params, state, loss = step(params, state, x, y)
        loss.block_until_ready()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        params, state, loss = step(params, state, x, y)
        loss.block_until_ready()
        times.append(time.perf_counter() - t)
    return times


def child(which: str, name: str, repeats: int, backend: str) -> None:
    times = run_tracefuse(name, repeats, backend) if which == "tracefuse" else \
        run_jax(name, repeats)
    print(json.dumps(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.repeats, args.backend)
        return
    print(f"one training step, medians of {args.repeats} (quartiles); each side in its own "
          f"process; tracefuse backend {args.backend!r}")
    print("| model | tracefuse ms | jax.jit + optax ms | tracefuse vs jax |")
    print("|---|---|---|---|")
    for name in MODELS:
        result = {}
        for which in ("tracefuse", "jax"):
            out = subprocess.run([sys.executable, __file__, "--child", which, name,
                                  "--repeats", str(args.repeats), "--backend", args.backend],
                                 capture_output=True, text=True, check=True)
            result[which] = np.array(json.loads(out.stdout.strip().splitlines()[-1])) * 1e3
        tf, jx = result["tracefuse"], result["jax"]
        q = lambda a: f"{np.median(a):.3f} ({np.percentile(a, 25):.3f}-{np.percentile(a, 75):.3f})"
        print(f"| {name} | {q(tf)} | {q(jx)} | {np.median(jx) / np.median(tf):.2f}x |")


if __name__ == "__main__":
    main()
