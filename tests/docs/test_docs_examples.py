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
