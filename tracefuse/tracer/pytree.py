"""Pytrees: nested tuples, lists, dicts, namedtuples and None around array leaves.

`flatten(tree)` gives the leaves in order and a hashable `TreeDef`; `unflatten(treedef, leaves)`
rebuilds the structure. `leaf_paths(treedef, prefix)` names each leaf the way the user would
write it (`params['w']`, `xs[0]`) for error messages and retrace reports.
"""

from __future__ import annotations

from typing import Any

LEAF = "*"  # the TreeDef of a single leaf


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten(tree: Any) -> tuple[list[Any], Any]:
    """(leaves, treedef): a TreeDef is a nested tuple, hashable and comparable."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(x: Any, leaves: list[Any]) -> Any:
    t = type(x)
    if t is tuple:
        return ("tuple",) + tuple(_flatten(c, leaves) for c in x)
    if t is list:
        return ("list",) + tuple(_flatten(c, leaves) for c in x)
    if t is dict:
        keys = tuple(x.keys())
        return ("dict", keys) + tuple(_flatten(x[k], leaves) for k in keys)
    if x is None:
        return ("none",)
    if _is_namedtuple(x):
        return ("namedtuple", t) + tuple(_flatten(c, leaves) for c in x)
    leaves.append(x)
    return LEAF


def unflatten(treedef: Any, leaves: list[Any]) -> Any:
    it = iter(leaves)
    result = _unflatten(treedef, it)
    return result


def _unflatten(td: Any, it) -> Any:
    if td == LEAF:
        return next(it)
    kind = td[0]
    if kind == "tuple":
        return tuple(_unflatten(c, it) for c in td[1:])
    if kind == "list":
        return [_unflatten(c, it) for c in td[1:]]
    if kind == "dict":
        return {k: _unflatten(c, it) for k, c in zip(td[1], td[2:])}
    if kind == "none":
        return None
    if kind == "namedtuple":
        return td[1](*(_unflatten(c, it) for c in td[2:]))
    raise ValueError(f"bad treedef node {td!r}")


def num_leaves(treedef: Any) -> int:
    if treedef == LEAF:
        return 1
    kind = treedef[0]
    children = treedef[2:] if kind in ("dict", "namedtuple") else treedef[1:]
    return sum(num_leaves(c) for c in children)


def leaf_paths(treedef: Any, prefix: str = "") -> list[str]:
    """The path of each leaf, in flatten order: `prefix[0]['w']`."""
    paths: list[str] = []
    _paths(treedef, prefix, paths)
    return paths


def _paths(td: Any, prefix: str, out: list[str]) -> None:
    if td == LEAF:
        out.append(prefix or "<leaf>")
        return
    kind = td[0]
    if kind in ("tuple", "list"):
        for i, c in enumerate(td[1:]):
            _paths(c, f"{prefix}[{i}]", out)
    elif kind == "dict":
        for k, c in zip(td[1], td[2:]):
            _paths(c, f"{prefix}[{k!r}]", out)
    elif kind == "namedtuple":
        for name, c in zip(td[1]._fields, td[2:]):
            _paths(c, f"{prefix}.{name}", out)


def describe(treedef: Any) -> str:
    """A short human description of a structure: `tuple of 2`, `dict with keys 'a', 'b'`."""
    if treedef == LEAF:
        return "an array"
    kind = treedef[0]
    if kind == "none":
        return "None"
    if kind == "dict":
        return "dict with keys " + ", ".join(repr(k) for k in treedef[1])
    if kind == "namedtuple":
        return f"{treedef[1].__name__} of {len(treedef) - 2}"
    return f"{kind} of {len(treedef) - 1}"
