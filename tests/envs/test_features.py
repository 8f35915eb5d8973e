"""ua_envs.core.features.channel_features: the noise-normalised channel observation."""

from __future__ import annotations

import math

import pytest
import torch

from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, channel_features


def test_channel_features_by_hand() -> None:
    """M = 1, K = 2, N = 2. UE 0: h = [2 + 1j, 0], σ² = 4 → h/σ = [1 + 0.5j, 0], so channel =
    [1, 0, 0.5, 0] and gain 10 log10(1.25). UE 1: h = 0 → channel 0, gain floored at -300 dB."""
    channels = torch.tensor([[[[2 + 1j, 0], [0, 0]]]], dtype=torch.complex64)
    noise_power = torch.tensor([[4.0, 1.0]])
    channel_obs, gain_db, snr_gain = channel_features(channels, noise_power)
    assert channel_obs.dtype == gain_db.dtype == torch.float32
    assert channel_obs.shape == (1, 1, 2, 4) and gain_db.shape == (1, 1, 2)
    assert channel_obs[0, 0, 0].tolist() == [1.0, 0.0, 0.5, 0.0]
    assert channel_obs[0, 0, 1].tolist() == [0.0] * 4
    assert gain_db[0, 0, 0].item() == pytest.approx(10 * math.log10(1.25), rel=1e-6)
    assert gain_db[0, 0, 1].item() == GAIN_DB_RANGE[0]
    assert snr_gain[0, 0].tolist() == pytest.approx([1.25, 0.0])


def test_channel_features_are_clipped_to_the_box_bounds() -> None:
    """A huge channel (SNR 10^400, as float32 overflows to inf) reads the upper bounds."""
    channels = torch.full((1, 1, 1, 1), 1e30 + 0j, dtype=torch.complex64)
    channel_obs, gain_db, _ = channel_features(channels, torch.tensor([[1e-10]]))
    assert channel_obs.abs().max().item() <= CHANNEL_OBS_BOUND
    assert gain_db.item() == GAIN_DB_RANGE[1]
