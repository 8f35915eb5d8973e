"""The fronthaul simulator on hand-built instances (reward, loads, scaling heuristic by hand) and
the scaling heuristic's feasibility over 1,000 random instances."""

from __future__ import annotations

import math

import pytest
import torch

from ua_envs.envs.contract import ChannelInstance, Outcome
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
    instance = ChannelInstance(
        channels=torch.eye(2, dtype=torch.complex64).reshape(2, 2, 1),
        tx_power=torch.ones(2),
        noise_power=torch.ones(2),
    )
    return sim.reset(torch.Generator().manual_seed(0), {"instance": instance}, batch_size=1)


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
    instance = ChannelInstance(
        channels=torch.tensor([[[1.0, 0.0], [0.0, 0.5]]], dtype=torch.complex64),
        tx_power=1.0,
        noise_power=0.01,
    )
    state = sim.reset(torch.Generator().manual_seed(0), {"instance": instance})
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
        plain = sim.score(state, association, enforce_fronthaul=None)
        scaled = sim.score(state, association, enforce_fronthaul="scale")
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
    assert isinstance(result, Outcome)
    result.reward.sum().backward()
    assert relaxed.grad is not None and bool(torch.isfinite(relaxed.grad).all())


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"enforce_fronthaul": "scale", "capacity_mbps": 40.0, "reward_mode": "penalty"}],
)
def test_evaluate_is_what_step_scores(kwargs: dict[str, object]) -> None:
    """One physics: evaluate (the Outcome), score (the config's enforcement) and step agree."""
    sim = FronthaulSimulator(FronthaulConfig(multipliers=0.4, **kwargs), batch_size=8)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(1)
    state = sim.reset(generator)
    association = torch.rand(8, 8, 4, generator=generator) < 0.5
    outcome = sim.evaluate(state, association)
    scored = sim.score(state, association, enforce_fronthaul=sim.config.enforce_fronthaul)
    new, reward, _ = sim.step(state, association)
    info = sim.info(new)
    torch.testing.assert_close(outcome.reward, reward)
    torch.testing.assert_close(scored.reward, reward)
    torch.testing.assert_close(outcome.rates, info["rates"])
    torch.testing.assert_close(outcome.association, association.float())
    for key in ("wsr", "sum_rate", "fronthaul_load_mbps", "fronthaul_violation", "beam_scale"):
        torch.testing.assert_close(outcome.metrics[key], info[key])
    assert torch.equal(outcome.metrics["feasible"], info["feasible"])
    assert torch.equal(outcome.metrics["aps_per_ue"], info["aps_per_ue"].float())


def test_evaluate_with_given_beams_projects_them_to_the_power_budget() -> None:
    """beams=2·MRT direction is projected back to full power: the MRT outcome; gradients flow
    to the beams."""
    sim = FronthaulSimulator(FronthaulConfig(), batch_size=3)
    state = sim.reset(torch.Generator().manual_seed(2))
    association = torch.ones(3, 8, 4)
    mrt_outcome = sim.evaluate(state, association)
    beams = (2.0 * state.channels).clone().requires_grad_(True)
    given = sim.evaluate(state, association, beams=beams)
    torch.testing.assert_close(given.reward, mrt_outcome.reward, rtol=1e-5, atol=1e-5)
    given.reward.sum().backward()
    assert beams.grad is not None and bool(torch.isfinite(torch.view_as_real(beams.grad)).all())
    with pytest.raises(ValueError, match="beams"):
        sim.evaluate(state, association, beams=torch.ones(3, 8, 4, 2))  # not complex
    with pytest.raises(ValueError, match="beams"):
        sim.evaluate(state, association, beams=state.channels[:, :, :3])
    with pytest.raises(ValueError, match="beams has batch 2"):
        sim.evaluate(state, association, beams=state.channels[:2])


def test_multipliers_are_the_simulators_and_recorded_in_the_state() -> None:
    """μ set after a reset applies to the next decision; state.multipliers records it."""
    sim = _sim(capacity_mbps=5.0)
    state = _two_link_instance(sim)
    torch.testing.assert_close(state.multipliers, torch.zeros(1, 2))
    sim.set_multipliers([1.0, 2.0])
    new, reward, _ = sim.step(state, torch.eye(2, dtype=torch.bool)[None])
    assert float(reward[0]) == pytest.approx(0.5, abs=1e-5)  # as in test_reward_by_hand
    torch.testing.assert_close(sim.info(new)["multipliers"], torch.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="multipliers"):
        sim.set_multipliers(3e38)
    with pytest.raises(ValueError, match=r"valid: 'instance', 'multipliers'"):
        sim.reset(torch.Generator(), {"multiplier": 1.0})


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
    result = sim.evaluate(state, relaxed)
    result.metrics["wsr"].sum().backward()
    assert result.metrics["wsr"].shape == (1,) and relaxed.grad is not None


def test_make_config_rejects_unknown_kwargs() -> None:
    assert make_config({"num_bs": 2}).num_bs == 2
    with pytest.raises(ValueError, match=r"unknown FronthaulAssoc kwarg.*bogus"):
        make_config({"bogus": 1})
