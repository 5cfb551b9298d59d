"""Train an MLP classifier on scikit-learn's handwritten digits with tracefuse.

    python examples/train_mlp.py [--epochs 30] [--backend cpu|gpu|numpy|gpu-sim] [--seed 0]

The data set ships inside scikit-learn (`sklearn.datasets.load_digits`: 1,797 8x8 images, no
download); 80 % trains, 20 % tests. The model is a 64-256-256-10 MLP whose parameters are
`tx.Variable`s initialized from `tx.random` (He-normal weights, zero biases). One training step
(a forward pass, the gradient from a `tx.GradientTape`, Adam's update of every parameter) is
one compiled `tx.function`: traced once, its Variables read and written in place at every call.
Each epoch shuffles the training set with a key folded from the epoch number and prints the
loss, the training accuracy and the steps per second; the last line is the test accuracy (95 %
or more: checked by tests/examples/test_train_mlp.py on a short run).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tracefuse as tx


def load_digits(seed: int):
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1] (float32), int32 labels."""
    from sklearn.datasets import load_digits as digits

    data = digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


class MLP:
    """Dense layers with relu between them; `params` the Variables, weights and biases."""

    def __init__(self, key, sizes: list[int]):
        self.params = []
        for i, (k, (m, n)) in enumerate(zip(tx.random.split(key, len(sizes) - 1),
                                            zip(sizes[:-1], sizes[1:]))):
            w = tx.random.normal(k, (m, n)) * np.float32(np.sqrt(2.0 / m))
            self.params += [tx.Variable(w, name=f"w{i}"),
                            tx.Variable(np.zeros(n, np.float32), name=f"b{i}")]

    def __call__(self, x):
        h = x
        last = len(self.params) - 2
        for i in range(0, len(self.params), 2):
            h = h @ self.params[i] + self.params[i + 1]
            if i < last:
                h = tx.nn.relu(h)
        return h


def train(epochs: int = 30, batch: int = 64, backend: str = "cpu", seed: int = 0,
          learning_rate: float = 2e-3, quiet: bool = False) -> dict:
    """Train and evaluate; returns the final numbers (the test reads them)."""
    x_train, y_train, x_test, y_test = load_digits(seed)
    key = tx.random.key(seed)
    model = MLP(tx.random.fold_in(key, 0), [64, 256, 256, 10])
    optimizer = tx.optimizers.Adam(learning_rate=learning_rate)

    def step(x, y):
        with tx.GradientTape() as tape:
            logits = model(x)
            loss = tx.mean(tx.nn.sparse_softmax_cross_entropy(y, logits))
        grads = tape.gradient(loss, model.params)
        optimizer.apply_gradients(zip(grads, model.params))
        correct = tx.sum(tx.astype(tx.argmax(logits, axis=-1) == y, tx.int32))
        return loss, correct

    def predict(x):
        return tx.argmax(model(x), axis=-1)

    train_step = tx.function(step, backend=backend)
    classify = tx.function(predict, backend=backend)
    steps = len(x_train) // batch  # whole batches only: one shape, one trace
    history = []
    for epoch in range(epochs):
        order = tx.random.permutation(tx.random.fold_in(key, epoch + 1), len(x_train)).numpy()
        start, losses, correct = time.perf_counter(), [], 0
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            loss, right = train_step(x_train[idx], y_train[idx])
            losses.append(float(loss))
            correct += int(right)
        seconds = time.perf_counter() - start
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)),
               "train_accuracy": correct / (steps * batch), "steps_per_s": steps / seconds}
        history.append(row)
        if not quiet:
            print(f"epoch {row['epoch']:3d}  loss {row['loss']:.4f}  "
                  f"train accuracy {row['train_accuracy']:.3f}  {row['steps_per_s']:8.0f} steps/s",
                  flush=True)
    accuracy = float(np.mean(classify(x_test).numpy() == y_test))
    if not quiet:
        print(f"test accuracy {accuracy:.4f} ({len(x_test)} images); train_step traced "
              f"{train_step.trace_count} time(s)")
    return {"test_accuracy": accuracy, "history": history, "traces": train_step.trace_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    args = parser.parse_args()
    train(args.epochs, args.batch, args.backend, args.seed, args.learning_rate)


if __name__ == "__main__":
    main()
