"""tx.fft against NumPy's numpy.fft: eager and compiled on every backend under test, the cpu
(Numba) backend too. The transforms (complex results) need the complex dtypes and skip
without them; `fftfreq`, `rfftfreq`, `fftshift` and `ifftshift` (real results) run always.

Covered: every transform with `n` / `s` smaller and larger than the axis, `-1` in `s`, negative
axes, every `norm`, float32 / float64 / complex64 / complex128 / integer input (result dtypes
as NumPy 2 and the standard), empty arrays (an empty batch, an empty axis padded by `n`), n-d
transforms over no axes, NaN and inf, errors naming the user's line, the IR text round trip and
elementwise work fusing around a call. FFT values are compared relative to the largest
magnitude of the result (the rounding of an FFT is that of its sums, not elementwise).
"""

import numpy as np
import oracle
import pytest

import tracefuse as tx

MODES = oracle.MODES + (() if "cpu" in oracle.MODES else ("cpu",))
HAS_COMPLEX = hasattr(tx, "complex64")
needs_complex = pytest.mark.skipif(not HAS_COMPLEX, reason="tx has no complex dtypes yet")
NORMS = ("backward", "ortho", "forward")


# --- helpers ----------------------------------------------------------------------------------
def _tol(dtype: np.dtype) -> float:
    return 1e-12 if np.dtype(dtype) in (np.float64, np.complex128) else 3e-6


def assert_fft(got, want, what=""):
    """`got` (a Tensor) has NumPy's dtype and shape and its values to the dtype's precision of
    the largest magnitude; NaN where NumPy has NaN."""
    assert isinstance(got, tx.Tensor), what
    g, want = got.numpy(), np.asarray(want)
    assert (g.dtype, g.shape) == (want.dtype, want.shape), \
        f"{what}: {g.dtype}{g.shape} != NumPy's {want.dtype}{want.shape}"
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(g), nan, err_msg=f"{what}: NaN positions")
    scale = float(np.max(np.abs(want[~nan]))) if (~nan).any() else 0.0
    np.testing.assert_allclose(g[~nan], want[~nan], rtol=0,
                               atol=_tol(want.dtype) * max(scale, 1.0), err_msg=what)


def check_fft(tx_fn, np_fn, x, modes=MODES):
    want = np_fn(np.array(x, copy=True))
    for mode in modes:
        assert_fft(oracle.run(mode, tx_fn, x), want, f"{mode}")


def both(name, **kw):
    """tx.fft.<name> and numpy.fft.<name>, with the same keywords."""
    return (lambda a: getattr(tx.fft, name)(a, **kw)), (lambda a: getattr(np.fft, name)(a, **kw))


def crand(rng, shape, dtype):
    """Random values of `dtype`, complex ones with both parts random."""
    d = np.dtype(dtype)
    if d.kind != "c":
        return oracle.rand(rng, shape, dtype, low=-2, high=2)
    part = np.float32 if d == np.complex64 else np.float64
    re = rng.uniform(-2, 2, shape).astype(part)
    return (re + 1j * rng.uniform(-2, 2, shape).astype(part)).astype(d)


# --- frequencies (real results: no complex needed) -------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5, 8])
@pytest.mark.parametrize("d", [1.0, 0.25, -3.0])
@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
def test_fftfreq_and_rfftfreq_match_numpy(n, d, dtype):
    for tx_fn, np_fn in ((tx.fft.fftfreq, np.fft.fftfreq), (tx.fft.rfftfreq, np.fft.rfftfreq)):
        want = np_fn(n, d)
        want = want if dtype is None else want.astype(dtype)
        kw = {} if dtype is None else {"dtype": getattr(tx, dtype)}
        got = tx_fn(n, d=d, **kw)
        oracle.assert_same(got, want, rtol=0, what="eager")
        for backend in ("numpy", "gpu-sim"):  # traced: an iota times 1 / (n d)
            f = tx.function(lambda f=tx_fn, kw=kw: f(n, d=d, **kw), backend=backend)
            oracle.assert_same(f(), want, rtol=0, what=backend)


def test_fftfreq_compiles_to_iota_not_a_literal():
    f = tx.function(lambda x: x * tx.fft.fftfreq(4096), backend="cpu")
    x = np.ones(4096)
    oracle.assert_same(f(x), np.fft.fftfreq(4096), rtol=0)
    text = f.get_concrete_function(x).ir("traced")
    assert "iota" in text and len(text) < 2000, text[:500]


def test_fftfreq_errors_name_the_line():
    with pytest.raises(ValueError, match=r"n must be at least 1.*test_fft.py"):
        tx.fft.fftfreq(0)
    with pytest.raises(tx.DTypeError, match=r"real floating-point.*test_fft.py"):
        tx.fft.rfftfreq(4, dtype=tx.int32)
    with pytest.raises(ValueError, match=r"must not be 0.*test_fft.py"):
        tx.fft.fftfreq(4, d=0.0)
    with pytest.raises(TypeError, match=r"n must be an int.*test_fft.py"):
        tx.fft.fftfreq(4.5)


# --- shifts (real results) --------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (0,), (1,), (4,), (5,), (3, 4), (2, 3, 5), (0, 3)])
@pytest.mark.parametrize("dtype", ["int32", "float32", "float64", "bool"])
def test_fftshift_and_ifftshift_match_numpy(shape, dtype, rng):
    x = oracle.rand(rng, shape, dtype)
    if x.ndim == 0:  # NumPy's roll fails on 0-d arrays; there is nothing to shift
        oracle.check(tx.fft.fftshift, lambda a: a, x, modes=MODES)
        return
    oracle.check(tx.fft.fftshift, np.fft.fftshift, x, modes=MODES)
    oracle.check(tx.fft.ifftshift, np.fft.ifftshift, x, modes=MODES)
    np.testing.assert_array_equal(tx.fft.ifftshift(tx.fft.fftshift(x)).numpy(), x)


@pytest.mark.parametrize("axes", [0, -1, (0,), (1, 0), (-1, 1), ()])
def test_shifts_along_given_axes(axes, rng):
    x = oracle.rand(rng, (3, 4), "float64", special=True)
    oracle.check(lambda a: tx.fft.fftshift(a, axes=axes),
                 lambda a: np.fft.fftshift(a, axes=axes), x)
    oracle.check(lambda a: tx.fft.ifftshift(a, axes=axes),
                 lambda a: np.fft.ifftshift(a, axes=axes), x)


def test_shift_errors_and_derivatives(rng):
    with pytest.raises(IndexError, match=r"out of range.*test_fft.py"):
        tx.fft.fftshift(np.ones((2, 3)), axes=2)
    x = oracle.rand(rng, (3, 5), "float64")
    w = oracle.rand(rng, (3, 5), "float64")
    g = tx.grad(lambda a: tx.sum(tx.fft.fftshift(a, axes=1) * w))(x).numpy()
    np.testing.assert_array_equal(g, np.fft.ifftshift(w, axes=1))
    batched = tx.vmap(lambda a: tx.fft.fftshift(a))(x).numpy()
    np.testing.assert_array_equal(batched, np.stack([np.fft.fftshift(r) for r in x]))


@pytest.mark.skipif(HAS_COMPLEX, reason="only without complex dtypes")
def test_transforms_say_they_need_complex_dtypes():
    with pytest.raises(tx.DTypeError, match=r"complex dtypes.*test_fft.py"):
        tx.fft.fft(np.ones(4))


# --- complex-to-complex transforms ------------------------------------------------------------
@needs_complex
@pytest.mark.parametrize("name", ["fft", "ifft"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int32"])
@pytest.mark.parametrize("n, axis", [(None, -1), (3, -1), (9, 0), (None, 0), (1, 1)])
def test_fft_and_ifft_match_numpy(name, dtype, n, axis, rng):
    x = crand(rng, (4, 6), dtype)
    for norm in NORMS:
        check_fft(*both(name, n=n, axis=axis, norm=norm), x)


@needs_complex
@pytest.mark.parametrize("name", ["fftn", "ifftn"])
@pytest.mark.parametrize("s, axes", [(None, None), (None, (1,)), ((3, -1), (0, 1)),
                                     ((5, 2, 3), (2, 0, -2)), (None, (-1, 0))])
@pytest.mark.parametrize("dtype", ["float32", "complex128"])
def test_fftn_and_ifftn_match_numpy(name, s, axes, dtype, rng):
    x = crand(rng, (3, 4, 2), dtype)
    for norm in NORMS:
        check_fft(*both(name, s=s, axes=axes, norm=norm), x)


@needs_complex
def test_fftn_over_no_axes_is_the_input_as_complex(rng):
    x = crand(rng, (2, 3), "float32")
    check_fft(lambda a: tx.fft.fftn(a, axes=()), lambda a: a.astype(np.complex64), x)
    check_fft(lambda a: tx.fft.ifftn(a), lambda a: a.astype(np.complex128),
              np.float64(1.5))  # a 0-d array has no axes


# --- real transforms --------------------------------------------------------------------------
@needs_complex
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("n, axis", [(None, -1), (4, -1), (11, 0), (None, 0), (1, -1)])
def test_rfft_and_ihfft_match_numpy(dtype, n, axis, rng):
    x = crand(rng, (5, 6), dtype)
    for norm in NORMS:
        for name in ("rfft", "ihfft"):
            check_fft(*both(name, n=n, axis=axis, norm=norm), x)


@needs_complex
@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float64"])
@pytest.mark.parametrize("n, axis", [(None, -1), (5, -1), (12, 0), (None, 0), (1, -1), (2, 1)])
def test_irfft_and_hfft_match_numpy(dtype, n, axis, rng):
    x = crand(rng, (5, 4), dtype)
    for norm in NORMS:
        for name in ("irfft", "hfft"):
            check_fft(*both(name, n=n, axis=axis, norm=norm), x)


@needs_complex
@pytest.mark.parametrize("s, axes", [(None, None), (None, (0,)), ((4, 6), (0, 2)),
                                     ((3, -1), (2, 1)), ((5, 2, 7), (1, 2, 0))])
def test_rfftn_and_irfftn_match_numpy(s, axes, rng):
    x = crand(rng, (3, 4, 5), "float32")
    z = crand(rng, (3, 4, 5), "complex128")
    for norm in NORMS:
        check_fft(*both("rfftn", s=s, axes=axes, norm=norm), x)
        check_fft(*both("irfftn", s=s, axes=axes, norm=norm), z)


@needs_complex
def test_round_trips(rng):
    x = crand(rng, (4, 7), "float64")
    np.testing.assert_allclose(tx.fft.irfft(tx.fft.rfft(x), n=7).numpy(), x, atol=1e-14)
    z = crand(rng, (4, 7), "complex64")
    np.testing.assert_allclose(tx.fft.ifftn(tx.fft.fftn(z, norm="ortho"), norm="ortho").numpy(),
                               z, atol=1e-5)


# --- edge cases -------------------------------------------------------------------------------
@needs_complex
def test_empty_arrays(rng):
    # an empty batch: an empty result
    for name in ("fft", "rfft", "ifft"):
        check_fft(getattr(tx.fft, name), getattr(np.fft, name), np.zeros((0, 4)))
    check_fft(lambda a: tx.fft.irfft(a, axis=0), lambda a: np.fft.irfft(a, axis=0),
              np.zeros((3, 0), np.complex64))
    # an empty axis padded by n: the transform of zeros
    check_fft(lambda a: tx.fft.fft(a, n=4), lambda a: np.fft.fft(a, n=4), np.zeros((3, 0)))
    check_fft(lambda a: tx.fft.fftn(a, s=(2, 3), axes=(0, 1)),
              lambda a: np.fft.fftn(a, s=(2, 3), axes=(0, 1)), np.zeros((0, 0), np.float32))
    # ... but without n there are no points: NumPy's ValueError
    with pytest.raises(ValueError, match=r"number of points.*at least 1.*test_fft.py"):
        tx.fft.fft(np.zeros((3, 0)))
    with pytest.raises(ValueError, match=r"2 \* \(m - 1\).*test_fft.py"):
        tx.fft.irfft(np.ones(1, np.complex128))


@needs_complex
def test_nan_and_inf_spread_along_the_axis_as_numpy(rng):
    x = crand(rng, (3, 4), "float64")
    x[0, 1], x[2, 3] = np.nan, np.inf
    for name in ("fft", "rfft"):
        want = getattr(np.fft, name)(x)
        for mode in MODES:
            got = oracle.run(mode, getattr(tx.fft, name), x).numpy()
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got[1], want[1], atol=1e-12)


@needs_complex
def test_errors_name_the_line():
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"norm must be one of.*test_fft.py"):
        tx.fft.fft(x, norm="none")
    with pytest.raises(IndexError, match=r"axis 2 is out of range.*test_fft.py"):
        tx.fft.rfft(x, axis=2)
    with pytest.raises(IndexError, match=r"out of range.*test_fft.py"):
        tx.fft.fft(np.float64(1.0))  # a 0-d array has no axis -1
    with pytest.raises(TypeError, match=r"real-valued.*test_fft.py"):
        tx.fft.rfft(x.astype(np.complex128))
    with pytest.raises(ValueError, match=r"name an axis twice.*test_fft.py"):
        tx.fft.fftn(x, axes=(0, -2))
    with pytest.raises(ValueError, match=r"same length.*test_fft.py"):
        tx.fft.fftn(x, s=(2, 2), axes=(0,))
    with pytest.raises(ValueError, match=r"at least one axis.*test_fft.py"):
        tx.fft.rfftn(x, axes=())
    with pytest.raises(ValueError, match=r"at least 1.*test_fft.py"):
        tx.fft.fft(x, n=0)
    with pytest.raises(ValueError, match=r"at least 1.*test_fft.py"):
        tx.function(lambda a: tx.fft.fftn(a, s=(0, 2), axes=(0, 1)))(x)
    with pytest.raises(TypeError, match=r"n must be an int.*test_fft.py"):
        tx.fft.fft(x, n=2.5)


@needs_complex
def test_calls_print_parse_and_fuse_around(rng):
    x = oracle.rand(rng, (4, 8), "float32")
    f = tx.function(lambda a: tx.fft.irfft(tx.fft.rfft(a * 2.0, n=6, norm="ortho") * 3.0,
                                           n=6, norm="ortho") + 1.0, backend="cpu")
    want = np.fft.irfft(np.fft.rfft(x * 2, n=6, norm="ortho") * 3, n=6, norm="ortho") + 1
    assert_fft(f(x), want.astype(np.float32))
    cf = f.get_concrete_function(x)
    text = cf.ir("traced")
    assert 'fn="fft.rfft"' in text and 'norm="ortho"' in text and "n=6" in text, text
    from tracefuse.ir import parse_graph, print_graph

    assert print_graph(parse_graph(text)) == text
    nd = tx.function(lambda a: tx.fft.rfftn(a, s=(3, -1), axes=(1, 0)), backend="numpy")
    nd_text = nd.get_concrete_function(x).ir("traced")
    assert "s=(3, -1)" in nd_text or "s=(3,-1)" in nd_text, nd_text
    assert print_graph(parse_graph(nd_text)) == nd_text
    assert 'fn="fft.rfft"' in cf.ir()  # a library step between the kernels


def test_the_namespace_is_the_standards_fft_extension():
    names = {"fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
             "fftfreq", "rfftfreq", "fftshift", "ifftshift"}
    assert set(tx.fft.__all__) == names and "fft" in tx.__all__
    assert all(callable(getattr(tx.fft, n)) and hasattr(np.fft, n) for n in names)
