"""Tests of the channel generators (SPEC §3.1–3.3): unit path-loss values, shapes, dtypes,
devices, seeded determinism, second moments, shadowing correlation, wrap-around geometry and
argument validation.

Monte Carlo tests use fixed seeds; every tolerance is stated next to the assertion together
with the standard error it is measured against (all are at least ~5 standard errors wide).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import pytest
import torch

from ua_envs.core.channels import (
    SCENARIOS,
    ChannelSample,
    cellfree_3slope,
    cellfree_3slope_from_positions,
    cellfree_umi,
    cellfree_umi_from_positions,
    correlated_shadowing_db,
    correlation_sqrt,
    cost231_hata_constant_db,
    make_channels,
    mmwave28,
    mmwave28_from_positions,
    mmwave28_large_scale,
    mmwave28_path_loss_db,
    three_slope_path_loss_db,
    ula_steering,
    umi_path_loss_db,
)
from ua_envs.core.channels.configs import (
    CellFree3SlopeConfig,
    CellFreeUmiConfig,
    MmWave28Config,
)
from ua_envs.core.channels.generators import make_generator
from ua_envs.core.channels.mmwave28 import OUTAGE_GAIN_DB, laplacian_offsets_rad

SCENARIO_NAMES = ["mmwave28", "cellfree_3slope", "cellfree_umi"]
DEFAULT_SHAPES = {  # (M, K, N) at the defaults of SPEC §3
    "mmwave28": (2, 8, 4),
    "cellfree_3slope": (8, 4, 2),
    "cellfree_umi": (8, 6, 2),
}


def gen(seed: int, device: str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def repeat_positions(points: list[list[float]], batch: int) -> torch.Tensor:
    """``(batch, P, 2)`` copies of one fixed geometry."""
    return torch.tensor(points, dtype=torch.float64).expand(batch, len(points), 2).contiguous()


def geometry(
    bs: list[list[float]], ue: list[list[float]], batch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """BS and UE positions of ``batch`` copies of one fixed geometry."""
    return repeat_positions(bs, batch), repeat_positions(ue, batch)


def sample_corr(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(torch.corrcoef(torch.stack([x.flatten(), y.flatten()]).double())[0, 1])


# ------------------------------------------------------------------------------------------
# path-loss unit values
# ------------------------------------------------------------------------------------------


def test_mmwave28_path_loss_unit_values() -> None:
    """SPEC §3.1: 61.4 + 20 log10(100) = 101.4 dB (LOS); 72.0 + 29.2 log10(100) = 130.4 (NLOS)."""
    assert float(mmwave28_path_loss_db(100.0, True)) == pytest.approx(101.4, abs=0.01)
    assert float(mmwave28_path_loss_db(100.0, False)) == pytest.approx(130.4, abs=0.01)
    both = mmwave28_path_loss_db(torch.tensor([100.0, 100.0]), torch.tensor([True, False]))
    assert both.tolist() == pytest.approx([101.4, 130.4], abs=0.01)


def test_mmwave28_path_loss_clip_and_carrier() -> None:
    """d is clipped at 1 m (log10 1 = 0: loss = α); doubling f adds 20 log10 2 = 6.0206 dB."""
    assert float(mmwave28_path_loss_db(0.3, True)) == pytest.approx(61.4, abs=1e-4)
    assert float(mmwave28_path_loss_db(0.0, False)) == pytest.approx(72.0, abs=1e-4)
    shifted = float(mmwave28_path_loss_db(100.0, True, carrier_ghz=56.0))
    assert shifted == pytest.approx(101.4 + 6.0206, abs=0.01)


def test_three_slope_constant_and_unit_values() -> None:
    """SPEC §3.2: L = 140.7151 dB; loss = -PL: 81.2 (d <= 10 m), 95.18 (50 m),
    105.72 (100 m), 130.18 (500 m).

    E.g. 100 m: 140.7151 + 35 log10(0.1) = 105.7151; 50 m: 140.7151 + 35 log10(0.05) = 95.179;
    10 m: 140.7151 + 15 log10(0.05) + 20 log10(0.01) = 81.200.
    """
    assert cost231_hata_constant_db() == pytest.approx(140.7151, abs=1e-4)
    distances = torch.tensor([1.0, 5.0, 10.0, 50.0, 100.0, 500.0], dtype=torch.float64)
    expected = [81.2, 81.2, 81.2, 95.18, 105.72, 130.18]
    assert three_slope_path_loss_db(distances).tolist() == pytest.approx(expected, abs=0.01)
    # Middle slope: 20 dB/decade between d0 and d1 (20 m -> 30 m adds 20 log10 1.5).
    mid = three_slope_path_loss_db(torch.tensor([20.0, 30.0], dtype=torch.float64))
    assert float(mid[1] - mid[0]) == pytest.approx(20 * math.log10(1.5), abs=1e-9)


def test_three_slope_continuous_at_breakpoints() -> None:
    eps = 1e-6
    for d in (10.0, 50.0):
        pair = three_slope_path_loss_db(torch.tensor([d - eps, d + eps], dtype=torch.float64))
        assert float((pair[1] - pair[0]).abs()) < 1e-4


def test_umi_path_loss_unit_value() -> None:
    """30.5 + 36.7 log10(100) = 103.9 dB; 30.5 + 36.7 = 67.2 dB at 10 m; clipped at 1 m."""
    losses = umi_path_loss_db(torch.tensor([100.0, 10.0, 0.5], dtype=torch.float64))
    assert losses.tolist() == pytest.approx([103.9, 67.2, 30.5], abs=1e-9)


# ------------------------------------------------------------------------------------------
# shapes, dtypes, devices, powers
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_shapes_and_dtypes(scenario: str, dtype: torch.dtype) -> None:
    batch = 3
    m, k, n = DEFAULT_SHAPES[scenario]
    s = make_channels(scenario, gen(0), batch, dtype=dtype)
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    assert isinstance(s, ChannelSample)
    assert s.channels.shape == (batch, m, k, n) and s.channels.dtype == dtype
    assert s.tx_power.shape == (batch, m) and s.tx_power.dtype == real
    assert s.noise_power.shape == (batch, k) and s.noise_power.dtype == real
    assert s.bs_positions.shape == (batch, m, 2) and s.bs_positions.dtype == real
    assert s.ue_positions.shape == (batch, k, 2) and s.ue_positions.dtype == real
    assert s.distances_m.shape == (batch, m, k) and s.distances_m.dtype == real
    assert s.large_scale_gain_db.shape == (batch, m, k) and s.large_scale_gain_db.dtype == real
    assert (s.batch_size, s.num_bs, s.num_ues, s.num_antennas) == (batch, m, k, n)
    for t in (s.channels, s.tx_power, s.noise_power, s.distances_m, s.large_scale_gain_db):
        assert bool(torch.isfinite(t).all())
    assert bool((s.large_scale_gain_db < 0).all())  # a gain, not a loss
    area = s.area_m
    for pos in (s.bs_positions, s.ue_positions):
        assert bool(((pos >= 0) & (pos < area)).all())


def test_custom_sizes() -> None:
    s = mmwave28(gen(0), 5, num_bs=3, num_antennas=6, num_ues=2, num_paths=1)
    assert s.channels.shape == (5, 3, 2, 6)
    s = cellfree_3slope(gen(0), 1, num_bs=1, num_antennas=1, num_ues=1)
    assert s.channels.shape == (1, 1, 1, 1)
    s = cellfree_umi(gen(0), 2, num_bs=16, num_antennas=4, num_ues=10, correlated_shadowing=True)
    assert s.channels.shape == (2, 16, 10, 4)


def test_powers_at_defaults() -> None:
    """Noise: mmwave -174 + 90 + 0 = -84 dBm = 3.981e-12 W; 3-slope -85 dBm = 3.162e-12 W;
    UMi -174 + 73.01 + 7 = -93.99 dBm = 3.990e-13 W. Tx: 30 dBm = 1 W; UMi 200 mW."""
    cases = [
        ("mmwave28", 1.0, 10 ** (-11.4)),
        ("cellfree_3slope", 1.0, 10 ** (-11.5)),
        ("cellfree_umi", 0.2, 10 ** (-17.4) * 20e6 * 10**0.7),
    ]
    for scenario, tx_w, noise_w in cases:
        s = make_channels(scenario, gen(0), 2, dtype=torch.complex128)
        assert torch.allclose(s.tx_power, torch.full_like(s.tx_power, tx_w), rtol=1e-9)
        assert torch.allclose(s.noise_power, torch.full_like(s.noise_power, noise_w), rtol=1e-9)
    assert make_channels("mmwave28", gen(0), 1).bandwidth_hz == 1e9
    assert make_channels("cellfree_umi", gen(0), 1).area_m == 400.0


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_to_device_roundtrip(scenario: str) -> None:
    s = make_channels(scenario, gen(1), 2)
    moved = s.to("cpu")
    assert moved.channels.device.type == "cpu"
    assert torch.equal(moved.channels, s.channels) and moved.area_m == s.area_m


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_generator_device_is_output_device(scenario: str) -> None:
    s = make_channels(scenario, gen(0, "cuda"), 4)
    for t in (s.channels, s.tx_power, s.noise_power, s.bs_positions, s.distances_m):
        assert t.device.type == "cuda"
    assert s.to("cpu").channels.device.type == "cpu"


# ------------------------------------------------------------------------------------------
# determinism
# ------------------------------------------------------------------------------------------


def _tensors(s: ChannelSample) -> list[torch.Tensor]:
    return [
        s.channels,
        s.tx_power,
        s.noise_power,
        s.bs_positions,
        s.ue_positions,
        s.distances_m,
        s.large_scale_gain_db,
    ]


@pytest.mark.parametrize(
    ("scenario", "kwargs"),
    [
        ("mmwave28", {}),
        ("mmwave28", {"outage": True}),
        ("cellfree_3slope", {}),
        ("cellfree_umi", {}),
        ("cellfree_umi", {"correlated_shadowing": True}),
    ],
)
def test_same_seed_identical_different_seed_different(scenario: str, kwargs: dict) -> None:
    a = make_channels(scenario, gen(7), 4, **kwargs)
    b = make_channels(scenario, gen(7), 4, **kwargs)
    c = make_channels(scenario, gen(8), 4, **kwargs)
    for x, y in zip(_tensors(a), _tensors(b), strict=True):
        assert torch.equal(x, y)
    assert not torch.equal(a.channels, c.channels)
    assert not torch.equal(a.ue_positions, c.ue_positions)


def test_global_rng_untouched() -> None:
    """Only the passed generator is used: the global torch RNG state does not move."""
    before = torch.get_rng_state()
    for name in SCENARIO_NAMES:
        make_channels(name, gen(0), 2)
    assert torch.equal(before, torch.get_rng_state())


def test_make_channels_matches_direct_call() -> None:
    assert set(SCENARIOS) == set(SCENARIO_NAMES)
    a = make_channels("cellfree_3slope", gen(3), 2, num_ues=5)
    b = cellfree_3slope(gen(3), 2, num_ues=5)
    assert torch.equal(a.channels, b.channels)


def test_outage_toggle_keeps_geometry() -> None:
    """All draws happen whether or not outage is on: same positions, and links that are not in
    outage keep their channels."""
    a = mmwave28(gen(5), 64, area_m=400.0)
    b = mmwave28(gen(5), 64, area_m=400.0, outage=True)
    assert torch.equal(a.ue_positions, b.ue_positions)
    alive = b.large_scale_gain_db > OUTAGE_GAIN_DB
    assert torch.equal(a.channels[alive], b.channels[alive])


# ------------------------------------------------------------------------------------------
# mmWave model
# ------------------------------------------------------------------------------------------


def test_ula_steering_unnormalised() -> None:
    """a(θ)_n = e^{jπ n sinθ}: at sinθ = 0.5 the phase step is π/2; ‖a‖² = N."""
    a = ula_steering(torch.tensor(math.pi / 6, dtype=torch.float64), 4)
    expected = torch.tensor([1, 1j, -1, -1j], dtype=torch.complex128)
    assert torch.allclose(a, expected, atol=1e-12)
    assert float(a.abs().square().sum()) == pytest.approx(4.0)


def test_mmwave_single_path_geometry_and_norm() -> None:
    """One path: h = α e^{jφ} a(θ_0) with sin θ_0 = Δx/d (broadside = +y). BS at (0, 0), UE at
    (30, 40): d = 50 m, sin θ_0 = 0.6, so h_n / h_0 = e^{jπ 0.6 n}, and ‖h‖² = N |α|² exactly,
    i.e. ‖h‖² = N 10^{gain_db/10}."""
    batch, n = 16, 4
    s = mmwave28_from_positions(
        gen(0),
        *geometry([[0.0, 0.0]], [[30.0, 40.0]], batch),
        num_antennas=n,
        num_paths=1,
        dtype=torch.complex128,
    )
    h = s.channels[:, 0, 0]  # (B, N)
    steps = torch.arange(n, dtype=torch.float64)
    expected_ratio = torch.polar(torch.ones(n, dtype=torch.float64), math.pi * 0.6 * steps)
    assert torch.allclose(h / h[:, :1], expected_ratio.expand(batch, n), atol=1e-9)
    norm = h.abs().square().sum(-1)
    predicted = n * 10 ** (s.large_scale_gain_db[:, 0, 0] / 10)
    assert torch.allclose(norm, predicted, rtol=1e-9)
    assert torch.allclose(s.distances_m, torch.full_like(s.distances_m, 50.0))


def test_mmwave_second_moment_matches_large_scale_gain() -> None:
    """E‖h‖² = N 10^{gain_db/10} given the large-scale draw (I = 3 paths, random phases and
    angles). The ratio ‖h‖²/(N 10^{gain/10}) has mean 1 and std ≈ 0.57 here, so over 20 000
    links its standard error is ≈ 0.004; tolerance 0.03 (> 7 standard errors)."""
    batch = 20_000
    s = mmwave28_from_positions(gen(1), *geometry([[0.0, 0.0]], [[30.0, 40.0]], batch))
    ratio = s.channels.abs().square().sum(-1) / (4 * 10 ** (s.large_scale_gain_db / 10))
    assert float(ratio.mean()) == pytest.approx(1.0, abs=0.03)


def test_mmwave_los_probability_and_shadowing_std() -> None:
    """At d = 67.1 m, p_LOS = e^{-1} = 0.3679 (binomial s.e. over 40 000 links ≈ 0.0024;
    tolerance 0.015). Per-path shadowing: LOS paths have gain -(101.4 + ... ) with std 5.8 dB,
    NLOS 8.7 dB (tolerance 0.25 dB, s.e. < 0.05 dB)."""
    d = 67.1
    large = mmwave28_large_scale(gen(2), torch.full((20_000, 2, 1), d), num_paths=3)
    assert float(large.los.float().mean()) == pytest.approx(math.exp(-1), abs=0.015)
    assert not bool(large.outage.any())
    mean_los = -float(mmwave28_path_loss_db(d, True))
    mean_nlos = -float(mmwave28_path_loss_db(d, False))
    los_paths = large.path_gain_db[large.los]
    nlos_paths = large.path_gain_db[~large.los]
    assert float(los_paths.mean()) == pytest.approx(mean_los, abs=0.25)
    assert float(nlos_paths.mean()) == pytest.approx(mean_nlos, abs=0.25)
    assert float(los_paths.std()) == pytest.approx(5.8, abs=0.25)
    assert float(nlos_paths.std()) == pytest.approx(8.7, abs=0.25)
    # ξ is per path: the paths of one link are (nearly) uncorrelated.
    los_links = large.path_gain_db[large.los]
    assert abs(sample_corr(los_links[:, 0], los_links[:, 1])) < 0.05


def test_laplacian_spread_rms() -> None:
    """rms of the Laplacian offsets = 10.2° (200 000 draws; s.e. of the mean square ≈ 0.5 %,
    tolerance 0.4° ≈ 4 %); zero mean."""
    x = laplacian_offsets_rad(gen(3), (200_000,), 10.2, dtype=torch.float64)
    assert math.degrees(float(x.square().mean().sqrt())) == pytest.approx(10.2, abs=0.4)
    assert abs(math.degrees(float(x.mean()))) < 0.2


def test_mmwave_outage() -> None:
    """At d = 300 m, p_out = 1 - exp(-10 + 5.2) = 0.9918: nearly all links are exactly zero with
    the -300 dB floor; at d = 100 m, p_out = max(0, 1 - e^{1.87}) = 0: no outage."""
    batch = 2_000
    far = mmwave28_from_positions(
        gen(4), *geometry([[0.0, 0.0]], [[300.0, 0.0]], batch), outage=True
    )
    dead = far.large_scale_gain_db == OUTAGE_GAIN_DB
    assert float(dead.float().mean()) == pytest.approx(0.9918, abs=0.01)
    assert bool((far.channels[dead] == 0).all())
    near = mmwave28_from_positions(
        gen(4), *geometry([[0.0, 0.0]], [[100.0, 0.0]], batch), outage=True
    )
    assert bool((near.large_scale_gain_db > OUTAGE_GAIN_DB).all())


# ------------------------------------------------------------------------------------------
# Rayleigh / cell-free models
# ------------------------------------------------------------------------------------------


def test_three_slope_rayleigh_second_moment() -> None:
    """No shadowing, AP-UE distance 100 m: E‖h‖² = N 10^{-105.7151/10}. ‖h‖²/β ~ Gamma(N, 1):
    relative s.e. over 20 000 draws is 1/sqrt(N·20 000) = 0.5 %; tolerance 3 %."""
    batch, n = 20_000, 2
    s = cellfree_3slope_from_positions(
        gen(5),
        *geometry([[100.0, 100.0]], [[200.0, 100.0]], batch),
        num_antennas=n,
        shadowing_std_db=0.0,
    )
    assert torch.allclose(s.large_scale_gain_db, torch.tensor(-105.7151), atol=1e-3)
    mean_power = float(s.channels.abs().square().sum(-1).double().mean())
    assert mean_power == pytest.approx(n * 10 ** (-10.57151), rel=0.03)
    # CN(0, I): real and imaginary parts each carry half of the power.
    g = s.channels / 10 ** (s.large_scale_gain_db[..., None] / 20)
    assert float(g.real.square().mean()) == pytest.approx(0.5, rel=0.03)
    assert abs(float(g.mean().abs())) < 0.02


def test_umi_rayleigh_second_moment_and_3d_distance() -> None:
    """UMi, planar 100 m and 10 m height: d = sqrt(100² + 10²) = 100.499 m,
    loss = 30.5 + 36.7 log10(100.499) = 103.979 dB; E‖h‖² = N 10^{-loss/10} (tolerance 3 %,
    s.e. 0.5 %)."""
    batch, n = 20_000, 2
    s = cellfree_umi_from_positions(
        gen(6), *geometry([[100.0, 100.0]], [[200.0, 100.0]], batch), shadowing_std_db=0.0
    )
    d3 = math.hypot(100.0, 10.0)
    loss = 30.5 + 36.7 * math.log10(d3)
    assert torch.allclose(s.distances_m, torch.tensor(d3), atol=1e-3)
    assert torch.allclose(s.large_scale_gain_db, torch.tensor(-loss), atol=1e-3)
    mean_power = float(s.channels.abs().square().sum(-1).double().mean())
    assert mean_power == pytest.approx(n * 10 ** (-loss / 10), rel=0.03)


def test_umi_iid_shadowing_std() -> None:
    """gain_db + loss = F ~ N(0, 4²) i.i.d. (tolerance 0.1 dB; s.e. ≈ 0.01 dB)."""
    s = cellfree_umi(gen(7), 4_000)
    shadow = s.large_scale_gain_db.double() + umi_path_loss_db(s.distances_m.double())
    assert float(shadow.std()) == pytest.approx(4.0, abs=0.1)
    assert abs(float(shadow.mean())) < 0.1
    assert abs(sample_corr(shadow[:, 0, 0], shadow[:, 0, 1])) < 0.05


def test_three_slope_shadowing_only_beyond_d1() -> None:
    """d = 30 m <= d1 = 50 m: no shadowing, gain is exactly -loss; d = 200 m: shadowed with
    std 8 dB (tolerance 0.3 dB; s.e. ≈ 0.06 dB over 10 000 draws)."""
    batch = 10_000
    s = cellfree_3slope_from_positions(
        gen(8), *geometry([[100.0, 100.0], [300.0, 300.0]], [[130.0, 100.0]], batch)
    )
    near, far = s.large_scale_gain_db[:, 0, 0], s.large_scale_gain_db[:, 1, 0]
    expected_near = -float(three_slope_path_loss_db(30.0))
    assert torch.allclose(near, torch.tensor(expected_near), atol=1e-3)
    far_shadow = far.double() + float(three_slope_path_loss_db(float(s.distances_m[0, 1, 0])))
    assert float(far_shadow.std()) == pytest.approx(8.0, abs=0.3)


def test_shadowing_correlation_matches_exponential_model() -> None:
    """E[z z'] = 2^{-d/d_dc} (d_dc = 100 m). Two APs 100 m apart (δ = 1: z = a): 0.5; two UEs
    50 m apart (δ = 0: z = b): 2^{-0.5} = 0.7071; mixed with δ = 0.5, z_{0,0} vs z_{1,1}:
    0.5·0.5 + 0.5·0.7071 = 0.6036. 20 000 draws: s.e. of a sample correlation ≤ 0.006;
    tolerance 0.03."""
    batch = 20_000
    bs = repeat_positions([[100.0, 200.0], [200.0, 200.0]], batch)
    ue = repeat_positions([[300.0, 300.0], [350.0, 300.0]], batch)
    common: dict[str, Any] = {"area_m": 500.0, "shadowing_std_db": 8.0}
    ap_only = correlated_shadowing_db(gen(9), bs, ue, shadowing_delta=1.0, **common)
    assert sample_corr(ap_only[:, 0, 0], ap_only[:, 1, 0]) == pytest.approx(0.5, abs=0.03)
    assert float(ap_only.std()) == pytest.approx(8.0, abs=0.2)
    ue_only = correlated_shadowing_db(gen(10), bs, ue, shadowing_delta=0.0, **common)
    assert sample_corr(ue_only[:, 0, 0], ue_only[:, 0, 1]) == pytest.approx(2**-0.5, abs=0.03)
    mixed = correlated_shadowing_db(gen(11), bs, ue, shadowing_delta=0.5, **common)
    assert sample_corr(mixed[:, 0, 0], mixed[:, 1, 1]) == pytest.approx(0.6036, abs=0.03)
    assert float(mixed.std()) == pytest.approx(8.0, abs=0.2)


def test_shadowing_correlation_uses_wraparound_distance() -> None:
    """APs at x = 10 and x = 490 in a 500 m square are 20 m apart on the torus:
    2^{-20/100} = 0.8706 (planar 480 m would give 0.036). Tolerance 0.03."""
    batch = 20_000
    bs = repeat_positions([[10.0, 250.0], [490.0, 250.0]], batch)
    ue = repeat_positions([[250.0, 250.0]], batch)
    z = correlated_shadowing_db(gen(12), bs, ue, area_m=500.0, shadowing_delta=1.0)
    assert sample_corr(z[:, 0, 0], z[:, 1, 0]) == pytest.approx(2**-0.2, abs=0.03)


def test_umi_correlated_shadowing_over_ues() -> None:
    """Book model: per AP, E[F_k F_k'] = σ² 2^{-d/9 m}; UEs 9 m apart -> 0.5; different APs
    independent. Tolerance 0.03 (s.e. ≤ 0.007 over 20 000 draws)."""
    batch = 20_000
    s = cellfree_umi_from_positions(
        gen(13),
        *geometry([[50.0, 50.0], [300.0, 300.0]], [[200.0, 200.0], [209.0, 200.0]], batch),
        correlated_shadowing=True,
    )
    shadow = s.large_scale_gain_db.double() + umi_path_loss_db(s.distances_m.double())
    assert sample_corr(shadow[:, 0, 0], shadow[:, 0, 1]) == pytest.approx(0.5, abs=0.03)
    assert abs(sample_corr(shadow[:, 0, 0], shadow[:, 1, 0])) < 0.03
    assert float(shadow.std()) == pytest.approx(4.0, abs=0.1)


def test_correlation_sqrt_coincident_points_fallback() -> None:
    """Two identical positions make C singular; with no jitter the Cholesky fails and the
    eigen-decomposition fallback still gives F Fᵀ = C (all ones)."""
    pos = torch.tensor([[[5.0, 5.0], [5.0, 5.0], [60.0, 5.0]]], dtype=torch.float64)
    f = correlation_sqrt(pos, decorrelation_distance_m=100.0, jitter=0.0)
    c = f @ f.mT
    assert bool(torch.isfinite(f).all())
    assert float(c[0, 0, 1]) == pytest.approx(1.0, abs=1e-9)
    assert float(c[0, 0, 2]) == pytest.approx(2 ** (-55 / 100), abs=1e-9)
    # Default jitter: the Cholesky path; correlations change by at most 1e-6.
    f2 = correlation_sqrt(pos, decorrelation_distance_m=100.0)
    assert torch.allclose(f2 @ f2.mT, c + 1e-6 * torch.eye(3, dtype=torch.float64), atol=1e-9)


# ------------------------------------------------------------------------------------------
# wrap-around geometry
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["cellfree_3slope", "cellfree_umi"])
def test_wraparound_distances(scenario: str) -> None:
    """Planar wrap-around distance never exceeds side/√2 and equals the minimum over the 3×3
    tiling (brute force)."""
    s = make_channels(scenario, gen(14), 256, dtype=torch.complex128)
    side = s.area_m
    shifts = torch.tensor(
        [[i * side, j * side] for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=torch.float64
    )
    diff = s.bs_positions[:, :, None, None, :] - (
        s.ue_positions[:, None, :, None, :] + shifts
    )  # (B, M, K, 9, 2)
    brute = diff.norm(dim=-1).amin(-1)
    planar = s.distances_m
    if scenario == "cellfree_umi":
        planar = torch.sqrt((s.distances_m.square() - 10.0**2).clamp_min(0.0))
    assert torch.allclose(planar, brute, atol=1e-6)
    assert float(planar.max()) <= side / math.sqrt(2) + 1e-9


def test_mmwave_distances_planar_no_wrap() -> None:
    s = mmwave28(gen(15), 64, dtype=torch.complex128)
    planar = (s.bs_positions[:, :, None] - s.ue_positions[:, None]).norm(dim=-1).clamp_min(1.0)
    assert torch.allclose(s.distances_m, planar)


# ------------------------------------------------------------------------------------------
# SNR sanity (SPEC §3.3)
# ------------------------------------------------------------------------------------------


def test_umi_strongest_link_snr_median_in_range() -> None:
    """Median over UEs and draws of max_m N β P / σ² at the UMi defaults lies in [0, 30] dB
    (measured ≈ 23.8 dB over 100 000 draws; 5 000 draws here)."""
    s = cellfree_umi(gen(16), 5_000, dtype=torch.complex128)
    beta = 10 ** (s.large_scale_gain_db / 10)
    snr = (s.num_antennas * beta * s.tx_power[..., None] / s.noise_power[:, None, :]).amax(1)
    median_db = float(10 * torch.log10(snr).median())
    assert 0.0 <= median_db <= 30.0
    assert median_db == pytest.approx(23.8, abs=1.0)


# ------------------------------------------------------------------------------------------
# argument validation
# ------------------------------------------------------------------------------------------


#: Invalid values of the sizes every scenario takes ...
COMMON_BAD_KWARGS = {"num_ues": 0, "num_antennas": -1, "area_m": 0.0, "bandwidth_hz": 0.0}
#: ... and, per scenario, of its own parameters (or other invalid values of the common ones).
SCENARIO_BAD_KWARGS: dict[str, dict[str, Any]] = {
    "mmwave28": {
        "num_bs": 2.5,
        "bandwidth_hz": -1.0,
        "num_paths": 0,
        "angular_spread_deg": -1.0,
        "outage": "yes",
        "carrier_ghz": 0.0,
        "tx_power_dbm": float("nan"),
        "dtype": torch.float32,
    },
    "cellfree_3slope": {
        "area_m": -5.0,
        "shadowing_delta": 1.5,
        "decorrelation_distance_m": 0.0,
        "ap_height_m": 0.0,
        "shadowing_std_db": -1.0,
    },
    "cellfree_umi": {
        "height_difference_m": -1.0,
        "correlated_shadowing": 1,
        "noise_figure_db": float("inf"),
    },
}


@pytest.mark.parametrize(
    ("scenario", "name", "value"),
    [
        (scenario, name, value)
        for scenario, own in SCENARIO_BAD_KWARGS.items()
        for name, value in {**COMMON_BAD_KWARGS, **own}.items()
    ],
)
def test_bad_kwargs_raise_value_error_naming_them(scenario: str, name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        make_channels(scenario, gen(0), 2, **{name: value})


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_bad_batch_size_and_generator(scenario: str) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        make_channels(scenario, gen(0), 0)
    with pytest.raises(ValueError, match="generator"):
        make_channels(scenario, 0, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not_a_kwarg"):
        make_channels(scenario, gen(0), 2, not_a_kwarg=1)


def test_unknown_scenario_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="scenario") as info:
        make_channels("mmwave73", gen(0), 2)
    for name in SCENARIO_NAMES:
        assert name in str(info.value)


def test_position_shape_validation() -> None:
    with pytest.raises(ValueError, match="bs_positions"):
        mmwave28_from_positions(gen(0), torch.zeros(2, 3, 3), torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match="batch size"):
        cellfree_umi_from_positions(gen(0), torch.zeros(2, 3, 2), torch.zeros(3, 4, 2))


# ------------------------------------------------------------------------------------------
# configs: the single source of parameters, defaults and bounds
# ------------------------------------------------------------------------------------------

SAMPLERS = {  # scenario -> (config class, function, *_from_positions function)
    "mmwave28": (MmWave28Config, mmwave28, mmwave28_from_positions),
    "cellfree_3slope": (CellFree3SlopeConfig, cellfree_3slope, cellfree_3slope_from_positions),
    "cellfree_umi": (CellFreeUmiConfig, cellfree_umi, cellfree_umi_from_positions),
}


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_functions_take_config_fields_and_no_defaults_but_dtype(scenario: str) -> None:
    """Defaults live only in the config: the functions' signatures default nothing but dtype."""
    for function in SAMPLERS[scenario][1:]:
        defaults = {
            name
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is not inspect.Parameter.empty
        }
        assert defaults == {"dtype"}, function.__name__
    config = SAMPLERS[scenario][0]()
    s = make_channels(scenario, gen(0), 1)
    assert (s.area_m, s.bandwidth_hz) == (config.area_m, config.bandwidth_hz)
    assert s.channels.shape[1:] == (config.num_bs, config.num_ues, config.num_antennas)


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_unknown_parameter_names_it_and_the_valid_ones(scenario: str) -> None:
    _, function, from_positions = SAMPLERS[scenario]
    with pytest.raises(ValueError, match="num_uez") as info:
        function(gen(0), 2, num_uez=3)
    assert "num_ues" in str(info.value) and "area_m" in str(info.value)
    bs, ue = torch.zeros(1, 2, 2), torch.ones(1, 3, 2)
    with pytest.raises(ValueError, match="num_uez") as info:
        from_positions(gen(0), bs, ue, num_uez=3)
    assert "area_m" in str(info.value)
    for name in ("num_bs", "num_ues"):
        with pytest.raises(ValueError, match=name):
            from_positions(gen(0), bs, ue, **{name: 2})


@pytest.mark.parametrize("scenario", SCENARIO_NAMES)
def test_registered_generator_draws_like_the_function(scenario: str) -> None:
    """One code path: ``make_generator(...).sample`` equals the function with the same fields."""
    a = make_generator(scenario, num_ues=3, area_m=150.0).sample(gen(21), 2)
    b = SAMPLERS[scenario][1](gen(21), 2, num_ues=3, area_m=150.0)
    for x, y in zip(_tensors(a), _tensors(b), strict=True):
        assert torch.equal(x, y)


def test_from_positions_matches_uniform_draw() -> None:
    """The uniform draw is BS positions, UE positions, then the positions' model: replaying the
    positions on a generator advanced past them gives the same channels."""
    for scenario, (_, function, from_positions) in SAMPLERS.items():
        a = function(gen(22), 3, num_bs=2, num_ues=4)
        g = gen(22)
        torch.rand(3, 2, 2, generator=g)  # uniform_positions draws (B, P, 2) uniforms
        torch.rand(3, 4, 2, generator=g)
        b = from_positions(g, a.bs_positions, a.ue_positions)
        assert torch.equal(a.channels, b.channels), scenario


def test_config_values_are_normalised() -> None:
    """Configs store checked values as plain int/float (an int area is a float)."""
    config = CellFreeUmiConfig(area_m=300, num_ues=torch.tensor(3).item())
    assert type(config.area_m) is float and type(config.num_ues) is int
