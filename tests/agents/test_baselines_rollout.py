"""The rollout planner: an online policy that never reads the env's drawn future."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from agents.baselines.rollout import POLICIES, RolloutPolicy, max_snr_actions
from agents.baselines.slotted import argmax_action
from ua_envs.envs.slotted import SlottedInstance

ENV_ID = "SlottedArrivalAssoc-v0"
R2, R4 = 10 * math.log10(3), 10 * math.log10(15)  # rates 2 and 4


def _decision_env(
    future_arrivals: list[int], future_snr: float, **kwargs: object
) -> tuple[gym.Env, dict]:
    """An env whose slot 1 is a decision (user B: rate 4 to BS 0, 2 to BS 1); slot 0 put user
    A (rate 4) on BS 0. The slots after 1 follow ``future_arrivals`` / ``future_snr``."""
    later = len(future_arrivals)
    instance = SlottedInstance(
        arrivals=[1, 1, *future_arrivals],
        snr_db=[[R4, 0, 0], [R4, R2, 0], *([[future_snr] * 3] * later)],
        demand=[12, 12, *([13] * later)],
    )
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0, options={"instance": instance})
    obs, *_ = env.step(0)
    return env, obs


def test_planner_ignores_the_envs_drawn_future() -> None:
    """Two episodes equal up to the decision and different after it (arrivals, SNRs, and the
    env's generator state) get the same planned action."""
    policy = RolloutPolicy(futures=16, seed=3)
    actions = set()
    for arrivals, snr, reseed in (([1] * 20, 20.0, 1), ([0] * 20, 0.0, 99), ([1, 0] * 10, 5.0, 7)):
        env, obs = _decision_env(arrivals, snr)
        env.unwrapped.np_random = np.random.default_rng(reseed)  # the env's own generator
        actions.add(int(policy.act(obs, {}, env=env)))
    assert len(actions) == 1


def test_planner_beats_argmax_on_a_hand_computed_slot() -> None:
    """No future arrivals (p = 0), one-slot lookahead: BS 0 holds A (rate 4), B has rate 4 to
    BS 0 and 2 to BS 1. Joining BS 0: log(1 + 2) + log(1 + 2) = 2.197; BS 1: log(1 + 4) +
    log(1 + 2) = 2.708. argmax takes BS 0, the planner BS 1."""
    env, obs = _decision_env([], 0.0, arrival_prob=0.0)
    assert argmax_action(obs) == 0
    assert RolloutPolicy(futures=1, lookahead=1).act(obs, {}, env=env) == 1


def test_planner_is_deterministic_given_its_seed_and_legal() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0, mean_demand=14)
    for seed in (0, 1):
        runs = []
        for _ in range(2):
            obs, _ = env.reset(seed=seed)
            policy = RolloutPolicy(futures=4, seed=11, lookahead=5)
            actions = []
            for _ in range(15):
                action = policy.act(obs, {}, env=env)
                assert obs["action_mask"][action] == 1
                actions.append(int(action))
                obs, *_ = env.step(action)
            runs.append(actions)
        assert runs[0] == runs[1]


def test_batched_planner_equals_single() -> None:
    envs = gym.make_vec(ENV_ID, 3, vectorization_mode="vector_entry_point", arrival_prob=1.0)
    obs, _ = envs.reset(seed=20)
    singles = [gym.make(ENV_ID, arrival_prob=1.0) for _ in range(3)]
    single_obs = [env.reset(seed=20 + i)[0] for i, env in enumerate(singles)]
    policy = RolloutPolicy(futures=4, seed=2, lookahead=4)
    for _ in range(6):
        batch = policy.act_batch(obs, obs["action_mask"].bool(), env=envs)
        single = [int(policy.act(o, {}, env=e)) for o, e in zip(single_obs, singles, strict=True)]
        assert batch.tolist() == single
        obs, *_ = envs.step(batch)
        single_obs = [e.step(a)[0] for e, a in zip(singles, single, strict=True)]


def test_max_snr_actions_equal_the_argmax_baseline() -> None:
    envs = gym.make_vec(ENV_ID, 64, vectorization_mode="vector_entry_point", arrival_prob=1.0)
    obs, _ = envs.reset(seed=0)
    for _ in range(10):
        ours = max_snr_actions(envs.unwrapped.state)
        for i in range(64):
            row = {k: v[i].numpy() for k, v in obs.items()}
            assert int(ours[i]) == argmax_action(row)
        obs, *_ = envs.step(ours)


def test_errors_and_entry() -> None:
    with pytest.raises(ValueError, match="rollout needs the env"):
        RolloutPolicy().act({}, {})
    with pytest.raises(ValueError, match="futures"):
        RolloutPolicy(futures=0)
    with pytest.raises(ValueError, match="slotted simulator"):
        RolloutPolicy().act({}, {}, env=gym.make("MultiCellAssoc-v0"))
    (entry,) = POLICIES
    assert entry.name == "rollout" and entry.env_ids == (ENV_ID,)
    assert isinstance(entry.factory(gym.make(ENV_ID), seed=4), RolloutPolicy)
    envs = gym.make_vec(ENV_ID, 2, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    assert torch.is_tensor(max_snr_actions(envs.unwrapped.state))
