"""SlottedArrivalAssoc-v0 single env: API checkers, determinism, episode end, actions, render."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.testing import check_ua_env

ENV_ID = "SlottedArrivalAssoc-v0"
R2, R4 = 10 * math.log10(3), 10 * math.log10(15)


def _first_legal(obs: dict) -> int:
    return int(np.flatnonzero(obs["action_mask"])[0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"arrival_prob": 1.0, "mean_demand": 14, "top_k": 2, "allow_reject": True},
        {"invalid_action": "ignore", "num_bs": 4, "max_users_per_bs": 2},
    ],
)
def test_shipped_checker_passes(kwargs: dict) -> None:
    check_ua_env(gym.make(ENV_ID, **kwargs))


def test_gymnasium_and_sb3_check_env() -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make(ENV_ID).unwrapped)
    with warnings.catch_warnings():
        # sb3 recommends flattening 2-D Dict entries ("nodes"); informative, not a failure.
        warnings.filterwarnings("ignore", message=".*unconventional shape.*")
        sb3_check_env(gym.make(ENV_ID), warn=True)


def _rollout(seed: int, **kwargs: object) -> list:
    env = gym.make(ENV_ID, **kwargs)
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(_first_legal(obs))
        out.append((obs, reward, terminated, truncated, info))
        done = terminated or truncated
    return out


def _equal(a: object, b: object) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(np.array_equal(a, b))


def test_whole_episodes_are_deterministic_and_seed_dependent() -> None:
    first, again, other = _rollout(5), _rollout(5), _rollout(6)
    assert _equal(first, again)
    assert not _equal(first, other)


def test_episode_is_truncated_at_40_slots_never_terminated() -> None:
    """SPEC §4.4: truncation by max_episode_steps (40), not in the env."""
    steps = _rollout(0, arrival_prob=1.0, mean_demand=14)[1:]
    assert len(steps) == 40
    assert not any(s[2] for s in steps)  # terminated
    assert [s[3] for s in steps] == [False] * 39 + [True]  # truncated
    assert gym.spec(ENV_ID).max_episode_steps == 40


def test_scenario_reset_and_doc_example_numbers() -> None:
    env = gym.make(ENV_ID)
    scenario = {"arrivals": [1, 1], "demand": [4, 2], "snr_db": [[R2, 0, 0], [R4, 0, 0]]}
    obs, _ = env.reset(seed=0, options={"scenario": scenario})
    assert obs["action_mask"].tolist() == [1, 1, 1, 0]
    _, reward, *_ = env.step(0)
    assert reward == pytest.approx(math.log(3))
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(math.log(2) + math.log(3))
    assert info["departures"] == 1 and info["active_users"] == 1
    assert info["throughput"][0].tolist() == pytest.approx([1.0, 2.0, 0.0, 0.0])


def test_info_keys_and_types() -> None:
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=1)
    _, _, _, _, info = env.step(_first_legal(obs))
    for key in ("utility", "rejections", "active_users", "arrived", "sum_rate", "declines"):
        assert key in info
    assert isinstance(info["utility"], float) and isinstance(info["rejections"], int)
    assert isinstance(info["arrived"], bool)
    assert info["users_per_bs"].shape == (3,) and info["throughput"].shape == (3, 4)


def test_action_masks_method_matches_observation() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0)
    obs, _ = env.reset(seed=2)
    for _ in range(10):
        assert env.unwrapped.action_masks().tolist() == obs["action_mask"].astype(bool).tolist()
        obs, *_ = env.step(_first_legal(obs))


def test_no_arrivals_without_arrival_prob_and_every_slot_with_one() -> None:
    none = _rollout(0, arrival_prob=0.0)
    assert all(s[1] == 0.0 and s[4]["arrivals"] == 0 for s in none[1:])
    full = _rollout(0, arrival_prob=1.0)
    assert full[-1][4]["arrivals"] == 40


def test_returned_arrays_are_fresh() -> None:
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=3)
    mask_before = env.unwrapped.action_masks().copy()
    obs["action_mask"][:] = 0
    obs["nodes"][:] = -1
    assert env.unwrapped.action_masks().tolist() == mask_before.tolist()
    _, _, _, _, info = env.step(int(np.flatnonzero(mask_before)[0]))
    info["throughput"][:] = 99
    assert float(env.unwrapped.state.throughput.max()) < 99


@pytest.mark.parametrize("action", [1.0, 4, -1, True, "0", np.array([0, 1]), None])
def test_malformed_action_raises_value_error(action: object) -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.unwrapped.step(action)


def test_numpy_scalar_and_0d_actions_are_accepted() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0)
    obs, _ = env.reset(seed=0)
    a = _first_legal(obs)
    env.unwrapped.step(np.int64(a) if a % 2 else np.array(a))


def test_invalid_action_terminates_by_default() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0)
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"][3] == 0  # a user arrives with candidates: no-op masked
    _, reward, terminated, truncated, info = env.step(3)
    assert (reward, terminated, truncated, info["invalid_action"]) == (0.0, True, False, True)


def test_invalid_action_raise_mode() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0, invalid_action="raise")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not legal"):
        env.step(3)


@pytest.mark.filterwarnings("ignore:.*render_mode.*")
def test_bad_kwargs_raise_value_error_naming_them() -> None:
    with pytest.raises(ValueError, match="arrival_prob"):
        gym.make(ENV_ID, arrival_prob=2.0)
    with pytest.raises(ValueError, match="max_users_per_bs"):
        gym.make(ENV_ID, max_users_per_bs=0)
    with pytest.raises(ValueError, match="render_mode"):
        gym.make(ENV_ID, render_mode="ascii")


def test_stepping_past_the_horizon_warns_and_draws_no_arrivals() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0, horizon=3, max_episode_steps=5)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(_first_legal(obs))
    assert obs["arrival"].tolist() == [0.0]
    with pytest.warns(UserWarning, match="past horizon"):
        env.step(3)


def test_render_rgb_array() -> None:
    env = gym.make(ENV_ID, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(_first_legal(obs))
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.std() > 0
    env.close()


def test_no_channels_but_snr_accessors() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0)
    env.reset(seed=0)
    snr = env.unwrapped.new_user_snr_db
    assert snr.shape == (3,) and set(snr[1:]) <= {0.0, 5.0, 10.0, 15.0, 20.0}
