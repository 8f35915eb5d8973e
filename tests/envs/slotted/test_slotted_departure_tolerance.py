"""A user whose demand is served up to float32 rounding leaves in the expected slot
(SlottedArrivalAssoc-v0, public API only).

The simulator keeps remaining demands in float32. A demand of 10 data units at a rate of
``log2(1 + SNR) = 10/3`` (SNR = 2^{10/3} - 1, 9.5806 dB) is served in exactly 3 slots in real
arithmetic, but in float32 ``10 - r - r - r`` with ``r = fl(10/3)`` leaves 4.8e-7 > 0. The user
must still leave after slot 2 and free its seat (for slot 5's arrival); a remaining demand well
above float32 rounding (1e-3) must keep the user one more slot.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.slotted import sim as slotted_sim

ENV_ID = "SlottedArrivalAssoc-v0"
NOOP = 3  # num_bs = 3
SNR_10_3_DB = 10 * math.log10(2 ** (10 / 3) - 1)  # rate 10/3 data units/slot


def given_episode(first_demand: float) -> dict:
    """``reset`` options of a given episode. Slot 0: a user with rate 10/3 at BS 0 (others far
    weaker). Slot 5: a user whose best BS is BS 0 (so with one seat per BS and top_k = 1, BS 0
    is its candidate iff BS 0's seat is free) and who stays more than one slot."""
    fields = {
        "arrivals": [1, 0, 0, 0, 0, 1],
        "snr_db": [[SNR_10_3_DB, -20.0, -20.0]] + [[0.0, 0.0, 0.0]] * 4 + [[20.0, 0.0, 0.0]],
        "demand": [first_demand, 1.0, 1.0, 1.0, 1.0, 12.0],
    }
    # The option is being renamed ("scenario" dict -> "instance" SlottedInstance); use what the
    # installed simulator accepts.
    instance_type = getattr(slotted_sim, "SlottedInstance", None)
    if instance_type is not None:
        return {"instance": instance_type(**fields)}
    return {"scenario": fields}


def play(first_demand: float) -> tuple[Any, list[dict], dict]:
    """Associate slot 0's user to BS 0, then no-ops up to slot 5; return the infos of slots
    0..4 and the observation shown for slot 5."""
    env: Any = gym.make(ENV_ID, max_users_per_bs=1, top_k=1, horizon=8)
    obs, _ = env.reset(seed=0, options=given_episode(first_demand))
    assert obs["action_mask"].tolist() == [1, 0, 0, 0]
    infos = []
    for action in [0, NOOP, NOOP, NOOP, NOOP]:
        obs, _, terminated, _, info = env.step(action)
        assert not terminated
        infos.append(info)
    return env, infos, obs


def test_float32_leftover_departs_and_frees_the_seat() -> None:
    env, infos, obs = play(10.0)
    # Precondition: the scenario really leaves a float32 residue > 0 after 3 slots.
    rate = np.float32(env.unwrapped.state.new_rate[0, 0, 0])
    assert rate == np.float32(10 / 3)
    remaining = np.float32(10.0)
    for _ in range(3):
        remaining = np.float32(remaining - rate)
    assert 0.0 < float(remaining) < 1e-6

    assert [i["active_users"] for i in infos] == [1, 1, 0, 0, 0]
    assert [i["departures"] for i in infos] == [0, 0, 1, 0, 0]
    assert [i["users_per_bs"].tolist() for i in infos[2:]] == [[0, 0, 0]] * 3
    assert not env.unwrapped.state.occupied.any()
    # Served exactly 3 slots of 10/3: the sum rate of slot 3 is 0 (nobody left to serve).
    assert [i["sum_rate"] for i in infos] == pytest.approx([10 / 3] * 3 + [0.0, 0.0], rel=1e-6)
    # Slot 5's user sees the freed seat: BS 0 (its best BS) is its candidate, and joining works.
    assert obs["action_mask"].tolist() == [1, 0, 0, 0]
    _, _, terminated, _, info = env.step(0)
    assert not terminated and info["rejections"] == 0
    assert info["users_per_bs"].tolist() == [1, 0, 0]


def test_remaining_demand_above_rounding_keeps_the_user() -> None:
    """Demand 10.001: after 3 slots 1e-3 remains (far above float32 rounding), so the user is
    served a 4th slot and only then leaves; slot 3's sum rate is the full rate 10/3."""
    _, infos, _ = play(10.001)
    assert [i["active_users"] for i in infos] == [1, 1, 1, 0, 0]
    assert [i["departures"] for i in infos] == [0, 0, 0, 1, 0]
    assert infos[3]["sum_rate"] == pytest.approx(10 / 3, rel=1e-6)
