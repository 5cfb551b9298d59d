"""docs/ir.md matches the printer and parser: every ```ir block of it parses, verifies, and
prints back to exactly itself, and the error it shows is the parser's."""

import os
import re

import pytest

from tracefuse.errors import IRParseError
from tracefuse.ir import parse_graph, print_graph, verify

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "ir.md")


def doc_text() -> str:
    with open(DOC) as f:
        return f.read()


def ir_blocks() -> list[str]:
    return re.findall(r"```ir\n(.*?)```", doc_text(), re.DOTALL)


def test_the_doc_has_ir_examples_with_kernels():
    blocks = ir_blocks()
    assert len(blocks) >= 4
    assert sum(" over [" in b for b in blocks) >= 3


@pytest.mark.parametrize("index", range(len(ir_blocks())))
def test_each_ir_example_prints_back_to_itself(index):
    block = ir_blocks()[index]
    graph = verify(parse_graph(block))
    assert print_graph(graph) == block


def test_the_error_example_is_what_the_parser_says():
    doc = doc_text()
    shown = re.search(r"## Errors\n.*?```\n(.*?)```", doc, re.DOTALL).group(1).rstrip("\n")
    first = ir_blocks()[0]
    bad = first.replace("subtract %0, %3 at [d0, d1]", "subtract %0, %3 at [d1, d0]")
    assert bad != first
    with pytest.raises(IRParseError) as info:
        parse_graph(bad)
    assert str(info.value) == shown
