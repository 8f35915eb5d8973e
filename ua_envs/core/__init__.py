"""Wireless physics core: pure, batched, differentiable, device-agnostic torch functions.

No gymnasium, no agents: environments and baselines are built on top of this package.
"""

from ua_envs.core import assignment, beamforming, channels, geometry, units
from ua_envs.core.signal import (
    effective_gains,
    fronthaul_load,
    project_power,
    rates,
    sinr,
    sum_rate,
)

__all__ = [
    "assignment",
    "beamforming",
    "channels",
    "effective_gains",
    "fronthaul_load",
    "geometry",
    "project_power",
    "rates",
    "sinr",
    "sum_rate",
    "units",
]
