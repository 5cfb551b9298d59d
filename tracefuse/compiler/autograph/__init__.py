"""AutoGraph: Python `if`, `while` and `for` on traced values as structured control flow.

`convert.py` rewrites a function's source (`ast`) into calls of the helpers of `runtime.py`,
which run plain Python on concrete values and build `cond` / `while_loop` / `fori_loop` /
`scan` on traced ones. `converted(fn)` is what `tx.function(fn, autograph=True)` traces: the
converted function, made once per Python function and cached, or `fn` itself when it cannot be
converted (no source, a builtin, a generator, no control flow: see `convert.NotConvertible`).
"""

from __future__ import annotations

import types
import warnings
import weakref
from typing import Any

from .convert import NotConvertible, conversion
from .runtime import TxRange

_CACHE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
# why a function with control flow (or one AutoGraph could not even read) was left as it is
_WHY: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
_NO_CONTROL_FLOW = "it has no `if`"


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
        except NotConvertible as e:
            hit = fn
            if not str(e).startswith(_NO_CONTROL_FLOW):
                _WHY[fn] = str(e)
        except (SyntaxError, ValueError, TypeError) as e:  # never break a function that works
            hit = fn
            _WHY[fn] = f"the conversion failed ({type(e).__name__}: {e})"
            code = getattr(fn, "__code__", None)
            where = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
            warnings.warn(f"AutoGraph could not convert {getattr(fn, '__qualname__', fn)!r}"
                          f"{where}: {type(e).__name__}: {e}. It runs as written: a Python "
                          "`if`, `while` or `for` on a traced value raises "
                          "ConcretizationError there. Please report this; write the branch "
                          "with tx.cond / tx.while_loop / tx.fori_loop meanwhile.",
                          stacklevel=3)
        _CACHE[fn] = hit
    return hit


def why_not_converted(fn: Any) -> str | None:
    """Why AutoGraph left `fn` as it is, when it did and `fn` may have control flow to convert
    (no source, a lambda, a conversion that failed); None otherwise. Tracing adds it to a
    `ConcretizationError` raised inside `fn`."""
    fn = getattr(fn, "__func__", fn)
    try:
        return _WHY.get(fn)
    except TypeError:  # not weak-referenceable
        return None


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


__all__ = ["NotConvertible", "TxRange", "converted", "to_code", "tx_range", "why_not_converted"]
