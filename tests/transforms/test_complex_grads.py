"""Derivatives of complex functions against central finite differences, in JAX's convention
(docs/transforms.md, "Complex numbers"):

- JVP: the directional derivative along a complex tangent t, (f(z + h t) - f(z - h t)) / 2h,
  for every op (holomorphic or not);
- VJP: through `grad` of the real-valued g(z) = real(sum(w * f(z))) (w random complex), which
  must be dg/dx - i dg/dy: every cotangent rule is exercised that way;
- `grad(..., holomorphic=True)` of a holomorphic function is f'(z).
Shapes are tiny and the numpy backend runs them (one test runs the Numba cpu backend).
"""

import numpy as np
import pytest

import tracefuse as tx

H = 1e-6
RTOL = 1e-6


def crand(rng, shape, scale=1.0):
    re = rng.uniform(0.2, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    im = rng.uniform(0.2, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return (scale * (re + 1j * im)).astype(np.complex128)


def numpy_of(fn, *args):
    return np.asarray(tx.function(fn, backend="numpy")(*args).numpy())


def fd_grad_real(g, z):
    """dg/dx - i dg/dy of real-valued g, elementwise over z."""
    out = np.zeros_like(z)
    flat = out.reshape(-1)
    for k in range(z.size):
        e = np.zeros(z.size, z.dtype)
        e[k] = 1
        e = e.reshape(z.shape)
        dx = (numpy_of(g, z + H * e) - numpy_of(g, z - H * e)) / (2 * H)
        dy = (numpy_of(g, z + 1j * H * e) - numpy_of(g, z - 1j * H * e)) / (2 * H)
        flat[k] = dx - 1j * dy
    return out


# f: complex -> complex (or real), each with inputs away from its branch cuts and poles
UNARY = {
    "exp": tx.exp, "log": tx.log, "sqrt": tx.sqrt, "square": tx.square,
    "reciprocal": tx.reciprocal, "expm1": tx.expm1, "log1p": tx.log1p, "log2": tx.log2,
    "log10": tx.log10, "sin": tx.sin, "cos": tx.cos, "tan": tx.tan, "sinh": tx.sinh,
    "cosh": tx.cosh, "tanh": tx.tanh, "asin": tx.asin, "acos": tx.acos, "atan": tx.atan,
    "asinh": tx.asinh, "acosh": tx.acosh, "atanh": tx.atanh, "negative": tx.negative,
    "abs": tx.abs, "real": tx.real, "imag": tx.imag, "conj": tx.conj, "angle": tx.angle,
    "sum": lambda z: tx.sum(z, axis=0), "prod": lambda z: tx.prod(z, axis=1),
    "mean": tx.mean, "var": lambda z: tx.var(z, axis=1),
    "pow": lambda z: tx.pow(z, 1.5 - 0.5j), "rpow": lambda z: tx.pow(0.7 + 0.2j, z),
    "self_pow": lambda z: z ** z, "divide": lambda z: (z + 2) / (z - 3j),
    "matmul": lambda z: tx.matmul(z, tx.permute_dims(z, (1, 0))),
    "vecdot": lambda z: tx.vecdot(z, z * 1j),
    "where": lambda z: tx.where(tx.real(z) > 0, z * z, tx.exp(z)),
    "concat": lambda z: tx.concat([z, tx.conj(z) * 2], axis=0),
    "slice": lambda z: z[:, ::-1] * z[:, :1], "reshape": lambda z: tx.reshape(z, (6,)) ** 2,
}
HOLOMORPHIC = ("exp", "log", "sqrt", "square", "reciprocal", "sin", "cos", "tan", "sinh",
               "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "pow",
               "rpow", "self_pow", "divide", "expm1", "log1p", "log2", "log10")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_vjp_matches_finite_differences(name, rng):
    f = UNARY[name]
    z = crand(rng, (2, 3))
    out = numpy_of(f, z)
    w = crand(rng, out.shape)

    def g(z):
        return tx.sum(tx.real(tx.astype(f(z), tx.complex128) * w))

    got = tx.function(tx.grad(g), backend="numpy")(z).numpy()
    assert got.dtype == np.complex128
    np.testing.assert_allclose(got, fd_grad_real(g, z), rtol=RTOL, atol=1e-8)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_jvp_matches_finite_differences(name, rng):
    f = UNARY[name]
    z, t = crand(rng, (2, 3)), crand(rng, (2, 3))
    _, tangent = tx.function(lambda z, t: tx.jvp(f, (z,), (t,)), backend="numpy")(z, t)
    want = (numpy_of(f, z + H * t) - numpy_of(f, z - H * t)) / (2 * H)
    np.testing.assert_allclose(tangent.numpy(), want, rtol=RTOL, atol=1e-8)


@pytest.mark.parametrize("name", HOLOMORPHIC)
def test_holomorphic_grad_is_the_complex_derivative(name, rng):
    f = UNARY[name]
    z = crand(rng, ())
    got = tx.function(tx.grad(f, holomorphic=True), backend="numpy")(z).numpy()
    want = (numpy_of(f, z + H) - numpy_of(f, z - H)) / (2 * H)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-8)


def test_jaxs_convention_for_abs_squared():
    """grad of |z|^2 is 2 conj(z) = df/dx - i df/dy (JAX: 6-8j at 3+4j)."""
    z = np.asarray(3 + 4j)
    for f in (lambda z: tx.abs(z) ** 2, lambda z: tx.real(z) ** 2 + tx.imag(z) ** 2,
              lambda z: tx.real(z * tx.conj(z))):
        np.testing.assert_allclose(tx.function(tx.grad(f), backend="numpy")(z).numpy(), 6 - 8j)


def test_real_input_through_complex_values(rng):
    """A real x through complex intermediates: its gradient is real (the real part)."""
    x = rng.uniform(-1, 1, size=(4,))

    def f(x):
        return tx.sum(tx.abs(tx.exp(1j * x) + 0.5 * x) ** 2)

    got = tx.function(tx.grad(f), backend="numpy")(x).numpy()
    assert got.dtype == np.float64
    want = np.array([(numpy_of(f, x + H * e) - numpy_of(f, x - H * e)) / (2 * H)
                     for e in np.eye(4)])
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-8)
    # and the cast real -> complex has the transpose real(ct)
    np.testing.assert_allclose(
        tx.function(tx.grad(lambda x: tx.sum(tx.real(tx.astype(x, tx.complex128) * (2 - 1j)))),
                    backend="numpy")(x).numpy(), np.full(4, 2.0))


def test_complex_output_needs_holomorphic():
    with pytest.raises(TypeError, match="holomorphic=True"):
        tx.function(tx.grad(tx.exp), backend="numpy")(np.asarray(1j))
    with pytest.raises(TypeError, match="complex inputs"):
        tx.function(tx.grad(lambda x: tx.exp(x * 1j), holomorphic=True),
                    backend="numpy")(np.asarray(1.0))


def test_jacobians_of_complex_inputs_are_refused():
    with pytest.raises(TypeError, match="complex"):
        tx.jacfwd(tx.exp)(np.ones(2, np.complex128))
    with pytest.raises(TypeError, match="real floating-point"):
        tx.jacrev(lambda x: tx.exp(x * 1j))(np.ones(2))


def test_jacfwd_of_a_complex_output_of_real_inputs(rng):
    x = rng.uniform(-1, 1, size=(3,))
    jac = tx.jacfwd(lambda x: tx.exp(1j * x))(x).numpy()
    np.testing.assert_allclose(jac, np.diag(1j * np.exp(1j * x)), rtol=1e-12)


def test_vmap_of_a_complex_function(rng):
    z = crand(rng, (4, 3))

    def f(v):
        return tx.sum(tx.exp(v) * tx.conj(v)) + tx.angle(v[0])

    got = tx.vmap(f)(z).numpy()
    want = np.array([np.sum(np.exp(v) * np.conj(v)) + np.angle(v[0]) for v in z])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_gradient_tape_with_complex_values(rng):
    z = tx.asarray(crand(rng, (3,)))
    with tx.GradientTape() as tape:
        tape.watch(z)
        loss = tx.sum(tx.abs(z) ** 2)
    np.testing.assert_allclose(tape.gradient(loss, z).numpy(), 2 * np.conj(z.numpy()))


def test_grad_on_the_cpu_backend(rng):
    """The backward kernels of a complex function, compiled by Numba."""
    z = crand(rng, (5,))

    def g(z):
        return tx.sum(tx.real(tx.sin(z) * tx.conj(z)) + tx.abs(tx.exp(z)))

    got = tx.function(tx.grad(g), backend="cpu")(z).numpy()
    np.testing.assert_allclose(got, fd_grad_real(g, z), rtol=RTOL, atol=1e-8)
