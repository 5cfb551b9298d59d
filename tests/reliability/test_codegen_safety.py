"""Issue #6 item 4: nothing the user controls reaches generated source except through validated
identifiers and exact numeric literals.

Hostile function names, argument and keyword names that shadow builtins, hostile dict keys,
and extreme constants: each computes NumPy's result, and the generated sources (`cf.kernels`,
the Numba executor source) hold none of the hostile text. The IR printer sanitizes function
names and its output parses back.
"""

import re

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends.numba.backend import executor_source
from tracefuse.ir import parse_graph

BACKENDS = ("numpy", "cpu", "gpu-sim")
HOSTILE = ["a); import os; os.system('x') #", "a\nimport os\nos.system('x')\n", "ünï😀code",
           "q'\"`\\", "__import__", "x*/ system(\"x\"); /*", "../../escape", "1abc", ""]
MARKERS = ("os.system", "import os", "__import__", "system(", "escape", "ünï", "😀")


def generated(cf) -> str:
    sources = list(cf.kernels)
    if cf.backend == "cpu":
        sources.append(executor_source(cf.lowered))
    return "\n".join(sources)


def check_ir(cf):
    for stage in ("traced", "fused"):
        text = cf.ir(stage, elide_constants=False)
        head = text.splitlines()[0]
        assert re.fullmatch(r"func @[A-Za-z0-9_.]+\(.*\{", head), head
        for marker in ("os.system(", "import os", "😀", "ünï", "/"):
            assert marker not in text
        parse_graph(text)


def body(x):
    return tx.exp(x) * 2.0 + 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_function_names(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACEFUSE_DUMP_DIR", str(tmp_path / "dump"))
    x = np.linspace(-1, 1, 5)
    expected = np.exp(x) * 2.0 + 1.0
    for name in HOSTILE:
        def fn(x):
            return body(x)

        fn.__name__ = fn.__qualname__ = name
        for f in (tx.function(fn, backend=backend), tx.function(body, backend=backend, name=name)):
            np.testing.assert_allclose(np.asarray(f(x)), expected, rtol=1e-12)
            cf = f.get_concrete_function(x)
            src = generated(cf)
            if name:
                assert name not in src
            for marker in MARKERS:
                assert marker not in src, (name, marker)
            check_ir(cf)
    # stage dumps (file names come from the function name) stay inside the dump folder
    root = tmp_path.resolve()
    for path in root.rglob("*"):
        assert path.resolve().is_relative_to(root / "dump"), path


def shadow(np, range, len, print, __builtins__):
    return np * range + len - print / __builtins__


@pytest.mark.parametrize("backend", BACKENDS)
def test_argument_names_shadowing_builtins_and_modules(backend):
    args = [np.arange(4.0) + i for i in range(1, 6)]
    f = tx.function(shadow, backend=backend)
    np.testing.assert_allclose(np.asarray(f(*args)), shadow(*args), rtol=1e-15)
    src = generated(f.get_concrete_function(*args))
    assert "__builtins__" not in src


def with_kwargs(x, **kwargs):
    total = x
    for v in kwargs.values():
        total = total + v
    return total


def with_dict(d):
    return {k: v * 2.0 for k, v in d.items()}


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_keyword_names_and_dict_keys(backend):
    keys = HOSTILE[:6]
    kwargs = {k: np.full(3, float(i)) for i, k in enumerate(keys, 1) if k.isidentifier() or True}
    f = tx.function(with_kwargs, backend=backend)
    out = f(np.ones(3), **kwargs)
    np.testing.assert_array_equal(np.asarray(out), np.full(3, 1.0 + sum(range(1, len(keys) + 1))))
    src = generated(f.get_concrete_function(np.ones(3), **kwargs))
    for marker in MARKERS:
        assert marker not in src
    g = tx.function(with_dict, backend=backend)
    d = {k: np.full(3, float(i)) for i, k in enumerate(keys)}
    out = g(d)
    assert list(out) == keys
    for i, k in enumerate(keys):
        np.testing.assert_array_equal(np.asarray(out[k]), np.full(3, 2.0 * i))
    src = generated(g.get_concrete_function(d))
    for marker in MARKERS:
        assert marker not in src


F64 = [1e308, -1e308, -0.0, float("nan"), float("inf"), -float("inf"), 5e-324, -5e-324,
       2.2250738585072014e-308, 0.1, 1 / 3, 2**63 - 1, -(2**63), 2**53 + 1]
F32 = [3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -0.0,
       float("nan"), float("inf"), 0.1, 1 / 3, 2**24 + 1]
I64 = [2**63 - 1, -(2**63), -1, 0]


def consts_fn(consts, strong):
    def fn(x):
        outs = []
        for c in consts:
            outs += [x + c, c * x, tx.where(x > 0, c, x), tx.full(x.shape, c) + x * 0]
        for c in strong:
            outs += [x + c, tx.where(x > 0, c, x)]
        return tuple(outs)
    return fn


def np_consts_fn(consts, strong):
    def fn(x):
        outs = []
        for c in consts:
            outs += [x + c, c * x, np.where(x > 0, np.asarray(c, x.dtype), x),
                     np.full(x.shape, c) + x * 0]
        for c in strong:
            outs += [x + c, np.where(x > 0, c, x)]
        return tuple(outs)
    return fn


CASES = {
    "float64": (F64, [np.float64(5e-324), np.float64(-0.0), np.array([1e308, -0.0, np.nan])]),
    "float32": (F32, [np.float32(3.4028235e38), np.float32(1e-45),
                      np.array([np.float32(-0.0), np.inf, 1e-45], np.float32)]),
    "int64": (I64, [np.int64(-(2**63)), np.array([2**63 - 1, -(2**63), 0], np.int64)]),
    "uint64": ([2**63 - 1, 0, 1], [np.uint64(2**64 - 1), np.array([2**64 - 1, 2**63, 0], np.uint64)]),
}


@pytest.mark.parametrize("backend", ("eager",) + BACKENDS)
@pytest.mark.parametrize("dtype", list(CASES))
def test_extreme_constants_are_exact(dtype, backend):
    consts, strong = CASES[dtype]
    x = np.array([0, 1, 2], dtype) if dtype[0] in "iu" else np.array([0.0, -0.0, 1.0], dtype)
    with np.errstate(all="ignore"):
        expected = np_consts_fn(consts, strong)(x)
        fn = consts_fn(consts, strong)
        got = fn(x) if backend == "eager" else tx.function(fn, backend=backend)(x)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        g = np.asarray(g)
        assert g.dtype == e.dtype and g.shape == e.shape, (i, g.dtype, e.dtype)
        np.testing.assert_array_equal(g, e, err_msg=f"output {i}")
        if e.dtype.kind == "f":
            ok = ~np.isnan(e)
            np.testing.assert_array_equal(np.signbit(g[ok]), np.signbit(e[ok]), err_msg=f"output {i}")
