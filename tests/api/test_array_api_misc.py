"""Small parts of the array API standard that the conformance suite found missing or wrong
(issue 18): `__array_namespace_info__()`, `finfo` / `iinfo` of Python numbers, `__dlpack__` on
read-only memory with the 2023.12 keywords, `__dlpack_device__`, `from_dlpack`, `to_device`
and `.device` (eagerly and traced), and the compiled namespace the conformance script runs
(tracefuse/tools/compiled_namespace.py). NumPy is the oracle throughout."""

import inspect

import numpy as np
import pytest
from oracle import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, MODES, assert_same, check, layouts, rand

import tracefuse as tx
from tracefuse.tools import compiled_namespace as cx

# the standard's dtypes, with NumPy's classification of each kind (the oracle for `dtypes`)
STANDARD = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
            "float32", "float64", "complex64", "complex128")
NP_KINDS = {
    "bool": lambda d: d == np.bool_,
    "signed integer": lambda d: np.issubdtype(d, np.signedinteger),
    "unsigned integer": lambda d: np.issubdtype(d, np.unsignedinteger),
    "integral": lambda d: np.issubdtype(d, np.integer),
    "real floating": lambda d: np.issubdtype(d, np.floating),
    "complex floating": lambda d: np.issubdtype(d, np.complexfloating),
    "numeric": lambda d: np.issubdtype(d, np.number),
}
HAVE = tuple(n for n in STANDARD if hasattr(tx, n))
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 0, 3)]


def info():
    return tx.__array_namespace_info__()


# --- __array_namespace_info__ ----------------------------------------------------------------
def test_info_devices_and_default_device():
    devices = info().devices()
    assert isinstance(devices, list) and devices[0] == "cpu"
    assert set(devices) <= {"cpu", "gpu"}
    assert info().default_device() == "cpu" == tx.zeros(2).device
    try:
        import cupy
        gpu = bool(cupy.cuda.is_available())
    except Exception:  # noqa: BLE001 - no CuPy, or no driver
        gpu = False
    assert ("gpu" in devices) == gpu


def test_info_default_dtypes_are_what_creation_gives():
    dd = info().default_dtypes()
    assert dd == info().default_dtypes(device="cpu")
    assert dd["real floating"] == tx.asarray(1.0).dtype == np.asarray(1.0).dtype
    assert dd["integral"] == tx.asarray(1).dtype == tx.arange(3).dtype == np.asarray(1).dtype
    assert dd["indexing"] == tx.argmax(tx.asarray([1.0, 3.0])).dtype == np.intp
    if hasattr(tx, "complex128"):
        assert dd["complex floating"] == tx.asarray(1j).dtype == tx.complex128
    else:
        assert "complex floating" not in dd  # said only once tracefuse has complex dtypes
    assert all(isinstance(d, tx.DType) for d in dd.values())


def test_info_dtypes_all():
    got = info().dtypes()
    assert list(got) == list(HAVE)  # the standard's order, tracefuse's dtypes only
    assert "float16" not in got  # an extra of tracefuse's, not a dtype of the standard
    for name, d in got.items():
        assert d is getattr(tx, name)
        assert d == np.dtype(name)


@pytest.mark.parametrize("kind", list(NP_KINDS))
def test_info_dtypes_of_each_kind_as_numpy_classifies_them(kind):
    got = info().dtypes(kind=kind)
    expected = [n for n in HAVE if NP_KINDS[kind](np.dtype(n))]
    assert list(got) == expected
    assert got == info().dtypes(kind=kind, device="cpu")
    if kind not in ("complex floating",) or hasattr(tx, "complex64"):
        assert got, f"no dtype of kind {kind!r}"


@pytest.mark.parametrize("kinds", [("bool", "real floating"),
                                   ("signed integer", "unsigned integer"),
                                   ("complex floating", "bool"), ("numeric",)])
def test_info_dtypes_of_a_tuple_of_kinds_is_the_union(kinds):
    expected = [n for n in HAVE if any(NP_KINDS[k](np.dtype(n)) for k in kinds)]
    assert list(info().dtypes(kind=kinds)) == expected
    assert all(tx.isdtype(d, kinds) for d in info().dtypes(kind=kinds).values())


@pytest.mark.parametrize("call", [lambda i: i.dtypes(kind="floating"),
                                  lambda i: i.dtypes(kind=("bool", "float")),
                                  lambda i: i.dtypes(device="tpu"),
                                  lambda i: i.default_dtypes(device="tpu")])
def test_info_refuses_unknown_kinds_and_devices(call):
    with pytest.raises(ValueError, match="kind|device"):
        call(info())


def test_info_gpu_device_only_where_there_is_one():
    if "gpu" in info().devices():
        assert info().dtypes(device="gpu") == info().dtypes()
    else:
        with pytest.raises(ValueError, match="not available"):
            info().dtypes(device="gpu")


def test_info_capabilities_say_the_truth():
    caps = info().capabilities()
    assert set(caps) >= {"boolean indexing", "data-dependent shapes"}
    assert all(type(v) is bool for v in caps.values())
    x_np = np.array([4.0, -1.0, 2.5, 0.0])
    mask = x_np > 0
    x = tx.asarray(x_np)
    if caps["boolean indexing"]:
        assert_same(x[tx.asarray(mask)], x_np[mask], what="x[mask]")
    else:
        with pytest.raises(Exception):  # noqa: B017 - whatever it raises, it does not work
            x[tx.asarray(mask)]
    if caps["data-dependent shapes"]:
        assert_same(tx.nonzero(x)[0], np.nonzero(x_np)[0], what="nonzero")
        assert_same(tx.unique_values(x), np.unique(x_np), what="unique_values")
    else:
        assert not (hasattr(tx, "nonzero") and hasattr(tx, "unique_values")) or _raises(
            lambda: (tx.nonzero(x), tx.unique_values(x)))


def _raises(fn) -> bool:
    try:
        fn()
    except Exception:  # noqa: BLE001
        return True
    return False


def test_info_works_inside_a_trace_and_adds_no_op(rng):
    x = rand(rng, (5,), "float32")

    def f(a):
        caps = tx.__array_namespace_info__().capabilities()
        return a * 2.0 if caps is not None else a

    g = tx.function(f, backend="numpy")
    assert_same(g(x), x * np.float32(2), what="traced")
    traced = g.get_concrete_function(x).ir("traced")
    ops = [line for line in traced.splitlines() if " = " in line]
    assert len(ops) == 2 and all("test_array_api_misc.py" in op for op in ops), traced


# --- finfo / iinfo -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + ("float16",))
def test_finfo_fields_are_python_numbers_equal_to_numpy(dtype):
    ref = np.finfo(np.dtype(dtype))
    for arg in (getattr(tx, dtype), np.dtype(dtype), tx.ones(2, dtype=dtype),
                np.ones((), dtype)):
        got = tx.finfo(arg)
        assert type(got.bits) is int and got.bits == ref.bits
        for field in ("eps", "max", "min", "smallest_normal"):
            value = getattr(got, field)
            assert type(value) is float, f"finfo({dtype}).{field} is {type(value).__name__}"
            assert value == float(getattr(ref, field))
        assert got.dtype is getattr(tx, dtype)
        assert got.tiny == got.smallest_normal  # NumPy's name too


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_iinfo_fields_are_python_ints_equal_to_numpy(dtype):
    ref = np.iinfo(np.dtype(dtype))
    for arg in (getattr(tx, dtype), tx.ones(2, dtype=dtype)):
        got = tx.iinfo(arg)
        for field in ("bits", "max", "min"):
            value = getattr(got, field)
            assert type(value) is int and value == int(getattr(ref, field))
        assert got.dtype is getattr(tx, dtype)


@pytest.mark.skipif(not hasattr(tx, "complex64"), reason="no complex dtypes in tracefuse yet")
@pytest.mark.parametrize("name,real", [("complex64", "float32"), ("complex128", "float64")])
def test_finfo_of_complex_describes_its_real_part(name, real):
    got = tx.finfo(getattr(tx, name))
    assert got.dtype is getattr(tx, real)
    assert got.eps == float(np.finfo(np.dtype(name)).eps)


@pytest.mark.parametrize("call", [lambda: tx.finfo(tx.int32), lambda: tx.finfo(tx.bool),
                                  lambda: tx.iinfo(tx.float32), lambda: tx.iinfo(tx.bool)])
def test_finfo_and_iinfo_refuse_the_other_kind(call):
    with pytest.raises(TypeError, match="finfo|iinfo"):
        call()


# --- DLPack --------------------------------------------------------------------------------------
class Exporter:
    """Has __dlpack__ (with fixed keywords) and __dlpack_device__ and nothing else: how a
    consumer sees a producer it does not know (no torch needed)."""

    def __init__(self, x, **kwargs):
        self.x, self.kwargs = x, kwargs

    def __dlpack__(self, **_):
        return self.x.__dlpack__(**self.kwargs)

    def __dlpack_device__(self):
        return self.x.__dlpack_device__()


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("max_version", [None, (0, 0), (1, 0), (2, 0)])
@pytest.mark.parametrize("copy", [None, True, False])
def test_dunder_dlpack_exports_read_only_tensors(rng, dtype, max_version, copy):
    for base in layouts(rand(rng, (3, 4), dtype)):
        t = tx.asarray(base)
        kwargs = {"max_version": max_version, "copy": copy, "dl_device": (1, 0)}
        got = np.from_dlpack(Exporter(t, **kwargs))
        np.testing.assert_array_equal(got, base, strict=True)
        shared = np.shares_memory(got, np.asarray(t))
        if copy is True or (copy is None and max_version in (None, (0, 0))):
            assert not shared  # a copy: what the old format can carry of read-only memory
        else:
            assert shared


@pytest.mark.parametrize("shape", SHAPES)
def test_dlpack_round_trip_of_every_shape(rng, shape):
    a = rand(rng, shape, "float64", special=True)
    t = tx.asarray(a)
    np.testing.assert_array_equal(np.from_dlpack(t), a, strict=True)
    assert_same(tx.from_dlpack(t), a, what="from_dlpack(Tensor)")
    assert_same(tx.from_dlpack(a), a, what="from_dlpack(ndarray)")


def test_dunder_dlpack_device_and_stream():
    t = tx.asarray([1.0, 2.0])
    device = t.__dlpack_device__()
    assert device == (1, 0) and all(type(v) is int for v in device)  # kDLCPU, device 0
    assert t.__dlpack__(stream=None) is not None
    with pytest.raises((RuntimeError, ValueError, BufferError)):
        t.__dlpack__(stream=1)  # host memory: the standard says stream must be None
    with pytest.raises(BufferError):
        t.__dlpack__(dl_device=(2, 0), copy=False)  # no CUDA memory to give


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_from_dlpack_of_numpy_copies_what_others_may_write(rng, dtype):
    for base in layouts(rand(rng, (4, 3), dtype)):
        source = base.copy()
        t = tx.from_dlpack(source)
        assert_same(t, base, what="from_dlpack")
        source[...] = source[::-1]  # the producer writes: a Tensor is a value
        assert_same(t, base, what="after the producer wrote")
        assert t.device == "cpu"


def test_from_dlpack_shares_read_only_memory_and_copies_when_asked(rng):
    a = rand(rng, (6,), "float32")
    a.flags.writeable = False
    assert np.shares_memory(np.asarray(tx.from_dlpack(a)), a)
    assert np.shares_memory(np.asarray(tx.from_dlpack(a, copy=False)), a)
    assert not np.shares_memory(np.asarray(tx.from_dlpack(a, copy=True)), a)
    t = tx.asarray(a)
    assert tx.from_dlpack(t) is t
    copied = tx.from_dlpack(t, copy=True)
    assert_same(copied, a) and not np.shares_memory(np.asarray(copied), a)


def test_from_dlpack_of_an_object_it_does_not_know(rng):
    a = rand(rng, (2, 3), "int16")
    assert_same(tx.from_dlpack(Exporter(a, max_version=(1, 0))), a)
    assert_same(tx.from_dlpack(Exporter(tx.asarray(a), max_version=(1, 0))), a)
    with pytest.raises(TypeError, match="no __dlpack__.*tx.asarray"):
        tx.from_dlpack([1, 2, 3])


def test_from_dlpack_refusals():
    with pytest.raises(ValueError, match="writable"):
        tx.from_dlpack(np.arange(3.0), copy=False)  # would let the producer change a Tensor
    with pytest.raises(ValueError, match="unknown device"):
        tx.from_dlpack(np.arange(3.0), device="tpu")
    if "gpu" not in info().devices():
        with pytest.raises(tx.BackendUnavailableError):
            tx.from_dlpack(np.arange(3.0), device="gpu")


@pytest.mark.parametrize("mode", MODES + ("cpu",))
def test_from_dlpack_inside_a_function(rng, mode):
    a = rand(rng, (3, 5), "float32")
    check(lambda x: tx.from_dlpack(x) * 2.0, lambda x: x * np.float32(2), a, modes=(mode,))


# --- to_device and .device -------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES + ("cpu",))
def test_to_device_the_same_device_everywhere(rng, mode):
    a = rand(rng, (4, 3), "float64", special=True)
    check(lambda x: tx.asarray(x).to_device(x.device) + 1.0,
          lambda x: x + 1.0, a, modes=(mode,))
    check(lambda x: tx.asarray(x).to_device("cpu") * 2.0, lambda x: x * 2.0, a, modes=(mode,))


def test_to_device_eagerly():
    t = tx.asarray([1.5, -0.0, np.nan])
    assert t.device == "cpu" and t.to_device("cpu") is t and t.to_device(t.device) is t
    assert inspect.signature(tx.Tensor.to_device).parameters["stream"].kind == \
        inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(ValueError, match="stream"):
        t.to_device("cpu", stream=1)
    with pytest.raises(ValueError, match="unknown device"):
        t.to_device("tpu")
    if "gpu" not in info().devices():
        with pytest.raises(tx.BackendUnavailableError):
            t.to_device("gpu")


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_to_device_of_a_traced_value_to_another_device_names_the_line(rng, backend):
    a = rand(rng, (3,), "float32")

    def f(x):
        return x.to_device("gpu") + 1.0  # the line the error names

    line = inspect.getsourcelines(f)[1] + 1
    with pytest.raises(ValueError, match=rf"to_device\('gpu'\).*test_array_api_misc.py:{line}"):
        tx.function(f, backend=backend)(a)

    def g(x):
        assert x.device == "cpu"
        return x.to_device("cpu", stream=0)

    with pytest.raises(ValueError, match="stream"):
        tx.function(g, backend=backend)(a)


# --- the compiled namespace (tracefuse/tools/compiled_namespace.py) --------------------------
def test_compiled_namespace_has_what_tracefuse_has():
    assert cx.__all__ == tx.__all__
    for name in tx.__all__:
        assert hasattr(cx, name), name
    for name in ("float32", "bool", "pi", "nan", "__array_api_version__", "Tensor", "finfo",
                 "__array_namespace_info__", "from_dlpack", "random", "nn"):
        assert getattr(cx, name) is getattr(tx, name)  # passed through
    assert cx.sum is not tx.sum and cx.sum.__wrapped__ is tx.sum
    assert inspect.signature(cx.sum) == inspect.signature(tx.sum)


def test_compiled_namespace_compiles_with_non_array_arguments_static(rng):
    a = rand(rng, (2, 3, 4), "float32")
    b = rand(rng, (2, 3, 4), "float32")
    assert_same(cx.sum(tx.asarray(a), axis=(0, 2), keepdims=True),
                np.sum(a, axis=(0, 2), keepdims=True), what="sum")
    assert_same(cx.reshape(a, [4, -1]), a.reshape(4, -1), what="reshape with a list")
    assert_same(cx.concat([a, b], axis=-1), np.concatenate([a, b], axis=-1), what="concat")
    assert_same(cx.add(a, 2.5), a + np.float32(2.5), what="add a Python float")
    assert_same(cx.full((2, 2), 7, dtype=tx.int16), np.full((2, 2), 7, np.int16), what="full")
    assert_same(cx.asarray([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]), what="nested list")
    made = cx.sum.compiled_by  # one tx.function per set of array arguments, on the cpu backend
    assert list(made) == [("x",)]
    assert all(f.backend.name == "cpu" for f in made.values())
    with pytest.raises((IndexError, ValueError), match="axis -5"):  # the user's error, as eagerly
        cx.expand_dims(a, axis=-5)


def test_compiled_namespace_wraps_linalg_and_fft_and_runs_value_dependent_functions_eagerly(rng):
    a = rand(rng, (3, 3), "float64") + 8 * np.eye(3)
    assert_same(cx.linalg.inv(a), np.linalg.inv(a), rtol=1e-12, what="linalg.inv")
    assert list(cx.linalg.inv.compiled_by) == [("x",)] and cx.linalg.inv is not tx.linalg.inv
    assert_same(cx.fft.fftshift(a), np.fft.fftshift(a), what="fft.fftshift")
    x = np.array([0, 3, 0, 1])
    assert_same(cx.nonzero(x)[0], np.nonzero(x)[0], what="nonzero, eagerly")
    assert_same(cx.repeat(x, np.array([1, 0, 2, 1])), np.repeat(x, [1, 0, 2, 1]), what="repeat")
    assert not cx.nonzero.compiled_by and not cx.repeat.compiled_by
    assert_same(cx.repeat(x, 2), np.repeat(x, 2), what="repeat by an int: compiled")
    assert list(cx.repeat.compiled_by) == [("x",)]


def test_compiled_namespace_keeps_the_sign_of_static_zeros():
    for value in (0.0, -0.0, [0.0, -0.0], [-0.0, 0.0]):
        assert_same(cx.asarray(value), np.asarray(value), what=f"asarray({value})")
        assert_same(cx.full((2,), value if isinstance(value, float) else value[0]),
                    np.full((2,), value if isinstance(value, float) else value[0]), what="full")


def test_static_negative_zero_gets_its_own_trace():
    f = tx.function(lambda v: tx.asarray(v), static_argnames=("v",), backend="numpy")
    assert_same(f(0.0), np.asarray(0.0))
    assert_same(f(-0.0), np.asarray(-0.0), what="static -0.0 after 0.0")
    assert f.trace_count == 2
    nan = float("nan")
    assert np.isnan(f(nan).numpy()) and np.isnan(f(float("nan")).numpy())
    assert f.trace_count == 3  # one trace for NaN, found again for another NaN object
    assert np.signbit(f(-nan).numpy()) and f.trace_count == 4  # -NaN keeps its sign
    z = f(complex(-0.0, 0.0)).numpy()  # after 0.0 and -0.0: a complex gets its own trace
    assert np.signbit(z.real) and not np.signbit(z.imag) and f.trace_count == 5
    z = f(complex(0.0, 0.0)).numpy()
    assert not np.signbit(z.real) and f.trace_count == 6
    g = tx.function(lambda v: tx.asarray(v), static_argnames=("v",), backend="numpy")
    assert_same(g((0.0, -0.0)), np.asarray([0.0, -0.0]))
    assert_same(g((-0.0, 0.0)), np.asarray([-0.0, 0.0]), what="a tuple of signed zeros")
    assert type(f.get_concrete_function(-0.0).signature) is str
