"""Shared pieces of the channel generators (docs/model.md §0 conventions, §3 preamble).

* :class:`ChannelSample`: what every generator returns — channels plus the geometry
  (positions, distances, large-scale gains) so that observations and renderings can use them.
* Validation helpers for generator kwargs (every bad value raises ``ValueError`` naming it).
* :func:`rayleigh_channels`: ``h = sqrt(β) g`` with ``g ~ CN(0, I_N)``.
* :func:`correlation_sqrt` / :func:`correlated_normal`: spatially correlated standard normal
  fields with correlation ``2^{-d/d_dc}`` (Ngo et al. 2017 / the cell-free book's model), drawn
  through a Cholesky factor.

Randomness comes only from the ``torch.Generator`` passed in; its device is the output device.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor

from ua_envs.core.channels.configs import build_config
from ua_envs.core.geometry import planar_distances, uniform_positions, wraparound_distances
from ua_envs.core.units import dbm_to_watt
from ua_envs.core.validation import check_float_range, check_int_range, check_shape, real_dtype

__all__ = [
    "CHOLESKY_JITTER",
    "ChannelModel",
    "ChannelSample",
    "assemble_sample",
    "check_complex_dtype",
    "check_generator",
    "check_position_pair",
    "correlated_normal",
    "correlation_sqrt",
    "positions_on",
    "rayleigh_channels",
    "sample_at_positions",
    "sample_uniform",
    "uniform_deployment",
]

#: Diagonal jitter added to shadowing correlation matrices before the Cholesky factorisation.
#: Two points at (nearly) the same place give a (nearly) singular ``2^{-d/d_dc}`` matrix; a
#: 1e-6 jitter changes every correlation by at most 1e-6 and keeps the factorisation stable.
CHOLESKY_JITTER = 1e-6


@dataclass(frozen=True, eq=False)
class ChannelSample:
    """One batch of drawn instances (batch first, transmitter-major; docs/model.md §0).

    * ``channels`` ``(B, M, K, N)`` complex64 (complex128 if asked) [sqrt(W)]: ``|h|²`` is a
      power gain; UE k receives ``Σ_m h_{m,k}^H x_m`` (Hermitian convention).
    * ``tx_power`` ``(B, M)`` float [W] per transmitter.
    * ``noise_power`` ``(B, K)`` float [W] per UE.
    * ``bs_positions`` ``(B, M, 2)`` float [m], inside ``[0, area_m)²``.
    * ``ue_positions`` ``(B, K, 2)`` float [m], inside ``[0, area_m)²``.
    * ``distances_m`` ``(B, M, K)`` float [m]: the distance the path-loss model used — 2-D
      planar clipped at 1 m for ``mmwave28``, 2-D wrap-around for ``cellfree_3slope``, 3-D
      wrap-around (clipped at 1 m) for ``cellfree_umi``.
    * ``large_scale_gain_db`` ``(B, M, K)`` float [dB]: ``10 log10 E|h_{m,k,n}|²`` given the
      large-scale draw (path loss incl. shadowing and LOS state), the expectation being over
      the small-scale fading only; negative numbers (a gain, not a loss).

    ``area_m`` is the side of the square deployment [m], ``bandwidth_hz`` the system bandwidth
    [Hz] (rates in bit/s are ``bandwidth_hz · log2(1 + SINR)``). The real dtype is float32 for
    complex64 channels and float64 for complex128. Equality is identity (``eq=False``):
    compare tensor fields with ``torch.equal``.
    """

    channels: Tensor
    tx_power: Tensor
    noise_power: Tensor
    bs_positions: Tensor
    ue_positions: Tensor
    distances_m: Tensor
    large_scale_gain_db: Tensor
    area_m: float
    bandwidth_hz: float

    @property
    def batch_size(self) -> int:
        """``B``, the number of instances."""
        return int(self.channels.shape[0])

    @property
    def num_bs(self) -> int:
        """``M``, transmitters (BSs or APs) per instance."""
        return int(self.channels.shape[1])

    @property
    def num_ues(self) -> int:
        """``K``, single-antenna UEs per instance."""
        return int(self.channels.shape[2])

    @property
    def num_antennas(self) -> int:
        """``N``, antennas per transmitter."""
        return int(self.channels.shape[3])

    def to(self, device: torch.device | str) -> ChannelSample:
        """Return a copy with every tensor moved to ``device`` (floats are kept)."""
        moved: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Tensor):
                moved[f.name] = value.to(device)
        return replace(self, **moved)


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def check_generator(generator: Any) -> torch.Generator:
    """Return ``generator`` if it is a ``torch.Generator``, else raise ``ValueError``."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(
            f"generator must be a torch.Generator (the env's single random source), "
            f"got {type(generator).__name__}"
        )
    return generator


def check_complex_dtype(dtype: Any) -> torch.dtype:
    """Return ``dtype`` if it is ``torch.complex64`` or ``torch.complex128``."""
    if dtype not in (torch.complex64, torch.complex128):
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype!r}")
    return dtype


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``, else raise ``ValueError`` naming ``name``."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return value


def check_count(name: str, value: Any) -> int:
    """Return ``value`` as a positive ``int`` (``>= 1``), else raise ``ValueError``."""
    return check_int_range(name, value, 1)


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite float ``> 0``, else raise ``ValueError``."""
    return check_float_range(name, value, 0.0, low_inclusive=False)


def check_nonnegative_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite float ``>= 0``, else raise ``ValueError``."""
    return check_float_range(name, value, 0.0)


def check_finite_float(name: str, value: Any) -> float:
    """Return ``value`` as a finite float, else raise ``ValueError``."""
    return check_float_range(name, value)


def check_position_pair(bs_positions: Tensor, ue_positions: Tensor) -> None:
    """Raise ``ValueError`` unless the positions are ``(B, M, 2)`` and ``(B, K, 2)``, same ``B``."""
    check_shape("bs_positions", bs_positions, (None, 2))
    check_shape("ue_positions", ue_positions, (None, 2))
    if bs_positions.dim() != 3 or ue_positions.dim() != 3:
        raise ValueError(
            f"bs_positions and ue_positions must be (B, M, 2) and (B, K, 2), got "
            f"{tuple(bs_positions.shape)} and {tuple(ue_positions.shape)}"
        )
    if bs_positions.shape[0] != ue_positions.shape[0]:
        raise ValueError(
            f"bs_positions and ue_positions must have the same batch size, got "
            f"{bs_positions.shape[0]} and {ue_positions.shape[0]}"
        )


def positions_on(
    generator: torch.Generator, bs_positions: Tensor, ue_positions: Tensor, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """Checked positions moved to ``generator.device`` in the real dtype of ``dtype``.

    :param bs_positions: ``(B, M, 2)`` real [m].
    :param ue_positions: ``(B, K, 2)`` real [m].
    :param dtype: the complex channel dtype (complex64 -> float32, complex128 -> float64).
    :return: ``(bs, ue)``, ``(B, M, 2)`` and ``(B, K, 2)`` [m].
    """
    check_position_pair(bs_positions, ue_positions)
    real = real_dtype(dtype)
    dev = generator.device
    return bs_positions.to(device=dev, dtype=real), ue_positions.to(device=dev, dtype=real)


def uniform_deployment(
    generator: torch.Generator,
    batch_size: int,
    num_bs: int,
    num_ues: int,
    area_m: float,
    dtype: torch.dtype,
) -> tuple[Tensor, Tensor]:
    """Draw BS positions, then UE positions, i.i.d. uniform in ``[0, area_m)²``.

    :param dtype: the complex channel dtype; positions use its real dtype.
    :return: ``(bs, ue)``, ``(B, M, 2)`` and ``(B, K, 2)`` [m] on ``generator.device``.
    """
    real = real_dtype(dtype)
    bs = uniform_positions(generator, batch_size, num_bs, area_m, dtype=real)
    ue = uniform_positions(generator, batch_size, num_ues, area_m, dtype=real)
    return bs, ue


#: ``(generator, bs, ue, config, dtype) -> ChannelSample``: the channel model of one scenario,
#: drawing everything after the positions (checked ``bs`` ``(B, M, 2)`` / ``ue`` ``(B, K, 2)``
#: on the generator's device in the real dtype of ``dtype``; ``config`` a checked config).
ChannelModel = Callable[[torch.Generator, Tensor, Tensor, Any, torch.dtype], ChannelSample]


def sample_uniform(
    channel_model: ChannelModel,
    config_class: type,
    generator: Any,
    batch_size: Any,
    dtype: Any,
    parameters: Mapping[str, Any],
) -> ChannelSample:
    """The body of every ``scenario(generator, batch_size, *, dtype, **parameters)`` function.

    Checks the arguments and builds ``config_class(**parameters)`` (before drawing anything),
    draws BS then UE positions i.i.d. uniform in ``[0, area_m)²``, and hands them to
    ``channel_model``.
    """
    generator = check_generator(generator)
    batch_size = check_count("batch_size", batch_size)
    dtype = check_complex_dtype(dtype)
    config: Any = build_config(config_class, parameters)
    bs, ue = uniform_deployment(
        generator, batch_size, config.num_bs, config.num_ues, config.area_m, dtype
    )
    return channel_model(generator, bs, ue, config, dtype)


def sample_at_positions(
    channel_model: ChannelModel,
    config_class: type,
    generator: Any,
    bs_positions: Tensor,
    ue_positions: Tensor,
    dtype: Any,
    parameters: Mapping[str, Any],
) -> ChannelSample:
    """The body of every ``scenario_from_positions`` function: like :func:`sample_uniform`
    with the given positions; ``num_bs`` / ``num_ues`` come from their shapes."""
    generator = check_generator(generator)
    dtype = check_complex_dtype(dtype)
    bs, ue = positions_on(generator, bs_positions, ue_positions, dtype)
    sizes = {"num_bs": bs.shape[1], "num_ues": ue.shape[1]}
    config: Any = build_config(
        config_class, parameters, fixed=sizes, fixed_by="the shapes of bs_positions/ue_positions"
    )
    return channel_model(generator, bs, ue, config, dtype)


def assemble_sample(
    channels: Tensor,
    bs: Tensor,
    ue: Tensor,
    distances: Tensor,
    gain_db: Tensor,
    *,
    tx_power_dbm: float,
    noise_power_dbm: float,
    area_m: float,
    bandwidth_hz: float,
) -> ChannelSample:
    """A :class:`ChannelSample` with the same ``tx_power_dbm`` on every transmitter and the same
    ``noise_power_dbm`` at every UE (converted to W in the real dtype of ``bs``).

    :param channels: ``(B, M, K, N)`` complex [sqrt(W)].
    :param bs: ``(B, M, 2)`` [m]; its device and dtype set those of the powers.
    :param ue: ``(B, K, 2)`` [m].
    :param distances: ``(B, M, K)`` [m].
    :param gain_db: ``(B, M, K)`` large-scale gain [dB].
    """
    batch, num_bs, num_ues = distances.shape
    tx_power = torch.full(
        (batch, num_bs), dbm_to_watt(tx_power_dbm), device=bs.device, dtype=bs.dtype
    )
    noise_power = torch.full(
        (batch, num_ues), dbm_to_watt(noise_power_dbm), device=bs.device, dtype=bs.dtype
    )
    return ChannelSample(
        channels=channels,
        tx_power=tx_power,
        noise_power=noise_power,
        bs_positions=bs,
        ue_positions=ue,
        distances_m=distances,
        large_scale_gain_db=gain_db,
        area_m=area_m,
        bandwidth_hz=bandwidth_hz,
    )


def _work_dtype(device: torch.device) -> torch.dtype:
    # float64 for the correlation factorisation where the device has it (MPS does not).
    return torch.float32 if device.type == "mps" else torch.float64


# --------------------------------------------------------------------------------------------
# small-scale fading and correlated shadowing
# --------------------------------------------------------------------------------------------


def rayleigh_channels(
    generator: torch.Generator,
    large_scale_gain_db: Tensor,
    num_antennas: int,
    *,
    dtype: torch.dtype = torch.complex64,
) -> Tensor:
    """Uncorrelated Rayleigh channels ``h_{m,k} = sqrt(β_{m,k}) g_{m,k}``, ``g ~ CN(0, I_N)``.

    ``β = 10^{gain_db/10}`` so that ``E‖h_{m,k}‖² = N β_{m,k}``.

    :param generator: random source; its device is the output device.
    :param large_scale_gain_db: ``(..., M, K)`` real, dB (negative for a loss).
    :param num_antennas: ``N >= 1``.
    :param dtype: complex64 or complex128.
    :return: ``(..., M, K, N)`` complex channels [sqrt(W)].
    """
    num_antennas = check_count("num_antennas", num_antennas)
    dtype = check_complex_dtype(dtype)
    real = real_dtype(dtype)
    # complex randn draws real and imaginary parts with variance 1/2 each: CN(0, 1).
    g = torch.randn(
        (*large_scale_gain_db.shape, num_antennas),
        generator=generator,
        device=generator.device,
        dtype=dtype,
    )
    amplitude = torch.pow(10.0, large_scale_gain_db.to(real) / 20.0)
    return amplitude.unsqueeze(-1) * g


def correlation_sqrt(
    positions: Tensor,
    *,
    decorrelation_distance_m: float,
    area_m: float | None = None,
    jitter: float = CHOLESKY_JITTER,
) -> Tensor:
    """Square-root factor ``F`` with ``F Fᵀ = C + jitter·I``, ``C[i,j] = 2^{-d(i,j)/d_dc}``.

    The exponential-decay model of Ngo et al. 2017 (eq. 54) used by docs/model.md §3.2. ``d`` is the
    wrap-around distance when ``area_m`` is given (the deployment is a torus), else the planar
    one. ``F`` is the lower Cholesky factor of ``C + jitter·I`` (computed in float64). Wrap-around
    distances do not make ``2^{-d/d_dc}`` positive definite by construction; for any batch
    element where the Cholesky factorisation still fails, ``F = Q diag(sqrt(max(λ, 0)))`` from
    the eigendecomposition ``C = Q diag(λ) Qᵀ`` (the nearest PSD square root).

    :param positions: ``(B, P, 2)`` real, m.
    :param decorrelation_distance_m: ``d_dc > 0`` [m]; correlation is 1/2 at ``d = d_dc``.
    :param area_m: side of the square [m] for wrap-around distances, or ``None`` (planar).
    :param jitter: diagonal loading (``>= 0``), default :data:`CHOLESKY_JITTER`.
    :return: ``(B, P, P)`` float64 factor (float32 on MPS).

    >>> pos = torch.tensor([[[0.0, 0.0], [100.0, 0.0]]])
    >>> f = correlation_sqrt(pos, decorrelation_distance_m=100.0, jitter=0.0)
    >>> round(float((f @ f.mT)[0, 0, 1]), 6)
    0.5
    """
    decorrelation_distance_m = check_positive_float(
        "decorrelation_distance_m", decorrelation_distance_m
    )
    jitter = check_nonnegative_float("jitter", jitter)
    work = _work_dtype(positions.device)
    pos = positions.to(work)
    if area_m is None:
        dist = planar_distances(pos, pos)
    else:
        dist = wraparound_distances(pos, pos, check_positive_float("area_m", area_m))
    corr = torch.pow(2.0, -dist / decorrelation_distance_m)
    eye = torch.eye(corr.shape[-1], dtype=work, device=corr.device)
    corr = corr + jitter * eye
    factor, info = torch.linalg.cholesky_ex(corr)
    failed = info != 0
    if bool(failed.any()):  # rare: near-coincident points or a non-PD wrap-around matrix
        evals, evecs = torch.linalg.eigh(corr)
        root = evecs * evals.clamp_min(0.0).sqrt().unsqueeze(-2)
        factor = torch.where(failed[..., None, None], root, factor)
    return factor


def correlated_normal(
    generator: torch.Generator, factor: Tensor, num_fields: int | None = None
) -> Tensor:
    """Standard normal vectors with covariance ``F Fᵀ``: ``x = F n``, ``n ~ N(0, I)``.

    :param generator: random source (device must match ``factor``).
    :param factor: ``(B, P, P)`` real square-root factor (see :func:`correlation_sqrt`).
    :param num_fields: ``None``: one field per batch element, output ``(B, P)``; an integer
        ``R``: ``R`` independent fields, output ``(B, R, P)``.
    :return: float tensor (dtype of ``factor``).
    """
    count = 1 if num_fields is None else check_count("num_fields", num_fields)
    noise = torch.randn(
        (factor.shape[0], factor.shape[-1], count),
        generator=generator,
        device=generator.device,
        dtype=factor.dtype,
    )
    fields_ = (factor @ noise).mT  # (B, R, P)
    return fields_[:, 0] if num_fields is None else fields_


def log10_mean_power_db(gains_db: Tensor, dim: int) -> Tensor:
    """``10 log10( mean_i 10^{gains_db_i/10} )`` along ``dim``, computed stably (logsumexp)."""
    scale = math.log(10.0) / 10.0
    count = gains_db.shape[dim]
    return (torch.logsumexp(gains_db * scale, dim=dim) - math.log(count)) / scale
