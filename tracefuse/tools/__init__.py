"""Tooling imported only by the command line (`python -m tracefuse bench | fuzz`) and the
tests: the benchmark runner, the differential fuzzer, the vmath fitter and accuracy check.
The runtime never imports this package.
"""
