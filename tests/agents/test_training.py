"""The training convention (:mod:`agents.training`) and tabular Q-learning on it: budget,
curve files, TensorBoard, held-out evaluation with the best checkpoint, resume, reproducibility.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.cli import main
from agents.entries import TrainJob
from agents.q_learning import (
    QLearningArgs,
    QLearningPolicy,
    QTable,
    StateEncoder,
    config_dict,
    train,
)
from agents.registry import make_policy
from agents.training import (
    EVAL_SEED_BASE,
    PeriodicEvaluation,
    TrainingLog,
    check_fields,
    evaluation_seed,
    make_generator,
    run_files,
    state_digest,
    step_budget,
)
from ua_envs.envs.slotted.sim import SlottedConfig

ENV_ID = "SlottedArrivalAssoc-v0"
TRAIN = ["train", "q_learning", "--env", ENV_ID, "-q"]


def read_curve(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# ---- the pieces ------------------------------------------------------------------------------


def test_evaluation_seeds_are_fixed_and_disjoint_from_training_seeds() -> None:
    assert evaluation_seed(0, 256) == evaluation_seed(12345, 256) == EVAL_SEED_BASE == 10**9
    assert evaluation_seed(10**9 - 256, 256) == 10**9  # the last training seed is 10**9 - 1
    with pytest.raises(ValueError, match=r"seed must be <= 999999744 .* got 999999745"):
        evaluation_seed(10**9 - 255, 256)


def test_run_files_sit_next_to_the_checkpoint() -> None:
    files = run_files("runs/q.pt")
    assert files.checkpoint == Path("runs/q.pt")
    assert files.best == Path("runs/q.best.pt")
    assert (files.curve_csv, files.curve_png) == (
        Path("runs/q.curve.csv"),
        Path("runs/q.curve.png"),
    )


def test_generators_are_reproducible_and_streams_independent() -> None:
    draw = lambda seed, stream: torch.rand(4, generator=make_generator(seed, stream))  # noqa: E731
    assert torch.equal(draw(3, "exploration"), draw(3, "exploration"))
    assert not torch.equal(draw(3, "exploration"), draw(4, "exploration"))
    assert not torch.equal(draw(3, "exploration"), draw(3, "dropout"))


def test_state_digest_sees_values_dtypes_and_keys() -> None:
    state = {"q": torch.zeros(2, 2), "n": torch.zeros(2, dtype=torch.int64)}
    same = {"n": torch.zeros(2, dtype=torch.int64), "q": torch.zeros(2, 2)}
    assert state_digest(state) == state_digest(same)  # key order does not matter
    assert state_digest(state) != state_digest({**state, "q": torch.zeros(2, 2).double()})
    assert state_digest(state) != state_digest({**state, "q": torch.eye(2)})
    assert state_digest(state) != state_digest({"Q": state["q"], "n": state["n"]})


def test_step_budget() -> None:
    job = TrainJob(ENV_ID, None, 0, "q.pt", steps=500)
    assert step_budget(job, episode_steps=40, default_steps=7) == 500
    assert step_budget(TrainJob(ENV_ID, 3, 0, "q.pt"), episode_steps=40, default_steps=7) == 120
    assert step_budget(TrainJob(ENV_ID, None, 0, "q.pt"), episode_steps=40, default_steps=7) == 7
    with pytest.raises(ValueError, match="--steps or as --episodes, not both"):
        step_budget(TrainJob(ENV_ID, 3, 0, "q.pt", steps=5), episode_steps=40, default_steps=7)
    with pytest.raises(ValueError, match="no fixed length: give --steps"):
        step_budget(TrainJob(ENV_ID, 3, 0, "q.pt"), episode_steps=None, default_steps=7)


def test_training_log_writes_csv_png_and_continues_resumed_rows(tmp_path: Path) -> None:
    csv_path = tmp_path / "run.curve.csv"
    with TrainingLog(100, curve_csv=csv_path, quiet=True) as log:
        log.advance(40, [1.0, 3.0])
        log.record(loss=0.5)
        log.advance(40, [5.0])
        log.record(loss=0.25, eval_return=9.0)  # a new column: the file is rewritten
        with pytest.raises(ValueError, match="'loss' must be finite"):
            log.record(loss=float("nan"))
    rows = read_curve(csv_path)
    assert list(rows[0]) == [
        "step",
        "wall_time_s",
        "episodes",
        "mean_return",
        "loss",
        "eval_return",
    ]
    assert [(r["step"], r["episodes"], r["mean_return"]) for r in rows] == [
        ("40", "2", "2.0"),
        ("80", "3", "3.0"),
    ]
    assert rows[0]["eval_return"] == "" and rows[1]["eval_return"] == "9.0"
    assert csv_path.with_suffix(".png").stat().st_size > 1000
    # Resumed: the rows come back, steps and wall time continue.
    with TrainingLog(200, curve_csv=csv_path, rows=log.rows, start_step=80, quiet=True) as again:
        again.advance(20, [7.0])
        again.record(loss=0.1)
    resumed = read_curve(csv_path)
    assert [r["step"] for r in resumed] == ["40", "80", "100"]
    assert float(resumed[2]["wall_time_s"]) >= float(resumed[1]["wall_time_s"])


def test_tensorboard_event_file_is_written(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with TrainingLog(10, tensorboard=tmp_path / "tb", quiet=True) as log:
        log.advance(10, [2.0])
        log.record(loss=0.5)
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert {"loss", "mean_return", "episodes"} <= set(events.Tags()["scalars"])
    (loss,) = events.Scalars("loss")
    assert (loss.step, loss.value) == (10, 0.5)


def test_periodic_evaluation_schedule_and_best() -> None:
    evaluation = PeriodicEvaluation(ENV_ID, {}, 100, 2, start_step=250, rows=[{"eval_return": 3.0}])
    assert evaluation.next_step == 300 and evaluation.best_return == 3.0
    assert not evaluation.due(299) and evaluation.due(300)
    never = PeriodicEvaluation(ENV_ID, {}, 0, 2)
    assert not never.due(10**6) and not never.due(10, final=True)
    with pytest.raises(ValueError, match="eval_every must be an integer >= 0"):
        PeriodicEvaluation(ENV_ID, {}, -1, 2)


# ---- Q-learning on the convention --------------------------------------------------------------


def test_same_seed_gives_byte_identical_state_dicts(tmp_path: Path) -> None:
    digests = []
    for name, seed in [("a", "5"), ("b", "5"), ("c", "6")]:
        out = tmp_path / f"{name}.pt"
        argv = [*TRAIN, "--steps", "640", "--num-envs", "8", "--seed", seed, "--out", str(out)]
        assert main(argv) == 0
        digests.append(state_digest(load_checkpoint(out).state))
    assert digests[0] == digests[1] != digests[2]


def test_budget_is_exact_in_steps_and_episodes() -> None:
    """1,090 steps with 8 sub-envs of 40 slots: rounds of 320; the last round uses 3 whole
    episodes and 10 slots of a fourth (1090 = 3 · 320 + 3 · 40 + 10)."""
    table = train({}, QLearningArgs(total_steps=1090, num_envs=8))
    assert table.step == 1090 and int(table.visits.sum()) == 1090
    assert table.episodes == 3 * 8 + 3


def test_resume_continues_steps_and_curve(tmp_path: Path) -> None:
    first, second = tmp_path / "first.pt", tmp_path / "second.pt"
    common = ["--num-envs", "8", "--eval-every", "320", "--eval-episodes", "4"]
    assert main([*TRAIN, "--steps", "960", *common, "--out", str(first)]) == 0
    before = load_checkpoint(first)
    assert before.step == 960 and before.episodes == 24
    resume = ["--resume", str(first), "--out", str(second)]
    assert main([*TRAIN, "--steps", "2000", *common, *resume]) == 0
    after = load_checkpoint(second)
    assert after.step == 2000
    assert int(after.state["visits"].sum()) == 2000
    assert after.curve[: len(before.curve)] == before.curve  # rows appended
    steps = [row["step"] for row in after.curve]
    assert steps == sorted(steps) and steps[-1] == 2000 and len(steps) > len(before.curve)
    times = [row["wall_time_s"] for row in after.curve]
    assert times == sorted(times)
    csv_rows = read_curve(run_files(second).curve_csv)
    assert [int(r["step"]) for r in csv_rows] == steps
    # The hyper-parameters came from the checkpoint.
    assert after.hyperparameters["num_envs"] == 8 and after.hyperparameters["total_steps"] == 2000
    # Already at the budget: refused.
    assert main([*TRAIN, "--steps", "2000", "--resume", str(second), "--out", str(first)]) == 2


def test_periodic_evaluation_keeps_the_best_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "q.pt"
    argv = [*TRAIN, "--steps", "1280", "--num-envs", "8", "--eval-every", "320"]
    assert main([*argv, "--eval-episodes", "3", "--out", str(out)]) == 0
    last = load_checkpoint(out)
    evaluations = [r for r in last.curve if r.get("eval_return") is not None]
    assert [r["step"] for r in evaluations] == [320, 640, 960, 1280]
    best = load_checkpoint(run_files(out).best, algorithm="q_learning")
    best_value = max(r["eval_return"] for r in evaluations)
    assert best.curve[-1]["eval_return"] == best_value
    assert best.step == next(r["step"] for r in evaluations if r["eval_return"] == best_value)
    assert run_files(out).curve_png.stat().st_size > 1000
    make_policy(f"q_learning:{run_files(out).best}", __import__("gymnasium").make(ENV_ID))


def test_tensorboard_option_writes_events(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    out, board = tmp_path / "q.pt", tmp_path / "tb"
    argv = [*TRAIN, "--steps", "320", "--num-envs", "8", "--tensorboard", str(board)]
    assert main([*argv, "--out", str(out)]) == 0
    assert list(board.glob("events.out.tfevents.*"))


def test_evaluate_and_compare_read_the_pt_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "q.pt"
    assert main([*TRAIN, "--steps", "320", "--num-envs", "8", "--out", str(out)]) == 0
    argv = ["compare", ENV_ID, "--policies", f"argmax,q_learning:{out}", "--episodes", "3", "-q"]
    assert main(argv) == 0
    assert main(["evaluate", f"q_learning:{out}", "--env", ENV_ID, "--episodes", "2", "-q"]) == 0


def test_old_npz_table_still_loads(tmp_path: Path) -> None:
    """An ``.npz`` written as earlier versions did (``np.savez_compressed`` of ``q``, ``visits``
    and the JSON ``meta``) drives the policy with its values."""
    config = SlottedConfig()
    encoder = StateEncoder(config)
    q = np.zeros((encoder.num_states, encoder.num_actions), np.float32)
    q[:, 0] = 1.0  # always prefer BS 0 where legal
    meta = {"env_config": config_dict(config), "args": {"episodes": 8, "demand_levels": 3}}
    path = tmp_path / "old.npz"
    with path.open("wb") as handle:
        np.savez_compressed(
            handle, q=q, visits=np.zeros(q.shape, np.int64), meta=np.array(json.dumps(meta))
        )
    table = QTable.load(path)
    assert torch.equal(table.q, torch.from_numpy(q)) and table.args["episodes"] == 8
    import gymnasium as gym

    env = gym.make(ENV_ID)
    policy = make_policy(f"q_learning:{path}", env, seed=0)
    obs, _ = env.reset(seed=0)
    for _ in range(40):
        action = int(policy.act(obs))
        if obs["action_mask"][0]:
            assert action == 0
        obs, *_ = env.step(action)
    with pytest.raises(ValueError, match="old format"):
        table.save(tmp_path / "new.npz")  # the old format is read, not written


def test_save_then_load_keeps_the_table(tmp_path: Path) -> None:
    table = train({}, QLearningArgs(total_steps=320, num_envs=8))
    path = table.save(tmp_path / "t.pt")
    loaded = QTable.load(path)
    assert torch.equal(loaded.q, table.q) and torch.equal(loaded.visits, table.visits)
    assert loaded.step == 320
    save_checkpoint(tmp_path / "other.pt", table.checkpoint())
    assert state_digest(load_checkpoint(tmp_path / "other.pt").state) == state_digest(
        load_checkpoint(path).state
    )


class _SingleOnly:
    """The argmax policy without its batched path."""

    def __init__(self, env: object) -> None:
        self.policy = make_policy("argmax", env)

    def act(self, observation: object, info: object = None, *, env: object = None) -> object:
        return self.policy.act(observation, info, env=env)


def test_held_out_returns_are_those_of_evaluate_on_the_evaluation_seeds() -> None:
    """The learners' evaluation (which may not import agents.evaluate) gives the returns of
    ``evaluate(policy, id, episodes, EVAL_SEED_BASE)``, batched and single."""
    import gymnasium as gym

    from agents.evaluate import evaluate
    from agents.training import held_out_returns

    table = train({}, QLearningArgs(total_steps=640, num_envs=8))
    env = gym.make(ENV_ID)
    for policy in (QLearningPolicy(table, env, seed=0), _SingleOnly(env)):
        expected = evaluate(policy, ENV_ID, 6, EVAL_SEED_BASE).returns
        np.testing.assert_allclose(held_out_returns(policy, ENV_ID, {}, 6), expected, rtol=1e-5)


def test_check_fields_names_the_field_its_rule_and_the_value() -> None:
    from types import SimpleNamespace

    good = SimpleNamespace(n=3, flag=False, lr=1e-3, slack=0.0)
    rules = {"integers": ("n",), "flags": ("flag",), "positive": ("lr",), "nonnegative": ("slack",)}
    check_fields(good, **rules)
    cases = [
        ({"n": True}, "n must be an integer >= 1, got True"),
        ({"n": 0}, "n must be an integer >= 1, got 0"),
        ({"flag": 1}, "flag must be true or false, got 1"),
        ({"lr": 0.0}, "lr must be a positive number, got 0.0"),
        ({"lr": float("nan")}, "lr must be a positive number, got nan"),
        ({"slack": -1}, "slack must be a number >= 0, got -1"),
        ({"slack": "0"}, "slack must be a number >= 0, got '0'"),
    ]
    for change, message in cases:
        bad = SimpleNamespace(**{**vars(good), **change})
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            check_fields(
                bad, integers=("n",), flags=("flag",), positive=("lr",), nonnegative=("slack",)
            )
