"""Partial RZF (``rzf(..., transmission="joint")``, docs/model.md §2) against hand-built cases.

The reference below writes the definition out with explicit matrices, one UE at a time
(Björnson & Sanguinetti 2020): ``P_k`` = the UEs sharing a serving AP with k, ``D_k`` = the
antenna selector of k's serving APs, ``w_k = [D_k H_{P_k} (H_{P_k}^H D_k H_{P_k} + λ I)^{-1}]
_{:, k}``, ``λ = K mean(σ²) / Σ_m P_m``, unit-norm ``w_k``, then one common scale so that the
most loaded AP uses exactly its ``P_m``. It shares no code with the implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ua_envs.core import beamforming as bf
from ua_envs.core.signal import rates

# 3 APs × 2 antennas, 2 UEs: h[m, k] is the channel of UE k at AP m (explicit numbers).
H = np.array(
    [
        [[1.0 + 0.5j, -0.3 + 0.2j], [0.4 - 0.1j, 0.9 + 0.3j]],  # AP 0
        [[0.2 - 0.7j, 0.5 + 0.5j], [-0.6 + 0.2j, 0.1 - 0.8j]],  # AP 1
        [[0.05 + 0.1j, -0.2 + 0.0j], [0.7 + 0.7j, -0.4 + 0.3j]],  # AP 2
    ]
)
P = np.array([1.0, 2.0, 0.5])  # W
SIGMA2 = np.array([0.1, 0.3])  # W
N = 2


def _reference(h: np.ndarray, a: np.ndarray, p: np.ndarray, s: np.ndarray) -> np.ndarray:
    num_tx, num_ues, n = h.shape
    stacked = np.concatenate([h[m].T for m in range(num_tx)], axis=0)  # (MN, K)
    lam = num_ues * s.mean() / p.sum()
    w = np.zeros((num_tx * n, num_ues), dtype=complex)
    for k in range(num_ues):
        serving = [m for m in range(num_tx) if a[m, k] > 0]
        if not serving:
            continue
        group = [j for j in range(num_ues) if any(a[m, j] > 0 for m in serving)]
        selector = np.zeros((num_tx * n, num_tx * n))
        for m in serving:
            selector[m * n : (m + 1) * n, m * n : (m + 1) * n] = np.eye(n)
        h_group = stacked[:, group]
        inner = h_group.conj().T @ selector @ h_group + lam * np.eye(len(group))
        column = (selector @ h_group @ np.linalg.inv(inner))[:, group.index(k)]
        w[:, k] = column / np.linalg.norm(column)
    beams = np.stack([w[m * n : (m + 1) * n].T for m in range(num_tx)])  # (M, K, N)
    load = max(np.sum(np.abs(beams[m]) ** 2) / p[m] for m in range(num_tx))
    return beams / np.sqrt(load)


def _torch(a: np.ndarray) -> torch.Tensor:
    beams = bf.rzf(
        torch.from_numpy(H),
        torch.from_numpy(a),
        torch.from_numpy(P),
        torch.from_numpy(SIGMA2),
        "joint",
    )
    return beams


@pytest.mark.parametrize(
    "association",
    [
        # AP 1 serves both UEs: P_0 = P_1 = {0, 1}, the shared AP suppresses interference.
        [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
        # Every AP serves both UEs (centralised RZF with one common scale).
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]],
        # UE 0 alone on AP 0, UE 1 on APs 1 and 2: disjoint, P_k = {k}.
        [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]],
    ],
    ids=["shared_ap", "all_links", "disjoint"],
)
def test_partial_rzf_matches_hand_reference(association: list[list[float]]) -> None:
    a = np.array(association)
    beams = _torch(a).numpy()
    np.testing.assert_allclose(beams, _reference(H, a, P, SIGMA2), rtol=1e-10, atol=1e-12)


def test_disjoint_serving_sets_give_unit_norm_mrt_on_the_serving_aps() -> None:
    """With P_k = {k}, w_k = D_k h_k / (h_k^H D_k h_k + λ) is MRT on k's serving APs: the
    unit-norm beam of UE 1 (APs 1 and 2) is [h_{1,1}; h_{2,1}] / ‖·‖. λ = 2 · 0.2 / 3.5."""
    a = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    beams = _torch(a).numpy()
    ue1 = np.concatenate([H[1, 1], H[2, 1]])
    ue1 = ue1 / np.linalg.norm(ue1)
    ue0 = H[0, 0] / np.linalg.norm(H[0, 0])
    # Before the common scale each UE's beam has unit power, split over its serving APs.
    ap_power = np.array([1.0, np.sum(np.abs(ue1[:N]) ** 2), np.sum(np.abs(ue1[N:]) ** 2)])
    scale = 1.0 / np.sqrt(np.max(ap_power / P))
    np.testing.assert_allclose(beams[0, 0], scale * ue0, rtol=1e-12)
    np.testing.assert_allclose(np.concatenate([beams[1, 1], beams[2, 1]]), scale * ue1, rtol=1e-12)
    assert np.all(beams[0, 1] == 0) and np.all(beams[1, 0] == 0) and np.all(beams[2, 0] == 0)


def test_shared_ap_suppresses_interference_at_high_snr() -> None:
    """All links, σ² → 0 (λ → 0): the partial RZF is zero-forcing, G[k, l] ≈ 0 for k ≠ l."""
    a = torch.ones(3, 2, dtype=torch.float64)
    h = torch.from_numpy(H)
    beams = bf.rzf(h, a, torch.from_numpy(P), torch.full((2,), 1e-12, dtype=torch.float64), "joint")
    gains = torch.einsum("mkn,mln->kl", h.conj(), beams)
    assert float(gains[0, 1].abs() / gains[1, 1].abs()) < 1e-9
    assert float(gains[1, 0].abs() / gains[0, 0].abs()) < 1e-9


def _random(batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(batch, 5, 6, 2, generator=gen, dtype=torch.complex128)
    h = h * 10 ** (-torch.rand(batch, 5, 6, 1, generator=gen, dtype=torch.float64) * 2)
    a = (torch.rand(batch, 5, 6, generator=gen) < 0.4).to(torch.float64)
    p = 0.5 + torch.rand(batch, 5, generator=gen, dtype=torch.float64)
    s = 0.01 + 0.1 * torch.rand(batch, 6, generator=gen, dtype=torch.float64)
    return h, a, p, s


def test_common_scale_equal_ue_power_and_random_reference() -> None:
    """Random 5-AP × 6-UE instances: every served UE gets the same beam power, the most loaded
    AP uses exactly P_m and none more, and each instance matches the reference."""
    h, a, p, s = _random(12, seed=3)
    beams = bf.rzf(h, a, p, s, "joint")
    ue_power = beams.abs().square().sum(dim=(-3, -1))  # (B, K)
    has_ap = a.sum(dim=-2) > 0
    for i in range(12):
        served = ue_power[i][has_ap[i]]
        torch.testing.assert_close(served, served[0].expand_as(served), rtol=1e-10, atol=0.0)
        assert bool((ue_power[i][~has_ap[i]] == 0).all())
        ref = _reference(h[i].numpy(), a[i].numpy(), p[i].numpy(), s[i].numpy())
        np.testing.assert_allclose(beams[i].numpy(), ref, rtol=1e-9, atol=1e-12)
    ratio = (a * beams.abs().square().sum(dim=-1)).sum(dim=-1) / p
    torch.testing.assert_close(ratio.amax(dim=-1), torch.ones(12, dtype=torch.float64))
    assert bool((ratio <= 1 + 1e-12).all())


def test_float32_close_to_float64_and_no_nan_for_unserved() -> None:
    """complex64 is the default precision (close to complex128); a UE with no serving AP gets
    a zero beam and rate 0, an AP serving nobody sends nothing; nothing is NaN."""
    h, a, p, s = _random(8, seed=4)
    a[:, :, 0] = 0.0  # UE 0 has no serving AP
    a[:, 4, :] = 0.0  # AP 4 serves nobody
    beams64 = bf.rzf(h, a, p, s, "joint")
    beams32 = bf.rzf(h.to(torch.complex64), a.float(), p.float(), s.float(), "joint")
    assert beams32.dtype == torch.complex64 and bool(torch.isfinite(beams32).all())
    torch.testing.assert_close(beams32, beams64.to(torch.complex64), rtol=1e-4, atol=1e-5)
    assert bool((beams64[:, :, 0] == 0).all()) and bool((beams64[:, 4] == 0).all())
    r = rates(h, beams64, a, s)
    assert bool(torch.isfinite(r).all()) and float(r[:, 0].abs().max()) == 0.0


def test_empty_association_is_silent() -> None:
    h, a, p, s = _random(2, seed=5)
    beams = bf.rzf(h, torch.zeros_like(a), p, s, "joint")
    assert bool((beams == 0).all())


def test_fractional_association_gradient_finite() -> None:
    """A fractional association has a finite gradient (membership 1 - Π(1 - a a'), D_k = a)."""
    h, _, p, s = _random(1, seed=6)
    a = torch.rand(1, 5, 6, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    a.requires_grad_()
    total = rates(h, bf.rzf(h, a, p, s, "joint"), a, s).sum()
    total.backward()
    assert a.grad is not None and bool(torch.isfinite(a.grad).all())
    assert float(a.grad.abs().max()) > 0.0
