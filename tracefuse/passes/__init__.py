"""Optimization passes, each `Graph -> Graph`, run by the explicit pipeline in pipeline.py."""

from .dce import dce
from .pipeline import OPTIMIZE, Pass, PassError, PipelineResult, dump_stages, run_pipeline

__all__ = ["OPTIMIZE", "Pass", "PassError", "PipelineResult", "dce", "dump_stages", "run_pipeline"]
