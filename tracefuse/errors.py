"""The exception and warning classes of tracefuse, and where in the *user's* code an error belongs.

Every error a user can trigger names the file and line of their code that caused it. The
location is found by walking the Python stack to the first frame that is the user's
(`user_location`): not this package, not NumPy (`np.sort(tracer)` reaches us from inside
NumPy's Python code), not the standard library, not the import machinery. So it is right whether
the op ran eagerly or while tracing, called directly or through a library function.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np


def _folder(path: str) -> str:
    return os.path.dirname(os.path.abspath(path)) + os.sep


_PACKAGE_DIR = _folder(__file__)
# code that is never the user's: this package and NumPy (which calls back into our __array__ ...)
_LIBRARY_DIRS = (_PACKAGE_DIR, _folder(np.__file__))
# the standard library (where os.py lives), but not the site-packages folder inside it
_STDLIB_DIR = _folder(os.__file__)
_INSTALLED = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


@dataclass(frozen=True)
class Loc:
    """A source location in user code: `file` (as Python reports it) and `line`."""

    file: str
    line: int

    def short(self) -> str:
        """`model.py:12`: the form printed in IR comments."""
        return f"{os.path.basename(self.file)}:{self.line}"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


UNKNOWN_LOC = Loc("<unknown>", 0)


def _is_internal(filename: str) -> bool:
    """Whether a frame of this file is library code rather than the user's."""
    if filename.startswith(_LIBRARY_DIRS) or filename.startswith("<frozen "):
        return True
    return filename.startswith(_STDLIB_DIR) and not any(d in filename for d in _INSTALLED)


def user_location(skip: int = 1) -> Loc:
    """The innermost stack frame of the user's code: not tracefuse's, NumPy's, the standard
    library's, nor the import machinery's."""
    frame = sys._getframe(skip)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_internal(filename):
            return Loc(filename, frame.f_lineno)
        frame = frame.f_back
    return UNKNOWN_LOC


def _at(loc: Loc | None) -> str:
    return f" (at {loc})" if loc is not None and loc != UNKNOWN_LOC else ""


class TracefuseError(Exception):
    """Base class of tracefuse's own errors (each also derives from the matching builtin)."""


class ShapeError(TracefuseError, ValueError):
    """Shapes that do not fit an op: broadcast mismatch, bad axis, bad reshape."""


class AxisError(ShapeError, IndexError):
    """An axis out of range for the array's dimensions: a ShapeError (ValueError) that is also
    an IndexError, as NumPy's AxisError is (the array API asks for IndexError)."""


class DTypeError(TracefuseError, TypeError):
    """A dtype an op does not accept, or an input that is not an array of a supported dtype."""


class ConcretizationError(TracefuseError, TypeError):
    """A traced value was asked for a concrete Python value (bool, int, float, NumPy array)."""


class IRParseError(TracefuseError, ValueError):
    """The IR text could not be parsed; the message gives the line and column."""


class VerificationError(TracefuseError, ValueError):
    """A graph broke an IR invariant (SSA order, single assignment, types that disagree)."""


class SignatureError(TracefuseError, TypeError):
    """Arguments that do not match a function's `input_signature`, or unhashable static values."""


class BackendUnavailableError(TracefuseError, RuntimeError):
    """The requested backend cannot run here (no device, a library not installed)."""


class CheckError(TracefuseError, AssertionError):
    """`TRACEFUSE_CHECK=1`: a compiled kernel's outputs differ from the reference interpreter's
    (the message names the kernel, its ops, their user lines and the element that differs)."""


class RetraceWarning(UserWarning):
    """A compiled function keeps retracing: some argument changes shape, dtype or static value."""


def concretization_error(what: str, loc: Loc | None) -> ConcretizationError:
    """The error for `bool(t)`, `float(t)`, `np.asarray(t)` ... on a value being traced."""
    return ConcretizationError(
        f"{what} needs a concrete value, but this value is being traced by @tx.function{_at(loc)}.\n"
        "Its value is only known when the compiled function runs. Branch or loop on it with "
        "tx.cond / tx.while_loop / tx.fori_loop, or let AutoGraph convert the Python `if`, "
        "`while` or `for` (tx.function(..., autograph=True), the default; an `and`/`or` outside "
        "an `if` or `while` test is not converted); select per element with tx.where(cond, a, "
        "b); or pass the argument as static (static_argnums=... / static_argnames=...) so its "
        "value is part of the trace."
    )


def with_location(message: str, loc: Loc | None) -> str:
    return message + _at(loc)
