"""MMSEBeamHead: hand-computed beams on a 1-BS, 2-UE instance; permutation equivariance."""

from __future__ import annotations

import math

import pytest
import torch

from agents.nets import MMSEBeamHead


def test_beams_are_the_regularised_zf_at_the_start() -> None:
    """Untrained (last layers at zero): λ = dual_power_w = 1 and equal powers, so
    u_k = (Σ_j g_j g_jᴴ + I)⁻¹ g_k. With g_0 = [1, 0], g_1 = [1, 1]:
    A + I = [[3, 1], [1, 2]], (A + I)⁻¹ = [[2, -1], [-1, 3]] / 5, u_0 ∝ [2, -1], u_1 ∝ [1, 2]."""
    torch.manual_seed(0)
    head = MMSEBeamHead(hidden=4, num_antennas=2, dual_power_w=1.0)
    channel = torch.tensor([[[[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]]])  # (1, 1, 2, 2N)
    beams = head(torch.randn(1, 1, 2, 4), channel)
    power = math.log1p(math.exp(0.5413)) + 1e-3
    expected = torch.tensor([[2.0, -1.0], [1.0, 2.0]]) / math.sqrt(5.0) * math.sqrt(power)
    assert beams.dtype == torch.complex64 and beams.shape == (1, 1, 2, 2)
    torch.testing.assert_close(beams[0, 0].real, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(beams[0, 0].imag, torch.zeros(2, 2), atol=1e-7, rtol=0)


def test_permuting_bss_and_ues_permutes_the_beams_and_gradients_flow() -> None:
    torch.manual_seed(1)
    head = MMSEBeamHead(hidden=8, num_antennas=3, dual_power_w=0.5)
    for module in (head.power, head.dual_power):  # leave the zero start
        torch.nn.init.normal_(module[-1].weight)
    edge = torch.randn(2, 2, 5, 8, requires_grad=True)
    channel = torch.randn(2, 2, 5, 6)
    bs, ue = torch.tensor([1, 0]), torch.tensor([3, 0, 4, 1, 2])
    beams = head(edge, channel)
    permuted = head(edge[:, bs][:, :, ue], channel[:, bs][:, :, ue])
    torch.testing.assert_close(permuted, beams[:, bs][:, :, ue], atol=1e-5, rtol=1e-4)
    beams.abs().sum().backward()
    assert edge.grad is not None and bool(edge.grad.abs().sum() > 0)
    assert head.log_dual_power.grad is not None


def test_errors_name_the_argument() -> None:
    with pytest.raises(ValueError, match="dual_power_w must be finite and > 0, got 0"):
        MMSEBeamHead(4, 2, dual_power_w=0.0)
    with pytest.raises(ValueError, match=r"2N = 4 entries per link .* got 6"):
        MMSEBeamHead(4, 2)(torch.zeros(1, 1, 2, 4), torch.zeros(1, 1, 2, 6))
