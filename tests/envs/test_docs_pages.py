"""docs/envs/<family>.md carries the family's env docstring (the spec) verbatim: which parts,
and where, each page's layout decides."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "envs"


def _title_description_and_example(doc: str) -> tuple[str | None, list[str]]:
    """The page's title is the docstring's first line; the description and the example follow."""
    first, body = doc.split("\n", 1)
    description, example = body.split("## Example\n", 1)
    return f"# {first}\n", [description.strip(), example.strip()]


def _body(doc: str) -> tuple[str | None, list[str]]:
    """Everything after the docstring's first line, in one piece (the page has its own title)."""
    return None, [doc.split("\n", 1)[1].strip()]


def _description_and_example(doc: str) -> tuple[str | None, list[str]]:
    """From "## Description" up to the example, and the example (the page wraps it in a code
    block)."""
    spec, example = doc.split("## Example\n")
    return None, [spec[spec.index("## Description") :], example.strip()]


@pytest.mark.parametrize(
    ("family", "parts"),
    [
        ("fronthaul", _title_description_and_example),
        ("multicell", _body),
        ("slotted", _description_and_example),
    ],
)
def test_docs_page_contains_the_env_docstring(
    family: str, parts: Callable[[str], tuple[str | None, list[str]]]
) -> None:
    doc = importlib.import_module(f"ua_envs.envs.{family}.env").__doc__
    assert doc is not None
    page = (DOCS / f"{family}.md").read_text(encoding="utf-8")
    title, pieces = parts(doc)
    if title is not None:
        assert page.startswith(title)
    for piece in pieces:
        assert piece in page
