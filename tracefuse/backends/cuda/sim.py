"""The "gpu-sim" tier: the exact CUDA C text of a kernel, compiled with g++ and run on the CPU.

This module owns building CUDA C into a shared library and launching its kernels from Python.
The CUDA C is compiled unchanged as C++ with `cuda_shim.h` (beside this file) force-included:
the shim defines the CUDA keywords away, provides threadIdx/blockIdx/..., barriers, warp
shuffles, atomics and math, and runs a launch as blocks one after another, each block's CUDA
threads as fibers in the calling OS thread (deterministic; see the header for the dialect and
what is detected). A wrapper generated here (appended after the kernel source, never editing
it) gives each kernel an `extern "C" int tx_launch_<name>(grid, block, void** args, err,
errlen)`, CUDA's own parameter convention (an array of pointers to each argument's storage), and
`static_assert`s that the kernel's parameters are the types declared to `SimModule`.

    mod = SimModule(source, {"k0": ["const float*", "float*", "long long"]})
    mod.launch("k0", grid, block, [x, out, np.int64(x.size)])

Builds are cached: in this process by key, and on disk as `<cache dir>/sim/sim_<key>.so` (with
the compiled source `sim_<key>.cu` beside it), key = SHA-256 of source + wrapper + shim +
compiler version + flags. A build is written to a temporary name and renamed into place, and
then its record `sim_<key>.sha256` (size and SHA-256 of the library, also written atomically);
building, checking and loading one key hold an `flock` on `sim_<key>.lock`, so processes racing
on a key build it once and never pair one's library with another's record. A library is
dlopen'ed only when it matches its record: a truncated, zeroed or garbage file (or a non-ELF
file with no record) is rebuilt with a warning, never loaded (an ELF file with no record, an
older tracefuse's, is rebuilt quietly); one that still fails to load is rebuilt with a warning
too. The folder is private (the kernel cache's rule, `kernel_cache.private_folder`: a
folder others can write to is refused) and kept under `TRACEFUSE_CACHE_MAX_MB` like the kernel
cache's. Flags: `-std=c++17 -O1 -fPIC -shared -fvisibility=hidden -fno-strict-aliasing
-ffp-contract=off -fno-weak` (no FMA contraction and no fast-math: results round as NumPy's
do).

Optimization level, measured on a 2-core machine like CI's (g++ 12.2, best of 3 runs; a
sum of 1M float64 is a grid-stride loop + shuffles + __shared__ + __syncthreads + atomicAdd):

    flags   build: this test file's source (11 kernels) / renderer output (130-240 lines)
    -O0     0.17 s / 0.16-0.21 s    sum 64x256: 9 ms, 4096x256: 380 ms; 1M-elementwise: 43 ms
    -O1     0.26 s / 0.17-0.26 s    sum 64x256: 6 ms, 4096x256: 256 ms; 1M-elementwise: 38 ms
    -O2     0.35 s / 0.19-0.37 s    sum 64x256: 5 ms, 4096x256: 249 ms; 1M-elementwise: 37 ms

-O1: near -O0's build time on generated kernels, near -O2's run time. A launch costs about
40 ns per CUDA thread plus about 20 ns per barrier or shuffle each thread passes: the run time
is in fiber switches more than in the kernel's code. The shim switches fibers with a dozen lines of
x86-64 assembly; with glibc's swapcontext (its portable fallback, and the path under ASan) the
same sums take 58 ms and 2.8 s (a signal-mask system call per switch).

`sanitize=True` adds `-fsanitize=address,undefined -fno-omit-frame-pointer -g` (its own cache
key). The fiber switches are annotated for ASan, and out-of-bounds reads and writes of the
arrays passed in are reported. Loading such a library needs the ASan runtime first in the
process: run Python with `LD_PRELOAD=$(g++ -print-file-name=libasan.so)
ASAN_OPTIONS=detect_leaks=0`; without it `SimModule` raises a RuntimeError saying so (instead
of letting ASan abort the process). ASan prints a one-time warning that it "doesn't fully
support makecontext/swapcontext"; stack-buffer overflows inside a parked fiber's frames may be
missed (its swapcontext interceptor clears the shadow of the stack switched to), heap overflows
are found.

Each CUDA thread has a 64 KiB stack (256 KiB under ASan) with a guard page below it: large
local arrays overflow into SIGSEGV, not into a neighbour. Not supported: dynamic shared memory
(`extern __shared__`), cooperative groups, 2-D/3-D launches, partial warp masks, half
precision, texture/surface objects, streams (a launch is synchronous), several OS threads
launching from one library at once (they take turns).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import platform
import re
import shutil
import subprocess
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ... import config

SHIM_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cuda_shim.h")
OPT_LEVEL = "-O1"
# -fno-weak: a static local of an inline function would otherwise go to a COMDAT group, which
# clashes with the section the shim puts __shared__ variables in (one translation unit: no
# weak definitions are needed)
_BASE_FLAGS = ("-std=c++17", OPT_LEVEL, "-fPIC", "-shared", "-fvisibility=hidden",
               "-fno-strict-aliasing", "-ffp-contract=off", "-fno-weak")
if platform.machine().lower() in ("x86_64", "amd64"):
    _BASE_FLAGS += ("-fcf-protection=none",)  # the shim's own fiber switch (see cuda_shim.h)
_SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g")
_ERR_LEN = 2048
_BUILD_TIMEOUT_S = 300


class SimBuildError(RuntimeError):
    """g++ rejected a kernel source; the message holds its stderr and the offending lines."""


# ---- parameter types --------------------------------------------------------------------------

# canonical C type -> NumPy dtype
_FUNDAMENTAL = {
    "bool": np.bool_, "signed char": np.int8, "unsigned char": np.uint8, "short": np.int16,
    "unsigned short": np.uint16, "int": np.int32, "unsigned int": np.uint32,
    "long long": np.int64, "unsigned long long": np.uint64, "float": np.float32,
    "double": np.float64,
    "tx_c64": np.complex64, "tx_c128": np.complex128,  # the generated code's complex struct
}
_SPELLINGS = {
    "char": "signed char",  # x86-64 Linux: char is signed (the wrapper keeps the spelling)
    "signed char": "signed char", "short int": "short", "signed short": "short",
    "signed short int": "short", "unsigned short int": "unsigned short", "signed": "int",
    "signed int": "int", "unsigned": "unsigned int", "long long int": "long long",
    "signed long long": "long long", "signed long long int": "long long",
    "unsigned long long int": "unsigned long long", "long": "long long", "long int": "long long",
    "unsigned long": "unsigned long long", "unsigned long int": "unsigned long long",
    "int8_t": "signed char", "uint8_t": "unsigned char", "int16_t": "short",
    "uint16_t": "unsigned short", "int32_t": "int", "uint32_t": "unsigned int",
    "int64_t": "long long", "uint64_t": "unsigned long long",
    **{k: k for k in _FUNDAMENTAL},
}
_CTYPES = {
    "bool": ctypes.c_bool, "signed char": ctypes.c_int8, "unsigned char": ctypes.c_uint8,
    "short": ctypes.c_int16, "unsigned short": ctypes.c_uint16, "int": ctypes.c_int32,
    "unsigned int": ctypes.c_uint32, "long long": ctypes.c_int64,
    "unsigned long long": ctypes.c_uint64, "float": ctypes.c_float, "double": ctypes.c_double,
}


class _Complex64(ctypes.Structure):
    _fields_ = [("re", ctypes.c_float), ("im", ctypes.c_float)]


class _Complex128(ctypes.Structure):
    _fields_ = [("re", ctypes.c_double), ("im", ctypes.c_double)]


_CTYPES.update({"tx_c64": _Complex64, "tx_c128": _Complex128})
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Param:
    """One kernel parameter as declared: `base` is the canonical fundamental type."""

    text: str
    base: str
    pointer: bool
    const: bool  # the pointee is const (pointers only)
    spelled: str = ""  # the base type as written ("int64_t", "long"), for the wrapper

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(_FUNDAMENTAL[self.base])

    @property
    def c_type(self) -> str:
        """The type as the wrapper writes it (without top-level qualifiers and __restrict__,
        which are no part of a function's type)."""
        base = self.spelled or self.base
        if self.pointer:
            return f"{'const ' if self.const else ''}{base}*"
        return base


def parse_param(text: str) -> Param:
    """A parameter type such as "const float*", "float* __restrict__", "long long", "bool"."""
    src = text
    t = re.sub(r"\b(__restrict__|__restrict|restrict)\b", " ", text).replace("*", " * ")
    words = t.split()
    stars = words.count("*")
    after = words[words.index("*") + 1:] if stars == 1 else []
    if stars > 1 or set(after) - {"const"}:
        raise TypeError(f"parameter type {src!r}: only a fundamental type or a pointer to one is "
                        "supported")
    pointer = stars == 1
    before = words[:words.index("*")] if pointer else words
    const = "const" in before
    base_words = [w for w in before if w not in ("const", "volatile")]
    spelled = " ".join(base_words)
    base = _SPELLINGS.get(spelled)
    if base is None:
        raise TypeError(f"parameter type {src!r}: {spelled!r} is not one of "
                        f"{', '.join(_FUNDAMENTAL)} (or a pointer to one)")
    return Param(src, base, pointer, const and pointer, spelled)


# ---- the compiler -----------------------------------------------------------------------------

def _compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx:
        return shutil.which(cxx) or (cxx if os.path.isfile(cxx) else None)
    return shutil.which("g++") or shutil.which("c++")


@functools.lru_cache(maxsize=8)
def _compiler_version(cxx: str) -> str:
    out = subprocess.run([cxx, "--version"], check=False, capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise OSError(f"{cxx} --version failed: {out.stderr.strip()[:200]}")
    return f"{os.path.realpath(cxx)} {out.stdout.strip()}"


@functools.lru_cache(maxsize=8)
def _compiler_problem(cxx: str) -> str | None:
    try:
        _compiler_version(cxx)
        # the shim's headers (<ucontext.h>, <math.h>, <type_traits>) must be there too
        out = subprocess.run([cxx, "-std=c++17", "-fsyntax-only", "-include", SHIM_PATH,
                              "-x", "c++", os.devnull],
                             check=False, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return f"gpu-sim: the C++ compiler {cxx} does not run ({e}); install g++ or set CXX"
    if out.returncode != 0:
        first = (out.stderr.strip().splitlines() or ["?"])[0]
        return (f"gpu-sim: {cxx} cannot compile cuda_shim.h ({first}); install g++ and the C "
                "library headers (Debian/Ubuntu: apt-get install g++) or set CXX")
    return None


def compiler_unavailable() -> str | None:
    """None if g++ (or $CXX) can build simulator modules, else one line saying what to install."""
    cxx = _compiler()
    if cxx is None:
        what = f"$CXX={os.environ['CXX']!r} was not found" if os.environ.get("CXX") else \
            "no C++ compiler (g++ or c++) on PATH"
        return (f"gpu-sim needs a C++17 compiler: {what}; install one (Debian/Ubuntu: apt-get "
                "install g++) or set CXX")
    return _compiler_problem(cxx)


def compiler_flags(sanitize: bool = False) -> tuple[str, ...]:
    return _BASE_FLAGS + (_SANITIZE_FLAGS if sanitize else ())


# ---- the launcher wrapper ---------------------------------------------------------------------

def launcher_source(kernels: Mapping[str, Sequence[Param]]) -> str:
    """The C++ appended after the kernel source: per kernel, a signature check, a body that
    unpacks CUDA-style `void** args` into a call, and the exported `tx_launch_<name>`."""
    out = ["", "// ---- tracefuse gpu-sim launchers (generated by cuda_sim.py) ----",
           "#include <type_traits>"]
    for name, params in kernels.items():
        sig = ", ".join(p.c_type for p in params) or "void"
        call = ", ".join(f"*({p.c_type}*)a[{i}]" for i, p in enumerate(params))
        out += [
            f"static_assert(std::is_same<decltype(&{name}), void (*)({sig})>::value,",
            (f"              \"tracefuse gpu-sim: kernel {name} does not take ({sig}), the "
             "parameter types given to SimModule\");"),
            f"static void tx_body_{name}(void** a) {{ (void)a; {name}({call}); }}",
            (f"extern \"C\" __attribute__((visibility(\"default\"))) int tx_launch_{name}("
             "unsigned grid, unsigned block, void** args, char* err, int errlen) {"),
            (f"    return tx_sim::run_grid(\"{name}\", grid, block, tx_body_{name}, args, err, "
             "errlen);"),
            "}",
        ]
    return "\n".join(out) + "\n"


# ---- building and the cache -------------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict[str, _Library] = {}
builds = 0  # g++ runs in this process (tests check that the disk cache is used)


@dataclass
class _Library:
    path: str
    dll: ctypes.CDLL
    lock: threading.Lock


def _folder() -> str:
    from ..kernel_cache import usable_folder  # the kernel cache's private-folder rule (refuses
    # a folder others can write to, with a warning and a private temporary one instead)

    return usable_folder(os.path.join(config.cache_dir(), "sim"))


@functools.lru_cache(maxsize=1)
def _shim_text() -> str:
    with open(SHIM_PATH) as f:
        return f.read()


def _asan_loaded() -> bool:
    try:
        with open("/proc/self/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


def _write_atomic(path: str, data: str) -> None:
    from ..kernel_cache import write_atomic  # lazily: kernel_cache imports Numba

    write_atomic(path, data)


def _same_text(path: str, text: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read() == text
    except OSError:
        return False


def _record_path(so: str) -> str:
    return so[:-3] + ".sha256"


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{os.path.getsize(path)} {h.hexdigest()}\n"


_NO_RECORD = "no record"  # an ELF file built by an older tracefuse, or an interrupted build


def _damage(so: str) -> str | None:
    """None when library `so` matches the record written after it was built; else why not."""
    try:
        with open(_record_path(so)) as f:
            record = f.read()
    except FileNotFoundError:
        try:
            with open(so, "rb") as f:
                elf = f.read(4) == b"\x7fELF"
        except OSError:
            elf = False
        return _NO_RECORD if elf else "it is not a shared library, and it has no record"
    try:
        actual = _digest(so)
    except OSError as e:
        return f"it cannot be read: {e}"
    if actual != record:
        return (f"its size and SHA-256 ({actual.strip()}) are not the ones recorded when it was "
                f"built ({record.strip()[:90] or 'an empty record'}): truncated or damaged")
    return None


def _offending_lines(stderr: str, path: str, text: str, user_lines: int) -> str:
    """The source lines g++ complains about, with two lines of context, marked with '>'."""
    lines = text.splitlines()
    bad = []
    for m in re.finditer(r"^(.*?):(\d+):(?:\d+:)? (?:fatal )?error", stderr, re.MULTILINE):
        if os.path.basename(m.group(1)) == os.path.basename(path):
            n = int(m.group(2))
            if n not in bad:
                bad.append(n)
    parts = []
    for n in bad[:5]:
        where = "kernel source" if n <= user_lines else "generated launcher"
        block = [f"{'>' if i == n else ' '} {i:5d} | {lines[i - 1]}"
                 for i in range(max(1, n - 2), min(len(lines), n + 2) + 1)]
        parts.append(f"line {n} ({where}):\n" + "\n".join(block))
    return "\n".join(parts)


@functools.lru_cache(maxsize=8)
def _precompiled_shim(cxx: str, flags: tuple[str, ...], folder: str) -> str:
    """The shim header to include: a copy in the cache folder with its precompiled form beside
    it (`.gch`, built once per compiler, flags and shim text), which takes about 30 % off every
    kernel build (the shim's system headers are a large part of a small kernel's compile time); the
    shim itself where the precompiled header cannot be made (g++ then parses the copy)."""
    text = _shim_text()
    key = hashlib.sha256("\0".join([text, _compiler_version(cxx), *flags]).encode()).hexdigest()
    header = os.path.join(folder, f"shim_{key[:20]}.h")
    gch = header + ".gch"
    if os.path.exists(gch) and _same_text(header, text):
        return header  # (g++ checks a .gch itself and parses the header where it is not valid)
    try:
        _write_atomic(header, text)
        tmp = f"{gch}.{os.getpid()}.{threading.get_ident()}.tmp"
        cmd = [cxx, *(f for f in flags if f != "-shared"), "-x", "c++-header", header, "-o", tmp]
        res = subprocess.run(cmd, check=False, capture_output=True, text=True,
                             timeout=_BUILD_TIMEOUT_S)
        if res.returncode == 0:
            os.replace(tmp, gch)
            return header
        if os.path.exists(tmp):
            os.remove(tmp)
    except (OSError, subprocess.SubprocessError):
        pass
    return SHIM_PATH


def _run_compiler(cxx: str, flags: Sequence[str], src: str,
                  out: str) -> subprocess.CompletedProcess:
    shim = _precompiled_shim(cxx, tuple(flags), os.path.dirname(src))
    if not os.path.exists(shim):  # the cache was cleared under this process
        _precompiled_shim.cache_clear()
        shim = _precompiled_shim(cxx, tuple(flags), os.path.dirname(src))
    cmd = [cxx, *flags, "-include", shim, "-x", "c++", src, "-x", "none", "-o", out]
    return subprocess.run(cmd, check=False, capture_output=True, text=True,
                          timeout=_BUILD_TIMEOUT_S)


def _build(cxx: str, flags: Sequence[str], text: str, user_lines: int, folder: str,
           key: str) -> str:
    global builds
    src = os.path.join(folder, f"sim_{key}.cu")
    so = os.path.join(folder, f"sim_{key}.so")
    _write_atomic(src, text)
    tmp = f"{so}.{os.getpid()}.{threading.get_ident()}.tmp"
    builds += 1
    try:
        res = _run_compiler(cxx, flags, src, tmp)
        if res.returncode != 0:
            err = res.stderr.strip()
            if len(err) > 12000:
                err = err[:12000] + "\n... (truncated)"
            shown = _offending_lines(res.stderr, src, text, user_lines)
            raise SimBuildError(f"gpu-sim: {os.path.basename(cxx)} could not compile the kernel "
                                f"source ({src}):\n{err}" + (f"\n\n{shown}" if shown else ""))
        os.replace(tmp, so)
        _write_atomic(_record_path(so), _digest(so))  # after the library: a record vouches
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if builds % 32 == 1:
        _evict(folder, keep=key)
    return so


def _evict(folder: str, keep: str) -> None:
    """Keep the folder under `config.cache_max_bytes()`, least recently used builds first (as
    kernel_cache does for its folder). Removing a library some process has loaded is safe."""
    entries: dict[str, list[tuple[float, int, str]]] = {}
    for f in os.listdir(folder):
        if f.startswith("sim_") and f.endswith((".so", ".cu", ".sha256", ".lock")):
            try:
                st = os.stat(os.path.join(folder, f))
            except OSError:
                continue
            entries.setdefault(f[4:].split(".")[0], []).append((st.st_atime, st.st_size, f))
    total = sum(size for files in entries.values() for _, size, _ in files)
    limit = config.cache_max_bytes()
    for key, files in sorted(entries.items(), key=lambda kv: max(t for t, _, _ in kv[1])):
        if total <= limit:
            break
        if key != keep:
            for _, size, f in files:
                try:
                    os.remove(os.path.join(folder, f))
                    total -= size
                except OSError:
                    pass


def _open(path: str, names: Sequence[str]) -> ctypes.CDLL:
    dll = ctypes.CDLL(path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    for name in names:
        fn = getattr(dll, f"tx_launch_{name}")  # AttributeError: a damaged or foreign library
        fn.argtypes = [ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_void_p),
                       ctypes.c_char_p, ctypes.c_int]
        fn.restype = ctypes.c_int
    return dll


def _key(text: str, cxx: str, flags: Sequence[str]) -> str:
    key_text = "\0".join([text, _shim_text(), _compiler_version(cxx), " ".join(flags)])
    return hashlib.sha256(key_text.encode()).hexdigest()[:24]


def _library(text: str, user_lines: int, names: Sequence[str], sanitize: bool) -> _Library:
    problem = compiler_unavailable()
    if problem:
        raise RuntimeError(problem)
    cxx = _compiler()
    flags = compiler_flags(sanitize)
    key = _key(text, cxx, flags)
    lib = _loaded.get(key)
    if lib is not None:
        return lib
    with _lock:
        lib = _loaded.get(key)
        if lib is not None:
            return lib
        from ..kernel_cache import file_lock  # an flock per key, across processes

        folder = _folder()
        so = os.path.join(folder, f"sim_{key}.so")
        with file_lock(os.path.join(folder, f"sim_{key}.lock")):
            dll = _load_or_build(cxx, flags, text, user_lines, names, folder, key, so)
        lib = _Library(so, dll, threading.Lock())
        _loaded[key] = lib
        return lib


def _load_or_build(cxx: str, flags: Sequence[str], text: str, user_lines: int,
                   names: Sequence[str], folder: str, key: str, so: str) -> ctypes.CDLL:
    """The library of `key`: the cached one where it matches its record, else built first.
    (The caller holds the key's flock.)"""
    if os.path.exists(so):
        damage = _damage(so)
        if damage is not None:  # never dlopen'ed: a garbage ELF file can crash the loader
            if damage is not _NO_RECORD:  # (an unrecorded library is rebuilt quietly)
                warnings.warn(f"tracefuse gpu-sim: cached library {so} did not load ({damage}); "
                              "rebuilding it", RuntimeWarning, stacklevel=4)
            with contextlib.suppress(OSError):
                os.remove(so)
    if not os.path.exists(so):
        _build(cxx, flags, text, user_lines, folder, key)
    try:
        return _open(so, names)
    except (OSError, AttributeError) as e:
        warnings.warn(f"tracefuse gpu-sim: cached library {so} did not load ({e}); "
                      "rebuilding it", RuntimeWarning, stacklevel=4)
        with contextlib.suppress(OSError):
            os.remove(so)
        _build(cxx, flags, text, user_lines, folder, key)
        # through a fresh name: the dynamic loader may still hold the broken file by name
        fresh = f"{so}.{os.getpid()}.load"
        shutil.copyfile(so, fresh)
        try:
            return _open(fresh, names)
        finally:
            os.remove(fresh)


def library_path(source: str, kernels: Mapping[str, Sequence[str]], *,
                 sanitize: bool = False) -> str:
    """Where `SimModule(source, kernels, sanitize=sanitize)` keeps (or will keep) its library."""
    text = _full_source(source, {k: tuple(parse_param(t) for t in v) for k, v in kernels.items()})
    flags = compiler_flags(sanitize)
    return os.path.join(_folder(), f"sim_{_key(text[0], _compiler(), flags)}.so")


def _full_source(source: str, kernels: Mapping[str, Sequence[Param]]) -> tuple[str, int]:
    """The kernel source with the launchers appended, and how many lines are the kernel's."""
    user = source if source.endswith("\n") else source + "\n"
    return user + launcher_source(kernels), user.count("\n")


# ---- the module -------------------------------------------------------------------------------

class SimModule:
    """A CUDA C source built for the CPU simulator; `launch` runs one of its kernels."""

    def __init__(self, source: str, kernels: Mapping[str, Sequence[str]], *,
                 sanitize: bool = False):
        if not kernels:
            raise ValueError("SimModule needs at least one kernel name")
        self.kernels: dict[str, tuple[Param, ...]] = {}
        for name, types in kernels.items():
            if not isinstance(name, str) or not _IDENT.match(name):
                raise ValueError(f"kernel name {name!r} is not a C identifier")
            if isinstance(types, str):
                raise TypeError(f"kernel {name}: parameter types must be a sequence of strings, "
                                f"got the string {types!r}")
            self.kernels[name] = tuple(parse_param(t) for t in types)
        if sanitize and not _asan_loaded():
            raise RuntimeError(
                "gpu-sim: sanitize=True needs the ASan runtime loaded first in this process; run "
                "Python with LD_PRELOAD=$(g++ -print-file-name=libasan.so) "
                "ASAN_OPTIONS=detect_leaks=0")
        self.source = source
        self.sanitize = sanitize
        self.full_source, user_lines = _full_source(source, self.kernels)
        self._lib = _library(self.full_source, user_lines, list(self.kernels), sanitize)
        self.library_path = self._lib.path

    def launch(self, name: str, grid: int, block: int, args: Sequence) -> None:
        """Run kernel `name` on `grid` blocks of `block` threads; returns when it is done.

        `args` follow the declared parameters: a NumPy array (of exactly the pointee's dtype,
        writable unless the pointee is const; any layout: its data pointer is passed) or None
        for a pointer, a number for a scalar (converted to the declared C type; integers must
        fit, floats round to nearest). Raises RuntimeError with the simulator's message if the
        kernel misuses a barrier or shuffle, traps or fails an assert."""
        params = self.kernels.get(name)
        if params is None:
            raise KeyError(f"no kernel {name!r} in this SimModule (has: {', '.join(self.kernels)})")
        for what, v, hi in (("grid", grid, 2**31 - 1), ("block", block, 1024)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) \
                    or not 1 <= v <= hi:
                raise ValueError(f"kernel {name}: {what} size must be an integer in 1..{hi}, "
                                 f"got {v!r}")
        if len(args) != len(params):
            raise TypeError(f"kernel {name} takes {len(params)} arguments "
                            f"({', '.join(p.text for p in params)}), got {len(args)}")
        storage = [_convert(name, i, p, a) for i, (p, a) in enumerate(zip(params, args))]
        argv = (ctypes.c_void_p * max(1, len(storage)))(
            *[ctypes.addressof(s) for s in storage])
        err = ctypes.create_string_buffer(_ERR_LEN)
        fn = getattr(self._lib.dll, f"tx_launch_{name}")
        with self._lib.lock:
            rc = fn(int(grid), int(block), argv, err, _ERR_LEN)
        if rc != 0:
            raise RuntimeError(f"gpu-sim: {err.value.decode(errors='replace')}")


def _convert(kernel: str, i: int, p: Param, value) -> ctypes._SimpleCData:
    """The C storage for argument `i`, whose address goes into the `void** args` array."""
    where = f"kernel {kernel}, argument {i} ({p.text})"
    if p.pointer:
        if value is None:
            return ctypes.c_void_p(None)
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{where}: expected a NumPy array, got {type(value).__name__}")
        if value.dtype != p.dtype:
            raise TypeError(f"{where}: expected an array of {p.dtype}, got {value.dtype}")
        if not p.const and not value.flags.writeable:
            raise TypeError(f"{where}: the array is read-only but the kernel may write it "
                            "(declare the pointee const)")
        return ctypes.c_void_p(value.ctypes.data)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    kind = p.dtype.kind
    if kind == "b":
        if isinstance(value, (bool, np.bool_)) or (
                isinstance(value, (int, np.integer)) and value in (0, 1)):
            return ctypes.c_bool(bool(value))
        raise TypeError(f"{where}: expected a bool, got {value!r}")
    if kind in "iu":
        if isinstance(value, (float, np.floating, complex, np.complexfloating)) or \
                not isinstance(value, (int, np.integer, bool, np.bool_)):
            raise TypeError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        v, info = int(value), np.iinfo(p.dtype)
        if not info.min <= v <= info.max:
            raise OverflowError(f"{where}: {v} does not fit in {p.base} "
                                f"({info.min}..{info.max})")
        return _CTYPES[p.base](v)
    if kind == "c":  # tx_c64 / tx_c128 by value: (re, im)
        if not isinstance(value, (int, float, complex, np.number)) or isinstance(value, bool):
            raise TypeError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        z = complex(np.asarray(value).astype(p.dtype)[()])
        return _CTYPES[p.base](z.real, z.imag)
    # float / double
    with np.errstate(all="ignore"):  # as a C cast: out of range gives inf
        return _to_float(where, p, value)


def _to_float(where: str, p: Param, value) -> ctypes._SimpleCData:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        # one rounding, integer -> target (as a C cast), not through float64 first
        v = int(value)
        exact = np.asarray(value) if isinstance(value, np.integer) else (
            np.int64(v) if -2**63 <= v < 2**63 else np.uint64(v) if 0 <= v < 2**64 else None)
        f = float(v) if exact is None else float(np.asarray(exact).astype(p.dtype)[()])
        return _CTYPES[p.base](f)
    if isinstance(value, (float, np.floating, bool, np.bool_)):
        return _CTYPES[p.base](float(np.asarray(value).astype(p.dtype)[()]))
    raise TypeError(f"{where}: expected a number, got {type(value).__name__} {value!r}")


__all__ = ["Param", "SimBuildError", "SimModule", "compiler_flags", "compiler_unavailable",
           "launcher_source", "library_path", "parse_param"]
