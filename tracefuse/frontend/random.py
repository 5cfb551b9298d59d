"""Random numbers from counter-based Philox keys (`tx.random`): `key`, `split`, `fold_in`,
`bits`, `uniform`, `normal`, `bernoulli`, `randint`, `permutation`.

A key is a `uint32[2]` array, JAX's raw key layout; nothing is stateful. Every draw is built
from `random_bits` ops (ir/philox.py: Philox4x32-10, element `i` is word `i % 4` of block
`i // 4`), so a draw computes the same bits eagerly, compiled, on every backend and at every
shape split, and inside `tx.function` it fuses with what reads it (each element computes its
own counter). The mappings from bits to values, the same everywhere (`docs/user-guide.md`,
"Random numbers"):

- `bits`: the words themselves (uint32); uint64 joins two words (`w0 << 32 | w1`), uint8 and
  uint16 keep the low bits of one.
- a draw of n elements needing k words per element reads words `[j m, j m + n)` as its j-th
  word, m = n rounded up to a multiple of 4 (the op's offset): disjoint, aligned to Philox
  blocks, and the first word of a one-word draw is `bits(key, shape)`.
- `uniform`: float32 `(w >> 8) * 2**-24`, float16 `(w >> 21) * 2**-11`, float64
  `((w0 >> 5) * 2**26 + (w1 >> 6)) * 2**-53`: every value of [0, 1) on that grid, equally
  likely, exact in its dtype; then `minval + u * (maxval - minval)`, kept below `maxval`.
- `normal`: Box-Muller on two uniforms, `sqrt(-2 log(1 - u1)) * cos(2 pi u2)` (computed in
  float32 for float16); the tails stop at 5.8 sigma in float32 (u1 has 24 bits), 8.6 in float64.
- `bernoulli`: `uniform(key, shape) < p`.
- `randint`: for 8- to 32-bit dtypes `minval + (w * span) >> 32` (Lemire's multiply-shift,
  one word, bias below span / 2**32); for 64-bit ones `minval + (w0 << 32 | w1) % span`.
- `split(key, num)`: the rows of `bits(key, (num, 2))`; `fold_in(key, data)`: the words at
  offset `4 * data` (the block with counter `data`), as JAX's threefry `fold_in` hashes the data
  as a counter. Use a key once: to draw, or to split, never both (JAX's rule too).
- `Generator`: one key and a position (a uint64 `tx.Variable`): a draw reads the stream from
  the position (as offset) and advances it by the k m words it used, eagerly and inside
  `tx.function` alike (the Variable is captured, so the position never retraces).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DTypeError, user_location, with_location
from ..ir import Attrs, OpCode
from ..ir import dtypes as dt
from ..tracer.tracer import Tracer
from .creation import asarray
from .dispatch import bind
from .elementwise import (add, astype, bitwise_and, bitwise_left_shift, bitwise_or,
                          bitwise_right_shift, cos, greater, less, log1p, multiply,
                          negative, nextafter, remainder, sqrt, subtract, where)
from .indexing import take
from .manipulation import getitem, stack
from .sorting import argsort
from .tensor import Tensor
from .variable import Variable

G = OpCode
MASK32 = 0xFFFFFFFF
TWO_PI = 2.0 * math.pi


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int) or hasattr(shape, "__index__"):
        shape = (operator.index(shape),)
    shape = tuple(operator.index(d) for d in shape)
    if any(d < 0 for d in shape):
        raise ValueError(with_location(f"negative dimensions are not allowed: {shape}",
                                       user_location()))
    return shape


def _dtype_of(x: Any):
    return x.dtype if isinstance(x, (Tensor, Tracer)) else None


def _check_key(key: Any, fn: str) -> None:
    d, shape = _dtype_of(key), getattr(key, "shape", None)
    if d != dt.uint32 or tuple(shape) != (2,):
        got = f"{d.name}{list(shape)}" if d is not None else type(key).__name__
        raise DTypeError(with_location(
            f"tx.random.{fn}: the key must be a uint32[2] array from tx.random.key(seed), "
            f"split or fold_in, got {got}. (Under tx.vmap a batch of keys, uint32[n, 2], "
            "is mapped one key at a time.)", user_location()))


def _float_dtype(dtype: Any, fn: str):
    d = dt.as_dtype(dtype)
    if not d.is_float:
        raise DTypeError(with_location(f"tx.random.{fn}: dtype must be a floating-point dtype, "
                                       f"got {d.name}", user_location()))
    return d


def _words(key, shape: tuple[int, ...], count: int, base: Any = None) -> list:
    """`count` uint32 arrays of `shape`, the j-th from the counters [j n, (j + 1) n) after
    `base` (a uint64 scalar: a Generator's position; None: 0), n the number of elements."""
    k0, k1 = getitem(key, 0), getitem(key, 1)
    stride = _stride(shape)
    out = []
    for j in range(count):
        offset = np.uint64(j * stride)
        if base is not None:
            offset = add(base, offset) if j else base
        out.append(bind(G.RANDOM_BITS, (k0, k1, offset), Attrs(shape=shape)))
    return out


def _stride(shape: tuple[int, ...]) -> int:
    """Words between the streams of one draw: its size rounded up to whole Philox blocks."""
    return -(-math.prod(shape) // 4) * 4


# --- keys -----------------------------------------------------------------------------------------
def key(seed: Any) -> Any:
    """A key, `uint32[2]` = `(seed & 0xffffffff, seed >> 32)` of the seed as a 64-bit two's
    complement integer (a Python int, or an integer scalar array, traced or not)."""
    if isinstance(seed, (bool, np.bool_)) or not (
            isinstance(seed, (int, np.integer)) or _dtype_of(seed) is not None):
        raise DTypeError(with_location(f"tx.random.key: the seed must be an integer, got "
                                       f"{type(seed).__name__}", user_location()))
    if isinstance(seed, (int, np.integer)):
        s = int(seed) & ((1 << 64) - 1)
        return asarray(np.array([s & MASK32, s >> 32], np.uint32))
    if not seed.dtype.is_integer or tuple(seed.shape) != ():
        raise DTypeError(with_location(f"tx.random.key: the seed must be an integer scalar, "
                                       f"got {seed.dtype.name}{list(seed.shape)}",
                                       user_location()))
    s = astype(seed, dt.uint64)  # a negative int64 wraps: its two's complement
    return stack([astype(bitwise_and(s, np.uint64(MASK32)), dt.uint32),
                  astype(bitwise_right_shift(s, np.uint64(32)), dt.uint32)])


def split(key: Any, num: int = 2) -> Any:
    """`num` new keys, `uint32[num, 2]`: the rows of `bits(key, (num, 2))`."""
    _check_key(key, "split")
    return bits(key, (operator.index(num), 2))


def fold_in(key: Any, data: Any) -> Any:
    """A new key from `key` and an integer `data` (a step number, a worker id): the first two
    words of the block with counter `data` (data taken as uint32, as JAX does)."""
    _check_key(key, "fold_in")
    if isinstance(data, (int, np.integer)):
        offset = np.uint64((int(data) & MASK32) * 4)
    else:
        offset = multiply(astype(astype(data, dt.uint32), dt.uint64), np.uint64(4))
    k0, k1 = getitem(key, 0), getitem(key, 1)
    return bind(G.RANDOM_BITS, (k0, k1, offset), Attrs(shape=(2,)))


# --- draws ----------------------------------------------------------------------------------------
def bits(key: Any, shape: Any = (), dtype: Any = dt.uint32) -> Any:
    """Random bits of `shape`: uint32 element `i` is word `i % 4` of the Philox4x32-10 block
    `i // 4` (`bits(key(0), (4,))` is the published 6627e8d5 e169c58d bc57ac4c 9b00dbd8);
    uint64 joins two words, uint8 / uint16 keep the low bits of one."""
    _check_key(key, "bits")
    return _bits(key, _shape(shape), dtype)


def _bits(key, shape, dtype, base=None):
    d = dt.as_dtype(dtype)
    if d.kind != "u":
        raise DTypeError(with_location(f"tx.random.bits: dtype must be unsigned, got {d.name}",
                                       user_location()))
    if d == dt.uint64:
        w0, w1 = _words(key, shape, 2, base)
        return bitwise_or(bitwise_left_shift(astype(w0, dt.uint64), np.uint64(32)),
                          astype(w1, dt.uint64))
    (w,) = _words(key, shape, 1, base)
    return w if d == dt.uint32 else astype(w, d)


def _top(word, bits: int, d):
    """The top `bits` bits of a word as a float of dtype `d`, exactly: through int32 (they fit),
    whose conversion to float is one vector instruction; uint32's is a sequence of them."""
    return astype(astype(bitwise_right_shift(word, np.uint32(32 - bits)), dt.int32), d)


def _unit(words: Sequence, d) -> Any:
    """[0, 1) in dtype `d` from the words (module docstring)."""
    if d == dt.float64:
        hi, lo = _top(words[0], 27, dt.float64), _top(words[1], 26, dt.float64)
        return multiply(add(multiply(hi, 2.0 ** 26), lo), 2.0 ** -53)
    if d == dt.float16:
        return astype(multiply(_top(words[0], 11, dt.float32), 2.0 ** -11), dt.float16)
    return multiply(_top(words[0], 24, dt.float32), 2.0 ** -24)


def _per_value(d) -> int:
    return 2 if d == dt.float64 else 1


def uniform(key: Any, shape: Any = (), dtype: Any = dt.float32, minval: Any = 0.0,
            maxval: Any = 1.0) -> Any:
    """Uniform values in [minval, maxval) (module docstring for the exact mapping)."""
    _check_key(key, "uniform")
    return _uniform(key, _shape(shape), _float_dtype(dtype, "uniform"), minval, maxval)


def _uniform(key, shape, d, minval=0.0, maxval=1.0, base=None):
    u = _unit(_words(key, shape, _per_value(d), base), d)
    if _is_python(minval, 0.0) and _is_python(maxval, 1.0):
        return u
    lo, hi = _as(minval, d), _as(maxval, d)
    value = add(lo, multiply(u, subtract(hi, lo)))
    return where(less(value, hi), value, nextafter(hi, lo))  # rounding never reaches maxval


def _is_python(x, value) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == value


def _as(x, d):
    """A bound in dtype `d` (a Python number as a 0-d array of `d`, so nextafter steps in d)."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return np.asarray(x, d.np)
    return astype(x, d)


def normal(key: Any, shape: Any = (), dtype: Any = dt.float32) -> Any:
    """Standard normal values (Box-Muller on two uniforms; module docstring)."""
    _check_key(key, "normal")
    return _normal(key, _shape(shape), _float_dtype(dtype, "normal"))


def _normal(key, shape, d, base=None):
    work = dt.float32 if d == dt.float16 else d
    k = _per_value(work)
    words = _words(key, shape, 2 * k, base)
    u1, u2 = _unit(words[:k], work), _unit(words[k:], work)
    radius = sqrt(multiply(log1p(negative(u1)), -2.0))  # 1 - u1 in (0, 1]: log is finite
    z = multiply(radius, cos(multiply(u2, TWO_PI)))
    return z if work == d else astype(z, d)


def bernoulli(key: Any, p: Any = 0.5, shape: Any = None) -> Any:
    """Booleans that are True with probability `p` (`uniform(key, shape) < p`); `shape`
    defaults to `p`'s."""
    _check_key(key, "bernoulli")
    pd = _dtype_of(p)
    if shape is None:
        shape = tuple(p.shape) if pd is not None else ()
    d = pd if pd is not None and pd.is_float else dt.float32
    return less(_uniform(key, _shape(shape), d), p)


def randint(key: Any, shape: Any, minval: Any, maxval: Any, dtype: Any = dt.int32) -> Any:
    """Integers in [minval, maxval) (broadcasting arrays or Python ints), nearly uniform:
    module docstring for the mapping and its bias; where maxval <= minval, minval."""
    _check_key(key, "randint")
    shape, d = _shape(shape), dt.as_dtype(dtype)
    if not d.is_integer:
        raise DTypeError(with_location(f"tx.random.randint: dtype must be an integer dtype, "
                                       f"got {d.name}", user_location()))
    lo = minval if isinstance(minval, int) else astype(minval, dt.int64)
    hi = maxval if isinstance(maxval, int) else astype(maxval, dt.int64)
    if isinstance(lo, int) and isinstance(hi, int):
        info = np.iinfo(d.np)
        lo, hi = max(lo, int(info.min)), min(hi, int(info.max) + 1)
        span = np.uint64(max(hi - lo, 0))
        low = np.int64(lo) if lo <= np.iinfo(np.int64).max else np.uint64(lo)
    else:
        diff = subtract(hi, lo)
        span = astype(where(greater(diff, 0), diff, 0), dt.uint64)
        low = lo
    if d.itemsize <= 4:
        (w,) = _words(key, shape, 1)
        r = bitwise_right_shift(multiply(astype(w, dt.uint64), span), np.uint64(32))
    else:
        w0, w1 = _words(key, shape, 2)
        x = bitwise_or(bitwise_left_shift(astype(w0, dt.uint64), np.uint64(32)),
                       astype(w1, dt.uint64))
        r = remainder(x, where(greater(span, np.uint64(0)), span, np.uint64(1)))
    if d.kind == "u":
        return astype(add(astype(low, dt.uint64), r), d)
    return astype(add(astype(r, dt.int64), low), d)


def permutation(key: Any, x: Any, axis: int = 0) -> Any:
    """A random permutation of `arange(x)` (an int) or of `x` along `axis`: the order that
    sorts `bits(key, (n,))` (a stable sort, so the rare equal draws keep their order), eager
    and compiled alike (a sort and a gather: library calls)."""
    _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)):
        n = operator.index(x)
        return argsort(bits(key, (n,)), stable=True)
    n = x.shape[axis]
    return take(x, argsort(bits(key, (n,)), stable=True), axis=axis)


class Generator:
    """A stream of random numbers over one key, with a position that each draw advances: its
    state is a `tx.Variable` (uint64), updated in place eagerly and inside `tx.function` (the
    compiled function reads and writes it back: no retrace). `Generator.from_seed(seed)` or
    `Generator(key)`. Create it outside compiled functions (a Variable cannot be created in a
    trace); a draw inside a control-flow body (a `fori_loop`, a converted `for`) is not
    supported yet: the Variable cannot be assigned there."""

    def __init__(self, key: Any, position: int = 0):
        _check_key(key, "Generator")
        self.key = key
        self.state = Variable(np.uint64(position), name="generator_position", trainable=False)

    @classmethod
    def from_seed(cls, seed: int) -> Generator:
        return cls(key(seed))

    def _take(self, shape: tuple[int, ...], words: int):
        """The position to draw from, advanced past the `words` streams of `shape`."""
        base = self.state.value()
        self.state.assign_add(np.uint64(words * _stride(shape)))
        return base

    def bits(self, shape: Any = (), dtype: Any = dt.uint32) -> Any:
        shape, d = _shape(shape), dt.as_dtype(dtype)
        return _bits(self.key, shape, d, self._take(shape, 2 if d == dt.uint64 else 1))

    def uniform(self, shape: Any = (), minval: Any = 0.0, maxval: Any = 1.0,
                dtype: Any = dt.float32) -> Any:
        shape, d = _shape(shape), _float_dtype(dtype, "Generator.uniform")
        return _uniform(self.key, shape, d, minval, maxval, self._take(shape, _per_value(d)))

    def normal(self, shape: Any = (), mean: Any = 0.0, stddev: Any = 1.0,
               dtype: Any = dt.float32) -> Any:
        shape, d = _shape(shape), _float_dtype(dtype, "Generator.normal")
        work = dt.float32 if d == dt.float16 else d
        z = _normal(self.key, shape, d, self._take(shape, 2 * _per_value(work)))
        if _is_python(mean, 0.0) and _is_python(stddev, 1.0):
            return z
        return add(multiply(z, _as(stddev, d)), _as(mean, d))

    def __repr__(self) -> str:
        k = self.key.numpy() if isinstance(self.key, Tensor) else self.key
        return f"tx.random.Generator(key={list(map(int, k))}, position={int(self.state.numpy())})"


__all__ = ["Generator", "bernoulli", "bits", "fold_in", "key", "normal", "permutation",
           "randint", "split", "uniform"]
