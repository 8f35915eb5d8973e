"""Observation features shared by the env families: the noise-normalised channel.

Every channel-based env (MultiCellAssoc, CellFreeAssoc, FronthaulAssoc) observes the channels
divided by the noise amplitude of their UE, ``h_mk / σ_k`` (so the entries are per-antenna SNR
amplitudes, independent of the power unit), and the link SNR gain ``‖h_mk‖² / σ_k²`` in dB.
Both are clipped to finite bounds so that a zero channel (outage) reads the lower end rather
than ``-inf`` and the Gymnasium ``Box`` bounds hold.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["CHANNEL_OBS_BOUND", "GAIN_DB_RANGE", "ChannelFeatures", "channel_features"]

#: ``gain_db`` observation range [dB]: a zero channel (outage) reads -300 dB, not -inf.
GAIN_DB_RANGE = (-300.0, 300.0)
#: Bound of the ``channel`` observation entries, ``10^(300/20)``, consistent with GAIN_DB_RANGE.
CHANNEL_OBS_BOUND = 1e15


class ChannelFeatures(NamedTuple):
    """What :func:`channel_features` returns (see there for the definitions)."""

    #: ``(B, M, K, 2N)`` float32 ``[Re(h/σ_k), Im(h/σ_k)]``, clipped to ``±CHANNEL_OBS_BOUND``.
    channel_obs: Tensor
    #: ``(B, M, K)`` float32 ``10 log10(‖h_mk‖² / σ_k²)`` [dB], clipped to ``GAIN_DB_RANGE``.
    gain_db: Tensor
    #: ``(B, M, K)`` ``‖h_mk‖² / σ_k²`` (linear, unclipped; real dtype of ``channels``).
    snr_gain: Tensor


def channel_features(channels: Tensor, noise_power: Tensor) -> ChannelFeatures:
    """Noise-normalised channel observation and link SNR gain (linear and in dB).

    No validation (hot path): the simulators pass their own, already checked, tensors.

    :param channels: ``(B, M, K, N)`` complex channels ``h`` [sqrt(W)].
    :param noise_power: ``(B, K)`` real noise power ``σ_k²`` [W], ``> 0``.
    :return: :class:`ChannelFeatures` ``(channel_obs, gain_db, snr_gain)``:

        * ``channel_obs`` ``(B, M, K, 2N)`` float32 ``[Re(h/σ_k), Im(h/σ_k)]`` (the ``N``
          real parts, then the ``N`` imaginary parts), clipped to ``±CHANNEL_OBS_BOUND``;
        * ``gain_db`` ``(B, M, K)`` float32 ``10 log10(‖h_mk‖² / σ_k²)`` [dB], clipped to
          :data:`GAIN_DB_RANGE` (a zero channel reads the lower end);
        * ``snr_gain`` ``(B, M, K)`` ``‖h_mk‖² / σ_k²`` (linear, unclipped).
    """
    # complex x real is cheaper than complex / real
    scaled = channels * noise_power.rsqrt().unsqueeze(-2).unsqueeze(-1)
    snr_gain = torch.view_as_real(scaled).square().sum(dim=(-2, -1))
    gain_db = 10.0 * torch.log10(snr_gain.clamp_min(10.0 ** (GAIN_DB_RANGE[0] / 10.0)))
    gain_db = gain_db.clamp(*GAIN_DB_RANGE).to(torch.float32)
    channel_obs = torch.cat([scaled.real, scaled.imag], dim=-1).to(torch.float32)
    channel_obs = channel_obs.clamp(-CHANNEL_OBS_BOUND, CHANNEL_OBS_BOUND)
    return ChannelFeatures(channel_obs, gain_db, snr_gain)
