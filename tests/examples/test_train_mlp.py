"""examples/train_mlp.py (issue 17, item 5), a short run: 5 epochs of the digits MLP on the cpu
backend reach 95 % test accuracy with one trace of the training step, the loss falling."""

from __future__ import annotations

import importlib.util
import os

import pytest

pytest.importorskip("sklearn")

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "train_mlp.py")


def load_example():
    spec = importlib.util.spec_from_file_location("train_mlp", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_training_run_reaches_95_percent():
    result = load_example().train(epochs=5, backend="cpu", quiet=True)
    assert result["test_accuracy"] >= 0.95, result
    assert result["traces"] == 1
    losses = [row["loss"] for row in result["history"]]
    assert losses[-1] < 0.5 * losses[0], losses
