"""Channel generators: scenario presets of docs/model.md §3.1–3.3.

Every generator takes the env's single ``torch.Generator`` (its device is the output device) and
a batch size, draws positions and returns a :class:`ChannelSample` (channels ``(B, M, K, N)``
plus powers, positions, distances and large-scale gains), vectorised over the batch.

==================  =======================================================  ===========
scenario            model                                                    docs/model.md
==================  =======================================================  ===========
``mmwave28``        28 GHz multi-path ULA channels, Akdeniz LOS/NLOS          §3.1
``cellfree_3slope`` Rayleigh, three-slope COST231-Hata, correlated shadowing  §3.2
``cellfree_umi``    Rayleigh, 3GPP UMi ``30.5 + 36.7 log10 d``, 4 dB shadow   §3.3
==================  =======================================================  ===========

Path-loss helpers (``*_path_loss_db``) all return the LOSS in dB (positive numbers); the
power gain is ``10^{-loss/10}`` and ``ChannelSample.large_scale_gain_db`` is a gain (negative).

>>> import torch
>>> sample = make_channels("cellfree_umi", torch.Generator().manual_seed(0), 4, num_ues=3)
>>> tuple(sample.channels.shape)
(4, 8, 3, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ua_envs.core.channels.cellfree import (
    cellfree_3slope,
    cellfree_3slope_from_positions,
    cellfree_umi,
    cellfree_umi_from_positions,
    correlated_shadowing_db,
    cost231_hata_constant_db,
    three_slope_path_loss_db,
    umi_path_loss_db,
)
from ua_envs.core.channels.common import (
    ChannelSample,
    correlated_normal,
    correlation_sqrt,
    rayleigh_channels,
)
from ua_envs.core.channels.configs import (
    CellFree3SlopeConfig,
    CellFreeUmiConfig,
    MmWave28Config,
)
from ua_envs.core.channels.generators import (
    GENERATORS,
    CellFree3Slope,
    CellFreeUmi,
    ChannelGenerator,
    MmWave28,
    SionnaRma,
    SionnaUma,
    SionnaUmi,
    make_generator,
)
from ua_envs.core.channels.mmwave28 import (
    mmwave28,
    mmwave28_from_positions,
    mmwave28_large_scale,
    mmwave28_path_loss_db,
    ula_steering,
)

__all__ = [
    "GENERATORS",
    "SCENARIOS",
    "CellFree3Slope",
    "CellFree3SlopeConfig",
    "CellFreeUmi",
    "CellFreeUmiConfig",
    "ChannelGenerator",
    "ChannelSample",
    "MmWave28",
    "MmWave28Config",
    "SionnaRma",
    "SionnaUma",
    "SionnaUmi",
    "cellfree_3slope",
    "cellfree_3slope_from_positions",
    "cellfree_umi",
    "cellfree_umi_from_positions",
    "correlated_normal",
    "correlated_shadowing_db",
    "correlation_sqrt",
    "cost231_hata_constant_db",
    "make_channels",
    "make_generator",
    "mmwave28",
    "mmwave28_from_positions",
    "mmwave28_large_scale",
    "mmwave28_path_loss_db",
    "rayleigh_channels",
    "three_slope_path_loss_db",
    "ula_steering",
    "umi_path_loss_db",
]

#: Scenario name -> ``(generator, batch_size, *, dtype, **config fields) -> ChannelSample``.
SCENARIOS: dict[str, Callable[..., ChannelSample]] = {
    "mmwave28": mmwave28,
    "cellfree_3slope": cellfree_3slope,
    "cellfree_umi": cellfree_umi,
}


def make_channels(
    scenario: str, generator: torch.Generator, batch_size: int, **kwargs: Any
) -> ChannelSample:
    """Draw ``batch_size`` instances of the named scenario (see :data:`SCENARIOS`).

    :param scenario: one of ``"mmwave28"``, ``"cellfree_3slope"``, ``"cellfree_umi"``.
    :param generator: the env's single random source; its device is the output device.
    :param batch_size: ``B >= 1``.
    :param kwargs: ``dtype`` and the fields of the scenario's config (:mod:`.configs`);
        unknown names raise ``ValueError``.
    :raises ValueError: unknown scenario (the message lists the valid ones) or bad kwargs.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {sorted(SCENARIOS)!r}, got {scenario!r}")
    return SCENARIOS[scenario](generator, batch_size, **kwargs)
