"""SlottedArrivalAssoc-v0 single env: API checkers, determinism, episode end, actions, render,
observation bounds."""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from env_checks import assert_malformed_action_raises, nested_equal
from gymnasium.utils.env_checker import check_env

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.single import SimEnv
from ua_envs.envs.slotted import SlottedInstance
from ua_envs.envs.slotted.env import SlottedArrivalAssocEnv
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


def _play(env: gym.Env, seed: int) -> list:
    """The (obs, info) of the reset with ``seed`` and every step's outcome, first legal actions."""
    obs, info = env.reset(seed=seed)
    out = [(obs, info)]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(_first_legal(obs))
        out.append((obs, reward, terminated, truncated, info))
        done = terminated or truncated
    return out


def _rollout(seed: int, **kwargs: object) -> list:
    return _play(gym.make(ENV_ID, **kwargs), seed)


def test_whole_episodes_are_deterministic_and_seed_dependent() -> None:
    first, again, other = _rollout(5), _rollout(5), _rollout(6)
    assert nested_equal(first, again)
    assert not nested_equal(first, other)


def test_episode_is_truncated_at_40_slots_never_terminated() -> None:
    """docs/model.md §4.4: truncation after horizon = 40 slots, never a termination."""
    steps = _rollout(0, arrival_prob=1.0, mean_demand=14)[1:]
    assert len(steps) == 40
    assert not any(s[2] for s in steps)  # terminated
    assert [s[3] for s in steps] == [False] * 39 + [True]  # truncated


@pytest.mark.parametrize("horizon", [80, 7])
def test_episode_length_follows_the_configured_horizon(horizon: int) -> None:
    """Edge: the registration's max_episode_steps=40 cut a horizon=80 episode at 40 (and the
    simulator had drawn 40 more slots). The env truncates itself after `horizon` slots and the
    id has no time limit of its own."""
    assert gym.spec(ENV_ID).max_episode_steps is None
    steps = _rollout(0, arrival_prob=1.0, horizon=horizon)[1:]
    assert len(steps) == horizon
    assert [s[3] for s in steps] == [False] * (horizon - 1) + [True]
    assert not any(s[2] for s in steps)
    assert steps[-1][4]["arrivals"] == horizon  # every slot of the episode was played


def test_a_shorter_time_limit_still_cuts_and_stepping_past_the_end_raises() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0, horizon=5, max_episode_steps=3)
    obs, _ = env.reset(seed=0)
    ends = []
    for _ in range(3):
        obs, _, terminated, truncated, _ = env.step(_first_legal(obs))
        ends.append((terminated, truncated))
    assert ends == [(False, False), (False, False), (False, True)]  # the TimeLimit's cut
    longer = gym.make(ENV_ID, arrival_prob=1.0, horizon=3, max_episode_steps=5)
    obs, _ = longer.reset(seed=0)
    for _ in range(3):
        obs, _, _, truncated, _ = longer.step(_first_legal(obs))
    assert truncated  # the env's own end comes first
    with pytest.raises(RuntimeError, match="reset"):
        longer.step(3)


def test_instance_reset_and_doc_example_numbers() -> None:
    env = gym.make(ENV_ID)
    instance = SlottedInstance(arrivals=[1, 1], demand=[4, 2], snr_db=[[R2, 0, 0], [R4, 0, 0]])
    obs, _ = env.reset(seed=0, options={"instance": instance})
    assert obs["action_mask"].tolist() == [1, 1, 1, 0]
    _, reward, *_ = env.step(0)
    assert reward == pytest.approx(math.log(3))
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(math.log(2) + math.log(3))
    assert info["departures"] == 1 and info["active_users"] == 1
    assert info["throughput"][0].tolist() == pytest.approx([1.0, 2.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"unknown reset option.*'scenario'"):
        env.reset(options={"scenario": instance})


def test_the_env_is_a_sim_env_and_reset_returns_the_info() -> None:
    env = gym.make(ENV_ID)
    assert isinstance(env.unwrapped, SimEnv)
    _, info = env.reset(seed=0)
    assert info["rejections"] == 0 and info["invalid_action"] is False
    assert info["users_per_bs"].tolist() == [0, 0, 0]


OBSERVATION_CONFIGS = [
    {},
    {"bs_bias_db": (0, 0, 0)},  # the reported 1.0000001 in nodes[:, 2]
    {"bs_bias_db": (0, 0, 0), "snr_levels_db": (0.0, 7.0, 13.0), "arrival_prob": 1.0},
    {"arrival_prob": 1.0, "mean_demand": 14, "allow_reject": True, "top_k": 2},
    {"num_bs": 5, "max_users_per_bs": 3, "mean_demand": 9, "demand_spread": 8},
    {"snr_levels_db": (-100.0,), "bs_bias_db": (-100.0,) * 3, "arrival_prob": 1.0},
    {"snr_levels_db": (100.0, 33.3), "bs_bias_db": (0.7, 0.0, 100.0), "max_users_per_bs": 7},
]


@pytest.mark.parametrize("kwargs", OBSERVATION_CONFIGS)
def test_every_observation_lies_in_the_observation_space(kwargs: dict) -> None:
    """Edge: float32 rounding put nodes[:, 2] at 1.0000001 > high = 1 with bs_bias_db=(0, 0, 0).
    Whole episodes (random legal actions, 10 seeds) of several configs stay in the space."""
    env = gym.make(ENV_ID, **kwargs)
    space = env.observation_space
    rng = np.random.default_rng(0)
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        assert space.contains(obs)
        done = False
        while not done:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            obs, _, terminated, truncated, _ = env.step(action)
            assert space.contains(obs), (seed, obs["nodes"] - space["nodes"].high)
            done = terminated or truncated


def test_an_instance_at_the_config_bounds_stays_in_the_space() -> None:
    env = gym.make(ENV_ID, bs_bias_db=(0, 0, 0))
    instance = SlottedInstance(arrivals=[1] * 4, snr_db=[[20, 20, 20]] * 4, demand=[13] * 4)
    obs, _ = env.reset(seed=0, options={"instance": instance})
    assert obs["nodes"][:, 2].tolist() == [1.0, 1.0, 1.0]  # exactly the bound
    assert obs["nodes"][:, 3].tolist() == [1.0, 1.0, 1.0]
    for _ in range(4):
        assert env.observation_space.contains(obs)
        obs, *_ = env.step(0)


def test_stepping_after_a_terminating_illegal_action_raises() -> None:
    """Edge: after invalid_action="terminate" ended the episode, step() went on playing it."""
    env = gym.make(ENV_ID, arrival_prob=1.0)
    obs, _ = env.reset(seed=0)
    _, _, terminated, _, _ = env.step(3)  # the no-op is masked
    assert terminated and env.unwrapped.state.done.tolist() == [True]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    obs, _ = env.reset(seed=0)  # a new episode plays again
    env.step(_first_legal(obs))


def test_invalid_action_ignore_mode_reports_it() -> None:
    env = gym.make(ENV_ID, arrival_prob=1.0, invalid_action="ignore")
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"][3] == 0
    _, _, terminated, _, info = env.step(3)
    assert not terminated and info["invalid_action"] is True and info["rejections"] == 1


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
    assert_malformed_action_raises(ENV_ID, action)


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
    with pytest.raises(ValueError, match=r"num_ues.*valid: num_bs"):
        gym.make(ENV_ID, num_ues=4)
    with pytest.raises(ValueError, match="horizon"):
        SlottedArrivalAssocEnv(horizon=0)


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


def test_torch_state_path_plays_the_same_episode() -> None:
    """Off the CPU the env steps the torch state (no numpy copy): forced here on the CPU, the
    episode equals the numpy path's (float sums up to float32 rounding, as in the simulator's
    numpy/torch test)."""

    def rollout(numpy_state: bool) -> list:
        env = gym.make(ENV_ID, arrival_prob=1.0, horizon=12, render_mode="rgb_array")
        env.unwrapped.runner.numpy_state = numpy_state
        out = _play(env, 3)
        assert env.render().ndim == 3
        assert isinstance(env.unwrapped.state.slot, np.ndarray) == numpy_state
        return out

    fast, torch_path = rollout(True), rollout(False)
    assert len(fast) == 13
    for a, b in zip(fast, torch_path, strict=True):
        assert nested_equal(a, b, _close)


def _close(a: object, b: object) -> bool:
    """Leaves of the same type, equal up to float32 rounding."""
    return type(a) is type(b) and bool(np.allclose(a, b, rtol=1e-6, atol=1e-6))
