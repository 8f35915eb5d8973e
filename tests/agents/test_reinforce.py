"""The [SupportSet] REINFORCE agent (agents.reinforce): training, masks, policy, checkpoints."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.episodes import run_episodes
from agents.nets.support_set import SupportSetNet
from agents.registry import make_policy
from agents.reinforce import ReinforceArgs, ReinforcePolicy, decode, train
from agents.training import make_generator, state_digest
from tests.cli.cli_helpers import one_line, run

CF = "CellFreeAssoc-v0"
#: A tiny network and budget: seconds on one CPU thread.
TINY = {"hidden": 16, "layers": 1, "heads": 2, "batch_size": 64, "learning_rate": 3e-3}


def _validation_rewards(net: SupportSetNet, seed: int = 777, size: int = 128) -> torch.Tensor:
    envs = gym.make_vec(CF, size, vectorization_mode="vector_entry_point")
    envs.reset(seed=seed)
    with torch.no_grad():
        return decode(net, envs.unwrapped.sim, envs.unwrapped.state, greedy=True).reward


def test_tiny_training_improves_on_its_initial_policy_and_reproduces(tmp_path: Path) -> None:
    args = ReinforceArgs(total_steps=40_000, seed=3, **TINY)  # type: ignore[arg-type]
    untrained = train(None, ReinforceArgs(total_steps=1, seed=3, **TINY))  # type: ignore[arg-type]
    before = _validation_rewards(untrained.net).mean()
    result = train(None, args, out=tmp_path / "a.pt")
    after = _validation_rewards(result.net).mean()
    assert after > before + 3.0, (float(before), float(after))
    again = train(None, args)
    assert state_digest(again.checkpoint.state) == state_digest(result.checkpoint.state)
    curve = (tmp_path / "a.curve.csv").read_text().splitlines()
    assert curve[0].startswith("step,wall_time_s,episodes,mean_return,actor_loss")


def test_sampled_decoding_never_takes_a_masked_action_and_meets_the_caps() -> None:
    torch.manual_seed(0)
    net = SupportSetNet(2, hidden=16, layers=1, heads=2)  # untrained: spread-out probabilities
    envs = gym.make_vec(
        CF,
        64,
        vectorization_mode="vector_entry_point",
        max_ues_per_ap=2,
        max_aps_per_ue=1,
        invalid_action="raise",  # a masked action would raise inside decode
    )
    envs.reset(seed=11)
    sim, state = envs.unwrapped.sim, envs.unwrapped.state
    rollout = decode(net, sim, state, greedy=False, generator=make_generator(0, "t"))
    support = rollout.support
    assert (support.sum(-1) <= 2).all() and (support.sum(-2) <= 1).all()
    assert (rollout.steps == support.sum((1, 2)) + (support.sum((1, 2)) < 6)).all()
    # The reward is the simulator's sum rate of the final support.
    expected = sim.evaluate(state, support).reward.to(torch.float64)
    torch.testing.assert_close(rollout.reward, expected, rtol=1e-5, atol=1e-4)
    assert torch.isfinite(rollout.log_prob).all() and (rollout.log_prob <= 0).all()


def test_checkpoint_round_trip_and_single_equals_batched(tmp_path: Path) -> None:
    out = tmp_path / "r.pt"
    result = train(None, ReinforceArgs(total_steps=2_000, seed=1, **TINY), out=out)  # type: ignore[arg-type]
    loaded = load_checkpoint(out, algorithm="reinforce", env_id=CF)
    assert state_digest(loaded.state) == state_digest(result.checkpoint.state)
    policy = make_policy(f"reinforce:{out}", gym.make(CF))
    assert isinstance(policy, ReinforcePolicy)
    for name, value in result.net.state_dict().items():
        torch.testing.assert_close(policy.net.state_dict()[name], value)
    batched = run_episodes(policy, CF, 6, 123, None, batched=True)
    single = run_episodes(policy, CF, 6, 123, None, batched=False)
    np.testing.assert_allclose(batched.returns, single.returns, rtol=1e-5)


def test_best_of_n_is_never_below_greedy_decoding(tmp_path: Path) -> None:
    out = tmp_path / "r.pt"
    train(None, ReinforceArgs(total_steps=2_000, seed=1, **TINY), out=out)  # type: ignore[arg-type]
    env = gym.make(CF)
    greedy = run_episodes(make_policy(f"reinforce:{out}", env), CF, 8, 5, None).returns
    sampled_policy = make_policy(f"reinforce_sampled:{out}", env)
    for batched in (True, False):
        sampled = run_episodes(sampled_policy, CF, 8, 5, None, batched=batched).returns
        assert (sampled >= greedy - 1e-4).all() and sampled.mean() > greedy.mean()
    with pytest.raises(ValueError, match="scores its candidates with the env"):
        sampled_policy.act(env.reset(seed=0)[0])


def test_argument_and_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="context must be one of gnn, attention"):
        ReinforceArgs(context="rnn")
    with pytest.raises(ValueError, match="hidden must be divisible by heads"):
        ReinforceArgs(hidden=10, heads=4)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        ReinforceArgs(batch_size=0)
    out = tmp_path / "r.pt"
    train(None, ReinforceArgs(total_steps=500, seed=0, **TINY), out=out)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trained with num_antennas=2, the env has num_antennas=4"):
        make_policy(f"reinforce:{out}", gym.make(CF, num_antennas=4))
    with pytest.raises(ValueError, match="needs a checkpoint"):
        make_policy("reinforce", gym.make(CF))
    # Another size is fine (the network is size-free).
    policy = make_policy(f"reinforce:{out}", gym.make(CF, num_bs=16, num_ues=12))
    assert np.isfinite(run_episodes(policy, CF, 2, 0, {"num_bs": 16, "num_ues": 12}).returns).all()


def test_cli_trainer_refuses_unknown_hyperparameters_and_other_envs(tmp_path: Path) -> None:
    out = str(tmp_path / "x.pt")
    done = run(
        "train", "reinforce", "--env", CF, "--steps", "10", "--out", out,
        "--trainer-kwargs", "gamma=0.9",
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown reinforce hyper-parameter(s) gamma; valid:" in one_line(done.stderr)
    done = run("train", "reinforce", "--env", "MultiCellAssoc-v0", "--steps", "10", "--out", out)
    assert done.returncode == 2 and "reinforce" in one_line(done.stderr)


def test_beam_head_is_trained_stored_and_reported(tmp_path: Path) -> None:
    from agents.reinforce_beams import beam_table

    out = tmp_path / "h.pt"
    args = ReinforceArgs(total_steps=1_000, seed=2, beam_head_instances=128, **TINY)  # type: ignore[arg-type]
    result = train(None, args, out=out, eval_every=500, eval_episodes=4)
    assert "beam_head" in result.checkpoint.state
    assert len(result.checkpoint.extra["beam_head_curve"]) == 2  # 128 instances, batches of 64
    best = load_checkpoint(tmp_path / "h.best.pt", algorithm="reinforce")
    assert "beam_head" in best.state and "critic" not in best.state
    table = beam_table(str(out), episodes=6, batch_size=4)
    assert set(table) == {
        ("greedy", "rzf"),
        ("greedy", "wmmse"),
        ("reinforce", "rzf"),
        ("reinforce", "wmmse"),
        ("reinforce", "head"),
    }
    assert all(stat.n == 6 and np.isfinite(stat.mean) for stat in table.values())
    # The greedy + partial RZF row is the greedy baseline's own episode return.
    greedy = run_episodes(make_policy("greedy", gym.make(CF)), CF, 6, 2_000_000_000).returns
    assert table[("greedy", "rzf")].mean == pytest.approx(greedy.mean(), rel=1e-5)
