"""MultiCellSimulator: hand-computed rewards, overload handling, config validation, evaluate().

Hand-built instance used below (M = 2 BSs, K = 2 UEs, N = 1 antenna, P = 1 W, σ² = 1 W)::

    h[0, 0] = 1.0   h[0, 1] = 0.5      (BS 0 → UE 0, UE 1)
    h[1, 0] = 0.5   h[1, 1] = 1.0      (BS 1 → UE 0, UE 1)

With one antenna, MRT (equal power) sends ``v = sqrt(P / |U_m|) h / |h|`` to each served UE;
``mrt_proportional`` sends ``v = sqrt(P) h / ‖served channels of the BS‖``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from ua_envs.envs.multicell.sim import (
    MultiCellConfig,
    MultiCellSimulator,
    MultiCellState,
    make_config,
)


def hand_sim(**kwargs: Any) -> tuple[MultiCellSimulator, MultiCellState]:
    config = MultiCellConfig(num_bs=2, num_ues=2, num_antennas=1, **kwargs)
    sim = MultiCellSimulator(config, batch_size=1)
    channels = torch.tensor([[[[1.0 + 0j], [0.5 + 0j]], [[0.5 + 0j], [1.0 + 0j]]]])
    state = sim.state_from_instances(channels, torch.ones(1, 2), torch.ones(1, 2))
    return sim, state


def test_each_ue_to_its_own_bs_hand_computed() -> None:
    """Action [0, 1]: v00 = v11 = 1. G = [[1, .5], [.5, 1]] so SINR_k = 1 / (0.25 + 1) = 0.8,
    rate_k = log2(1.8) = 0.847997, sum 1.695994."""
    sim, state = hand_sim()
    state, reward, done = sim.step(state, torch.tensor([[0, 1]]))
    assert bool(done.all())
    assert reward.item() == pytest.approx(2 * math.log2(1.8), rel=1e-6)
    assert state.rates[0].tolist() == pytest.approx([math.log2(1.8)] * 2, rel=1e-6)
    assert state.association[0].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_both_on_one_bs_hand_computed() -> None:
    """Action [0, 0], equal-power MRT: BS 0 gives each UE 0.5 W along h/|h| = 1, so
    v00 = v01 = √.5. UE 0: signal |1·√.5|² = 0.5, interference |h00 v01|² = 0.5 → SINR 0.5/1.5;
    UE 1: signal |.5·√.5|² = 0.125, interference |h01 v00|² = 0.125 → SINR 0.125/1.125."""
    sim, state = hand_sim()
    _, reward, _ = sim.step(state, torch.tensor([[0, 0]]))
    expected = math.log2(1 + 0.5 / 1.5) + math.log2(1 + 0.125 / 1.125)
    assert reward.item() == pytest.approx(expected, rel=1e-5)


def test_both_on_one_bs_hand_computed_mrt_proportional() -> None:
    """Action [0, 0], beamforming="mrt_proportional" (the MRT before issue #12): BS 0 splits 1 W
    over h00 = 1, h01 = .5 in proportion to |h|²: v00 = 1/√1.25, v01 = .5/√1.25.
    UE 0: signal 0.8, interference |h00 v01|² = 0.2 → SINR 0.8/1.2; UE 1: signal |.5·.5/√1.25|²
    = 0.05, interference |.5/√1.25|² = 0.2 → SINR 0.05/1.2."""
    sim, state = hand_sim(beamforming="mrt_proportional")
    _, reward, _ = sim.step(state, torch.tensor([[0, 0]]))
    expected = math.log2(1 + 0.8 / 1.2) + math.log2(1 + 0.05 / 1.2)
    assert reward.item() == pytest.approx(expected, rel=1e-5)
    outcome = sim.evaluate(state, torch.tensor([[[1.0, 1.0], [0.0, 0.0]]]))
    assert outcome.reward.item() == pytest.approx(expected, rel=1e-5)


def test_drop_keeps_strongest_ue_and_reports_the_overload() -> None:
    """load_limit = 1, action [0, 0]: BS 0 keeps UE 0 (gain 1 > 0.25) and drops UE 1; UE 0 then
    gets the full power, SINR 1, rate 1; UE 1 rate 0."""
    sim, state = hand_sim(load_limit=1, overload="drop")
    state, reward, _ = sim.step(state, torch.tensor([[0, 0]]))
    info = sim.info(state)
    assert reward.item() == pytest.approx(1.0, rel=1e-6)
    assert info["rates"][0].tolist() == pytest.approx([1.0, 0.0], abs=1e-6)
    assert info["dropped"][0].tolist() == [False, True]
    assert info["association"][0].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert info["load"][0].tolist() == [2.0, 0.0]
    assert bool(info["violation"][0]) and info["excess"][0].item() == 1.0


def test_penalty_subtracts_weighted_excess() -> None:
    """overload="penalty", weight 0.5: reward = sum rate of [0, 0] − 0.5 · (2 − 1)."""
    sim, state = hand_sim(load_limit=1, overload="penalty", penalty_weight=0.5)
    state, reward, _ = sim.step(state, torch.tensor([[0, 0]]))
    expected = math.log2(1 + 0.5 / 1.5) + math.log2(1 + 0.125 / 1.125)
    assert reward.item() == pytest.approx(expected - 0.5, rel=1e-5)
    assert sim.info(state)["penalty"].item() == pytest.approx(0.5)


def test_overload_none_only_reports() -> None:
    sim, state = hand_sim(load_limit=1, overload="none")
    state, reward, _ = sim.step(state, torch.tensor([[0, 0]]))
    expected = math.log2(1 + 0.5 / 1.5) + math.log2(1 + 0.125 / 1.125)
    assert reward.item() == pytest.approx(expected, rel=1e-5)
    assert bool(sim.info(state)["violation"][0])


def test_zero_channel_gives_zero_rate_and_finite_observation() -> None:
    """A UE with h = 0 everywhere: rate 0, gain_db floored at -300 dB, nothing NaN."""
    config = MultiCellConfig(num_bs=2, num_ues=2, num_antennas=1)
    sim = MultiCellSimulator(config)
    channels = torch.tensor([[[[1.0 + 0j], [0j]], [[0.5 + 0j], [0j]]]])
    state = sim.state_from_instances(channels, torch.ones(1, 2), torch.ones(1, 2))
    obs = sim.observe(state)
    assert obs["gain_db"][0, :, 1].tolist() == [-300.0, -300.0]
    state, reward, _ = sim.step(state, torch.tensor([[0, 1]]))
    assert state.rates[0, 1].item() == 0.0
    assert torch.isfinite(reward).all()


def test_observation_is_noise_normalised_channel() -> None:
    """channel[m, k] = [Re(h/σ), Im(h/σ)]: h = 2 + 1j, σ² = 4 → [1, 0.5]; gain 10 log10(5/4)."""
    config = MultiCellConfig(num_bs=1, num_ues=1, num_antennas=1, tx_power_dbm=30.0)
    sim = MultiCellSimulator(config)
    state = sim.state_from_instances(
        torch.tensor([[[[2.0 + 1j]]]]), torch.ones(1, 1), torch.full((1, 1), 4.0)
    )
    obs = sim.observe(state)
    assert obs["channel"][0, 0, 0].tolist() == pytest.approx([1.0, 0.5])
    assert obs["gain_db"][0, 0, 0].item() == pytest.approx(10 * math.log10(1.25), rel=1e-6)
    assert obs["tx_power_dbm"][0].tolist() == pytest.approx([30.0])


def test_evaluate_is_differentiable_for_fractional_association() -> None:
    sim = MultiCellSimulator(MultiCellConfig(), batch_size=4)
    state = sim.reset(torch.Generator().manual_seed(0))
    logits = torch.zeros(4, 2, 8, requires_grad=True)
    association = torch.softmax(logits, dim=1)  # fractional: every entry 0.5
    sum_rate = sim.evaluate(state, association).reward
    assert sum_rate.shape == (4,)
    sum_rate.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_evaluate_with_beams_and_integer_association_matches_step() -> None:
    """evaluate(one-hot) with the env's MRT equals step's reward; given beams get gradients."""
    sim = MultiCellSimulator(MultiCellConfig(), batch_size=3)
    state = sim.reset(torch.Generator().manual_seed(1))
    action = torch.randint(0, 2, (3, 8), generator=torch.Generator().manual_seed(2))
    _, reward, _ = sim.step(state, action)
    one_hot = torch.nn.functional.one_hot(action, 2).movedim(-1, -2).float()
    assert torch.allclose(sim.evaluate(state, one_hot).reward, reward, rtol=1e-5)
    beams = state.channels.clone().requires_grad_(True)
    sim.evaluate(state, one_hot, beams=beams).reward.sum().backward()
    assert beams.grad is not None and torch.isfinite(beams.grad).all()


def test_evaluate_rejects_bad_association() -> None:
    sim = MultiCellSimulator(MultiCellConfig())
    state = sim.reset(torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="association"):
        sim.evaluate(state, torch.ones(3, 8))
    with pytest.raises(ValueError, match="association"):
        sim.evaluate(state, torch.full((2, 8), 1.5))
    with pytest.raises(ValueError, match="association has batch 3"):
        sim.evaluate(state, torch.full((3, 2, 8), 0.5))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_ues": 0}, "num_ues"),
        ({"num_bs": -1}, "num_bs"),
        ({"num_antennas": 1.5}, "num_antennas"),
        ({"tx_power_dbm": float("nan")}, "tx_power_dbm"),
        ({"tx_power_dbm": float("-inf")}, "tx_power_dbm"),
        ({"tx_power_dbm": 1e4}, "tx_power_dbm"),
        ({"bandwidth_hz": -1.0}, "bandwidth_hz"),
        ({"noise_figure_db": -3.0}, "noise_figure_db"),
        ({"beamforming": "mmse"}, "beamforming"),
        ({"scenario": "umi_typo"}, "scenario"),
        ({"scenario": object()}, "scenario"),
        ({"penalty_weight": 1e38}, "penalty_weight"),
        ({"area_m": 1e40}, "area_m"),
        ({"num_ues": 10**12}, "num_ues"),
        ({"num_bs": 4096, "num_ues": 4096, "num_antennas": 8}, "num_antennas"),
        ({"scenario": "cellfree_umi", "num_paths": 3}, "num_paths"),
        ({"load_limit": 0}, "load_limit"),
        ({"load_limit": "antennas"}, "load_limit"),
        ({"overload": "clip"}, "overload"),
        ({"penalty_weight": -1.0}, "penalty_weight"),
        ({"outage": 1}, "outage"),
        ({"num_user": 3}, "num_user"),
    ],
)
def test_bad_config_raises_value_error_naming_it(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        make_config(kwargs)


def test_load_limit_num_antennas_resolves_to_n() -> None:
    assert MultiCellConfig(num_antennas=6, load_limit="num_antennas").resolved_load_limit == 6
    assert MultiCellConfig().resolved_load_limit is None


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (torch.zeros(1, 7, dtype=torch.long), "shape"),
        (torch.full((1, 8), 2), r"\[0, 1\]"),
        (torch.full((1, 8), -1), r"\[0, 1\]"),
        (torch.zeros(1, 8), "integer"),
    ],
)
def test_bad_action_raises(action: torch.Tensor, match: str) -> None:
    sim = MultiCellSimulator(MultiCellConfig())
    state = sim.reset(torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=match):
        sim.step(state, action)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"load_limit": 2, "overload": "drop"},
        {"load_limit": 2, "overload": "penalty"},
        {"beamforming": "mrt_proportional", "load_limit": 2},
        {"beamforming": "zf", "load_limit": 3},
        {"beamforming": "rzf"},
        {"beamforming": "wmmse"},
    ],
)
def test_numpy_state_steps_like_torch_and_like_the_core(kwargs: dict[str, Any]) -> None:
    """The single env steps a numpy copy of the state: same outcome as the torch state, and
    the reward is the core's sum rate of the served association (MRT, either form, from its
    Gram factors: the fast path equals the core beamformer)."""
    from ua_envs.core import beamforming, signal
    from ua_envs.envs.base import state_to_numpy

    sim = MultiCellSimulator(MultiCellConfig(num_bs=3, num_ues=7, **kwargs), batch_size=32)
    gen = torch.Generator().manual_seed(5)
    state = sim.reset(gen)
    action = torch.randint(0, 3, (32, 7), generator=gen)
    torch_out = sim.outcome(state, action)
    numpy_out = sim.outcome(state_to_numpy(state), action.numpy())
    for t, n in zip(torch_out, numpy_out, strict=True):
        assert isinstance(n, np.ndarray) and n.dtype == t.numpy().dtype
        np.testing.assert_allclose(n, t.numpy(), rtol=2e-5, atol=1e-6)
    served, *_, rates, _ = torch_out
    beamformer = getattr(beamforming, sim.config.beamforming)
    if sim.config.beamforming in ("mrt", "mrt_proportional"):
        beams = beamformer(state.channels, served, state.tx_power)
    else:
        beams = beamformer(state.channels, served, state.tx_power, state.noise_power)
    core_rates = signal.rates(state.channels, beams, served, state.noise_power)
    torch.testing.assert_close(rates, core_rates, rtol=2e-4, atol=1e-5)
