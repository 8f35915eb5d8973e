"""docs/envs/fronthaul.md carries the env docstring (the spec) verbatim."""

from __future__ import annotations

from pathlib import Path

import ua_envs.envs.fronthaul.env as env_module

DOC_PAGE = Path(__file__).resolve().parents[3] / "docs" / "envs" / "fronthaul.md"


def test_docs_page_contains_the_env_docstring() -> None:
    assert env_module.__doc__ is not None
    first, body = env_module.__doc__.split("\n", 1)
    page = DOC_PAGE.read_text(encoding="utf-8")
    assert page.startswith(f"# {first}\n")
    description, example = body.split("## Example\n", 1)
    assert description.strip() in page
    assert example.strip() in page
