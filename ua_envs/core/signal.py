"""Downlink signal model shared by every environment (docs/model.md §1).

Layout, batch first and transmitter-major (``...`` are batch dims that broadcast):

===============  ===================  =======  ==================================
name             shape                dtype    unit
===============  ===================  =======  ==================================
``channels``     ``(..., M, K, N)``   complex  sqrt(W): ``|h|²`` is a power gain
``beams``        ``(..., M, K, N)``   complex  sqrt(W)
``association``  ``(..., M, K)``      bool or  ``a[m, k] = 1``: m serves k
                                      float
``tx_power``     ``(..., M)``         float    W
``noise_power``  ``(..., K)``         float    W
``weights``      ``(..., K)``         float    –
===============  ===================  =======  ==================================

Hermitian convention: UE k receives ``y_k = Σ_m h_{m,k}^H x_m + n_k``, so the effective gain of
UE l's stream at UE k is ``G[k, l] = Σ_m a[m, l] · h_{m,k}^H v_{m,l}``. One formula covers
unique association (one 1 per column of ``a``), joint transmission (several) and relaxed
(fractional) association; every function here is differentiable.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

from ua_envs.core import arrays
from ua_envs.core.arrays import Array, namespace
from ua_envs.core.validation import (
    as_real,
    as_tensor,
    check_broadcastable,
    check_finite,
    check_float_range,
    check_nonnegative,
    check_positive,
    check_shape,
    real_dtype,
)


def _real_dtype(channels: Tensor) -> torch.dtype:
    return real_dtype(channels.dtype)


def _as_real(name: str, value: Any, reference: Tensor) -> Tensor:
    """``value`` in ``reference``'s real dtype and on its device (no-op when it already is)."""
    return as_real(name, value, real_dtype(reference.dtype), reference.device)


@functools.lru_cache(maxsize=64)
def _off_diagonal(size: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``1 - I`` of shape ``(size, size)``, cached (read-only use).

    Built outside inference mode: a cached inference tensor could not be saved for backward by
    a later differentiable call.
    """
    with torch.inference_mode(False), torch.no_grad():
        return 1.0 - torch.eye(size, dtype=dtype, device=device)


def _check_signal_inputs(
    channels: Tensor, beams: Tensor, association: Tensor, noise_power: Tensor
) -> None:
    if not channels.is_complex():
        raise ValueError(f"channels must be a complex tensor, got dtype {channels.dtype}")
    if channels.dim() < 3:
        raise ValueError(f"channels must have shape (..., M, K, N), got {tuple(channels.shape)}")
    num_tx, num_ues, num_antennas = channels.shape[-3:]
    check_shape("beams", beams, (num_tx, num_ues, num_antennas))
    check_shape("association", association, (num_tx, num_ues))
    check_shape("noise_power", noise_power, (num_ues,))
    check_broadcastable(
        ("channels", "beams", "association", "noise_power"),
        (channels, beams, association, noise_power),
        (3, 3, 2, 1),
    )
    check_finite("channels", channels)
    check_finite("beams", beams)
    check_nonnegative("association", association.to(_real_dtype(channels)))
    check_positive("noise_power", noise_power)


def _as_association(association: Any, channels: Tensor) -> Tensor:
    return _as_real("association", association, channels)


def _as_noise(noise_power: Any, channels: Tensor) -> Tensor:
    noise = _as_real("noise_power", noise_power, channels)
    if noise.dim() == 0:
        noise = noise.expand(channels.shape[-2])
    return noise


def effective_gains(channels: Tensor, beams: Tensor, association: Tensor) -> Tensor:
    """Effective gain matrix ``G[k, l] = Σ_m a[m, l] · h_{m,k}^H v_{m,l}`` (no validation).

    :param channels: ``(..., M, K, N)`` complex.
    :param beams: ``(..., M, K, N)`` complex.
    :param association: ``(..., M, K)`` real, already in the channels' real dtype.
    :return: ``(..., K, K)`` complex; row k is what UE k receives from each stream l.
    """
    weighted_beams = beams * association.unsqueeze(-1)
    # (..., M, K, N) x (..., M, L, N) -> (..., K, L): contract antennas, then transmitters
    # (one batched matmul over the stacked M·N axis; per-transmitter matmuls are slower at
    # large batch sizes).
    return torch.einsum("...mkn,...mln->...kl", channels.conj(), weighted_beams)


def sinr_from_gains(gains: Array, noise_power: Array) -> Array:
    """Per-UE SINR from the effective gain matrix (array-generic: torch or numpy).

    The last step of :func:`sinr`, exposed for callers that build ``G`` another way (the
    multi-cell simulator's MRT from a precomputed Gram matrix, on numpy in the single env).

    :param gains: ``(..., K, K)`` complex ``G[k, l]`` (row k: what UE k receives from stream l).
    :param noise_power: ``(..., K)`` noise power [W], > 0, gains' real dtype.
    :return: ``(..., K)`` ``|G[k,k]|² / (Σ_{l≠k} |G[k,l]|² + σ_k²)``, real.

    No validation (a hot-path step; :func:`sinr` is the checked entry point).
    """
    power = gains.real**2 + gains.imag**2
    size = power.shape[-1]
    if isinstance(power, Tensor):
        off_diagonal = _off_diagonal(size, power.dtype, power.device)
    else:
        off_diagonal = arrays.off_diagonal(size, like=power)
    signal = namespace(power).diagonal(power, 0, -2, -1)
    # Sum of the off-diagonal terms directly, not total - signal, which can cancel to < 0.
    interference = (power * off_diagonal).sum(-1)
    return signal / (interference + noise_power)


def sinr(
    channels: Tensor,
    beams: Tensor,
    association: Tensor,
    noise_power: Tensor,
    *,
    validate: bool = True,
) -> Tensor:
    """Per-UE SINR ``|G[k,k]|² / (Σ_{l≠k} |G[k,l]|² + σ_k²)`` (linear, not dB).

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param beams: ``(..., M, K, N)`` complex beams [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param noise_power: ``(..., K)`` or scalar noise power [W], > 0.
    :param validate: check shapes and finiteness (hot loops that built their inputs pass False).
    :return: ``(..., K)`` SINR, real, in the channels' real dtype. A UE with zero signal gets 0.
    :raises ValueError: mismatched shapes, non-complex channels, NaN/inf, noise ≤ 0.

    >>> import torch
    >>> h = torch.ones(1, 1, 1, dtype=torch.complex64)
    >>> float(sinr(h, h, torch.ones(1, 1), torch.tensor([0.5])))
    2.0
    """
    association = _as_association(association, channels)
    noise = _as_noise(noise_power, channels)
    if validate:
        _check_signal_inputs(channels, beams, association, noise)
    return sinr_from_gains(effective_gains(channels, beams, association), noise)


def rates(
    channels: Tensor,
    beams: Tensor,
    association: Tensor,
    noise_power: Tensor,
    *,
    validate: bool = True,
) -> Tensor:
    """Per-UE spectral efficiency ``log2(1 + SINR_k)`` [bit/s/Hz], shape ``(..., K)``."""
    return torch.log2(1.0 + sinr(channels, beams, association, noise_power, validate=validate))


def sum_rate(
    channels: Tensor,
    beams: Tensor,
    association: Tensor,
    noise_power: Tensor,
    weights: Tensor | None = None,
    *,
    validate: bool = True,
) -> Tensor:
    """Weighted sum rate ``Σ_k w_k log2(1 + SINR_k)`` [bit/s/Hz], shape ``(...)``.

    :param weights: ``(..., K)`` non-negative UE weights; ``None`` means all ones.
    Other arguments as in :func:`sinr`.
    """
    per_ue = rates(channels, beams, association, noise_power, validate=validate)
    if weights is None:
        return per_ue.sum(dim=-1)
    weights = _as_real("weights", weights, channels)
    if validate:
        check_shape("weights", weights, (channels.shape[-2],))
        check_nonnegative("weights", weights)
    return (weights * per_ue).sum(dim=-1)


def project_power(
    beams: Tensor, association: Tensor, tx_power: Tensor, *, validate: bool = True
) -> Tensor:
    """Rescale each transmitter's associated beams to use exactly its power ([GS-GNN] eq. 9).

    ``v_{m,k} ← sqrt(P_m) · a[m,k] ṽ_{m,k} / sqrt(Σ_j a[m,j] ||ṽ_{m,j}||²)``.
    A transmitter that serves nobody (or whose associated beams are all zero) sends nothing.

    :param beams: ``(..., M, K, N)`` complex unscaled beams ṽ.
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-transmitter power [W], ≥ 0.
    :return: ``(..., M, K, N)`` beams; with a binary association
        ``Σ_k a[m,k] ||v_{m,k}||² = P_m`` for every transmitter that serves someone.
    """
    association = _as_real("association", association, beams)
    tx_power = _as_real("tx_power", tx_power, beams)
    if validate:
        if beams.dim() < 3:
            raise ValueError(f"beams must have shape (..., M, K, N), got {tuple(beams.shape)}")
        check_shape("association", association, beams.shape[-3:-1])
        check_shape("tx_power", tx_power, (beams.shape[-3],))
        check_finite("beams", beams)
        check_nonnegative("association", association)
        check_nonnegative("tx_power", tx_power)
    real = tx_power.dtype
    # complex64 beams: square and sum in float64, so |v|² neither underflows (|v| ~ 1e-21 is
    # fine) nor overflows; only the per-transmitter scale returns to float32.
    wide = torch.float64 if real == torch.float32 else real
    parts = torch.view_as_real(beams.conj() if beams.is_conj() else beams)
    # vector_norm casts while it reduces (no float64 copy of the beams is materialised).
    beam_power = torch.linalg.vector_norm(parts, dim=(-2, -1), dtype=wide).square()  # (..., M, K)
    used = (association.to(wide) * beam_power).sum(dim=-1)  # (..., M)
    # A power below the smallest normal float (denormal beams) would give an infinite scale, and
    # a scale beyond the beams' range would overflow: such a transmitter is silent. where() on
    # both sides keeps gradients finite.
    active = used >= torch.finfo(wide).tiny
    safe_used = torch.where(active, used, torch.ones_like(used))
    scale = torch.sqrt(tx_power.to(wide) / safe_used)
    scale = torch.where(active & (scale <= torch.finfo(real).max), scale, 0.0).to(real)
    return beams * (association * scale.unsqueeze(-1)).unsqueeze(-1)


def fronthaul_load(
    association: Tensor, rates: Tensor, bandwidth_hz: float, *, validate: bool = True
) -> Tensor:
    """Fronthaul load of each transmitter ``load_m = Σ_k a[m,k] · bandwidth_hz · rate_k`` [bit/s].

    :param association: ``(..., M, K)`` bool or float.
    :param rates: ``(..., K)`` spectral efficiencies [bit/s/Hz], finite and ≥ 0.
    :param bandwidth_hz: system bandwidth [Hz], > 0.
    :param validate: check the inputs (callers that built them themselves pass False).
    :return: ``(..., M)`` load [bit/s].
    :raises ValueError: non-positive bandwidth, mismatched shapes, negative or non-finite rates.
    """
    if not validate:
        return bandwidth_hz * (association.to(rates.dtype) * rates.unsqueeze(-2)).sum(dim=-1)
    bandwidth_hz = check_float_range("bandwidth_hz", bandwidth_hz, 0.0, low_inclusive=False)
    rates = as_tensor("rates", rates)
    if not rates.dtype.is_floating_point:
        rates = rates.to(torch.float32)
    association = as_tensor("association", association, device=rates.device).to(rates.dtype)
    if association.dim() < 2:
        raise ValueError(f"association must have shape (..., M, K), got {tuple(association.shape)}")
    check_shape("rates", rates, (association.shape[-1],))
    check_broadcastable(("association", "rates"), (association, rates), (2, 1))
    check_nonnegative("rates", rates)
    return bandwidth_hz * (association * rates.unsqueeze(-2)).sum(dim=-1)
