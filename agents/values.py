"""How ``KEY=VALUE`` values typed on a command line are read (``--env-kwargs``,
``--trainer-kwargs``, a policy spec's ``@KEY=VALUE`` settings): one reader for all of them.

This module imports nothing of ``agents``, so both :mod:`agents.cli` and
:mod:`agents.registry` use it without depending on each other.
"""

from __future__ import annotations

import ast
import json
from typing import Any

__all__ = ["parse_value"]


def parse_value(text: str) -> Any:
    """``text`` read as JSON, else as a Python literal, else as the string itself.

    >>> parse_value("6"), parse_value("None"), parse_value("(1, 2)"), parse_value("zf")
    (6, None, (1, 2), 'zf')
    """
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return text
