"""docs/envs/multicell.md carries the env docstring (the spec) verbatim."""

from __future__ import annotations

from pathlib import Path

import ua_envs.envs.multicell.env as env_module

DOC_PAGE = Path(__file__).resolve().parents[3] / "docs" / "envs" / "multicell.md"


def test_docs_page_contains_the_env_docstring() -> None:
    assert env_module.__doc__ is not None
    body = env_module.__doc__.split("\n", 1)[1].strip()
    assert body in DOC_PAGE.read_text(encoding="utf-8")
