"""Slotted baselines: argmax, tabular Q-learning (encoding, update, trainer, CLI, checkpoints)."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from agents.baselines.slotted import argmax_action
from agents.q_learning import QLearningArgs, QTable, StateEncoder, td_update, train
from agents.registry import make_policy, policy_names, trainer_names
from ua_envs.envs.slotted.sim import SlottedConfig, SlottedSimulator

ENV_ID = "SlottedArrivalAssoc-v0"


def test_registered_for_the_slotted_env() -> None:
    assert {"random", "argmax", "q_learning"} <= set(policy_names(ENV_ID))
    assert "q_learning" in trainer_names(ENV_ID)


def test_argmax_takes_the_best_snr_candidate() -> None:
    nodes = np.zeros((3, 5), np.float32)
    nodes[:, 2] = [0.9, 0.5, 0.7]
    obs = {"nodes": nodes, "action_mask": np.array([0, 1, 1, 0], np.int8)}
    assert argmax_action(obs) == 2  # BS 0 is better but not a candidate
    obs["action_mask"] = np.array([0, 0, 0, 1], np.int8)
    assert argmax_action(obs) == 3  # no candidate: no-op
    nodes[:, 2] = [0.5, 0.5, 0.5]
    obs["action_mask"] = np.array([0, 1, 1, 0], np.int8)
    assert argmax_action(obs) == 1  # ties: lower index


def test_argmax_policy_plays_legal_actions() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0, mean_demand=14)
    policy = make_policy("argmax", env)
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        assert not info["invalid_action"]
        done = terminated or truncated


def test_state_encoding_by_hand() -> None:
    """Defaults: U = 4, L = 5 levels, D = 3 demand bins, M = 3.

    users (1, 0, 2), user arriving with levels (20+3 dB, 0 dB, 10 dB) = level indices (4, 0, 2),
    demand 11 of [7, 13] -> offset 4 -> bin floor(4*3/7) = 1:
    s = (1 + 0*5 + 2*25) + 125 * ((4 + 0*6 + 2*36) + 216 * 1) = 51 + 125 * 292 = 36551.
    Without arrival the SNR code is (5, 5, 5) -> 5 + 30 + 180 = 215 and the demand bin 3.
    """
    config = SlottedConfig()
    encoder = StateEncoder(config, demand_levels=3)
    sim = SlottedSimulator(config)
    assert encoder.num_states == 125 * 216 * 4
    snr = sim.snr_feature(torch.tensor([23.0, 0.0, 10.0]))
    nodes = torch.zeros(1, 3, 5)
    nodes[0, :, 0] = torch.tensor([1, 0, 2]) / 4
    nodes[0, :, 2] = snr
    nodes[0, :, 3] = 11 / 13
    assert encoder.encode(nodes, torch.ones(1, 1)).tolist() == [36551]
    nodes[0, :, 2:4] = 0
    assert encoder.encode(nodes, torch.zeros(1, 1)).tolist() == [51 + 125 * (215 + 216 * 3)]


def test_td_update_by_hand_averages_duplicates() -> None:
    """lr 0.5 from Q = 0: targets 2 and 4 on the same entry -> deltas 1 and 2 -> mean 1.5;
    a single target 6 on another entry -> 3."""
    q = torch.zeros(4)
    td_update(q, torch.tensor([1, 1, 3]), torch.tensor([2.0, 4.0, 6.0]), 0.5)
    assert q.tolist() == [0.0, 1.5, 0.0, 3.0]


def test_epsilon_schedule() -> None:
    args = QLearningArgs(total_steps=1000, epsilon_start=1.0, epsilon_end=0.01)
    assert args.epsilon(0) == 1.0
    assert args.epsilon(400) == pytest.approx(0.1)  # halfway through the 800 exploring steps
    assert args.epsilon(800) == 0.0 and args.epsilon(999) == 0.0
    with pytest.raises(ValueError, match="gamma"):
        QLearningArgs(gamma=1.0)


def test_training_is_reproducible() -> None:
    args = QLearningArgs(total_steps=64 * 40, num_envs=32, seed=3)
    a, b = train({}, args), train({}, args)
    assert torch.equal(a.q, b.q) and torch.equal(a.visits, b.visits)
    assert int(a.visits.sum()) == 64 * 40 and a.step == 64 * 40 and a.episodes == 64


def test_cli_train_then_load_by_spec(tmp_path: Path) -> None:
    from agents.cli import main

    out = tmp_path / "q.pt"
    argv = ["train", "q_learning", "--env", ENV_ID, "--episodes", "256", "--seed", "0"]
    status = main([*argv, "--out", str(out), "-q", "--env-kwargs", "mean_demand=8"])
    assert status == 0 and out.is_file()
    env = gym.make(ENV_ID, mean_demand=8)
    policy = make_policy(f"q_learning:{out}", env, seed=0)
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        action = policy.act(obs)
        assert obs["action_mask"][action] == 1
        obs, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated


def test_checkpoint_errors(tmp_path: Path) -> None:
    env = gym.make(ENV_ID)
    with pytest.raises(ValueError, match="checkpoint"):
        make_policy("q_learning", env)
    with pytest.raises(ValueError, match="does not exist"):
        make_policy(f"q_learning:{tmp_path / 'missing.npz'}", env)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a table")
    with pytest.raises(ValueError, match="not a Q-learning table"):
        make_policy(f"q_learning:{bad}", env)
    table = train({}, QLearningArgs(total_steps=8 * 40, num_envs=8))
    path = table.save(tmp_path / "q.pt")
    loaded = QTable.load(path)
    assert torch.equal(loaded.q, table.q) and loaded.args["gamma"] == 0.5
    with pytest.raises(ValueError, match="max_users_per_bs"):
        make_policy(f"q_learning:{path}", gym.make(ENV_ID, max_users_per_bs=3))
    with pytest.raises(ValueError, match="mean_demand"):
        make_policy(f"q_learning:{path}", gym.make(ENV_ID, mean_demand=12))


def test_q_learning_beats_random_on_the_discounted_return_it_optimises() -> None:
    """The real property of gamma = 0.5 Q-learning on this utility (see docs/envs/slotted.md:
    random beats argmax and Q-learning on the undiscounted episode utility at p <= 0.7).

    From the same decision states (branching the functional simulator state, so both policies
    face the same future arrivals), the greedy Q policy's discounted return
    sum_k 0.5^k r_{t+k} (12 slots, the tail is < 0.05 % of it) beats the random policy's.
    """
    kwargs = {"arrival_prob": 0.7, "mean_demand": 10}
    table = train(kwargs, QLearningArgs(total_steps=20_480 * 40, seed=0))
    env = gym.make(ENV_ID, **kwargs)
    unwrapped = env.unwrapped
    sim = unwrapped.simulator
    greedy = _TablePolicy(table, env)
    random = make_policy("random", env, seed=1)
    rng = np.random.default_rng(0)
    differences = []
    for j in range(25):
        obs, _ = env.reset(seed=50_000 + j)
        for _ in range(40):
            if obs["action_mask"].sum() > 1:
                returns = [_discounted(sim, unwrapped.state, pol) for pol in (greedy, random)]
                differences.append(returns[0] - returns[1])
            obs, *_ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    diff = np.asarray(differences)
    stderr = diff.std(ddof=1) / math.sqrt(diff.size)
    assert diff.size > 300
    assert diff.mean() > 3 * stderr, (diff.mean(), stderr)


class _TablePolicy:
    def __init__(self, table: QTable, env: gym.Env) -> None:
        from agents.q_learning import QLearningPolicy

        self.policy = QLearningPolicy(table, env, seed=0)

    def act(self, obs: dict) -> int:
        return int(self.policy.act(obs))


def _discounted(sim: SlottedSimulator, state: object, policy: object, gamma: float = 0.5) -> float:
    total, weight = 0.0, 1.0
    for _ in range(12):
        obs = {k: v[0] for k, v in sim.observe(state).items()}
        state, reward, _ = sim.step(state, np.array([int(policy.act(obs))]), validate=False)
        total += weight * float(reward[0])
        weight *= gamma
    return total
