"""PettingZoo fronthaul_assoc_v0: seeded determinism, shared and local rewards (PettingZoo's API
tests: tests/envs/test_pettingzoo_api.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from env_checks import nested_equal
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.multiagent import fronthaul_assoc_v0


def _play(seed: int, episodes: int, reward: str = "shared") -> list[object]:
    env = fronthaul_assoc_v0.parallel_env(reward=reward, horizon=2, capacity_mbps=40.0)
    rng = np.random.default_rng(seed)
    record: list[object] = []
    observations, _ = env.reset(seed=seed)
    for _ in range(episodes):
        while env.agents:
            actions = {agent: rng.integers(0, 2, 4).astype(np.int8) for agent in env.agents}
            record.append((observations, env.state()))
            observations, *rest = env.step(actions)
            record.append(rest)
        observations, _ = env.reset()
    return record


@pytest.mark.parametrize("reward", ["shared", "local"])
def test_seeded_multi_step_determinism(reward: str) -> None:
    first = _play(3, 3, reward)
    assert nested_equal(first, _play(3, 3, reward))
    assert not nested_equal(first, _play(4, 3, reward))


def test_same_instance_as_the_gymnasium_env_and_shared_reward() -> None:
    env = fronthaul_assoc_v0.parallel_env(multipliers=0.2)
    single = gym.make("FronthaulAssoc-v0", multipliers=0.2)
    obs, _ = env.reset(seed=9)
    single_obs, _ = single.reset(seed=9)
    np.testing.assert_array_equal(obs["ap_2"][:16], single_obs["channel"][2].reshape(-1))
    np.testing.assert_array_equal(obs["ap_2"][16:20], single_obs["gain_db"][2])
    assert obs["ap_2"][20] == 60.0 and np.all(obs["ap_2"][21:] == 1.0)
    matrix = np.random.default_rng(0).integers(0, 2, (8, 4)).astype(np.int8)
    _, rewards, terminations, truncations, infos = env.step(
        {f"ap_{m}": matrix[m] for m in range(8)}
    )
    _, reward, _, _, info = single.step(matrix)
    assert all(r == pytest.approx(reward) for r in rewards.values())
    assert all(terminations.values()) and not any(truncations.values())
    assert infos["ap_5"]["fronthaul_load_mbps"] == pytest.approx(info["fronthaul_load_mbps"][5])
    np.testing.assert_array_equal(infos["ap_5"]["served"], info["association"][5])


def test_local_reward_is_own_served_rate_minus_own_violation() -> None:
    """r_m = Σ_k x_mk w_k rate_k − μ_m max(0, load_m − C_m)/bandwidth, from the env's info."""
    mu = np.linspace(0.0, 1.4, 8)
    env = fronthaul_assoc_v0.parallel_env(reward="local", multipliers=mu, capacity_mbps=40.0)
    env.reset(seed=2)
    matrix = np.random.default_rng(1).integers(0, 2, (8, 4)).astype(np.int8)
    _, rewards, _, _, _ = env.step({f"ap_{m}": matrix[m] for m in range(8)})
    single = gym.make("FronthaulAssoc-v0", multipliers=mu, capacity_mbps=40.0)
    single.reset(seed=2)
    _, _, _, _, info = single.step(matrix)
    for m in range(8):
        served = float((matrix[m] * info["rates"]).sum())
        violation = max(0.0, info["fronthaul_load_mbps"][m] - 40.0) / 10.0
        assert rewards[f"ap_{m}"] == pytest.approx(served - mu[m] * violation, abs=1e-4)


def test_bad_actions_and_kwargs() -> None:
    env = fronthaul_assoc_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing"):
        env.step({"ap_0": np.ones(4, dtype=np.int8)})
    with pytest.raises(ValueError, match="shape"):
        env.step({f"ap_{m}": np.ones(3, dtype=np.int8) for m in range(8)})
    with pytest.raises(ValueError, match="reward"):
        fronthaul_assoc_v0.parallel_env(reward="individual")
    with pytest.raises(ValueError, match="capacity_mbps"):
        fronthaul_assoc_v0.parallel_env(capacity_mbps=-1.0)


def test_raw_env_is_the_unwrapped_aec_env() -> None:
    """PettingZoo's convention: raw_env() is the AEC env without the order-enforcing wrapper."""
    raw = fronthaul_assoc_v0.raw_env(num_bs=2, num_ues=2)
    assert isinstance(raw, AECEnv) and not isinstance(raw, ParallelEnv)
    assert not isinstance(raw, OrderEnforcingWrapper)
    assert isinstance(fronthaul_assoc_v0.env(), OrderEnforcingWrapper)
    assert fronthaul_assoc_v0.raw_env().possible_agents[-1] == "ap_7"


def test_unknown_agent_and_step_after_the_end() -> None:
    env = fronthaul_assoc_v0.parallel_env()
    env.reset(seed=0)
    actions = {agent: np.ones(4, dtype=np.int8) for agent in env.agents}
    with pytest.raises(ValueError, match=r"intruder_99.*live agents: ap_0, ap_1"):
        env.step({**actions, "intruder_99": np.ones(4, dtype=np.int8)})
    with pytest.raises(ValueError, match="0 or 1"):
        env.step({**actions, "ap_3": np.full(4, 2)})
    env.step(actions)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(actions)


def test_reset_options_instance_multipliers_and_unknown_keys() -> None:
    from ua_envs.envs.contract import ChannelInstance

    env = fronthaul_assoc_v0.parallel_env(num_bs=2, num_ues=2, num_antennas=1, capacity_mbps=5.0)
    instance = ChannelInstance(
        channels=np.eye(2, dtype=np.complex64).reshape(2, 2, 1), tx_power=1.0, noise_power=1.0
    )
    env.reset(seed=0, options={"instance": instance, "multipliers": [1.0, 2.0]})
    _, rewards, _, _, _ = env.step({"ap_0": np.array([1, 0]), "ap_1": np.array([0, 1])})
    assert rewards["ap_0"] == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match=r"valid: 'instance', 'multipliers'"):
        env.reset(seed=0, options={"multiplier": 1.0})
