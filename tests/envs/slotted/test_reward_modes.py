"""Reward modes, the BS mean-utility column, utility per slot and the rate scale, by hand."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.slotted import SlottedInstance
from ua_envs.envs.slotted.sim import NODE_FEATURES, SlottedConfig

ENV_ID = "SlottedArrivalAssoc-v0"
# 10 log10(3) dB -> rate log2(1 + 3) = 2; 10 log10(15) dB -> 4.
R2, R4 = 10 * math.log10(3), 10 * math.log10(15)
# slot 0: A (rate 2 at BS 0, demand 4); slot 1: B (rate 4 at BS 0, demand 2); slot 2: nobody.
INSTANCE = SlottedInstance(
    arrivals=[1, 1, 0], snr_db=[[R2, 0, 0], [R4, 0, 0], [0, 0, 0]], demand=[4, 2, 0]
)
LOG2, LOG3 = math.log(2), math.log(3)


def _play(**kwargs: object) -> list[tuple[float, dict]]:
    """Rewards and infos of the scripted episode, both users on BS 0, then the no-op."""
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0, options={"instance": INSTANCE})
    out = []
    for action in (0, 0, 3):
        _, reward, _, _, info = env.step(action)
        out.append((reward, info))
    return out


# slot 0: th_A = 2 (A alone; remaining 4 -> 2).
# slot 1: th_A = 2/2 = 1, th_B = 4/2 = 2 (A: 2 -> 1; B: 2 -> 0, leaves).
# slot 2: th_A = 2, but A wants only 1 more (A leaves).
EXPECTED = {
    "logsum": [LOG3, LOG2 + LOG3, LOG3],
    "user_mean": [LOG3, (LOG2 + LOG3) / 2, LOG3],
    "served": [2.0, 1.0 + 2.0, 1.0],
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_reward_modes_by_hand(mode: str) -> None:
    steps = _play(reward_mode=mode)
    assert [r for r, _ in steps] == pytest.approx(EXPECTED[mode], rel=1e-6)
    # info["utility"] is the log-sum utility whatever the mode, and utility_per_slot its mean.
    utilities = [float(info["utility"]) for _, info in steps]
    assert utilities == pytest.approx(EXPECTED["logsum"], rel=1e-6)
    for t, (_, info) in enumerate(steps, start=1):
        total = sum(EXPECTED["logsum"][:t])
        assert float(info["episode_utility"]) == pytest.approx(total, rel=1e-6)
        assert float(info["utility_per_slot"]) == pytest.approx(total / t, rel=1e-6)


def test_user_mean_is_zero_without_users() -> None:
    env = gym.make(ENV_ID, reward_mode="user_mean", arrival_prob=0.0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(3)
    assert reward == 0.0 and info["utility_per_slot"] == 0.0


def test_bs_mean_utility_column_by_hand() -> None:
    """nodes[:, 5] = each BS's log-sum terms summed over the played slots / slots played."""
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0, options={"instance": INSTANCE})
    assert obs["nodes"].shape == (3, NODE_FEATURES)
    assert obs["nodes"][:, 5].tolist() == [0.0, 0.0, 0.0]
    assert info["utility_per_slot"] == 0.0
    expected_bs0 = [LOG3 / 1, (LOG3 + LOG2 + LOG3) / 2, (LOG3 + LOG2 + LOG3 + LOG3) / 3]
    for action, bs0 in zip((0, 0, 3), expected_bs0, strict=True):
        obs, _, _, _, info = env.step(action)
        assert obs["nodes"][0, 5] == pytest.approx(bs0, rel=1e-6)
        assert obs["nodes"][1:, 5].tolist() == [0.0, 0.0]
        # summed over the BSs it is the network's utility per slot
        assert obs["nodes"][:, 5].sum() == pytest.approx(info["utility_per_slot"], rel=1e-6)
        assert env.observation_space.contains(obs)


def test_bs_mean_utility_column_vector_equals_single() -> None:
    envs = gym.make_vec(ENV_ID, 3, vectorization_mode="vector_entry_point", arrival_prob=1.0)
    obs, _ = envs.reset(seed=5)
    singles = [gym.make(ENV_ID, arrival_prob=1.0) for _ in range(3)]
    single_obs = [env.reset(seed=5 + i)[0] for i, env in enumerate(singles)]
    for _ in range(12):
        mask = obs["action_mask"].bool()
        action = torch.where(mask[:, :3].any(1), mask[:, :3].float().argmax(1), 3)
        obs, _, _, _, info = envs.step(action)
        for i, env in enumerate(singles):
            single_obs[i], _, _, _, single_info = env.step(int(action[i]))
            np.testing.assert_allclose(obs["nodes"][i].numpy(), single_obs[i]["nodes"], rtol=1e-6)
            assert float(info["utility_per_slot"][i]) == pytest.approx(
                single_info["utility_per_slot"], rel=1e-6
            )
    assert float(obs["nodes"][:, :, 5].max()) > 0.0


def test_node_bound_holds_at_full_load() -> None:
    """The bound U log(1 + max_rate / U) of column 5 is reached by U users at the top rate."""
    config = SlottedConfig(num_bs=1, max_users_per_bs=2, snr_levels_db=(20.0,), bs_bias_db=(0.0,))
    env = gym.make(ENV_ID, num_bs=1, max_users_per_bs=2, snr_levels_db=(20.0,), bs_bias_db=(0.0,))
    instance = SlottedInstance(arrivals=[1, 1], snr_db=[[20.0], [20.0]], demand=[13, 13])
    env.reset(seed=0, options={"instance": instance})
    env.step(0)
    obs, *_ = env.step(0)
    high = env.observation_space["nodes"].high[0, 5]
    assert high == pytest.approx(2 * math.log1p(config.max_rate / 2), rel=1e-6)
    # slot 0: one user alone, slot 1: two users sharing -> mean below the bound, in the space.
    expected = (math.log1p(config.max_rate) + 2 * math.log1p(config.max_rate / 2)) / 2
    assert obs["nodes"][0, 5] == pytest.approx(min(expected, high), rel=1e-6)


def test_rate_scale_scales_service_by_hand() -> None:
    """rate = rate_scale * log2(1 + SNR): SNR 3 at rate_scale 0.5 serves 1 data unit a slot."""
    env = gym.make(ENV_ID, rate_scale=0.5, reward_mode="served")
    instance = SlottedInstance(arrivals=[1], snr_db=[[R2, 0, 0]], demand=[4])
    obs, _ = env.reset(seed=0, options={"instance": instance})
    base = gym.make(ENV_ID)
    base_obs, _ = base.reset(seed=0, options={"instance": instance})
    # the scaled SNR feature is rate / max_rate: unchanged by the common scale
    np.testing.assert_allclose(obs["nodes"][:, 2], base_obs["nodes"][:, 2], rtol=1e-6)
    assert env.unwrapped.config.max_rate == pytest.approx(0.5 * base.unwrapped.config.max_rate)
    served = []
    for _ in range(5):
        obs, reward, *_ = env.step(0 if obs["action_mask"][0] else 3)
        served.append(reward)
    assert served == pytest.approx([1.0, 1.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"reward_mode": "sum"},
            r"reward_mode must be one of \('logsum', 'user_mean', 'served'\), got 'sum'",
        ),
        ({"rate_scale": 0.0}, r"rate_scale.*0"),
        ({"rate_scale": 2e3}, r"rate_scale.*2000"),
        ({"rate_scale": float("nan")}, r"rate_scale"),
        ({"rate_scale": True}, r"rate_scale"),
    ],
)
def test_bad_kwargs_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gym.make(ENV_ID, **kwargs)
