"""Baselines of the cellfree family: greedy (SPEC §5 [SupportSet]) and greedy_wmmse."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401
from agents.baselines.cellfree import GreedyPolicy, greedy_links
from agents.evaluate import compare, evaluate
from agents.registry import make_policy, policy_names
from ua_envs.core import sum_rate
from ua_envs.core.beamforming import wmmse

ENV_ID = "CellFreeAssoc-v0"


def cf(env: gym.Env) -> Any:
    """The unwrapped CellFreeAssoc env (typed Any: its attributes are the env's own)."""
    return env.unwrapped


def test_registered_for_cellfree() -> None:
    assert {"random", "greedy", "greedy_wmmse"} <= set(policy_names(ENV_ID))


def test_greedy_links_hand_example() -> None:
    """3 APs × 3 UEs, caps 1 UE per AP and 2 APs per UE; gains (rows = APs):

        AP 0: [9, 8, 1]     UE 0 takes AP 0 (9) and AP 1 (5): APs 0, 1 full.
        AP 1: [5, 7, 2]     UE 1 prefers AP 0 (8), then AP 1 (7): both full → AP 2 (6).
        AP 2: [4, 6, 3]     UE 2: every AP full → unserved.

    Actions m·3 + k: (0,0) = 0, (1,0) = 3, (2,1) = 7.
    """
    gains = np.array([[9.0, 8.0, 1.0], [5.0, 7.0, 2.0], [4.0, 6.0, 3.0]])
    assert greedy_links(gains, max_ues_per_ap=1, max_aps_per_ue=2) == [0, 3, 7]
    # Without the AP cap every UE simply takes its two strongest APs, strongest first:
    # UE 0: AP 0, AP 1 (0, 3); UE 1: AP 0, AP 1 (1, 4); UE 2: AP 2 (3), AP 1 (2) → (8, 5).
    assert greedy_links(gains, max_ues_per_ap=3, max_aps_per_ue=2) == [0, 3, 1, 4, 8, 5]


def test_greedy_policy_builds_the_greedy_support_then_ends() -> None:
    env = gym.make(ENV_ID)
    policy = make_policy("greedy", env)
    obs, info = env.reset(seed=4)
    plan = greedy_links(obs["gain_db"], 3, 3)
    actions = []
    done = False
    while not done:
        action = policy.act(obs, info, env=env)
        actions.append(int(action))
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert not info["invalid_action"]
    # Every UE gets 3 APs (8 APs × 3 slots ≥ 6 UEs × 3): 18 links, then auto end or END.
    assert actions[: len(plan)] == plan and len(plan) == 18
    assert info["association"].sum(axis=0).tolist() == [3] * 6
    assert (info["association"].sum(axis=1) <= 3).all()
    assert reward == pytest.approx(info["sum_rate"])


def test_greedy_completes_a_started_support_and_respects_require_coverage() -> None:
    """Stateless: it skips links already chosen; with END masked it picks the best legal link."""
    policy = GreedyPolicy(max_ues_per_ap=1, max_aps_per_ue=1)
    gain = np.array([[9.0, 1.0], [8.0, 2.0]], dtype=np.float32)  # plan: (0,0)=0, (1,1)=3
    mask = np.array([0, 0, 0, 1, 1], dtype=np.int8)  # (0,0) taken by someone else
    assert policy.act({"gain_db": gain, "action_mask": mask}) == 3
    mask = np.array([0, 0, 1, 0, 0], dtype=np.int8)  # plan exhausted, END masked
    assert policy.act({"gain_db": gain, "action_mask": mask}) == 2


def test_greedy_beats_random_and_wmmse_scores_greedy_links() -> None:
    """Small comparison (10 episodes): greedy > random in mean sum rate; greedy_wmmse plays the
    same links and its reward is the WMMSE sum rate of that support (via ua_envs.core)."""
    table = compare(["random", "greedy"], ENV_ID, episodes=10, seed=0, print_table=False)
    random_result, greedy_result = table.results
    assert greedy_result.metrics["sum_rate"].mean() > random_result.metrics["sum_rate"].mean()

    env = gym.make(ENV_ID, beamforming="wmmse")  # greedy_wmmse's declared setting
    policy = make_policy("greedy_wmmse", env)
    assert cf(env).config.beamforming == "wmmse"
    results = evaluate(policy, env, episodes=2, seed=0)
    assert results.lengths.tolist() == greedy_result.lengths[:2].tolist()  # same links
    obs, info = env.reset(seed=1)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info, env=env))
        done = terminated or truncated
    channels = torch.from_numpy(cf(env).channels)
    association = torch.from_numpy(info["association"])
    tx_power = torch.from_numpy(cf(env).tx_power)
    noise = torch.from_numpy(cf(env).noise_power)
    beams = wmmse(channels, association, tx_power, noise, transmission="joint")
    assert reward == pytest.approx(float(sum_rate(channels, beams, association, noise)), rel=1e-5)
    assert reward == pytest.approx(results.returns[1], rel=1e-6)


def test_factories_reject_other_envs() -> None:
    from agents.baselines.cellfree import make_greedy

    with pytest.raises(ValueError, match="CellFreeAssoc"):
        make_greedy(gym.make("CartPole-v1"))
