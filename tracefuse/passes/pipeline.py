"""The pass pipeline: an explicit tuple of named `Graph -> Graph` passes, run in order.

`build_pipeline(options)` makes the optimization pipeline for a set of compile options (any
object with a boolean `fastmath`; the API passes its `CompileOptions`); passes that depend on an
option get it bound with `functools.partial`. `run_pipeline` times each pass, can verify the
graph after each one (on in the test suite), puts the pass name into any exception a pass
raises, and can write the IR after every stage to a folder (`TRACEFUSE_DUMP_DIR`, see
config.py) as numbered `.ir` files.

A pass may also say why it did not do something (fusion's refusals): its `Pass.report` form
returns `(graph, notes)`; `run_pipeline` calls that form and keeps the notes in
`PipelineResult.reports`, beside the graphs, never inside them.

Every pass also runs inside the regions of control-flow ops (`cond`, `while`, `scan`), innermost
first: each pass function is wrapped once by the shared helper in regions.py (`in_regions`,
`in_regions_report`), so a pass called on its own does the same as in the pipeline.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import TracefuseError
from ..ir import Graph
from ..ir.verifier import verify
from .cse import cse
from .dce import dce
from .fuse import fuse, fuse_with_report
from .fold import fold_constants
from .licm import licm
from .scan_xs import hoist_xs
from .remat import remat
from .simplify import simplify

PassFn = Callable[[Graph], Graph]
ReportFn = Callable[[Graph], "tuple[Graph, tuple[str, ...]]"]


@dataclass(frozen=True)
class Pass:
    name: str  # kebab-case, as in `--dump-after=<name>`
    fn: PassFn
    report: ReportFn | None = None  # the same pass, also returning its notes


def build_pipeline(options: Any = None) -> tuple[Pass, ...]:
    """The optimization passes, in order, for `options` (None: the defaults, no fast math)."""
    return _pipeline(bool(getattr(options, "fastmath", False)))


@functools.lru_cache(maxsize=None)
def _pipeline(fastmath: bool) -> tuple[Pass, ...]:
    return (
        Pass("fold-constants", fold_constants),
        Pass("simplify", functools.partial(simplify, fastmath=fastmath)),
        # again: simplify makes constants (int x - x -> 0) whose users fold in turn (a
        # reshape or slice of a constant must not reach a kernel)
        Pass("fold-simplified", fold_constants),
        Pass("cse", cse),
        Pass("licm", licm),  # loop invariants out of while/scan bodies (after cse merged them)
        Pass("hoist-xs", hoist_xs),  # a scan's xs-only work, for all steps before it
        Pass("dce", dce),
        Pass("remat", remat),  # after cse, which would merge the recomputed copies again
        Pass("fuse", fuse, fuse_with_report),  # last: the stage before it is "optimized", after it "fused"
    )


# The default pipeline (no fast math), kept for callers that take no options.
OPTIMIZE: tuple[Pass, ...] = build_pipeline()


class PassError(TracefuseError, RuntimeError):
    """A pass raised: the message names the pass and the function being compiled."""


@dataclass(frozen=True)
class PipelineResult:
    graph: Graph  # the graph after the last pass
    after: tuple[tuple[str, Graph], ...]  # (pass name, graph after it), in order
    seconds: tuple[tuple[str, float], ...]  # (pass name, wall time)
    reports: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (pass name, its notes), if any

    @property
    def fusion_refusals(self) -> tuple[str, ...]:
        """Why ops did not join kernels (`op (file:line): reason`), as the fuse pass said."""
        return dict(self.reports).get("fuse", ())


def run_pipeline(graph: Graph, passes: tuple[Pass, ...] = OPTIMIZE, *,
                 verify_each: bool = False) -> PipelineResult:
    after, seconds, reports = [], [], []
    for p in passes:
        start = time.perf_counter()
        try:
            if p.report is not None:
                graph, notes = p.report(graph)
                reports.append((p.name, tuple(notes)))
            else:
                graph = p.fn(graph)
            if verify_each:
                verify(graph)
        except Exception as e:
            raise PassError(f"pass '{p.name}' failed on @{graph.name}: {type(e).__name__}: {e}") from e
        seconds.append((p.name, time.perf_counter() - start))
        after.append((p.name, graph))
    return PipelineResult(graph, tuple(after), tuple(seconds), tuple(reports))


def dump_stages(folder: str, name: str, stages: list[tuple[str, str]]) -> list[str]:
    """Write each (stage, text) as `<folder>/<name>.<NN>.<stage>.ir`; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, (stage, text) in enumerate(stages):
        path = os.path.join(folder, f"{name}.{i:02d}.{stage}.ir")
        tmp = path + f".tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        paths.append(path)
    return paths
