"""beamforming="agent": the action carries the beams (MultiCellAssoc, FronthaulAssoc)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.core import beamforming, signal
from ua_envs.wrappers import FlatAgentAction

MULTICELL_IDS = ("MultiCellAssoc-v0", "MultiCellAssocBalanced-v0")


def parts(beams: torch.Tensor) -> np.ndarray:
    """(..., N) complex → (..., N, 2) float32 real/imaginary parts."""
    return torch.view_as_real(beams.resolve_conj()).numpy().astype(np.float32)


def nearest_bs(obs: dict[str, np.ndarray]) -> np.ndarray:
    return obs["gain_db"].argmax(axis=0).astype(np.int64)


def one_hot(action: np.ndarray, num_bs: int) -> np.ndarray:
    association = np.zeros((num_bs, action.size), dtype=np.float32)
    association[action, np.arange(action.size)] = 1.0
    return association


@pytest.mark.parametrize("env_id", MULTICELL_IDS)
def test_multicell_agent_mode_with_mrt_beams_equals_mrt(env_id: str) -> None:
    """Given the MRT beams of the served association, the agent mode scores exactly what
    beamforming="mrt" scores (the env projects them to the BSs' power: a no-op for MRT)."""
    for seed in range(3):
        mrt_env = gym.make(env_id, num_ues=6, beamforming="mrt")
        agent_env = gym.make(env_id, num_ues=6, beamforming="agent")
        obs, _ = mrt_env.reset(seed=seed)
        obs_agent, _ = agent_env.reset(seed=seed)
        np.testing.assert_array_equal(obs["channel"], obs_agent["channel"])  # same instance
        action = nearest_bs(obs)
        _, reward, _, _, info = mrt_env.step(action)
        u: Any = agent_env.unwrapped
        served = torch.from_numpy(info["association"])[None]  # after the balanced env's drops
        beams = beamforming.mrt(
            torch.from_numpy(u.channels)[None], served, torch.from_numpy(u.tx_power)[None]
        )[0]
        _, agent_reward, terminated, _, agent_info = agent_env.step(
            {"association": action, "beams": parts(beams)}
        )
        assert terminated
        assert agent_reward == pytest.approx(reward, rel=1e-5)
        np.testing.assert_allclose(agent_info["rates"], info["rates"], rtol=1e-4, atol=1e-6)


def test_multicell_agent_mode_scale_does_not_matter_and_matches_hand_rates() -> None:
    """Each BS's beams are rescaled to its power: multiplying them by 7 changes nothing, and
    the reward is Σ_k log2(1 + SINR_k) of the projected beams (ua_envs.core)."""
    env = gym.make("MultiCellAssoc-v0", beamforming="agent")
    obs, _ = env.reset(seed=4)
    u: Any = env.unwrapped
    rng = np.random.default_rng(0)
    raw = rng.uniform(-1, 1, size=(2, 8, 4, 2)).astype(np.float32)
    action = nearest_bs(obs)
    _, reward, _, _, _ = env.step({"association": action, "beams": raw})
    env.reset(seed=4)
    _, reward_scaled, _, _, _ = env.step({"association": action, "beams": 7.0 * raw})
    assert reward_scaled == pytest.approx(reward, rel=1e-5)
    h = torch.from_numpy(u.channels).to(torch.complex128)
    a = torch.from_numpy(one_hot(action, 2)).to(torch.float64)
    v = torch.complex(torch.from_numpy(raw[..., 0]), torch.from_numpy(raw[..., 1]))
    v = v.to(torch.complex128) * a[..., None]
    p = torch.from_numpy(u.tx_power).to(torch.float64)
    # project by hand: v_mk ← sqrt(P_m) v_mk / sqrt(Σ_j ||v_mj||²)
    norm = (v.abs() ** 2).sum(dim=(-2, -1)).sqrt()
    v = v * (p.sqrt() / norm)[:, None, None]
    noise = torch.from_numpy(u.noise_power).to(torch.float64)
    expected = float(signal.sum_rate(h, v, a, noise))
    assert reward == pytest.approx(expected, rel=1e-4)


def test_fronthaul_agent_mode_with_configured_mrt_beams_equals_mrt() -> None:
    for seed in range(3):
        mrt_env = gym.make("FronthaulAssoc-v0", beamforming="mrt")
        agent_env = gym.make("FronthaulAssoc-v0", beamforming="agent")
        obs, _ = mrt_env.reset(seed=seed)
        agent_env.reset(seed=seed)
        association = np.zeros((8, 4), dtype=np.int8)
        np.put_along_axis(association, obs["gain_db"].argsort(axis=0)[-2:], 1, axis=0)
        _, reward, _, _, info = mrt_env.step(association.reshape(-1))
        sim: Any = mrt_env.unwrapped
        beams = sim.sim.beams(sim.state, torch.from_numpy(association)[None].float())[0]
        _, agent_reward, _, _, agent_info = agent_env.step(
            {"association": association.reshape(-1), "beams": parts(beams)}
        )
        assert agent_reward == pytest.approx(reward, rel=1e-5, abs=1e-5)
        np.testing.assert_allclose(agent_info["rates"], info["rates"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("env_id", ["MultiCellAssoc-v0", "FronthaulAssoc-v0"])
def test_agent_mode_spaces_and_malformed_beams(env_id: str) -> None:
    env = gym.make(env_id, beamforming="agent")
    space = env.action_space
    assert isinstance(space, gym.spaces.Dict)
    config: Any = env.unwrapped.config  # type: ignore[attr-defined]
    m, k, n = config.num_bs, config.num_ues, config.num_antennas
    assert space["beams"].shape == (m, k, n, 2)
    assert space["beams"].dtype == np.float32
    obs, _ = env.reset(seed=0)
    assert set(obs) == set(gym.make(env_id).observation_space.spaces)  # observations unchanged
    good = space.sample()
    bad_shape = dict(good, beams=good["beams"][..., :1])
    nan = dict(good, beams=np.full_like(good["beams"], np.nan))
    for action, match in [
        (bad_shape, "beams must have shape"),
        (nan, "beams"),
        (good["association"], "dict"),
        ({"association": good["association"]}, "keys"),
    ]:
        with pytest.raises(ValueError, match=match):
            env.step(action)
    _, reward, terminated, _, _ = env.step(good)  # random legal Dict action works
    assert terminated and np.isfinite(reward)
    with pytest.raises(ValueError, match="agent"):  # no beamformer of its own
        env.reset(seed=0)
        env.unwrapped.evaluate(np.ones((m, k), dtype=np.float32))  # type: ignore[attr-defined]


@pytest.mark.parametrize("env_id", ["MultiCellAssoc-v0", "FronthaulAssoc-v0"])
def test_vector_env_agent_mode_matches_single_envs(env_id: str) -> None:
    """The vector env takes a dict of tensors; sub-env i scores what a single env reset with
    seed + i scores for the same action."""
    n = 3
    envs = gym.make_vec(env_id, n, vectorization_mode="vector_entry_point", beamforming="agent")
    envs.reset(seed=10)
    single = gym.make(env_id, beamforming="agent")
    single.action_space.seed(1)
    actions = [single.action_space.sample() for _ in range(n)]
    batched = {
        "association": torch.as_tensor(np.stack([a["association"] for a in actions])),
        "beams": torch.as_tensor(np.stack([a["beams"] for a in actions])),
    }
    _, reward, terminated, _, _ = envs.step(batched)
    assert bool(terminated.all())
    for i, action in enumerate(actions):
        single.reset(seed=10 + i)
        _, expected, _, _, _ = single.step(action)
        assert float(reward[i]) == pytest.approx(expected, rel=1e-4, abs=1e-5)
    with pytest.raises(ValueError, match="beams"):
        envs.step({"association": batched["association"], "beams": batched["beams"][:, :1]})


def test_unknown_beamforming_names_agent() -> None:
    with pytest.raises(ValueError, match="agent"):
        gym.make("MultiCellAssoc-v0", beamforming="learned")


@pytest.mark.parametrize("env_id", ["MultiCellAssoc-v0", "FronthaulAssoc-v0"])
def test_flat_agent_action_wrapper(env_id: str) -> None:
    env = FlatAgentAction(gym.make(env_id, beamforming="agent"))
    inner = env.unwrapped.config  # type: ignore[attr-defined]
    m, k, n = inner.num_bs, inner.num_ues, inner.num_antennas
    assert env.action_space.shape == (m * k + m * k * n * 2,)
    flat = np.zeros(env.action_space.shape, dtype=np.float32)
    scores = np.full((m, k), -0.5, dtype=np.float32)
    scores[m - 1, :] = 0.5  # every UE to the last transmitter
    flat[: m * k] = scores.reshape(-1)
    flat[m * k :] = 0.25
    mapped = env.action(flat)
    if env_id.startswith("MultiCell"):
        np.testing.assert_array_equal(mapped["association"], np.full(k, m - 1))
    else:
        expected = np.zeros((m, k), dtype=np.int8)
        expected[m - 1] = 1
        np.testing.assert_array_equal(mapped["association"], expected.reshape(-1))
    np.testing.assert_array_equal(mapped["beams"], np.full((m, k, n, 2), 0.25, np.float32))
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(flat)
    assert terminated and np.isfinite(reward)
    with pytest.raises(ValueError, match="shape"):
        env.action(flat[:-1])
    with pytest.raises(ValueError, match="agent"):
        FlatAgentAction(gym.make(env_id))


def test_sb3_ppo_learns_on_the_flat_wrapper() -> None:
    sb3 = pytest.importorskip("stable_baselines3")
    env = FlatAgentAction(gym.make("FronthaulAssoc-v0", beamforming="agent"))
    model = sb3.PPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(256)
    action, _ = model.predict(env.reset(seed=0)[0], deterministic=True)
    assert env.action_space.contains(action)


@pytest.mark.parametrize(
    ("env_id", "names"),
    [
        ("MultiCellAssoc-v0", ("mrt", "zf", "rzf", "wmmse", "agent")),
        ("FronthaulAssoc-v0", ("mrt", "zf", "rzf", "wmmse", "fc_zf", "agent")),
        ("CellFreeAssoc-v0", ("mrt", "rzf", "wmmse")),
    ],
)
def test_beamforming_consumes_no_randomness(env_id: str, names: tuple[str, ...]) -> None:
    """The instances do not depend on the beamformer: after a seeded reset and a full episode,
    the next (unseeded) instances are the same for every beamformer, so compare's rows see the
    same instances whatever beams they use."""
    gains = []
    for name in names:
        env = gym.make(env_id, beamforming=name)
        obs, _ = env.reset(seed=7)
        first = obs["gain_db"].copy()
        done = False
        while not done:
            sample = env.action_space.sample()
            if "action_mask" in obs:
                legal = np.flatnonzero(obs["action_mask"])
                sample = np.int64(legal[-1])  # END when legal
            obs, _, terminated, truncated, _ = env.step(sample)
            done = terminated or truncated
        obs, _ = env.reset()
        gains.append((first, obs["gain_db"].copy()))
    for first, following in gains[1:]:
        np.testing.assert_array_equal(first, gains[0][0])
        np.testing.assert_array_equal(following, gains[0][1])


def test_pettingzoo_envs_refuse_agent_beams() -> None:
    from ua_envs.multiagent import fronthaul_assoc_v0, multicell_assoc_v0

    for module in (fronthaul_assoc_v0, multicell_assoc_v0):
        with pytest.raises(ValueError, match="PettingZoo"):
            module.parallel_env(beamforming="agent")


def test_random_policy_samples_agent_actions() -> None:
    from agents.policy import RandomPolicy

    env = gym.make("FronthaulAssoc-v0", beamforming="agent")
    obs, _ = env.reset(seed=0)
    action = RandomPolicy(env.action_space, seed=0).act(obs, env=env)
    assert env.action_space.contains(action)
    _, reward, _, _, _ = env.step(action)
    assert np.isfinite(reward)
