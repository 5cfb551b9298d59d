"""`Value`, `Op` and `Graph`: the SSA IR.

- A `Value` is identity only: it carries its `TensorType`; names (`%3`) are given at print time.
- An `Op` is frozen: opcode, input values, hashable attributes, output values, and the user's
  source location.
- A `Graph` is a flat tuple of ops in SSA order, exactly what the tracer appended, plus its
  inputs and outputs. Transformations build new graphs; nothing here mutates, and nothing
  rides along beside the ops: what a later stage needs (a kernel's index maps) is an op
  attribute, so the printed text holds all of it.

Attributes are an `Attrs` mapping (hashable, immutable). An attribute may hold a `Graph`
(structured control flow will carry sub-graphs that way); passes must handle or leave such ops.
The text form lives in printer.py (`print_graph`); this module imports nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UNKNOWN_LOC, Loc
from .opcodes import OpCode
from .types import TensorType


class Value:
    """An SSA value: identity plus its type. Compared and hashed by identity."""

    __slots__ = ("type",)

    def __init__(self, type: TensorType):
        self.type = type

    def __repr__(self) -> str:
        return f"Value({self.type}, id={id(self):#x})"


class Attrs(Mapping):
    """An immutable, hashable mapping of op attributes, kept in sorted key order."""

    __slots__ = ("_items", "_dict", "_hash")

    def __init__(self, items: Mapping[str, Any] | None = None, **kwargs: Any):
        merged = dict(items or {}, **kwargs)
        self._items = tuple(sorted(merged.items()))
        self._dict = dict(self._items)
        self._hash = hash(self._items)

    def __getitem__(self, key: str) -> Any:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Attrs):
            return self._items == other._items
        return isinstance(other, Mapping) and self._dict == dict(other)

    def replace(self, **changes: Any) -> "Attrs":
        return Attrs(self._dict, **changes)

    def __repr__(self) -> str:
        return "Attrs(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"


EMPTY_ATTRS = Attrs()


def mapped_index(types: Sequence[Any]) -> int:
    """Which of an op's result types its index map describes: the first of the greatest rank."""
    ranks = [len(t.shape) for t in types]
    return ranks.index(max(ranks))


@dataclass(frozen=True, eq=False)
class Op:
    """One operation: `outputs = code(inputs; attrs)`, written by the user at `loc`."""

    code: OpCode
    inputs: tuple[Value, ...]
    attrs: Attrs
    outputs: tuple[Value, ...]
    loc: Loc = UNKNOWN_LOC

    @property
    def output(self) -> Value:
        """The single output of a one-output op."""
        (out,) = self.outputs
        return out

    @property
    def mapped(self) -> Value:
        """The result a kernel body's index map describes (`at [...]`, printer.py): the single
        result of most ops; for a loop inside a kernel (results of the loop's shape and
        scalars), its first result of the greatest rank (`mapped_index`)."""
        return self.outputs[mapped_index([v.type for v in self.outputs])]

    def replace(self, **changes: Any) -> "Op":
        fields = dict(code=self.code, inputs=self.inputs, attrs=self.attrs,
                      outputs=self.outputs, loc=self.loc)
        fields.update(changes)
        return Op(**fields)


@dataclass(frozen=True, eq=False)
class Graph:
    """A function in SSA form: `inputs`, `ops` in order, `outputs` (values defined in it)."""

    inputs: tuple[Value, ...]
    ops: tuple[Op, ...]
    outputs: tuple[Value, ...]
    name: str = "main"

    def __post_init__(self):
        for name in ("inputs", "ops", "outputs"):
            if type(getattr(self, name)) is not tuple:
                object.__setattr__(self, name, tuple(getattr(self, name)))

    def replace(self, **changes: Any) -> "Graph":
        fields = dict(inputs=self.inputs, ops=self.ops, outputs=self.outputs, name=self.name)
        fields.update(changes)
        return Graph(**fields)

    def producers(self) -> dict[Value, Op]:
        """Map each op output to the op that defines it."""
        return {v: op for op in self.ops for v in op.outputs}

    def users(self) -> dict[Value, list[Op]]:
        """Map each value to the ops that read it, in order."""
        result: dict[Value, list[Op]] = {}
        for op in self.ops:
            for v in op.inputs:
                result.setdefault(v, []).append(op)
        return result

    def __repr__(self) -> str:
        # the text form is `printer.print_graph(graph)`; a repr stays one line
        return (f"Graph(@{self.name}: {len(self.inputs)} inputs, {len(self.ops)} ops, "
                f"{len(self.outputs)} outputs, id={id(self):#x})")
