"""Errors name the user's line, also when the call reached tracefuse through NumPy
(`np.sort(tracer)`, `np.sum(t, axis=5)`) or the standard library, and name the op once
(`matmul: inner dimensions`, not `matmul: matmul: ...`)."""

import contextlib
import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
THIS_FILE = os.path.basename(__file__)


def _line() -> int:
    return inspect.currentframe().f_back.f_lineno


def test_np_sort_of_a_tracer_names_the_users_line():
    lines = []

    @tx.function(backend="numpy")
    def f(x):
        lines.append(_line() + 1)
        return np.sort(x)

    with pytest.raises(tx.ConcretizationError) as info:
        f(np.arange(3.0))
    msg = str(info.value)
    assert f"{THIS_FILE}:{lines[0]}" in msg, msg
    assert "numpy" not in msg.split("(at ")[1].split(")")[0], msg


def test_np_function_on_a_tensor_names_the_users_line():
    with pytest.raises(tx.ShapeError) as info:
        line = _line() + 1
        np.sum(tx.ones((2, 3)), axis=5)
    assert f"{THIS_FILE}:{line}" in str(info.value)


def test_a_standard_library_frame_is_skipped_too():
    # contextlib's Python code calls tx.add on exit: the error names this file, not contextlib
    with pytest.raises(tx.ShapeError) as info:
        with contextlib.ExitStack() as stack:
            stack.callback(tx.add, tx.ones(2), tx.ones(3))
    msg = str(info.value)
    assert THIS_FILE in msg and "contextlib" not in msg, msg


def test_matmul_names_the_op_once():
    with pytest.raises(tx.ShapeError) as info:
        tx.ones((2, 3)) @ tx.ones((2, 3))
    msg = str(info.value)
    assert msg.startswith("matmul: inner dimensions differ") and "matmul: matmul" not in msg
    with pytest.raises(tx.ShapeError) as info:
        tx.matmul(tx.ones((2, 2, 3)), tx.ones((3, 3, 2)))
    assert str(info.value).count("matmul") == 1


def test_other_ops_still_get_their_prefix_once():
    with pytest.raises(tx.ShapeError) as info:
        tx.concat([tx.ones((2, 3)), tx.ones((2, 4))])
    assert str(info.value).startswith("concat: ") and "concat: concat" not in str(info.value)
    with pytest.raises(tx.ShapeError) as info:
        tx.add(tx.ones(2), tx.ones(3))
    assert str(info.value).startswith("add: ")
