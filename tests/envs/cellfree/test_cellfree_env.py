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
    hand_instance,
    hand_options,
    random_episode,
    reference_restricted_rzf_sum_rate,
    reference_rzf_sum_rate,
)

from ua_envs.core import sum_rate
from ua_envs.core.beamforming import mrt, rzf, rzf_restricted, wmmse
from ua_envs.core.channels.generators import CellFreeUmi
from ua_envs.envs.contract import ChannelInstance, Outcome
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


def test_registered_without_time_limit_and_spaces() -> None:
    """The id carries no max_episode_steps (episodes end by themselves at every size); spaces
    match docs/model.md §4.2."""
    env = gym.make(ENV_ID)
    assert env.spec is not None and env.spec.max_episode_steps is None
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
    """END is masked while a UE is uncovered and links remain (require_coverage, docs/model.md
    §4.2)."""
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
        ({"scenario": "nosuch"}, "scenario"),
        ({"scenario": object()}, "scenario"),
        ({"scenario": "mmwave28", "height_difference_m": 5.0}, "height_difference_m"),
        ({"tx_power_dbm": float("nan")}, "tx_power_dbm"),
        ({"correlated_shadowing": 1}, "correlated_shadowing"),
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
    channels = hand_instance().channels
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) 'channels'.*valid: 'inst"):
        env.reset(options={"channels": channels})  # the pre-contract way
    with pytest.raises(ValueError, match=r"unknown reset option.*'foo'"):
        env.reset(options={**hand_options(), "foo": 1})
    with pytest.raises(ValueError, match="must be a ChannelInstance"):
        env.reset(options={"instance": channels})
    with pytest.raises(ValueError, match=r"instance\.channels must have shape"):
        env.reset(options={"instance": ChannelInstance(np.ones((2, 3, 2), dtype=np.complex64))})
    with pytest.raises(ValueError, match="complex"):
        env.reset(options={"instance": ChannelInstance(np.ones((2, 3, 1)))})
    with pytest.raises(ValueError, match="noise_power"):
        env.reset(options={"instance": ChannelInstance(channels, noise_power=np.zeros(3))})


def test_instance_defaults_and_batch_broadcast() -> None:
    """A ChannelInstance without powers takes the config's; the vector env plays it in every
    sub-env (and in autoresets)."""
    env = hand_env(tx_power_dbm=30.0, bandwidth_hz=1e6, noise_figure_db=0.0)
    env.reset(options={"instance": ChannelInstance(hand_instance().channels)})
    np.testing.assert_allclose(cf(env).tx_power, [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(cf(env).noise_power, 10 ** ((-174 + 60 - 30) / 10), rtol=1e-4)
    vec = gym.make_vec(
        ENV_ID, 3, vectorization_mode="vector_entry_point", num_bs=2, num_ues=3, num_antennas=1
    )
    obs, _ = vec.reset(seed=0, options=hand_options())
    single, _ = hand_env().reset(options=hand_options())
    for row in range(3):
        np.testing.assert_array_equal(obs["gain_db"][row].numpy(), single["gain_db"])
    obs, *_ = vec.step(np.full(3, 6))  # END everywhere: autoreset replays the instance
    np.testing.assert_array_equal(obs["gain_db"][2].numpy(), single["gain_db"])


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
        outcome = cf(env).evaluate(cf(env).support)
        assert info["sum_rate"] == pytest.approx(float(outcome.reward[0]), abs=1e-5)


def test_terminal_reward_recomputed_from_the_instance() -> None:
    """reward = Σ rates of rzf(channels, info["association"], joint) via ua_envs.core, and = an
    independent float64 numpy implementation of docs/model.md §2's joint partial RZF."""
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


def test_terminal_reward_recomputed_rzf_restricted() -> None:
    """beamforming="rzf_restricted" (the cell-free RZF before issue #12): reward = Σ rates of
    the core's rzf_restricted and of an independent numpy implementation."""
    env = gym.make(ENV_ID, beamforming="rzf_restricted")
    rng = np.random.default_rng(2)
    for seed in range(8):
        _, total, info = random_episode(env, seed, rng, end_probability=0.1)
        args = (cf(env).channels, info["association"], cf(env).tx_power, cf(env).noise_power)
        h, a, p, s = (torch.from_numpy(x) for x in args)
        core = float(sum_rate(h, rzf_restricted(h, a, p, s), a, s))
        assert total == pytest.approx(core, rel=1e-5, abs=1e-5)
        assert total == pytest.approx(reference_restricted_rzf_sum_rate(*args), rel=1e-4, abs=1e-4)


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
            beams = mrt(channels, association, tx_power, transmission="joint")
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
    assert torch.equal(
        sim.evaluate(state, ones).reward, sim.evaluate(state, ones.bool()[None]).reward
    )
    with pytest.raises(ValueError, match="beams must be a complex tensor"):
        sim.evaluate(state, ones, beams=torch.ones(2, 3, 1))
    with pytest.raises(
        ValueError, match=r"of shape \(1, 2, 3, 1\).*got torch.complex64 \(1, 2, 3, 2\)"
    ):
        sim.evaluate(state, ones, beams=torch.ones(2, 3, 2, dtype=torch.complex64))


# ---- evaluate() and scenarios ----------------------------------------------------------------


def test_evaluate_outcome_metrics_and_given_beams() -> None:
    """evaluate returns an Outcome (reward = sum rate, loads as metrics); given beams are
    projected to each AP's power: the unnormalised channels as beams are MRT."""
    env = hand_env(beamforming="mrt")
    env.reset(options=hand_options())
    association = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 1.0]], requires_grad=True)
    outcome = cf(env).evaluate(association)
    assert isinstance(outcome, Outcome)
    assert torch.equal(outcome.reward, outcome.metrics["sum_rate"])
    assert outcome.reward.shape == (1,) and outcome.rates.shape == (1, 3)
    torch.testing.assert_close(outcome.reward, outcome.rates.sum(-1))
    assert outcome.metrics["ap_load"].tolist() == [[1.5, 2.0]]
    assert outcome.metrics["ue_degree"].tolist() == [[1.0, 1.5, 1.0]]
    outcome.reward.sum().backward()
    assert association.grad is not None
    channels = torch.from_numpy(cf(env).channels)
    given = cf(env).evaluate(association.detach(), beams=channels * 7.0)
    torch.testing.assert_close(given.reward, outcome.reward.detach())
    # The hand-computed MRT sum rate (see test_hand_instance_mrt_terminal_reward).
    support = np.array([[1, 0, 0], [0, 0, 1]])
    assert float(cf(env).evaluate(support).reward[0]) == pytest.approx(1 + math.log2(5), rel=1e-6)


@pytest.mark.parametrize(
    ("scenario", "shape"), [("mmwave28", (2, 8, 8)), ("cellfree_3slope", (8, 4, 4))]
)
def test_other_registered_scenarios(scenario: str, shape: tuple) -> None:
    """scenario= takes every registered generator; the sizes default to the scenario's."""
    env = gym.make(ENV_ID, scenario=scenario)
    assert env.unwrapped.config.height_difference_m is None  # not a parameter of these
    _, total, info = random_episode(env, 0, np.random.default_rng(0))
    obs, _ = env.reset(seed=1)
    assert obs["channel"].shape == shape
    assert np.isfinite(total) and total == pytest.approx(info["sum_rate"])


def test_user_generator_object() -> None:
    """scenario= takes a ChannelGenerator object; its config decides sizes and parameters."""
    env = gym.make(ENV_ID, scenario=CellFreeUmi(num_bs=3, num_ues=2, area_m=100.0))
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"].shape == (7,) and cf(env).config.area_m == 100.0
    with pytest.raises(ValueError, match="area_m cannot be set"):
        gym.make(ENV_ID, scenario=CellFreeUmi(), area_m=50.0)
    with pytest.raises(ValueError, match="num_bs=4 does not fit"):
        gym.make(ENV_ID, scenario=CellFreeUmi(), num_bs=4)


# ---- edge cases (regressions) ----------------------------------------------------------------


def test_large_instance_pays_its_terminal_reward() -> None:
    """32 APs × 32 UEs: a random legal policy (links until none is left) gets its terminal
    reward. Before, the id was registered with max_episode_steps = 49 (the default size's
    M·K + 1) and every such episode was truncated at 49 steps with return 0."""
    env = gym.make(ENV_ID, num_bs=32, num_ues=32)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    total, steps, terminated, truncated = 0.0, 0, False, False
    while not (terminated or truncated):
        links = np.flatnonzero(obs["action_mask"][:-1])
        action = int(rng.choice(links)) if links.size else 32 * 32
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        steps += 1
    assert terminated and not truncated
    assert steps == 32 * 3  # every AP full: the last link ends the episode
    assert total > 0 and total == pytest.approx(info["sum_rate"])


@pytest.mark.parametrize("reward_mode", ["terminal", "delta"])
def test_ignore_masked_forever_ends_at_the_step_cap(reward_mode: str) -> None:
    """invalid_action="ignore": a policy that repeats a masked action still terminates, after
    exactly M·K + 1 = 7 steps, and is paid the sum rate of its support (treated as END).
    Before, gym.make's registered time limit truncated it (49 steps here) with return 0."""
    env = hand_env(invalid_action="ignore", reward_mode=reward_mode)
    env.reset(options=hand_options())
    total, steps = 0.0, 0
    for _ in range(100):
        _, reward, terminated, truncated, info = env.step(0)  # legal once, then masked
        total += float(reward)
        steps += 1
        if terminated or truncated:
            break
    assert (steps, terminated, truncated, info["invalid_action"]) == (7, True, False, True)
    support = np.array([[1, 0, 0], [0, 0, 0]])
    expected = float(cf(env).evaluate(support).reward[0])
    assert expected > 0 and total == pytest.approx(expected, rel=1e-6)
    assert info["sum_rate"] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(6)


def test_vector_ignore_masked_forever_ends_at_the_step_cap() -> None:
    """The same cap in the vector env (no max_episode_steps): terminated, not truncated."""
    vec = gym.make_vec(
        ENV_ID,
        2,
        vectorization_mode="vector_entry_point",
        num_bs=2,
        num_ues=3,
        num_antennas=1,
        invalid_action="ignore",
    )
    vec.reset(seed=0)
    for step in range(7):
        _, reward, terminated, truncated, infos = vec.step(np.zeros(2, dtype=np.int64))
        assert bool(terminated.all()) == (step == 6) and not truncated.any()
    assert (reward > 0).all() and infos["_final"].all()


@pytest.mark.parametrize("end_by", ["END", "last link", "invalid"])
def test_step_after_the_end_raises(end_by: str) -> None:
    """Stepping an ended episode is a RuntimeError telling the user to reset (it used to
    return another reward)."""
    env = hand_env(max_ues_per_ap=1, max_aps_per_ue=1).unwrapped
    env.reset(options=hand_options())
    actions = {"END": [6], "last link": [1, 5], "invalid": [0, 0]}[end_by]
    for action in actions:
        *_, terminated, _, _ = env.step(action)
    assert terminated
    with pytest.raises(RuntimeError, match=r"call reset\(\)"):
        env.step(6)
    env.reset(options=hand_options())  # and reset() starts over
    env.step(6)


@pytest.mark.parametrize(("name", "value"), [("shadowing_std_db", 200.0), ("tx_power_dbm", 400.0)])
def test_values_that_overflowed_are_rejected(name: str, value: float) -> None:
    """shadowing_std_db=200 made NaN rewards and tx_power_dbm=400 inf ones: now out of the
    generator config's physical bounds, a ValueError naming the argument at gym.make."""
    with pytest.raises(ValueError, match=name):
        gym.make(ENV_ID, **{name: value})
