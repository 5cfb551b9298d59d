"""The front end: the eager `Tensor`, the array-API functions by family, and `bind`, which
runs an op at once or records it into the trace in progress.

Modules, bottom to top: `device` (where arrays live), `tensor` (Tensor), `dispatch` (bind),
`functions` (elementwise, reductions, matmul), `manipulation` (shapes and indexing), `creation`,
`dtypes` (the data type functions). This package's namespace is the table of functions the
operators of Tensor and Tracer call (tracer/operators.py).
"""

from __future__ import annotations

from .creation import *  # noqa: F401,F403
from .dtypes import *  # noqa: F401,F403
from .functions import *  # noqa: F401,F403
from .manipulation import *  # noqa: F401,F403
from .manipulation import getitem  # noqa: F401
