"""Paper presets: named sets of env kwargs that reproduce a source paper's simulation setting.

Every registered id takes ``preset=NAME`` through ``gym.make(id, preset=...)``,
``gym.make_vec(id, n, vectorization_mode="vector_entry_point", preset=...)``, the PettingZoo
envs of the same family and the CLI's ``--env-kwargs preset=NAME``: one function,
:func:`apply_preset`, fills the preset's values into the kwargs in the single place where
every family turns kwargs into its config (:func:`ua_envs.envs.base.config_from_kwargs`).
Explicit kwargs override the preset's values (a registered id's own kwargs, such as
``MultiCellAssocBalanced-v0``'s ``load_limit``, count as explicit), and the config records the
preset's name in its ``preset`` field (``env.unwrapped.config.preset``).

A preset spells out every value it sets, also those equal to today's defaults, so that a later
change of a default does not change what the preset means.

The presets (``ua-envs list presets`` prints them with every value they set):

* ``gs-gnn`` (``MultiCellAssoc-v0``, ``MultiCellAssocBalanced-v0``): [GS-GNN] Lyu & Vu 2025.
* ``attskgs`` (the same ids): [AttSKGS] Lyu & Vu, with the load limit N.
* ``supportset`` (``CellFreeAssoc-v0``): [SupportSet], our documented defaults.
* ``egat`` (``FronthaulAssoc-v0``): [EGAT] Liu & Zhao 2026.
* ``grows`` (``SlottedArrivalAssoc-v0``): [GROWS] Randall et al.

This module imports nothing from the env families (they import it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "FAMILY_IDS",
    "PRESETS",
    "Preset",
    "apply_preset",
    "check_preset",
    "preset_rows",
    "presets_for",
]

#: The ids (Gymnasium, then PettingZoo) of each env family, keyed by the family name its
#: ``make_config`` passes to :func:`~ua_envs.envs.base.config_from_kwargs`.
FAMILY_IDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "MultiCellAssoc": (
            "MultiCellAssoc-v0",
            "MultiCellAssocBalanced-v0",
            "ua_envs.multiagent.multicell_assoc_v0",
        ),
        "CellFreeAssoc": ("CellFreeAssoc-v0",),
        "FronthaulAssoc": ("FronthaulAssoc-v0", "ua_envs.multiagent.fronthaul_assoc_v0"),
        "SlottedArrivalAssoc": (
            "SlottedArrivalAssoc-v0",
            "ua_envs.multiagent.slotted_arrival_v0",
        ),
    }
)


@dataclass(frozen=True)
class Preset:
    """One paper preset.

    :param name: the value of the ``preset`` kwarg.
    :param family: the env family it applies to (a key of :data:`FAMILY_IDS`).
    :param kwargs: the env kwargs it sets (read-only mapping).
    :param description: one line: what the preset reproduces and where it departs from the paper.
    :param paper: the source paper.
    """

    name: str
    family: str
    kwargs: Mapping[str, Any]
    description: str
    paper: str

    @property
    def env_ids(self) -> tuple[str, ...]:
        """The Gymnasium ids (and PettingZoo modules) that take this preset."""
        return FAMILY_IDS[self.family]


def _preset(name: str, family: str, kwargs: dict[str, Any], description: str, paper: str) -> Preset:
    return Preset(name, family, MappingProxyType(dict(kwargs)), description, paper)


# [GS-GNN] §V and [AttSKGS] §4: 28 GHz, 1 GHz, -174 dBm/Hz (noise figure 0 dB), 2 BSs with a
# 4-antenna ULA at 30 dBm, 8 UEs, 200 m x 200 m, Akdeniz mmWave channel; MRT.
_MMWAVE_PAPERS: dict[str, Any] = {
    "scenario": "mmwave28",
    "num_bs": 2,
    "num_antennas": 4,
    "num_ues": 8,
    "area_m": 200.0,
    "carrier_ghz": 28.0,
    "bandwidth_hz": 1e9,
    "tx_power_dbm": 30.0,
    "noise_figure_db": 0.0,
    "beamforming": "mrt",
}

#: Every preset by name.
PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            _preset(
                "gs-gnn",
                "MultiCellAssoc",
                {**_MMWAVE_PAPERS, "load_limit": None},
                "2 BS x 4 antennas x 8 UEs, 28 GHz, 1 GHz, 30 dBm, 200 m square, MRT, no load "
                "limit (on MultiCellAssocBalanced-v0 the id's own load limit stays)",
                "Lyu & Vu 2025, Gumbel-softmax GNN for integer user association [GS-GNN]",
            ),
            _preset(
                "attskgs",
                "MultiCellAssoc",
                {**_MMWAVE_PAPERS, "load_limit": "num_antennas", "overload": "drop"},
                "as gs-gnn, with at most N = 4 UEs per BS; the UEs of an overloaded BS with "
                "the weakest gain are dropped before beamforming",
                "Lyu & Vu, AttSKGS GNN for load-balanced user association [AttSKGS]",
            ),
            _preset(
                "supportset",
                "CellFreeAssoc",
                {
                    "scenario": "cellfree_umi",
                    "num_bs": 8,
                    "num_antennas": 2,
                    "num_ues": 6,
                    "area_m": 400.0,
                    "height_difference_m": 10.0,
                    "bandwidth_hz": 20e6,
                    "noise_figure_db": 7.0,
                    "tx_power_dbm": 10.0 * math.log10(200.0),  # 200 mW
                    "shadowing_std_db": 4.0,
                    "correlated_shadowing": False,
                    "beamforming": "rzf",
                    "max_ues_per_ap": 3,
                    "max_aps_per_ue": 3,
                },
                "our documented 3GPP UMi setting (the paper's numbers were lost in extraction): "
                "8 APs x 2 antennas, 6 UEs, 400 m, 20 MHz, 200 mW, RZF, caps 3 and 3",
                "Sequential support-set construction for discrete resource allocation [SupportSet]",
            ),
            _preset(
                "egat",
                "FronthaulAssoc",
                {
                    "scenario": "cellfree_3slope",
                    "num_bs": 8,
                    "num_antennas": 2,
                    "num_ues": 4,
                    "area_m": 500.0,
                    "ap_height_m": 15.0,
                    "ue_height_m": 1.65,
                    "carrier_ghz": 1.9,
                    "bandwidth_hz": 10e6,
                    "tx_power_dbm": 30.0,
                    "noise_power_dbm": -85.0,
                    "shadowing_std_db": 8.0,
                    "shadowing_delta": 0.5,
                    "decorrelation_distance_m": 500.0,
                    "weights": None,
                    "capacity_mbps": 60.0,
                    "load_rate_unit": "nat",
                },
                "Table I and Sec. V-A: 8 APs x 2 antennas, 4 UEs, 500 m wrap-around, 30 dBm, "
                "-85 dBm, 10 MHz, 8 dB shadowing decorrelated over 0.5 km, load in nat "
                "(log without base); C = 60 Mbit/s is the middle of the paper's 40-90 sweep",
                "Liu & Zhao 2026, EGAT for fronthaul-limited cell-free networks [EGAT]",
            ),
            _preset(
                "grows",
                "SlottedArrivalAssoc",
                {
                    "num_bs": 3,
                    "bs_bias_db": (3.0, 0.0, 0.0),
                    "horizon": 40,
                    "arrival_prob": 0.7,
                    "mean_demand": 10,
                    "demand_spread": 3,
                    "max_users_per_bs": 10,
                    "top_k": 3,
                    "snr_levels_db": (0.0, 5.0, 10.0, 15.0, 20.0),
                    "rate_scale": 0.18,
                },
                "Table I setting: 3 BSs (BS 0 +3 dB), T = 40, p = 0.7, mean demand 10, top-3 "
                "candidates; congestion calibrated to Table I's argmax (B) rejections by two "
                "fitted values, 10 seats per BS and rate = 0.18 log2(1 + SNR) (RMSE 1.3 "
                "rejections per episode over the 15 cells; docs/envs/slotted.md)",
                "Randall et al., GROWS: GNN-based DRL for user association [GROWS]",
            ),
        )
    }
)


def presets_for(family: str) -> tuple[str, ...]:
    """The names of the presets an env family takes (a key of :data:`FAMILY_IDS`)."""
    return tuple(name for name, preset in PRESETS.items() if preset.family == family)


def _ids_text(family: str) -> str:
    ids = FAMILY_IDS.get(family)
    return family if ids is None else ", ".join(ids)


def check_preset(family: str, preset: Any) -> Preset | None:
    """The :class:`Preset` named ``preset`` for ``family``, or ``None`` for ``preset=None``.

    :param family: the env family (a key of :data:`FAMILY_IDS`, e.g. ``"FronthaulAssoc"``).
    :param preset: ``None`` or a preset name.
    :raises ValueError: not a string, an unknown name (naming every preset), or a preset of
        another family (naming the presets this family takes).
    """
    if preset is None:
        return None
    taken = ", ".join(repr(name) for name in presets_for(family)) or "none"
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValueError(
            f"unknown preset {preset!r}; the presets of {_ids_text(family)}: {taken} "
            f"(all presets: {', '.join(PRESETS)})"
        )
    found = PRESETS[preset]
    if found.family != family:
        raise ValueError(
            f"preset {preset!r} is for {', '.join(found.env_ids)}; "
            f"the presets of {_ids_text(family)}: {taken}"
        )
    return found


def apply_preset(family: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the values of the preset they name filled in (explicit kwargs win).

    The returned dict always holds ``"preset"`` (the name, or ``None`` when none was given), so
    that the config records it. A preset pins its scenario: combining it with another
    ``scenario`` raises (its channel parameters would not fit).

    >>> apply_preset("FronthaulAssoc", {"preset": "egat", "capacity_mbps": 40.0})["capacity_mbps"]
    40.0

    :param family: the env family (a key of :data:`FAMILY_IDS`).
    :param kwargs: the env kwargs as given (not modified).
    :return: a new dict of kwargs.
    :raises ValueError: as :func:`check_preset`, or a ``scenario`` other than the preset's.
    """
    merged = dict(kwargs)
    found = check_preset(family, merged.get("preset"))
    merged["preset"] = None if found is None else found.name
    if found is None:
        return merged
    scenario = found.kwargs.get("scenario")
    if scenario is not None and merged.get("scenario", scenario) != scenario:
        raise ValueError(
            f"preset {found.name!r} sets scenario={scenario!r} and cannot be combined with "
            f"scenario={merged['scenario']!r}; drop one of them"
        )
    return {**found.kwargs, **merged}


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_value_text(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def preset_rows() -> list[tuple[str, str, str, str]]:
    """One row per preset for ``ua-envs list presets``: ``(name, ids, settings, description)``.

    ``ids`` joins the ids that take it with ``", "``; ``settings`` is ``"key=value, ..."`` in
    the preset's order (floats in ``%g``).
    """
    return [
        (
            preset.name,
            ", ".join(preset.env_ids),
            ", ".join(f"{key}={_value_text(value)}" for key, value in preset.kwargs.items()),
            preset.description,
        )
        for preset in PRESETS.values()
    ]
