"""docs/envs/slotted.md carries the env docstring (the spec) verbatim, up to its example (which
the page wraps in a code block)."""

from __future__ import annotations

from pathlib import Path

import ua_envs.envs.slotted.env as env_module

DOC_PAGE = Path(__file__).resolve().parents[3] / "docs" / "envs" / "slotted.md"


def test_docs_page_contains_the_env_docstring() -> None:
    assert env_module.__doc__ is not None
    spec, example = env_module.__doc__.split("## Example\n")
    page = DOC_PAGE.read_text(encoding="utf-8")
    assert spec[spec.index("## Description") :] in page
    assert example.strip() in page
