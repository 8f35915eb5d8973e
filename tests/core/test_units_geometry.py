"""Unit conversions and deployment geometry."""

from __future__ import annotations

import math

import pytest
import torch

from ua_envs.core import geometry, units


def test_db_and_dbm_round_trip() -> None:
    assert units.dbm_to_watt(30.0) == pytest.approx(1.0)
    assert units.dbm_to_watt(0.0) == pytest.approx(1e-3)
    assert units.watt_to_dbm(0.2) == pytest.approx(23.0103, abs=1e-4)
    x = torch.tensor([-10.0, 0.0, 13.0], dtype=torch.float64)
    torch.testing.assert_close(units.linear_to_db(units.db_to_linear(x)), x)


def test_noise_power() -> None:
    """-174 dBm/Hz + 10 log10(1e9) = -84 dBm; with 20 MHz and NF 7 dB: -93.99 dBm."""
    assert units.noise_power_dbm(1e9) == pytest.approx(-84.0)
    assert units.noise_power_dbm(20e6, 7.0) == pytest.approx(-174 + 73.0103 + 7, abs=1e-4)
    assert units.noise_power_watt(1e9) == pytest.approx(10 ** (-11.4))
    with pytest.raises(ValueError, match="bandwidth_hz"):
        units.noise_power_dbm(-1.0)


def test_wraparound_distance_is_min_over_tiling() -> None:
    side = 100.0
    tx = torch.tensor([[[5.0, 5.0], [50.0, 50.0]]], dtype=torch.float64)
    rx = torch.tensor([[[95.0, 95.0], [10.0, 90.0]]], dtype=torch.float64)
    d = geometry.wraparound_distances(tx, rx, side)
    # brute force over the 9 shifted copies of the receivers
    shifts = torch.tensor(
        [[dx, dy] for dx in (-side, 0, side) for dy in (-side, 0, side)], dtype=torch.float64
    )
    brute = (tx[0, :, None, None, :] - (rx[0, None, :, None, :] + shifts)).norm(dim=-1).amin(-1)
    torch.testing.assert_close(d[0], brute)
    assert d[0, 0, 0].item() == pytest.approx(math.hypot(10, 10))


def test_uniform_positions_are_seeded_and_inside() -> None:
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    p1 = geometry.uniform_positions(g1, 16, 5, 200.0)
    p2 = geometry.uniform_positions(g2, 16, 5, 200.0)
    assert p1.shape == (16, 5, 2)
    assert torch.equal(p1, p2)
    assert bool(((p1 >= 0) & (p1 < 200.0)).all())
    assert geometry.with_height(torch.tensor([30.0]), 40.0).item() == pytest.approx(50.0)


def test_geometry_bad_input_raises_value_error_naming_argument() -> None:
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="side_m"):
        geometry.uniform_positions(g, 2, 3, 0.0)
    with pytest.raises(ValueError, match="count"):
        geometry.uniform_positions(g, 2, 0, 10.0)
    with pytest.raises(ValueError, match="generator"):
        geometry.uniform_positions(None, 2, 3, 10.0)  # type: ignore[arg-type]
    tx, rx = torch.zeros(1, 2, 2), torch.zeros(1, 3, 2)
    with pytest.raises(ValueError, match="side_m"):
        geometry.wraparound_distances(tx, rx, 0.0)
    with pytest.raises(ValueError, match="rx_positions"):
        geometry.planar_distances(tx, torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match="height_difference_m"):
        geometry.with_height(torch.ones(2), -1.0)
