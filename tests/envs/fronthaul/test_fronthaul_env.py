"""FronthaulAssoc-v0 as a Gymnasium env: API and checkers, determinism, info and reward recomputed
from the exposed instance, multipliers, horizon, bad input, rendering, SB3/PPO."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from env_checks import assert_malformed_action_raises
from gymnasium.utils.env_checker import check_env

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.fronthaul.env import FronthaulAssocEnv
from ua_envs.testing import check_ua_env

ENV_ID = "FronthaulAssoc-v0"


def _inner(env: gym.Env) -> FronthaulAssocEnv:
    inner = env.unwrapped
    assert isinstance(inner, FronthaulAssocEnv)
    return inner


def _mrt_rates_numpy(
    channels: np.ndarray,
    association: np.ndarray,
    tx_power: np.ndarray,
    noise_power: np.ndarray,
    beam_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Joint-MRT rates recomputed in numpy float64 from the exposed instance (docs/model.md §1–2).

    ``v_mk = sqrt(P_m) x_mk h_mk / sqrt(Σ_j x_mj ‖h_mj‖²)`` (times the UE's beam scale),
    ``G[k, l] = Σ_m h_mk^H v_ml``, ``SINR_k = |G_kk|² / (Σ_{l≠k} |G_kl|² + σ_k²)``.
    """
    h = channels.astype(np.complex128)
    x = association.astype(np.float64)
    used = (x * (np.abs(h) ** 2).sum(-1)).sum(-1)  # (M,)
    scale = np.where(used > 0, np.sqrt(tx_power / np.where(used > 0, used, 1.0)), 0.0)
    v = h * (x * scale[:, None])[..., None]
    if beam_scale is not None:
        v = v * beam_scale[None, :, None]
    gains = np.einsum("mkn,mln->kl", h.conj(), v)
    power = np.abs(gains) ** 2
    signal = np.diag(power)
    interference = power.sum(-1) - signal
    return np.log2(1.0 + signal / (interference + noise_power))


def test_gymnasium_check_env_passes() -> None:
    check_env(gym.make(ENV_ID).unwrapped)


def test_gymnasium_check_env_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(ENV_ID).unwrapped, skip_render_check=True)


def test_check_ua_env() -> None:
    check_ua_env(gym.make(ENV_ID), skip_render_check=True)


def test_check_ua_env_with_rendering_horizon_and_scaling() -> None:
    check_ua_env(
        gym.make(
            ENV_ID,
            render_mode="rgb_array",
            horizon=3,
            enforce_fronthaul="scale",
            reward_mode="penalty",
            capacity_mbps=[40.0] * 4 + [90.0] * 4,
        ),
        episodes=2,
    )


def test_stable_baselines3_check_env() -> None:
    """SB3's checker passes; its only remarks are about the multi-dim observation boxes."""
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(ENV_ID))
    for w in caught:
        text = str(w.message)
        assert "shape" in text or "image" in text or "dtype" in text, text


def test_ppo_trains_2000_steps_on_multibinary() -> None:
    from stable_baselines3 import PPO

    env = gym.make(ENV_ID, multipliers=0.1)
    model = PPO(
        "MultiInputPolicy", env, n_steps=250, batch_size=50, n_epochs=1, seed=0, device="cpu"
    )
    model.learn(total_timesteps=2000)
    assert model.num_timesteps >= 2000
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(np.asarray(action, dtype=np.int8))
    _, reward, terminated, _, _ = env.step(action)
    assert terminated and math.isfinite(float(reward))


def test_spaces_and_observation_keys() -> None:
    env = gym.make(ENV_ID, num_bs=5, num_ues=3, num_antennas=4)
    assert env.action_space == gym.spaces.MultiBinary(15)
    obs, info = env.reset(seed=0)
    assert info == {}
    assert obs["channel"].shape == (5, 3, 8)
    assert obs["gain_db"].shape == (5, 3)
    assert obs["capacity_mbps"].shape == (5,)
    assert obs["weights"].shape == (3,)
    np.testing.assert_allclose(obs["capacity_mbps"], 60.0)
    np.testing.assert_allclose(obs["weights"], 1.0)
    # gain_db is the noise-normalised channel power of the channel observation.
    power = (obs["channel"].astype(np.float64) ** 2).sum(-1)
    np.testing.assert_allclose(obs["gain_db"], 10 * np.log10(power), atol=1e-3)


def test_observation_is_the_noise_normalised_channel() -> None:
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=3)
    u = _inner(env)
    h = u.channels / np.sqrt(u.noise_power)[None, :, None]
    np.testing.assert_allclose(obs["channel"][..., :2], h.real, rtol=1e-5)
    np.testing.assert_allclose(obs["channel"][..., 2:], h.imag, rtol=1e-5)


def test_seeded_reset_and_step_are_deterministic() -> None:
    a, b = gym.make(ENV_ID), gym.make(ENV_ID)
    rng = np.random.default_rng(0)
    for seed in (0, 7):
        obs_a, _ = a.reset(seed=seed)
        obs_b, _ = b.reset(seed=seed)
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        action = rng.integers(0, 2, 32)
        ra = a.step(action)
        rb = b.step(action)
        assert ra[1] == rb[1]
        np.testing.assert_array_equal(ra[4]["rates"], rb[4]["rates"])
    # Unseeded resets continue the seeded stream: the same on both envs.
    for _ in range(3):
        np.testing.assert_array_equal(a.reset()[0]["channel"], b.reset()[0]["channel"])


def test_info_load_recomputed_from_channels_and_association() -> None:
    """info["fronthaul_load_mbps"] = Σ_k x_mk · bandwidth · log2(1 + SINR_k), recomputed in
    numpy from env.unwrapped.channels/tx_power/noise_power and info["association"]."""
    env = gym.make(ENV_ID, capacity_mbps=40.0)
    rng = np.random.default_rng(1)
    for seed in range(10):
        env.reset(seed=seed)
        _, _, _, _, info = env.step(rng.integers(0, 2, 32))
        u = _inner(env)
        rates = _mrt_rates_numpy(u.channels, info["association"], u.tx_power, u.noise_power)
        np.testing.assert_allclose(info["rates"], rates, rtol=1e-4, atol=1e-5)
        load_mbps = u.bandwidth_hz * (info["association"] * rates[None, :]).sum(-1) / 1e6
        np.testing.assert_allclose(info["fronthaul_load_mbps"], load_mbps, rtol=1e-4, atol=1e-3)
        violation = np.maximum(0.0, load_mbps - 40.0)
        np.testing.assert_allclose(info["fronthaul_violation"], violation, rtol=1e-4, atol=1e-3)
        assert info["feasible"] == bool(np.all(info["fronthaul_load_mbps"] <= 40.0))
        np.testing.assert_array_equal(info["aps_per_ue"], info["association"].sum(0))
        assert info["wsr"] == pytest.approx(rates.sum(), rel=1e-4)
        assert info["sum_rate"] == pytest.approx(info["wsr"], rel=1e-6)


@pytest.mark.parametrize("reward_mode", ["lagrangian", "penalty"])
def test_reward_equals_the_lagrangian_for_the_current_multipliers(reward_mode: str) -> None:
    """reward = Σ w_k rate_k − Σ_m μ_m · e_m with e_m = (load_m − C_m)/bandwidth (lagrangian) or
    max(0, ·) (penalty); μ from the kwarg, then reset options, then the setter."""
    capacity = np.array([40.0, 50, 60, 70, 80, 90, 40, 60])
    weights = np.array([1.0, 2.0, 0.5, 1.5])
    env = gym.make(
        ENV_ID,
        capacity_mbps=capacity,
        weights=weights,
        multipliers=0.3,
        reward_mode=reward_mode,
    )
    rng = np.random.default_rng(2)
    mus = [
        np.full(8, 0.3),
        np.arange(8) / 4.0,  # via reset options
        np.array([2.0, 0, 0, 1, 0, 0, 0, 0.5]),  # via the setter
    ]
    for i, mu in enumerate(mus):
        if i == 1:
            env.reset(seed=i, options={"multipliers": mu})
        else:
            env.reset(seed=i)
            if i == 2:
                _inner(env).multipliers = mu
        np.testing.assert_allclose(_inner(env).multipliers, mu, rtol=1e-6)
        _, reward, _, _, info = env.step(rng.integers(0, 2, 32))
        excess = (info["fronthaul_load_mbps"] - capacity) * 1e6 / _inner(env).bandwidth_hz
        if reward_mode == "penalty":
            excess = np.maximum(excess, 0.0)
        wsr = float((weights * info["rates"]).sum())
        assert info["wsr"] == pytest.approx(wsr, rel=1e-5)
        assert reward == pytest.approx(wsr - float((mu * excess).sum()), rel=1e-4, abs=1e-4)
        np.testing.assert_allclose(info["multipliers"], mu, rtol=1e-6)
    # Options persist: the next episode still uses the setter's μ.
    env.reset()
    np.testing.assert_allclose(_inner(env).multipliers, mus[2], rtol=1e-6)


def test_unserved_ue_has_rate_zero_and_empty_association_is_finite() -> None:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    action = np.ones((8, 4), dtype=np.int8)
    action[:, 2] = 0  # nobody serves UE 2
    _, reward, _, _, info = env.step(action)
    assert info["rates"][2] == 0.0 and info["aps_per_ue"][2] == 0
    assert np.all(info["rates"][[0, 1, 3]] > 0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.zeros(32, dtype=np.int8))
    assert np.all(info["rates"] == 0.0) and info["feasible"]
    # Lagrangian at μ = 1 with nothing served: + Σ_m C_m / bandwidth = 8 · 60e6 / 10e6 = 48.
    assert reward == pytest.approx(48.0)


def test_scale_enforcement_keeps_association_and_reports_scaled_rates() -> None:
    env = gym.make(ENV_ID, capacity_mbps=40.0, enforce_fronthaul="scale")
    env.reset(seed=4)
    action = np.ones(32, dtype=np.int8)
    _, _, _, _, info = env.step(action)
    assert info["feasible"] and np.all(info["fronthaul_load_mbps"] <= 40.0)
    np.testing.assert_array_equal(info["association"], np.ones((8, 4), dtype=bool))
    assert np.all(info["beam_scale"] <= 1.0) and np.any(info["beam_scale"] < 1.0)
    u = _inner(env)
    rates = _mrt_rates_numpy(
        u.channels, info["association"], u.tx_power, u.noise_power, info["beam_scale"]
    )
    np.testing.assert_allclose(info["rates"], rates, rtol=1e-4, atol=1e-5)


def test_horizon_redraws_fading_and_keeps_the_deployment() -> None:
    env = gym.make(ENV_ID, horizon=3)
    obs0, _ = env.reset(seed=5)
    u = _inner(env)
    positions = (u.bs_positions, u.ue_positions, u.large_scale_gain_db)
    first = u.channels
    rng = np.random.default_rng(0)
    terminations = []
    for step in range(3):
        decided = u.channels
        _, _, terminated, _, info = env.step(rng.integers(0, 2, 32))
        terminations.append(terminated)
        np.testing.assert_array_equal(u.served_channels, decided)
        rates = _mrt_rates_numpy(u.served_channels, info["association"], u.tx_power, u.noise_power)
        np.testing.assert_allclose(info["rates"], rates, rtol=1e-4, atol=1e-5)
        for before, after in zip(
            positions, (u.bs_positions, u.ue_positions, u.large_scale_gain_db), strict=True
        ):
            np.testing.assert_array_equal(before, after)
        if step < 2:
            assert not np.array_equal(u.channels, decided)  # new fading for the next decision
    assert terminations == [False, False, True]
    assert not np.array_equal(u.channels, first)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(32, dtype=np.int8))
    # The first instance does not depend on the horizon.
    np.testing.assert_array_equal(gym.make(ENV_ID).reset(seed=5)[0]["channel"], obs0["channel"])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"capacity_mbps": 0.0}, "capacity_mbps"),
        ({"capacity_mbps": -5.0}, "capacity_mbps"),
        ({"capacity_mbps": [60.0] * 7}, "capacity_mbps"),
        ({"capacity_mbps": float("nan")}, "capacity_mbps"),
        ({"multipliers": -0.1}, "multipliers"),
        ({"multipliers": [1.0, 2.0]}, "multipliers"),
        ({"weights": [1.0, 1.0]}, "weights"),
        ({"weights": [1.0, -1.0, 1.0, 1.0]}, "weights"),
        ({"reward_mode": "sum"}, "reward_mode"),
        ({"enforce_fronthaul": "drop"}, "enforce_fronthaul"),
        ({"beamforming": "mmse"}, "beamforming"),
        ({"horizon": 0}, "horizon"),
        ({"num_bs": 0}, "num_bs"),
        ({"bandwidth_hz": 0.0}, "bandwidth_hz"),
        ({"scenario": "rayleigh"}, "scenario"),
        ({"shadowing_std_db": -1.0}, "shadowing_std_db"),
        ({"area_m": float("inf")}, "area_m"),
        ({"scenario": "cellfree_umi", "noise_power_dbm": -90.0}, "noise_power_dbm"),
        ({"scenario": "mmwave28", "shadowing_delta": 0.5}, "shadowing_delta"),
        ({"num_paths": 3}, "num_paths"),  # a mmwave28 parameter, not cellfree_3slope's
        # The untyped dict of generator kwargs is gone: the parameters are typed fields.
        ({"channel_kwargs": {"area_m": 300.0}}, r"unknown FronthaulAssoc kwarg.*channel_kwargs"),
        ({"channel_kwargs": "notadict"}, r"unknown FronthaulAssoc kwarg.*channel_kwargs"),
        ({"beamforming": "fc_zf", "num_bs": 1, "num_ues": 4}, "fc_zf"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"foo": 1}, r"unknown FronthaulAssoc kwarg.*foo"),
    ],
)
def test_bad_kwargs_raise_value_error_naming_the_argument(
    kwargs: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        FronthaulAssocEnv(**kwargs)


@pytest.mark.parametrize(
    "action",
    [
        np.zeros(31, dtype=np.int8),
        np.zeros((4, 8), dtype=np.int8),
        np.full(32, 2, dtype=np.int64),
        np.full(32, 0.5),
        np.full(32, np.nan),
        np.full(32, -1, dtype=np.int8),
        np.zeros(32, dtype=np.complex64),
        "not an action",
    ],
)
def test_malformed_action_raises_value_error(action: object) -> None:
    assert_malformed_action_raises(ENV_ID, action)


def test_action_layouts_and_dtypes_agree() -> None:
    """(M*K,) row-major over APs, (M, K), bool, int and float 0/1 give the same decision."""
    env = gym.make(ENV_ID)
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, 2, (8, 4))
    results = []
    for action in (matrix.reshape(-1), matrix, matrix.astype(bool), matrix.astype(np.float32)):
        env.reset(seed=11)
        _, reward, _, _, info = env.step(action)
        np.testing.assert_array_equal(info["association"], matrix.astype(bool))
        results.append(reward)
    assert len(set(results)) == 1


@pytest.mark.parametrize(
    ("options", "name"),
    [({"multipliers": -1.0}, "multipliers"), ({"multipliers": [1.0] * 3}, "multipliers")],
)
def test_bad_reset_options_and_setter_raise(options: dict[str, Any], name: str) -> None:
    env = gym.make(ENV_ID)
    with pytest.raises(ValueError, match=name):
        env.reset(seed=0, options=options)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=name):
        _inner(env).multipliers = options["multipliers"]


def test_exposed_instance_and_units() -> None:
    env = gym.make(ENV_ID, capacity_mbps=[10.0 * (m + 1) for m in range(8)])
    env.reset(seed=0)
    u = _inner(env)
    assert u.channels.shape == (8, 4, 2) and u.channels.dtype == np.complex64
    np.testing.assert_allclose(u.tx_power, 1.0)  # 30 dBm
    np.testing.assert_allclose(u.noise_power, 10 ** (-85 / 10) / 1000, rtol=1e-5)  # -85 dBm
    assert u.bandwidth_hz == 10e6
    np.testing.assert_allclose(u.capacity_mbps, np.arange(1, 9) * 10.0)
    assert u.beamforming == "mrt"
    # Copies: mutating them does not touch the env.
    u.channels[:] = 0
    assert np.abs(u.channels).sum() > 0


def test_render_rgb_array_before_and_after_the_decision() -> None:
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    before = np.asarray(env.render())
    env.step(np.ones(32, dtype=np.int8))
    after = np.asarray(env.render())
    assert before.shape == after.shape and before.shape[2] == 3 and before.dtype == np.uint8
    assert not np.array_equal(before, after)  # links and utilisation colours were drawn
    env.close()


@pytest.mark.parametrize("value", [float("nan"), -5.0, 5.0])
def test_evaluate_rejects_an_association_outside_zero_one(value: float) -> None:
    """env.evaluate validates the association like the simulator's step does its action."""
    env = FronthaulAssocEnv()
    env.reset(seed=0)
    association = np.zeros((8, 4))
    association[0, 0] = value
    with pytest.raises(ValueError, match="association"):
        env.evaluate(association)


# ---- typed channel parameters, edges and the contract ------------------------------------------


def test_channel_parameters_are_typed_fields_resolved_from_the_scenario() -> None:
    """None = the scenario's value, written back into the config; given values reach the draw."""
    config = FronthaulAssocEnv().config
    assert (config.num_bs, config.num_antennas, config.num_ues) == (8, 2, 4)
    assert config.area_m == 500.0 and config.noise_power_dbm == -85.0
    assert config.decorrelation_distance_m == 100.0 and config.bandwidth_hz == 10e6
    assert config.num_paths is None and config.height_difference_m is None  # not 3-slope's
    env = FronthaulAssocEnv(decorrelation_distance_m=500.0, area_m=300.0, noise_power_dbm=-90.0)
    generator_config = env.config.channel_generator.config
    assert generator_config.decorrelation_distance_m == 500.0 and generator_config.area_m == 300.0
    env.reset(seed=0)
    np.testing.assert_allclose(env.noise_power, 10 ** (-90 / 10) / 1000, rtol=1e-5)
    assert np.all(env.bs_positions < 300.0) and np.all(env.ue_positions < 300.0)
    umi = FronthaulAssocEnv(scenario="cellfree_umi", num_ues=3, noise_figure_db=9.0)
    assert umi.config.num_ues == 3 and umi.config.noise_figure_db == 9.0
    assert umi.config.noise_power_dbm is None and umi.config.bandwidth_hz == 20e6


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        # 3e38 fits float32 but the penalty μ·excess overflowed to inf (and inf − inf = NaN).
        ({"multipliers": 3e38}, "multipliers"),
        ({"multipliers": [0.0] * 7 + [1e7]}, "multipliers"),
        # 1e39 Hz became inf in the float32 loads (rates · bandwidth), then NaN rewards.
        ({"bandwidth_hz": 1e39}, "bandwidth_hz"),
        # A tiny bandwidth made C / bandwidth overflow float32 in the reward.
        ({"bandwidth_hz": 1e-30}, "bandwidth_hz"),
        # Sizes: 10**12 UEs ran out of memory at the first draw instead of a clear error.
        ({"num_ues": 10**12}, "num_ues"),
        ({"num_bs": 65_536, "num_ues": 65_536}, "num_bs"),
    ],
)
def test_edge_values_are_rejected_instead_of_overflowing(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        FronthaulAssocEnv(**kwargs)


def test_largest_accepted_multipliers_and_bandwidth_give_finite_rewards() -> None:
    env = FronthaulAssocEnv(multipliers=1e6, bandwidth_hz=1e12, capacity_mbps=1e6)
    env.reset(seed=0)
    _, reward, *_ = env.step(np.ones(32, dtype=np.int8))
    assert math.isfinite(reward)
    env = FronthaulAssocEnv(multipliers=1e6, bandwidth_hz=1.0, capacity_mbps=1e6)
    env.reset(seed=0)
    _, reward, *_ = env.step(np.zeros(32, dtype=np.int8))
    assert math.isfinite(reward) and reward == pytest.approx(8 * 1e6 * 1e12, rel=1e-5)


def test_multipliers_above_the_bound_are_rejected_by_options_and_setter() -> None:
    env = FronthaulAssocEnv()
    with pytest.raises(ValueError, match="multipliers"):
        env.reset(seed=0, options={"multipliers": 3e38})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="multipliers"):
        env.multipliers = 1e7
    env.multipliers = 1e6
    np.testing.assert_array_equal(env.multipliers, np.full(8, 1e6, dtype=np.float32))


@pytest.mark.parametrize("options", [{"seed": 3}, {"multipliers": 0.25, "typo": 2}])
def test_unknown_reset_option_raises_naming_the_valid_ones(options: dict[str, Any]) -> None:
    """Other keys were silently ignored; now they are a ValueError listing the valid keys (and
    nothing of the rejected options is applied)."""
    env = FronthaulAssocEnv()
    with pytest.raises(ValueError, match=r"valid: 'instance', 'multipliers'"):
        env.reset(seed=0, options=options)
    np.testing.assert_array_equal(env.multipliers, np.ones(8, dtype=np.float32))


def test_instance_option_plays_the_given_instance_for_every_decision() -> None:
    """M = K = 2, N = 1, AP m reaches only UE m with h = 1, P = σ² = 1 W: rate 1 bit/s/Hz."""
    from ua_envs.envs.contract import ChannelInstance

    env = FronthaulAssocEnv(num_bs=2, num_ues=2, num_antennas=1, horizon=2, capacity_mbps=5.0)
    instance = ChannelInstance(
        channels=np.eye(2, dtype=np.complex64).reshape(2, 2, 1),
        tx_power=np.ones(2),
        noise_power=np.ones(2),
    )
    obs, _ = env.reset(seed=3, options={"instance": instance, "multipliers": [1.0, 2.0]})
    np.testing.assert_array_equal(obs["gain_db"], [[0.0, -300.0], [-300.0, 0.0]])
    for _ in range(2):  # horizon 2: both decisions on the given instance
        _, reward, _, _, info = env.step(np.eye(2, dtype=np.int8))
        np.testing.assert_allclose(info["rates"], [1.0, 1.0])
        # e = (10 - 5) / 10 = 0.5 per AP: 2 − (1 · 0.5 + 2 · 0.5) = 0.5
        assert reward == pytest.approx(0.5, abs=1e-6)
    np.testing.assert_array_equal(env.served_channels, instance.channels)


def test_step_after_the_end_raises_runtime_error() -> None:
    env = FronthaulAssocEnv(horizon=2)
    env.reset(seed=0)
    assert not env.step(np.ones(32, dtype=np.int8))[2]
    assert env.step(np.ones(32, dtype=np.int8))[2]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.ones(32, dtype=np.int8))


def test_evaluate_returns_the_outcome_step_gives() -> None:
    """env.evaluate scores an association exactly as step() then does (reward, rates, info)."""
    env = FronthaulAssocEnv(capacity_mbps=40.0, enforce_fronthaul="scale", multipliers=0.3)
    env.reset(seed=4)
    matrix = np.random.default_rng(0).integers(0, 2, (8, 4)).astype(np.int8)
    outcome = env.evaluate(matrix)
    _, reward, _, _, info = env.step(matrix)
    assert float(outcome.reward[0]) == pytest.approx(reward, rel=1e-6)
    np.testing.assert_allclose(outcome.rates[0].numpy(), info["rates"], rtol=1e-6)
    np.testing.assert_array_equal(outcome.association[0].numpy(), matrix)
    for key in ("wsr", "sum_rate", "fronthaul_load_mbps", "fronthaul_violation", "beam_scale"):
        np.testing.assert_allclose(outcome.metrics[key][0].numpy(), info[key], rtol=1e-6)
    assert bool(outcome.metrics["feasible"][0]) == info["feasible"]
    np.testing.assert_array_equal(outcome.metrics["aps_per_ue"][0].numpy(), info["aps_per_ue"])
