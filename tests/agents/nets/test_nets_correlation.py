"""CorrelationMixing and mrt_correlation: hand-computed tiny instances, equivariance, errors."""

from __future__ import annotations

import pytest
import torch

from agents.nets import CorrelationMixing
from agents.nets.link_features import mrt_correlation


def test_mrt_correlation_by_hand() -> None:
    """One BS, two antennas: u_0 = [1, 0], u_1 = [1, 1]/√2 → |u_0ᴴ u_1|² = 1/2 (zero on the
    diagonal); gains 0 and 10 dB → shares 1/11 and 10/11."""
    channel = torch.tensor([[[[1.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]]]])  # (1, 1, 2, 2N)
    gain_db = torch.tensor([[[0.0, 10.0]]])
    correlation, weights = mrt_correlation({"channel": channel, "gain_db": gain_db})
    torch.testing.assert_close(correlation[0, 0], torch.tensor([[0.0, 0.5], [0.5, 0.0]]))
    torch.testing.assert_close(weights[0, 0], torch.tensor([1.0, 10.0]) / 11.0)


def test_mixing_by_hand() -> None:
    """H = 1, z = e (A = 1, a = 0), B = [1, 2], b = -0.5. e = [1, 2], C = [[0, .5], [.5, 0]],
    s = [.25, .75]: mean = C z / 2 = [.5, .25], strong = [.5·.75·2, .5·.25·1] = [.75, .125],
    so e' = e + ReLU([.5 + 1.5 - .5, .25 + .25 - .5]) = [2.5, 2]."""
    mix = CorrelationMixing(1)
    with torch.no_grad():
        mix.message.weight.fill_(1.0)
        mix.message.bias.zero_()
        mix.update.weight.copy_(torch.tensor([[1.0, 2.0]]))
        mix.update.bias.fill_(-0.5)
    edge = torch.tensor([1.0, 2.0]).reshape(1, 1, 2, 1)
    correlation = torch.tensor([[0.0, 0.5], [0.5, 0.0]]).reshape(1, 1, 2, 2)
    weights = torch.tensor([0.25, 0.75]).reshape(1, 1, 2)
    out = mix(edge, correlation, weights)
    torch.testing.assert_close(out.reshape(2), torch.tensor([2.5, 2.0]))


def test_permuting_bss_and_ues_permutes_the_output() -> None:
    torch.manual_seed(0)
    mix = CorrelationMixing(6)
    edge = torch.randn(2, 3, 5, 6)
    channel = torch.randn(2, 3, 5, 8)
    gain_db = torch.randn(2, 3, 5) * 10
    correlation, weights = mrt_correlation({"channel": channel, "gain_db": gain_db})
    bs, ue = torch.tensor([2, 0, 1]), torch.tensor([3, 0, 4, 1, 2])
    out = mix(edge, correlation, weights)
    permuted = mrt_correlation(
        {"channel": channel[:, bs][:, :, ue], "gain_db": gain_db[:, bs][:, :, ue]}
    )
    torch.testing.assert_close(
        mix(edge[:, bs][:, :, ue], *permuted), out[:, bs][:, :, ue], atol=1e-5, rtol=1e-4
    )


def test_shape_errors_name_the_argument() -> None:
    mix = CorrelationMixing(4)
    with pytest.raises(ValueError, match="edge"):
        mix(torch.zeros(2, 3, 5, 3), torch.zeros(2, 3, 5, 5), torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="correlation"):
        mix(torch.zeros(2, 3, 5, 4), torch.zeros(2, 3, 5, 4), torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="weights"):
        mix(torch.zeros(2, 3, 5, 4), torch.zeros(2, 3, 5, 5), torch.zeros(2, 2, 5))
    with pytest.raises(ValueError, match="hidden"):
        CorrelationMixing(0)
