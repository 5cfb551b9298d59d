"""`tx.random` (issue 16): Philox4x32-10 known answers through the reference, the op on every
backend and the public API; eager and compiled agree exactly (bits) or to float tolerance
(values built from bits) on numpy, cpu and gpu-sim, at every shape split; keys from split and
fold_in; vmap over keys; the fused dropout is one kernel; errors name the user's line.
"""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import tracefuse as tx
from tracefuse.backends import get_backend
from tracefuse.ir import OpCode, philox

THIS_FILE = os.path.basename(__file__)
NAMES = ("numpy", "cpu", "gpu-sim")
backends = pytest.mark.parametrize("b", [
    pytest.param(b, marks=pytest.mark.skipif(get_backend(b).unavailable() is not None,
                                             reason=str(get_backend(b).unavailable())))
    for b in NAMES])

# Random123's kat_vectors for philox4x32_10: (counter, key, expected words)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_reference_matches_the_published_vectors(counter, key, expected):
    assert tuple(int(w) for w in philox.philox4x32(counter, key)) == expected


def test_numba_scalar_matches_the_reference():
    from tracefuse.backends.numba.philox import philox_block, philox_bits

    rng = np.random.default_rng()
    for _ in range(20):
        k0, k1 = (np.uint32(v) for v in rng.integers(0, 2**32, 2))
        n = np.uint64(rng.integers(0, 2**62))
        block = n >> np.uint64(2)
        words = philox.philox4x32((block & np.uint64(0xFFFFFFFF), block >> np.uint64(32), 0, 0),
                                  (k0, k1))
        assert philox_bits(k0, k1, n) == words[int(n & np.uint64(3))]
        assert philox_block(k0, k1, block) == tuple(words)


def test_published_answer_through_the_api():
    got = tx.random.bits(tx.random.key(0), (4,)).numpy()
    assert got.dtype == np.uint32
    assert [int(w) for w in got] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


@backends
@pytest.mark.parametrize("shape", [(4,), (3, 37), (2, 5, 9), (0, 4), (1,), ()])
def test_bits_compiled_equal_eager_equal_reference(b, shape):
    k = tx.random.key(123456789012)
    eager = tx.random.bits(k, shape).numpy()
    kk = k.numpy()
    reference = philox.random_bits(kk[0], kk[1], np.uint64(0), shape)
    np.testing.assert_array_equal(eager, reference)
    compiled = tx.function(lambda key: tx.random.bits(key, shape), backend=b)(k).numpy()
    assert compiled.dtype == np.uint32 and compiled.shape == shape
    np.testing.assert_array_equal(compiled, reference)


@backends
def test_every_shape_split_gives_the_same_stream(b):
    """bits(key, (a, b)) is bits(key, (a*b,)) reshaped, whatever the loops and blocks."""
    k = tx.random.key(7)
    flat = tx.random.bits(k, (6 * 257,)).numpy()
    f = tx.function(lambda key: [tx.random.bits(key, s) for s in [(6, 257), (2, 3, 257)]],
                    backend=b)
    for got in f(k):
        np.testing.assert_array_equal(got.numpy().reshape(-1), flat)


def draws(key):
    return {
        "uniform32": tx.random.uniform(key, (5, 33)),
        "uniform64": tx.random.uniform(key, (7, 3), dtype=tx.float64, minval=-2.0, maxval=3.0),
        "uniform16": tx.random.uniform(key, (9,), dtype=tx.float16),
        "normal32": tx.random.normal(key, (4, 21)),
        "normal64": tx.random.normal(key, (11,), dtype=tx.float64),
        "bern": tx.random.bernoulli(key, 0.3, (40,)),
        "randint32": tx.random.randint(key, (50,), -7, 9),
        "randint64": tx.random.randint(key, (13,), -(2**40), 2**40, dtype=tx.int64),
        "randint8": tx.random.randint(key, (17,), 0, 200, dtype=tx.uint8),
        "bits64": tx.random.bits(key, (6,), dtype=tx.uint64),
        "split": tx.random.split(key, 3),
        "fold": tx.random.fold_in(key, 12345),
    }


@backends
def test_every_draw_compiled_equals_eager(b):
    k = tx.random.key(2026)
    eager = draws(k)
    compiled = tx.function(draws, backend=b)(k)
    for name, e in eager.items():
        g = compiled[name].numpy()
        e = e.numpy()
        assert g.dtype == e.dtype and g.shape == e.shape, name
        if e.dtype.kind == "f":
            np.testing.assert_allclose(g, e, rtol=2e-6 if e.dtype != np.float16 else 1e-3,
                                       atol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(g, e, err_msg=name)


def test_values_are_what_the_documented_mappings_give():
    k = tx.random.key(99)
    w = tx.random.bits(k, (1000,)).numpy()
    np.testing.assert_array_equal(tx.random.uniform(k, (1000,)).numpy(),
                                  (w >> 8).astype(np.float32) * np.float32(2.0 ** -24))
    r = tx.random.randint(k, (1000,), 3, 17).numpy()
    np.testing.assert_array_equal(r, ((w.astype(np.uint64) * 14) >> 32).astype(np.int64) + 3)
    assert tx.random.bernoulli(k, 0.25, (1000,)).numpy().tolist() == \
        ((w >> 8).astype(np.float32) * np.float32(2.0 ** -24) < 0.25).tolist()
    u = tx.random.uniform(k, (1000,), minval=-1.5, maxval=-1.0).numpy()
    assert u.dtype == np.float32 and u.min() >= -1.5 and u.max() < -1.0


def test_keys():
    np.testing.assert_array_equal(tx.random.key(5).numpy(), np.array([5, 0], np.uint32))
    np.testing.assert_array_equal(tx.random.key(2**32 + 3).numpy(), np.array([3, 1], np.uint32))
    np.testing.assert_array_equal(tx.random.key(-1).numpy(), np.array([2**32 - 1] * 2, np.uint32))
    # a traced seed gives the same key
    f = tx.function(lambda s: tx.random.key(s), backend="numpy")
    np.testing.assert_array_equal(f(np.int64(-(2**40) - 7)).numpy(),
                                  tx.random.key(-(2**40) - 7).numpy())
    k = tx.random.key(0)
    s = tx.random.split(k, 4).numpy()
    assert s.shape == (4, 2) and s.dtype == np.uint32 and len({tuple(r) for r in s}) == 4
    np.testing.assert_array_equal(s.reshape(-1), tx.random.bits(k, (8,)).numpy())
    folded = [tuple(tx.random.fold_in(k, d).numpy()) for d in range(50)]
    assert len(set(folded)) == 50
    # fold_in(key, d) is the block with counter d: words 4d, 4d + 1 of the stream
    np.testing.assert_array_equal(tx.random.fold_in(k, 3).numpy(),
                                  tx.random.bits(k, (16,)).numpy()[12:14])
    g = tx.function(lambda key, d: tx.random.fold_in(key, d), backend="numpy")
    np.testing.assert_array_equal(g(k, np.int32(3)).numpy(), tx.random.fold_in(k, 3).numpy())


def test_split_streams_are_independent():
    """The streams of sibling keys are uncorrelated (and differ from the parent's)."""
    keys = tx.random.split(tx.random.key(11), 8)
    streams = np.stack([tx.random.uniform(keys[i], (20000,)).numpy() for i in range(8)])
    corr = np.corrcoef(streams)
    off = corr[~np.eye(8, dtype=bool)]
    assert np.abs(off).max() < 0.03  # |r| of 20000 independent pairs: sd 0.007


@backends
def test_vmap_over_keys_draws_what_each_key_draws_alone(b):
    keys = tx.random.split(tx.random.key(3), 5)
    f = tx.function(tx.vmap(lambda k: tx.random.normal(k, (2, 7))), backend=b)
    got = f(keys).numpy()
    for i in range(5):
        np.testing.assert_allclose(got[i], tx.random.normal(keys[i], (2, 7)).numpy(),
                                   rtol=2e-6, atol=1e-6)


@backends
def test_dropout_is_one_kernel(b):
    def dropout(key, x, p):
        return tx.where(tx.random.uniform(key, x.shape) > p, x / (1.0 - p), 0.0)

    k = tx.random.key(1)
    x = np.random.default_rng().standard_normal((64, 300)).astype(np.float32) + 3.0
    f = tx.function(dropout, backend=b, static_argnums=2)
    cf = f.get_concrete_function(k, x, 0.25)
    kernels = [op for op in cf.stage_graph("fused").ops if op.code is OpCode.KERNEL]
    assert len(kernels) == 1 and len(cf.stage_graph("fused").ops) == 1, cf.ir("fused")
    assert any(op.code is OpCode.RANDOM_BITS for op in kernels[0].attrs["body"].ops)
    got = f(k, x, 0.25).numpy()
    np.testing.assert_allclose(got, dropout(k, x, 0.25).numpy(), rtol=1e-6)
    kept = got != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(got[kept], x[kept] / np.float32(0.75), rtol=1e-6)


def test_gradients_do_not_flow_through_keys():
    def f(x, key):
        return tx.sum(x * tx.random.uniform(key, x.shape))

    k = tx.random.key(4)
    x = np.random.default_rng().standard_normal(6).astype(np.float32)
    g = tx.grad(f)(x, k).numpy()
    np.testing.assert_allclose(g, tx.random.uniform(k, (6,)).numpy(), rtol=1e-6)
    with pytest.raises(Exception, match="(?i)integer|float|differentiab"):
        tx.grad(f, argnums=1)(x, k)


def test_permutation_eagerly_and_compiled():
    k = tx.random.key(8)
    p = tx.random.permutation(k, 10).numpy()
    assert sorted(p.tolist()) == list(range(10))
    np.testing.assert_array_equal(p, np.argsort(tx.random.bits(k, (10,)).numpy(), kind="stable"))
    x = np.arange(12.0).reshape(6, 2)
    want = x[np.argsort(tx.random.bits(k, (6,)).numpy(), kind="stable")]
    np.testing.assert_array_equal(tx.random.permutation(k, x).numpy(), want)
    for backend in ("numpy", "cpu", "gpu-sim"):
        f = tx.function(lambda key, a: (tx.random.permutation(key, 10),
                                        tx.random.permutation(key, a, axis=0)), backend=backend)
        got_p, got_x = f(k, x)
        np.testing.assert_array_equal(got_p.numpy(), p)
        np.testing.assert_array_equal(got_x.numpy(), want)
    k2 = tx.random.key(9)  # a new key: a new permutation, no retrace
    assert not np.array_equal(f(k2, x)[0].numpy(), p) and f.trace_count == 1
    xt = x.T.copy()
    np.testing.assert_array_equal(tx.random.permutation(k, xt, axis=1).numpy(), want.T)


def test_bad_keys_and_dtypes_say_what_to_pass():
    with pytest.raises(tx.DTypeError, match=r"uint32\[2\] array from tx.random.key"):
        tx.random.uniform(np.zeros(2, np.float32), (3,))
    with pytest.raises(tx.DTypeError, match="floating-point"):
        tx.random.uniform(tx.random.key(0), (3,), dtype=tx.int32)
    with pytest.raises(tx.DTypeError, match="integer dtype"):
        tx.random.randint(tx.random.key(0), (3,), 0, 4, dtype=tx.float32)
    with pytest.raises(tx.DTypeError, match="must be an integer"):
        tx.random.key(1.5)


# --- the Generator ---------------------------------------------------------------------------------
@backends
def test_generator_advances_its_state_compiled_without_retracing(b):
    eager = tx.random.Generator.from_seed(17)
    expected = [eager.uniform((3, 5)).numpy(), eager.normal((7,), mean=2.0, stddev=0.5).numpy(),
                eager.uniform((2,), dtype=tx.float64).numpy()]
    g = tx.random.Generator.from_seed(17)
    f = tx.function(lambda: g.uniform((3, 5)), backend=b)
    h = tx.function(lambda: (g.normal((7,), mean=2.0, stddev=0.5),
                             g.uniform((2,), dtype=tx.float64)), backend=b)
    np.testing.assert_allclose(f().numpy(), expected[0], rtol=1e-6)
    n, u = h()
    np.testing.assert_allclose(n.numpy(), expected[1], rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(u.numpy(), expected[2], rtol=1e-12)
    assert int(g.state.numpy()) == int(eager.state.numpy()) == 16 + 16 + 8
    second = f().numpy()  # the next draw: new numbers, no retrace
    assert f.trace_count == 1 and not np.array_equal(second, expected[0])
    np.testing.assert_allclose(second, eager.uniform((3, 5)).numpy(), rtol=1e-6)


def test_generator_stream_is_the_key_stream():
    """A fresh Generator's draws are the key's words from position 0, whole blocks apart."""
    g = tx.random.Generator.from_seed(5)
    words = tx.random.bits(tx.random.key(5), (16,)).numpy()
    np.testing.assert_array_equal(g.bits((3,)).numpy(), words[:3])
    np.testing.assert_array_equal(g.bits((6,)).numpy(), words[4:10])
    assert "position=12" in repr(g)
    with pytest.raises(tx.DTypeError, match="key must be a uint32"):
        tx.random.Generator(np.zeros(2, np.int64))


@backends
def test_streams_aligned_differently_in_one_kernel(b):
    """Two random_bits of one kernel whose offsets differ mod 4 (the cpu kernel then takes its
    rows element by element) and rows that start mid-block: the reference's bits exactly."""
    from tracefuse.frontend.dispatch import bind
    from tracefuse.ir import Attrs

    def f(k):
        a = bind(OpCode.RANDOM_BITS, (k[0], k[1], np.uint64(1)), Attrs(shape=(5, 7)))
        c = bind(OpCode.RANDOM_BITS, (k[0], k[1], np.uint64(6)), Attrs(shape=(5, 7)))
        return a ^ c, a

    k = tx.random.key(3)
    kk = k.numpy()
    a = philox.random_bits(kk[0], kk[1], np.uint64(1), (5, 7))
    c = philox.random_bits(kk[0], kk[1], np.uint64(6), (5, 7))
    got_xor, got_a = tx.function(f, backend=b)(k)
    np.testing.assert_array_equal(got_xor.numpy(), a ^ c)
    np.testing.assert_array_equal(got_a.numpy(), a)


def test_cuda_source_of_a_random_kernel_passes_nvrtc():
    from tracefuse.backends.cuda import nvrtc_gate
    from tracefuse.backends.cuda.render import NVRTC_OPTIONS

    why = nvrtc_gate.unavailable()
    if why:
        pytest.skip(why)
    k = tx.random.key(1)
    x = np.ones((8, 100), np.float32)
    f = tx.function(lambda key, x: (tx.random.normal(key, x.shape, dtype=tx.float64) * x,
                                    tx.random.randint(key, x.shape, 0, 7)), backend="gpu-sim")
    for source in f.get_concrete_function(k, x).kernels:
        assert "tx_philox_bits(" in source
        for arch in ("sm_80", "sm_90"):
            assert nvrtc_gate.compile_cubin(source, arch, NVRTC_OPTIONS)[:4] == b"\x7fELF"
