"""examples/fronthaul_feasibility.py runs end to end on a few instances."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fronthaul_feasibility.py"


def test_pc_wmmse_ends_feasible_on_every_instance() -> None:
    """pc_wmmse drops links until every AP is within capacity: feasibility is exactly 1."""
    spec = importlib.util.spec_from_file_location("fronthaul_feasibility", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    results = module.main(["--instances", "6", "--capacities", "40", "90"])
    assert set(results) == {40.0, 90.0}
    for row in results.values():
        assert row["feasible"] == 1.0
        assert row["wsr"] >= 0.0
