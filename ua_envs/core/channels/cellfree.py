"""Cell-free channels: three-slope (docs/model.md §3.2, [EGAT]) and 3GPP UMi (§3.3, [SupportSet]).

Both scenarios place ``M`` access points (APs, ``N`` antennas each) and ``K`` single-antenna UEs
i.i.d. uniform in an ``area_m × area_m`` square with wrap-around (the deployment is a torus:
distances are the minimum over the 3×3 tiling, so none exceeds ``area_m/√2``), and draw
uncorrelated Rayleigh fading ``h_{m,k} = sqrt(β_{m,k}) g_{m,k}``, ``g ~ CN(0, I_N)``, so that
``E‖h_{m,k}‖² = N β_{m,k}``. Hermitian convention: UE k receives ``Σ_m h_{m,k}^H x_m``.

``cellfree_3slope`` (Ngo, Tran, Duong, Matthaiou, Larsson, "On the total energy efficiency of
cell-free massive MIMO", IEEE TGCN 2018 / Ngo et al. 2017, as adopted by [EGAT]); ``d`` the 2-D
wrap-around distance in km, ``d0 = 0.01``, ``d1 = 0.05``, ``f`` in MHz::

    L  = 46.3 + 33.9 log10 f - 13.82 log10 h_AP - (1.1 log10 f - 0.7) h_UE + (1.56 log10 f - 0.8)
    loss = L + 35 log10 d                         d > d1
         = L + 15 log10 d1 + 20 log10 d           d0 < d <= d1
         = L + 15 log10 d1 + 20 log10 d0          d <= d0
    β [dB] = -loss + σ_sh z_{m,k}   (shadowing only for d > d1)
    z_{m,k} = sqrt(δ) a_m + sqrt(1-δ) b_k
    E[a_m a_m'] = 2^{-d(m,m')/d_dc},  E[b_k b_k'] = 2^{-d(k,k')/d_dc}

``L = 140.7151 dB`` at the defaults (1.9 GHz, 15 m, 1.65 m). The AP and UE fields are drawn
through Cholesky factors of the correlation matrices built on wrap-around distances, with a
``CHOLESKY_JITTER = 1e-6`` diagonal loading (see
:func:`~ua_envs.core.channels.common.correlation_sqrt`).
Noise power is stated directly (-85 dBm). ``d_dc`` is 100 m in Ngo et al.; [EGAT] says 0.5 km:
it is the ``decorrelation_distance_m`` kwarg.

``cellfree_umi`` (3GPP urban microcell as used by Demir, Björnson, Sanguinetti, "Foundations of
user-centric cell-free massive MIMO", 2021, eq. (5.42)); ``d`` the 3-D distance (planar
wrap-around distance and ``height_difference_m``) in metres, clipped at 1 m::

    loss = 30.5 + 36.7 log10(d / 1 m)
    β [dB] = -loss + F_{m,k},   F ~ N(0, σ_sh²),  σ_sh = 4 dB

``F`` is i.i.d. by default; with ``correlated_shadowing=True`` it follows the book: for each AP m
independently, ``E[F_{m,k} F_{m,k'}] = σ_sh² 2^{-d(k,k')/d_dc}`` over UEs (``d_dc = 9 m``), and
shadowing of different APs is independent. Noise ``-174 + 10 log10(B) + NF`` dBm (-94 dBm at
20 MHz, NF 7 dB); 200 mW (23.01 dBm) per AP.

SNR sanity (docs/model.md §3.3) at the UMi defaults, with the strongest-link SNR of UE k defined as
``max_m N β_{m,k} P_m / σ_k²`` (the SNR UE k gets from its best AP alone with MRT and full power,
array gain included): the median over 100 000 draws is about 23.8 dB (20.8 dB per antenna,
without the ``N = 2`` array gain), inside the required [0, 30] dB, so the defaults are kept.

Random draws, in order (part of the seeded-determinism contract): AP positions, UE positions,
shadowing (3-slope: AP field then UE field; UMi: one ``(B, M, K)`` normal draw, or the per-AP
UE-correlated fields), Rayleigh fading ``(B, M, K, N)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ua_envs.core.channels.common import (
    ChannelSample,
    assemble_sample,
    check_generator,
    check_nonnegative_float,
    check_position_pair,
    check_positive_float,
    correlated_normal,
    correlation_sqrt,
    rayleigh_channels,
    sample_at_positions,
    sample_uniform,
)
from ua_envs.core.channels.configs import (
    UMI_TX_POWER_DBM,
    CellFree3SlopeConfig,
    CellFreeUmiConfig,
)
from ua_envs.core.geometry import with_height, wraparound_distances
from ua_envs.core.units import noise_power_dbm
from ua_envs.core.validation import check_float_range

__all__ = [
    "UMI_TX_POWER_DBM",
    "cellfree_3slope",
    "cellfree_3slope_from_positions",
    "cellfree_umi",
    "cellfree_umi_from_positions",
    "correlated_shadowing_db",
    "cost231_hata_constant_db",
    "three_slope_path_loss_db",
    "umi_path_loss_db",
]

#: Three-slope breakpoints [m] (Ngo et al.: d0 = 10 m, d1 = 50 m).
THREE_SLOPE_D0_M = 10.0
THREE_SLOPE_D1_M = 50.0
#: UMi path-loss distances are clipped at this minimum [m].
UMI_MIN_DISTANCE_M = 1.0


def cost231_hata_constant_db(
    carrier_mhz: float = 1900.0, ap_height_m: float = 15.0, ue_height_m: float = 1.65
) -> float:
    """Distance-independent term ``L`` of the three-slope model [dB].

    ``L = 46.3 + 33.9 log10 f - 13.82 log10 h_AP - (1.1 log10 f - 0.7) h_UE + (1.56 log10 f - 0.8)``
    with ``f`` in MHz and heights in metres.

    >>> round(cost231_hata_constant_db(), 4)
    140.7151
    """
    f = check_positive_float("carrier_mhz", carrier_mhz)
    h_ap = check_positive_float("ap_height_m", ap_height_m)
    h_ue = check_positive_float("ue_height_m", ue_height_m)
    log_f = math.log10(f)
    return (
        46.3
        + 33.9 * log_f
        - 13.82 * math.log10(h_ap)
        - (1.1 * log_f - 0.7) * h_ue
        + (1.56 * log_f - 0.8)
    )


def three_slope_path_loss_db(
    distance_m: Tensor | float,
    *,
    carrier_mhz: float = 1900.0,
    ap_height_m: float = 15.0,
    ue_height_m: float = 1.65,
) -> Tensor:
    """Three-slope path LOSS in dB (positive), without shadowing; docs/model.md §3.2 writes
    ``PL = -loss``.

    :param distance_m: ``(...)`` distance [m] (converted to km inside the formula).
    :return: ``(...)`` loss [dB], float.

    >>> [round(float(three_slope_path_loss_db(d)), 2) for d in (5.0, 50.0, 100.0, 500.0)]
    [81.2, 95.18, 105.72, 130.18]
    """
    big_l = cost231_hata_constant_db(carrier_mhz, ap_height_m, ue_height_m)
    d = torch.as_tensor(distance_m)
    if not d.is_floating_point():
        d = d.to(torch.get_default_dtype())
    d_km = d / 1000.0
    d0_km, d1_km = THREE_SLOPE_D0_M / 1000.0, THREE_SLOPE_D1_M / 1000.0
    far = big_l + 35.0 * torch.log10(d_km.clamp_min(d1_km))
    mid = big_l + 15.0 * math.log10(d1_km) + 20.0 * torch.log10(d_km.clamp(d0_km, d1_km))
    return torch.where(d_km > d1_km, far, mid)


def umi_path_loss_db(distance_m: Tensor | float) -> Tensor:
    """3GPP UMi path LOSS ``30.5 + 36.7 log10(d / 1 m)`` in dB (positive), d clipped at 1 m.

    :param distance_m: ``(...)`` 3-D distance [m].
    :return: ``(...)`` loss [dB], float.

    >>> round(float(umi_path_loss_db(100.0)), 2)
    103.9
    """
    d = torch.as_tensor(distance_m)
    if not d.is_floating_point():
        d = d.to(torch.get_default_dtype())
    return 30.5 + 36.7 * torch.log10(d.clamp_min(UMI_MIN_DISTANCE_M))


def correlated_shadowing_db(
    generator: torch.Generator,
    bs_positions: Tensor,
    ue_positions: Tensor,
    *,
    area_m: float | None = None,
    shadowing_std_db: float = 8.0,
    shadowing_delta: float = 0.5,
    decorrelation_distance_m: float = 100.0,
) -> Tensor:
    """Two-component correlated shadowing ``σ_sh z_{m,k}`` of Ngo et al. (docs/model.md §3.2) [dB].

    ``z_{m,k} = sqrt(δ) a_m + sqrt(1-δ) b_k`` with ``a ~ N(0, C_AP)``, ``b ~ N(0, C_UE)``,
    ``C[i,j] = 2^{-d(i,j)/d_dc}`` (wrap-around distances when ``area_m`` is given, else planar).
    So ``z`` is standard normal and, e.g., ``E[z_{m,k} z_{m',k}] = δ 2^{-d(m,m')/d_dc} + 1 - δ``.
    Draws the AP field, then the UE field. No distance-dependent masking here (the three-slope
    generator applies shadowing only for ``d > d1``).

    :param generator: random source; its device is the output device.
    :param bs_positions: ``(B, M, 2)`` real [m].
    :param ue_positions: ``(B, K, 2)`` real [m].
    :param area_m: side of the wrap-around square [m], or ``None`` for planar distances.
    :param shadowing_std_db: ``σ_sh >= 0`` [dB].
    :param shadowing_delta: ``δ ∈ [0, 1]``, weight of the AP component.
    :param decorrelation_distance_m: ``d_dc > 0`` [m].
    :return: ``(B, M, K)`` shadowing [dB], dtype of ``bs_positions`` (if floating).
    """
    generator = check_generator(generator)
    shadowing_std_db = check_nonnegative_float("shadowing_std_db", shadowing_std_db)
    shadowing_delta = check_float_range("shadowing_delta", shadowing_delta, 0.0, 1.0)
    decorrelation_distance_m = check_positive_float(
        "decorrelation_distance_m", decorrelation_distance_m
    )
    check_position_pair(bs_positions, ue_positions)
    dev = generator.device
    bs = bs_positions.to(dev)
    ue = ue_positions.to(dev)
    out_dtype = bs.dtype if bs.is_floating_point() else torch.get_default_dtype()
    ap_factor = correlation_sqrt(
        bs, decorrelation_distance_m=decorrelation_distance_m, area_m=area_m
    )
    ue_factor = correlation_sqrt(
        ue, decorrelation_distance_m=decorrelation_distance_m, area_m=area_m
    )
    a = correlated_normal(generator, ap_factor)  # (B, M)
    b = correlated_normal(generator, ue_factor)  # (B, K)
    z = math.sqrt(shadowing_delta) * a.unsqueeze(-1) + math.sqrt(
        1.0 - shadowing_delta
    ) * b.unsqueeze(-2)
    return (shadowing_std_db * z).to(out_dtype)


def _finish(
    generator: torch.Generator,
    bs: Tensor,
    ue: Tensor,
    distances: Tensor,
    gain_db: Tensor,
    config: CellFree3SlopeConfig | CellFreeUmiConfig,
    noise_dbm: float,
    dtype: torch.dtype,
) -> ChannelSample:
    # Rayleigh fading is the last draw of both scenarios.
    channels = rayleigh_channels(generator, gain_db, config.num_antennas, dtype=dtype)
    return assemble_sample(
        channels,
        bs,
        ue,
        distances,
        gain_db,
        tx_power_dbm=config.tx_power_dbm,
        noise_power_dbm=noise_dbm,
        area_m=config.area_m,
        bandwidth_hz=config.bandwidth_hz,
    )


# --------------------------------------------------------------------------------------------
# three-slope (docs/model.md §3.2)
# --------------------------------------------------------------------------------------------


def _cellfree_3slope_channels(
    generator: torch.Generator,
    bs: Tensor,
    ue: Tensor,
    config: CellFree3SlopeConfig,
    dtype: torch.dtype,
) -> ChannelSample:
    """The three-slope model of the module docstring, after the positions."""
    distances = wraparound_distances(bs, ue, config.area_m)  # (B, M, K), 2-D
    loss_db = three_slope_path_loss_db(
        distances,
        carrier_mhz=1000.0 * config.carrier_ghz,
        ap_height_m=config.ap_height_m,
        ue_height_m=config.ue_height_m,
    )
    shadow_db = correlated_shadowing_db(
        generator,
        bs,
        ue,
        area_m=config.area_m,
        shadowing_std_db=config.shadowing_std_db,
        shadowing_delta=config.shadowing_delta,
        decorrelation_distance_m=config.decorrelation_distance_m,
    )
    shadow_db = torch.where(distances > THREE_SLOPE_D1_M, shadow_db, 0.0)
    gain_db = -loss_db + shadow_db
    return _finish(generator, bs, ue, distances, gain_db, config, config.noise_power_dbm, dtype)


def cellfree_3slope(
    generator: torch.Generator,
    batch_size: int,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Draw ``batch_size`` fronthaul-limited cell-free instances (docs/model.md §3.2, module
    docstring).

    :param generator: the env's single random source; its device is the output device.
    :param batch_size: ``B >= 1``.
    :param dtype: ``torch.complex64`` or ``torch.complex128``.
    :param parameters: fields of :class:`~ua_envs.core.channels.configs.CellFree3SlopeConfig`
        (``num_bs``, ``num_antennas``, ``num_ues``, ``area_m``, ``ap_height_m``, ...; their
        meaning, units, defaults and bounds are documented there).
    :return: :class:`ChannelSample`: ``channels (B, M, K, N)``, ``tx_power (B, M)`` [W],
        ``noise_power (B, K)`` [W], positions i.i.d. uniform in ``[0, area_m)²``, 2-D
        wrap-around ``distances_m`` ``(B, M, K)`` and ``large_scale_gain_db = 10 log10 β``.
    :raises ValueError: a bad argument, or an unknown parameter name (listing the valid ones).

    >>> s = cellfree_3slope(torch.Generator().manual_seed(0), 2)
    >>> tuple(s.channels.shape), bool(s.distances_m.max() <= 500 / 2**0.5)
    ((2, 8, 4, 2), True)
    """
    return sample_uniform(
        _cellfree_3slope_channels, CellFree3SlopeConfig, generator, batch_size, dtype, parameters
    )


def cellfree_3slope_from_positions(
    generator: torch.Generator,
    bs_positions: Tensor,
    ue_positions: Tensor,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Three-slope cell-free channels for given positions (lower level of :func:`cellfree_3slope`).

    Positions must lie in ``[0, area_m)²`` (wrap-around distances assume it).

    :param bs_positions: ``(B, M, 2)`` real [m].
    :param ue_positions: ``(B, K, 2)`` real [m].
    :param parameters: fields of :class:`~ua_envs.core.channels.configs.CellFree3SlopeConfig`
        except ``num_bs`` / ``num_ues`` (given by the positions' shapes).
    :return: :class:`ChannelSample` (see :func:`cellfree_3slope`).
    """
    return sample_at_positions(
        _cellfree_3slope_channels,
        CellFree3SlopeConfig,
        generator,
        bs_positions,
        ue_positions,
        dtype,
        parameters,
    )


# --------------------------------------------------------------------------------------------
# 3GPP UMi (docs/model.md §3.3)
# --------------------------------------------------------------------------------------------


def _cellfree_umi_channels(
    generator: torch.Generator,
    bs: Tensor,
    ue: Tensor,
    config: CellFreeUmiConfig,
    dtype: torch.dtype,
) -> ChannelSample:
    """The UMi model of the module docstring, after the positions."""
    planar = wraparound_distances(bs, ue, config.area_m)
    distances = with_height(planar, config.height_difference_m).clamp_min(UMI_MIN_DISTANCE_M)
    if config.correlated_shadowing:
        # The cell-free book: correlated over UEs (2^{-d/d_dc}), independent across APs.
        factor = correlation_sqrt(
            ue, decorrelation_distance_m=config.decorrelation_distance_m, area_m=config.area_m
        )
        shadow = correlated_normal(generator, factor, num_fields=bs.shape[1]).to(bs.dtype)
    else:
        shadow = torch.randn(distances.shape, generator=generator, device=bs.device, dtype=bs.dtype)
    gain_db = -umi_path_loss_db(distances) + config.shadowing_std_db * shadow
    noise_dbm = noise_power_dbm(config.bandwidth_hz, config.noise_figure_db)
    return _finish(generator, bs, ue, distances, gain_db, config, noise_dbm, dtype)


def cellfree_umi(
    generator: torch.Generator,
    batch_size: int,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Draw ``batch_size`` user-centric cell-free UMi instances (docs/model.md §3.3, module
    docstring).

    :param generator: the env's single random source; its device is the output device.
    :param batch_size: ``B >= 1``.
    :param dtype: ``torch.complex64`` or ``torch.complex128``.
    :param parameters: fields of :class:`~ua_envs.core.channels.configs.CellFreeUmiConfig`
        (``num_bs``, ``num_antennas``, ``num_ues``, ``area_m``, ``height_difference_m``, ...;
        their meaning, units, defaults and bounds are documented there).
    :return: :class:`ChannelSample`: ``channels (B, M, K, N)``, ``tx_power (B, M)`` [W],
        ``noise_power (B, K)`` [W], positions i.i.d. uniform in ``[0, area_m)²``, 3-D
        wrap-around ``distances_m`` ``(B, M, K)`` and ``large_scale_gain_db = 10 log10 β``.
    :raises ValueError: a bad argument, or an unknown parameter name (listing the valid ones).

    >>> s = cellfree_umi(torch.Generator().manual_seed(0), 2)
    >>> tuple(s.channels.shape), round(10 * math.log10(float(s.noise_power[0, 0])) + 30, 2)
    ((2, 8, 6, 2), -93.99)
    """
    return sample_uniform(
        _cellfree_umi_channels, CellFreeUmiConfig, generator, batch_size, dtype, parameters
    )


def cellfree_umi_from_positions(
    generator: torch.Generator,
    bs_positions: Tensor,
    ue_positions: Tensor,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """UMi cell-free channels for given positions (lower level of :func:`cellfree_umi`).

    Positions must lie in ``[0, area_m)²`` (wrap-around distances assume it).

    :param bs_positions: ``(B, M, 2)`` real [m].
    :param ue_positions: ``(B, K, 2)`` real [m].
    :param parameters: fields of :class:`~ua_envs.core.channels.configs.CellFreeUmiConfig`
        except ``num_bs`` / ``num_ues`` (given by the positions' shapes).
    :return: :class:`ChannelSample` (see :func:`cellfree_umi`).
    """
    return sample_at_positions(
        _cellfree_umi_channels,
        CellFreeUmiConfig,
        generator,
        bs_positions,
        ue_positions,
        dtype,
        parameters,
    )
