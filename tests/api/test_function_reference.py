"""The user guide's "Function reference" lists the whole namespace: every public function of
`tracefuse` and of its submodules (linalg, fft, nn, random, optimizers, train), so the
reference cannot fall behind the code."""

import inspect
import os
import re

import tracefuse as tx

GUIDE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "user-guide.md")
SUBMODULES = ("linalg", "fft", "nn", "random", "optimizers", "train")


def _reference_names() -> set[str]:
    text = open(GUIDE, encoding="utf-8").read()
    section = text[text.index("## Function reference"):]
    end = section.find("\n## ", 5)
    section = section if end < 0 else section[:end]
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)(?![*\w])", section))


def _public_functions(module) -> set[str]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    out = set()
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or isinstance(obj, (tx.DType, float, str)):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            continue  # errors are listed in "Errors"
        if inspect.isclass(obj) and obj.__name__.endswith("Result"):
            continue  # the named tuples linalg returns
        if callable(obj):
            out.add(name)
    return out


def test_the_reference_lists_every_public_function():
    listed = _reference_names()
    wanted = _public_functions(tx) - {"Tensor", "DType", "Function", "ConcreteFunction",
                                      "Lowered", "Profile", "TensorSpec"}
    for sub in SUBMODULES:
        wanted |= _public_functions(getattr(tx, sub))
    missing = sorted(wanted - listed)
    assert not missing, f"docs/user-guide.md 'Function reference' does not list {missing}"


def test_the_reference_names_only_what_exists():
    listed = _reference_names()
    known = set(dir(tx)) | {n for sub in SUBMODULES for n in dir(getattr(tx, sub))}
    known |= {"tx", "x", "None", "size", "fill_value"}  # the prose of the table
    unknown = sorted(n for n in listed if n not in known)
    assert not unknown, f"the reference lists names tracefuse does not have: {unknown}"
