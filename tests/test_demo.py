"""``make demo`` (agents.demo): the slotted demo runs end to end on a tiny budget."""

from __future__ import annotations

from pathlib import Path

from agents.demo import DEMO_POLICIES, slotted_demo


def test_slotted_demo_trains_compares_and_plots(tmp_path: Path) -> None:
    table = slotted_demo(
        arrival_probs=(0.7,),
        train_episodes=64,
        eval_episodes=4,
        out_dir=tmp_path,
        progress=False,
    )
    rows = [line for line in table.splitlines() if line.startswith("| ") and "0.7" in line]
    assert [row.split("|")[1].strip() for row in rows] == list(DEMO_POLICIES)
    assert (tmp_path / "q_p0.7_d14.pt").is_file()
    assert (tmp_path / "slotted_demo.png").stat().st_size > 0
