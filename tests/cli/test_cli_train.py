"""``ua-envs train`` on the training convention: options a trainer does not honour are refused,
and every checkpoint that cannot be resumed or evaluated is exit status 2 in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import agents.registry
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.cli import main
from agents.entries import TrainerEntry

ENV_ID = "SlottedArrivalAssoc-v0"
TRAIN = ["train", "q_learning", "--env", ENV_ID, "-q"]


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("q") / "q.pt"
    assert main([*TRAIN, "--steps", "320", "--num-envs", "8", "--out", str(out)]) == 0
    return out


def _variant(source: Path, target: Path, **changes: Any) -> Path:
    checkpoint = load_checkpoint(source)
    for name, value in changes.items():
        setattr(checkpoint, name, value)
    return save_checkpoint(target, checkpoint)


@pytest.mark.parametrize(
    ("changes", "extra", "needle"),
    [
        ({"algorithm": "dqn"}, [], "holds a 'dqn' checkpoint, not 'q_learning'"),
        ({"env_id": "MultiCellAssoc-v0"}, [], "was trained on 'MultiCellAssoc-v0'"),
        ({}, ["--env-kwargs", "max_users_per_bs=3"], "max_users_per_bs=4 when trained, 3 now"),
    ],
)
def test_resume_refuses_checkpoints_that_do_not_fit(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    trained: Path,
    changes: dict[str, Any],
    extra: list[str],
    needle: str,
) -> None:
    source = _variant(trained, tmp_path / "src.pt", **changes)
    argv = [*TRAIN, "--steps", "640", "--resume", str(source), "--out", str(tmp_path / "o.pt")]
    usage_error([*argv, *extra], capsys, str(source), needle)
    assert not (tmp_path / "o.pt").exists()


def test_resume_accepts_kwargs_that_do_not_change_the_state_encoding(
    tmp_path: Path, trained: Path
) -> None:
    out = tmp_path / "o.pt"
    argv = [*TRAIN, "--steps", "640", "--resume", str(trained), "--out", str(out)]
    assert main([*argv, "--env-kwargs", "arrival_prob=0.5"]) == 0
    resumed = load_checkpoint(out)
    assert resumed.step == 640 and resumed.env_kwargs == {"arrival_prob": 0.5}


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_pt_checkpoint_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trained: Path, damage: str
) -> None:
    good = trained.read_bytes()
    path = tmp_path / "bad.pt"
    path.write_bytes(
        {"empty": b"", "truncated": good[: len(good) // 3], "garbage": b"x" * 99}[damage]
    )
    needle = "is not a readable ua-envs checkpoint"
    usage_error(["evaluate", f"q_learning:{path}", "--env", ENV_ID, "-q"], capsys, needle)
    argv = [*TRAIN, "--steps", "640", "--resume", str(path), "--out", str(tmp_path / "o.pt")]
    usage_error(argv, capsys, str(path), needle)


def test_resume_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.pt"
    argv = [*TRAIN, "--steps", "64", "--resume", str(missing), "--out", str(tmp_path / "o.pt")]
    usage_error(argv, capsys, "none.pt' does not exist")


def test_steps_and_episodes_together_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*TRAIN, "--steps", "64", "--episodes", "2", "--out", str(tmp_path / "o.pt")]
    usage_error(argv, capsys, "--steps or as --episodes, not both")


def test_an_option_the_trainer_does_not_honour_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trainer that counts episodes only: --resume / --steps / --tensorboard are exit 2, not
    silently ignored; without a budget it gets the old default of 1,000 episodes."""
    calls: list[dict[str, Any]] = []

    def episodes_only(env_id: str, **kwargs: Any) -> str:
        calls.append(kwargs)
        torch.save({}, kwargs["out"])
        return str(kwargs["out"])

    entry = TrainerEntry("old_style", episodes_only, None, "counts episodes")
    monkeypatch.setattr(agents.registry, "trainer_entry", lambda name, env_id=None: entry)
    base = ["train", "old_style", "--env", ENV_ID, "-q", "--out", str(tmp_path / "m.pt")]
    usage_error(
        [*base, "--resume", "x.pt"], capsys, "trainer 'old_style' does not support --resume"
    )
    usage_error([*base, "--steps", "5", "--tensorboard", "tb"], capsys, "--steps, --tensorboard")
    assert calls == []
    assert main(base) == 0
    assert calls[0]["episodes"] == 1000 and "steps" not in calls[0]
