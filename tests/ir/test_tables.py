"""Registry completeness: every OpCode has an entry in every per-op table (or an explicit
`Unsupported(reason)`), and the grouping sets partition the vocabulary."""

import ast
import itertools
from pathlib import Path

import pytest

from tracefuse.backends import render as base_render
from tracefuse.backends.cuda import render as cuda_render
from tracefuse.backends.cuda.render import CUDA_OPS, CudaRenderer
from tracefuse.backends.numba import render as numba_render
from tracefuse.backends.numba.render import NUMBA_OPS, NumbaRenderer
from tracefuse.ir import dtypes as dt
from tracefuse.ir import opcodes, verifier
from tracefuse.ir.numpy_impl import NUMPY_IMPL
from tracefuse.ir.opcodes import OpCode, Unsupported
from tracefuse.ir.rules import DTYPE_RULES, SHAPE_RULES
from tracefuse.passes.fuse import FUSIBLE

# Every per-op table of the project, by name. Each holds, for every OpCode, an entry or an
# explicit Unsupported with its reason. A new per-op table (JVP, VJP, batching rules, control
# flow regions) joins this tuple.
from tracefuse.transforms.batching import BATCH_RULES
from tracefuse.transforms.jvp_rules import JVP_RULES
from tracefuse.transforms.vjp_rules import VJP_RULES

OP_TABLES = (
    ("SHAPE_RULES", SHAPE_RULES),  # ir/rules.py
    ("DTYPE_RULES", DTYPE_RULES),  # ir/rules.py
    ("NUMPY_IMPL", NUMPY_IMPL),  # ir/numpy_impl.py
    ("NUMBA_OPS", NUMBA_OPS),  # backends/numba/render.py
    ("CUDA_OPS", CUDA_OPS),  # backends/cuda/render.py
    ("verifier.ARITY", verifier.ARITY),
    ("verifier.REQUIRED_ATTRS", verifier.REQUIRED_ATTRS),
    ("JVP_RULES", JVP_RULES),  # transforms/jvp_rules.py
    ("VJP_RULES", VJP_RULES),  # transforms/vjp_rules.py
    ("BATCH_RULES", BATCH_RULES),  # transforms/batching.py
)
# the tables of code that renders an op inside a kernel (template strings or functions)
RENDER_TABLES = (("NUMBA_OPS", NUMBA_OPS), ("CUDA_OPS", CUDA_OPS))


def _names(codes) -> list[str]:
    return sorted(code.value for code in codes)


@pytest.mark.parametrize("name, table", OP_TABLES, ids=[name for name, _ in OP_TABLES])
def test_every_opcode_has_an_entry(name, table):
    missing = [code for code in OpCode if code not in table]
    assert not missing, (f"{name} has no entry for {_names(missing)}: add one, or "
                         f"Unsupported(reason) if the table does not handle the op")
    assert set(table) == set(OpCode), f"{name} has keys that are not OpCodes"
    for code, entry in table.items():
        assert entry is not None, f"{name}[{code.value}] is None"
        if isinstance(entry, Unsupported):
            assert isinstance(entry.reason, str) and entry.reason.strip(), \
                f"{name}[{code.value}] is Unsupported without a reason"


def test_unsupported_needs_a_reason():
    for reason in ("", "   ", None):
        with pytest.raises(ValueError, match="needs a reason"):
            Unsupported(reason)
    assert Unsupported("runs as a library call").reason == "runs as a library call"


@pytest.mark.parametrize("name, table", RENDER_TABLES, ids=[n for n, _ in RENDER_TABLES])
def test_every_fusible_op_has_code_and_only_those_are_unsupported(name, table):
    """What fusion puts in a kernel (elementwise ops, axis reductions) the renderers must
    spell; everything else never reaches a kernel body and says so."""
    unsupported = {code for code, entry in table.items() if isinstance(entry, Unsupported)}
    assert not unsupported & FUSIBLE, f"{name}: fusible but Unsupported: {_names(unsupported & FUSIBLE)}"
    assert unsupported == set(OpCode) - FUSIBLE, \
        f"{name}: not fusible yet with code: {_names(set(OpCode) - FUSIBLE - unsupported)}"
    for code in FUSIBLE:
        entry = table[code]
        assert isinstance(entry, str) or callable(entry), f"{name}[{code.value}]: {entry!r}"


@pytest.mark.parametrize("renderer", [NumbaRenderer(use_vmath=False),
                                      CudaRenderer("int", "elementwise")],
                         ids=["numba", "cuda"])
def test_rendering_an_unsupported_op_quotes_the_reason(renderer):
    with pytest.raises(NotImplementedError, match=r"no code for matmul: .*BLAS"):
        renderer.spell(OpCode.MATMUL, ["a0", "a1"], dt.float32, dt.float32)
    with pytest.raises(NotImplementedError, match=r"no code for reshape: .*index maps"):
        renderer.spell(OpCode.RESHAPE, ["a0"], dt.float32, dt.float32)


def _module_level_imports(module) -> set[str]:
    """The top-level packages a module imports outside its functions and classes."""
    tree = ast.parse(Path(module.__file__).read_text())
    found: set[str] = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))  # if/try blocks run at import too
    return found


@pytest.mark.parametrize("module", [base_render, numba_render, cuda_render],
                         ids=lambda m: m.__name__)
def test_the_render_tables_are_read_without_numba(module):
    """The op tables are plain data beside their renderers: reading NUMBA_OPS or CUDA_OPS
    must not need Numba, llvmlite or CuPy (that `import tracefuse` loads none of them is
    tests/test_architecture.py's check)."""
    assert not _module_level_imports(module) & {"numba", "llvmlite", "cupy"}


def test_groups_partition_the_vocabulary():
    groups = {
        "ELEMENTWISE": opcodes.ELEMENTWISE,
        "REDUCE": opcodes.REDUCE,
        "MOVEMENT": opcodes.MOVEMENT,
        "SOURCES": opcodes.SOURCES,
        "MATMUL": frozenset({OpCode.MATMUL}),
        "FUSED": opcodes.FUSED,
        "REGIONS": opcodes.REGIONS,
        "RANDOM": opcodes.RANDOM,
        "LIBRARY_CALLS": opcodes.LIBRARY_CALLS,
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


def test_every_library_function_has_every_rule():
    """The library tables (ir/library, transforms/library) cover the same names:
    a rule or an explicit Unsupported(reason) for each function."""
    from tracefuse.ir.library import FUNCTIONS
    from tracefuse.transforms import library as library_rules

    for name, table in library_rules.TABLES.items():
        assert set(table) == set(FUNCTIONS), (name, sorted(set(FUNCTIONS) ^ set(table)))
    for fn in FUNCTIONS.values():
        assert fn.doc and fn.arity[0] >= 0, fn.name
