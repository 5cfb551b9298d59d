"""Dask arrays outside the compiled call: an eager op refuses one (NumPy's conversion would
compute the whole array into memory, silently) and says to use a tx.function; with
`TRACEFUSE_CHECK=1` a call with dask arrays runs as usual and each chunk function is checked
where it runs, a broken kernel raising `tx.CheckError` when Dask computes the chunk."""

from __future__ import annotations

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.compiler import check as check_module
from tracefuse.ir import OpCode

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")


def test_an_eager_op_refuses_a_dask_array_and_says_what_to_do(rand):
    x = da.from_array(rand(6, 4), chunks=(3, 4))
    with pytest.raises(TypeError, match=r"dask array.*@tx.function.*test_dask_modes.py"):
        tx.exp(x)
    with pytest.raises(TypeError, match="dask array"):
        tx.ones((6, 4)) * x


def test_check_mode_checks_each_chunk_function(monkeypatch, rand):
    xn = rand(12, 5)
    x = da.from_array(xn, chunks=(4, 5))
    f = tx.function(lambda x: tx.exp(x) * 2 + 1, backend="numpy")
    monkeypatch.setenv("TRACEFUSE_CHECK", "1")
    tx.config.set_check_calls(None)  # read the environment again
    try:
        y = f(x)
        assert isinstance(y, da.Array)
        np.testing.assert_allclose(y.compute(), np.exp(xn) * 2 + 1, rtol=1e-6)

        def perturb(op, outs):
            if op.code is not OpCode.KERNEL:
                return outs
            return [o + 1 for o in outs]
        monkeypatch.setattr(check_module, "perturb_outputs", perturb)
        with pytest.raises(tx.CheckError, match="kernel @"):
            f(x).compute()
    finally:
        monkeypatch.delenv("TRACEFUSE_CHECK")
        tx.config.set_check_calls(None)
