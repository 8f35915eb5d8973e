"""Formula checks of the 28 GHz mmWave model (SPEC §3.1) at several distances.

``tests/core/test_channels.py`` samples the LOS probability at d = 67.1 m only, where
``exp(-d/67.1)`` and ``exp(-67.1/d)`` (or any function with value e^-1 there) agree. Here the
link state frequencies are checked at distances on both sides of 67.1 m, with and without the
outage state, and the path-loss slope at distances other than 100 m.

Monte Carlo tolerances are 5 binomial standard errors ``sqrt(p (1 - p) / n)`` (plus a small
absolute floor for probabilities near 0 or 1); all draws are seeded, so the tests are
deterministic.
"""

from __future__ import annotations

import math

import pytest
import torch

from ua_envs.core.channels import mmwave28_large_scale, mmwave28_path_loss_db

DISTANCES_M = (10.0, 30.0, 67.1, 150.0, 300.0)
LINKS = 20_000  # links per distance


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def binomial_tolerance(p: float, n: int) -> float:
    return 5.0 * math.sqrt(p * (1.0 - p) / n) + 1e-3


def fixed_distances(distances: tuple[float, ...]) -> torch.Tensor:
    """``(LINKS, len(distances), 1)`` float64: column m is distance ``distances[m]``."""
    row = torch.tensor(distances, dtype=torch.float64)
    return row[None, :, None].expand(LINKS, len(distances), 1).contiguous()


def p_los(d: float) -> float:
    return math.exp(-d / 67.1)


def p_out(d: float) -> float:
    return max(0.0, 1.0 - math.exp(-d / 30.0 + 5.2))


@pytest.mark.parametrize("seed", [0, 1])
def test_los_probability_at_several_distances(seed: int) -> None:
    """p_LOS(d) = exp(-d/67.1): 0.862 at 10 m, 0.639 at 30 m, 0.368 at 67.1 m, 0.107 at 150 m,
    0.0114 at 300 m (outage off: no link is in outage)."""
    large = mmwave28_large_scale(gen(seed), fixed_distances(DISTANCES_M))
    assert not bool(large.outage.any())
    frequency = large.los.double().mean(dim=(0, 2))
    for m, d in enumerate(DISTANCES_M):
        expected = p_los(d)
        assert float(frequency[m]) == pytest.approx(
            expected, abs=binomial_tolerance(expected, LINKS)
        ), f"LOS frequency at d = {d} m"


def test_los_and_outage_probabilities_with_outage() -> None:
    """With outage on: P(out) = max(0, 1 - exp(-d/30 + 5.2)) (0 below 156 m; 0.769 at 200 m,
    0.936 at 240 m) and, as in Akdeniz et al., P(LOS) = (1 - P(out)) exp(-d/67.1); a link is
    never both in outage and in LOS."""
    distances = (30.0, 120.0, 200.0, 240.0)
    large = mmwave28_large_scale(gen(2), fixed_distances(distances), outage=True)
    assert not bool((large.los & large.outage).any())
    los_frequency = large.los.double().mean(dim=(0, 2))
    out_frequency = large.outage.double().mean(dim=(0, 2))
    for m, d in enumerate(distances):
        expected_out = p_out(d)
        expected_los = (1.0 - expected_out) * p_los(d)
        assert float(out_frequency[m]) == pytest.approx(
            expected_out, abs=binomial_tolerance(expected_out, LINKS)
        ), f"outage frequency at d = {d} m"
        assert float(los_frequency[m]) == pytest.approx(
            expected_los, abs=binomial_tolerance(expected_los, LINKS)
        ), f"LOS frequency at d = {d} m"


def test_path_loss_slope_at_other_distances() -> None:
    """PL = α + 10 β log10(d): LOS 61.4 + 20 log10 d (81.4 dB at 10 m, 121.4 dB at 1 km);
    NLOS 72.0 + 29.2 log10 d (101.2 dB at 10 m, 159.6 dB at 1 km); between 10 m and 1 km the
    loss grows by 20 β dB (40 LOS, 58.4 NLOS)."""
    d = torch.tensor([10.0, 1000.0], dtype=torch.float64)
    los = mmwave28_path_loss_db(d, True)
    nlos = mmwave28_path_loss_db(d, False)
    assert los.dtype == torch.float64
    assert los.tolist() == pytest.approx([81.4, 121.4], abs=1e-9)
    assert nlos.tolist() == pytest.approx([101.2, 159.6], abs=1e-9)


def test_large_scale_mean_gain_is_minus_path_loss() -> None:
    """Per-path gain_db = -(PL(d) + ξ) with zero-mean ξ: conditioned on the link state, the mean
    over links is -PL(d) at d = 30 m (tolerance 0.3 dB; s.e. ≤ 8.7/sqrt(3 · 7 000) ≈ 0.06 dB)."""
    large = mmwave28_large_scale(gen(3), fixed_distances((30.0,)), num_paths=3)
    los = large.los[..., None].expand_as(large.path_gain_db)
    mean_los = float(large.path_gain_db[los].mean())
    mean_nlos = float(large.path_gain_db[~los].mean())
    assert mean_los == pytest.approx(-float(mmwave28_path_loss_db(30.0, True)), abs=0.3)
    assert mean_nlos == pytest.approx(-float(mmwave28_path_loss_db(30.0, False)), abs=0.3)
