"""examples/maskable_ppo_cellfree.py runs end to end with a tiny budget."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "maskable_ppo_cellfree.py"


def test_maskable_ppo_example_tiny_budget(tmp_path: Path) -> None:
    """256 steps of MaskablePPO with invalid_action="raise" (a masked action would raise),
    then the evaluation against random and greedy; the model is saved."""
    spec = importlib.util.spec_from_file_location("maskable_ppo_cellfree", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(module)
    model_path = tmp_path / "model.zip"
    means = module.main(
        [
            "--total-timesteps",
            "256",
            "--n-steps",
            "128",
            "--batch-size",
            "32",
            "--eval-episodes",
            "2",
            "--save",
            str(model_path),
        ]
    )
    assert set(means) == {"maskable_ppo", "random", "greedy"}
    assert all(math.isfinite(v) and v >= 0 for v in means.values())
    assert model_path.exists()
