"""The house rules of docs/architecture.md, checked on the source: imports point down the data
flow with no cycles, no module imports another's private name, `import tracefuse` loads neither
Numba, llvmlite, CuPy, matplotlib nor Dask, and `dir(tracefuse)` shows the public API only.

The import graph is read with `ast` from every module of the package, counting imports inside
functions too (a lazy import that points up is still an upward import).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import types

import pytest

import tracefuse

PACKAGE_DIR = os.path.dirname(os.path.abspath(tracefuse.__file__))

# Each layer and the layers it may import (besides itself). Listed bottom to top; a module
# belongs to the longest prefix that names it.
BASE = {"tracefuse.errors", "tracefuse.config"}
LAYERS: dict[str, set[str]] = {
    "tracefuse.errors": set(),
    "tracefuse.config": set(),
    "tracefuse.ir": BASE,
    "tracefuse.tracer": BASE | {"tracefuse.ir"},
    "tracefuse.passes": BASE | {"tracefuse.ir"},
    "tracefuse.transforms": BASE | {"tracefuse.ir", "tracefuse.tracer"},
    # the eager GradientTape (frontend/tape.py) runs the transforms' reverse pass
    "tracefuse.frontend": BASE | {"tracefuse.ir", "tracefuse.tracer", "tracefuse.transforms"},
    "tracefuse.backends": BASE | {"tracefuse.ir", "tracefuse.passes"},
    "tracefuse.compiler": BASE | {"tracefuse.ir", "tracefuse.tracer", "tracefuse.passes",
                                  "tracefuse.transforms", "tracefuse.frontend",
                                  "tracefuse.backends"},
    "tracefuse": BASE | {"tracefuse.ir", "tracefuse.tracer", "tracefuse.passes",
                         "tracefuse.transforms", "tracefuse.frontend", "tracefuse.backends",
                         "tracefuse.compiler"},
    "tracefuse.__main__": {"*"},  # the command line sits on top of everything
    "tracefuse.tools": {"*"},  # bench, fuzz, vmath fitting: used by the command line only
}
# Inside backends/: the targets do not import each other; the shared core imports no target.
BACKEND_TARGETS = ("tracefuse.backends.numpy", "tracefuse.backends.numba",
                   "tracefuse.backends.cuda", "tracefuse.backends.vmath")
BACKEND_TARGET_USES = {"tracefuse.backends.numba": {"tracefuse.backends.vmath"}}
PUBLIC_SUBMODULES = {"config", "autograph", "random", "nn", "optimizers", "train", "linalg",
                     "fft"}


def module_files() -> dict[str, str]:
    out = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[:-3].replace(os.sep, ".")
                out[rel[: -len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return out


MODULES = module_files()


def _resolve(module: str, path: str, level: int, name: str | None) -> str:
    base = module.split(".")
    if not path.endswith("__init__.py"):
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names imported from it, line) for each tracefuse import of `module`."""
    path = MODULES[module]
    tree = ast.parse(open(path).read(), path)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = (_resolve(module, path, node.level, node.module) if node.level
                      else node.module or "")
            if target.split(".")[0] != "tracefuse":
                continue
            plain = []
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    out.append((sub, [], node.lineno))
                else:
                    plain.append(alias.name)
            if plain:
                out.append((target, plain, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tracefuse":
                    out.append((alias.name, [], node.lineno))
    return out


def layer_of(module: str) -> str:
    best = "tracefuse"
    for name in LAYERS:
        if (module == name or module.startswith(name + ".")) and len(name) > len(best):
            best = name
    return best


def _within(module: str, prefixes) -> str | None:
    return next((p for p in prefixes if module == p or module.startswith(p + ".")), None)


def test_the_graph_is_read():
    """The checks below see the package (a broken reader would pass them all vacuously)."""
    assert len(MODULES) > 40
    edges = {m: imports_of(m) for m in MODULES}
    assert sum(len(e) for e in edges.values()) > 100
    assert any(t == "tracefuse.ir" and "Graph" in n for t, n, _ in edges["tracefuse.backends.base"])
    assert layer_of("tracefuse.backends.numba.render") == "tracefuse.backends"
    assert layer_of("tracefuse.tools.bench.runner") == "tracefuse.tools"


def test_imports_point_down_the_data_flow():
    bad = []
    for module in MODULES:
        layer = layer_of(module)
        allowed = LAYERS[layer]
        for target, _, line in imports_of(module):
            target_layer = layer_of(target)
            if "*" in allowed or target_layer == layer or target_layer in allowed:
                pass
            else:
                bad.append(f"{MODULES[module]}:{line}: {module} ({layer}) imports {target} "
                           f"({target_layer}); {layer} may import {sorted(allowed)}")
                continue
            mine, theirs = _within(module, BACKEND_TARGETS), _within(target, BACKEND_TARGETS)
            if layer == "tracefuse.backends" and theirs and theirs != mine and \
                    module != "tracefuse.backends" and \
                    theirs not in BACKEND_TARGET_USES.get(mine or "", ()):
                bad.append(f"{MODULES[module]}:{line}: {module} imports the backend target "
                           f"{target}; targets are independent and the shared core uses none "
                           "(only backends/__init__.py, the table, names them)")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {m: sorted({t if t in MODULES else t.rsplit(".", 1)[0] for t, _, _ in imports_of(m)}
                       - {m}) for m in MODULES}
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in MODULES:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for m in sorted(MODULES):
        if m not in index:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_imports_another_modules_private_names():
    bad = []
    for module, path in MODULES.items():
        tree = ast.parse(open(path).read(), path)
        aliases = {}  # local name -> tracefuse module it stands for
        for target, names, line in imports_of(module):
            for n in names:
                if _private(n):
                    bad.append(f"{path}:{line}: imports {target}.{n}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = (_resolve(module, path, node.level, node.module) if node.level
                          else node.module or "")
                for alias in node.names:
                    if f"{target}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    node.value.id in aliases and _private(node.attr) and \
                    aliases[node.value.id] != module:
                bad.append(f"{path}:{node.lineno}: uses {aliases[node.value.id]}.{node.attr}")
    assert not bad, "private names used across modules:\n" + "\n".join(bad)


def _loaded_after(code: str) -> list[str]:
    script = (f"import sys\n{code}\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & "
              "{'numba', 'llvmlite', 'cupy', 'cupy_backends', 'cuda', 'matplotlib', 'dask', "
              "'distributed'}))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PACKAGE_DIR))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return eval(out.stdout.strip().splitlines()[-1])


def test_import_tracefuse_loads_no_compiler_or_gpu_library():
    assert _loaded_after("import tracefuse") == []


def test_dask_is_imported_only_by_a_call_with_dask_arrays():
    """A call that fails its signature checks looks for dask arrays among its arguments, by
    their type's module, without importing Dask."""
    code = ("import numpy as np, tracefuse as tx\n"
            "f = tx.function(lambda a: a * 2.0, backend='numpy')\n"
            "try:\n    f('not an array')\nexcept tx.DTypeError:\n    pass\n"
            "assert f(np.arange(3.0)).numpy()[2] == 4.0\n")
    loaded = _loaded_after(code)
    assert "dask" not in loaded and "distributed" not in loaded


def test_eager_ops_and_the_numpy_backend_load_no_compiler():
    code = ("import numpy as np, tracefuse as tx\n"
            "x = tx.asarray(np.arange(6.0))\n"
            "y = tx.exp(x) + tx.sum(x)\n"
            "f = tx.function(lambda a: tx.tanh(a) * 2.0, backend='numpy')\n"
            "assert np.allclose(f(np.arange(3.0)).numpy(), np.tanh(np.arange(3.0)) * 2)\n")
    assert _loaded_after(code) == []


def test_the_cpu_backend_loads_numba_at_its_first_compile():
    code = ("import numpy as np, tracefuse as tx\n"
            "f = tx.function(lambda a: a * 2.0, backend='cpu')\n"
            "assert np.allclose(f(np.arange(3.0)).numpy(), np.arange(3.0) * 2)\n")
    assert "numba" in _loaded_after(code)


def test_dir_shows_the_public_api_only():
    names = dir(tracefuse)
    assert "annotations" not in names
    for name in names:
        value = getattr(tracefuse, name)
        if isinstance(value, types.ModuleType):
            assert name in PUBLIC_SUBMODULES, f"dir(tracefuse) shows the internal module {name}"
        if _private(name):
            pytest.fail(f"dir(tracefuse) shows the private name {name}")
    for name in ("function", "jit", "Tensor", "asarray", "sum", "float32", "config"):
        assert name in names


def test_public_names_resolve():
    for name in getattr(tracefuse, "__all__", dir(tracefuse)):
        assert hasattr(tracefuse, name), name


def test_every_data_file_of_the_package_is_installed():
    """A non-Python file inside the package (cuda_shim.h) must be named in pyproject.toml's
    package-data, or a wheel installs the package without it (moving a file moves its entry)."""
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(os.path.dirname(PACKAGE_DIR), "pyproject.toml"), "rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]
    listed = {os.path.join(pkg.replace(".", os.sep), name) for pkg, names in data.items()
              for name in names}
    found = set()
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith((".py", ".pyc")):
                rel = os.path.relpath(os.path.join(folder, name), os.path.dirname(PACKAGE_DIR))
                found.add(rel)
    assert found, "the package has no data file: this test reads the wrong folder"
    assert found <= listed, f"not in package-data: {sorted(found - listed)}"
