"""Native vector env of FronthaulAssoc-v0: equal to single envs under the seeding rule,
autoreset, multipliers for every sub-env, horizon > 1, errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from env_checks import assert_one_shot_autoreset, assert_one_shot_vector_equals_single_envs

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.fronthaul.vector import FronthaulAssocVectorEnv

ENV_ID = "FronthaulAssoc-v0"


def _actions(num_envs: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(num_envs, 32)).astype(np.int8)


@pytest.mark.parametrize(
    ("num_envs", "kwargs"),
    [(256, {}), (16, {"enforce_fronthaul": "scale", "capacity_mbps": 40.0, "beamforming": "rzf"})],
)
def test_vector_rewards_equal_single_envs(num_envs: int, kwargs: dict[str, Any]) -> None:
    """make_vec(id, n) reset with seed s == n single envs reset with seeds s, …, s + n − 1."""
    assert_one_shot_vector_equals_single_envs(
        ENV_ID,
        _actions(num_envs, 0),
        info_keys=("association", "fronthaul_load_mbps", "beam_scale", "aps_per_ue"),
        reward_tol=1e-4,
        info_rtol=1e-4,
        info_atol=1e-4,
        **kwargs,
    )


def test_autoreset_draws_new_instances_and_keeps_final_ones() -> None:
    assert_one_shot_autoreset(ENV_ID, _actions(8, 1))


def test_multipliers_apply_to_every_sub_env_and_persist_over_autoreset() -> None:
    envs = FronthaulAssocVectorEnv(4, multipliers=0.0)
    envs.reset(seed=0, options={"multipliers": 0.5})
    np.testing.assert_allclose(envs.multipliers, 0.5)
    for step in range(2):
        _, rewards, _, _, infos = envs.step(_actions(4, step))
        info = infos["final_info"]
        excess = (info["fronthaul_load_mbps"] - 60.0) * 1e6 / envs.bandwidth_hz
        expected = info["wsr"] - 0.5 * excess.sum(-1)
        torch.testing.assert_close(rewards, expected, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(info["multipliers"], torch.full((4, 8), 0.5))
    envs.multipliers = np.arange(8.0)
    for step in range(2):  # the setter's μ survives the autoresets (options are not replayed)
        _, _, _, _, infos = envs.step(_actions(4, 5 + step))
        torch.testing.assert_close(
            infos["final_info"]["multipliers"], torch.arange(8.0).expand(4, 8)
        )


def test_vector_horizon_terminates_together() -> None:
    envs = FronthaulAssocVectorEnv(3, horizon=2)
    envs.reset(seed=1)
    _, _, terminated, _, infos = envs.step(_actions(3, 0))
    assert not bool(terminated.any()) and "final_obs" not in infos
    _, _, terminated, _, infos = envs.step(_actions(3, 1))
    assert bool(terminated.all()) and bool(infos["_final"].all())


def test_vector_evaluate_and_bad_input() -> None:
    envs = FronthaulAssocVectorEnv(4)
    envs.reset(seed=0)
    result = envs.evaluate(torch.ones(4, 8, 4))
    assert result.rates.shape == (4, 4) and result.metrics["fronthaul_load_mbps"].shape == (4, 8)
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros((4, 31), dtype=np.int8))
    with pytest.raises(ValueError, match="0 or 1"):
        envs.step(np.full((4, 32), 3))
    with pytest.raises(ValueError, match="multipliers"):
        envs.multipliers = [-1.0] * 8
    with pytest.raises(ValueError, match="capacity_mbps"):
        FronthaulAssocVectorEnv(4, capacity_mbps=0.0)


def test_unknown_kwarg_is_a_value_error_naming_it() -> None:
    """A misspelt kwarg is a ValueError naming it (not a TypeError from the dataclass)."""
    with pytest.raises(ValueError, match=r"unknown FronthaulAssoc kwarg.*foo"):
        FronthaulAssocVectorEnv(2, foo=1)
    with pytest.raises(ValueError, match="foo"):
        gym.make_vec(ENV_ID, 2, vectorization_mode="vector_entry_point", foo=1)


def test_render_mode_must_be_none() -> None:
    FronthaulAssocVectorEnv(2, render_mode=None).close()
    with pytest.raises(ValueError, match="render_mode"):
        FronthaulAssocVectorEnv(2, render_mode="rgb_array")


def test_multipliers_getter_returns_a_copy() -> None:
    """Writing into the returned array must not change the μ the simulator uses (μ >= 0)."""
    envs = FronthaulAssocVectorEnv(2, multipliers=0.5)
    envs.reset(seed=0)
    mu = envs.multipliers
    mu[:] = -5.0
    assert envs.multipliers.tolist() == [0.5] * 8
    assert envs.sim.multipliers.tolist() == [0.5] * 8
    capacity = envs.capacity_mbps
    capacity[:] = 0.0
    assert envs.capacity_mbps.tolist() == pytest.approx([60.0] * 8)


def test_vector_reset_options_instance_and_unknown_keys() -> None:
    from ua_envs.envs.contract import ChannelInstance

    envs = FronthaulAssocVectorEnv(3, num_bs=2, num_ues=2, num_antennas=1, capacity_mbps=5.0)
    instance = ChannelInstance(
        channels=np.eye(2, dtype=np.complex64).reshape(2, 2, 1), tx_power=1.0, noise_power=1.0
    )
    envs.reset(seed=0, options={"instance": instance, "multipliers": [1.0, 2.0]})
    for _ in range(2):  # the instance is replayed at every autoreset
        _, rewards, _, _, _ = envs.step(np.tile(np.eye(2, dtype=np.int8).reshape(1, 4), (3, 1)))
        torch.testing.assert_close(rewards, torch.full((3,), 0.5))
    with pytest.raises(ValueError, match=r"valid: 'instance', 'multipliers'"):
        envs.reset(seed=0, options={"multiplier": 1.0})
    with pytest.raises(ValueError, match="multipliers"):
        envs.reset(seed=0, options={"multipliers": 3e38})
