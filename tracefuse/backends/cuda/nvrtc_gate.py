"""The NVRTC compile gate (TESTING.md tier 1): generated CUDA C must compile *to cubin*.

This module owns compiling a CUDA C source to a cubin with NVRTC, without a GPU, and the
memo of sources that already passed. It does not own the compile options: the CUDA renderer
owns the options the runtime passes, and hands them in as `options` (the gate adds only
`--gpu-architecture=<arch>`, and `--ptxas-options=-v` when `verbose=True`).

Why cubin and not PTX: a kernel that needs more shared memory than the architecture allows,
or has some other resource error, still gives valid PTX; only the ptxas step (which NVRTC runs
when the architecture is a real `sm_XX`) rejects it. Register spills are not errors; they show
in the ptxas report that `compile_cubin(..., verbose=True)` returns and `resource_usage` reads.

What it needs: `pip install -e '.[gate]'`, i.e. `cuda-bindings` (13.x, the Python bindings,
which pull in `cuda-pathfinder`) and `nvidia-cuda-nvrtc` (13.x, the library: `libnvrtc.so.13`
in `site-packages/nvidia/cu13/lib`). `cuda.bindings.nvrtc` loads libnvrtc on its first call
through `cuda.pathfinder.load_nvidia_dynamic_lib("nvrtc")`, which looks, in order: already
loaded in the process, NVIDIA wheels in site-packages, `$CONDA_PREFIX`, the system loader
(`LD_LIBRARY_PATH`, ldconfig), then `$CUDA_PATH` / `$CUDA_HOME`. No device and no driver are
needed. `unavailable()` says what to install when it fails. (CuPy's `compile_using_nvrtc`
is not used: it queries a device even with an explicit arch.)

API:

- `unavailable() -> str | None`
- `compile_cubin(source, arch="sm_90", options=(), name="kernel.cu", verbose=False)` -> the
  cubin bytes (an ELF file), or `(cubin, log)` with `verbose=True`; raises `NvrtcCompileError`
  (a `RuntimeError`) with the arch, the options, the full NVRTC log, the source's
  `// from FILE:LINE` lines (the user's code the kernel came from) and the source lines the log
  points at.
- `check_sources(sources, archs=("sm_80", "sm_90"), options=()) -> int`: compiles each distinct
  source for each arch unless it passed before (an in-process memo, and a file per passed key
  in `<cache dir>/nvrtc`, keyed by the SHA-256 of NVRTC's version, arch, options and source);
  returns how many compiles ran and raises on the first failure. A memo file that is not
  exactly the line written for it (truncated, zeroed) is removed with a warning and the source
  compiled again; a memo folder others can write to is refused (kernel_cache.private_folder).
- `check_batch(sources, combine, archs, options) -> int`: the same for many sources merged
  into one program per arch (half the cost per kernel); a failing merge is retried source by
  source so the error names the failing kernel.
- `resource_usage(log)`: the ptxas `-v` report parsed per kernel (registers, spills, smem).

Thread safety: each compile uses its own NVRTC program (NVRTC allows concurrent calls on
distinct programs); the memo is guarded by a lock; disk memo files are written atomically.

Cost, measured on the 2-core CI machine with NVRTC 13.5 (cuda-bindings 13.5.0), median of 7:
loading libnvrtc about 30 ms once per process; per compile, per arch: a grid-stride
elementwise kernel with `expf` 36 ms (sm_80) / 39 ms (sm_90), a shuffle + shared-memory
block reduction 38 / 41 ms, a syntax error 7 ms, a shared-memory overflow rejected by ptxas
22-28 ms. So one source for sm_80 and sm_90 costs about 80 ms; a memo hit costs a hash and
a `stat`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Iterable, Sequence
from typing import Literal, overload

from ... import config

__all__ = [
    "NvrtcCompileError",
    "check_sources",
    "clear_memo",
    "compile_cubin",
    "resource_usage",
    "unavailable",
]

INSTALL_HINT = "pip install 'cuda-bindings>=13.0,<14' 'nvidia-cuda-nvrtc>=13.0,<14'"
_GATE_VERSION = "1"  # bump to invalidate every on-disk memo entry
_ARCH_RE = re.compile(r"^sm_\d+[af]?$")
_ARCH_OPTIONS = ("--gpu-architecture", "-arch")
_ELF_MAGIC = b"\x7fELF"

_memo: set[str] = set()
_lock = threading.Lock()


class NvrtcCompileError(RuntimeError):
    """A source that NVRTC (front end or ptxas) rejected. Attributes: `arch`, `options`,
    `log` (NVRTC's full log), `source`, `result` (the nvrtcResult's name)."""

    def __init__(self, message: str, *, arch: str, options: Sequence[str], log: str,
                 source: str, result: str):
        super().__init__(message)
        self.arch, self.options, self.log = arch, tuple(options), log
        self.source, self.result = source, result


@functools.lru_cache(maxsize=1)
def _nvrtc_or_reason() -> tuple[object | None, str, str | None]:
    """(the `cuda.bindings.nvrtc` module, NVRTC's version, None) or (None, "", why not)."""
    try:
        from cuda.bindings import nvrtc
    except Exception as e:  # noqa: BLE001 - ImportError, or a broken install
        return None, "", f"cuda.bindings.nvrtc does not import ({type(e).__name__}: {e})"
    try:
        result, major, minor = nvrtc.nvrtcVersion()  # the first call loads libnvrtc
    except Exception as e:  # noqa: BLE001 - pathfinder's DynamicLibNotFoundError, OSError
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return None, "", f"libnvrtc does not load ({type(e).__name__}: {first})"
    if result != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        return None, "", f"nvrtcVersion failed ({result.name})"
    return nvrtc, f"{major}.{minor}", None


def unavailable() -> str | None:
    """None when `cuda.bindings.nvrtc` imports and libnvrtc loads; else one line saying why
    and what to `pip install`."""
    _, _, reason = _nvrtc_or_reason()
    if reason is None:
        return None
    return f"NVRTC is not available: {reason}; {INSTALL_HINT} (or: pip install -e '.[gate]')"


def nvrtc_version() -> str:
    """NVRTC's version as "MAJOR.MINOR" (raises RuntimeError when it is unavailable)."""
    return _nvrtc()[1]


def _nvrtc():
    nvrtc, version, _ = _nvrtc_or_reason()
    if nvrtc is None:
        raise RuntimeError(unavailable())
    return nvrtc, version


def _check(nvrtc, result, what: str) -> None:
    if result != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"NVRTC: {what} failed ({result.name})")


def _program_log(nvrtc, prog) -> str:
    result, size = nvrtc.nvrtcGetProgramLogSize(prog)
    _check(nvrtc, result, "nvrtcGetProgramLogSize")
    buf = b" " * size
    (result,) = nvrtc.nvrtcGetProgramLog(prog, buf)
    _check(nvrtc, result, "nvrtcGetProgramLog")
    # ptxas' part of the log is separated by NULs; the whole ends with one
    return buf.replace(b"\x00", b"").decode("utf-8", errors="replace").rstrip()


def _validate(arch: str, options: Sequence[str]) -> list[str]:
    if not _ARCH_RE.match(arch):
        raise ValueError(f"arch must be a real architecture like 'sm_90' (so NVRTC emits a "
                         f"cubin), not {arch!r}")
    if isinstance(options, str):
        raise TypeError("options must be a sequence of option strings, not one string")
    opts = list(options)
    for opt in opts:
        if opt.startswith(_ARCH_OPTIONS):
            raise ValueError(f"option {opt!r}: the gate sets the architecture itself (arch=...)")
    return opts


def _error_message(source: str, name: str, arch: str, options: Sequence[str], log: str,
                   result: str) -> str:
    lines = source.splitlines()
    head = (f"NVRTC could not compile {name} to a cubin for {arch} ({result}); "
            f"options: {' '.join(options) or '(none)'}")
    parts = [head]
    origins = [ln.strip() for ln in lines if ln.lstrip().startswith("// from ")]
    if origins:
        parts.append("the kernel's ops come from:")
        parts += [f"  {ln}" for ln in origins]
    pointed: list[int] = []
    for m in re.finditer(re.escape(name) + r"\((\d+)\)", log):
        n = int(m.group(1))
        if n not in pointed and 1 <= n <= len(lines):
            pointed.append(n)
    if pointed:
        parts.append("source lines the log points at:")
        parts += [f"  {name}({n}): {lines[n - 1]}" for n in pointed]
    parts.append("NVRTC log:")
    parts.append(log or "(empty)")
    return "\n".join(parts)


@overload
def compile_cubin(source: str, arch: str = ..., options: Sequence[str] = ...,
                  name: str = ..., verbose: Literal[False] = ...) -> bytes: ...


@overload
def compile_cubin(source: str, arch: str = ..., options: Sequence[str] = ...,
                  name: str = ..., *, verbose: Literal[True]) -> tuple[bytes, str]: ...


def compile_cubin(source: str, arch: str = "sm_90", options: Sequence[str] = (),
                  name: str = "kernel.cu", verbose: bool = False):
    """Compile `source` with NVRTC for `arch` (an `sm_XX`, so ptxas runs) and `options`; return
    the cubin (or `(cubin, log)` with `verbose=True`, which adds `--ptxas-options=-v` so the log
    holds ptxas' per-kernel resource report). Raises `NvrtcCompileError` when NVRTC fails."""
    opts = _validate(arch, options)
    nvrtc, _ = _nvrtc()
    all_opts = [f"--gpu-architecture={arch}", *opts]
    if verbose and "--ptxas-options=-v" not in opts:
        all_opts.append("--ptxas-options=-v")
    result, prog = nvrtc.nvrtcCreateProgram(source.encode(), name.encode(), 0, [], [])
    _check(nvrtc, result, "nvrtcCreateProgram")
    try:
        encoded = [o.encode() for o in all_opts]
        (result,) = nvrtc.nvrtcCompileProgram(prog, len(encoded), encoded)
        log = _program_log(nvrtc, prog)
        if result != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            message = _error_message(source, name, arch, all_opts, log, result.name)
            raise NvrtcCompileError(message, arch=arch, options=all_opts, log=log,
                                    source=source, result=result.name)
        result, size = nvrtc.nvrtcGetCUBINSize(prog)
        _check(nvrtc, result, "nvrtcGetCUBINSize")
        cubin = b" " * size
        (result,) = nvrtc.nvrtcGetCUBIN(prog, cubin)
        _check(nvrtc, result, "nvrtcGetCUBIN")
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
    if not cubin.startswith(_ELF_MAGIC):
        raise RuntimeError(f"NVRTC returned no cubin for {arch} ({size} bytes)")
    return (cubin, log) if verbose else cubin


_USAGE_RE = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'(.*?)(?=Compiling entry"
                       r" function|\Z)", re.DOTALL)


def resource_usage(log: str) -> dict[str, dict[str, int]]:
    """Per kernel, from a `verbose=True` log: `registers`, `spill_stores`, `spill_loads`,
    `stack` and `smem` (bytes). Kernels and fields the log lacks are left out."""
    out: dict[str, dict[str, int]] = {}
    for m in _USAGE_RE.finditer(log):
        body, info = m.group(3), {}
        for key, pat in (("stack", r"(\d+) bytes stack frame"),
                         ("spill_stores", r"(\d+) bytes spill stores"),
                         ("spill_loads", r"(\d+) bytes spill loads"),
                         ("registers", r"Used (\d+) registers"),
                         ("smem", r"(\d+) bytes smem")):
            found = re.search(pat, body)
            if found:
                info[key] = int(found.group(1))
        info.setdefault("smem", 0)
        out[m.group(1)] = info
    return out


# --- the memo of passed sources ---------------------------------------------------------------

def _key(source: str, arch: str, options: Sequence[str]) -> str:
    text = "\0".join([f"nvrtc_gate {_GATE_VERSION}", f"nvrtc {nvrtc_version()}", arch,
                      *options, "", source])
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def _memo_folder(folder: str) -> str | None:
    """`folder`, created private (0700); None (warned about once) if it is refused (not owned
    by this user, or writable by group or others: kernel_cache.private_folder) or cannot be
    used."""
    from ..kernel_cache import private_folder

    usable, reason = private_folder(folder)
    if usable is None:
        warnings.warn(f"{reason}; the NVRTC gate remembers passed kernels in this process only",
                      RuntimeWarning, stacklevel=4)
    return usable


def _disk_folder() -> str | None:
    return _memo_folder(os.path.join(config.cache_dir(), "nvrtc"))


def _memo_text(arch: str, options: Sequence[str]) -> str:
    return f"passed nvrtc {nvrtc_version()} {arch} {' '.join(options)}\n"


def _passed_on_disk(key: str, arch: str, options: Sequence[str]) -> bool:
    """Whether the memo file of `key` says it passed; a memo file that does not hold exactly
    the line written for it (truncated, zeroed, garbage) is removed with a warning, and the
    source compiled again."""
    folder = _disk_folder()
    if folder is None:
        return False
    path = os.path.join(folder, key)
    try:
        with open(path, "rb") as f:
            data = f.read(4096)
    except FileNotFoundError:
        return False
    except OSError:
        return False
    if data == _memo_text(arch, options).encode():
        return True
    warnings.warn(f"tracefuse: NVRTC gate memo file {path} was damaged ({len(data)} bytes, not "
                  "the line written for it); compiling the kernel again", RuntimeWarning,
                  stacklevel=3)
    try:
        os.remove(path)
    except OSError:
        pass
    return False


def _record_on_disk(key: str, arch: str, options: Sequence[str]) -> None:
    folder = _disk_folder()
    if folder is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            f.write(_memo_text(arch, options))
        os.replace(tmp, os.path.join(folder, key))
    except OSError:
        pass  # the memo is only a shortcut


def clear_memo() -> None:
    """Forget, in this process, which sources passed (the on-disk memo is kept)."""
    with _lock:
        _memo.clear()


def check_sources(sources: Iterable[str], archs: Sequence[str] = ("sm_80", "sm_90"),
                  options: Sequence[str] = ()) -> int:
    """Compile each distinct source for each arch, skipping those that passed before (in this
    process, or recorded under `<cache dir>/nvrtc`); return how many compiles ran. Raises
    `NvrtcCompileError` on the first failure."""
    if isinstance(archs, str):
        archs = (archs,)
    opts = tuple(options)
    ran = 0
    for source in dict.fromkeys(sources):
        for arch in archs:
            _validate(arch, opts)
            key = _key(source, arch, opts)
            with _lock:
                if key in _memo:
                    continue
            if not _passed_on_disk(key, arch, opts):
                compile_cubin(source, arch, opts)
                ran += 1
                _record_on_disk(key, arch, opts)
            with _lock:
                _memo.add(key)
    return ran


def check_batch(sources: Iterable[str], combine, archs: Sequence[str] = ("sm_80", "sm_90"),
                options: Sequence[str] = ()) -> int:
    """`check_sources` for many sources at once: those not passed before are merged by
    `combine(sources) -> source` (the renderer knows how: one preamble, kernels renamed apart)
    and compiled as one program per arch, which halves the cost per kernel (NVRTC's fixed cost
    per program is about half of a small kernel's). If the merged program fails, each source is
    compiled alone, so the error names the kernel that fails. Returns how many compiles ran."""
    if isinstance(archs, str):
        archs = (archs,)
    opts = tuple(options)
    ran = 0
    unique = list(dict.fromkeys(sources))
    for arch in archs:
        _validate(arch, opts)
        todo = []
        for source in unique:
            key = _key(source, arch, opts)
            with _lock:
                if key in _memo:
                    continue
            if _passed_on_disk(key, arch, opts):
                with _lock:
                    _memo.add(key)
                continue
            todo.append((source, key))
        if not todo:
            continue
        try:
            compile_cubin(combine([src for src, _ in todo]) if len(todo) > 1 else todo[0][0],
                          arch, opts)
            ran += 1
        except NvrtcCompileError:
            for src, _ in todo:  # find the one that fails, and say which
                compile_cubin(src, arch, opts)
                ran += 1
        for _, key in todo:
            _record_on_disk(key, arch, opts)
            with _lock:
                _memo.add(key)
    return ran
