"""Property tests of SlottedArrivalAssoc-v0 (public API only): random configurations and random
legal action sequences keep the bookkeeping invariants of SPEC §3.4 / §4.4 at every step.

Invariants checked after every step (cumulative counts from the infos):

* ``arrivals`` = users shown arriving so far = accepted + ``rejections``;
  ``declines`` <= ``rejections`` (0 without ``allow_reject``);
* ``active_users`` = accepted − Σ ``departures`` = Σ ``users_per_bs``;
  ``users_per_bs`` <= ``max_users_per_bs``;
* every seated user has a remaining demand in ``(0, mean_demand + demand_spread]``; empty seats
  hold 0;
* the observation lies in ``observation_space``; its mask equals ``action_masks()``; without
  an arrival only the no-op is legal; with one, at most ``top_k`` BSs are candidates and every
  candidate has a free seat;
* the reward is finite and >= 0.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ua_envs  # noqa: F401  (registers the ids)

ENV_ID = "SlottedArrivalAssoc-v0"
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DB = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    num_bs = draw(st.integers(1, 4))
    mean_demand = draw(st.integers(1, 14))
    cfg: dict[str, Any] = {
        "num_bs": num_bs,
        "arrival_prob": draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]) | st.floats(0.0, 1.0)),
        "mean_demand": mean_demand,
        "demand_spread": draw(st.integers(0, mean_demand - 1)),
        "max_users_per_bs": draw(st.integers(1, 4)),
        "top_k": draw(st.integers(1, 5)),
        "allow_reject": draw(st.booleans()),
        "horizon": draw(st.integers(1, 25)),
    }
    if draw(st.booleans()):
        cfg["snr_levels_db"] = tuple(draw(st.lists(DB, min_size=1, max_size=5)))
    if draw(st.booleans()):
        cfg["bs_bias_db"] = tuple(draw(st.lists(DB, min_size=num_bs, max_size=num_bs)))
    return cfg


def play_and_check(cfg: dict[str, Any], seed: int, choices: list[int]) -> None:
    """Play ``horizon`` slots choosing legal action ``legal[c % len(legal)]`` for each choice
    ``c``, checking the invariants of the module docstring after reset and every step."""
    env: Any = gym.make(ENV_ID, **cfg)
    num_bs, seats = cfg["num_bs"], cfg["max_users_per_bs"]
    max_demand = cfg["mean_demand"] + cfg["demand_spread"]
    obs, info = env.reset(seed=seed)
    shown = accepted = departed = 0
    for step in range(cfg["horizon"]):
        check_observation(env, obs, num_bs, seats, cfg["top_k"], cfg["allow_reject"])
        legal = np.flatnonzero(obs["action_mask"])
        action = int(legal[choices[step % len(choices)] % len(legal)])
        arriving = bool(obs["arrival"][0] == 1.0)
        shown += arriving
        accepted += arriving and action < num_bs
        obs, reward, terminated, _, info = env.step(action)
        assert not terminated, "a legal action never terminates"
        assert math.isfinite(float(reward)) and float(reward) >= 0.0
        departed += info["departures"]
        assert info["arrivals"] == shown
        assert info["arrivals"] == accepted + info["rejections"]
        assert 0 <= info["declines"] <= info["rejections"]
        if not cfg["allow_reject"]:
            assert info["declines"] == 0
        users = np.asarray(info["users_per_bs"])
        assert users.shape == (num_bs,) and (users >= 0).all() and (users <= seats).all()
        assert info["active_users"] == accepted - departed == int(users.sum())
        state = env.unwrapped.state
        occupied = np.asarray(state.occupied[0])
        remaining = np.asarray(state.remaining[0])
        assert (occupied.sum(axis=-1) == users).all()
        assert (remaining[occupied] > 0).all() and (remaining[occupied] <= max_demand).all()
        assert (remaining[~occupied] == 0).all()
    check_observation(env, obs, num_bs, seats, cfg["top_k"], cfg["allow_reject"])


def check_observation(
    env: Any, obs: dict, num_bs: int, seats: int, top_k: int, allow_reject: bool
) -> None:
    assert env.observation_space.contains(obs), f"observation outside its space: {obs}"
    mask = obs["action_mask"].astype(bool)
    np.testing.assert_array_equal(mask, env.unwrapped.action_masks())
    candidates = mask[:num_bs]
    if obs["arrival"][0] == 0.0:
        assert not candidates.any() and mask[num_bs]
    else:
        assert candidates.sum() <= top_k
        assert mask[num_bs] == (allow_reject or not candidates.any())
        users = np.rint(obs["nodes"][:, 0] * seats).astype(int)
        assert (users[candidates] < seats).all(), "a candidate BS must have a free seat"


@SETTINGS
@given(cfg=configs(), seed=st.integers(0, 2**16), choices=st.lists(st.integers(0, 7), min_size=1))
def test_invariants_hold_for_random_configs_and_actions(
    cfg: dict[str, Any], seed: int, choices: list[int]
) -> None:
    play_and_check(cfg, seed, choices)


@SETTINGS
@given(seed=st.integers(0, 2**16), choices=st.lists(st.integers(0, 7), min_size=1))
def test_invariants_hold_at_the_defaults_under_load(seed: int, choices: list[int]) -> None:
    """Default levels and bias, every slot an arrival and few seats: rejections and
    departures both happen."""
    cfg = {
        "num_bs": 3,
        "arrival_prob": 1.0,
        "mean_demand": 10,
        "demand_spread": 3,
        "max_users_per_bs": 2,
        "top_k": 2,
        "allow_reject": True,
        "horizon": 40,
    }
    play_and_check(cfg, seed, choices)


# Configurations found by the properties above (kept as explicit regression examples).
KNOWN_CASES = [
    pytest.param(
        {"bs_bias_db": (0.0, 0.0, 0.0)},
        id="zero-bias-snr-feature-rounds-above-1",
    ),
    pytest.param(
        {"snr_levels_db": (-100.0,), "bs_bias_db": (-100.0, -100.0, -100.0)},
        id="lowest-snr-max-rate-rounds-to-0",
    ),
]


@pytest.mark.parametrize("overrides", KNOWN_CASES)
@pytest.mark.parametrize("seed", range(3))
def test_known_edge_configs(overrides: dict[str, Any], seed: int) -> None:
    cfg = {
        "num_bs": 3,
        "arrival_prob": 1.0,
        "mean_demand": 10,
        "demand_spread": 3,
        "max_users_per_bs": 4,
        "top_k": 3,
        "allow_reject": False,
        "horizon": 40,
        **overrides,
    }
    play_and_check(cfg, seed, [0, 1, 2, 3])
