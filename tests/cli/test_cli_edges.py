"""Edges of the ``ua-envs`` command line (issue #11): each user mistake ends with one line on
stderr and exit status 2, before any training or evaluation; truncated episodes are reported.

"Before any work" is checked with a spy policy and a spy trainer that count their calls.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import TINY, one_line, run

from agents import registry
from agents.cli import import_env_module, main

TINY_ARGS = ["--env-module", TINY]


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    """Run ``main(argv)`` in-process: status 2 and one stderr line containing ``needles``."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    return one_line(err, "ua-envs: error:", *needles)


class SpyPolicy:
    """First legal action; counts its calls."""

    def __init__(self, calls: dict[str, int]) -> None:
        self.calls = calls

    def act(self, observation: Any, info: Any = None, *, env: Any = None) -> np.int64:
        self.calls["act"] += 1
        return np.int64(np.flatnonzero(observation["action_mask"])[0])


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Registers policy ``spy`` (and trainer ``spy``) for every env; returns the call counts."""
    import_env_module(TINY)
    registry.load_builtin()
    monkeypatch.setattr(registry, "_POLICIES", {k: list(v) for k, v in registry._POLICIES.items()})
    monkeypatch.setattr(registry, "_TRAINERS", {k: list(v) for k, v in registry._TRAINERS.items()})
    calls = {"act": 0, "train": 0}

    def trainer(env_id: str, *, out: str, **kwargs: Any) -> str:
        calls["train"] += 1
        Path(out).write_text("trained")
        return out

    registry.register_policy(
        "spy", lambda env, checkpoint=None, seed=None: SpyPolicy(calls), description="spy"
    )
    registry.register_trainer("spy", trainer, description="spy")
    yield calls


# ---- --out that cannot be written ----------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "needle"),
    [
        ("missing/sub/ck.bin", "does not exist"),
        ("a_file/ck.bin", "is not a directory"),
        ("a_dir", "is a directory, not a file"),
        ("", "the output file path is empty"),
    ],
)
def test_train_out_is_checked_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spy: dict[str, int], out: str, needle: str
) -> None:
    """Regression: the trainer ran first; writing failed after it (or created the parents)."""
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_dir").mkdir()
    path = str(tmp_path / out) if out else ""
    argv = ["train", "spy", "--env", "UATiny-v0", *TINY_ARGS, "--episodes", "1", "-q"]
    usage_error([*argv, "--out", path], capsys, "--out", needle)
    assert spy["train"] == 0
    assert not (tmp_path / "missing").exists()
    assert main([*argv, "--out", str(tmp_path / "ok.bin")]) == 0
    assert spy["train"] == 1


def test_train_out_checks_the_path_with_the_trainers_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SB3 writes OUT.zip when OUT has no suffix: a directory there is refused up front."""
    (tmp_path / "model.zip").mkdir()
    argv = ["train", "ppo", "--env", "UATiny-v0", *TINY_ARGS, "--episodes", "1"]
    usage_error([*argv, "--out", str(tmp_path / "model"), "-q"], capsys, "model.zip")


@pytest.mark.parametrize("command", ["compare", "evaluate"])
@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("file", "is a file, not a directory"),
        ("file_parent", "is a file"),
        ("csv_is_dir", "summary.csv': it is a directory, not a file"),
    ],
)
def test_compare_and_evaluate_out_is_checked_before_evaluation(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spy: dict[str, int],
    command: str,
    setup: str,
    needle: str,
) -> None:
    """Regression: every policy was evaluated, then writing failed with a traceback."""
    target = tmp_path / "results"
    if setup == "file":
        target.write_text("x")
    elif setup == "file_parent":
        (tmp_path / "f").write_text("x")
        target = tmp_path / "f" / "results"
    else:
        (target / "summary.csv").mkdir(parents=True)
    head = (
        ["compare", "UATiny-v0", "--policies", "spy"]
        if command == "compare"
        else ["evaluate", "spy", "--env", "UATiny-v0"]
    )
    usage_error([*head, *TINY_ARGS, "--episodes", "2", "--out", str(target), "-q"], capsys, needle)
    assert spy["act"] == 0


def test_out_dir_with_missing_parents_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out results/mc`` (the README's example) creates the missing parents."""
    out = tmp_path / "results" / "deep" / "mc"
    argv = ["compare", "UATiny-v0", "--policies", "first_legal", *TINY_ARGS, "--episodes", "2"]
    assert main([*argv, "--out", str(out), "-q"]) == 0
    assert (out / "summary.csv").is_file() and (out / "summary.json").is_file()


# ---- --env-module ----------------------------------------------------------------------------


def test_env_module_with_a_syntax_error_is_one_line(tmp_path: Path) -> None:
    """Regression: a SyntaxError traceback."""
    module = tmp_path / "broken_envs.py"
    module.write_text("def oops(:\n    pass\n")
    result = run("list", "--env-module", str(module))
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, "--env-module: syntax error in", "broken_envs.py, line 1")


def test_env_module_that_raises_is_one_line_and_forgotten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "raising_envs_for_test.py"
    module.write_text("raise RuntimeError('no GPU here')\n")
    usage_error(["list", "--env-module", str(module)], capsys, "RuntimeError: no GPU here")
    assert "raising_envs_for_test" not in sys.modules
    module.write_text("def f(:\n")
    usage_error(["list", "--env-module", str(module)], capsys, "syntax error")
    assert "raising_envs_for_test" not in sys.modules


# ---- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_for_a_policy_that_takes_none(
    capsys: pytest.CaptureFixture[str], spy: dict[str, int]
) -> None:
    """Regression: 'random:model.npz' ran, ignoring the checkpoint."""
    usage_error(
        ["compare", "UATiny-v0", "--policies", "spy,random:model.npz", *TINY_ARGS, "-q"],
        capsys,
        "policy 'random' takes no checkpoint",
    )
    usage_error(
        ["evaluate", "first_legal", "--checkpoint", "m.npz", "--env", "UATiny-v0", *TINY_ARGS],
        capsys,
        "policy 'first_legal' takes no checkpoint",
    )
    assert spy["act"] == 0


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"\x00" * 64])
def test_damaged_q_table_via_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "q.npz"
    path.write_bytes(content)
    argv = ["evaluate", f"q_learning:{path}", "--env", "SlottedArrivalAssoc-v0", "-q"]
    usage_error(argv, capsys, "is not a Q-learning table")


def test_q_table_with_nan_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.npz"
    meta = json.dumps({"env_config": {}, "args": {}})
    np.savez(path, q=np.full((2, 2), np.nan), visits=np.zeros((2, 2), np.int64), meta=meta)
    argv = ["evaluate", f"q_learning:{path}", "--env", "SlottedArrivalAssoc-v0", "-q"]
    usage_error(argv, capsys, "non-finite (NaN or inf) entries")


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained PPO checkpoint on the tiny env (no training needed to be valid)."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    import_env_module(TINY)
    path = tmp_path_factory.mktemp("sb3") / "ppo.zip"
    env = gym.make("UATiny-v0", strict=False)
    PPO("MultiInputPolicy", env, n_steps=8, batch_size=8, device="cpu").save(path)
    return path


def test_truncated_sb3_zip_is_one_line_in_a_real_process(ppo_zip: Path, tmp_path: Path) -> None:
    """Regression: SB3 raised AssertionError ('No data found'), shown as a traceback."""
    damaged = tmp_path / "truncated.zip"
    data = ppo_zip.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    result = run(
        "evaluate", f"ppo:{damaged}", "--env", "UATiny-v0", "--env-module", TINY,
        "--env-kwargs", "strict=False", "--episodes", "1", "-q",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, "is not a readable PPO checkpoint")


def test_plain_ppo_zip_as_maskable_ppo(ppo_zip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sb3_contrib")
    argv = ["evaluate", f"maskable_ppo:{ppo_zip}", "--env", "UATiny-v0", *TINY_ARGS, "-q"]
    usage_error([*argv, "--env-kwargs", "strict=False"], capsys, "use ppo:PATH")


def test_damaged_checkpoint_of_a_later_policy_stops_before_the_first_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spy: dict[str, int]
) -> None:
    """Regression: compare evaluated the first policies, then failed on the damaged one."""
    damaged = tmp_path / "empty.zip"
    damaged.write_bytes(b"")
    argv = ["compare", "UATiny-v0", "--policies", f"spy,ppo:{damaged}", *TINY_ARGS, "-q"]
    usage_error([*argv, "--env-kwargs", "strict=False"], capsys, "not a readable PPO checkpoint")
    assert spy["act"] == 0


# ---- action spaces of the SB3 loaders ------------------------------------------------------


def test_dqn_is_refused_and_unlisted_on_non_discrete_envs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Regression: dqn:PATH was listed for, and accepted on, every env."""
    usage_error(
        ["compare", "MultiCellAssoc-v0", "--policies", "random,dqn:model.zip", "-q"],
        capsys,
        "policy 'dqn' cannot be used for env 'MultiCellAssoc-v0'",
        "it serves Discrete action spaces",
    )
    assert main(["list", "policies", "--env", "FronthaulAssoc-v0", "-q"]) == 0
    out = capsys.readouterr().out
    assert "  ppo " in out and "  dqn " not in out
    assert main(["list", "policies", "-q"]) == 0
    dqn_line = next(line for line in capsys.readouterr().out.splitlines() if "  dqn " in line)
    assert "CellFreeAssoc-v0, SlottedArrivalAssoc-v0" in dqn_line
    assert "MultiCell" not in dqn_line and "Fronthaul" not in dqn_line


def test_maskable_ppo_trainer_needs_action_masks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "maskable_ppo", "--env", "UATinyBits-v0", *TINY_ARGS, "--episodes", "1"]
    usage_error(
        [*argv, "--out", str(tmp_path / "m"), "-q"],
        capsys,
        "trainer 'maskable_ppo' cannot be used",
        "action_masks",
    )
    assert not (tmp_path / "m.zip").exists()


# ---- truncated episodes ------------------------------------------------------------------------


def test_truncated_episodes_are_counted_and_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: an episode cut by the time limit before its end counted as a normal one
    (CellFreeAssoc-v0 at 32 x 32 with max_episode_steps=49 scored 0 for every policy)."""
    out = tmp_path / "res"
    argv = [
        "compare", "UATiny-v0", "--policies", "first_legal,random", *TINY_ARGS,
        "--episodes", "3", "--env-kwargs", "horizon=5", "max_episode_steps=2",
        "--out", str(out), "-q",
    ]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    warnings = captured.err.strip().splitlines()
    assert len(warnings) == 2, captured.err  # one per policy, even with --quiet
    assert all(w.startswith("ua-envs: warning: 3 of 3 episodes of") for w in warnings)
    assert "max_episode_steps=2" in warnings[0]
    assert "| policy | return | truncated |" in captured.out
    assert "| first_legal | 2 ± 0 | 3/3 |" in captured.out
    assert "WARNING: 3 of 3 episodes of first_legal" in captured.out
    rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    assert [(r["truncated"], r["truncated_fraction"]) for r in rows] == [("3", "1.0")] * 2
    episodes = list(csv.DictReader((out / "episodes.csv").read_text().splitlines()))
    assert {e["truncated"] for e in episodes} == {"1"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["max_episode_steps"] == 2 and len(summary["warnings"]) == 2
    first = summary["policies"][0]
    assert first["truncated"] == 3 and first["truncated_fraction"] == 1.0
    assert first["truncated_episodes"] == [True, True, True]


def test_an_env_truncating_at_its_own_horizon_is_counted_not_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SlottedArrivalAssoc-v0 has no time limit: every episode is `horizon` slots by design
    and ends truncated; the counts say so, the time-limit warning does not fire."""
    out = tmp_path / "res"
    argv = ["compare", "SlottedArrivalAssoc-v0", "--policies", "argmax", "--episodes", "3"]
    assert main([*argv, "--env-kwargs", "horizon=6", "--out", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "WARNING" not in captured.out
    assert "| argmax |" in captured.out and "3/3" in captured.out  # the truncated column
    summary = json.loads((out / "summary.json").read_text())
    assert summary["warnings"] == [] and summary["policies"][0]["truncated"] == 3


def test_evaluate_without_truncation_has_zero_counts_and_no_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "res"
    argv = ["evaluate", "first_legal", "--env", "UATiny-v0", *TINY_ARGS, "--episodes", "3"]
    assert main([*argv, "--env-kwargs", "horizon=2", "--out", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "WARNING" not in captured.out
    assert "truncated" not in captured.out  # the markdown column appears only when needed
    rows = list(csv.DictReader((out / "summary.csv").read_text().splitlines()))
    assert rows[0]["truncated"] == "0" and rows[0]["truncated_fraction"] == "0.0"
    assert json.loads((out / "summary.json").read_text())["warnings"] == []


def test_evaluate_reports_truncation_too(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "first_legal", "--env", "UATiny-v0", *TINY_ARGS, "--episodes", "2"]
    assert main([*argv, "--env-kwargs", "horizon=3", "max_episode_steps=1", "-q"]) == 0
    err = capsys.readouterr().err
    one_line(err, "ua-envs: warning: 2 of 2 episodes of first_legal on UATiny-v0")
