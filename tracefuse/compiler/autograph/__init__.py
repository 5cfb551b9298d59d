"""AutoGraph: Python `if`, `while` and `for` on traced values as structured control flow.

`convert.py` rewrites a function's source (`ast`) into calls of the helpers of `runtime.py`,
which run plain Python on concrete values and build `cond` / `while_loop` / `fori_loop` /
`scan` on traced ones. `converted(fn)` is what `tx.function(fn, autograph=True)` traces: the
converted function, made once per Python function and cached, or `fn` itself when it cannot be
converted (no source, a builtin, a generator, no control flow: see `convert.NotConvertible`).
"""

from __future__ import annotations

import types
import weakref
from typing import Any

from .convert import NotConvertible, conversion
from .runtime import TxRange

_CACHE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def converted(fn: Any) -> Any:
    """`fn` converted (a bound method: its function converted and bound again), or `fn` itself
    when it cannot be. Converted once per function."""
    if isinstance(fn, types.MethodType):
        new = converted(fn.__func__)
        return fn if new is fn.__func__ else types.MethodType(new, fn.__self__)
    try:
        hit = _CACHE.get(fn)
    except TypeError:  # not weak-referenceable (a builtin)
        return fn
    if hit is None:
        try:
            hit = conversion(fn)[0]
        except NotConvertible:
            hit = fn
        except (SyntaxError, ValueError, TypeError):  # never break a function that works
            hit = fn
        _CACHE[fn] = hit
    return hit


def to_code(fn: Any) -> str:
    """The source AutoGraph makes of `fn` (a function, a method, or a `tx.function`); raises
    ValueError saying why when it makes none (then `fn` runs as written)."""
    fn = getattr(fn, "python_function", fn)
    if isinstance(fn, types.MethodType):
        fn = fn.__func__
    try:
        return conversion(fn)[1]
    except NotConvertible as e:
        raise ValueError(f"AutoGraph leaves {getattr(fn, '__qualname__', fn)!r} as it is: "
                         f"{e}") from None


def tx_range(*args: Any) -> TxRange:
    """`tx.range(stop)` / `tx.range(start, stop[, step])`: see `runtime.TxRange`."""
    return TxRange(*args)


__all__ = ["NotConvertible", "TxRange", "converted", "to_code", "tx_range"]
