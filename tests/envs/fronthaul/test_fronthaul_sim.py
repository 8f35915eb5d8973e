"""The fronthaul simulator on hand-built instances (reward, loads, scaling heuristic by hand) and
the scaling heuristic's feasibility over 1,000 random instances."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from ua_envs.envs.fronthaul.sim import (
    SCALE_FACTOR,
    FronthaulConfig,
    FronthaulSimulator,
    FronthaulState,
    make_config,
    parse_association,
)


def _two_link_instance(sim: FronthaulSimulator) -> FronthaulState:
    """M = K = 2, N = 1: AP m reaches only UE m with h = 1; P = 1 W, σ² = 1 W."""
    state = sim.reset(torch.Generator().manual_seed(0), batch_size=1)
    channels = torch.eye(2, dtype=torch.complex64).reshape(1, 2, 2, 1)
    return dataclasses.replace(
        state,
        channels=channels,
        served_channels=channels,
        tx_power=torch.ones(1, 2),
        noise_power=torch.ones(1, 2),
    )


def _sim(**kwargs: object) -> FronthaulSimulator:
    config = FronthaulConfig(num_bs=2, num_ues=2, num_antennas=1, **kwargs)  # type: ignore[arg-type]
    return FronthaulSimulator(config, batch_size=1)


@pytest.mark.parametrize(
    ("capacity", "mode", "expected"),
    [
        # rate_k = log2(1 + 1) = 1 bit/s/Hz, load_m = 10 Mbit/s; e_m = (10 - C) / 10.
        # C = 5: e = (0.5, 0.5) -> 2 - (1·0.5 + 2·0.5) = 0.5 (both modes).
        (5.0, "lagrangian", 0.5),
        (5.0, "penalty", 0.5),
        # C = 20: e = (-1, -1) -> lagrangian 2 - (-1 - 2) = 5, penalty 2 - 0 = 2.
        (20.0, "lagrangian", 5.0),
        (20.0, "penalty", 2.0),
    ],
)
def test_reward_by_hand(capacity: float, mode: str, expected: float) -> None:
    sim = _sim(capacity_mbps=capacity, multipliers=[1.0, 2.0], reward_mode=mode)
    state = _two_link_instance(sim)
    new, reward, terminated = sim.step(state, torch.eye(2, dtype=torch.bool)[None])
    assert bool(terminated[0])
    assert float(reward[0]) == pytest.approx(expected, abs=1e-5)
    info = sim.info(new)
    torch.testing.assert_close(info["rates"], torch.ones(1, 2))
    torch.testing.assert_close(info["fronthaul_load_mbps"], torch.full((1, 2), 10.0))
    violation = max(0.0, 10.0 - capacity)
    torch.testing.assert_close(info["fronthaul_violation"], torch.full((1, 2), violation))
    assert bool(info["feasible"][0]) == (capacity >= 10.0)


def test_scaling_heuristic_by_hand() -> None:
    """C = 5 Mbit/s needs rate ≤ 0.5, i.e. SINR = s² ≤ 2^0.5 − 1 = 0.4142, s ≤ 0.6436:
    0.9^4 = 0.6561 is not enough, 0.9^5 = 0.59049 is; rate = log2(1 + 0.59049²) = 0.43129."""
    sim = _sim(capacity_mbps=5.0, enforce_fronthaul="scale")
    state = _two_link_instance(sim)
    new, _, _ = sim.step(state, torch.eye(2, dtype=torch.bool)[None])
    info = sim.info(new)
    torch.testing.assert_close(info["beam_scale"], torch.full((1, 2), SCALE_FACTOR**5))
    expected_rate = math.log2(1 + SCALE_FACTOR**10)
    torch.testing.assert_close(info["rates"], torch.full((1, 2), expected_rate))
    assert bool(info["feasible"][0])
    assert torch.equal(info["association"], torch.eye(2, dtype=torch.bool)[None])


def test_scaling_picks_the_weakest_ue_of_the_overloaded_ap() -> None:
    """One AP (N = 2, P = 1 W, σ² = 0.01 W) serves orthogonal UEs h_0 = [1, 0] (strong) and
    h_1 = [0, 0.5] (weak). MRT: SINR_0 = 0.8/0.01 = 80 (6.33985 bit/s/Hz), SINR_1 =
    0.05/0.01 = 5 (2.58496); load 89.25 Mbit/s > C = 70. Only UE 1 is scaled (no interference,
    so UE 0 is unaffected) until 6.33985 + log2(1 + 5 s²) ≤ 7: s = 0.9^10 gives 0.6851 (too
    much), s = 0.9^11 gives log2(1 + 5 · 0.9^22) = 0.57760."""
    config = FronthaulConfig(
        num_bs=1, num_ues=2, num_antennas=2, capacity_mbps=70.0, enforce_fronthaul="scale"
    )
    sim = FronthaulSimulator(config)
    state = sim.reset(torch.Generator().manual_seed(0))
    channels = torch.tensor([[[[1.0, 0.0], [0.0, 0.5]]]], dtype=torch.complex64)
    state = dataclasses.replace(
        state, channels=channels, tx_power=torch.ones(1, 1), noise_power=torch.full((1, 2), 0.01)
    )
    new, _, _ = sim.step(state, torch.ones(1, 1, 2, dtype=torch.bool))
    info = sim.info(new)
    torch.testing.assert_close(info["beam_scale"], torch.tensor([[1.0, SCALE_FACTOR**11]]))
    torch.testing.assert_close(
        info["rates"], torch.tensor([[math.log2(81.0), math.log2(1 + 5 * SCALE_FACTOR**22)]])
    )
    assert bool(info["feasible"][0])


@pytest.mark.parametrize("beamforming", ["mrt", "fc_zf"])
def test_scale_enforcement_feasible_on_1000_random_instances(beamforming: str) -> None:
    """Every AP within capacity after scaling, for Bernoulli(0.5) and all-ones associations at
    C = 40 Mbit/s (the tightest capacity of [EGAT]'s sweep)."""
    config = FronthaulConfig(capacity_mbps=40.0, beamforming=beamforming)
    sim = FronthaulSimulator(config, batch_size=1000)
    generator = torch.Generator().manual_seed(0)
    state = sim.reset(generator)
    random_assoc = torch.rand(1000, 8, 4, generator=generator) < 0.5
    for association in (random_assoc, torch.ones(1000, 8, 4, dtype=torch.bool)):
        plain = sim.evaluate(state, association, enforce_fronthaul=None)
        scaled = sim.evaluate(state, association, enforce_fronthaul="scale")
        assert bool((plain.load_bps > sim.capacity_bps).any())  # the test is not vacuous
        assert bool((scaled.load_bps <= sim.capacity_bps).all())
        assert bool((scaled.beam_scale <= 1.0).all() and (scaled.beam_scale >= 0.0).all())
        # Scaling one UE down can raise others' rates (less interference), not the mean here.
        assert float(scaled.wsr.mean()) < float(plain.wsr.mean())
        assert bool(torch.isfinite(scaled.reward).all())


def test_evaluate_is_differentiable_for_relaxed_associations() -> None:
    sim = FronthaulSimulator(FronthaulConfig(), batch_size=4)
    state = sim.reset(torch.Generator().manual_seed(0))
    relaxed = torch.full((4, 8, 4), 0.5, requires_grad=True)
    result = sim.evaluate(state, relaxed)
    result.reward.sum().backward()
    assert relaxed.grad is not None and bool(torch.isfinite(relaxed.grad).all())


def test_parse_association_shapes_and_values() -> None:
    flat = torch.tensor([[1, 0, 0, 1, 1, 1]])
    parsed = parse_association(flat, 1, 3, 2)
    assert parsed.tolist() == [[[True, False], [False, True], [True, True]]]
    with pytest.raises(ValueError, match="shape"):
        parse_association(flat, 2, 3, 2)
    with pytest.raises(ValueError, match="0 or 1"):
        parse_association(torch.tensor([[1, 0, 0, 1, 1, 3]]), 1, 3, 2)


@pytest.mark.parametrize(
    ("association", "match"),
    [
        (torch.tensor([[[float("nan"), 1.0], [0.0, 1.0]]]), "association"),
        (torch.tensor([[[-5.0, 1.0], [0.0, 1.0]]]), r"association entries must lie in \[0, 1\]"),
        (torch.tensor([[[5, 1], [0, 1]]]), r"association entries must lie in \[0, 1\]"),
        (torch.ones(3, 2, 2), "association has batch 3"),
        (torch.ones(1, 2, 3), "association must have shape"),
    ],
)
def test_evaluate_rejects_bad_association(association: torch.Tensor, match: str) -> None:
    sim = _sim()
    state = _two_link_instance(sim)
    with pytest.raises(ValueError, match=match):
        sim.evaluate(state, association)


def test_evaluate_broadcasts_an_unbatched_association_and_keeps_gradients() -> None:
    """(M, K) broadcasts to the batch; a float association stays differentiable."""
    sim = _sim()
    state = _two_link_instance(sim)
    relaxed = torch.full((2, 2), 0.5, requires_grad=True)
    result = sim.evaluate(state, relaxed, enforce_fronthaul=None)
    result.wsr.sum().backward()
    assert result.wsr.shape == (1,) and relaxed.grad is not None


def test_make_config_rejects_unknown_kwargs() -> None:
    assert make_config({"num_bs": 2}).num_bs == 2
    with pytest.raises(ValueError, match=r"unknown FronthaulAssoc kwarg.*bogus"):
        make_config({"bogus": 1})
