"""Fronthaul baselines: nearest_aps, pc_wmmse (feasible by construction) and fc_zf follow their
definitions, are registered, and warn when the env's beamformer is not theirs."""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from agents.baselines.fronthaul import (
    NearestAPsPolicy,
    PartialConnectionPolicy,
    nearest_aps_association,
    partial_connection,
)
from agents.registry import make_policy, policy_names
from ua_envs.core import effective_gains
from ua_envs.core.beamforming import fc_zf
from ua_envs.envs.fronthaul.sim import FronthaulConfig, FronthaulSimulator

ENV_ID = "FronthaulAssoc-v0"


def make(**kwargs: Any) -> Any:
    """``gym.make`` typed loosely (the tests use the env's extra attributes)."""
    return gym.make(ENV_ID, **kwargs)


def test_all_baselines_registered() -> None:
    assert {"random", "nearest_aps", "pc_wmmse", "fc_zf"} <= set(policy_names(ENV_ID))


def test_random_is_bernoulli_half() -> None:
    env = make()
    policy = make_policy("random", env, seed=0)
    obs, _ = env.reset(seed=0)
    bits = np.stack([policy.act(obs, env=env) for _ in range(200)])
    assert bits.shape == (200, 32) and set(np.unique(bits)) <= {0, 1}
    assert 0.45 < bits.mean() < 0.55


def test_nearest_aps_by_hand() -> None:
    """Column k keeps its L largest gains: UE 0 -> APs 2, 0; UE 1 -> APs 1, 2."""
    gain_db = torch.tensor([[-10.0, -50.0], [-30.0, -5.0], [-1.0, -20.0]])
    assert nearest_aps_association(gain_db, 2).tolist() == [
        [True, False],
        [False, True],
        [True, True],
    ]
    assert nearest_aps_association(gain_db, 1).tolist() == [
        [False, False],
        [False, True],
        [True, False],
    ]
    with pytest.raises(ValueError, match="num_aps"):
        nearest_aps_association(gain_db, 4)


def test_nearest_aps_in_the_env_serves_each_ue_by_two_aps() -> None:
    env = make()
    policy = make_policy("nearest_aps", env)
    obs, _ = env.reset(seed=0)
    action = policy.act(obs, env=env)
    _, _, _, _, info = env.step(action)
    np.testing.assert_array_equal(info["aps_per_ue"], [2, 2, 2, 2])
    strongest = np.argsort(obs["gain_db"], axis=0)[-2:]
    for k in range(4):
        assert set(np.flatnonzero(info["association"][:, k])) == set(strongest[:, k])
    three = NearestAPsPolicy(num_aps=3).act(obs)
    assert three.reshape(8, 4).sum(0).tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize(
    ("capacity", "expected"),
    [
        # One AP (P = 1 W, σ² = 0.01 W), orthogonal UEs h_0 = [1, 0], h_1 = [0, 0.5]. Serving
        # both: rates log2(81) + log2(6) = 8.92 bit/s/Hz = 89.2 Mbit/s. Drop the weaker UE 1:
        # UE 0 alone gets log2(1 + 1/0.01) = 6.658 bit/s/Hz = 66.6 Mbit/s.
        (100.0, [[True, True]]),  # 89.2 ≤ 100: nothing dropped
        (70.0, [[True, False]]),  # 66.6 ≤ 70 after dropping UE 1
        (60.0, [[False, False]]),  # 66.6 > 60: UE 0 is dropped too (drop-only, no backoff)
    ],
)
def test_partial_connection_by_hand(capacity: float, expected: list[list[bool]]) -> None:
    config = FronthaulConfig(num_bs=1, num_ues=2, num_antennas=2, capacity_mbps=capacity)
    sim = FronthaulSimulator(config)
    state = sim.reset(torch.Generator().manual_seed(0))
    channels = torch.tensor([[[[1.0, 0.0], [0.0, 0.5]]]], dtype=torch.complex64)
    state = dataclasses.replace(
        state, channels=channels, tx_power=torch.ones(1, 1), noise_power=torch.full((1, 2), 0.01)
    )
    assert partial_connection(sim, state).tolist() == [expected]
    assert math.log2(1 + 1 / 0.01) * 10 == pytest.approx(66.58, abs=0.01)


@pytest.mark.parametrize("capacity", [40.0, 90.0])
def test_pc_feasible_on_1000_instances_in_the_vector_env(capacity: float) -> None:
    """pc_wmmse's rule, run through the env's simulator, ends feasible on 100 % of 1,000
    instances when the env serves its association (MRT beams here: the WMMSE check follows)."""
    envs = gym.make_vec(
        ENV_ID, 1000, vectorization_mode="vector_entry_point", capacity_mbps=capacity
    )
    envs.reset(seed=0)
    inner: Any = envs.unwrapped
    association = partial_connection(inner.sim, inner.state)
    _, _, _, _, infos = envs.step(association.reshape(1000, -1))
    info = infos["final_info"]
    assert bool(info["feasible"].all())
    assert float(info["aps_per_ue"].float().mean()) > 0.3  # not the trivial empty association


def test_pc_wmmse_policy_is_feasible_with_wmmse_beams() -> None:
    """With beamforming="wmmse" (the paper's PC-WMMSE) the policy's association is feasible
    when the env serves it (a few instances: WMMSE costs ~0.2 s per call on one CPU thread)."""
    envs = gym.make_vec(
        ENV_ID, 6, vectorization_mode="vector_entry_point", beamforming="wmmse", capacity_mbps=60.0
    )
    envs.reset(seed=3)
    inner: Any = envs.unwrapped
    association = partial_connection(inner.sim, inner.state)
    _, _, _, _, infos = envs.step(association.reshape(6, -1))
    assert bool(infos["final_info"]["feasible"].all())

    env = make(beamforming="wmmse", capacity_mbps=60.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matching beamformer: no warning
        policy = make_policy("pc_wmmse", env)
    obs, _ = env.reset(seed=5)
    _, _, _, _, info = env.step(policy.act(obs, env=env))
    assert info["feasible"]


def test_pc_policy_needs_the_env() -> None:
    env = make()
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="env"):
        PartialConnectionPolicy().act(obs)


def test_fc_zf_serves_everyone_with_zero_interference() -> None:
    """fc_zf = all-ones; in an env with beamforming="fc_zf" the beams are the core's FC-ZF, so
    inter-user interference vanishes and the most loaded AP uses exactly its power."""
    env = make(beamforming="fc_zf")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy = make_policy("fc_zf", env)
    obs, _ = env.reset(seed=2)
    action = policy.act(obs, env=env)
    np.testing.assert_array_equal(action, np.ones(32, dtype=np.int8))
    _, _, _, _, info = env.step(action)
    np.testing.assert_array_equal(info["aps_per_ue"], [8, 8, 8, 8])
    u = env.unwrapped
    channels = torch.as_tensor(u.channels).to(torch.complex128)[None]
    tx_power = torch.as_tensor(u.tx_power, dtype=torch.float64)[None]
    beams = fc_zf(channels, tx_power)
    ap_power = (beams.abs() ** 2).sum(dim=(-2, -1))[0]
    assert float(ap_power.max()) == pytest.approx(float(tx_power.max()), rel=1e-9)
    gains = effective_gains(channels, beams, torch.ones(1, 8, 4, dtype=torch.float64))[0]
    power = gains.abs() ** 2
    off = power - torch.diag(torch.diag(power))
    assert float(off.max()) < 1e-6 * float(torch.diag(power).min())
    noise = torch.as_tensor(u.noise_power, dtype=torch.float64)
    rates = torch.log2(1 + torch.diag(power) / noise)
    np.testing.assert_allclose(info["rates"], rates.numpy(), rtol=1e-3)


@pytest.mark.parametrize(("name", "expected"), [("pc_wmmse", "wmmse"), ("fc_zf", "fc_zf")])
def test_mismatched_beamformer_is_refused(name: str, expected: str) -> None:
    """The method is defined with its beamformer: an env built with another one is refused
    (the spec can override it: NAME@beamforming=mrt)."""
    with pytest.raises(ValueError, match=f"beamforming={expected!r}"):
        make_policy(name, make())
    make_policy(f"{name}@beamforming=mrt", make())
