"""`tx.train`: checkpoints. `save(path, tree)` writes a pytree of `tx.Variable`s and
`tx.Tensor`s (NumPy arrays too) to one file; `load(path, like=tree)` reads it back into a tree of
the same structure.

The file is a NumPy `.npz` archive (readable with `np.load(path)`): one array per leaf, named
`leaf_0`, `leaf_1` ... in flatten order, and `__tracefuse_checkpoint__`, a JSON string with the
format version and each leaf's path (`['params'][0]`), shape and dtype. It is written atomically:
into a temporary file in the same folder, flushed to disk, then renamed over `path`
(`os.replace`), so a crash leaves the old checkpoint or the new one, never half of one.

`load` reads every array first (a truncated or corrupted file fails there: a zip archive checks
each member's CRC), then checks the tree's structure and each leaf's shape and dtype against
`like`, and only then assigns: Variables of `like` in place (`v.assign`), Tensors and arrays
returned as new Tensors in a new tree. Any failure raises `CheckpointError` naming the file and
the leaf's path, and leaves every Variable as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

from .errors import user_location, with_location
from .frontend import device as _device
from .frontend.creation import asarray
from .frontend.tensor import Tensor
from .frontend.variable import Variable
from .ir import dtypes as dt
from .tracer import pytree
from .tracer.tracer import Tracer, current_builder

FORMAT = "tracefuse-checkpoint"
VERSION = 1
META_KEY = "__tracefuse_checkpoint__"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read into the tree given: a damaged or foreign file, or a
    leaf whose path, shape or dtype differs."""


def _refuse_in_trace(what: str) -> None:
    if current_builder() is not None:
        raise RuntimeError(with_location(
            f"tx.train.{what}() was called inside a function being traced; a checkpoint reads "
            "and writes values, which a trace does not have. Call it outside the compiled "
            "function (between steps)", user_location()))


def _host_array(leaf: Any, path: str) -> np.ndarray:
    """The value of one leaf as a NumPy array (a GPU array is copied to the host)."""
    if isinstance(leaf, Variable):
        leaf = leaf.snapshot()
    if isinstance(leaf, Tensor):
        return np.asarray(leaf.numpy())
    if isinstance(leaf, (np.ndarray, np.generic)) or _device.is_gpu_array(leaf):
        return np.asarray(_device.to_host(leaf))
    kind = "a traced value" if isinstance(leaf, Tracer) else type(leaf).__name__
    raise TypeError(with_location(
        f"tx.train: the leaf {path} is {kind}; a checkpoint holds tx.Variables, tx.Tensors and "
        "NumPy arrays (wrap a Python value in tx.asarray(...))", user_location()))


def _spec(leaf: Any) -> tuple[tuple[int, ...], str]:
    return tuple(int(n) for n in leaf.shape), dt.as_dtype(leaf.dtype).name


def save(path: str | os.PathLike, tree: Any) -> None:
    """Write `tree` (a pytree of Variables, Tensors and NumPy arrays) to `path`, atomically."""
    _refuse_in_trace("save")
    leaves, treedef = pytree.flatten(tree)
    paths = pytree.leaf_paths(treedef)
    arrays = {f"leaf_{i}": _host_array(leaf, p) for i, (leaf, p) in enumerate(zip(leaves, paths))}
    meta = {"format": FORMAT, "version": VERSION,
            "leaves": [{"path": p, "shape": list(a.shape), "dtype": dt.as_dtype(a.dtype).name}
                       for p, a in zip(paths, arrays.values())]}
    arrays[META_KEY] = np.array(json.dumps(meta))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(path: str) -> tuple[list[dict], list[np.ndarray]]:
    """Every leaf's description and array from the file, or CheckpointError."""
    def damaged(why: str) -> CheckpointError:
        return CheckpointError(with_location(
            f"tx.train.load: {path!r} is not a readable tracefuse checkpoint ({why}); it may be "
            "truncated or corrupted (nothing was assigned). Load an intact copy, or save again",
            user_location()))

    try:
        with np.load(path, allow_pickle=False) as archive:
            if META_KEY not in archive.files:
                raise damaged(f"no {META_KEY} entry: not written by tx.train.save")
            meta = json.loads(str(archive[META_KEY][()]))
            if meta.get("format") != FORMAT or meta.get("version") != VERSION:
                raise damaged(f"format {meta.get('format')!r} version {meta.get('version')!r}, "
                              f"expected {FORMAT!r} version {VERSION}")
            specs = meta["leaves"]
            arrays = [archive[f"leaf_{i}"] for i in range(len(specs))]
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
            json.JSONDecodeError, UnicodeDecodeError) as e:
        raise damaged(f"{type(e).__name__}: {e}") from None
    for spec, arr in zip(specs, arrays):  # the arrays agree with the description written
        if list(arr.shape) != spec["shape"] or dt.as_dtype(arr.dtype).name != spec["dtype"]:
            raise damaged(f"leaf {spec['path']} does not match its description")
    return specs, arrays


def load(path: str | os.PathLike, *, like: Any) -> Any:
    """Read the checkpoint at `path` into a tree of `like`'s structure: each Variable of `like`
    is assigned in place, each Tensor or array is returned as a new Tensor (on its device).
    Returns the new tree (the same Variables, new Tensors). Nothing is assigned unless the
    whole file is intact and every leaf's path, shape and dtype agrees with `like`."""
    _refuse_in_trace("load")
    path = os.fspath(path)
    leaves, treedef = pytree.flatten(like)
    paths = pytree.leaf_paths(treedef)
    specs, arrays = _read(path)
    stored = [s["path"] for s in specs]
    if stored != paths:
        extra = [p for p in stored if p not in paths]
        missing = [p for p in paths if p not in stored]
        detail = (f"the file has {extra[0]} that `like` lacks" if extra else
                  f"`like` has {missing[0]} that the file lacks" if missing else
                  "the same leaves in another order")
        raise CheckpointError(with_location(
            f"tx.train.load: {path!r} holds a tree of another structure: {detail} (file: "
            f"{len(stored)} leaves, like: {len(paths)}). Pass `like` with the structure that was "
            "saved", user_location()))
    for leaf, p, arr in zip(leaves, paths, arrays):
        if not isinstance(leaf, (Variable, Tensor, np.ndarray, np.generic)) and \
                not _device.is_gpu_array(leaf):
            _host_array(leaf, p)  # raises the TypeError naming the leaf
        shape, dtype = _spec(leaf)
        got = (tuple(arr.shape), dt.as_dtype(arr.dtype).name)
        if got != (shape, dtype):
            raise CheckpointError(with_location(
                f"tx.train.load: leaf {p} is {got[1]}{list(got[0])} in {path!r} but "
                f"{dtype}{list(shape)} in `like`; a checkpoint loads into leaves of the shape "
                "and dtype it was saved from", user_location()))
    out = []
    for leaf, arr in zip(leaves, arrays):
        if isinstance(leaf, Variable):
            leaf.assign(arr)
            out.append(leaf)
        else:
            device = "gpu" if _device.is_gpu_array(leaf) or (
                isinstance(leaf, Tensor) and leaf.device == "gpu") else None
            out.append(asarray(arr, device=device, copy=True))
    return pytree.unflatten(treedef, out)


__all__ = ["CheckpointError", "load", "save"]
