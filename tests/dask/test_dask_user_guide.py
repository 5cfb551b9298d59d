"""The user guide's section "Data larger than memory (Dask)": its example runs as written."""

from __future__ import annotations

import os
import re

import pytest

pytest.importorskip("dask.array")

GUIDE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "user-guide.md")


def test_the_dask_example_runs():
    text = open(GUIDE, encoding="utf-8").read()
    section = text[text.index("## Data larger than memory (Dask)"):]
    section = section[:section.index("\n## ", 5)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "user-guide.md", "exec"), {})
