"""`tx.random`: counter-based random numbers (Philox4x32-10), the same bits eagerly and
compiled on every backend, generated inside fused kernels.

Functional keys, as JAX: `key(seed)` makes a `uint32[2]` key; `split(key, num)` and
`fold_in(key, data)` derive new ones; `bits`, `uniform`, `normal`, `bernoulli`, `randint`,
`permutation` draw from one. `Generator.from_seed(seed)` is a stateful stream (a position
Variable advanced by each draw, also inside `tx.function`). The exact mappings from bits to values are in
`tracefuse/frontend/random.py`; the algorithm and its layout in `tracefuse/ir/philox.py`.
"""

from .frontend.random import (Generator, bernoulli, bits, fold_in, key, normal, permutation,
                              randint, split, uniform)

__all__ = ["Generator", "bernoulli", "bits", "fold_in", "key", "normal", "permutation",
           "randint", "split", "uniform"]
