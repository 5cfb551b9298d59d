"""Array API conformance: data-apis/array-api-tests, at a pinned commit, against tracefuse
eagerly, against the same namespace with every array function compiled
(`tracefuse.tools.compiled_namespace`: each wrapped in `tx.function(..., backend="cpu")`), and
against `array_api_strict`, the reference. Not part of CI (the suite is not on the package index
and a full run takes the better part of an hour per namespace); docs/conformance.md has the
method and the results.

    python benchmarks/conformance.py --suite /path/to/array-api-tests            # all three
    python benchmarks/conformance.py --suite ... --namespace tracefuse -k test_sin
    python benchmarks/conformance.py --suite ... --commit HEAD --out docs/conformance
    python benchmarks/conformance.py --compare docs/conformance/tracefuse.json \\
        docs/conformance/compiled.json                 # the tests that fail only compiled
    python benchmarks/conformance.py --markdown docs/conformance/*.json   # tables for the docs

The suite's checkout needs its `array-api` submodule (the spec's stubs), and its requirements:
`pip install hypothesis ndindex pytest-json-report array-api-strict`. Each namespace runs in
its own pytest process, one worker (no xdist), `--max-examples=20 --disable-deadline
--hypothesis-seed=0` (Hypothesis shrinking off: `--shrink`),
`ARRAY_API_TESTS_VERSION=2023.12`, extensions the namespace lacks disabled, in a fresh
temporary directory (so Hypothesis's example database starts empty and runs compare).

While tracefuse lacks complex dtypes the suite cannot even import it (its dtype tables take the
max over the complex dtypes), so a namespace without `complex64` / `complex128` is given
stand-ins for them: objects that every function refuses, named in the failures they cause. The
JSON says which stand-ins a run used.

Output: a table of counts (passed / failed / skipped / errors) and the failing tests grouped by
cause, each with the first line of its reason; `--out DIR` also writes `DIR/<namespace>.json`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from collections import defaultdict
from importlib import import_module
from pathlib import Path

# data-apis/array-api-tests, newest commit when pinned (2026-04-03, "use int32 not int64 in
# test_elementwise"), and the commit of its array-api submodule (the spec) at that commit
SUITE_COMMIT = "55fcc60179efa2680ddd6cd926ddf17b83530e2b"
SPEC_COMMIT = "5f847a3858875c682ae901aa22b0413bf24be9da"
API_VERSION = "2023.12"
MAX_EXAMPLES = 20
REPO = Path(__file__).resolve().parent.parent

# name -> the module ARRAY_API_TESTS_MODULE imports
NAMESPACES = {
    "tracefuse": "tracefuse",
    "compiled": "tracefuse.tools.compiled_namespace",
    "array_api_strict": "array_api_strict",
}
EXTENSIONS = ("linalg", "fft")
DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float32", "float64", "complex64", "complex128")


# --- the namespace the suite imports (runs inside the pytest process) ----------------------
class MissingDType:
    """Stands for a dtype the namespace lacks, so the suite imports; every use fails."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<missing dtype {self.name}>"


class MissingComplexArray:
    """What `asarray(complex())` gives in a namespace without complex dtypes: the suite reads
    its dtype when it starts (to learn the default complex dtype); anything else fails."""

    dtype = MissingDType("complex128")

    def __getattr__(self, name: str):
        raise AssertionError(f"complex dtypes missing: a complex array has no {name!r}")


def missing_dtypes(module: types.ModuleType) -> list[str]:
    return [n for n in DTYPE_NAMES if not hasattr(module, n)]


def namespace(module_name: str) -> types.ModuleType:
    """The module itself, or, when it lacks dtypes, a module of the same name that has its
    every attribute plus a `MissingDType` for each one missing (and an `asarray` that gives a
    `MissingComplexArray` for a Python complex, when complex dtypes are missing)."""
    module = import_module(module_name)
    missing = missing_dtypes(module)
    if not missing:
        return module
    proxy = types.ModuleType(module.__name__, module.__doc__)
    proxy.__dict__.update({k: v for k, v in vars(module).items() if k != "__getattr__"})
    proxy.__dict__.update({n: MissingDType(n) for n in missing})
    if "complex128" in missing:
        asarray = module.asarray

        def asarray_without_complex(obj, /, *args, **kwargs):
            if isinstance(obj, complex):
                return MissingComplexArray()
            return asarray(obj, *args, **kwargs)

        proxy.asarray = functools.wraps(asarray)(asarray_without_complex)
    return proxy


def pytest_sessionstart(session) -> None:
    """A pytest hook (the suite runs with `-p conformance`): after the suite's conftest loaded
    its Hypothesis profile and before the tests are collected (a `@given` takes the default
    settings when it decorates), the same profile without the shrink and explain phases unless
    CONFORMANCE_SHRINK=1. Shrinking changes no outcome, only how small the failing example
    shown is, and it took most of the run (a failing test shrinks for minutes)."""
    if os.environ.get("CONFORMANCE_SHRINK") == "1":
        return
    from hypothesis import Phase, settings
    phases = tuple(p for p in settings.default.phases if p not in (Phase.shrink, Phase.explain))
    settings.register_profile("conformance-no-shrink", settings.default, phases=phases)
    settings.load_profile("conformance-no-shrink")


# --- running the suite ---------------------------------------------------------------------
def git_head(path: Path) -> str | None:
    r = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, check=False,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def check_suite(suite: Path, any_commit: bool) -> str:
    if not (suite / "array_api_tests").is_dir():
        sys.exit(f"{suite} is not a checkout of data-apis/array-api-tests")
    if not any((suite / "array-api" / "src").glob("*")):
        sys.exit(f"{suite}/array-api is empty: check out the spec submodule at {SPEC_COMMIT}")
    head = git_head(suite)
    if head != SUITE_COMMIT and not any_commit:
        sys.exit(f"{suite} is at {head}, not the pinned {SUITE_COMMIT}; check that out, or "
                 "pass --any-commit (and say so where you quote the counts)")
    return head or "unknown"


def snapshot(rev: str, tmp: Path) -> tuple[Path, str]:
    """The repository's tree at `rev`, exported to a folder (the run reads no later edit)."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    dest = tmp / f"tracefuse-{commit[:12]}"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, commit


def disabled_extensions(module_name: str, source: Path) -> tuple[list[str], list[str]]:
    """(extensions the namespace lacks, dtypes it lacks), asked in a child process that imports
    it from `source`."""
    code = ("import json, sys; from importlib import import_module; "
            f"m = import_module({module_name!r}); "
            f"print(json.dumps([[e for e in {list(EXTENSIONS)!r} if not hasattr(m, e)], "
            f"[d for d in {list(DTYPE_NAMES)!r} if not hasattr(m, d)]]))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(source), check=True,
                         capture_output=True, text=True).stdout
    exts, dtypes = json.loads(out.strip().splitlines()[-1])
    return exts, dtypes


def _env(source: Path, module: str | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(source), str(Path(__file__).resolve().parent)]
                                        + [p for p in [env.get("PYTHONPATH")] if p])
    if module is not None:
        env["ARRAY_API_TESTS_MODULE"] = (
            f"exec('import conformance; xp = conformance.namespace(\"{module}\")')")
        env["ARRAY_API_TESTS_VERSION"] = API_VERSION
    return env


def run_suite(name: str, suite: Path, source: Path, args, tmp: Path) -> dict:
    module = NAMESPACES[name]
    exts, missing = disabled_extensions(module, source)
    report = tmp / f"{name}-report.json"
    work = tmp / f"{name}-cwd"
    work.mkdir()
    cmd = [sys.executable, "-m", "pytest", str(suite / "array_api_tests"),
           f"--rootdir={suite}", "-p", "no:cacheprovider", "-p", "conformance", "-q", "-rN",
           "--continue-on-collection-errors",
           f"--max-examples={args.max_examples}", "--disable-deadline",
           f"--hypothesis-seed={args.seed}",
           "--json-report", f"--json-report-file={report}", "--json-report-omit", "log",
           "streams", "warnings", "keywords"]
    if exts:
        cmd += ["--disable-extension", *exts]
    if args.k:
        cmd += ["-k", args.k]
    started = time.time()
    print(f"[{name}] {' '.join(cmd[3:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=work, env=_env(source, module), capture_output=True, check=False,
                          text=True, timeout=args.timeout)
    seconds = time.time() - started
    if not report.exists():
        sys.exit(f"[{name}] pytest wrote no report (exit {proc.returncode}):\n"
                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    result = summarize(json.loads(report.read_text()))
    result.update(namespace=name, module=module, disabled_extensions=exts,
                  dtype_standins=missing, seconds=round(seconds), max_examples=args.max_examples,
                  api_version=API_VERSION, k=args.k, seed=args.seed, shrink=args.shrink,
                  pytest_exit=proc.returncode)
    return result


# --- reading the report --------------------------------------------------------------------
# (cause, pattern searched in "test id :: reason"), first match wins; the rest are grouped by
# the function the test names. A reason about the complex stand-ins counts only when the test
# has no other (Hypothesis reports each distinct failure of a test).
STANDIN = (r"missing dtype complex|MissingComplexArray|complex dtypes missing|complex64|"
           r"complex128|builds\(complex|Generated elements \[.*\dj[),\]]")
CAUSES: tuple[tuple[str, str], ...] = (
    ("complex dtypes missing (stand-ins)", STANDIN),
    ("name missing from the namespace",
     r"is not defined in|has no attribute|is missing the|not found in array module"),
    ("linalg extension", r"test_linalg\.py"),
    ("fft extension", r"test_fft\.py"),
    ("data-dependent output shape", r"ConcretizationError|data-dependent|value-dependent"),
    ("dlpack", r"dlpack"),
    ("device / to_device", r"to_device|\bdevice\b"),
)
WIDTH = 240  # characters of a reason kept
# an exception line in a traceback, also inside an ExceptionGroup's `|` margin
EXCEPTION = re.compile(r"^[\s|]*((?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*(?:Error|Exception|Exceeded|"
                       r"Argument|Flaky|Failure))(?::.*)?)$")


def first_line(text: str | None, width: int = 10**6) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= width else line[:width - 1] + "…"
    return ""


def exception_lines(longrepr: str | None) -> list[str]:
    """Every distinct exception line of a traceback, in order (`E   ` lines first)."""
    lines = (longrepr or "").splitlines()
    found = [first_line(line[1:]) for line in lines if line.startswith("E ")]
    found += [first_line(m.group(1)) for m in map(EXCEPTION.match, lines) if m]
    return list(dict.fromkeys(x for x in found if x and not x.startswith("ExceptionGroup")))


def reasons_of(part: dict) -> list[str]:
    """The reasons of a failed stage: the crash message, or for an ExceptionGroup (several
    distinct Hypothesis failures) each exception in it."""
    crash = (part.get("crash") or {}).get("message", "")
    if crash and "ExceptionGroup" not in crash.split(":")[0]:
        return [first_line(crash)]
    return exception_lines(part.get("longrepr")) or [first_line(crash)]


def _reasons(test: dict) -> list[str]:
    for stage in ("setup", "call", "teardown"):
        part = test.get(stage) or {}
        if part.get("outcome") in ("failed", "error"):
            return reasons_of(part)
    return []


def _tested_name(nodeid: str) -> str:
    """The function a test names: `test_sin` -> sin; a special case `test_unary[expm1(...)]`
    -> special cases: expm1."""
    test = nodeid.split("::")[-1]
    special = re.match(r"test_\w+\[(\w+)\(", test)
    if "test_special_cases.py" in nodeid and special:
        return f"special cases: {special.group(1)}"
    return re.sub(r"^test_", "", test.split("[")[0])


def cause_of(nodeid: str, reasons: list[str]) -> str:
    own = [r for r in reasons if not re.search(STANDIN, r)] or reasons[:1] or [""]
    text = f"{nodeid} :: {own[0]}"
    for cause, pattern in CAUSES:
        if re.search(pattern, text):
            return cause
    return _tested_name(nodeid)


def summarize(report: dict) -> dict:
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    failures = []
    for test in report.get("tests", []):
        outcome = test["outcome"]
        key = {"error": "errors", "xfailed": "skipped", "xpassed": "passed"}.get(outcome, outcome)
        counts[key] = counts.get(key, 0) + 1
        if outcome in ("failed", "error"):
            failures.append((test["nodeid"], outcome, _reasons(test)))
    for collector in report.get("collectors", []):
        if collector.get("outcome") == "failed":
            counts["errors"] += 1
            failures.append((collector["nodeid"], "collection error",
                             exception_lines(collector.get("longrepr"))[:1]))
    return {"counts": counts, "causes": group(failures)}


def group(failures: list[tuple[str, str, list[str]]]) -> dict[str, list]:
    """{cause: [{test, outcome, reason, other reasons}]}, the largest cause first."""
    by_cause: dict[str, list] = defaultdict(list)
    for nodeid, outcome, reasons in failures:
        own = [r for r in reasons if not re.search(STANDIN, r)]
        first = (own or reasons or [""])[0]
        entry = {"test": nodeid, "outcome": outcome, "reason": first_line(first, WIDTH)}
        if len(reasons) > 1:
            entry["other reasons"] = [first_line(r, WIDTH) for r in reasons if r != first]
        by_cause[cause_of(nodeid, reasons)].append(entry)
    return dict(sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def regroup(path: str) -> None:
    """Group a written run's failures again with the current CAUSES (rewrites the file)."""
    r = json.loads(Path(path).read_text())
    failures = [(t["test"], t["outcome"], [t["reason"], *t.get("other reasons", [])])
                for tests in r["causes"].values() for t in tests]
    r["causes"] = group(failures)
    Path(path).write_text(json.dumps(r, indent=1) + "\n")


def print_result(r: dict, out=sys.stdout) -> None:
    c = r["counts"]
    print(f"\n## {r['namespace']} ({r['module']}): {c['passed']} passed, {c['failed']} failed, "
          f"{c['skipped']} skipped, {c['errors']} errors in {r['seconds']} s", file=out)
    if r["dtype_standins"]:
        print(f"   stand-ins for missing dtypes: {', '.join(r['dtype_standins'])}", file=out)
    if r["disabled_extensions"]:
        print(f"   disabled extensions: {', '.join(r['disabled_extensions'])}", file=out)
    for cause, tests in r["causes"].items():
        print(f"\n{cause}: {len(tests)}", file=out)
        for t in tests:
            print(f"  {t['test']}  --  {t['reason']}", file=out)


def compare(eager_path: str, compiled_path: str) -> None:
    """The tests that fail compiled but pass eagerly, each with its compiled reason."""
    def failing(path):
        r = json.loads(Path(path).read_text())
        return {t["test"]: t["reason"] for tests in r["causes"].values() for t in tests}
    eager, comp = failing(eager_path), failing(compiled_path)
    only = sorted(set(comp) - set(eager))
    print(f"{len(only)} tests fail only compiled ({compiled_path} against {eager_path}); "
          f"{len(set(eager) - set(comp))} fail only eagerly")
    for test in only:
        print(f"  {test}  --  {comp[test]}")


def markdown(paths: list[str], out=sys.stdout) -> None:
    """The counts of several runs as a markdown table, then each run's causes (how many tests,
    and a few reasons), for docs/conformance.md."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    print("| namespace | passed | failed | skipped | errors | seconds |", file=out)
    print("|---|---:|---:|---:|---:|---:|", file=out)
    for r in runs:
        c = r["counts"]
        print(f"| `{r['namespace']}` | {c['passed']} | {c['failed']} | {c['skipped']} | "
              f"{c['errors']} | {r['seconds']} |", file=out)
    for r in runs:
        print(f"\n### `{r['namespace']}`: failures by cause\n", file=out)
        print("| cause | tests | e.g. |", file=out)
        print("|---|---:|---|", file=out)
        for cause, tests in r["causes"].items():
            example = tests[0]["reason"][:150].replace("|", "\\|")
            print(f"| {cause} | {len(tests)} | `{example}` |", file=out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", type=Path, default=Path(os.environ.get(
        "ARRAY_API_TESTS_DIR", "/work/array-api-tests")),
        help="checkout of data-apis/array-api-tests (env ARRAY_API_TESTS_DIR)")
    p.add_argument("--namespace", action="append", choices=sorted(NAMESPACES),
                   help="namespace(s) to run (default: all three)")
    p.add_argument("--max-examples", type=int, default=MAX_EXAMPLES)
    p.add_argument("--seed", type=int, default=0, help="Hypothesis's seed: the same examples "
                   "for every namespace and run (as far as they behave alike)")
    p.add_argument("-k", help="pytest -k expression (a subset; the counts are then partial)")
    p.add_argument("--commit", help="run tracefuse as of this commit (exported to a temporary "
                   "folder), not the working tree")
    p.add_argument("--out", type=Path, help="write <out>/<namespace>.json")
    p.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per namespace")
    p.add_argument("--any-commit", action="store_true", help="run a suite not at the pin")
    p.add_argument("--shrink", action="store_true", help="let Hypothesis shrink failing "
                   "examples (slow: minutes per failing test; the counts are the same)")
    p.add_argument("--compare", nargs=2, metavar=("EAGER_JSON", "COMPILED_JSON"))
    p.add_argument("--markdown", nargs="+", metavar="JSON", help="print runs as markdown tables")
    p.add_argument("--regroup", nargs="+", metavar="JSON",
                   help="group written runs' failures again by the current causes")
    args = p.parse_args(argv)
    for path in args.regroup or ():
        regroup(path)
    if args.regroup:
        return 0
    if args.compare:
        compare(*args.compare)
        return 0
    if args.markdown:
        markdown(args.markdown)
        return 0
    suite_commit = check_suite(args.suite, args.any_commit)
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp_name:
        tmp = Path(tmp_name)
        if args.commit:
            source, commit = snapshot(args.commit, tmp)
        else:
            source, commit = REPO, git_head(REPO)
            dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            commit = f"{commit}{' (with uncommitted changes)' if dirty else ''}"
        for name in args.namespace or list(NAMESPACES):
            result = run_suite(name, args.suite, source, args, tmp)
            result.update(suite_commit=suite_commit, spec_commit=SPEC_COMMIT,
                          tracefuse_commit=commit)
            print_result(result)
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
