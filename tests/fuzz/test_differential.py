"""Differential fuzzing in CI: random programs (tracefuse/fuzz.py) agree with NumPy eagerly and
on every available backend.

hypothesis draws a program of 1-30 ops over 1-3 inputs (random dtypes, shapes from a small pool,
non-contiguous layouts, NaN/inf/-0.0 and integer extremes), runs it on NumPy, eagerly, and
compiled on `numpy` and `gpu-sim` (every example), `cpu` (Numba: one example in four, its
kernels are the slow ones to build) and `gpu` when a device is present. Derandomized: the same
programs every run. A failure that `fuzz_run.known_bug` recognizes (an unfixed bug with a strict
xfail in test_regressions.py) is counted as a hypothesis event, not failed. A failure shrinks to a minimal program and prints it as a runnable script.
The long run is `python -m tracefuse fuzz --minutes N` (docs/reliability.md).
"""

import os
import traceback
import warnings

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from tracefuse.tools import fuzz, fuzz_run

MAX_EXAMPLES = int(os.environ.get("TRACEFUSE_FUZZ_EXAMPLES", "400"))  # ~2 min cold (docs/reliability.md)
ALWAYS = fuzz_run.available_backends(("numpy", "gpu-sim", "gpu"))
SOMETIMES = fuzz_run.available_backends(("cpu",))


@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(fuzz.programs(), st.integers(0, 3))
def test_random_programs_agree_with_numpy(program, pick):
    modes = ["eager"] + ALWAYS + (SOMETIMES if pick == 0 else [])
    note(program.script(modes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = program.expected()
        for mode in modes:
            try:
                msg = program.check(mode, expected)
            except Exception as e:  # noqa: BLE001
                msg = f"{mode}: raised {type(e).__name__}: {e}\n{traceback.format_exc()}"
            if msg is None:
                continue
            known = fuzz_run.known_bug(program, mode, msg)
            if known:  # a strict xfail in test_regressions.py tracks it
                event(f"known bug: {known.split(' ')[0]}")
                continue
            raise AssertionError(msg + "\n\nreproduce with:\n" + program.script(modes))
