"""Unit conversions: decibels, dBm, watts and thermal noise power.

Every function accepts a Python float or a tensor and returns the same kind (tensors keep their
shape, dtype and device).
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import Tensor

T = TypeVar("T", float, Tensor)

#: Thermal noise power spectral density at 290 K [dBm/Hz].
THERMAL_NOISE_DBM_PER_HZ = -174.0


def db_to_linear(value_db: T) -> T:
    """Power ratio from decibels: ``10 ** (value_db / 10)``."""
    if isinstance(value_db, Tensor):
        return torch.pow(10.0, value_db / 10.0)
    return 10.0 ** (value_db / 10.0)


def linear_to_db(value: T) -> T:
    """Decibels from a positive power ratio: ``10 log10(value)``."""
    if isinstance(value, Tensor):
        return 10.0 * torch.log10(value)
    return 10.0 * math.log10(value)


def dbm_to_watt(power_dbm: T) -> T:
    """Power in W from dBm: ``10 ** ((power_dbm - 30) / 10)``."""
    return db_to_linear(power_dbm - 30.0)


def watt_to_dbm(power_w: T) -> T:
    """Power in dBm from a positive power in W: ``10 log10(power_w) + 30``."""
    return linear_to_db(power_w) + 30.0


def noise_power_dbm(bandwidth_hz: float, noise_figure_db: float = 0.0) -> float:
    """Thermal noise power ``-174 + 10 log10(bandwidth_hz) + noise_figure_db`` [dBm].

    >>> round(noise_power_dbm(1e9), 2)
    -84.0
    >>> round(noise_power_dbm(20e6, 7.0), 2)
    -93.99
    """
    if not bandwidth_hz > 0:
        raise ValueError(f"bandwidth_hz must be > 0, got {bandwidth_hz!r}")
    return THERMAL_NOISE_DBM_PER_HZ + 10.0 * math.log10(bandwidth_hz) + noise_figure_db


def noise_power_watt(bandwidth_hz: float, noise_figure_db: float = 0.0) -> float:
    """Thermal noise power in W (see :func:`noise_power_dbm`)."""
    return dbm_to_watt(noise_power_dbm(bandwidth_hz, noise_figure_db))
