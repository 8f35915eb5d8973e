"""The ``>>>`` examples of the user-facing docs pages run and print what the page says."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Pages whose examples are doctests (the env pages mirror docstrings, doctested there).
PAGES = ["scenarios.md"]


@pytest.mark.parametrize("page", PAGES)
def test_docs_page_examples_run(page: str) -> None:
    result = doctest.testfile(
        str(DOCS / page),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS,
    )
    assert result.attempted > 0
    assert result.failed == 0


#: Pages whose ```python blocks are scripts, run in order in one namespace per page.
SCRIPT_PAGES = ["model.md", "vector.md"]


def _python_blocks(text: str) -> list[str]:
    blocks, current, inside = [], [], False
    for line in text.splitlines():
        if line.strip() == "```python":
            inside, current = True, []
        elif line.strip() == "```" and inside:
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    return blocks


@pytest.mark.parametrize("page", SCRIPT_PAGES)
def test_docs_page_python_blocks_run(page: str) -> None:
    blocks = _python_blocks((DOCS / page).read_text(encoding="utf-8"))
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        if block.lstrip().startswith(">>>"):
            continue  # doctest-style blocks are checked by the doctest runner
        exec(compile(block, f"docs/{page}", "exec"), namespace)
