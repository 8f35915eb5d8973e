"""Checks shared by the env families' tests: one-shot vector envs against seeded single envs,
malformed actions, and comparing whole rollouts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch


def assert_one_shot_vector_equals_single_envs(
    env_id: str,
    actions: np.ndarray,
    *,
    info_keys: Sequence[str],
    reward_tol: float,
    info_rtol: float = 1e-7,
    info_atol: float = 0.0,
    **kwargs: Any,
) -> None:
    """make_vec(id, n) reset with seed s == n single envs reset with seeds s, …, s + n − 1, for a
    one-shot env stepped once with ``actions`` (n rows): observations and ``info_keys`` of the
    first four sub-envs (``info_rtol``/``info_atol``: assert_allclose's defaults), and every
    reward."""
    seed, num_envs = 100, len(actions)
    envs = gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point", **kwargs)
    obs, _ = envs.reset(seed=seed)
    _, rewards, terminated, truncated, infos = envs.step(actions)
    assert bool(terminated.all()) and not bool(truncated.any())
    single = gym.make(env_id, **kwargs)
    expected = np.empty(num_envs)
    for i in range(num_envs):
        single_obs, _ = single.reset(seed=seed + i)
        if i < 4:
            for key, value in single_obs.items():
                np.testing.assert_allclose(obs[key][i].numpy(), value, rtol=1e-6)
        _, expected[i], _, _, single_info = single.step(actions[i])
        if i < 4:
            for key in info_keys:
                np.testing.assert_allclose(
                    infos["final_info"][key][i].numpy(),
                    single_info[key],
                    rtol=info_rtol,
                    atol=info_atol,
                )
    np.testing.assert_allclose(rewards.numpy(), expected, rtol=reward_tol, atol=reward_tol)


def assert_one_shot_autoreset(env_id: str, actions: np.ndarray) -> tuple[Any, Any]:
    """One step of a one-shot vector env (seed 0) ends every episode: the final observations are
    the reset ones, the next are new instances, reproducible from the reset seed. Returns the
    step's rewards and infos."""
    envs = gym.make_vec(env_id, len(actions), vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    next_obs, rewards, _, _, infos = envs.step(actions)
    assert bool(infos["_final"].all())
    torch.testing.assert_close(infos["final_obs"]["channel"], obs["channel"])
    assert not torch.equal(next_obs["channel"], obs["channel"])
    again = gym.make_vec(env_id, len(actions), vectorization_mode="vector_entry_point")
    again.reset(seed=0)
    next_again, *_ = again.step(actions)
    torch.testing.assert_close(next_again["channel"], next_obs["channel"])
    return rewards, infos


def assert_malformed_action_raises(env_id: str, action: object, **kwargs: Any) -> None:
    """The unwrapped env's step() rejects ``action`` with a ValueError naming the action."""
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(action)


def _array_equal(a: object, b: object) -> bool:
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def nested_equal(
    a: object, b: object, leaf: Callable[[object, object], bool] = _array_equal
) -> bool:
    """``a`` and ``b`` have the same nesting of dicts (same keys) and lists/tuples (same
    lengths), and ``leaf`` holds for every pair of leaves (default: equal arrays)."""
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(nested_equal(a[k], b[k], leaf) for k in a)
        )
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(nested_equal(x, y, leaf) for x, y in zip(a, b, strict=True))
        )
    return leaf(a, b)
