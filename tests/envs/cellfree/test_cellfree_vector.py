"""CellFreeAssoc-v0 native vector env: equals seeded single envs, autoreset, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from cellfree_helpers import ENV_ID

from ua_envs.envs.cellfree.vector import CellFreeAssocVectorEnv


def _legal_actions(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One legal action per row; END with probability 0.05 when legal."""
    actions = []
    for row in mask.astype(bool):
        links = np.flatnonzero(row[:-1])
        if links.size == 0 or (row[-1] and rng.random() < 0.05):
            actions.append(row.size - 1)
        else:
            actions.append(int(rng.choice(links)))
    return np.array(actions, dtype=np.int64)


@pytest.mark.parametrize("kwargs", [{}, {"reward_mode": "delta", "require_coverage": True}])
def test_vector_env_equals_seeded_single_envs(kwargs: dict) -> None:
    """Sub-env i reset with seed s equals a single env reset with s + i and, stepped with the
    same actions, gives the same observations, rewards, terminations and infos until its first
    episode ends."""
    num_envs, seed = 5, 7
    vec = gym.make_vec(ENV_ID, num_envs, vectorization_mode="vector_entry_point", **kwargs)
    singles = [gym.make(ENV_ID, **kwargs) for _ in range(num_envs)]
    obs, _ = vec.reset(seed=seed)
    single_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    running = np.ones(num_envs, dtype=bool)
    rng = np.random.default_rng(0)
    while running.any():
        for i in np.flatnonzero(running):
            for key, value in single_obs[i].items():
                np.testing.assert_array_equal(obs[key][i].numpy(), value, err_msg=key)
        actions = _legal_actions(obs["action_mask"].numpy(), rng)
        obs, reward, terminated, truncated, infos = vec.step(torch.from_numpy(actions))
        for i in np.flatnonzero(running):
            s_obs, s_reward, s_term, s_trunc, s_info = singles[i].step(int(actions[i]))
            assert float(reward[i]) == pytest.approx(s_reward, abs=1e-5)
            assert (bool(terminated[i]), bool(truncated[i])) == (s_term, s_trunc)
            np.testing.assert_array_equal(infos["association"][i].numpy(), s_info["association"])
            assert float(infos["sum_rate"][i]) == pytest.approx(s_info["sum_rate"], abs=1e-5)
            if s_term or s_trunc:
                running[i] = False
                final = infos["final_obs"]
                for key, value in s_obs.items():
                    np.testing.assert_array_equal(final[key][i].numpy(), value, err_msg=key)
            else:
                single_obs[i] = s_obs


def test_vector_autoreset_and_spaces() -> None:
    """END everywhere: every row ends with reward 0 and restarts with an empty support."""
    vec = CellFreeAssocVectorEnv(3, max_episode_steps=49)
    assert vec.single_action_space == gym.spaces.Discrete(49)
    obs, _ = vec.reset(seed=0)
    assert obs["channel"].shape == (3, 8, 6, 4) and obs["action_mask"].dtype == torch.int8
    masks = vec.action_masks()
    assert isinstance(masks, torch.Tensor) and masks.dtype == torch.bool
    assert masks.shape == (3, 49) and torch.equal(masks, obs["action_mask"].bool())
    masks[:] = False  # a fresh tensor: writing into it does not change the env's masks
    assert bool(vec.action_masks().any())
    first = obs["channel"].clone()
    obs, reward, terminated, truncated, infos = vec.step(np.full(3, 48))
    assert terminated.all() and not truncated.any() and (reward == 0).all()
    assert infos["_final"].all()
    assert not torch.equal(obs["channel"], first)  # new instances
    assert obs["support"].sum() == 0 and obs["action_mask"].all()


def test_vector_truncation() -> None:
    """invalid_action="ignore" + a masked action forever: truncated at max_episode_steps."""
    vec = CellFreeAssocVectorEnv(2, max_episode_steps=3, invalid_action="ignore")
    vec.reset(seed=1)
    vec.step(np.zeros(2, dtype=np.int64))
    for _ in range(2):
        _, reward, terminated, truncated, infos = vec.step(np.zeros(2, dtype=np.int64))
        assert infos["invalid_action"].all() and (reward == 0).all() and not terminated.any()
    assert truncated.all()


def test_vector_bad_actions() -> None:
    vec = CellFreeAssocVectorEnv(2)
    vec.reset(seed=0)
    for bad in (np.array([0.5, 1.0]), np.array([0, 1, 2]), np.array([0, 49]), np.array([-1, 0])):
        with pytest.raises(ValueError, match="action"):
            vec.step(bad)
    with pytest.raises(ValueError, match="render_mode"):
        CellFreeAssocVectorEnv(2, render_mode="human")


def test_vector_raise_names_the_sub_env() -> None:
    vec = CellFreeAssocVectorEnv(2, invalid_action="raise")
    vec.reset(seed=0)
    vec.step(np.array([0, 0]))
    with pytest.raises(ValueError, match=r"sub-env 1.*already chosen"):
        vec.step(np.array([1, 0]))
