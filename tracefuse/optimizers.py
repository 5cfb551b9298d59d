"""`tx.optimizers`: `SGD`, `Adam` and `AdamW` with Keras 3's semantics and defaults,
`apply_gradients(zip(grads, variables))` eagerly or inside a compiled step (one fused kernel per
variable, no retrace). The formulas and the rule for building slots are in
`tracefuse/frontend/optimizers.py`.
"""

from .frontend.optimizers import SGD, Adam, AdamW, Optimizer

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
