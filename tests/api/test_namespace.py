"""The `tracefuse` namespace: `__all__` and `dir()` are the public API; a missing name says
whether the array API standard has it; `__array_namespace__` checks the version; a dtype
compares equal only to what names it, and comparing never raises."""

import types

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.frontend.standard import ARRAY_API_NAMES
from tracefuse.frontend import standard


def test_dir_is_all_and_every_name_resolves():
    assert dir(tx) == sorted(tx.__all__)
    assert len(set(tx.__all__)) == len(tx.__all__)
    for name in tx.__all__:
        value = getattr(tx, name)
        assert not isinstance(value, types.ModuleType) or name in (
            "config", "autograph", "random", "nn", "optimizers", "train", "linalg", "fft"), name
    for name in ("frontend", "compiler", "backends", "ir", "passes", "tracer", "errors",
                 "annotations", "bool_"):
        assert name not in dir(tx)


def test_every_frontend_function_is_public_except_getitem():
    import tracefuse.frontend as frontend

    assert set(frontend.__all__) - set(tx.__all__) == {"getitem"}
    for name in frontend.__all__:
        if name != "getitem":
            assert getattr(tx, name) is getattr(frontend, name), name


def test_internal_modules_stay_importable():
    from tracefuse.errors import ShapeError

    assert ShapeError is tx.ShapeError


def test_the_standard_names_are_the_standard():
    # NumPy 2 implements the 2023.12 main namespace: every name in the list is spelled right
    missing = [n for n in standard.ARRAY_API_NAMES if not hasattr(np, n)]
    assert missing == []
    names = standard.ARRAY_API_NAMES
    assert {"sort", "argsort", "unique_values", "take", "cumulative_sum"} <= names
    assert "concatenate" not in standard.ARRAY_API_NAMES


def test_a_standard_name_not_implemented_yet_says_so():
    from tracefuse.frontend.standard import missing_name_message

    msg = missing_name_message("tracefuse", "sort", ["sin"])  # as if tx lacked sort
    assert "tx.sort is part of the array API standard but not implemented in tracefuse yet" in msg
    assert ".numpy()" in msg and "numpy.sort" in msg
    missing = sorted(n for n in ARRAY_API_NAMES if not hasattr(tx, n))
    for name in missing:  # each one still missing says so
        with pytest.raises(AttributeError, match="part of the array API standard"):
            getattr(tx, name)


def test_a_numpy_spelling_names_the_standard_one():
    with pytest.raises(AttributeError, match="spells it tx.concat"):
        tx.concatenate  # noqa: B018


def test_an_unknown_name_suggests_close_ones():
    with pytest.raises(AttributeError) as info:
        tx.arcsinn  # noqa: B018
    msg = str(info.value)
    assert "no attribute 'arcsinn'" in msg and "'arcsinh'" in msg and "array API standard" not in \
        msg.split(";")[0]
    with pytest.raises(AttributeError) as info:
        tx.zzzqqq  # noqa: B018
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("version", [None, "2023.12"])
def test_array_namespace_of_a_supported_version(version):
    t = tx.ones(2)
    ns = t.__array_namespace__() if version is None else t.__array_namespace__(api_version=version)
    assert ns is tx


def test_array_namespace_of_an_unsupported_version_raises():
    t = tx.ones(2)
    for version in ("2021.12", "2022.12", "2099.01"):
        with pytest.raises(ValueError, match="2023.12"):
            t.__array_namespace__(api_version=version)


def test_array_namespace_of_a_tracer():
    seen = []

    @tx.function(backend="numpy")
    def f(x):
        seen.append(x.__array_namespace__(api_version="2023.12"))
        with pytest.raises(ValueError):
            x.__array_namespace__(api_version="2021.12")
        return x + 1

    f(np.ones(2))
    assert seen == [tx]


NOT_DTYPES = [{"a": 1}, None, [1], ["float64"], object(), 1, 1.5, "not a dtype", "f64", (),
              np.ones(3), tx.ones(2)]


@pytest.mark.parametrize("other", NOT_DTYPES, ids=lambda o: type(o).__name__ + repr(o)[:10])
def test_dtype_is_not_equal_to_what_is_not_a_dtype(other):
    assert (tx.float64 == other) is False
    assert (tx.float64 != other) is True
    if not isinstance(other, (np.ndarray, tx.Tensor)):  # arrays compare elementwise
        assert (other == tx.float64) is False
        assert (other != tx.float64) is True


@pytest.mark.parametrize("other", ["float64", np.float64, np.dtype("float64"), float, tx.float64])
def test_dtype_equals_what_names_it(other):
    assert tx.float64 == other
    assert not (tx.float64 != other)
    assert tx.float32 != other


def test_dtypes_in_containers():
    assert tx.float64 in [None, {"a": 1}, tx.float64]
    assert tx.float64 not in [None, {"a": 1}, 0]
    assert {tx.float32: 1}[tx.float32] == 1
