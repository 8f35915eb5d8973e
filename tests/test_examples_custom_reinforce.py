"""examples/custom_reinforce.py learns with a tiny budget, and docs/agents.md shows it verbatim."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_reinforce.py"
SECTION = "## Train your own agent on ua-envs"


def test_custom_reinforce_beats_its_untrained_self() -> None:
    """40 updates of 32 instances: the greedy trained policy's mean penalised weighted sum rate
    on 64 held-out instances is clearly above the untrained one's (which, at seed 0, switches
    every link off: reward 0) — each UE must have learned to pick a strong AP."""
    spec = importlib.util.spec_from_file_location("custom_reinforce", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(module)
    result = module.main(["--updates", "40", "--num-envs", "32", "--eval-envs", "64"])
    assert set(result) == {"untrained", "trained"}
    assert all(math.isfinite(v) for v in result.values())
    assert result["trained"] > result["untrained"] + 2.0
    assert result["trained"] > 2.0


def test_docs_show_the_example_verbatim() -> None:
    text = (ROOT / "docs" / "agents.md").read_text(encoding="utf-8")
    assert SECTION in text
    section = text.split(SECTION, 1)[1]
    block = section.split("```python\n", 1)[1].split("\n```\n", 1)[0]
    assert block + "\n" == EXAMPLE.read_text(encoding="utf-8")
