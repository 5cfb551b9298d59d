"""The fake CuPy's `cupyx`: the scatter functions tracefuse's scatter library calls use
(`cupyx.scatter_add`, `scatter_max`, `scatter_min`: in place into a device array, repeated
indices accumulating), NumPy's `ufunc.at` behind them."""

from __future__ import annotations

import numpy as np

import cupy


def _host(v):
    if isinstance(v, tuple):
        return tuple(_host(x) for x in v)
    return v._a if isinstance(v, cupy.ndarray) else v


def _scatter(ufunc):
    def scatter(a, slices, value):
        if not isinstance(a, cupy.ndarray):
            raise TypeError("fake cupyx: the target must be a device array")
        ufunc.at(a._a, _host(slices), _host(value))
    return scatter


scatter_add = _scatter(np.add)
scatter_max = _scatter(np.maximum)
scatter_min = _scatter(np.minimum)
