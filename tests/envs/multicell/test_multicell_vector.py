"""Native vector env: equal to single envs under the seeding rule, autoreset, devices, errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from env_checks import assert_one_shot_autoreset, assert_one_shot_vector_equals_single_envs

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.multicell.vector import MultiCellAssocVectorEnv


def _actions(num_envs: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(num_envs, 8))


@pytest.mark.parametrize(
    ("env_id", "num_envs"), [("MultiCellAssoc-v0", 1024), ("MultiCellAssocBalanced-v0", 64)]
)
def test_vector_rewards_equal_single_envs(env_id: str, num_envs: int) -> None:
    """make_vec(id, n) reset with seed s == n single envs reset with seeds s, …, s + n − 1."""
    assert_one_shot_vector_equals_single_envs(
        env_id, _actions(num_envs, 0), info_keys=("association",), reward_tol=1e-5
    )


def test_autoreset_draws_new_instances_and_keeps_final_ones() -> None:
    rewards, infos = assert_one_shot_autoreset("MultiCellAssoc-v0", _actions(8, 1))
    torch.testing.assert_close(infos["final_info"]["sum_rate"], rewards)


def test_vector_env_evaluate_and_masks() -> None:
    envs = MultiCellAssocVectorEnv(4)
    envs.reset(seed=1)
    assert envs.action_masks().shape == (4, 16) and bool(envs.action_masks().all())
    association = torch.full((4, 2, 8), 0.5, requires_grad=True)
    value = envs.evaluate(association).reward
    value.sum().backward()
    assert value.shape == (4,) and association.grad is not None


def test_vector_bad_action_and_kwargs() -> None:
    envs = MultiCellAssocVectorEnv(4, num_ues=3)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.zeros((4, 8), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        envs.step(np.full((4, 3), 5))
    with pytest.raises(ValueError, match="num_ues"):
        MultiCellAssocVectorEnv(4, num_ues=0)
    with pytest.raises(ValueError, match="beamforming"):
        MultiCellAssocVectorEnv(4, beamforming="magic")


def test_spaces_and_metadata() -> None:
    envs: Any = gym.make_vec(
        "MultiCellAssocBalanced-v0", 3, vectorization_mode="vector_entry_point"
    )
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    assert envs.single_action_space == gym.spaces.MultiDiscrete([2] * 8)
    assert envs.observation_space["channel"].shape == (3, 2, 8, 8)
    assert envs.unwrapped.sim.load_limit == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device() -> None:
    envs = MultiCellAssocVectorEnv(16, device="cuda")
    obs, _ = envs.reset(seed=0)
    _, rewards, *_ = envs.step(obs["gain_db"].argmax(dim=1))
    assert rewards.device.type == "cuda" and torch.isfinite(rewards).all()


def test_render_mode_must_be_none() -> None:
    """Like every vector env: render_mode=None is accepted, anything else is a ValueError."""
    MultiCellAssocVectorEnv(2, render_mode=None).close()
    with pytest.raises(ValueError, match="render_mode"):
        MultiCellAssocVectorEnv(2, render_mode="rgb_array")
