"""Multi-cell 28 GHz mmWave channels (docs/model.md §3.1; [GS-GNN], [AttSKGS]).

Geometry: ``M`` BSs and ``K`` UEs i.i.d. uniform in an ``area_m × area_m`` square (no
wrap-around), every BS a half-wavelength ULA of ``N`` antennas along the x axis.

Channel of the link (m, k), Hermitian convention (UE k receives ``h_{m,k}^H x_m``)::

    h = (1/sqrt(I)) Σ_{i=1..I} α_i e^{jφ_i} a(θ_i),
    a(θ) = [1, e^{jπ sinθ}, …, e^{jπ(N-1) sinθ}]         (NOT normalised)
    |α_i|² = 10^{-PL_i/10},   φ_i ~ U[0, 2π)

so that ``E_φ ‖h‖² = N · (1/I) Σ_i 10^{-PL_i/10}`` and, with one common path loss,
``E‖h‖² = N · 10^{-PL/10}``. Angles are measured from the array broadside (the +y axis):
path 1 leaves at the geometric angle ``θ_0 = atan2(Δx, Δy)`` of the UE seen from the BS (so
``sin θ_0 = Δx / d``); paths 2..I at ``θ_0 + Δθ_i`` with ``Δθ_i`` i.i.d. Laplacian, zero mean,
rms ``angular_spread_deg`` (10.2° default; scale ``b = rms/√2``).

Path loss (Akdeniz et al., "Millimeter wave channel modeling and cellular capacity
evaluation", IEEE JSAC 2014, 28 GHz fit), ``d`` the 2-D distance in metres clipped at 1 m::

    PL_i = α + 10 β log10(d) + ξ_i,  ξ_i ~ N(0, σ²)
    LOS : α = 61.4 dB, β = 2.0,  σ = 5.8 dB
    NLOS: α = 72.0 dB, β = 2.92, σ = 8.7 dB
    p_LOS(d) = exp(-d / 67.1 m)

Choices where docs/model.md §3.1 is silent (documented decisions):

* The LOS/NLOS state is drawn once per link (m, k) and shared by its ``I`` paths; the
  shadowing ``ξ_i`` is drawn i.i.d. **per path** (docs/model.md §3.1 writes
  ``|α_i|² = 10^{-PL_i/10}`` with a per-path ``PL_i``).
  ``large_scale_gain_db = 10 log10((1/I) Σ_i 10^{-PL_i/10})``.
* Outage (``outage=True``; off by default): ``p_out(d) = max(0, 1 - exp(-d/30 + 5.2))``; a link
  in outage has ``h = 0`` exactly and ``large_scale_gain_db = OUTAGE_GAIN_DB`` (-300 dB, a
  finite floor instead of -inf). As in Akdeniz et al., ``P(LOS) = (1 - p_out) exp(-d/67.1)``.
* ``carrier_ghz`` other than 28 shifts both intercepts ``α`` by ``20 log10(f / 28 GHz)`` (the
  free-space frequency dependence; 61.4 dB is the 1 m free-space loss at 28 GHz). This is an
  extrapolation outside the measured band; at the default 28 GHz the table is used exactly.
* Noise power per UE: ``-174 dBm/Hz + 10 log10(bandwidth_hz) + noise_figure_db`` (-84 dBm at
  the defaults).

Random draws, in this order (part of the seeded-determinism contract): BS positions, UE
positions, outage uniforms, LOS uniforms, per-path shadowing, angle offsets (magnitude, sign),
path phases. All draws come from the ``torch.Generator`` passed in, and happen whether or not
``outage`` is on, so toggling it changes only the outage links.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ua_envs.core.channels.common import (
    ChannelSample,
    assemble_sample,
    check_bool,
    check_count,
    check_generator,
    check_nonnegative_float,
    check_positive_float,
    log10_mean_power_db,
    sample_at_positions,
    sample_uniform,
)
from ua_envs.core.channels.configs import MmWave28Config
from ua_envs.core.geometry import planar_distances
from ua_envs.core.units import noise_power_dbm

__all__ = [
    "LOS_DECAY_M",
    "OUTAGE_GAIN_DB",
    "MmWaveLargeScale",
    "laplacian_offsets_rad",
    "mmwave28",
    "mmwave28_from_positions",
    "mmwave28_large_scale",
    "mmwave28_path_loss_db",
    "ula_steering",
]

#: Akdeniz et al. 2014, 28 GHz: (α [dB], β, σ [dB]).
LOS_PARAMS = (61.4, 2.0, 5.8)
NLOS_PARAMS = (72.0, 2.92, 8.7)
#: ``p_LOS(d) = exp(-d / LOS_DECAY_M)``.
LOS_DECAY_M = 67.1
#: ``p_out(d) = max(0, 1 - exp(-OUTAGE_A_PER_M d + OUTAGE_B))``.
OUTAGE_A_PER_M = 1.0 / 30.0
OUTAGE_B = 5.2
#: Finite stand-in for ``-inf`` dB on links in outage (their channel is exactly 0).
OUTAGE_GAIN_DB = -300.0
#: The reference frequency of the Akdeniz fit.
REFERENCE_CARRIER_GHZ = 28.0
#: Path-loss model distances are clipped at this minimum.
MIN_DISTANCE_M = 1.0


def mmwave28_path_loss_db(
    distance_m: Tensor | float,
    los: Tensor | bool,
    *,
    carrier_ghz: float = REFERENCE_CARRIER_GHZ,
) -> Tensor:
    """Mean path LOSS ``α + 10 β log10(d)`` in dB (positive), without shadowing ``ξ``.

    Sign convention shared by every ``*_path_loss_db`` function of this package: the result is
    a loss (positive dB); the power gain is ``10^{-loss/10}``.

    :param distance_m: ``(...)`` distance [m]; clipped at 1 m.
    :param los: ``(...)`` bool (broadcasts with ``distance_m``): LOS (True) or NLOS parameters.
    :param carrier_ghz: carrier [GHz]; ``α`` shifts by ``20 log10(carrier_ghz / 28)``.
    :return: ``(...)`` loss [dB], float (float32 unless ``distance_m`` is float64).

    >>> round(float(mmwave28_path_loss_db(100.0, True)), 2)
    101.4
    >>> round(float(mmwave28_path_loss_db(100.0, False)), 2)
    130.4
    """
    carrier_ghz = check_positive_float("carrier_ghz", carrier_ghz)
    d = torch.as_tensor(distance_m)
    if not d.is_floating_point():
        d = d.to(torch.get_default_dtype())
    los_t = torch.as_tensor(los, device=d.device)
    alpha_los, beta_los, _ = LOS_PARAMS
    alpha_nlos, beta_nlos, _ = NLOS_PARAMS
    log_d = torch.log10(d.clamp_min(MIN_DISTANCE_M))
    loss_los = alpha_los + 10.0 * beta_los * log_d
    loss_nlos = alpha_nlos + 10.0 * beta_nlos * log_d
    shift = 20.0 * math.log10(carrier_ghz / REFERENCE_CARRIER_GHZ)
    return torch.where(los_t, loss_los, loss_nlos) + shift


def ula_steering(theta_rad: Tensor, num_antennas: int) -> Tensor:
    """Unnormalised half-wavelength ULA response ``a(θ)_n = e^{jπ n sin θ}``, ``n = 0..N-1``.

    ``θ`` is measured from broadside; ``‖a(θ)‖² = N``.

    :param theta_rad: ``(...)`` real angles [rad].
    :param num_antennas: ``N >= 1``.
    :return: ``(..., N)`` complex (complex64 for float32 input, complex128 for float64).

    >>> a = ula_steering(torch.tensor(0.0), 4)
    >>> a.real.tolist(), float(a.abs().square().sum())
    ([1.0, 1.0, 1.0, 1.0], 4.0)
    """
    num_antennas = check_count("num_antennas", num_antennas)
    n = torch.arange(num_antennas, device=theta_rad.device, dtype=theta_rad.dtype)
    phase = math.pi * torch.sin(theta_rad).unsqueeze(-1) * n
    return torch.polar(torch.ones_like(phase), phase)


def laplacian_offsets_rad(
    generator: torch.Generator,
    shape: tuple[int, ...],
    rms_deg: float,
    *,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Zero-mean Laplacian angle offsets [rad] with rms ``rms_deg`` degrees.

    ``Laplace(0, b)`` has rms ``b √2``, so ``b = rms/√2``; drawn as ``±b·E``, ``E ~ Exp(1)``
    (magnitudes first, then signs from uniforms).

    :return: ``shape`` real tensor on ``generator.device``.
    """
    rms_deg = check_nonnegative_float("angular_spread_deg", rms_deg)
    dev = generator.device
    scale_rad = math.radians(rms_deg) / math.sqrt(2.0)
    magnitude = torch.empty(shape, device=dev, dtype=dtype).exponential_(1.0, generator=generator)
    sign = torch.rand(shape, generator=generator, device=dev, dtype=dtype) < 0.5
    return scale_rad * torch.where(sign, magnitude, -magnitude)


class MmWaveLargeScale(NamedTuple):
    """Large-scale draw of :func:`mmwave28_large_scale` (all ``(B, M, K[, I])``)."""

    path_gain_db: Tensor  #: (B, M, K, I) float dB, ``-PL_i`` (OUTAGE_GAIN_DB in outage)
    los: Tensor  #: (B, M, K) bool, link in LOS
    outage: Tensor  #: (B, M, K) bool, link in outage (always False with ``outage=False``)


def mmwave28_large_scale(
    generator: torch.Generator,
    distance_m: Tensor,
    *,
    num_paths: int = 3,
    outage: bool = False,
    carrier_ghz: float = REFERENCE_CARRIER_GHZ,
) -> MmWaveLargeScale:
    """Draw link states (outage / LOS / NLOS) and per-path shadowed path gains.

    Draws, in order: outage uniforms ``(B, M, K)``, LOS uniforms ``(B, M, K)``, shadowing
    normals ``(B, M, K, I)``.

    :param generator: random source; its device must be ``distance_m``'s device.
    :param distance_m: ``(B, M, K)`` float distances [m] (clipped at 1 m here).
    :param num_paths: ``I >= 1``.
    :param outage: enable the outage state (off by default, docs/model.md §3.1).
    :param carrier_ghz: see :func:`mmwave28_path_loss_db`.
    :return: :class:`MmWaveLargeScale` with ``path_gain_db = -(α + 10 β log10 d + ξ_i)``.
    """
    generator = check_generator(generator)
    num_paths = check_count("num_paths", num_paths)
    outage = check_bool("outage", outage)
    d = distance_m.clamp_min(MIN_DISTANCE_M)
    shape = tuple(d.shape)
    dev, real = d.device, d.dtype
    u_out = torch.rand(shape, generator=generator, device=dev, dtype=real)
    u_los = torch.rand(shape, generator=generator, device=dev, dtype=real)
    xi = torch.randn((*shape, num_paths), generator=generator, device=dev, dtype=real)
    if outage:
        p_out = (1.0 - torch.exp(-OUTAGE_A_PER_M * d + OUTAGE_B)).clamp_min(0.0)
        in_outage = u_out < p_out
    else:
        in_outage = torch.zeros(shape, dtype=torch.bool, device=dev)
    los = (u_los < torch.exp(-d / LOS_DECAY_M)) & ~in_outage
    sigma_los = torch.tensor(LOS_PARAMS[2], device=dev, dtype=real)
    sigma_nlos = torch.tensor(NLOS_PARAMS[2], device=dev, dtype=real)
    sigma = torch.where(los, sigma_los, sigma_nlos)
    loss = mmwave28_path_loss_db(d, los, carrier_ghz=carrier_ghz).unsqueeze(-1)
    path_gain_db = -(loss + sigma.unsqueeze(-1) * xi)
    path_gain_db = torch.where(in_outage.unsqueeze(-1), OUTAGE_GAIN_DB, path_gain_db)
    return MmWaveLargeScale(path_gain_db=path_gain_db, los=los, outage=in_outage)


def _mmwave28_channels(
    generator: torch.Generator, bs: Tensor, ue: Tensor, config: MmWave28Config, dtype: torch.dtype
) -> ChannelSample:
    """The model of the module docstring, after the positions (a :data:`ChannelModel`)."""
    real, dev = bs.dtype, bs.device
    batch, num_bs, num_ues = bs.shape[0], bs.shape[1], ue.shape[1]
    num_paths, num_antennas = config.num_paths, config.num_antennas

    distances = planar_distances(bs, ue).clamp_min(MIN_DISTANCE_M)  # (B, M, K)
    large = mmwave28_large_scale(
        generator,
        distances,
        num_paths=num_paths,
        outage=config.outage,
        carrier_ghz=config.carrier_ghz,
    )

    # Angles from broadside (+y) of the x-axis ULA: sin θ_0 = Δx / d.
    delta = ue.unsqueeze(-3) - bs.unsqueeze(-2)  # (B, M, K, 2)
    theta0 = torch.atan2(delta[..., 0], delta[..., 1])
    link_shape = (batch, num_bs, num_ues)
    offsets = laplacian_offsets_rad(
        generator, (*link_shape, num_paths - 1), config.angular_spread_deg, dtype=real
    )
    offsets = torch.cat([torch.zeros((*link_shape, 1), device=dev, dtype=real), offsets], -1)
    theta = theta0.unsqueeze(-1) + offsets  # (B, M, K, I)
    phi = (2.0 * math.pi) * torch.rand(theta.shape, generator=generator, device=dev, dtype=real)

    n = torch.arange(num_antennas, device=dev, dtype=real)
    phase = phi.unsqueeze(-1) + math.pi * torch.sin(theta).unsqueeze(-1) * n  # (B,M,K,I,N)
    amplitude = torch.pow(10.0, large.path_gain_db / 20.0)
    amplitude = torch.where(large.outage.unsqueeze(-1), 0.0, amplitude)
    # a·cos + j a·sin with a broadcast: torch.polar needs an expanded (materialised) amplitude
    # and is about twice as slow at batch 4096.
    amplitude = amplitude.unsqueeze(-1)
    paths = torch.complex(amplitude * torch.cos(phase), amplitude * torch.sin(phase))
    channels = paths.sum(dim=-2) / math.sqrt(num_paths)
    channels = channels.to(dtype)

    gain_db = log10_mean_power_db(large.path_gain_db, dim=-1)
    gain_db = torch.where(large.outage, OUTAGE_GAIN_DB, gain_db)
    return assemble_sample(
        channels,
        bs,
        ue,
        distances,
        gain_db,
        tx_power_dbm=config.tx_power_dbm,
        noise_power_dbm=noise_power_dbm(config.bandwidth_hz, config.noise_figure_db),
        area_m=config.area_m,
        bandwidth_hz=config.bandwidth_hz,
    )


def mmwave28(
    generator: torch.Generator,
    batch_size: int,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Draw ``batch_size`` multi-cell 28 GHz mmWave instances (docs/model.md §3.1, module
    docstring).

    :param generator: the env's single random source; its device is the output device.
    :param batch_size: ``B >= 1``.
    :param dtype: ``torch.complex64`` or ``torch.complex128`` (real tensors float32 / 64).
    :param parameters: fields of :class:`~ua_envs.core.channels.configs.MmWave28Config`
        (``num_bs``, ``num_antennas``, ``num_ues``, ``area_m``, ``carrier_ghz``, ...; their
        meaning, units, defaults and bounds are documented there).
    :return: :class:`ChannelSample`: ``channels (B, M, K, N)``, ``tx_power (B, M)`` [W],
        ``noise_power (B, K)`` [W], positions ``(B, M, 2)`` / ``(B, K, 2)`` [m] i.i.d. uniform
        in ``[0, area_m)²``, 2-D distances ``(B, M, K)`` [m] clipped at 1 m, and
        ``large_scale_gain_db = 10 log10((1/I) Σ_i 10^{-PL_i/10})`` ``(B, M, K)``.
    :raises ValueError: a bad argument, or an unknown parameter name (listing the valid ones).

    >>> s = mmwave28(torch.Generator().manual_seed(0), 3)
    >>> tuple(s.channels.shape), s.channels.dtype, round(float(s.noise_power[0, 0]) * 1e12, 2)
    ((3, 2, 8, 4), torch.complex64, 3.98)
    """
    return sample_uniform(
        _mmwave28_channels, MmWave28Config, generator, batch_size, dtype, parameters
    )


def mmwave28_from_positions(
    generator: torch.Generator,
    bs_positions: Tensor,
    ue_positions: Tensor,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """mmWave channels for given positions (the lower level of :func:`mmwave28`).

    Useful to fix a geometry (tests, hand-built scenarios). Positions are used as given (they
    need not lie inside ``area_m``, which is only recorded in the sample). Same draws as
    :func:`mmwave28` after the positions.

    :param generator: random source; its device is the output device.
    :param bs_positions: ``(B, M, 2)`` real [m].
    :param ue_positions: ``(B, K, 2)`` real [m].
    :param dtype: ``torch.complex64`` or ``torch.complex128``.
    :param parameters: fields of :class:`~ua_envs.core.channels.configs.MmWave28Config` except
        ``num_bs`` / ``num_ues`` (given by the positions' shapes).
    :return: :class:`ChannelSample` (see :func:`mmwave28`).
    """
    return sample_at_positions(
        _mmwave28_channels, MmWave28Config, generator, bs_positions, ue_positions, dtype, parameters
    )
