"""Given instances: a :class:`~ua_envs.envs.contract.ChannelInstance` as a batched sample.

The array-channel families (multicell, cellfree, fronthaul) play
``reset(options={"instance": ChannelInstance(...)})`` through :func:`channel_instance_sample`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ua_envs.core.channels import ChannelSample
from ua_envs.core.units import dbm_to_watt, noise_power_watt
from ua_envs.core.validation import as_tensor, check_finite, check_positive
from ua_envs.envs.contract import ChannelInstance

__all__ = ["channel_instance_sample", "default_noise_power_w", "default_tx_power_w"]


def default_tx_power_w(config: Any) -> float | None:
    """Per-transmitter power [W] of the config's ``tx_power_dbm`` (``None`` if it has none)."""
    value = getattr(config, "tx_power_dbm", None)
    return None if value is None else dbm_to_watt(float(value))


def default_noise_power_w(config: Any) -> float | None:
    """Per-UE noise power [W] of the config: ``noise_power_dbm`` when stated, else thermal noise
    of ``bandwidth_hz`` and ``noise_figure_db``; ``None`` when the config has neither."""
    stated = getattr(config, "noise_power_dbm", None)
    if stated is not None:
        return dbm_to_watt(float(stated))
    bandwidth = getattr(config, "bandwidth_hz", None)
    figure = getattr(config, "noise_figure_db", None)
    if bandwidth is None or figure is None:
        return None
    return noise_power_watt(float(bandwidth), float(figure))


def _batched(
    name: str, value: Any, tail: tuple[int, ...], size: int, dtype: torch.dtype, device: Any
) -> Tensor:
    """``value`` with shape ``tail`` or ``(1 | size, *tail)`` as a ``(size, *tail)`` tensor."""
    tensor = as_tensor(f"instance.{name}", value, device=device)
    if tensor.dim() == len(tail):
        tensor = tensor.unsqueeze(0)
    if tuple(tensor.shape[1:]) != tail or tensor.shape[0] not in (1, size):
        raise ValueError(
            f"instance.{name} must have shape {tail} or {(size, *tail)}, got {tuple(tensor.shape)}"
        )
    return tensor.to(dtype).expand(size, *tail).clone()


def _power(
    name: str, value: Any, default: float | None, count: int, size: int, device: Any
) -> Tensor:
    if value is None:
        if default is None:
            raise ValueError(f"instance.{name} is required: the scenario states no default")
        value = torch.full((count,), default)
    elif isinstance(value, (int, float)):
        value = torch.full((count,), float(value))
    tensor = _batched(name, value, (count,), size, torch.float32, device)
    check_finite(f"instance.{name}", tensor)
    check_positive(f"instance.{name}", tensor)
    return tensor


def channel_instance_sample(
    instance: ChannelInstance, size: int, config: Any, *, device: Any
) -> ChannelSample:
    """``instance`` as a :class:`ChannelSample` of ``size`` rows (broadcast when unbatched).

    :param instance: the given instance (numpy or torch arrays).
    :param size: the batch to fill.
    :param config: the family config (sizes ``num_bs``, ``num_ues``, ``num_antennas``; the
        defaults of ``tx_power`` and ``noise_power``; ``area_m`` and ``bandwidth_hz``).
    :param device: torch device of the result.
    :raises ValueError: a wrong shape or dtype, NaN/inf, a non-positive power.
    """
    m, k, n = int(config.num_bs), int(config.num_ues), int(config.num_antennas)
    channels = as_tensor("instance.channels", instance.channels, device=device)
    if not channels.is_complex():
        raise ValueError(f"instance.channels must be complex, got dtype {channels.dtype}")
    channels = _batched("channels", channels, (m, k, n), size, torch.complex64, device)
    check_finite("instance.channels", channels)
    tx_power = _power("tx_power", instance.tx_power, default_tx_power_w(config), m, size, device)
    noise_power = _power(
        "noise_power", instance.noise_power, default_noise_power_w(config), k, size, device
    )
    zeros_bs, zeros_ue = torch.zeros(m, 2), torch.zeros(k, 2)
    bs_positions = instance.bs_positions if instance.bs_positions is not None else zeros_bs
    ue_positions = instance.ue_positions if instance.ue_positions is not None else zeros_ue
    bs = _batched("bs_positions", bs_positions, (m, 2), size, torch.float32, device)
    ue = _batched("ue_positions", ue_positions, (k, 2), size, torch.float32, device)
    check_finite("instance.bs_positions", bs)
    check_finite("instance.ue_positions", ue)
    power = channels.real.square() + channels.imag.square()
    gain_db = 10.0 * torch.log10(power.mean(dim=-1).clamp_min(1e-30))
    area = getattr(config, "area_m", None)
    bandwidth = getattr(config, "bandwidth_hz", None)
    return ChannelSample(
        channels=channels,
        tx_power=tx_power,
        noise_power=noise_power,
        bs_positions=bs,
        ue_positions=ue,
        distances_m=torch.zeros(size, m, k, device=device),
        large_scale_gain_db=gain_db,
        area_m=float(area) if area is not None else 1.0,
        bandwidth_hz=float(bandwidth) if bandwidth is not None else 1.0,
    )
