"""The ``ua-envs`` command line, through ``subprocess`` (as users run it) and in-process.

The tiny test env (tests/agents/tiny_envs.py) is made visible with ``--env-module PATH``.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import TINY, one_line, run

from agents import cli
from agents.cli import main, parse_env_kwargs


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    one_line(result.stderr, *needles)


def test_help() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("list", "bench", "compare", "train", "evaluate"):
        assert command in result.stdout


def test_list_shows_every_id_with_spaces_or_unavailability() -> None:
    import ua_envs

    result = run("list", "--env-module", TINY)
    assert result.returncode == 0, result.stderr
    for env_id, description in ua_envs.ENV_IDS.items():
        assert f"  {env_id}  {description}" in result.stdout
    block = result.stdout.split("UATiny-v0", 1)[1]
    assert "action:      Discrete(4)" in block
    assert "observation: Dict(action_mask: Box(4,) int8, x: Box(1,) float32)" in block
    # Every env line is followed by its spaces or by a "(not available: ...)" line.
    lines = result.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("  ") and line.strip().split()[0] in ua_envs.ENV_IDS:
            assert lines[i + 1].strip().startswith(("observation:", "(not available:"))
    assert "first_legal" in result.stdout and "random" in result.stdout
    broken = result.stdout.split("UABroken-v0", 1)[1].splitlines()[1]
    assert "(not available: ModuleNotFoundError: No module named 'no_such_module" in broken


def test_unknown_env_exits_2_naming_valid_ids() -> None:
    result = run("compare", "NoSuchEnv-v0", "--policies", "random")
    assert_one_line_usage_error(result, "NoSuchEnv-v0", "MultiCellAssoc-v0", "CellFreeAssoc-v0")


def test_unknown_policy_exits_2_naming_valid_policies() -> None:
    result = run("compare", "UATiny-v0", "--env-module", TINY, "--policies", "random,nope")
    assert_one_line_usage_error(result, "nope", "first_legal", "random")


def test_bad_kwarg_and_bad_number_exit_2() -> None:
    result = run(
        "compare", "UATiny-v0", "--env-module", TINY, "--policies", "random",
        "--env-kwargs", "bogus=1",
    )  # fmt: skip
    assert_one_line_usage_error(result, "bogus", "horizon")
    result = run("compare", "UATiny-v0", "--policies", "random", "--episodes", "abc")
    assert_one_line_usage_error(result, "--episodes", "integer >= 1", "'abc'")
    result = run("nosuchcommand")
    assert_one_line_usage_error(result, "invalid choice", "compare")


def test_compare_twice_gives_identical_csv(tmp_path: Path) -> None:
    args = [
        "compare", "UATiny-v0", "--env-module", TINY, "--policies", "random,first_legal",
        "--episodes", "100", "--seed", "0", "--env-kwargs", "reward=gaussian", "horizon=2",
        "--reference", "first_legal", "--quiet",
    ]  # fmt: skip
    first = run(*args, "--out", str(tmp_path / "a"), "--plot")
    second = run(*args, "--out", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    assert "| random |" in first.stdout and "±" in first.stdout
    assert "% of first_legal" in first.stdout
    a = (tmp_path / "a" / "summary.csv").read_text()
    assert a == (tmp_path / "b" / "summary.csv").read_text()
    rows = list(csv.DictReader(a.splitlines()))
    assert [r["policy"] for r in rows] == ["random", "first_legal"]
    assert all(r["episodes"] == "100" for r in rows)
    assert (tmp_path / "a" / "compare.png").exists()
    assert first.stderr == ""  # --quiet: no progress bars or notes


def test_in_process_compare_evaluate_and_errors(tmp_path: Path, capsys) -> None:
    """The same entry point in-process (fast): evaluate, checkpoint syntax, list filters."""
    assert main(["list", "policies", "--env-module", TINY, "--env", "UATiny-v0", "-q"]) == 0
    assert "first_legal" in capsys.readouterr().out
    status = main(
        ["evaluate", "first_legal", "--env", "UATiny-v0", "--env-module", TINY,
         "--episodes", "5", "--env-kwargs", '{"reward": "constant", "value": 2}', "-q"]
    )  # fmt: skip
    assert status == 0
    assert "| first_legal | 2 ± 0 |" in capsys.readouterr().out
    status = main(
        ["evaluate", "ppo:a.zip", "--checkpoint", "b.zip", "--env", "UATiny-v0",
         "--env-module", TINY, "-q"]
    )  # fmt: skip
    assert status == 2
    assert "either as POLICY:CKPT or with --checkpoint" in capsys.readouterr().err
    assert main(["compare", "UATiny-v0", "--env-module", TINY, "--policies", "random",
                 "--plot", "-q"]) == 2  # fmt: skip
    assert "--plot needs --out" in capsys.readouterr().err
    assert main(["list", "--env-module", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_train_then_evaluate(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ppo_tiny"
    status = main(
        ["train", "ppo", "--env", "UATiny-v0", "--env-module", TINY, "--episodes", "4",
         "--out", str(out), "--env-kwargs", "strict=False", "-q"]
    )  # fmt: skip
    assert status == 0
    path = capsys.readouterr().out.strip()
    assert path == f"{out}.zip" and Path(path).exists()
    status = main(
        ["evaluate", "ppo", "--checkpoint", path, "--env", "UATiny-v0", "--env-module", TINY,
         "--episodes", "3", "--env-kwargs", "strict=False", "-q"]
    )  # fmt: skip
    assert status == 0
    assert f"| ppo:{path} |" in capsys.readouterr().out
    assert main(["train", "nope", "--env", "UATiny-v0", "--out", "x", "-q"]) == 2
    assert "unknown trainer 'nope'" in capsys.readouterr().err


def test_bench_core_and_env(capsys) -> None:
    assert main(["bench", "core", "--batch-size", "32", "--min-time", "0.01", "-q"]) == 0
    table = capsys.readouterr().out
    assert table.count("| sum_rate(mrt) | core |") >= 3 and "M=2 N=4 K=8" in table
    assert main(["bench", "UATiny-v0", "--env-module", TINY, "--single-steps", "50", "-q"]) == 0
    assert "no native vector env" in capsys.readouterr().out
    assert main(["bench", "core", "--device", "nosuchdevice", "-q"]) == 2
    assert "unknown torch device" in capsys.readouterr().err


def test_env_whose_module_is_missing_exits_1(capsys) -> None:
    status = main(["compare", "UABroken-v0", "--env-module", TINY, "--policies", "random", "-q"])
    assert status == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ua-envs: error: not available:") and "\n" not in err


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (['{"num_ues": 6, "scenario": "mmwave28"}'], {"num_ues": 6, "scenario": "mmwave28"}),
        (["a=1", "b=2.5", "c=zf", "d=true", "e=None", "f=[1, 2]"],
         {"a": 1, "b": 2.5, "c": "zf", "d": True, "e": None, "f": [1, 2]}),
    ],
)  # fmt: skip
def test_parse_env_kwargs(items: list[str], expected: dict) -> None:
    assert parse_env_kwargs(items) == expected


@pytest.mark.parametrize("items", [["novalue"], ["{not json"], ["[1, 2]"], ["1x=3"]])
def test_parse_env_kwargs_rejects(items: list[str]) -> None:
    with pytest.raises(ValueError, match="--env-kwargs"):
        parse_env_kwargs(items)


def test_benchmarks_module_does_not_import_agents() -> None:
    """ua_envs never imports agents (ARCHITECTURE rule 1), the benchmark module included."""
    code = (
        "import sys, ua_envs.benchmarks; "
        "bad = [m for m in sys.modules if m == 'agents' or m.startswith('agents.')]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_train_passes_trainer_kwargs_and_rejects_unknown_ones(tmp_path: Path, capsys) -> None:
    """--trainer-kwargs reach the learner (saved with the table); bad names exit 2."""
    from agents.checkpoint import load_checkpoint

    out = tmp_path / "q.pt"
    argv = ["train", "q_learning", "--env", "SlottedArrivalAssoc-v0", "--episodes", "64"]
    assert main([*argv, "--out", str(out), "--trainer-kwargs", "gamma=0.9", "-q"]) == 0
    hyperparameters = load_checkpoint(out, algorithm="q_learning").hyperparameters
    assert hyperparameters["gamma"] == 0.9
    assert hyperparameters["learning_rate"] == 0.5  # untouched SPEC default
    assert main([*argv, "--out", str(out), "--trainer-kwargs", "gama=0.9", "-q"]) == 2
    assert "valid: demand_levels" in capsys.readouterr().err
    assert main([*argv, "--out", str(out), "--trainer-kwargs", "seed=1", "-q"]) == 2


def test_evaluate_checkpoint_option_keeps_the_spec_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``evaluate NAME@K=V --checkpoint C`` evaluates ``NAME:C@K=V`` (settings not dropped)."""
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "_run_table", lambda args, specs, reference: seen.append(specs) or 0)
    argv = ["evaluate", "q_learning@arrival_prob=0.5", "--checkpoint", "q.pt"]
    assert cli.main([*argv, "--env", "SlottedArrivalAssoc-v0"]) == 0
    assert (
        cli.main(
            ["evaluate", "q_learning", "--checkpoint", "q.pt", "--env", "SlottedArrivalAssoc-v0"]
        )
        == 0
    )
    assert seen == [["q_learning:q.pt@arrival_prob=0.5"], ["q_learning:q.pt"]]
