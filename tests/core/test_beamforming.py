"""Tests of ua_envs.core.beamforming (docs/model.md §2): power, ZF nulling, WMMSE monotonicity,
the restricted joint RZF against a per-instance reference (the partial RZF has its own reference
in test_przf_reference.py), equal-power MRT, batching, gradients, singular channels and input
validation."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import Tensor

from ua_envs.core import beamforming as bf
from ua_envs.core.channels import mmwave28
from ua_envs.core.signal import effective_gains, rates, sinr_from_gains, sum_rate

NOISE_W = 10 ** ((-84.0 - 30.0) / 10.0)  # -84 dBm: 1 GHz, NF 0 dB (SPEC §3.1)


def _instance(
    batch: int, num_tx: int, num_ues: int, num_antennas: int, seed: int, *, spread_db: float = 30.0
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """I.i.d. Rayleigh channels with a random per-link path loss in [90, 90 + spread] dB,
    1 W per transmitter, -84 dBm noise (per-antenna SNR 24 dB down to 24 - spread dB), and a
    random one-hot association (each UE to a uniformly drawn transmitter). float64/complex128."""
    gen = torch.Generator().manual_seed(seed)
    loss_db = 90.0 + spread_db * torch.rand(
        batch, num_tx, num_ues, 1, generator=gen, dtype=torch.float64
    )
    small = torch.randn(batch, num_tx, num_ues, num_antennas, generator=gen, dtype=torch.complex128)
    channels = small * torch.sqrt(10.0 ** (-loss_db / 10.0))
    serving = torch.randint(0, num_tx, (batch, num_ues), generator=gen)
    association = torch.nn.functional.one_hot(serving, num_tx).transpose(-1, -2).to(torch.float64)
    tx_power = torch.ones(batch, num_tx, dtype=torch.float64)
    noise = torch.full((batch, num_ues), NOISE_W, dtype=torch.float64)
    return channels, association, tx_power, noise


def _tx_power_used(beams: Tensor, association: Tensor) -> Tensor:
    return (association * beams.abs().square().sum(dim=-1)).sum(dim=-1)


def _all_beamformers() -> dict[str, Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]]:
    return {
        "mrt": lambda h, a, p, s: bf.mrt(h, a, p),
        "mrt_proportional": lambda h, a, p, s: bf.mrt_proportional(h, a, p),
        "zf": lambda h, a, p, s: bf.zf(h, a, p, s),
        "rzf": lambda h, a, p, s: bf.rzf(h, a, p, s),
        "wmmse": lambda h, a, p, s: bf.wmmse(h, a, p, s, iterations=30),
        "zf_joint": lambda h, a, p, s: bf.zf(h, a, p, s, "joint"),
        "mrt_joint": lambda h, a, p, s: bf.mrt(h, a, p, transmission="joint"),
        "rzf_joint": lambda h, a, p, s: bf.rzf(h, a, p, s, "joint"),
        "rzf_restricted": lambda h, a, p, s: bf.rzf_restricted(h, a, p, s),
        "wmmse_joint": lambda h, a, p, s: bf.wmmse(h, a, p, s, iterations=30, transmission="joint"),
    }


BEAMFORMERS = _all_beamformers()
#: Joint beamformers with one common power scale (the most loaded AP at exactly P_m).
COMMON_SCALE = ("rzf_joint",)


# ----------------------------------------------------------------------------- hand-computed


def test_zf_hand_computed_orthogonal_channels() -> None:
    """M=1, N=2, K=2, h_1 = [1, 0], h_2 = [0, 2], P = 2 W, σ² = 0.5 W.

    H^H H = diag(1, 4), so ZF V = H (H^H H)^{-1} has columns [1, 0] and [0, 0.5];
    ||V||_F² = 1.25, scale² = 2 / 1.25 = 1.6: v_1 = sqrt(1.6)[1, 0], v_2 = sqrt(1.6)[0, 0.5].
    SINR_1 = 1.6 / 0.5 = 3.2, SINR_2 = |2 · 0.5|² · 1.6 / 0.5 = 3.2.
    """
    h = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]], dtype=torch.complex128)
    a = torch.ones(1, 2, dtype=torch.float64)
    beams = bf.zf(h, a, torch.tensor([2.0]), torch.tensor([0.5, 0.5]))
    expected = math.sqrt(1.6) * torch.tensor([[[1.0, 0.0], [0.0, 0.5]]], dtype=torch.complex128)
    torch.testing.assert_close(beams, expected, rtol=1e-9, atol=1e-9)
    sinr = 2.0 ** rates(h, beams, a, torch.tensor([0.5, 0.5])) - 1.0
    torch.testing.assert_close(sinr, torch.tensor([3.2, 3.2], dtype=torch.float64))


def test_mrt_proportional_single_antenna_hand_computed() -> None:
    """M=1, N=1, K=2, h = [1, 2] (one antenna), P = 5 W: channel-proportional MRT gives
    v_k ∝ h_k with Σ|v|² = 5, so v = [1, 2] (1 + 4 = 5); joint MRT is the same formula."""
    h = torch.tensor([[[1.0 + 0j], [2.0 + 0j]]], dtype=torch.complex128)
    beams = bf.mrt_proportional(h, torch.ones(1, 2), torch.tensor([5.0]))
    torch.testing.assert_close(beams, h)
    torch.testing.assert_close(
        bf.mrt(h, torch.ones(1, 2), torch.tensor([5.0]), transmission="joint"), h
    )


def test_mrt_equal_power_hand_computed() -> None:
    """Equal-power MRT, M=2, N=2, K=3. BS 0 (P = 6 W) serves UEs 0 and 1, BS 1 (P = 2 W) UE 2.

    h_{0,0} = [3, 4i] (‖h‖ = 5), h_{0,1} = [0, 1] (‖h‖ = 1), h_{1,2} = [1+1i, 1-1i] (‖h‖ = 2):
    v_{0,0} = sqrt(6/2) [0.6, 0.8i], v_{0,1} = sqrt(3) [0, 1], v_{1,2} = sqrt(2) h_{1,2} / 2.
    Each served UE's beam has power P_m/|U_m| (3, 3 and 2 W) whatever its channel strength;
    channel-proportional MRT gives UE 0 instead 6·25/26 W.
    SINR of UE 1 (σ² = 0.5 W, no inter-cell channel): |h_{0,1}^H v_{0,1}|² = 3 from its own
    beam, |h_{0,1}^H v_{0,0}|² = 3·0.64 = 1.92 interference: SINR = 3 / (1.92 + 0.5).
    """
    c128 = torch.complex128
    h = torch.zeros(1, 2, 3, 2, dtype=c128)
    h[0, 0, 0] = torch.tensor([3.0, 4.0j], dtype=c128)
    h[0, 0, 1] = torch.tensor([0.0, 1.0], dtype=c128)
    h[0, 1, 2] = torch.tensor([1 + 1j, 1 - 1j], dtype=c128)
    a = torch.tensor([[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    p = torch.tensor([[6.0, 2.0]], dtype=torch.float64)
    beams = bf.mrt(h, a, p)
    expected = torch.zeros_like(h)
    expected[0, 0, 0] = math.sqrt(3.0) * torch.tensor([0.6, 0.8j], dtype=c128)
    expected[0, 0, 1] = math.sqrt(3.0) * torch.tensor([0.0, 1.0], dtype=c128)
    expected[0, 1, 2] = math.sqrt(2.0) * torch.tensor([1 + 1j, 1 - 1j], dtype=c128) / 2.0
    torch.testing.assert_close(beams, expected, rtol=1e-12, atol=1e-12)
    power = beams.abs().square().sum(dim=-1)
    torch.testing.assert_close(
        power, torch.tensor([[[3.0, 3.0, 0.0], [0.0, 0.0, 2.0]]], dtype=torch.float64)
    )
    proportional = bf.mrt_proportional(h, a, p).abs().square().sum(dim=-1)
    assert float(proportional[0, 0, 0]) == pytest.approx(6.0 * 25.0 / 26.0)
    noise = torch.full((1, 3), 0.5, dtype=torch.float64)
    sinr = 2.0 ** rates(h, beams, a, noise) - 1.0
    assert float(sinr[0, 1]) == pytest.approx(3.0 / (1.92 + 0.5), rel=1e-12)


def test_mrt_equal_power_fractional_is_the_projection_of_unit_directions() -> None:
    """Fractional association: v_{m,k} = a_{m,k} sqrt(P_m / Σ_j a_{m,j}) h_{m,k}/‖h_{m,k}‖ (the
    §1 projection of unit-norm directions), which is the equal share for a 0/1 association; a
    served zero channel takes no share."""
    h, _, p, _ = _instance(4, 2, 5, 3, seed=44)
    h[:, 1, 4] = 0.0
    a = torch.rand(4, 2, 5, generator=torch.Generator().manual_seed(45), dtype=torch.float64)
    directions = h / h.norm(dim=-1, keepdim=True).clamp_min(1e-300)
    share = a * (h.norm(dim=-1) > 0)
    expected = (a * torch.sqrt(p / share.sum(dim=-1))[..., None]).unsqueeze(-1) * directions
    torch.testing.assert_close(bf.mrt(h, a, p), expected, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------------- power


@pytest.mark.parametrize("name", [n for n in BEAMFORMERS if n not in COMMON_SCALE])
def test_per_transmitter_power_exact(name: str) -> None:
    """Each serving transmitter uses exactly P_m (rtol 1e-5); a silent one sends nothing."""
    h, a, _, s = _instance(16, 3, 8, 4, seed=1)
    a[:, 2, :] = 0.0  # transmitter 2 serves nobody
    a[:, 0, 0] = 1.0  # transmitters 0 and 1 serve at least one UE each
    a[:, 1, 0] = 0.0
    a[:, 0, 1] = 0.0
    a[:, 1, 1] = 1.0
    p = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64).expand(16, 3)
    beams = BEAMFORMERS[name](h, a, p, s)
    assert beams.shape == h.shape and beams.dtype == h.dtype
    used = _tx_power_used(beams, a)
    torch.testing.assert_close(used[:, :2], p[:, :2], rtol=1e-5, atol=0.0)
    assert torch.all(beams[:, 2] == 0)
    # Beams of unserved (m, k) pairs are exactly zero.
    assert torch.all(beams[(a == 0).unsqueeze(-1).expand_as(beams)] == 0)


@pytest.mark.parametrize("name", list(BEAMFORMERS))
def test_zero_power_transmitter_is_silent(name: str) -> None:
    """A transmitter with P_m = 0 sends nothing even if it serves UEs; no NaN anywhere."""
    h, a, p, s = _instance(8, 2, 6, 4, seed=23)
    a[:, 0, :3] = 1.0
    a[:, 1, :3] = 0.0
    p = p.clone()
    p[:, 0] = 0.0
    beams = BEAMFORMERS[name](h, a, p, s)
    assert bool(torch.isfinite(beams).all())
    assert bool((beams[:, 0] == 0).all())


def test_fc_zf_common_scale_and_zero_interference() -> None:
    """FC-ZF: all APs serve all UEs, the most loaded AP uses exactly its P_m, none exceeds it,
    and the common scale keeps G[k, l] = 0 for k ≠ l."""
    h, _, _, _ = _instance(8, 4, 6, 2, seed=2)
    p = torch.tensor([1.0, 0.5, 2.0, 1.0], dtype=torch.float64).expand(8, 4)
    beams = bf.fc_zf(h, p)
    ones = torch.ones(8, 4, 6, dtype=torch.float64)
    ratio = _tx_power_used(beams, ones) / p
    torch.testing.assert_close(ratio.amax(dim=-1), torch.ones(8, dtype=torch.float64))
    assert bool((ratio <= 1 + 1e-12).all())
    gains = effective_gains(h, beams, ones)
    off = gains.abs() * (1 - torch.eye(6, dtype=torch.float64))
    diag = torch.diagonal(gains, dim1=-2, dim2=-1).abs()
    assert float((off.amax(dim=-1) / diag).max()) < 1e-8


def test_fc_zf_rejects_too_many_ues() -> None:
    h = torch.ones(1, 2, 5, 2, dtype=torch.complex64)
    with pytest.raises(ValueError, match="channels"):
        bf.fc_zf(h, torch.ones(1, 2))


# ----------------------------------------------------------------------------- ZF


@pytest.mark.parametrize("dtype", [torch.complex128, torch.complex64])
def test_zf_zero_intra_cell_interference(dtype: torch.dtype) -> None:
    """|h_{m,k}^H v_{m,l}| ≈ 0 for k ≠ l both in U_m (|U_m| ≤ N), relative to the signal."""
    h, _, p, s = _instance(32, 2, 6, 4, seed=3)
    a = torch.zeros(32, 2, 6, dtype=torch.float64)
    a[:, 0, :3] = 1.0
    a[:, 1, 3:] = 1.0
    h = h.to(dtype)
    beams = bf.zf(h, a, p, s)
    cross = torch.einsum("bmkn,bmln->bmkl", h.conj(), beams).abs()  # |h_{m,k}^H v_{m,l}|
    for m, cell in ((0, slice(0, 3)), (1, slice(3, 6))):
        block = cross[:, m, cell, cell]
        signal = torch.diagonal(block, dim1=-2, dim2=-1)
        leak = (block * (1 - torch.eye(3))).amax(dim=-1) / signal
        tol = 1e-9 if dtype == torch.complex128 else 1e-3
        assert float(leak.max()) < tol


def test_zf_falls_back_to_rzf_with_more_ues_than_antennas() -> None:
    """BS 0 serves 6 UEs with N = 4: its ZF beams are finite and equal RZF's (fallback);
    BS 1 (2 UEs) still zero-forces."""
    h, _, p, s = _instance(4, 2, 8, 4, seed=4)
    a = torch.zeros(4, 2, 8, dtype=torch.float64)
    a[:, 0, :6] = 1.0
    a[:, 1, 6:] = 1.0
    beams_zf = bf.zf(h, a, p, s)
    beams_rzf = bf.rzf(h, a, p, s)
    assert bool(torch.isfinite(beams_zf).all())
    torch.testing.assert_close(beams_zf[:, 0], beams_rzf[:, 0], rtol=1e-10, atol=1e-12)
    cross = torch.einsum("bkn,bln->bkl", h[:, 1, 6:].conj(), beams_zf[:, 1, 6:]).abs()
    assert float((cross[:, 0, 1] / cross[:, 0, 0]).max()) < 1e-9
    torch.testing.assert_close(_tx_power_used(beams_zf, a), p)


# ----------------------------------------------------------------------------- RZF references


def _reference_joint_rzf(
    h: np.ndarray, a: np.ndarray, p: np.ndarray, s: np.ndarray, *, zero_forcing: bool = False
) -> np.ndarray:
    """SPEC §2 joint RZF (λ = 0 for ZF) for one instance, written out: h (M, K, N), a (M, K),
    p (M,), s (K,)."""
    num_tx, num_ues, num_antennas = h.shape
    stacked = np.zeros((num_tx * num_antennas, num_ues), dtype=complex)
    for k in range(num_ues):
        for m in range(num_tx):
            if a[m, k] > 0:  # ĥ_k = D_k h_k
                stacked[m * num_antennas : (m + 1) * num_antennas, k] = h[m, k]
    lam = 0.0 if zero_forcing else num_ues * s.mean() / p.sum()
    w = stacked @ np.linalg.inv(stacked.conj().T @ stacked + lam * np.eye(num_ues))
    v = np.zeros_like(h)
    for m in range(num_tx):
        for k in range(num_ues):
            if a[m, k] > 0:  # v_k ← D_k w_k
                v[m, k] = w[m * num_antennas : (m + 1) * num_antennas, k]
        used = np.sum(np.abs(v[m]) ** 2)
        v[m] = v[m] * np.sqrt(p[m] / used) if used > 0 else 0.0
    return v


def _reference_unique_rzf(h: np.ndarray, a: np.ndarray, p: np.ndarray, s: np.ndarray) -> np.ndarray:
    """SPEC §2 per-cell RZF for one instance (same argument shapes as the joint reference)."""
    v = np.zeros_like(h)
    for m in range(h.shape[0]):
        cell = np.flatnonzero(a[m] > 0)
        if cell.size == 0:
            continue
        hm = h[m, cell].T  # N × |U_m|
        reg = cell.size * s[cell].mean() / p[m]
        vm = hm @ np.linalg.inv(hm.conj().T @ hm + reg * np.eye(cell.size))
        vm *= np.sqrt(p[m]) / np.linalg.norm(vm)
        v[m, cell] = vm.T
    return v


def test_rzf_restricted_matches_reference() -> None:
    """The restricted joint RZF (per-AP normalised), random multi-AP association (several APs
    per UE, one AP serving nobody), float64."""
    h, _, _, s = _instance(10, 4, 6, 2, seed=5)
    gen = torch.Generator().manual_seed(6)
    a = (torch.rand(10, 4, 6, generator=gen) < 0.5).to(torch.float64)
    a[:, 3] = 0.0
    p = 0.5 + torch.rand(10, 4, generator=gen, dtype=torch.float64)
    s = s * (0.5 + torch.rand(10, 6, generator=gen, dtype=torch.float64))
    beams = bf.rzf_restricted(h, a, p, s)
    for i in range(10):
        ref = _reference_joint_rzf(h[i].numpy(), a[i].numpy(), p[i].numpy(), s[i].numpy())
        np.testing.assert_allclose(beams[i].numpy(), ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())


def test_joint_zf_matches_reference_and_falls_back() -> None:
    """Joint ZF = the reference with λ = 0 (to 1e-6) on generic cell-free instances with
    K ≤ MN; with a unique association where one AP alone serves more than N UEs (Ĥ
    structurally rank-deficient) it is joint RZF."""
    h, _, _, s = _instance(10, 4, 5, 2, seed=24)
    gen = torch.Generator().manual_seed(25)
    a = (torch.rand(10, 4, 5, generator=gen) < 0.6).to(torch.float64)
    a[:, 0] = 1.0  # every UE has at least one serving AP
    p = 0.5 + torch.rand(10, 4, generator=gen, dtype=torch.float64)
    beams = bf.zf(h, a, p, s, "joint")
    for i in range(10):
        args = (h[i].numpy(), a[i].numpy(), p[i].numpy(), s[i].numpy())
        ref = _reference_joint_rzf(*args, zero_forcing=True)
        np.testing.assert_allclose(beams[i].numpy(), ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
    unique = torch.zeros(10, 4, 5, dtype=torch.float64)
    unique[:, 0, :3] = 1.0  # 3 UEs on AP 0 alone, N = 2
    unique[:, 1, 3:] = 1.0
    torch.testing.assert_close(bf.zf(h, unique, p, s, "joint"), bf.rzf_restricted(h, unique, p, s))


def test_unique_rzf_matches_reference() -> None:
    h, a, _, s = _instance(10, 3, 7, 3, seed=7)
    gen = torch.Generator().manual_seed(8)
    p = 0.5 + torch.rand(10, 3, generator=gen, dtype=torch.float64)
    s = s * (0.5 + torch.rand(10, 7, generator=gen, dtype=torch.float64))
    beams = bf.rzf(h, a, p, s)
    for i in range(10):
        ref = _reference_unique_rzf(h[i].numpy(), a[i].numpy(), p[i].numpy(), s[i].numpy())
        np.testing.assert_allclose(beams[i].numpy(), ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())


# ----------------------------------------------------------------------------- WMMSE


@pytest.mark.parametrize("transmission", ["unique", "joint"])
def test_wmmse_trace_non_decreasing(transmission: str) -> None:
    """Block-coordinate descent: the WSR of successive iterates never decreases; the last entry
    of the trace is the WSR of the returned beams (unique) and the weights are honoured."""
    h, a, p, s = _instance(40, 2, 8, 4, seed=9)
    weights = 0.5 + torch.rand(
        40, 8, generator=torch.Generator().manual_seed(10), dtype=torch.float64
    )
    beams, trace = bf.wmmse_history(h, a, p, s, weights, transmission=transmission)
    steps = trace.diff(dim=-1)
    assert float(steps.min()) >= -1e-9 * float(trace.abs().max())
    assert float(steps.max()) > 0.1  # it actually moves
    mrt_wsr = sum_rate(h, bf.mrt(h, a, p, transmission=transmission), a, s, weights)
    torch.testing.assert_close(trace[:, 0], mrt_wsr)
    if transmission == "unique":
        torch.testing.assert_close(trace[:, -1], sum_rate(h, beams, a, s, weights))


def test_wmmse_beats_mrt_on_random_instances() -> None:
    """SPEC §3.1 mmwave28 at (M, N, K) = (2, 4, 8), random one-hot association: WMMSE ≥ MRT on
    ≥ 95 % of 200 instances (it is initialised from MRT and monotone, so in fact on all)."""
    sample = mmwave28(torch.Generator().manual_seed(11), 200, dtype=torch.complex128)
    h, p, s = sample.channels, sample.tx_power, sample.noise_power
    serving = torch.randint(0, 2, (200, 8), generator=torch.Generator().manual_seed(12))
    a = torch.nn.functional.one_hot(serving, 2).transpose(-1, -2).to(torch.float64)
    beams = bf.wmmse(h, a, p, s)
    wsr_wmmse = sum_rate(h, beams, a, s)
    wsr_mrt = sum_rate(h, bf.mrt(h, a, p), a, s)
    assert float((wsr_wmmse >= wsr_mrt - 1e-9).to(torch.float64).mean()) >= 0.95
    assert float(wsr_wmmse.mean()) > 1.2 * float(wsr_mrt.mean())
    # On these instances every serving BS ends on the active budget (μ_m > 0): exact power.
    used = _tx_power_used(beams, a)
    serving_bs = a.sum(dim=-1) > 0
    torch.testing.assert_close(used[serving_bs], p[serving_bs], rtol=1e-5, atol=0.0)


def test_wmmse_power_never_exceeds_budget() -> None:
    """Step 5 keeps μ_m = 0 when that already meets the budget, so WMMSE may use less than
    P_m (with strong inter-cell interference it can even switch a BS off, a legitimate WMMSE
    fixed point); it never uses more. (3, 2, 6) with equal path losses triggers such cases."""
    h, a, p, s = _instance(100, 3, 6, 2, seed=22, spread_db=0.0)
    used = _tx_power_used(bf.wmmse(h, a, p, s), a)
    assert bool((used <= p * (1 + 1e-9)).all())
    assert bool((used < p * (1 - 1e-5)).any())  # the inequality is real, not a formality


def test_wmmse_float32_finite_and_close_to_float64() -> None:
    h, a, p, s = _instance(16, 2, 8, 4, seed=12)
    beams32 = bf.wmmse(h.to(torch.complex64), a.float(), p.float(), s.float())
    assert beams32.dtype == torch.complex64
    assert bool(torch.isfinite(beams32).all())
    beams64 = bf.wmmse(h, a, p, s)
    torch.testing.assert_close(beams32, beams64.to(torch.complex64), rtol=1e-4, atol=1e-6)


def test_wmmse_stops_at_tolerance_and_iterations() -> None:
    """iterations=0 returns MRT (of the same transmission); a huge tol stops right after the
    first update (trace: MRT, first iterate); tol=0 runs all iterations (trace: MRT + one
    entry per update)."""
    h, a, p, s = _instance(4, 2, 8, 4, seed=13)
    torch.testing.assert_close(bf.wmmse(h, a, p, s, iterations=0), bf.mrt(h, a, p))
    torch.testing.assert_close(
        bf.wmmse(h, a, p, s, iterations=0, transmission="joint"),
        bf.mrt(h, a, p, transmission="joint"),
    )
    _, trace = bf.wmmse_history(h, a, p, s, tol=1e9)
    assert trace.shape == (4, 2)
    _, trace = bf.wmmse_history(h, a, p, s, iterations=5, tol=0.0)
    assert trace.shape == (4, 6)


def test_wmmse_zero_weight_ue_gets_no_power() -> None:
    h, a, p, s = _instance(4, 2, 8, 4, seed=14)
    weights = torch.ones(4, 8, dtype=torch.float64)
    weights[:, 3] = 0.0
    beams = bf.wmmse(h, a, p, s, weights)
    assert float(beams[:, :, 3].abs().max()) == 0.0


# ----------------------------------------------------------------------------- batching


@pytest.mark.parametrize("name", [*BEAMFORMERS, "fc_zf"])
def test_batch_equals_single_calls(name: str) -> None:
    h, a, p, s = _instance(64, 2, 4, 2, seed=15)
    if name == "fc_zf":
        batched = bf.fc_zf(h, p)
        singles = [bf.fc_zf(h[i], p[i]) for i in range(64)]
    else:
        fn = BEAMFORMERS[name]
        batched = fn(h, a, p, s)
        singles = [fn(h[i], a[i], p[i], s[i]) for i in range(64)]
    torch.testing.assert_close(batched, torch.stack(singles), rtol=1e-7, atol=1e-12)


def test_leading_dims_broadcast() -> None:
    """(2, 3) batch dims; association/power/noise shared across the batch broadcast."""
    h, a, p, s = _instance(6, 2, 4, 2, seed=16)
    h = h.reshape(2, 3, 2, 4, 2)
    out = bf.rzf(h, a[0], p[0], s[0], "joint")
    assert out.shape == h.shape
    torch.testing.assert_close(out[1, 2], bf.rzf(h[1, 2], a[0], p[0], s[0], "joint"))


def test_bool_numpy_and_scalar_arguments() -> None:
    """A bool association, numpy power/noise and scalar power/noise give the same beams as the
    float tensors; channels must be a torch tensor (numpy is converted at the env boundary)."""
    h, a, p, s = _instance(3, 2, 4, 2, seed=27)
    expected = bf.rzf(h, a, p, s)
    loose = bf.rzf(h, a.bool(), p.numpy(), s.numpy())  # type: ignore[arg-type]
    torch.testing.assert_close(loose, expected)
    torch.testing.assert_close(bf.rzf(h, a, 1.0, NOISE_W), expected)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="channels"):
        bf.mrt(h.numpy(), a, p)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- gradients


def _gradcheck_instance(seed: int, grad_powers: bool = False) -> tuple[Tensor, ...]:
    """A float64 2-BS × 3-UE instance, N = 2: channels and a fractional association in (0.2, 0.8)
    that require grad; power budgets [1, 2] and noise powers [0.3, 0.5, 0.4], requiring grad
    when ``grad_powers``."""
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(2, 3, 2, generator=gen, dtype=torch.complex128, requires_grad=True)
    a = (0.2 + 0.6 * torch.rand(2, 3, generator=gen, dtype=torch.float64)).requires_grad_()
    p = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=grad_powers)
    s = torch.tensor([0.3, 0.5, 0.4], dtype=torch.float64, requires_grad=grad_powers)
    return h, a, p, s


@pytest.mark.parametrize("transmission", ["unique", "joint"])
def test_gradcheck_rzf_sum_rate(transmission: str) -> None:
    """sum_rate(rzf(...)) is differentiable w.r.t. channels, a fractional association, the
    power budgets and the noise powers."""
    h, a, p, s = _gradcheck_instance(17, grad_powers=True)

    def objective(h: Tensor, a: Tensor, p: Tensor, s: Tensor) -> Tensor:
        return sum_rate(h, bf.rzf(h, a, p, s, transmission), a, s)

    assert torch.autograd.gradcheck(objective, (h, a, p, s))


def test_gradcheck_zf_and_fc_zf_sum_rate() -> None:
    h, a, p, s = _gradcheck_instance(28)
    ones = torch.ones(2, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda h, a: sum_rate(h, bf.zf(h, a, p, s), a, s), (h, a))
    assert torch.autograd.gradcheck(lambda h: sum_rate(h, bf.fc_zf(h, p), ones, s), (h,))


@pytest.mark.parametrize("transmission", ["unique", "joint"])
def test_gradcheck_mrt_sum_rate(transmission: str) -> None:
    h, a, p, s = _gradcheck_instance(18)

    def objective(h: Tensor, a: Tensor) -> Tensor:
        return sum_rate(h, bf.mrt(h, a, p, transmission=transmission), a, s)

    assert torch.autograd.gradcheck(objective, (h, a))


# ----------------------------------------------------------------------------- singular channels


@pytest.mark.parametrize("name", [*BEAMFORMERS, "fc_zf"])
def test_zero_channel_gives_rate_zero(name: str) -> None:
    h, a, p, s = _instance(4, 2, 4, 4, seed=19)
    h[:, :, 1] = 0.0  # UE 1 has no channel to anyone
    if name == "fc_zf":
        a = torch.ones_like(a)
        beams = bf.fc_zf(h, p)
    else:
        beams = BEAMFORMERS[name](h, a, p, s)
    r = rates(h, beams, a, s)
    assert bool(torch.isfinite(beams).all()) and bool(torch.isfinite(r).all())
    assert float(r[:, 1].abs().max()) == 0.0
    assert float(r.sum(dim=-1).min()) > 0.0


@pytest.mark.parametrize("name", [*BEAMFORMERS, "fc_zf"])
def test_identical_channels_finite(name: str) -> None:
    h, _, p, s = _instance(4, 2, 4, 4, seed=20)
    a = torch.zeros(4, 2, 4, dtype=torch.float64)
    a[:, 0, :2] = 1.0
    a[:, 1, 2:] = 1.0
    h[:, :, 1] = h[:, :, 0]  # UEs 0 and 1 (same cell) see identical channels
    if name == "fc_zf":
        a = torch.ones_like(a)
        beams = bf.fc_zf(h, p)
    else:
        beams = BEAMFORMERS[name](h, a, p, s)
    assert bool(torch.isfinite(beams).all())
    assert bool(torch.isfinite(rates(h, beams, a, s)).all())


@pytest.mark.parametrize(
    ("dtype", "amplitude"), [(torch.complex128, 1e-160), (torch.complex64, 1e-21)]
)
def test_tiny_channels_keep_exact_power(dtype: torch.dtype, amplitude: float) -> None:
    """|h|² below the smallest normal float (1e-320 in float64, 1e-42 in float32) must neither
    underflow to a silent transmitter nor overflow the scale: the power is still P_m."""
    h, a, p, s = _instance(4, 2, 6, 4, seed=26)
    h = (h / h.abs().amax() * amplitude).to(dtype)
    for name in ("mrt", "zf", "rzf"):
        beams = BEAMFORMERS[name](h, a, p, s)
        assert bool(torch.isfinite(beams).all())
        used = _tx_power_used(beams.to(torch.complex128), a)
        serving = a.sum(dim=-1) > 0
        torch.testing.assert_close(used[serving], p[serving], rtol=1e-5, atol=0.0)


def test_singular_solve_safety_net() -> None:
    """The solve behind ZF/RZF re-solves an exactly singular (float32) Gram matrix with a larger
    loading instead of raising or returning NaN."""
    gram = torch.zeros(2, 3, 3, dtype=torch.complex64)
    gram[1] = torch.eye(3)
    rhs = torch.ones(2, 3, 2, dtype=torch.complex64)
    solution = bf._regular_solve(gram, rhs)
    assert bool(torch.isfinite(solution).all())
    torch.testing.assert_close(solution[1], rhs[1])


def test_all_zero_channels_send_nothing() -> None:
    h = torch.zeros(1, 2, 3, 2, dtype=torch.complex128)
    a = torch.tensor([[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    p = torch.ones(1, 2, dtype=torch.float64)
    s = torch.ones(1, 3, dtype=torch.float64)
    for name, fn in BEAMFORMERS.items():
        beams = fn(h, a, p, s)
        assert bool((beams == 0).all()), name
    assert bool((bf.fc_zf(h, p) == 0).all())


# ----------------------------------------------------------------------------- validation


def _good() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    h, a, p, s = _instance(2, 2, 3, 2, seed=21)
    return h, a, p, s


@pytest.mark.parametrize("fn", [bf.zf, bf.rzf, bf.wmmse])
def test_unknown_transmission_rejected(fn: Callable[..., Tensor]) -> None:
    h, a, p, s = _good()
    with pytest.raises(ValueError, match="transmission"):
        fn(h, a, p, s, transmission="cellfree")
    with pytest.raises(ValueError, match="transmission"):
        bf.mrt(h, a, p, transmission="cellfree")
    with pytest.raises(ValueError, match="transmission"):
        bf.mrt_gram(h, transmission="proportional")


@pytest.mark.parametrize(
    ("argument", "mutate"),
    [
        ("association", lambda h, a, p, s: (h, a[..., :2], p, s)),
        ("tx_power", lambda h, a, p, s: (h, a, p[..., :1], s)),
        ("noise_power", lambda h, a, p, s: (h, a, p, torch.ones(2, 4, dtype=torch.float64))),
        ("tx_power", lambda h, a, p, s: (h, a, -p, s)),
        ("noise_power", lambda h, a, p, s: (h, a, p, 0 * s)),
        ("channels", lambda h, a, p, s: (h * float("nan"), a, p, s)),
        ("channels", lambda h, a, p, s: (h * float("inf"), a, p, s)),
        ("channels", lambda h, a, p, s: (h.real, a, p, s)),
        ("association", lambda h, a, p, s: (h, 2 * a, p, s)),
    ],
)
@pytest.mark.parametrize("name", ["zf", "rzf", "wmmse", "zf_joint", "rzf_joint", "rzf_restricted"])
def test_bad_input_rejected(name: str, argument: str, mutate: Callable[..., tuple]) -> None:
    fn = BEAMFORMERS[name]
    with pytest.raises(ValueError, match=argument):
        fn(*mutate(*_good()))


def test_bad_input_rejected_mrt_fc_zf_and_wmmse_options() -> None:
    h, a, p, s = _good()
    with pytest.raises(ValueError, match="tx_power"):
        bf.mrt(h, a, -p)
    with pytest.raises(ValueError, match="association"):
        bf.mrt(h, a[..., :1, :], p)
    with pytest.raises(ValueError, match="tx_power"):
        bf.mrt_proportional(h, a, -p)
    with pytest.raises(ValueError, match="channels"):
        bf.fc_zf(h * float("nan"), p)
    with pytest.raises(ValueError, match="tx_power"):
        bf.fc_zf(h, -p)
    with pytest.raises(ValueError, match="weights"):
        bf.wmmse(h, a, p, s, weights=-torch.ones(3))
    with pytest.raises(ValueError, match="iterations"):
        bf.wmmse(h, a, p, s, iterations=-1)
    with pytest.raises(ValueError, match="tol"):
        bf.wmmse(h, a, p, s, tol=float("nan"))
    with pytest.raises(ValueError, match="batch dimensions"):
        bf.rzf(h, a[:1].expand(3, 2, 3), p, s)


@pytest.mark.parametrize("transmission", ["unique", "joint"])
@pytest.mark.parametrize("kind", ["unique", "joint", "fractional"])
def test_mrt_gram_gains_equal_mrt_beams(kind: str, transmission: str) -> None:
    """mrt_gains(mrt_gram(h, t), a) is effective_gains(h, mrt(h, a, t), a) for both MRT forms
    (t = "unique": equal power; "joint": channel-proportional): unique, joint (several
    transmitters per UE, coherent) and fractional associations; the SINR follows."""
    h, a, p, s = _instance(16, 3, 6, 4, seed=40)
    gen = torch.Generator().manual_seed(41)
    if kind == "joint":
        a = (torch.rand(a.shape, generator=gen, dtype=a.dtype) < 0.6).to(a.dtype)
    elif kind == "fractional":
        a = torch.rand(a.shape, generator=gen, dtype=a.dtype)
    beams = bf.mrt(h, a, p, transmission=transmission)
    reference = effective_gains(h, beams, a)
    gram, power = bf.mrt_gram(h, transmission=transmission)
    gains = bf.mrt_gains(gram, power, a, p)
    torch.testing.assert_close(gains, reference, rtol=1e-9, atol=1e-18)
    torch.testing.assert_close(
        torch.log2(1 + sinr_from_gains(gains, s)),
        rates(h, beams, a, s),
        rtol=1e-9,
        atol=0,
    )


def test_mrt_gains_numpy_equals_torch_and_tiny_channels_keep_their_sinr() -> None:
    """The array-generic step gives the same gains on numpy; channels scaled to 1e-21
    (|h|² ~ 1e-42, below float32's normal range) give gains scaled alike (no underflow)."""
    h, a, p, s = _instance(8, 2, 6, 4, seed=42)
    h, a, p, s = h.to(torch.complex64), a.float(), p.float(), s.float()
    gram, power = bf.mrt_gram(h)
    torch_gains = bf.mrt_gains(gram, power, a, p)
    torch_sinr = sinr_from_gains(torch_gains, s)
    numpy_gains = bf.mrt_gains(gram.numpy(), power.numpy(), a.numpy(), p.numpy())
    numpy_sinr = sinr_from_gains(numpy_gains, s.numpy())
    assert isinstance(numpy_sinr, np.ndarray) and numpy_sinr.dtype == np.float32
    np.testing.assert_allclose(numpy_sinr, torch_sinr.numpy(), rtol=1e-6)
    scale = 1e-21 / float(h.abs().amax())
    tiny = (h * scale).to(torch.complex64)
    gram, power = bf.mrt_gram(tiny)
    tiny_gains = bf.mrt_gains(gram, power, a, p)
    torch.testing.assert_close(tiny_gains / scale, torch_gains, rtol=1e-4, atol=1e-4 * NOISE_W**0.5)


def test_mrt_gains_silent_transmitter() -> None:
    """A transmitter serving nobody, or only zero channels, sends nothing (no NaN)."""
    h, a, p, s = _instance(2, 2, 4, 2, seed=43)
    h[:, 1] = 0
    a = torch.zeros_like(a)
    a[:, 1, :2] = 1.0  # BS 1 serves UEs 0, 1 over zero channels; BS 0 serves nobody
    gram, power = bf.mrt_gram(h)
    gains = bf.mrt_gains(gram, power, a, p)
    assert bool((gains == 0).all())
    assert bool((sinr_from_gains(gains, s) == 0).all())


def test_mrt_gram_rejects_bad_channels() -> None:
    with pytest.raises(ValueError, match="channels"):
        bf.mrt_gram(torch.ones(2, 3, 4))  # real, not complex
    with pytest.raises(ValueError, match="channels"):
        bf.mrt_gram(torch.full((2, 3, 4), complex("nan"), dtype=torch.complex64))
