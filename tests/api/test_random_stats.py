"""Statistical quality of `tx.random` (issue 16, item 4): the values built from Philox bits have
the distributions the module docstring of `tracefuse/frontend/random.py` promises, and streams
from distinct keys (split, fold_in, a Generator's successive draws) are independent.

Every test draws from fixed keys, so it is deterministic: it passes or fails the same way on
every run (no flaky test), and the thresholds are loose enough (p > 1e-3, 5 sigma) that a correct
generator passes them at these keys by a margin, yet tight enough that a wrong mapping fails;
`test_*_would_fail` tests show that each kind of check rejects a deliberately wrong stream of
the same size. Draws run eagerly: the bits are the same on every backend
(tests/api/test_random.py checks eager == compiled exactly), so the statistics are too.

Philox4x32-10 itself passes TestU01's BigCrush (Salmon et al., SC'11); these tests guard the
layers on top: the key and counter layout, the bits-to-value mappings, split and fold_in.
Sizes: 1e5 samples (KS then resolves CDF deviations of about 0.006), 1e6 for bit balance and
the normal tails; the whole file runs in a few seconds on one core.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tracefuse as tx

stats = pytest.importorskip("scipy.stats")

N = 100_000
ALPHA = 1e-3  # a test of a correct generator fails at one fixed key with probability 1e-3
SEEDS = (0, 42, 2**40 + 7)  # a zero key, a small one, one with a nonzero high word


def keys():
    """A few fixed keys of different origins: from seeds, from split, from fold_in."""
    ks = [tx.random.key(s) for s in SEEDS]
    return ks + [tx.random.split(tx.random.key(7), 3)[2], tx.random.fold_in(tx.random.key(7), 5)]


KEY_IDS = [f"seed{s}" for s in SEEDS] + ["split", "fold_in"]
each_key = pytest.mark.parametrize("k", range(len(KEY_IDS)), ids=KEY_IDS)
FLOATS = pytest.mark.parametrize("dtype", [tx.float32, tx.float64], ids=["f32", "f64"])


def np_of(x) -> np.ndarray:
    return np.asarray(x.numpy())


def five_sigma_corr(n: int) -> float:
    """|Pearson r| of two independent streams of n values is below 5 / sqrt(n) but with
    probability 6e-7."""
    return 5.0 / math.sqrt(n)


# --- Kolmogorov-Smirnov ------------------------------------------------------------------------
@FLOATS
@each_key
def test_uniform_ks_against_the_uniform_cdf(dtype, k):
    """A failure means uniform's [0, 1) values are not uniform: a wrong shift or scale in the
    mapping (float32 `(w >> 8) * 2**-24`, float64 from 53 bits of two words), words reused
    across elements, or a bad key."""
    u = np_of(tx.random.uniform(keys()[k], (N,), dtype=dtype))
    assert u.dtype == dtype.np and u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > ALPHA


@FLOATS
@pytest.mark.parametrize("lo, hi", [(-3.0, 5.0), (2.5, 2.75), (-1e3, -999.0)])
def test_uniform_with_bounds_ks(dtype, lo, hi):
    """A failure means `minval + u * (maxval - minval)` (kept below maxval) is not uniform on
    [minval, maxval), or leaves it."""
    u = np_of(tx.random.uniform(tx.random.key(11), (N,), dtype=dtype, minval=lo, maxval=hi))
    assert u.dtype == dtype.np and u.min() >= lo and u.max() < hi
    assert stats.kstest(u.astype(np.float64), "uniform", args=(lo, hi - lo)).pvalue > ALPHA


@FLOATS
@each_key
def test_normal_ks_against_the_normal_cdf(dtype, k):
    """A failure means normal's Box-Muller values are not N(0, 1): a wrong radius (log of u1
    instead of 1 - u1, a missing factor 2), the two uniforms sharing words, or cos of the wrong
    angle."""
    z = np_of(tx.random.normal(keys()[k], (N,), dtype=dtype))
    assert z.dtype == dtype.np and np.isfinite(z).all()
    assert stats.kstest(z, "norm").pvalue > ALPHA


def test_generator_draws_ks():
    """A failure means a Generator's draws (each from its position on one key; mean and stddev
    applied after) do not follow their distributions."""
    g = tx.random.Generator.from_seed(3)
    u = np_of(g.uniform((N,), minval=-2.0, maxval=2.0))
    z = np_of(g.normal((N,), mean=1.5, stddev=3.0))
    assert stats.kstest(u, "uniform", args=(-2.0, 4.0)).pvalue > ALPHA
    assert stats.kstest(z, "norm", args=(1.5, 3.0)).pvalue > ALPHA


def test_ks_would_fail_on_a_wrong_mapping():
    """The KS checks above can fail: the same draws through a slightly wrong mapping (u**1.05,
    a CDF off by 0.018 at most) or against a slightly wrong law (N(0, 1.05)) are rejected."""
    k = tx.random.key(0)
    u = np_of(tx.random.uniform(k, (N,)))
    z = np_of(tx.random.normal(k, (N,)))
    assert stats.kstest(u, "uniform").pvalue > ALPHA  # the right mapping passes ...
    assert stats.kstest(u.astype(np.float64) ** 1.05, "uniform").pvalue < 1e-10  # ... not this
    assert stats.kstest(z, "norm").pvalue > ALPHA
    assert stats.kstest(z, "norm", args=(0.0, 1.05)).pvalue < 1e-6


# --- chi-square --------------------------------------------------------------------------------
RANDINT = [  # (lo, hi, dtype): spans that divide 2**32 and spans that do not
    (0, 10, tx.int32),
    (-5, 1000, tx.int32),
    (0, 16, tx.int32),
    (-128, 128, tx.int8),  # the whole int8 range
    (-100, 27, tx.int8),
    (0, 256, tx.uint8),  # the whole uint8 range
    (3, 200, tx.uint8),
    (-7, 30, tx.int64),
    (0, 3 * 2**40 + 1, tx.int64),  # a 64-bit span: binned
]


def chi2_of_counts(counts: np.ndarray, probs: np.ndarray | None = None) -> float:
    expected = None if probs is None else probs * counts.sum()
    return stats.chisquare(counts, expected).pvalue


@pytest.mark.parametrize("lo, hi, dtype", RANDINT,
                         ids=[f"{d.name}[{lo},{hi})" for lo, hi, d in RANDINT])
def test_randint_chi_square(lo, hi, dtype):
    """A failure means randint's values are not uniform on [minval, maxval) (Lemire's
    multiply-shift for 8- to 32-bit dtypes, whose bias below span / 2**32 these sample sizes
    cannot see; a 64-bit remainder for int64), leave the range, or miss a value."""
    v = np_of(tx.random.randint(tx.random.key(5), (N,), lo, hi, dtype=dtype))
    assert v.dtype == dtype.np and v.min() >= lo and v.max() < hi
    span = hi - lo
    if span <= 2048:
        counts = np.bincount((v.astype(np.int64) - lo), minlength=span)
        assert (counts > 0).all()
    else:  # 1024 bins of equal width (span % 1024 == 1: the last bin is one value wider)
        bins = np.minimum((v.astype(np.int64) - lo) // (span // 1024), 1023)
        counts = np.bincount(bins, minlength=1024)
    assert chi2_of_counts(counts) > ALPHA


def test_chi_square_would_fail_on_modulo_bias():
    """The chi-square check can fail: a byte reduced modulo 10 (values 0-5 get 26 of 256 bytes,
    6-9 get 25: 4 % bias, a classic wrong randint) is rejected at 1e5 samples, where randint's
    own (0, 10) passes."""
    k = tx.random.key(5)
    byte = np_of(tx.random.bits(k, (N,), dtype=tx.uint8))
    assert chi2_of_counts(np.bincount(byte % 10, minlength=10)) < ALPHA
    good = np_of(tx.random.randint(k, (N,), 0, 10))
    assert chi2_of_counts(np.bincount(good, minlength=10)) > ALPHA


@pytest.mark.parametrize("p", [0.5, 0.1, 0.9, 0.013])
def test_bernoulli_counts(p):
    """A failure means bernoulli(p) is not True with probability p: `uniform < p` compared
    the wrong way or on a wrong uniform. The count of Trues must pass a two-sided binomial test
    and a chi-square of the two cells."""
    b = np_of(tx.random.bernoulli(tx.random.key(9), p, (N,)))
    assert b.dtype == np.bool_
    ones = int(b.sum())
    assert stats.binomtest(ones, N, p).pvalue > ALPHA
    assert chi2_of_counts(np.array([N - ones, ones]), np.array([1 - p, p])) > ALPHA


def test_bernoulli_extremes_and_array_p():
    """p = 0 is never True and p = 1 always (u < 1 always); an array p gives each element its
    own probability (here two halves with p = 0.2 and p = 0.7)."""
    k = tx.random.key(9)
    assert not np_of(tx.random.bernoulli(k, 0.0, (N,))).any()
    assert np_of(tx.random.bernoulli(k, 1.0, (N,))).all()
    p = np.repeat(np.array([0.2, 0.7], np.float32), N // 2)
    b = np_of(tx.random.bernoulli(k, tx.asarray(p)))
    for half, q in zip((b[: N // 2], b[N // 2:]), (0.2, 0.7)):
        assert stats.binomtest(int(half.sum()), half.size, q).pvalue > ALPHA


# --- bit balance -------------------------------------------------------------------------------
def bit_frequencies(words: np.ndarray, width: int) -> np.ndarray:
    shifts = np.arange(width, dtype=words.dtype)
    return ((words[:, None] >> shifts) & words.dtype.type(1)).mean(axis=0)


@pytest.mark.parametrize("dtype, width", [(tx.uint32, 32), (tx.uint64, 64)])
def test_bit_balance_per_position(dtype, width):
    """A failure means some bit position of `bits` is stuck or biased (a wrong rotation or
    multiplier constant in Philox, a bad word join for uint64): each of the 32 (64) positions
    must be 1 with frequency 0.5 within 5 sigma = 5 * 0.5 / sqrt(n) over 1e6 words."""
    n = 1_000_000
    words = np_of(tx.random.bits(tx.random.key(1), (n,), dtype=dtype))
    freq = bit_frequencies(words, width)
    bound = 5 * 0.5 / math.sqrt(n)
    assert np.abs(freq - 0.5).max() < bound, np.abs(freq - 0.5).argmax()


def test_bit_balance_would_fail_on_a_stuck_bit():
    """The bit-balance check can fail: one bit forced to 0 in 1 word of 50 (frequency 0.49) is
    out of its 5-sigma band of 0.0025, while the true stream is in it."""
    n = 1_000_000
    words = np_of(tx.random.bits(tx.random.key(1), (n,)))
    bad = words.copy()
    bad[::50] &= np.uint32(~(1 << 13) & 0xFFFFFFFF)
    bound = 5 * 0.5 / math.sqrt(n)
    assert np.abs(bit_frequencies(words, 32) - 0.5).max() < bound
    assert abs(bit_frequencies(bad, 32)[13] - 0.5) > bound


# --- independence ------------------------------------------------------------------------------
def max_abs_pairwise_corr(streams: list[np.ndarray]) -> float:
    r = np.corrcoef(np.stack(streams))
    return float(np.abs(r[np.triu_indices(len(streams), 1)]).max())


def test_split_streams_are_uncorrelated():
    """A failure means the keys from split give related streams (sibling rows of one draw
    feeding overlapping counters, or the parent's stream): 8 sibling streams of 1e5 uniforms,
    every pair's |r| below 5 / sqrt(n); the children of a child too."""
    ks = tx.random.split(tx.random.key(2024), 8)
    streams = [np_of(tx.random.uniform(ks[i], (N,))) for i in range(8)]
    grand = tx.random.split(ks[0], 2)
    streams += [np_of(tx.random.uniform(grand[i], (N,))) for i in range(2)]
    assert max_abs_pairwise_corr(streams) < five_sigma_corr(N)


def test_fold_in_streams_are_uncorrelated():
    """A failure means fold_in(key, i) for neighbouring i (step numbers, worker ids) gives
    related streams, or the same stream as a split key of the same parent."""
    k = tx.random.key(2024)
    streams = [np_of(tx.random.uniform(tx.random.fold_in(k, i), (N,))) for i in range(6)]
    streams += [np_of(tx.random.uniform(tx.random.fold_in(k, 2**32 - 1), (N,))),
                np_of(tx.random.uniform(tx.random.split(k, 2)[1], (N,)))]
    assert max_abs_pairwise_corr(streams) < five_sigma_corr(N)


def test_generator_successive_draws_are_uncorrelated():
    """A failure means a Generator's position did not advance past the words a draw used: two
    draws in a row would then repeat or overlap each other."""
    g = tx.random.Generator.from_seed(77)
    a, b = np_of(g.uniform((N,))), np_of(g.uniform((N,)))
    c = np_of(g.normal((N,)))
    assert max_abs_pairwise_corr([a, b, c]) < five_sigma_corr(N)


@pytest.mark.parametrize("lag", [1, 2, 3, 4, 5, 8])
def test_serial_correlation_of_consecutive_words(lag):
    """A failure means consecutive words are related: word i and word i + lag (lags 1-3 within
    a Philox block or across its edge, 4 the same word of the next block, whose counter differs
    by one) must have |r| below 5 / sqrt(n) over 1e6 words."""
    n = 1_000_000
    u = np_of(tx.random.bits(tx.random.key(31), (n,))).astype(np.float64)
    r = np.corrcoef(u[:-lag], u[lag:])[0, 1]
    assert abs(r) < five_sigma_corr(n - lag)


def test_words_of_a_block_are_uncorrelated():
    """A failure means the four words of one Philox block are related (the layout hands them to
    four neighbouring elements): the 4x4 correlation matrix of 250 000 blocks."""
    n = 1_000_000
    w = np_of(tx.random.bits(tx.random.key(31), (n // 4, 4))).astype(np.float64)
    r = np.corrcoef(w.T)
    assert np.abs(r[np.triu_indices(4, 1)]).max() < five_sigma_corr(n // 4)


def test_correlation_checks_would_fail_on_a_reused_key():
    """The independence checks can fail: a key reused gives r = 1, and a stream that takes
    one element in 10 from another stream (a partly shared counter range) gives r = 0.1, far
    above the bound of 0.016 that the split streams pass; a stream that repeats its previous
    word once in 10 has a lag-1 serial correlation of 0.1."""
    k = tx.random.key(2024)
    a = np_of(tx.random.uniform(k, (N,)))
    again = np_of(tx.random.uniform(k, (N,)))
    assert max_abs_pairwise_corr([a, again]) > 0.99
    fresh = np_of(tx.random.uniform(tx.random.fold_in(k, 1), (N,)))
    shared = fresh.copy()
    shared[::10] = a[::10]
    assert max_abs_pairwise_corr([a, fresh]) < five_sigma_corr(N)
    assert max_abs_pairwise_corr([a, shared]) > five_sigma_corr(N)
    sticky = a.copy()  # a stream that repeats its previous word once in 10: lag-1 r = 0.1
    sticky[1::10] = sticky[0::10]
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < five_sigma_corr(N - 1)
    assert abs(np.corrcoef(sticky[:-1], sticky[1:])[0, 1]) > five_sigma_corr(N - 1)


# --- moments and tails of normal --------------------------------------------------------------
@FLOATS
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_normal_moments(dtype, seed):
    """A failure means normal's mean, variance, skewness or excess kurtosis is off N(0, 1)'s
    (0, 1, 0, 0) by more than 5 standard errors at 1e5 samples (sqrt(1/n), sqrt(2/n),
    sqrt(6/n), sqrt(24/n)): a scale error of 2 %, a missing half of the circle, a lopsided
    radius."""
    z = np_of(tx.random.normal(tx.random.key(seed), (N,), dtype=dtype)).astype(np.float64)
    se = {"mean": math.sqrt(1 / N), "var": math.sqrt(2 / N), "skew": math.sqrt(6 / N),
          "kurt": math.sqrt(24 / N)}
    got = {"mean": z.mean(), "var": z.var(ddof=1) - 1.0, "skew": stats.skew(z),
           "kurt": stats.kurtosis(z)}
    for name, value in got.items():
        assert abs(value) < 5 * se[name], (name, value, se[name])


def test_normal_tails_float32():
    """A failure means the float32 tails are wrong: the largest |z| of 1e6 draws must lie
    between 4 (P(|z| > 4) = 6.3e-5: about 63 such draws expected, none only with probability
    e^-63) and the documented cap 5.8 (u1 has 24 bits: sqrt(-2 log 2**-24) = 5.77), and the
    count beyond 3 sigma must be 2 P(z > 3) n = 2700 within 5 sigma."""
    n = 1_000_000
    z = np_of(tx.random.normal(tx.random.key(123), (n,)))
    biggest = float(np.abs(z).max())
    assert 4.0 < biggest < 5.8
    assert biggest <= math.sqrt(-2 * math.log(2.0**-24)) + 1e-5
    p3 = 2 * stats.norm.sf(3.0)
    beyond = int(np.count_nonzero(np.abs(z) > 3.0))
    assert abs(beyond - p3 * n) < 5 * math.sqrt(n * p3 * (1 - p3))


def test_uniform_float32_is_on_its_24_bit_grid_and_hits_both_ends_of_it():
    """A failure means float32 uniform is not `(w >> 8) * 2**-24`: every value is a multiple of
    2**-24, and over 2**20 draws both the smallest grid values (< 2**-12) and the largest
    (> 1 - 2**-12) appear (each expected 256 times)."""
    u = np_of(tx.random.uniform(tx.random.key(8), (2**20,))).astype(np.float64)
    scaled = u * 2.0**24
    assert np.array_equal(scaled, np.floor(scaled))
    assert (u < 2.0**-12).sum() > 100 and (u > 1 - 2.0**-12).sum() > 100


def test_all_pairs_of_keys_above_give_distinct_streams():
    """A failure means two of the test keys (seeds, a split key, a fold_in key) coincide, so
    the tests above would test less than they claim."""
    firsts = [tuple(np_of(tx.random.bits(k, (4,)))) for k in keys()]
    assert all(a != b for a, b in itertools.combinations(firsts, 2))
