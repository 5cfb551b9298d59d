"""The backend as an object chosen once: `tx.config.set_backend`, `with tx.config.backend(...)`,
`TRACEFUSE_BACKEND` (read once, again after `set_backend(None)`), `Function.backend`, and the
backend in the cache key (switching retraces, and explain says why)."""

import threading

import numpy as np
import pytest

import tracefuse as tx


@pytest.fixture(autouse=True)
def fresh_backend_choice(monkeypatch):
    """Every test starts from TRACEFUSE_BACKEND unset and no set_backend, and leaves none."""
    monkeypatch.delenv("TRACEFUSE_BACKEND", raising=False)
    tx.config.set_backend(None)
    yield
    tx.config.set_backend(None)


def test_function_backend_is_an_object_chosen_at_decoration():
    f = tx.function(lambda x: x + 1, backend="numpy")
    g = tx.function(lambda x: x * 2, backend="cpu")
    assert f.backend.name == "numpy" and f.backend.device == "cpu"
    assert f.backend.source_suffix == "" and g.backend.source_suffix == ".py"
    assert f.backend.unavailable() is None
    assert tx.function(lambda x: x, backend="numpy").backend is f.backend  # one object per name
    h = tx.function(lambda x: x - 1, backend=f.backend)  # an object is accepted as well
    assert h.backend is f.backend
    np.testing.assert_array_equal(h(np.ones(2)).numpy(), [0.0, 0.0])
    with tx.config.backend("cpu"):  # a Function with a backend of its own ignores the default
        assert f.backend.name == "numpy"
        f(np.ones(2))
    assert f.concrete_functions[0].backend == "numpy"
    with pytest.raises(TypeError, match="backend must be"):
        tx.function(lambda x: x, backend=3)


def test_default_is_cpu_and_functions_follow_it():
    f = tx.function(lambda x: x + 1)
    assert f.backend.name == "cpu" and tx.config.current_backend().name == "cpu"
    assert "backend=cpu" in repr(f)


def test_set_backend_overrides_the_environment_and_none_goes_back(monkeypatch):
    monkeypatch.setenv("TRACEFUSE_BACKEND", "gpu-sim")
    f = tx.function(lambda x: x + 1)
    assert f.backend.name == "gpu-sim"
    tx.config.set_backend("numpy")
    assert f.backend.name == "numpy" and tx.config.default_backend() == "numpy"
    f(np.ones(2))
    assert [cf.backend for cf in f.concrete_functions] == ["numpy"]
    monkeypatch.setenv("TRACEFUSE_BACKEND", "cpu")
    assert f.backend.name == "numpy"  # set_backend wins over the environment
    tx.config.set_backend(None)
    assert f.backend.name == "cpu"  # the environment, read again
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        tx.config.set_backend("tpu")
    assert f.backend.name == "cpu"


def test_environment_is_read_once(monkeypatch):
    monkeypatch.setenv("TRACEFUSE_BACKEND", "numpy")
    assert tx.config.current_backend().name == "numpy"
    monkeypatch.setenv("TRACEFUSE_BACKEND", "cpu")
    assert tx.config.current_backend().name == "numpy"  # not read on every call
    tx.config.set_backend(None)
    assert tx.config.current_backend().name == "cpu"
    monkeypatch.setenv("TRACEFUSE_BACKEND", "nonsense")
    tx.config.set_backend(None)
    with pytest.raises(ValueError, match="TRACEFUSE_BACKEND='nonsense' is not a backend"):
        tx.config.current_backend()


def test_with_block_nests_and_restores_on_exception():
    tx.config.set_backend("numpy")
    f = tx.function(lambda x: x * 3)
    with tx.config.backend("cpu") as chosen:
        assert chosen is f.backend and chosen.name == "cpu"
        with tx.config.backend("gpu-sim"):
            assert f.backend.name == "gpu-sim"
            with pytest.raises(RuntimeError, match="inside"), tx.config.backend("numpy"):
                assert f.backend.name == "numpy"
                raise RuntimeError("inside")
            assert f.backend.name == "gpu-sim"
        assert f.backend.name == "cpu"
    assert f.backend.name == "numpy"
    with pytest.raises(ValueError, match="unknown backend"), tx.config.backend("tpu"):
        pass
    assert f.backend.name == "numpy"


def test_with_block_is_per_thread():
    seen = {}

    def other():
        seen["other"] = tx.config.current_backend().name

    with tx.config.backend("numpy"):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        seen["here"] = tx.config.current_backend().name
    assert seen == {"here": "numpy", "other": "cpu"}


def test_switching_backends_retraces_and_explain_says_why():
    f = tx.function(lambda x: tx.exp(x) + 1)
    x = np.ones(3)
    with tx.config.backend("numpy"):
        f(x)
        f(x)
        assert f.trace_count == 1 and "cache hit" in f.explain(x)
    with tx.config.backend("cpu"):
        assert "backend: numpy -> cpu" in f.explain(x)
        np.testing.assert_allclose(f(x).numpy(), np.exp(x) + 1)
    assert f.trace_count == 2
    assert sorted(cf.backend for cf in f.concrete_functions) == ["cpu", "numpy"]
    with tx.config.backend("numpy"):
        f(x)
    assert f.trace_count == 2  # both stay cached
