"""Typed, frozen configs of the registered channel generators: defaults and bounds, written once.

Each config is the single source of a generator's parameters: its field comments document them
(units, meaning), its field defaults are the scenario defaults of docs/model.md §3, and its
``__post_init__`` checks them and stores them as plain ``int`` / ``float`` / ``bool``. The
sampling functions (:func:`~ua_envs.core.channels.mmwave28`,
:func:`~ua_envs.core.channels.cellfree_umi`, :func:`~ua_envs.core.channels.cellfree_3slope`
and their ``*_from_positions`` variants) take these fields as keyword arguments and build the
config with :func:`build_config`; the registered generators of
:mod:`ua_envs.core.channels.generators` hold one.

Physical bounds (checked by every config, so that no accepted value can turn into inf/NaN
later): counts in ``[1, MAX_COUNT]`` with ``M·K·N <= MAX_LINK_ANTENNAS``; transmit power in
``[-100, 100]`` dBm (1e-13 W .. 10 MW); bandwidth in ``(0, 1e12]`` Hz; deployment side in
``(0, 1e6]`` m; shadowing standard deviation in ``[0, 20]`` dB; noise figure in ``[0, 50]`` dB.

>>> MmWave28Config(num_ues=3).num_ues, MmWave28Config().area_m
(3, 200.0)
>>> build_config(MmWave28Config, {"num_uez": 3})
Traceback (most recent call last):
...
ValueError: unknown mmwave28 parameter(s) num_uez; valid: angular_spread_deg, area_m, ...
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from ua_envs.core.validation import check_float_range, check_int_range

__all__ = [
    "MAX_AREA_M",
    "MAX_BANDWIDTH_HZ",
    "MAX_COUNT",
    "MAX_LINK_ANTENNAS",
    "MAX_NOISE_FIGURE_DB",
    "MAX_SHADOWING_STD_DB",
    "TX_POWER_DBM_RANGE",
    "UMI_TX_POWER_DBM",
    "CellFree3SlopeConfig",
    "CellFreeUmiConfig",
    "MmWave28Config",
    "build_config",
    "check_parameter_names",
    "check_sizes",
]

#: Largest number of transmitters, UEs or antennas per transmitter.
MAX_COUNT = 65_536
#: Largest ``M·K·N`` of one instance (2**26 complex64 entries = 512 MiB).
MAX_LINK_ANTENNAS = 2**26
#: Accepted transmit power [dBm]: 1e-13 W .. 1e7 W; anything outside is a unit mistake.
TX_POWER_DBM_RANGE = (-100.0, 100.0)
#: Accepted bandwidth [Hz] (0, 1 THz].
MAX_BANDWIDTH_HZ = 1e12
#: Accepted deployment side [m] (0, 1000 km].
MAX_AREA_M = 1e6
#: Accepted shadowing standard deviation [dB]: measured values are 2–12 dB.
MAX_SHADOWING_STD_DB = 20.0
#: Accepted noise figure [dB].
MAX_NOISE_FIGURE_DB = 50.0
#: 200 mW in dBm, the UMi default per-AP power.
UMI_TX_POWER_DBM = 10.0 * math.log10(200.0)

ConfigT = TypeVar("ConfigT")


def check_sizes(num_bs: Any, num_ues: Any, num_antennas: Any) -> tuple[int, int, int]:
    """``(M, K, N)`` as ints in ``[1, MAX_COUNT]`` with ``M·K·N <= MAX_LINK_ANTENNAS``."""
    m = check_int_range("num_bs", num_bs, 1, MAX_COUNT)
    k = check_int_range("num_ues", num_ues, 1, MAX_COUNT)
    n = check_int_range("num_antennas", num_antennas, 1, MAX_COUNT)
    if m * k * n > MAX_LINK_ANTENNAS:
        raise ValueError(
            f"num_bs * num_ues * num_antennas must be at most {MAX_LINK_ANTENNAS}, "
            f"got {m} * {k} * {n} = {m * k * n}"
        )
    return m, k, n


def _store(config: Any, name: str, value: Any) -> None:
    """Write a checked (normalised) value back into a frozen config."""
    object.__setattr__(config, name, value)


def _check_float(config: Any, name: str, low: float, high: float, **kwargs: bool) -> None:
    """Check the float field ``name`` of ``config`` against ``[low, high]`` and store it."""
    _store(config, name, check_float_range(name, getattr(config, name), low, high, **kwargs))


def _check_bool(config: Any, name: str) -> None:
    value = getattr(config, name)
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool, got {value!r}")


def _check_common(config: Any) -> None:
    """Bounds shared by the registered configs (sizes, power, bandwidth, area, shadowing)."""
    sizes = check_sizes(config.num_bs, config.num_ues, config.num_antennas)
    for name, value in zip(("num_bs", "num_ues", "num_antennas"), sizes, strict=True):
        _store(config, name, value)
    _check_float(config, "tx_power_dbm", *TX_POWER_DBM_RANGE)
    _check_float(config, "bandwidth_hz", 0.0, MAX_BANDWIDTH_HZ, low_inclusive=False)
    _check_float(config, "area_m", 0.0, MAX_AREA_M, low_inclusive=False)
    if hasattr(config, "shadowing_std_db"):
        _check_float(config, "shadowing_std_db", 0.0, MAX_SHADOWING_STD_DB)
    if hasattr(config, "noise_figure_db"):
        _check_float(config, "noise_figure_db", 0.0, MAX_NOISE_FIGURE_DB)


def check_parameter_names(
    config_class: type, names: Iterable[str], *, exclude: Iterable[str] = ()
) -> None:
    """Raise ``ValueError`` naming any of ``names`` that is not a field of ``config_class``
    (or is one of ``exclude``), together with the valid ones."""
    excluded = set(exclude)
    valid = {f.name for f in dataclasses.fields(config_class)} - excluded
    unknown = sorted(set(names) - valid)
    if unknown:
        scenario = getattr(config_class, "scenario", config_class.__name__)
        raise ValueError(
            f"unknown {scenario} parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(valid))}"
        )


def build_config(
    config_class: type[ConfigT],
    parameters: Mapping[str, Any],
    *,
    fixed: Mapping[str, Any] | None = None,
    fixed_by: str = "",
) -> ConfigT:
    """``config_class(**parameters, **fixed)``, with every bad name a ``ValueError``.

    :param config_class: one of the configs of this module.
    :param parameters: config fields given by the caller (the others keep their defaults).
    :param fixed: fields set by the caller's other arguments (e.g. sizes from position
        shapes); giving one of them in ``parameters`` is a ``ValueError`` naming ``fixed_by``.
    :param fixed_by: what sets ``fixed`` (for the message).
    :raises ValueError: an unknown or fixed parameter name, or a value out of bounds.
    """
    fixed = dict(fixed or {})
    clash = sorted(set(parameters) & set(fixed))
    if clash:
        raise ValueError(f"{', '.join(clash)} cannot be given: set by {fixed_by}")
    check_parameter_names(config_class, parameters, exclude=fixed)
    return config_class(**parameters, **fixed)


@dataclass(frozen=True)
class MmWave28Config:
    """``mmwave28``: multi-cell 28 GHz mmWave ([GS-GNN], [AttSKGS]; docs/model.md §3.1).

    ``M`` BSs and ``K`` UEs i.i.d. uniform in the square (no wrap-around), every BS a
    half-wavelength ULA along the x axis.
    """

    scenario: ClassVar[str] = "mmwave28"

    num_bs: int = 2  #: M base stations
    num_antennas: int = 4  #: N ULA antennas per BS (half-wavelength spacing)
    num_ues: int = 8  #: K single-antenna UEs
    area_m: float = 200.0  #: side of the square deployment [m] (no wrap-around)
    carrier_ghz: float = 28.0  #: carrier [GHz] in (0, 1000] (28: the Akdeniz table exactly)
    bandwidth_hz: float = 1e9  #: bandwidth [Hz] (sets the noise power)
    tx_power_dbm: float = 30.0  #: per-BS transmit power [dBm]
    noise_figure_db: float = 0.0  #: UE noise figure [dB]
    num_paths: int = 3  #: I propagation paths per link, in [1, 1024]
    #: rms Laplacian spread of paths 2..I around path 1 [deg], in [0, 180]
    angular_spread_deg: float = 10.2
    outage: bool = False  #: Akdeniz outage state (links with h = 0)

    def __post_init__(self) -> None:
        _check_common(self)
        _check_float(self, "carrier_ghz", 0.0, 1e3, low_inclusive=False)
        _store(self, "num_paths", check_int_range("num_paths", self.num_paths, 1, 1024))
        _check_float(self, "angular_spread_deg", 0.0, 180.0)
        _check_bool(self, "outage")


@dataclass(frozen=True)
class CellFreeUmiConfig:
    """``cellfree_umi``: user-centric cell-free 3GPP UMi ([SupportSet]; docs/model.md §3.3).

    ``M`` APs and ``K`` single-antenna UEs i.i.d. uniform in the wrap-around square.
    """

    scenario: ClassVar[str] = "cellfree_umi"

    num_bs: int = 8  #: M access points
    num_antennas: int = 2  #: N antennas per AP
    num_ues: int = 6  #: K single-antenna UEs
    area_m: float = 400.0  #: side of the wrap-around square [m]
    height_difference_m: float = 10.0  #: AP–UE height difference [m], >= 0
    bandwidth_hz: float = 20e6  #: bandwidth [Hz] (sets the noise power)
    noise_figure_db: float = 7.0  #: UE noise figure [dB]
    tx_power_dbm: float = UMI_TX_POWER_DBM  #: per-AP power [dBm] (200 mW = 23.0103 dBm)
    shadowing_std_db: float = 4.0  #: shadow fading std σ_sh [dB]
    #: correlate shadowing over UEs per AP (2^{-d/d_dc}, the book's model); else i.i.d.
    correlated_shadowing: bool = False
    decorrelation_distance_m: float = 9.0  #: d_dc > 0 [m], only used when correlated

    def __post_init__(self) -> None:
        _check_common(self)
        _check_float(self, "height_difference_m", 0.0, MAX_AREA_M)
        _check_bool(self, "correlated_shadowing")
        _check_float(self, "decorrelation_distance_m", 0.0, MAX_AREA_M, low_inclusive=False)


@dataclass(frozen=True)
class CellFree3SlopeConfig:
    """``cellfree_3slope``: fronthaul-limited cell-free, three-slope path loss ([EGAT];
    docs/model.md §3.2).

    ``M`` APs and ``K`` single-antenna UEs i.i.d. uniform in the wrap-around square.
    """

    scenario: ClassVar[str] = "cellfree_3slope"

    num_bs: int = 8  #: M access points
    num_antennas: int = 2  #: N antennas per AP
    num_ues: int = 4  #: K single-antenna UEs
    area_m: float = 500.0  #: side of the wrap-around square [m]
    ap_height_m: float = 15.0  #: AP antenna height [m], in (0, 1e4]
    ue_height_m: float = 1.65  #: UE antenna height [m], in (0, 1e4]
    carrier_ghz: float = 1.9  #: carrier [GHz] (COST231-Hata is fitted for 1.5–2 GHz)
    bandwidth_hz: float = 10e6  #: bandwidth [Hz] (rates in bit/s; noise is stated directly)
    tx_power_dbm: float = 30.0  #: per-AP power [dBm]
    noise_power_dbm: float = -85.0  #: noise power per UE [dBm], in [-250, 100]
    shadowing_std_db: float = 8.0  #: σ_sh [dB]
    shadowing_delta: float = 0.5  #: δ ∈ [0, 1], AP/UE split of the shadowing
    decorrelation_distance_m: float = 100.0  #: d_dc > 0 [m] (Ngo: 100 m; [EGAT]: 500 m)

    def __post_init__(self) -> None:
        _check_common(self)
        _check_float(self, "ap_height_m", 0.0, 1e4, low_inclusive=False)
        _check_float(self, "ue_height_m", 0.0, 1e4, low_inclusive=False)
        _check_float(self, "carrier_ghz", 0.0, 1e3, low_inclusive=False)
        _check_float(self, "noise_power_dbm", -250.0, 100.0)
        _check_float(self, "shadowing_delta", 0.0, 1.0)
        _check_float(self, "decorrelation_distance_m", 0.0, MAX_AREA_M, low_inclusive=False)
