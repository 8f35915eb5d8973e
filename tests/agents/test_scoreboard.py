"""``ua-envs scoreboard`` (``make demo``): tables, learned rows, ``--train``, ``NAME:pretrained``
and the README's generated section."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

import agents.pretrained as pretrained
from agents import scoreboard
from agents.cli import main as cli_main
from agents.pretrained import PretrainedCheckpoint, resolve_checkpoint
from agents.registry import check_policy_spec, make_policy
from tests.cli.cli_helpers import ROOT, one_line, run

SLOTTED = "SlottedArrivalAssoc-v0"


@pytest.fixture
def shipped_q_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PretrainedCheckpoint:
    """A tiny Q-learning table registered as shipped (trained by its documented command)."""
    monkeypatch.setattr(pretrained, "DIRECTORY", tmp_path)
    entry = PretrainedCheckpoint(
        "q_learning", SLOTTED, "q_tiny.pt", ("--steps", "400", "--seed", "3"), 0.01
    )
    monkeypatch.setattr(pretrained, "PRETRAINED", (entry,))
    monkeypatch.setattr(scoreboard, "PRETRAINED", (entry,))
    assert cli_main([*entry.train_argv(entry.path), "--quiet"]) == 0
    return entry


def test_every_board_runs_and_names_a_winner(tmp_path: Path) -> None:
    board = scoreboard.run_scoreboard(episodes=3, out_dir=tmp_path, progress=False)
    assert [r.board.env_id for r in board.boards] == [b.env_id for b in scoreboard.BOARDS]
    text = board.to_markdown()
    for result in board.boards:
        shipped = scoreboard.learned_entries(result.board.env_id, {})
        # One row per shipped checkpoint and per alias acting with its file.
        learned = [f"{name}:pretrained" for entry in shipped for name in entry.policies]
        assert result.labels == [*result.board.baselines, *learned]
        assert result.learned == learned
        assert result.verdict() in text
        assert f"% of {result.best_baseline}" in result.to_markdown()
    assert board.boards[0].learned == ["l2o:pretrained", "l2o_refined:pretrained"]  # MultiCell
    assert board.boards[2].learned == ["reinforce:pretrained", "reinforce_sampled:pretrained"]
    assert "Learned agents' checkpoints, reproduced by:" in text
    assert "ua-envs train l2o --env MultiCellAssoc-v0" in text
    assert board.figure == tmp_path / "scoreboard.png" and board.figure.stat().st_size > 0


def test_strongest_baseline_and_verdict_follow_the_means(tmp_path: Path) -> None:
    result = scoreboard.run_scoreboard(
        env_ids=["MultiCellAssoc-v0"], episodes=20, out_dir=tmp_path, plot=False, progress=False
    ).boards[0]
    means = {label: result.stat(label).mean for label in result.labels}
    assert result.best_baseline == max(means, key=means.__getitem__) == "exhaustive"
    assert result.verdict().startswith("MultiCellAssoc-v0: baseline **exhaustive** wins")
    assert "| exhaustive | baseline | mrt |" in result.to_markdown()
    assert "100.0 %" in result.to_markdown()


def test_learned_agent_rows_and_retraining(tmp_path: Path, shipped_q_table) -> None:
    board = scoreboard.run_scoreboard(
        env_ids=[SLOTTED], episodes=4, out_dir=tmp_path, progress=False
    )
    result = board.boards[0]
    assert result.learned == ["q_learning:pretrained"]
    assert "| q_learning:pretrained | learned |" in result.to_markdown()
    assert shipped_q_table.describe() in board.to_markdown()
    notes: list[str] = []
    retrained = scoreboard.run_scoreboard(
        env_ids=[SLOTTED],
        episodes=4,
        train=True,
        out_dir=tmp_path / "again",
        plot=False,
        progress=False,
        printer=notes.append,
    ).boards[0]
    assert "retrains 1 learned agent(s)" in notes[0]
    assert (tmp_path / "again" / "checkpoints" / "q_tiny.pt").is_file()
    # Same documented command, same seed: the same table, so the same scores.
    assert retrained.learned == ["q_learning (--train)"]
    assert retrained.stat("q_learning (--train)").mean == result.stat("q_learning:pretrained").mean


def test_pretrained_spec_resolves_to_the_shipped_file(shipped_q_table) -> None:
    assert resolve_checkpoint("q_learning", SLOTTED, "pretrained") == str(shipped_q_table.path)
    assert resolve_checkpoint("q_learning", SLOTTED, "other.pt") == "other.pt"
    check_policy_spec("q_learning:pretrained", SLOTTED)
    env = gym.make(SLOTTED)
    policy = make_policy("q_learning:pretrained", env, seed=0)
    assert policy is not None
    env.close()


def test_pretrained_choice_follows_the_env_kwargs() -> None:
    fronthaul = "FronthaulAssoc-v0"
    defaults = PretrainedCheckpoint("egat", fronthaul, "d.pt", (), 1.0)
    preset = PretrainedCheckpoint("egat", fronthaul, "p.pt", (), 1.0, {"preset": "egat"})
    table = (preset, defaults)
    find = pretrained.find_pretrained
    assert find("egat", fronthaul, table, {"preset": "egat", "capacity_mbps": 40.0}) is preset
    assert find("egat", fronthaul, table, {"preset": None, "capacity_mbps": 40.0}) is defaults
    assert find("egat", fronthaul, table, {}) is defaults
    assert find("egat", fronthaul, table) is preset  # env unknown: the first entry
    assert find("egat", fronthaul, (preset,), {}) is preset  # its loader explains the mismatch
    assert find("egat", "CellFreeAssoc-v0", table, {}) is None
    # Several cells of one preset: the nearest configuration shipped, never another preset's.
    slotted = "SlottedArrivalAssoc-v0"
    base = PretrainedCheckpoint("grows", slotted, "base.pt", (), 1.0)
    full_load = PretrainedCheckpoint(
        "grows", slotted, "full.pt", (), 1.0, {"arrival_prob": 1.0, "mean_demand": 14}
    )
    cells = {
        p: PretrainedCheckpoint(
            "grows",
            slotted,
            f"{p}.pt",
            (),
            1.0,
            {"preset": "grows", "arrival_prob": p, "mean_demand": 14},
        )
        for p in (0.7, 0.5, 1.0)
    }
    table = (base, full_load, *cells.values())

    def grows_file(**kwargs: object) -> str:
        entry = find("grows", slotted, table, {"preset": None, "mean_demand": 10, **kwargs})
        assert entry is not None
        return entry.filename

    assert grows_file(arrival_prob=0.7) == "base.pt"
    assert grows_file(arrival_prob=1.0, mean_demand=14) == "full.pt"
    assert grows_file(arrival_prob=0.5, mean_demand=14) == "base.pt"  # full.pt differs in p
    assert grows_file(preset="grows", arrival_prob=0.5, mean_demand=14) == "0.5.pt"
    assert grows_file(preset="grows", arrival_prob=1.0) == "1.0.pt"  # D̄ = 10 not shipped
    assert grows_file(preset="grows", arrival_prob=0.7) == "0.7.pt"
    assert grows_file(preset="grows", arrival_prob=0.3, mean_demand=6) == "0.7.pt"  # first
    # The shipped egat files: each env gets the one trained on its load unit (the other
    # refuses it: bits vs nats).
    for kwargs in ({}, {"preset": "egat"}, {"preset": "egat", "capacity_mbps": 40.0}):
        env = gym.make(fronthaul, beamforming="agent", **kwargs)
        make_policy("egat:pretrained", env)
        env.close()
    with pytest.raises(ValueError, match="load_rate_unit"):
        make_policy(
            f"egat:{pretrained.DIRECTORY / 'egat-FronthaulAssoc-v0.pt'}",
            gym.make(fronthaul, beamforming="agent", preset="egat"),
        )


def test_shipped_files_have_distinct_names() -> None:
    names = [entry.filename for entry in pretrained.PRETRAINED]
    assert len(names) == len(set(names))


def test_shipped_l2o_checkpoint_loads_and_beats_argmax() -> None:
    from agents.evaluate import compare

    entry = pretrained.find_pretrained("l2o", "MultiCellAssoc-v0")
    assert entry is not None and entry.path.is_file()
    assert entry.path.stat().st_size < 2_000_000
    table = compare(["argmax", "l2o:pretrained"], "MultiCellAssoc-v0", 100, 7, print_table=False)
    argmax, l2o = (r.returns.mean() for r in table.results)
    assert l2o > 1.5 * argmax


def test_pretrained_spec_without_a_shipped_checkpoint_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="no pretrained checkpoint of 'q_learning' for"):
        check_policy_spec("q_learning:pretrained", SLOTTED)
    done = run("evaluate", "q_learning:pretrained", "--env", SLOTTED, "--episodes", "1")
    assert done.returncode == 2
    one_line(done.stderr, "no pretrained checkpoint of 'q_learning'", "shipped: l2o:pretrained")


def test_cli_scoreboard_subset_and_bad_env(tmp_path: Path) -> None:
    done = run(
        "scoreboard", "--env", "CellFreeAssoc-v0", "--episodes", "2", "--out", str(tmp_path), "-q"
    )
    assert done.returncode == 0, done.stderr
    assert "**CellFreeAssoc-v0**" in done.stdout and "greedy_wmmse" in done.stdout
    assert (tmp_path / "scoreboard.png").is_file()
    bad = run("scoreboard", "--env", "NoSuchEnv-v0", "-q")
    assert bad.returncode == 2
    one_line(bad.stderr, "NoSuchEnv-v0")


def test_readme_section_round_trip(tmp_path: Path) -> None:
    board = scoreboard.run_scoreboard(
        env_ids=["MultiCellAssocBalanced-v0"],
        episodes=5,
        out_dir=tmp_path,
        plot=False,
        progress=False,
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{scoreboard.README_BEGIN}\nold\n{scoreboard.README_END}\nrest\n")
    scoreboard.write_readme(readme, board)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    parsed = scoreboard.readme_returns(text)["MultiCellAssocBalanced-v0"]
    result = board.boards[0]
    assert set(parsed) == set(result.labels)
    for label, (mean, half) in parsed.items():
        stat = result.stat(label)
        assert mean == pytest.approx(stat.mean, rel=0.01, abs=0.01)
        assert half == pytest.approx(stat.half_width, rel=0.05, abs=0.01)
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="no section between"):
        scoreboard.write_readme(readme, board)


def test_readme_numbers_match_a_fresh_run(tmp_path: Path) -> None:
    """The README's generated tables are what `ua-envs scoreboard` prints today: every method's
    mean return of a fresh run lies within the README's 95 % interval."""
    published = scoreboard.readme_returns((ROOT / "README.md").read_text(encoding="utf-8"))
    assert list(published) == [board.env_id for board in scoreboard.BOARDS]
    fresh = scoreboard.run_scoreboard(out_dir=tmp_path, plot=False, progress=False)
    for result in fresh.boards:
        rows = published[result.board.env_id]
        assert set(rows) == set(result.labels), result.board.env_id
        for label, (mean, half) in rows.items():
            now = result.stat(label).mean
            assert abs(now - mean) <= max(half, 0.01 * abs(mean), 1e-3), (label, now, mean)


def test_workers_score_the_same_numbers_in_other_processes(tmp_path: Path) -> None:
    kwargs = {"env_ids": ["MultiCellAssoc-v0", "FronthaulAssoc-v0"], "episodes": 4, "plot": False}
    one = scoreboard.run_scoreboard(out_dir=tmp_path, progress=False, **kwargs)  # type: ignore[arg-type]
    two = scoreboard.run_scoreboard(out_dir=tmp_path, progress=False, workers=2, **kwargs)  # type: ignore[arg-type]
    assert [r.board.env_id for r in two.boards] == kwargs["env_ids"]  # board order kept
    for first, second in zip(one.boards, two.boards, strict=True):
        assert first.labels == second.labels
        for label in first.labels:
            assert first.stat(label).mean == second.stat(label).mean
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        scoreboard.run_scoreboard(workers=0)
