"""Pluggable channel generators: the :class:`ChannelGenerator` protocol and the registered ones.

A channel generator is any object with a typed, frozen ``config`` dataclass (which has at least
the fields ``num_bs``, ``num_ues`` and ``num_antennas``) and a ``sample(generator, batch_size)``
method returning a :class:`~ua_envs.core.channels.common.ChannelSample`. The env kwarg
``scenario=`` takes a registered name (:data:`GENERATORS`) or such an object; the three
registered generators are the functions of :mod:`ua_envs.core.channels` behind a typed config
whose defaults are written once, here.

Physical bounds (checked by every config, so that no accepted value can turn into inf/NaN
later): counts in ``[1, MAX_COUNT]`` with ``M·K·N <= MAX_LINK_ANTENNAS``; transmit power in
``[-100, 100]`` dBm (1e-13 W .. 10 MW); bandwidth in ``(0, 1e12]`` Hz; deployment side in
``(0, 1e6]`` m; shadowing standard deviation in ``[0, 20]`` dB; noise figure in ``[0, 50]`` dB.

>>> import torch
>>> gen = make_generator("mmwave28", num_ues=3)
>>> gen.config.num_ues, gen.config.area_m
(3, 200.0)
>>> tuple(gen.sample(torch.Generator().manual_seed(0), 2).channels.shape)
(2, 2, 3, 4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch

from ua_envs.core.channels.cellfree import UMI_TX_POWER_DBM, cellfree_3slope, cellfree_umi
from ua_envs.core.channels.common import ChannelSample
from ua_envs.core.channels.mmwave28 import mmwave28
from ua_envs.core.validation import check_float_range, check_int_range

__all__ = [
    "GENERATORS",
    "MAX_COUNT",
    "MAX_LINK_ANTENNAS",
    "CellFree3Slope",
    "CellFree3SlopeConfig",
    "CellFreeUmi",
    "CellFreeUmiConfig",
    "ChannelGenerator",
    "MmWave28",
    "MmWave28Config",
    "RegisteredGenerator",
    "bind_scenario",
    "check_sizes",
    "make_generator",
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


def _check_common(config: Any) -> None:
    """Bounds shared by the registered configs (sizes, power, bandwidth, area, shadowing)."""
    check_sizes(config.num_bs, config.num_ues, config.num_antennas)
    check_float_range("tx_power_dbm", config.tx_power_dbm, *TX_POWER_DBM_RANGE)
    check_float_range("bandwidth_hz", config.bandwidth_hz, 0.0, MAX_BANDWIDTH_HZ, low_inclusive=False)
    check_float_range("area_m", config.area_m, 0.0, MAX_AREA_M, low_inclusive=False)
    if hasattr(config, "shadowing_std_db"):
        check_float_range("shadowing_std_db", config.shadowing_std_db, 0.0, MAX_SHADOWING_STD_DB)
    if hasattr(config, "noise_figure_db"):
        check_float_range("noise_figure_db", config.noise_figure_db, 0.0, MAX_NOISE_FIGURE_DB)


@dataclass(frozen=True)
class MmWave28Config:
    """``mmwave28``: multi-cell 28 GHz mmWave ([GS-GNN], [AttSKGS]; docs/model.md §3.1)."""

    num_bs: int = 2  #: M base stations
    num_antennas: int = 4  #: N ULA antennas per BS
    num_ues: int = 8  #: K single-antenna UEs
    area_m: float = 200.0  #: side of the square deployment [m]
    carrier_ghz: float = 28.0  #: carrier [GHz]
    bandwidth_hz: float = 1e9  #: bandwidth [Hz] (sets the noise power)
    tx_power_dbm: float = 30.0  #: per-BS power [dBm]
    noise_figure_db: float = 0.0  #: UE noise figure [dB]
    num_paths: int = 3  #: propagation paths per link
    angular_spread_deg: float = 10.2  #: rms spread of paths 2..I [deg]
    outage: bool = False  #: Akdeniz outage state (links with h = 0)

    def __post_init__(self) -> None:
        _check_common(self)
        check_float_range("carrier_ghz", self.carrier_ghz, 0.0, 1e3, low_inclusive=False)
        check_int_range("num_paths", self.num_paths, 1, 1024)
        check_float_range("angular_spread_deg", self.angular_spread_deg, 0.0, 180.0)
        if not isinstance(self.outage, bool):
            raise ValueError(f"outage must be a bool, got {self.outage!r}")


@dataclass(frozen=True)
class CellFreeUmiConfig:
    """``cellfree_umi``: user-centric cell-free 3GPP UMi ([SupportSet]; docs/model.md §3.3)."""

    num_bs: int = 8  #: M access points
    num_antennas: int = 2  #: N antennas per AP
    num_ues: int = 6  #: K UEs
    area_m: float = 400.0  #: side of the wrap-around square [m]
    height_difference_m: float = 10.0  #: AP–UE height difference [m]
    bandwidth_hz: float = 20e6  #: bandwidth [Hz] (sets the noise power)
    noise_figure_db: float = 7.0  #: UE noise figure [dB]
    tx_power_dbm: float = UMI_TX_POWER_DBM  #: per-AP power [dBm] (200 mW)
    shadowing_std_db: float = 4.0  #: shadow fading std [dB]
    correlated_shadowing: bool = False  #: correlate shadowing over UEs (2^{-d/d_dc})
    decorrelation_distance_m: float = 9.0  #: d_dc [m]

    def __post_init__(self) -> None:
        _check_common(self)
        check_float_range("height_difference_m", self.height_difference_m, 0.0, MAX_AREA_M)
        if not isinstance(self.correlated_shadowing, bool):
            raise ValueError(
                f"correlated_shadowing must be a bool, got {self.correlated_shadowing!r}"
            )
        check_float_range(
            "decorrelation_distance_m",
            self.decorrelation_distance_m,
            0.0,
            MAX_AREA_M,
            low_inclusive=False,
        )


@dataclass(frozen=True)
class CellFree3SlopeConfig:
    """``cellfree_3slope``: fronthaul-limited cell-free, three-slope path loss ([EGAT];
    docs/model.md §3.2)."""

    num_bs: int = 8  #: M access points
    num_antennas: int = 2  #: N antennas per AP
    num_ues: int = 4  #: K UEs
    area_m: float = 500.0  #: side of the wrap-around square [m]
    ap_height_m: float = 15.0  #: AP antenna height [m]
    ue_height_m: float = 1.65  #: UE antenna height [m]
    carrier_ghz: float = 1.9  #: carrier [GHz]
    bandwidth_hz: float = 10e6  #: bandwidth [Hz] (rates in bit/s; noise is stated directly)
    tx_power_dbm: float = 30.0  #: per-AP power [dBm]
    noise_power_dbm: float = -85.0  #: noise power per UE [dBm]
    shadowing_std_db: float = 8.0  #: σ_sh [dB]
    shadowing_delta: float = 0.5  #: δ, AP/UE split of the shadowing
    decorrelation_distance_m: float = 100.0  #: d_dc [m] (Ngo: 100 m; [EGAT]: 500 m)

    def __post_init__(self) -> None:
        _check_common(self)
        check_float_range("ap_height_m", self.ap_height_m, 0.0, 1e4, low_inclusive=False)
        check_float_range("ue_height_m", self.ue_height_m, 0.0, 1e4, low_inclusive=False)
        check_float_range("carrier_ghz", self.carrier_ghz, 0.0, 1e3, low_inclusive=False)
        check_float_range("noise_power_dbm", self.noise_power_dbm, -250.0, 100.0)
        check_float_range("shadowing_delta", self.shadowing_delta, 0.0, 1.0)
        check_float_range(
            "decorrelation_distance_m",
            self.decorrelation_distance_m,
            0.0,
            MAX_AREA_M,
            low_inclusive=False,
        )


@runtime_checkable
class ChannelGenerator(Protocol):
    """What ``scenario=`` accepts besides a registered name.

    ``config`` is a frozen dataclass with at least ``num_bs``, ``num_ues`` and
    ``num_antennas`` (the env checks they equal its own); ``sample`` draws ``batch_size``
    instances from ``generator`` only (the env's single random source, whose device is the
    output device) and returns a :class:`~ua_envs.core.channels.common.ChannelSample` with
    ``channels`` ``(B, M, K, N)`` complex [sqrt(W)], ``tx_power`` ``(B, M)`` [W],
    ``noise_power`` ``(B, K)`` [W], positions ``(B, M, 2)`` / ``(B, K, 2)`` [m], distances,
    large-scale gains, ``area_m`` and ``bandwidth_hz``.
    """

    config: Any

    def sample(self, generator: torch.Generator, batch_size: int) -> ChannelSample:
        """Draw ``batch_size`` instances."""
        ...


class RegisteredGenerator:
    """A registered channel generator: a typed config plus one of the core sampling functions.

    :param config: the generator's config (default: all defaults).
    :param overrides: fields replacing the config's.
    """

    #: Registered name.
    name: ClassVar[str]
    #: The config dataclass.
    config_class: ClassVar[type]
    #: ``(generator, batch_size, **config fields) -> ChannelSample``.
    function: ClassVar[Callable[..., ChannelSample]]

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        base = self.config_class() if config is None else config
        if not isinstance(base, self.config_class):
            raise ValueError(
                f"config must be a {self.config_class.__name__}, got {type(base).__name__}"
            )
        valid = {f.name for f in dataclasses.fields(base)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ValueError(
                f"unknown {self.name} parameter(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(valid))}"
            )
        self.config = dataclasses.replace(base, **overrides)

    def sample(self, generator: torch.Generator, batch_size: int) -> ChannelSample:
        """Draw ``batch_size`` instances with the config's parameters."""
        return type(self).function(generator, batch_size, **dataclasses.asdict(self.config))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


class MmWave28(RegisteredGenerator):
    """``"mmwave28"`` (:func:`ua_envs.core.channels.mmwave28`)."""

    name = "mmwave28"
    config_class = MmWave28Config
    function = staticmethod(mmwave28)


class CellFreeUmi(RegisteredGenerator):
    """``"cellfree_umi"`` (:func:`ua_envs.core.channels.cellfree_umi`)."""

    name = "cellfree_umi"
    config_class = CellFreeUmiConfig
    function = staticmethod(cellfree_umi)


class CellFree3Slope(RegisteredGenerator):
    """``"cellfree_3slope"`` (:func:`ua_envs.core.channels.cellfree_3slope`)."""

    name = "cellfree_3slope"
    config_class = CellFree3SlopeConfig
    function = staticmethod(cellfree_3slope)


#: Registered generator classes by name.
GENERATORS: dict[str, type[RegisteredGenerator]] = {
    cls.name: cls for cls in (MmWave28, CellFreeUmi, CellFree3Slope)
}


def make_generator(
    scenario: str | ChannelGenerator, *, strict: bool = True, **parameters: Any
) -> ChannelGenerator:
    """The generator of ``scenario`` with ``parameters`` applied (``None`` values skipped).

    :param scenario: a registered name (:data:`GENERATORS`) or a :class:`ChannelGenerator`.
    :param strict: a parameter the registered generator's config lacks is a ``ValueError``
        (``False``: such parameters are ignored; envs pass their sizes to every generator).
    :param parameters: config fields; for a user object only ``num_bs``, ``num_ues`` and
        ``num_antennas`` are allowed, and they must equal its config's.
    :raises ValueError: unknown name (listing the registered ones), an object that does not
        implement the protocol, a bad parameter, or sizes that do not fit.
    """
    given = {key: value for key, value in parameters.items() if value is not None}
    if isinstance(scenario, str):
        if scenario not in GENERATORS:
            raise ValueError(
                f"scenario must be one of {sorted(GENERATORS)!r} or a ChannelGenerator, "
                f"got {scenario!r}"
            )
        cls = GENERATORS[scenario]
        if not strict:
            valid = {f.name for f in dataclasses.fields(cls.config_class)}
            given = {key: value for key, value in given.items() if key in valid}
        return cls(**given)
    if not isinstance(scenario, ChannelGenerator) or not callable(getattr(scenario, "sample", None)):
        raise ValueError(
            "scenario must be a registered name or an object with a `config` dataclass and a "
            f"`sample(generator, batch_size)` method, got {type(scenario).__name__}"
        )
    config = scenario.config
    if not dataclasses.is_dataclass(config):
        raise ValueError(
            f"scenario.config must be a dataclass, got {type(config).__name__}"
        )
    for name in ("num_bs", "num_ues", "num_antennas"):
        if not hasattr(config, name):
            raise ValueError(f"scenario.config must have a field {name!r}")
        if name in given and int(given[name]) != int(getattr(config, name)):
            raise ValueError(
                f"{name}={given[name]} does not fit the scenario, whose config has "
                f"{name}={getattr(config, name)}"
            )
    return scenario


#: The size fields every generator config has.
SIZE_FIELDS = ("num_bs", "num_ues", "num_antennas")


def bind_scenario(config: Any, channel_fields: tuple[str, ...]) -> ChannelGenerator:
    """Build the channel generator of a frozen env config and write the resolved values back.

    The env config's ``scenario`` is a registered name or a :class:`ChannelGenerator`; its
    ``channel_fields`` (sizes included) default to ``None``, meaning "the generator's value".
    Given values override a registered generator's defaults; a value the generator's config
    does not have is a ``ValueError``. With a user object only the sizes may be given (and must
    fit). Afterwards every channel field the generator's config has holds the value in force
    (so ``config.area_m`` is the area actually drawn), the others stay ``None``.

    :param config: a frozen dataclass with ``scenario`` and ``channel_fields`` (called from its
        ``__post_init__``).
    :return: the generator (also stored as ``config.channel_generator``).
    """
    scenario = config.scenario
    given = {name: getattr(config, name) for name in channel_fields}
    given = {name: value for name, value in given.items() if value is not None}
    if isinstance(scenario, str):
        if scenario in GENERATORS:
            valid = {f.name for f in dataclasses.fields(GENERATORS[scenario].config_class)}
            foreign = sorted(set(given) - valid)
            if foreign:
                raise ValueError(
                    f"{', '.join(foreign)} do(es) not apply to scenario {scenario!r}; its "
                    f"parameters: {', '.join(sorted(valid))}"
                )
        generator = make_generator(scenario, **given)
    else:
        extra = sorted(set(given) - set(SIZE_FIELDS))
        if extra:
            raise ValueError(
                f"{', '.join(extra)} cannot be set when scenario is a user generator object; "
                "set them in its config"
            )
        generator = make_generator(scenario, **given)
    resolved = generator.config
    for name in channel_fields:
        if hasattr(resolved, name):
            object.__setattr__(config, name, getattr(resolved, name))
    object.__setattr__(config, "channel_generator", generator)
    return generator
