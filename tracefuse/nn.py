"""`tx.nn`: activations (`relu`, `gelu`, `sigmoid`, `softplus`, `silu`), the softmax family
(`softmax`, `log_softmax`, `logsumexp`), `one_hot`, and the per-example losses
`softmax_cross_entropy` and `sparse_softmax_cross_entropy`.

Each is built from the package's array functions, so it runs eagerly, compiles and fuses in
`tx.function`, and works under `tx.grad`, `tx.vmap` and the tape; each is stable for inputs of
+-1000. The formulas and conventions are in `tracefuse/frontend/nn.py` and in
`docs/user-guide.md`, "tx.nn".
"""

from .frontend.nn import (gelu, log_softmax, logsumexp, one_hot, relu, sigmoid, silu, softmax,
                          softmax_cross_entropy, softplus, sparse_softmax_cross_entropy)

__all__ = ["gelu", "log_softmax", "logsumexp", "one_hot", "relu", "sigmoid", "silu", "softmax",
           "softmax_cross_entropy", "softplus", "sparse_softmax_cross_entropy"]
