"""The NaN that a function gives outside its domain (`log(-2.5)`, `acosh(0.5)` ...) carries
the sign bit NumPy's gives, eagerly and compiled on the CPU (Numba, through vmath).

That sign is not IEEE's to say and differs between NumPy's loops (by dtype and by machine), and
the oracle (tests/oracle.py) checks only that a NaN is a NaN, so this test compares
`np.signbit` with NumPy's result on the same inputs, here.
"""

import warnings

import numpy as np
import pytest

import tracefuse as tx

# function -> inputs outside its domain (both sides where there are two)
OUT_OF_DOMAIN = {
    "log": [-2.5, -1.0, -1e-3, -np.inf],
    "log2": [-2.5, -1.0, -np.inf],
    "log10": [-2.5, -1.0, -np.inf],
    "log1p": [-2.5, -1.5, -np.inf],
    "sqrt": [-2.5, -1e-3, -np.inf],
    "acosh": [0.5, -2.5, 0.0, -np.inf],
    "atanh": [-2.5, 2.5, -np.inf, np.inf],
    "asin": [-2.5, 2.5, np.inf],
    "acos": [-2.5, 2.5, -np.inf],
}
NUMPY_NAME = {"acosh": "arccosh", "atanh": "arctanh", "asin": "arcsin", "acos": "arccos"}
MODES = ("eager", "numpy", "cpu")


def _inputs(dtype):
    return {name: np.array(values, dtype=dtype) for name, values in OUT_OF_DOMAIN.items()}


def _numpy(name, x):
    with np.errstate(invalid="ignore"):
        return getattr(np, NUMPY_NAME.get(name, name))(x)


@pytest.fixture(scope="module")
def compiled():
    """One compiled function per backend computing every function (one trace, one compile)."""
    def every(xs):
        return {name: getattr(tx, name)(x) for name, x in xs.items()}

    return {b: tx.function(every, backend=b) for b in MODES[1:]}


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("size", [1, 64], ids=lambda n: f"n{n}")
@pytest.mark.parametrize("mode", MODES)
def test_out_of_domain_nan_has_numpys_sign(mode, size, dtype, compiled):
    xs = {name: np.resize(x, size) for name, x in _inputs(dtype).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if mode == "eager":
            got = {name: getattr(tx, name)(tx.asarray(x)) for name, x in xs.items()}
        else:
            got = compiled[mode](xs)
    for name, x in xs.items():
        expected, out = _numpy(name, x), got[name].numpy()
        assert np.isnan(expected).all() and np.isnan(out).all(), name
        assert out.dtype == expected.dtype, name
        np.testing.assert_array_equal(np.signbit(out), np.signbit(expected),
                                      err_msg=f"{name}({x.tolist()}) on {mode}, {dtype}")


def test_the_issues_example():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.signbit(np.log(np.float64(-2.5)))
        assert np.signbit(tx.log(-2.5).numpy()) == expected
        f = tx.function(lambda x: tx.log(x), backend="cpu")
        assert np.signbit(f(np.float64(-2.5)).numpy()) == expected
