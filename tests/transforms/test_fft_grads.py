"""The derivative and batching rules of tx.fft (transforms/library/fft.py).

JVP and VJP against central finite differences (the harness of test_derivative_rules.py) on
real-valued functions of real inputs built through the transforms: real and imaginary parts,
products of them, complex inputs made as `a + 1j * b`, so every rule is checked through JAX's
complex convention without depending on it; then the convention itself (the gradient of a
real function of complex z is df/dx - i df/dy), vmap against a Python loop for every transform,
an eager GradientTape, and the gradients compiled on each backend. Needs the complex dtypes
(skipped without them). `COVERED` (every transform with a case) feeds the coverage test of
test_library_rules.py.
"""

from __future__ import annotations

import numpy as np
import oracle
import pytest
from test_derivative_rules import U, case, check_case, fd_jacobian, noncontiguous

import tracefuse as tx

pytestmark = pytest.mark.skipif(not hasattr(tx, "complex64"), reason="no complex dtypes yet")
F = tx.fft


def re_im(z, w=1.0):
    """A real function of a complex array touching both parts (so neither cotangent is 0)."""
    return tx.real(z) * w + tx.imag(z) ** 2


def cplx(a, b):
    return a + 1j * b


# Case names are "<function>/<what>": the part before "/" is the transform they cover.
CASES = [
    case("fft.fft/default", lambda x: re_im(F.fft(x)), U(3, 4)),
    case("fft.fft/crop_axis0_ortho", lambda x: re_im(F.fft(x, n=2, axis=0, norm="ortho")),
         U(3, 4)),
    case("fft.fft/pad_complex_forward",
         lambda a, b: re_im(F.fft(cplx(a, b), n=7, norm="forward"), 2.0), U(2, 5), U(2, 5)),
    case("fft.ifft/pad", lambda a, b: re_im(F.ifft(cplx(a, b), n=6)), U(5), U(5)),
    case("fft.ifft/crop_real", lambda x: re_im(F.ifft(x, n=3, axis=0, norm="ortho")), U(4, 3)),
    case("fft.fftn/all", lambda a, b: re_im(F.fftn(cplx(a, b))), U(3, 4), U(3, 4)),
    case("fft.fftn/s_axes", lambda x: re_im(F.fftn(x, s=(5, 2), axes=(1, 0), norm="forward")),
         U(3, 4)),
    case("fft.ifftn/s", lambda a, b: re_im(F.ifftn(cplx(a, b), s=(2, -1, 3), axes=(0, 1, 2))),
         U(3, 2, 2), U(3, 2, 2)),
    case("fft.rfft/even", lambda x: re_im(F.rfft(x)), U(2, 6)),
    case("fft.rfft/odd_pad_ortho", lambda x: re_im(F.rfft(x, n=7, norm="ortho")), U(2, 5)),
    case("fft.rfft/crop_axis0_forward", lambda x: re_im(F.rfft(x, n=3, axis=0,
                                                                  norm="forward")), U(5, 2)),
    case("fft.rfftn/default", lambda x: re_im(F.rfftn(x)), U(3, 4)),
    case("fft.rfftn/s_axes", lambda x: re_im(F.rfftn(x, s=(3, 5), axes=(1, 0), norm="ortho")),
         U(4, 3)),
    case("fft.irfft/even", lambda a, b: F.irfft(cplx(a, b)) ** 2, U(2, 4), U(2, 4)),
    case("fft.irfft/odd_crop", lambda a, b: F.irfft(cplx(a, b), n=5, norm="ortho") * 1.5,
         U(4), U(4)),
    case("fft.irfft/pad_axis0_forward",
         lambda a, b: tx.sin(F.irfft(cplx(a, b), n=8, axis=0, norm="forward")), U(3, 2),
         U(3, 2)),
    case("fft.irfft/real_input", lambda x: F.irfft(x, n=6) ** 2, U(4)),
    case("fft.irfftn/default", lambda a, b: F.irfftn(cplx(a, b)) ** 2, U(3, 3), U(3, 3)),
    case("fft.irfftn/s_axes",
         lambda a, b: F.irfftn(cplx(a, b), s=(4, 3), axes=(1, 0), norm="forward") ** 2,
         U(2, 3), U(2, 3)),
    case("fft.hfft/even", lambda a, b: F.hfft(cplx(a, b)) ** 2, U(2, 4), U(2, 4)),
    case("fft.hfft/odd_ortho", lambda a, b: F.hfft(cplx(a, b), n=5, norm="ortho") ** 2,
         U(3), U(3)),
    case("fft.hfft/crop_axis0_forward",
         lambda a, b: tx.cos(F.hfft(cplx(a, b), n=4, axis=0, norm="forward")), U(5, 2),
         U(5, 2)),
    case("fft.ihfft/default", lambda x: re_im(F.ihfft(x)), U(2, 6)),
    case("fft.ihfft/odd_forward", lambda x: re_im(F.ihfft(x, n=5, axis=0, norm="forward")),
         U(4, 2)),
]
COVERED = {c.values[0].name.split("/")[0] for c in CASES}


@pytest.mark.parametrize("c", CASES)
def test_fft_rules_against_finite_differences(c, rng):
    xs = [maker(rng) for maker in c.makers]
    out, blocks = fd_jacobian(c, xs)
    check_case(c, xs, out, blocks, rng, "contiguous")
    check_case(c, [noncontiguous(x) for x in xs], out, blocks, rng, "non-contiguous")


def test_complex_gradient_follows_jax(rng):
    """Parseval: sum |fft(z)|^2 = n sum |z|^2, whose gradient in JAX's convention (df/dx -
    i df/dy) is 2 n conj(z); a linear function's gradient is its transposed matrix's."""
    z = cplx(U(6)(rng), U(6)(rng))
    g = tx.grad(lambda a: tx.sum(tx.abs(F.fft(a)) ** 2))(z).numpy()
    np.testing.assert_allclose(g, 12 * np.conj(z), rtol=1e-12)
    # f(z) = sum_t w_t Im((A z)_t) with A the (symmetric) ifft matrix: df/dx - i df/dy
    # = sum_t w_t (Im A_tk - i Re A_tk) = -i (A w)_k
    w = U(6)(rng)
    g = tx.grad(lambda a: tx.sum(tx.imag(F.ifft(a, norm="ortho")) * w))(z).numpy()
    np.testing.assert_allclose(g, -1j * np.fft.ifft(w, norm="ortho"), atol=1e-12)


TRANSFORMS_1D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]


@pytest.mark.parametrize("name", TRANSFORMS_1D)
def test_vmap_of_1d_transforms_matches_a_loop(name, rng):
    real_in = name in ("rfft", "ihfft")
    x = oracle.rand(rng, (3, 4, 5), "float64")
    if not real_in:
        x = x + 1j * oracle.rand(rng, (3, 4, 5), "float64")
    f = getattr(F, name)
    for kw in ({}, {"n": 6, "axis": 0, "norm": "ortho"}, {"n": 3, "axis": -1}):
        for in_axes in (0, 1, 2):
            got = tx.vmap(lambda a, kw=kw: f(a, **kw), in_axes=in_axes)(x).numpy()
            loop = np.stack([getattr(np.fft, name)(np.take(x, i, axis=in_axes), **kw)
                             for i in range(x.shape[in_axes])])
            np.testing.assert_allclose(got, loop, atol=1e-12)


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "irfftn"])
@pytest.mark.parametrize("kw", [{}, {"axes": (0,)}, {"s": (4, -1), "axes": (1, 0)}])
def test_vmap_of_nd_transforms_matches_a_loop(name, kw, rng):
    x = oracle.rand(rng, (2, 3, 4), "float32")
    if name != "rfftn":
        x = x + 1j * oracle.rand(rng, (2, 3, 4), "float32")
    f = getattr(F, name)
    for in_axes in (0, 2):
        got = tx.vmap(lambda a: f(a, **kw), in_axes=in_axes)(x).numpy()
        loop = np.stack([getattr(np.fft, name)(np.take(x, i, axis=in_axes), **kw)
                         for i in range(x.shape[in_axes])])
        np.testing.assert_allclose(got, loop, atol=1e-5)
    shared = tx.vmap(lambda a: f(x, **kw) * a)(np.arange(2.0)).numpy()  # an unbatched operand
    np.testing.assert_allclose(shared[1], getattr(np.fft, name)(x, **kw), atol=1e-5)


def test_gradient_tape_records_ffts(rng):
    x = tx.Variable(U(2, 6)(rng))
    with tx.GradientTape() as tape:
        y = tx.sum(tx.real(F.irfft(F.rfft(x) * np.arange(1.0, 5.0))))
    g = tape.gradient(y, x).numpy()
    want = tx.grad(lambda a: tx.sum(tx.real(F.irfft(F.rfft(a) * np.arange(1.0, 5.0)))))(
        x.numpy()).numpy()
    np.testing.assert_allclose(g, want, atol=1e-12)


def test_fft_gradients_compile(rng):
    x = U(3, 8)(rng)

    def f(a):
        spec = F.rfft(tx.sin(a), norm="ortho")
        return tx.sum(F.irfft(spec * spec, n=8) ** 2) + tx.sum(tx.abs(F.fftn(a, s=(4, 4))))

    eager = tx.grad(f)(x).numpy()
    for backend in ("numpy", "cpu", "gpu-sim"):
        np.testing.assert_allclose(tx.function(tx.grad(f), backend=backend)(x).numpy(), eager,
                                   rtol=1e-10)
