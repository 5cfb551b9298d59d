"""`tx.autograph`: AutoGraph, which `tx.function` applies by default (`autograph=True`).

It rewrites a compiled function's Python `if`, `while` and `for` statements so that, when their
condition or iterable is traced, they become `tx.cond`, `tx.while_loop`, `tx.fori_loop` and
`tx.scan`; on concrete Python values they run as plain Python. `to_code(f)` shows the rewritten
source, whose calls go to the helpers named `ag__` (tracefuse.compiler.autograph.runtime).
"""

from .compiler.autograph import to_code

__all__ = ["to_code"]
