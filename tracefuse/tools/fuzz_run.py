"""The differential fuzzer's driver: which backends to compare, checking one program on every
mode (`check_program`), shrinking a failure to a minimal program (`minimize`), the bugs known
and not fixed (`known_bug`), and `python -m tracefuse fuzz --minutes N` (`main`). The programs,
their comparison rules and scripts are fuzz.py's."""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
import traceback
from collections.abc import Sequence

from .fuzz import Program, RandomChooser, generate


def available_backends(wanted: Sequence[str] = ("numpy", "cpu", "gpu-sim", "gpu")) -> list[str]:
    from ..backends import get_backend

    out = []
    for b in wanted:
        try:
            if get_backend(b).unavailable() is None:
                out.append(b)
        except Exception:  # noqa: BLE001
            pass
    return out


# Bugs found by the fuzzer and not fixed yet, each with a strict-xfail regression test in
# tests/fuzz/test_regressions.py. `known_bug` recognizes a failure as one of them, so the CI
# test skips it and the CLI labels it. Remove an entry when its bug is fixed.
def known_bug(prog: Program, mode: str, message: str) -> str | None:
    """The name of the known, unfixed bug this failure of `mode` is, or None."""
    del prog, mode, message  # none open now (the last, view-of-simplified-constant, is fixed)
    return None


def check_program(prog: Program, modes: Sequence[str]) -> tuple[str, str] | None:
    """None if every mode agrees with NumPy, else ("mismatch"|"error", message)."""
    expected = prog.expected()
    for mode in modes:
        try:
            msg = prog.check(mode, expected)
        except Exception as e:  # noqa: BLE001
            return "error", f"{mode}: raised {type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}"
        if msg:
            return "mismatch", msg
    return None


def _subprogram(prog: Program, outputs: list[int]) -> Program:
    """`prog` with only `outputs` returned and the steps they do not need dropped."""
    k = len(prog.inputs)
    live = set(outputs)
    for i in range(len(prog.steps) - 1, -1, -1):
        if k + i in live:
            live.update(prog.steps[i].args)
    keep_in = [i for i in range(k) if i in live]
    keep_in = keep_in or [0]
    keep_steps = [i for i in range(len(prog.steps)) if k + i in live]
    remap = {old: new for new, old in enumerate(keep_in)}
    remap.update({k + old: len(keep_in) + new for new, old in enumerate(keep_steps)})
    steps = [dataclasses.replace(prog.steps[i], args=tuple(remap[a] for a in prog.steps[i].args))
             for i in keep_steps]
    tols = [prog.tols[prog.outputs.index(o)] for o in outputs]
    return Program([prog.inputs[i] for i in keep_in], steps, [remap[o] for o in outputs], tols)


def minimize(prog: Program, modes: Sequence[str], kind: str) -> Program:
    """Greedily drop results (and the steps only they need) while the program still fails the
    same way ("mismatch" or "error"): the CLI's cheap stand-in for hypothesis's shrinking."""
    import warnings

    def fails(p: Program) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = check_program(p, modes)
            except Exception:  # noqa: BLE001
                return False
        return r is not None and r[0] == kind

    changed = True
    while changed and len(prog.outputs) > 1:
        changed = False
        for o in list(prog.outputs):
            cand = _subprogram(prog, [x for x in prog.outputs if x != o])
            if fails(cand):
                prog, changed = cand, True
                break
    return prog


def main(args: argparse.Namespace) -> int:
    """`python -m tracefuse fuzz`: random programs for `args.minutes` minutes."""
    import warnings

    warnings.simplefilter("ignore")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    modes = ["eager"] + backends
    seed = args.seed if args.seed is not None else int(time.time())
    os.makedirs(args.out, exist_ok=True)
    rnd = random.Random(seed)
    print(f"fuzz: seed {seed}, modes {modes}, {args.minutes} minutes, cases -> {args.out}", flush=True)
    start = time.time()
    deadline = start + args.minutes * 60
    tried = mismatches = errors = gen_failures = known_count = 0
    last = start
    while time.time() < deadline:
        prog_seed = rnd.getrandbits(32)
        tried += 1
        try:
            prog = generate(RandomChooser(random.Random(prog_seed)))
            result = check_program(prog, modes)
        except Exception:  # noqa: BLE001 - a fuzzer bug: report it, keep going
            print(f"  generator failed on program seed {prog_seed}:\n{traceback.format_exc()}", flush=True)
            gen_failures += 1
            continue
        if result:
            what, msg = result
            mismatches += what == "mismatch"
            errors += what == "error"
            small = minimize(prog, modes, what)
            if small is not prog:
                msg = (check_program(small, modes) or result)[1]
                prog = small
            path = os.path.join(args.out, f"{what}_{seed}_{tried}.py")
            with open(path, "w") as f:
                f.write(prog.script(modes, note=f"{what} (fuzz seed {seed}, program {tried}, "
                                    f"program seed {prog_seed}):\n{msg}"))
            known = known_bug(prog, msg.split(":", 1)[0], msg)
            known_count += known is not None
            print(f"  {what}{f' [known: {known}]' if known else ''}: {msg.splitlines()[0][:200]} "
                  f"-> {path}", flush=True)
        if time.time() - last > 15:
            last = time.time()
            print(f"  {last - start:6.0f} s: {tried} programs, {mismatches} mismatches, {errors} errors "
                  f"({known_count} of them known bugs)", flush=True)
    print(f"fuzz done: {tried} programs in {time.time() - start:.0f} s, {mismatches} mismatches, "
          f"{errors} errors ({known_count} of them known bugs), {gen_failures} generator failures "
          f"(seed {seed})", flush=True)
    return 1 if (mismatches or errors) else 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--minutes", type=float, default=1.0, help="how long to run (default 1)")
    p.add_argument("--backends", default="numpy,cpu,gpu-sim", help="compiled backends to compare")
    p.add_argument("--seed", type=int, default=None, help="seed of the random driver (default: time)")
    p.add_argument("--out", default="fuzz-cases", help="folder for the mismatching programs' scripts")


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
