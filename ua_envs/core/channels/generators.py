"""Pluggable channel generators: the :class:`ChannelGenerator` protocol and the registered ones.

A channel generator is any object with a typed, frozen ``config`` dataclass (which has at least
the fields ``num_bs``, ``num_ues`` and ``num_antennas``) and a ``sample(generator, batch_size)``
method returning a :class:`~ua_envs.core.channels.common.ChannelSample`. The env kwarg
``scenario=`` takes a registered name (:data:`GENERATORS`) or such an object; the three
registered generators are the functions of :mod:`ua_envs.core.channels` behind a typed config
whose defaults and physical bounds are written once, in :mod:`ua_envs.core.channels.configs`
(re-exported here: the configs, ``check_sizes`` and the bound constants).

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

from ua_envs.core.channels.cellfree import cellfree_3slope, cellfree_umi
from ua_envs.core.channels.common import ChannelSample
from ua_envs.core.channels.configs import (
    CellFree3SlopeConfig,
    CellFreeUmiConfig,
    MmWave28Config,
    check_parameter_names,
    check_sizes,
)
from ua_envs.core.channels.mmwave28 import mmwave28
from ua_envs.core.channels.sionna import (
    SionnaRmaConfig,
    SionnaUmaConfig,
    SionnaUmiConfig,
    load_sionna,
    sionna_rma,
    sionna_uma,
    sionna_umi,
)

__all__ = [
    "GENERATORS",
    "CellFree3Slope",
    "CellFree3SlopeConfig",
    "CellFreeUmi",
    "CellFreeUmiConfig",
    "ChannelGenerator",
    "MmWave28",
    "MmWave28Config",
    "RegisteredGenerator",
    "ScenarioBoundConfig",
    "SionnaRma",
    "SionnaUma",
    "SionnaUmi",
    "bind_scenario",
    "check_sizes",
    "make_generator",
]


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
    config_class: ClassVar[type[Any]]
    #: ``(generator, batch_size, **config fields) -> ChannelSample``.
    function: ClassVar[Callable[..., ChannelSample]]

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        base = self.config_class() if config is None else config
        if not isinstance(base, self.config_class):
            raise ValueError(
                f"config must be a {self.config_class.__name__}, got {type(base).__name__}"
            )
        check_parameter_names(self.config_class, overrides)
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


class _SionnaGenerator(RegisteredGenerator):
    """A Sionna TR 38.901 generator: building one imports Sionna (optional extra
    ``ua-envs[sionna]``) so that a missing install fails at ``gym.make``, naming the extra."""

    def __init__(self, config: Any = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        load_sionna()


class SionnaUmi(_SionnaGenerator):
    """``"sionna_umi"`` (:func:`ua_envs.core.channels.sionna.sionna_umi`, needs the extra)."""

    name = "sionna_umi"
    config_class = SionnaUmiConfig
    function = staticmethod(sionna_umi)


class SionnaUma(_SionnaGenerator):
    """``"sionna_uma"`` (:func:`ua_envs.core.channels.sionna.sionna_uma`, needs the extra)."""

    name = "sionna_uma"
    config_class = SionnaUmaConfig
    function = staticmethod(sionna_uma)


class SionnaRma(_SionnaGenerator):
    """``"sionna_rma"`` (:func:`ua_envs.core.channels.sionna.sionna_rma`, needs the extra)."""

    name = "sionna_rma"
    config_class = SionnaRmaConfig
    function = staticmethod(sionna_rma)


#: Registered generator classes by name.
GENERATORS: dict[str, type[RegisteredGenerator]] = {
    cls.name: cls
    for cls in (MmWave28, CellFreeUmi, CellFree3Slope, SionnaUmi, SionnaUma, SionnaRma)
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
    if not isinstance(scenario, ChannelGenerator) or not callable(
        getattr(scenario, "sample", None)
    ):
        raise ValueError(
            "scenario must be a registered name or an object with a `config` dataclass and a "
            f"`sample(generator, batch_size)` method, got {type(scenario).__name__}"
        )
    config = scenario.config
    if not dataclasses.is_dataclass(config):
        raise ValueError(f"scenario.config must be a dataclass, got {type(config).__name__}")
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


@dataclass(frozen=True)
class ScenarioBoundConfig:
    """Base of the env configs whose channel fields are bound to a scenario.

    A subclass lists its channel fields in :attr:`channel_fields` (sizes included, each
    defaulting to ``None``) and has a ``scenario`` field; ``__post_init__`` (call it first from
    the subclass's) runs :func:`bind_scenario`, which resolves them and sets
    :attr:`channel_generator`.
    """

    #: The config fields that parameterise the channel generator.
    channel_fields: ClassVar[tuple[str, ...]] = ()
    #: The channel generator in force (set by ``__post_init__``).
    channel_generator: ChannelGenerator = dataclasses.field(
        init=False,
        repr=False,
        compare=False,
        default=None,  # type: ignore[assignment]
    )

    def __post_init__(self) -> None:
        bind_scenario(self, self.channel_fields)
