"""Registry completeness: every OpCode has an entry in every per-op table, and the grouping
sets partition the vocabulary."""

import itertools

import pytest

from tracefuse.ir import opcodes, verifier
from tracefuse.ir.numpy_impl import NUMPY_IMPL
from tracefuse.ir.opcodes import OpCode
from tracefuse.ir.rules import DTYPE_RULES, SHAPE_RULES

TABLES = {
    "SHAPE_RULES": SHAPE_RULES,
    "DTYPE_RULES": DTYPE_RULES,
    "NUMPY_IMPL": NUMPY_IMPL,
    "verifier.ARITY": verifier.ARITY,
    "verifier.REQUIRED_ATTRS": verifier.REQUIRED_ATTRS,
}


@pytest.mark.parametrize("name", TABLES)
def test_every_opcode_has_an_entry(name):
    table = TABLES[name]
    missing = [code.value for code in OpCode if code not in table]
    assert not missing, f"{name} lacks {missing}"
    assert set(table) == set(OpCode), f"{name} has keys that are not OpCodes"


def test_groups_partition_the_vocabulary():
    groups = {
        "ELEMENTWISE": opcodes.ELEMENTWISE,
        "REDUCE": opcodes.REDUCE,
        "MOVEMENT": opcodes.MOVEMENT,
        "SOURCES": opcodes.SOURCES,
        "MATMUL": frozenset({OpCode.MATMUL}),
        "FUSED": opcodes.FUSED,
    }
    for (a, sa), (b, sb) in itertools.combinations(groups.items(), 2):
        assert not sa & sb, f"{a} and {b} overlap: {sorted(c.value for c in sa & sb)}"
    union = frozenset().union(*groups.values())
    assert union == frozenset(OpCode), sorted(c.value for c in set(OpCode) - union)


def test_elementwise_subgroups_partition_elementwise():
    parts = (opcodes.UNARY, opcodes.BINARY, opcodes.TERNARY)
    assert sum(len(p) for p in parts) == len(opcodes.ELEMENTWISE)
    assert frozenset().union(*parts) == opcodes.ELEMENTWISE


def test_algebra_sets_are_binary_elementwise():
    for name in ("COMMUTATIVE", "ASSOCIATIVE"):
        assert getattr(opcodes, name) <= opcodes.BINARY, name
    assert opcodes.PREDICATES <= opcodes.ELEMENTWISE
    assert opcodes.TRANSCENDENTAL <= opcodes.ELEMENTWISE


def test_op_names_are_unique_and_looked_up():
    assert len(opcodes.BY_NAME) == len(OpCode)
    assert all(opcodes.BY_NAME[code.value] is code for code in OpCode)


def test_arity_agrees_with_groups():
    for code in OpCode:
        lo, hi = verifier.ARITY[code]
        if code in opcodes.UNARY or code in opcodes.REDUCE:
            assert (lo, hi) == (1, 1), code
        elif code in opcodes.BINARY or code is OpCode.MATMUL:
            assert (lo, hi) == (2, 2), code
        elif code in opcodes.TERNARY:
            assert (lo, hi) == (3, 3), code
        elif code in opcodes.SOURCES:
            assert (lo, hi) == (0, 0), code
    assert verifier.ARITY[OpCode.CONCAT] == (1, None)
