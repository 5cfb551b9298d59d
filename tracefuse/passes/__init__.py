"""Optimization passes, each `Graph -> Graph`, run by the explicit pipeline in pipeline.py."""

from .cse import cse
from .dce import dce
from .fuse import can_fuse, fuse
from .fold import fold_constants
from .pipeline import (OPTIMIZE, Pass, PassError, PipelineResult, build_pipeline, dump_stages,
                       run_pipeline)
from .simplify import simplify

__all__ = ["OPTIMIZE", "Pass", "PassError", "PipelineResult", "build_pipeline", "can_fuse", "cse",
           "dce", "fuse",
           "dump_stages", "fold_constants", "run_pipeline", "simplify"]
