"""Optimization passes, each `Graph -> Graph`, run by the explicit pipeline in pipeline.py."""

from .cse import cse
from .dce import dce
from .fuse import can_fuse, fuse, fuse_with_report
from .fold import fold_constants
from .pipeline import (OPTIMIZE, Pass, PassError, PipelineResult, build_pipeline, dump_stages,
                       run_pipeline)
from .licm import licm
from .remat import remat
from .scan_xs import hoist_xs
from .simplify import simplify

__all__ = ["OPTIMIZE", "Pass", "PassError", "PipelineResult", "build_pipeline", "can_fuse", "cse",
           "dce", "dump_stages", "fold_constants", "fuse", "fuse_with_report", "hoist_xs", "licm",
           "remat",
           "run_pipeline", "simplify"]
