"""The simulator contract every env family fills in, and the typed values it exchanges.

Every family's ``sim.py`` defines one simulator class that subclasses :class:`Simulator` (the
sequential and slotted families) or :class:`DecisionSimulator` (the families whose decision is an
association scored by the physics: multicell, cellfree, fronthaul). The Gymnasium env, the native
vector env and the PettingZoo env of a family are adapters over it
(:mod:`ua_envs.envs.single`, :mod:`ua_envs.envs.base`, :mod:`ua_envs.envs.multiagent`); a fifth
family is a matter of filling in this contract (``tests/envs/test_contract.py`` checks every
family against it).

Shapes: ``B`` instances (batch first), ``M`` transmitters (BSs or APs), ``K`` UEs, ``N``
antennas per transmitter.

=====================  =====================================================================
method                 contract
=====================  =====================================================================
``reset``              ``(generator, options=None, batch_size=None) -> State``; ``options``
                       holds at most the keys of :attr:`Simulator.option_keys` (always
                       ``"instance"``: a typed test instance, :attr:`Simulator.instance_type`);
                       any other key is a ``ValueError`` naming the valid ones
``step``               ``(state, action) -> (state, reward (B,), terminated (B,) bool)``
``observe``            ``(state) -> dict[str, (B, ...) array]`` (fresh arrays)
``action_mask``        ``(state) -> (B, n_actions) bool`` or ``None`` (every action legal)
``info``               ``(state, *, copy=True) -> dict[str, (B, ...) array]`` (fresh
                       arrays; ``copy=False``: may be views of the state)
``evaluate``           decision families: ``(state, association, *, beams=None) -> Outcome``,
                       differentiable in a fractional ``association`` and in ``beams``
                       wherever the math is
=====================  =====================================================================
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import Tensor

from ua_envs.core.arrays import Array
from ua_envs.core.validation import check_int_range

__all__ = [
    "ChannelInstance",
    "DecisionSimulator",
    "Outcome",
    "Simulator",
    "check_reset_options",
]

StateT = TypeVar("StateT")


@dataclass(frozen=True)
class Outcome:
    """What an association yields on a batch of instances (``evaluate``'s result).

    :param reward: ``(B,)`` the family's reward of the association [bit/s/Hz], e.g. the sum
        rate (multicell, cellfree) or the fronthaul Lagrangian (fronthaul).
    :param rates: ``(B, K)`` per-UE rates [bit/s/Hz] as served.
    :param association: ``(B, M, K)`` the association as served (after drops, repairs).
    :param metrics: family metrics, each ``(B, ...)``: e.g. ``"sum_rate"``, ``"load"``,
        ``"violation"``, ``"dropped"`` (multicell); ``"fronthaul_load_mbps"``, ``"wsr"``
        (fronthaul). Documented by each family's ``evaluate``.
    """

    reward: Tensor
    rates: Tensor
    association: Tensor
    metrics: Mapping[str, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelInstance:
    """A given instance of the array-channel families (multicell, cellfree, fronthaul).

    Played by ``reset(options={"instance": ChannelInstance(...)})`` instead of a random draw,
    e.g. a hand-built test case or an instance from a data set. Arrays may be numpy or torch,
    with or without the leading batch dim (without: every sub-env plays the same instance).

    :param channels: ``(M, K, N)`` or ``(B, M, K, N)`` complex [sqrt(W)]; ``|h|²`` is a power
        gain, UE k receives ``Σ_m h_{m,k}^H x_m``.
    :param tx_power: ``(M,)`` / ``(B, M)`` per-transmitter power [W], > 0; ``None``: the
        config's ``tx_power_dbm``.
    :param noise_power: ``(K,)`` / ``(B, K)`` per-UE noise power [W], > 0; ``None``: the
        config's noise power.
    :param bs_positions: ``(M, 2)`` / ``(B, M, 2)`` [m], only drawn by the viewers; ``None``:
        zeros.
    :param ue_positions: ``(K, 2)`` / ``(B, K, 2)`` [m]; ``None``: zeros.
    """

    channels: Any
    tx_power: Any = None
    noise_power: Any = None
    bs_positions: Any = None
    ue_positions: Any = None


def check_reset_options(
    options: Any, valid: tuple[str, ...], instance_type: type | None
) -> dict[str, Any]:
    """``options`` as a dict after checking its keys and its ``"instance"``.

    :param options: ``None`` or a mapping.
    :param valid: the keys a family accepts.
    :param instance_type: the type ``options["instance"]`` must have.
    :raises ValueError: not a mapping, an unknown key (the message lists the valid ones), or an
        instance of the wrong type.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = sorted(str(key) for key in options if key not in valid)
    if unknown:
        raise ValueError(
            f"unknown reset option(s) {', '.join(repr(k) for k in unknown)}; "
            f"valid: {', '.join(repr(k) for k in valid)}"
        )
    instance = options.get("instance")
    if instance is not None and instance_type is not None:
        if not isinstance(instance, instance_type):
            raise ValueError(
                f"options['instance'] must be a {instance_type.__name__}, "
                f"got {type(instance).__name__}"
            )
    return dict(options)


class Simulator(abc.ABC, Generic[StateT]):
    """A batch-first simulator of one env family (see the module docstring).

    Subclasses set :attr:`option_keys` and :attr:`instance_type` and implement the abstract
    methods; ``config``, ``batch_size`` and ``device`` are set by their ``__init__``.
    """

    #: Reset option keys the family accepts (``"instance"`` in every family).
    option_keys: ClassVar[tuple[str, ...]] = ("instance",)
    #: Type of ``options["instance"]``.
    instance_type: ClassVar[type] = ChannelInstance
    #: Whether the decision step is array-generic (:mod:`ua_envs.core.arrays`): the single env
    #: then steps a numpy copy of its batch-of-one state on the CPU.
    array_generic: ClassVar[bool] = False
    #: Whether single envs draw unseeded resets :data:`~ua_envs.envs.base.RESET_CHUNK` at a time.
    chunked_resets: ClassVar[bool] = True

    config: Any
    batch_size: int
    device: torch.device

    def __init__(
        self, config: Any, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        """Store ``config``, the default batch size ``B`` of :meth:`reset` and the device."""
        self.config = config
        self.batch_size = check_int_range("batch_size", batch_size, 1)
        self.device = torch.device(device)

    def check_options(self, options: Any) -> dict[str, Any]:
        """The reset options as a dict; unknown keys raise ``ValueError`` naming the valid ones."""
        return check_reset_options(options, self.option_keys, self.instance_type)

    def reset(
        self,
        generator: torch.Generator,
        options: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
    ) -> StateT:
        """Draw ``batch_size`` (default: the simulator's) fresh episodes from ``generator``, or
        play ``options["instance"]`` (the family's :meth:`_reset` documents its options).

        :raises ValueError: an unknown option key (the message lists the valid ones), an
            instance of the wrong type, a batch size below 1.
        """
        checked = self.check_options(options)
        batch = (
            self.batch_size if batch_size is None else check_int_range("batch_size", batch_size, 1)
        )
        return self._reset(generator, checked, batch)

    @abc.abstractmethod
    def _reset(self, generator: torch.Generator, options: dict[str, Any], batch: int) -> StateT:
        """:meth:`reset` with checked options and the batch size resolved."""

    @abc.abstractmethod
    def step(self, state: StateT, action: Any) -> tuple[StateT, Array, Array]:
        """Apply a batched action; ``(state, reward (B,), terminated (B,) bool)``."""

    @abc.abstractmethod
    def observe(self, state: StateT) -> dict[str, Array]:
        """Batched observation dict, each entry ``(B, ...)`` (fresh arrays)."""

    def step_checked(self, state: StateT, action: Any) -> tuple[StateT, Array, Array]:
        """:meth:`step` for an action its adapter already validated (the single env's hot
        path; default: :meth:`step`, which validates again)."""
        return self.step(state, action)

    def action_mask(self, state: StateT) -> Array | None:
        """``(B, n_actions)`` bool legal actions, or ``None`` when every action is legal."""
        del state
        return None

    @abc.abstractmethod
    def info(self, state: StateT, *, copy: bool = True) -> dict[str, Array]:
        """Batched info dict, each entry ``(B, ...)``: fresh arrays, or with ``copy=False``
        possibly views of the state (for adapters that copy what they hand out)."""


class DecisionSimulator(Simulator[StateT]):
    """A simulator whose decisions are associations scored by the physics (multicell, cellfree,
    fronthaul): adds the differentiable :meth:`evaluate`.

    Its config is bound to a channel scenario
    (:class:`~ua_envs.core.channels.generators.ScenarioBoundConfig`): the constructor keeps the
    sizes ``num_bs`` (M), ``num_ues`` (K), ``num_antennas`` (N) and the ``channel_generator``.
    """

    def __init__(
        self, config: Any, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(config, batch_size, device)
        self.num_bs = int(config.num_bs)
        self.num_ues = int(config.num_ues)
        self.num_antennas = int(config.num_antennas)
        self.channel_generator = config.channel_generator

    @abc.abstractmethod
    def evaluate(self, state: StateT, association: Any, *, beams: Any = None) -> Outcome:
        """Score ``association`` on the instances of ``state``.

        :param state: ``B`` instances (from :meth:`reset`, or an env's ``state``).
        :param association: ``(B, M, K)`` or ``(M, K)`` (broadcast), bool or real in ``[0, 1]``
            (fractional = relaxed); tensors keep their autograd graph.
        :param beams: ``None``: the family's configured beamformer; else ``(B, M, K, N)``
            complex beams (e.g. a learned beamforming head), projected to each transmitter's
            power budget before scoring.
        :return: the :class:`Outcome`; differentiable in a float ``association`` and in
            ``beams`` wherever the family's math is.
        :raises ValueError: wrong shapes, NaN/inf, entries outside ``[0, 1]``.
        """
