"""MultiCellAssoc-v0 / MultiCellAssocBalanced-v0 as Gymnasium envs: API, determinism, rewards
recomputed from the exposed instance, bad input, rendering, and SB3 compatibility."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env, data_equivalence

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.core import beamforming, sum_rate
from ua_envs.envs.multicell.env import MultiCellAssocEnv
from ua_envs.testing import check_ua_env

IDS = ("MultiCellAssoc-v0", "MultiCellAssocBalanced-v0")


def make(env_id: str, **kwargs: Any) -> Any:
    """``gym.make`` typed loosely (the tests use the env's extra attributes)."""
    return gym.make(env_id, **kwargs)


@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_check_env_without_warnings(env_id: str) -> None:
    env = make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_check_ua_env(env_id: str) -> None:
    check_ua_env(make(env_id), skip_render_check=True)


def test_check_ua_env_with_rendering_and_options() -> None:
    check_ua_env(
        make("MultiCellAssoc-v0", render_mode="rgb_array", beamforming="zf", num_ues=4),
        episodes=2,
    )


@pytest.mark.parametrize("env_id", IDS)
def test_stable_baselines3_check_env(env_id: str) -> None:
    """SB3's checker passes; its only remarks are about the SPEC's multi-dim observation boxes."""
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(make(env_id))
    for w in caught:
        text = str(w.message)
        assert "shape" in text or "image" in text or "dtype" in text, text


def test_ppo_trains_2000_steps() -> None:
    from stable_baselines3 import PPO

    env = make("MultiCellAssocBalanced-v0")
    model = PPO(
        "MultiInputPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0, device="cpu"
    )
    model.learn(total_timesteps=2000)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action)


def _episodes(env: gym.Env, seed: int, count: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    out = []
    obs, _ = env.reset(seed=seed)
    for _ in range(count):
        action = rng.integers(0, 2, size=8)
        out.append((obs, *env.step(action)))
        obs, _ = env.reset()
    return out


@pytest.mark.parametrize("env_id", IDS)
def test_determinism_20_episodes_two_envs(env_id: str) -> None:
    """Two envs with the same seed: identical observations, rewards and infos, 20 episodes."""
    first = _episodes(make(env_id), 7, 20)
    second = _episodes(make(env_id), 7, 20)
    assert data_equivalence(first, second, exact=True)
    other = _episodes(make(env_id), 8, 20)
    assert not np.array_equal(first[0][0]["channel"], other[0][0]["channel"])
    # Consecutive episodes are different instances.
    assert not np.array_equal(first[0][0]["channel"], first[1][0]["channel"])


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("MultiCellAssoc-v0", {}),
        ("MultiCellAssoc-v0", {"beamforming": "mrt_proportional"}),
        ("MultiCellAssoc-v0", {"beamforming": "zf"}),
        ("MultiCellAssoc-v0", {"beamforming": "rzf", "num_bs": 3}),
        ("MultiCellAssoc-v0", {"beamforming": "wmmse", "num_ues": 4}),
        ("MultiCellAssocBalanced-v0", {}),
        ("MultiCellAssocBalanced-v0", {"beamforming": "zf"}),
    ],
)
def test_reward_recomputed_from_exposed_instance(env_id: str, kwargs: dict[str, Any]) -> None:
    """channels / tx_power / noise_power + info["association"] (as served) → the reward."""
    env = make(env_id, **kwargs)
    base = env.unwrapped
    beamformers = {
        "mrt": lambda h, a, p, s: beamforming.mrt(h, a, p),
        "mrt_proportional": lambda h, a, p, s: beamforming.mrt_proportional(h, a, p),
        "zf": beamforming.zf,
        "rzf": beamforming.rzf,
        "wmmse": beamforming.wmmse,
    }
    name = str(kwargs.get("beamforming", "mrt"))
    dropped_seen = False
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        num_ues = obs["gain_db"].shape[1]
        action = np.zeros(num_ues, dtype=np.int64)  # everyone on BS 0: overloads when limited
        _, reward, terminated, truncated, info = env.step(action)
        assert terminated and not truncated
        h = torch.from_numpy(base.channels)
        p = torch.from_numpy(base.tx_power)
        s = torch.from_numpy(base.noise_power)
        a = torch.from_numpy(info["association"])
        beams = beamformers[name](h, a, p, s)
        recomputed = float(sum_rate(h, beams, a, s))
        assert reward == pytest.approx(recomputed, rel=1e-4, abs=1e-5)
        assert info["sum_rate"] == pytest.approx(reward, rel=1e-6)
        dropped_seen |= bool(info["dropped"].any())
        assert h.dtype == torch.complex64 and h.shape == (*obs["gain_db"].shape, h.shape[-1])
    assert dropped_seen == (env_id == "MultiCellAssocBalanced-v0")


def test_balanced_env_serves_at_most_n_per_bs() -> None:
    env = make("MultiCellAssocBalanced-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.zeros(8, dtype=np.int64))
    assert info["association"].sum(axis=1).tolist() == [4.0, 0.0]
    assert info["load"].tolist() == [8.0, 0.0]
    assert info["violation"] is True and info["excess"] == 4.0
    assert int(info["dropped"].sum()) == 4
    assert (info["rates"][info["dropped"]] == 0).all()


def test_info_contract() -> None:
    env = make("MultiCellAssoc-v0")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.arange(8) % 2)
    assert set(info) >= {"sum_rate", "rates", "association", "load", "violation", "dropped"}
    assert info["rates"].shape == (8,) and info["association"].shape == (2, 8)
    assert info["load"].shape == (2,) and info["dropped"].shape == (8,)
    assert isinstance(info["violation"], bool) and info["violation"] is False
    assert reward == pytest.approx(float(info["rates"].sum()), rel=1e-5)
    assert env.unwrapped.action_masks().shape == (16,)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.zeros(7, dtype=np.int64), "shape"),
        (np.zeros((1, 8), dtype=np.int64), "shape"),
        (np.full(8, 2), r"\[0, 1\]"),
        (np.full(8, -1), r"\[0, 1\]"),
        (np.zeros(8, dtype=np.float32), "integer"),
    ],
)
def test_bad_action_raises_value_error(action: np.ndarray, match: str) -> None:
    env = make("MultiCellAssoc-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_ues": 0}, "num_ues"),
        ({"tx_power_dbm": float("nan")}, "tx_power_dbm"),
        ({"tx_power_dbm": -1e9}, "tx_power_dbm"),
        ({"beamforming": "magic"}, "beamforming"),
        ({"load_limit": -2}, "load_limit"),
    ],
)
def test_bad_kwargs_raise_value_error(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        make("MultiCellAssoc-v0", **kwargs)


def test_unknown_render_mode_raises() -> None:
    with pytest.raises(ValueError, match="render_mode"):
        MultiCellAssocEnv(render_mode="ascii")


def test_step_before_reset_and_twice_raise() -> None:
    env = make("MultiCellAssoc-v0").unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(8, dtype=np.int64))
    env.reset(seed=0)
    env.step(np.zeros(8, dtype=np.int64))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(8, dtype=np.int64))


def test_rgb_render_before_and_after_the_decision() -> None:
    env = make("MultiCellAssocBalanced-v0", render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    env.step(np.zeros(8, dtype=np.int64))
    after = env.render()
    assert before.shape == after.shape and before.shape[2] == 3 and before.dtype == np.uint8
    assert not np.array_equal(before, after)  # association lines and rates drawn
    env.close()


def test_human_render_headless_is_silent() -> None:
    env = make("MultiCellAssoc-v0", render_mode="human")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(seed=0)
        assert env.render() is None
        env.step(np.zeros(8, dtype=np.int64))
    env.close()
    env.close()


def test_env_evaluate_matches_reward() -> None:
    env = make("MultiCellAssoc-v0")
    env.reset(seed=3)
    _, reward, _, _, info = env.step(np.arange(8) % 2)
    value = env.unwrapped.evaluate(torch.from_numpy(info["association"])).reward
    assert value.item() == pytest.approx(reward, rel=1e-5)


def test_kwargs_reach_the_generator() -> None:
    env = make("MultiCellAssoc-v0", num_bs=3, num_antennas=2, num_ues=5, tx_power_dbm=20.0)
    obs, _ = env.reset(seed=0)
    assert obs["channel"].shape == (3, 5, 4)
    assert obs["tx_power_dbm"].tolist() == pytest.approx([20.0] * 3)
    assert env.unwrapped.tx_power.tolist() == pytest.approx([0.1] * 3)
    assert env.unwrapped.noise_power.tolist() == pytest.approx([10 ** (-11.4)] * 5, rel=1e-4)
