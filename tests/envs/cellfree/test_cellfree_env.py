"""CellFreeAssoc-v0, single env: API checks, hand-computed instance, rewards, masks, bad input."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from cellfree_helpers import (
    ENV_ID,
    hand_env,
    hand_options,
    random_episode,
    reference_rzf_sum_rate,
)

from ua_envs.core import sum_rate
from ua_envs.core.beamforming import rzf, wmmse
from ua_envs.testing import check_ua_env

# ---- API -------------------------------------------------------------------------------------


def cf(env: gym.Env) -> Any:
    """The unwrapped CellFreeAssoc env (typed Any: its attributes are the env's own)."""
    return env.unwrapped


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"reward_mode": "delta", "require_coverage": True},
        {"invalid_action": "raise", "beamforming": "mrt"},
        {"invalid_action": "ignore", "num_bs": 3, "num_ues": 2, "max_episode_steps": 7},
        {"render_mode": "rgb_array", "num_bs": 2, "num_ues": 2},
    ],
)
def test_check_ua_env(kwargs: dict) -> None:
    """Gymnasium's check_env + determinism, no buffer aliasing, masks and finiteness."""
    check_ua_env(gym.make(ENV_ID, **kwargs), episodes=2)


def test_sb3_check_env() -> None:
    """stable-baselines3's checker passes (its shape warnings about (M, K) boxes are advice)."""
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_env(gym.make(ENV_ID).unwrapped)


def test_registered_time_limit_and_spaces() -> None:
    """The id carries max_episode_steps = M·K + 1 = 49; spaces match SPEC §4.2."""
    env = gym.make(ENV_ID)
    assert env.spec is not None and env.spec.max_episode_steps == 49
    assert env.action_space == gym.spaces.Discrete(49)
    shapes = {k: s.shape for k, s in env.observation_space.items()}  # type: ignore[attr-defined]
    assert shapes == {
        "channel": (8, 6, 4),
        "gain_db": (8, 6),
        "support": (8, 6),
        "ap_load": (8,),
        "ue_degree": (6,),
        "action_mask": (49,),
    }
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"].dtype == np.int8 and obs["action_mask"].all()
    assert cf(env).channels.shape == (8, 6, 2)
    assert cf(env).channels.dtype == np.complex64
    assert cf(env).tx_power.shape == (8,) and cf(env).noise_power.shape == (6,)
    np.testing.assert_allclose(cf(env).tx_power, 0.2, rtol=1e-5)  # 23.0103 dBm = 200 mW


def test_observation_features_match_the_instance() -> None:
    """channel = [Re, Im] of h/σ_k; gain_db = 10 log10(‖h‖²/σ_k²)."""
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=3)
    h = cf(env).channels.astype(np.complex128)
    sigma = np.sqrt(cf(env).noise_power.astype(np.float64))[None, :, None]
    expected = np.concatenate([(h / sigma).real, (h / sigma).imag], axis=-1)
    np.testing.assert_allclose(obs["channel"], expected, rtol=1e-5)
    gain = 10 * np.log10((np.abs(h) ** 2).sum(-1) / sigma[..., 0] ** 2)
    np.testing.assert_allclose(obs["gain_db"], gain, atol=1e-3)


def test_seed_determinism_and_unseeded_sequence() -> None:
    """Same seed → same instance and same unseeded continuation; another seed differs."""
    a, b = gym.make(ENV_ID), gym.make(ENV_ID)
    first_a, _ = a.reset(seed=11)
    first_b, _ = b.reset(seed=11)
    np.testing.assert_array_equal(first_a["channel"], first_b["channel"])
    for _ in range(3):
        next_a, _ = a.reset()
        next_b, _ = b.reset()
        np.testing.assert_array_equal(next_a["channel"], next_b["channel"])
        assert not np.array_equal(next_a["channel"], first_a["channel"])
    other, _ = a.reset(seed=12)
    assert not np.array_equal(other["channel"], first_a["channel"])


# ---- hand-computed instance ------------------------------------------------------------------


def test_hand_instance_mrt_terminal_reward() -> None:
    """Links (AP 0, UE 0) and (AP 1, UE 2) with MRT on the hand instance (P = σ² = 1).

    MRT: v_{0,0} = h_{0,0}/|h_{0,0}| = 1, v_{1,2} = h_{1,2}/|h_{1,2}| = 1.
    UE 0: signal |h_{0,0} v_{0,0}|² = 1, interference |h_{1,0} v_{1,2}|² = 0 → SINR 1 → 1 bit.
    UE 2: signal |h_{1,2} v_{1,2}|² = 4, interference |h_{0,2} v_{0,0}|² = 0 → SINR 4 → log2 5.
    UE 1: unserved → 0. Sum rate 1 + log2 5 = 3.321928.
    """
    env = hand_env(beamforming="mrt")
    obs, _ = env.reset(options=hand_options())
    obs, reward, terminated, _, info = env.step(0 * 3 + 0)
    assert (reward, terminated, info["sum_rate"]) == (0.0, False, 0.0)  # terminal mode
    obs, reward, terminated, _, info = env.step(1 * 3 + 2)
    assert (reward, terminated) == (0.0, False)
    obs, reward, terminated, _, info = env.step(6)  # END
    assert terminated
    assert reward == pytest.approx(1.0 + math.log2(5.0), rel=1e-6)
    np.testing.assert_allclose(info["rates"], [1.0, 0.0, math.log2(5.0)], rtol=1e-6)
    np.testing.assert_array_equal(info["association"], [[1, 0, 0], [0, 0, 1]])
    assert obs["action_mask"].tolist() == [0, 0, 0, 0, 0, 0, 1]  # ended: only END


def test_hand_instance_masks_and_auto_end() -> None:
    """Caps 1 UE per AP and 1 AP per UE: the mask after each update, then the automatic end.

    Start: every link legal. Add (AP 0, UE 1) = action 1: AP 0 is full (row 0 closed) and UE 1
    is covered (column 1 closed) → legal links (1,0) = 3 and (1,2) = 5. Add 5: AP 1 is full too
    → no link is left → the episode ends on this step with the terminal reward.
    """
    env = hand_env(max_ues_per_ap=1, max_aps_per_ue=1)
    obs, _ = env.reset(options=hand_options())
    assert obs["action_mask"].tolist() == [1, 1, 1, 1, 1, 1, 1]
    obs, _, terminated, _, _ = env.step(1)
    assert not terminated
    assert obs["action_mask"].tolist() == [0, 0, 0, 1, 0, 1, 1]
    np.testing.assert_array_equal(obs["ap_load"], [1, 0])
    np.testing.assert_array_equal(obs["ue_degree"], [0, 1, 0])
    np.testing.assert_array_equal(cf(env).action_masks(), obs["action_mask"].astype(bool))
    obs, reward, terminated, _, info = env.step(5)
    assert terminated and float(reward) > 0
    assert reward == pytest.approx(info["sum_rate"])
    np.testing.assert_array_equal(obs["support"], [[0, 1, 0], [0, 0, 1]])


def test_require_coverage_masks_end_until_every_ue_has_a_link() -> None:
    """END is masked while a UE is uncovered and links remain (SPEC §4.2 require_coverage)."""
    env = hand_env(require_coverage=True)
    obs, _ = env.reset(options=hand_options())
    assert obs["action_mask"][-1] == 0
    for action in (0, 1):  # UEs 0 and 1 covered, UE 2 not
        obs, *_ = env.step(action)
        assert obs["action_mask"][-1] == 0
    obs, *_ = env.step(5)  # (AP 1, UE 2): everyone covered
    assert obs["action_mask"][-1] == 1


# ---- invalid actions -------------------------------------------------------------------------


def test_raise_names_the_link_and_the_cap() -> None:
    """invalid_action="raise": the ValueError names the link and every reason it is masked.

    Caps: 2 UEs per AP, 1 AP per UE. After (AP 0, UE 0) UE 0 is full; after (AP 0, UE 1) AP 0
    is full too.
    """
    env = hand_env(invalid_action="raise", max_ues_per_ap=2, max_aps_per_ue=1)
    env.reset(options=hand_options())
    env.step(0)  # (AP 0, UE 0)
    with pytest.raises(
        ValueError,
        match=r"action 3 = link \(AP 1, UE 0\).*UE 0 is already "
        r"served by max_aps_per_ue=1 APs",
    ):
        env.step(3)
    with pytest.raises(ValueError, match=r"link \(AP 0, UE 0\).*already chosen"):
        env.step(0)
    env.step(1)  # (AP 0, UE 1): AP 0 full
    with pytest.raises(
        ValueError,
        match=r"link \(AP 0, UE 2\).*AP 0 already serves "
        r"max_ues_per_ap=2 UEs",
    ):
        env.step(2)
    # The state is untouched by the raising calls: (AP 1, UE 2) is still legal and ends it.
    _, reward, terminated, _, _ = env.step(5)
    assert terminated and float(reward) > 0


def test_raise_on_masked_end_with_require_coverage() -> None:
    env = hand_env(invalid_action="raise", require_coverage=True)
    env.reset(options=hand_options())
    with pytest.raises(ValueError, match=r"END.*require_coverage=True.*\[0, 1, 2\]"):
        env.step(6)


def test_terminate_ends_with_zero_reward() -> None:
    """invalid_action="terminate" (default): reward 0, terminated, info flag set."""
    for mode in ("terminal", "delta"):
        env = hand_env(reward_mode=mode)
        env.reset(options=hand_options())
        env.step(0)
        _, reward, terminated, truncated, info = env.step(0)  # already chosen
        assert (reward, terminated, truncated, info["invalid_action"]) == (0.0, True, False, True)


def test_ignore_leaves_the_state_unchanged() -> None:
    """invalid_action="ignore": no-op with reward 0, flag set; the time limit still counts."""
    env = hand_env(invalid_action="ignore", max_episode_steps=3)
    obs0, _ = env.reset(options=hand_options())
    obs1, *_ = env.step(0)
    obs2, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated, info["invalid_action"]) == (0.0, False, False, True)
    for key in obs1:
        np.testing.assert_array_equal(obs1[key], obs2[key])
    *_, truncated, info = env.step(0)
    assert truncated and info["invalid_action"]  # the third call hits max_episode_steps
    assert not np.array_equal(obs0["support"], obs2["support"])


@pytest.mark.parametrize(
    "action",
    [1.0, True, -1, 49, np.array([1, 2]), np.float32(3.0), "3", None, np.array([[1]])],
)
def test_malformed_action_raises(action: object) -> None:
    env = gym.make(ENV_ID, invalid_action="ignore")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_scalar_like_actions_are_accepted() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    for action in (np.int64(0), np.array(7), np.array([14]), torch.tensor(21), 28):
        _, _, terminated, _, info = env.step(action)
        assert not terminated and not info["invalid_action"]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_bs": 0}, "num_bs"),
        ({"num_ues": 2.5}, "num_ues"),
        ({"num_antennas": True}, "num_antennas"),
        ({"beamforming": "zf"}, "beamforming"),
        ({"reward_mode": "sparse"}, "reward_mode"),
        ({"invalid_action": "skip"}, "invalid_action"),
        ({"max_ues_per_ap": 0}, "max_ues_per_ap"),
        ({"max_aps_per_ue": -1}, "max_aps_per_ue"),
        ({"require_coverage": "yes"}, "require_coverage"),
        ({"scenario": "mmwave28"}, "scenario"),
        ({"tx_power_dbm": float("nan")}, "tx_power_dbm"),
        ({"area_m": 0.0}, "area_m"),
        ({"bandwidth_hz": -1.0}, "bandwidth_hz"),
        ({"wmmse_iterations": 0}, "wmmse_iterations"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"num_aps": 4}, "unknown CellFreeAssoc kwarg"),
    ],
)
def test_bad_kwargs_raise_naming_the_argument(kwargs: dict, name: str) -> None:
    with warnings.catch_warnings(), pytest.raises(ValueError, match=name):
        warnings.simplefilter("ignore", UserWarning)  # gymnasium warns about render_mode first
        gym.make(ENV_ID, **kwargs)


def test_bad_options_raise() -> None:
    env = hand_env()
    with pytest.raises(ValueError, match="unknown keys"):
        env.reset(options={"channels": hand_options()["channels"], "foo": 1})
    with pytest.raises(ValueError, match="channels"):
        env.reset(options={"channels": np.ones((2, 3, 2), dtype=np.complex64)})
    with pytest.raises(ValueError, match="complex"):
        env.reset(options={"channels": np.ones((2, 3, 1))})
    with pytest.raises(ValueError, match="noise_power"):
        env.reset(options={**hand_options(), "noise_power": np.zeros(3)})


def test_step_before_reset_raises() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        gym.make(ENV_ID, disable_env_checker=True).unwrapped.step(0)


# ---- rewards ---------------------------------------------------------------------------------


def test_terminal_and_delta_returns_agree_on_100_seeded_episodes() -> None:
    """The delta rewards telescope to the terminal reward (same actions), |Δ| ≤ 1e-5."""
    terminal, delta = gym.make(ENV_ID), gym.make(ENV_ID, reward_mode="delta")
    for seed in range(100):
        actions, total_terminal, info = random_episode(
            terminal, seed, np.random.default_rng(seed), end_probability=0.05
        )
        delta.reset(seed=seed)
        total_delta = 0.0
        for action in actions:
            _, reward, terminated, truncated, info_delta = delta.step(action)
            total_delta += float(reward)
        assert terminated or truncated
        assert total_delta == pytest.approx(total_terminal, abs=1e-5)
        assert info_delta["sum_rate"] == pytest.approx(info["sum_rate"], abs=1e-5)


def test_delta_info_tracks_the_current_support() -> None:
    """Delta mode: info["sum_rate"] after each link is the sum rate of the current support."""
    env = gym.make(ENV_ID, reward_mode="delta")
    env.reset(seed=5)
    total = 0.0
    for action in (0, 7, 20, 33):
        _, reward, _, _, info = env.step(action)
        total += float(reward)
        assert info["sum_rate"] == pytest.approx(total, abs=1e-6)
        assert info["sum_rate"] == pytest.approx(float(cf(env).evaluate()[0]), abs=1e-5)


def test_terminal_reward_recomputed_from_the_instance() -> None:
    """reward = Σ rates of rzf(channels, info["association"], joint) via ua_envs.core, and = an
    independent float64 numpy implementation of SPEC §2's joint partial RZF."""
    env = gym.make(ENV_ID)
    rng = np.random.default_rng(1)
    for seed in range(15):
        _, total, info = random_episode(env, seed, rng, end_probability=0.1)
        channels = torch.from_numpy(cf(env).channels)
        association = torch.from_numpy(info["association"])
        tx_power = torch.from_numpy(cf(env).tx_power)
        noise = torch.from_numpy(cf(env).noise_power)
        beams = rzf(channels, association, tx_power, noise, transmission="joint")
        core = float(sum_rate(channels, beams, association, noise))
        assert total == pytest.approx(core, rel=1e-5, abs=1e-5)
        reference = reference_rzf_sum_rate(
            cf(env).channels,
            info["association"],
            cf(env).tx_power,
            cf(env).noise_power,
        )
        assert total == pytest.approx(reference, rel=1e-4, abs=1e-4)


def test_wmmse_and_mrt_rewards_match_the_core() -> None:
    """beamforming="wmmse" / "mrt": the terminal reward is the core beamformer's sum rate."""
    for name in ("wmmse", "mrt"):
        env = gym.make(ENV_ID, beamforming=name, num_bs=4, num_ues=3)
        env.reset(seed=2)
        for action in (0, 4, 8, 5):
            env.step(action)
        _, reward, terminated, _, info = env.step(12)
        assert terminated
        channels = torch.from_numpy(cf(env).channels)
        association = torch.from_numpy(info["association"])
        tx_power = torch.from_numpy(cf(env).tx_power)
        noise = torch.from_numpy(cf(env).noise_power)
        if name == "wmmse":
            beams = wmmse(channels, association, tx_power, noise, transmission="joint")
        else:
            from ua_envs.core.beamforming import mrt

            beams = mrt(channels, association, tx_power)
        assert reward == pytest.approx(
            float(sum_rate(channels, beams, association, noise)), rel=1e-5
        )


def test_empty_support_has_zero_reward() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(48)
    assert (reward, terminated, info["sum_rate"]) == (0.0, True, 0.0)


def test_render_rgb_array() -> None:
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(0)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3
    env.close()


def test_render_human_headless() -> None:
    """human mode draws on reset and step (headless Agg backend in the tests) and closes."""
    env = gym.make(ENV_ID, render_mode="human", num_bs=3, num_ues=2)
    env.reset(seed=0)
    env.step(0)
    env.step(6)  # END: the title shows the sum rate
    env.close()
    env.close()  # closing twice is safe


@pytest.mark.parametrize("value", [float("nan"), -5.0, 5.0])
def test_evaluate_rejects_an_association_outside_zero_one(value: float) -> None:
    """A NaN or out-of-range association is a ValueError, not a NaN/garbage sum rate."""
    env = hand_env()
    env.reset(options=hand_options())
    association = np.zeros((2, 3))
    association[0, 0] = value
    with pytest.raises(ValueError, match="association"):
        cf(env).evaluate(association)


def test_simulator_evaluate_validates_shape_batch_and_values() -> None:
    env = hand_env()
    env.reset(options=hand_options())
    sim, state = cf(env).sim, cf(env).state
    with pytest.raises(ValueError, match=r"entries must lie in \[0, 1\]"):
        sim.evaluate(state, torch.full((1, 2, 3), 5))
    with pytest.raises(ValueError, match="association has batch 2"):
        sim.evaluate(state, torch.ones(2, 2, 3))
    with pytest.raises(ValueError, match="association must have shape"):
        sim.evaluate(state, torch.ones(1, 3, 2))
    # (M, K) broadcasts; a bool association equals its float version.
    ones = torch.ones(2, 3)
    assert torch.equal(sim.evaluate(state, ones), sim.evaluate(state, ones.bool()[None]))
