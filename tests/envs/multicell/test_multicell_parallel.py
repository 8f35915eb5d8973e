"""PettingZoo multicell_assoc_v0: determinism, shared and individual rewards (PettingZoo's API
tests: tests/envs/test_pettingzoo_api.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo import AECEnv, ParallelEnv

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.multiagent import multicell_assoc_v0


def _play(seed: int, episodes: int, reward: str = "shared") -> list[object]:
    env = multicell_assoc_v0.parallel_env(reward=reward, load_limit=3, overload="drop")
    rng = np.random.default_rng(seed)
    record: list[object] = []
    observations, _ = env.reset(seed=seed)
    for _ in range(episodes):
        actions = {agent: int(rng.integers(0, 2)) for agent in env.agents}
        record.append((observations, env.state()))
        record.append(env.step(actions))
        observations, _ = env.reset()
    return record


def test_seeded_multi_episode_determinism() -> None:
    from gymnasium.utils.env_checker import data_equivalence

    assert data_equivalence(_play(3, 5), _play(3, 5), exact=True)
    assert not data_equivalence(_play(3, 2), _play(4, 2), exact=True)


def test_same_instance_and_reward_as_the_gymnasium_env() -> None:
    par = multicell_assoc_v0.parallel_env()
    single = gym.make("MultiCellAssoc-v0")
    observations, _ = par.reset(seed=11)
    obs, _ = single.reset(seed=11)
    np.testing.assert_array_equal(
        observations["ue_3"]["observation"],
        np.concatenate([obs["channel"][:, 3].ravel(), obs["gain_db"][:, 3], obs["tx_power_dbm"]]),
    )
    assert par.state().shape == par.state_space.shape
    action = np.arange(8) % 2
    _, rewards, terminations, truncations, infos = par.step(
        {f"ue_{k}": int(action[k]) for k in range(8)}
    )
    _, reward, *_ = single.step(action)
    assert all(value == pytest.approx(reward) for value in rewards.values())
    assert all(terminations.values()) and not any(truncations.values())
    assert infos["ue_0"]["sum_rate"] == pytest.approx(reward)
    assert par.agents == []


def test_individual_rewards_sum_to_shared_reward_with_penalty() -> None:
    """Rates plus equal penalty shares: Σ_k r_k = sum rate − w · Σ_m max(0, load_m − L)."""
    kwargs = {"load_limit": 3, "overload": "penalty", "penalty_weight": 0.7}
    shared = multicell_assoc_v0.parallel_env(**kwargs)
    individual = multicell_assoc_v0.parallel_env(reward="individual", **kwargs)
    shared.reset(seed=5)
    individual.reset(seed=5)
    actions = {f"ue_{k}": 0 if k < 6 else 1 for k in range(8)}  # loads 6 and 2: excess 3
    _, shared_rewards, _, _, infos = shared.step(actions)
    _, own_rewards, _, _, _ = individual.step(actions)
    assert sum(own_rewards.values()) == pytest.approx(shared_rewards["ue_0"], rel=1e-5)
    assert shared_rewards["ue_0"] == pytest.approx(infos["ue_0"]["sum_rate"] - 0.7 * 3, rel=1e-5)
    # UE 7 (at the non-overloaded BS) keeps its own rate.
    assert own_rewards["ue_7"] == pytest.approx(infos["ue_7"]["rate"])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="reward"):
        multicell_assoc_v0.parallel_env(reward="team")
    env = multicell_assoc_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        env.step({"ue_0": 0})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        env.step({f"ue_{k}": 3 for k in range(8)})


@pytest.mark.parametrize("bad", [None, 1.7, True, -1, 3, np.array([0, 1]), "1"])
def test_malformed_agent_action_raises_naming_the_agent(bad: object) -> None:
    """Each agent's action must be an integer BS index in [0, M): no silent truncation."""
    env = multicell_assoc_v0.parallel_env(num_bs=3, num_ues=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action of ue_1"):
        env.step({"ue_0": 0, "ue_1": bad})
    # Integer-like actions (numpy scalars, 0-d arrays) are accepted.
    _, _, terminations, _, infos = env.step({"ue_0": np.int64(2), "ue_1": np.array(1)})
    assert all(terminations.values()) and [infos[a]["bs"] for a in ("ue_0", "ue_1")] == [2, 1]


def test_raw_env_is_the_unwrapped_aec_env() -> None:
    raw = multicell_assoc_v0.raw_env(num_ues=2)
    assert isinstance(raw, AECEnv) and not isinstance(raw, ParallelEnv)
    assert multicell_assoc_v0.raw_env().possible_agents[0] == "ue_0"
