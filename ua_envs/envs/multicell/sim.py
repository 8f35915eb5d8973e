"""Batch-first simulator of the static multi-cell association family (docs/model.md §4.1).

One episode is one instance: ``M`` BSs with ``N`` antennas and ``K`` single-antenna UEs drawn by
a channel generator of :mod:`ua_envs.core.channels` (``mmwave28`` by default). The decision is a
BS index per UE; the reward is the network sum rate with the configured beamformer, after the
configured overload handling. Everything is batched over a leading dim ``B`` and runs on any
torch device; :class:`MultiCellSimulator.evaluate` is the differentiable reward for
learning-to-optimize agents (fractional associations allowed).

The Gymnasium env (``env.py``), the vector env (``vector.py``) and the PettingZoo env
(``parallel.py``) are thin adapters over this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ua_envs.core import arrays, assignment, beamforming, signal
from ua_envs.core.arrays import Array, arange, namespace, to_float32
from ua_envs.core.channels.configs import TX_POWER_DBM_RANGE
from ua_envs.core.channels.generators import ChannelGenerator, ScenarioBoundConfig
from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, channel_features
from ua_envs.core.units import linear_to_db
from ua_envs.core.validation import (
    as_tensor,
    check_choice,
    check_finite,
    check_float_range,
    check_int_range,
)
from ua_envs.envs.agent_beams import (
    AGENT_BEAMFORMING,
    AgentAction,
    check_agent_action,
    is_agent_mode,
)
from ua_envs.envs.base import config_from_kwargs, decision_inputs, state_to_torch
from ua_envs.envs.contract import DecisionSimulator, Outcome
from ua_envs.envs.instances import channel_instance_sample
from ua_envs.presets import check_preset

__all__ = [
    "BEAMFORMERS",
    "CHANNEL_OBS_BOUND",
    "GAIN_DB_RANGE",
    "OVERLOAD_MODES",
    "TX_POWER_DBM_RANGE",
    "MultiCellConfig",
    "MultiCellSimulator",
    "MultiCellState",
    "make_config",
]

#: Beamformers of :mod:`ua_envs.core.beamforming` the reward can use ("mrt": equal-power
#: unit-norm MRT; "mrt_proportional": the channel-proportional MRT used before issue #12).
BEAMFORMERS = ("mrt", "mrt_proportional", "zf", "rzf", "wmmse")
#: The beamformers scored from the state's precomputed Gram factors, with the ``transmission``
#: of :func:`ua_envs.core.beamforming.mrt_gram` that gives each.
MRT_FAST_PATH = {"mrt": "unique", "mrt_proportional": "joint"}
#: What happens when a BS is assigned more UEs than ``load_limit`` (docs/model.md §4.1).
OVERLOAD_MODES = ("drop", "penalty", "none")


#: The config fields that parameterise the channel generator (sizes included).
CHANNEL_FIELDS = (
    "num_bs",
    "num_antennas",
    "num_ues",
    "area_m",
    "carrier_ghz",
    "bandwidth_hz",
    "tx_power_dbm",
    "noise_figure_db",
    "num_paths",
    "angular_spread_deg",
    "outage",
)
#: Largest ``penalty_weight`` [bit/s/Hz per excess UE]: beyond it the penalty of one excess UE
#: dwarfs any sum rate (and 1e38 · K overflows float32).
MAX_PENALTY_WEIGHT = 1e6


@dataclass(frozen=True)
class MultiCellConfig(ScenarioBoundConfig):
    """Keyword arguments of ``MultiCellAssoc-v0`` (1:1 with the registered kwargs).

    ``scenario`` is a registered channel generator (``"mmwave28"``, the default, or the
    cell-free ``"cellfree_umi"`` / ``"cellfree_3slope"``) or any
    :class:`~ua_envs.core.channels.ChannelGenerator`. The channel fields (``num_bs`` …
    ``outage``) default to ``None``: the scenario's value, written once in its config
    (:mod:`ua_envs.core.channels.generators`); after construction they hold the values in force
    (fields the scenario does not have stay ``None``). ``load_limit`` is ``None`` (no limit), a
    positive integer, or ``"num_antennas"`` (the limit is ``N``, as in [AttSKGS];
    ``MultiCellAssocBalanced-v0`` registers that with ``overload="drop"``). ``preset`` is the
    name of the paper preset :func:`make_config` applied (:mod:`ua_envs.presets`), or ``None``;
    building the dataclass directly only checks and records the name.
    """

    num_bs: int = None  # type: ignore[assignment]  #: M, base stations (mmwave28: 2)
    num_antennas: int = None  # type: ignore[assignment]  #: N, ULA antennas per BS (4)
    num_ues: int = None  # type: ignore[assignment]  #: K, single-antenna UEs (8)
    scenario: str | ChannelGenerator = "mmwave28"  #: channel generator (docs/model.md §3)
    area_m: float = None  # type: ignore[assignment]  #: side of the square [m] (200)
    carrier_ghz: float = None  # type: ignore[assignment]  #: carrier frequency [GHz] (28)
    bandwidth_hz: float = None  # type: ignore[assignment]  #: bandwidth [Hz] (1e9)
    tx_power_dbm: float = None  # type: ignore[assignment]  #: per-BS power [dBm] (30)
    noise_figure_db: float = None  # type: ignore[assignment]  #: UE noise figure [dB] (0)
    num_paths: int = None  # type: ignore[assignment]  #: paths per link (3)
    angular_spread_deg: float = None  # type: ignore[assignment]  #: rms spread [deg] (10.2)
    outage: bool = None  # type: ignore[assignment]  #: Akdeniz outage state (False)
    #: "mrt", "mrt_proportional", "zf", "rzf", "wmmse" or "agent" (beams in the action)
    beamforming: str = "mrt"
    load_limit: int | str | None = None  #: max UEs per BS: None, int >= 1 or "num_antennas"
    overload: str = "drop"  #: "drop", "penalty" or "none" (only with a load limit)
    penalty_weight: float = 1.0  #: [bit/s/Hz per excess UE] for overload="penalty"
    preset: str | None = None  #: the paper preset make_config applied (ua_envs.presets)

    channel_fields: ClassVar[tuple[str, ...]] = CHANNEL_FIELDS

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("beamforming", self.beamforming, (*BEAMFORMERS, AGENT_BEAMFORMING))
        if self.load_limit is not None and self.load_limit != "num_antennas":
            if isinstance(self.load_limit, str) or isinstance(self.load_limit, bool):
                raise ValueError(
                    f"load_limit must be None, an integer >= 1 or 'num_antennas', "
                    f"got {self.load_limit!r}"
                )
            check_int_range("load_limit", self.load_limit, 1)
        check_choice("overload", self.overload, OVERLOAD_MODES)
        check_float_range("penalty_weight", self.penalty_weight, 0.0, MAX_PENALTY_WEIGHT)
        check_preset("MultiCellAssoc", self.preset)

    @property
    def resolved_load_limit(self) -> int | None:
        """The per-BS UE limit as an integer (``"num_antennas"`` resolved to N), or ``None``."""
        if self.load_limit is None:
            return None
        if self.load_limit == "num_antennas":
            return int(self.num_antennas)
        return int(self.load_limit)


@dataclass
class MultiCellState:
    """A batch of instances and, once decided, their outcome. Every array is batch first.

    Before the decision ``action`` is -1 and the outcome fields are zero; ``done`` is False.
    Torch tensors as built by the simulator; the single env steps a numpy copy of its
    batch-of-one state (:func:`~ua_envs.envs.base.state_to_numpy`) with the same code.
    """

    channels: Array  #: (B, M, K, N) complex64 [sqrt(W)]
    tx_power: Array  #: (B, M) float32 [W]
    noise_power: Array  #: (B, K) float32 [W]
    bs_positions: Array  #: (B, M, 2) float32 [m]
    ue_positions: Array  #: (B, K, 2) float32 [m]
    channel_obs: Array  #: (B, M, K, 2N) float32, [Re(h/σ_k), Im(h/σ_k)], clipped
    gain_db: Array  #: (B, M, K) float32 [dB], 10 log10(‖h‖²/σ²), clipped to GAIN_DB_RANGE
    tx_power_dbm: Array  #: (B, M) float32 [dBm]
    mrt_gram: Array  #: (B, M, K, K) complex64, MRT's Gram factor (core.beamforming.mrt_gram)
    mrt_power: Array  #: (B, M, K) float32, MRT's direction powers (core.beamforming.mrt_gram)
    gain_rank: Array  #: (B, M, K) int64, rank of UE k at BS m by ‖h_{m,k}‖²/σ_k² (0 = strongest)
    action: Array  #: (B, K) int64, chosen BS per UE (-1 before the decision)
    association: Array  #: (B, M, K) float32 0/1, association as served (after drops)
    load: Array  #: (B, M) float32, UEs assigned to each BS by the action (before drops)
    dropped: Array  #: (B, K) bool, UE dropped by overload="drop"
    excess: Array  #: (B,) float32, Σ_m max(0, load_m - limit) (0 without a limit)
    rates: Array  #: (B, K) float32 [bit/s/Hz]
    sum_rate: Array  #: (B,) float32 [bit/s/Hz], Σ_k rates
    reward: Array  #: (B,) float32, sum_rate - penalty
    done: Array  #: (B,) bool, decision taken


class MultiCellSimulator(DecisionSimulator[MultiCellState]):
    """Batched simulator: draw instances, apply associations, compute sum rates.

    :param config: the family's :class:`MultiCellConfig`.
    :param batch_size: default number of instances ``B`` drawn by :meth:`reset`.
    :param device: torch device of every tensor (the generator passed to :meth:`reset` must be
        on the same device).
    """

    def __init__(
        self,
        config: MultiCellConfig,
        batch_size: int = 1,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(config, batch_size, device)
        self.load_limit = config.resolved_load_limit

    # ---- instances ---------------------------------------------------------------------------

    #: The single env steps a numpy copy of its state (see :meth:`outcome`).
    array_generic = True

    def _reset(
        self, generator: torch.Generator, options: dict[str, Any], batch: int
    ) -> MultiCellState:
        """Draw ``batch_size`` (default: the simulator's) fresh instances from ``generator``.

        :param options: ``None`` or ``{"instance": ChannelInstance}``: play that instance (its
            arrays with or without the batch dim) instead of a draw; the generator is unused.
        :raises ValueError: an unknown option key (the message lists the valid ones).
        """
        if "instance" in options:
            sample = channel_instance_sample(
                options["instance"], batch, self.config, device=self.device
            )
        else:
            sample = self.channel_generator.sample(generator, batch)
        return self.state_from_instances(
            sample.channels,
            sample.tx_power,
            sample.noise_power,
            bs_positions=sample.bs_positions,
            ue_positions=sample.ue_positions,
        )

    def state_from_instances(
        self,
        channels: Tensor,
        tx_power: Tensor,
        noise_power: Tensor,
        *,
        bs_positions: Tensor | None = None,
        ue_positions: Tensor | None = None,
    ) -> MultiCellState:
        """A fresh (undecided) state for given instances, e.g. hand-built test cases.

        :param channels: ``(B, M, K, N)`` complex [sqrt(W)].
        :param tx_power: ``(B, M)`` [W], > 0.
        :param noise_power: ``(B, K)`` [W], > 0.
        :param bs_positions: ``(B, M, 2)`` [m] (zeros when omitted; only the viewer uses them).
        :param ue_positions: ``(B, K, 2)`` [m].
        """
        m, k, n = self.num_bs, self.num_ues, self.num_antennas
        channels = as_tensor("channels", channels, device=self.device)
        if (
            not channels.is_complex()
            or channels.dim() != 4
            or tuple(channels.shape[1:]) != (m, k, n)
        ):
            raise ValueError(
                f"channels must be a complex (B, {m}, {k}, {n}) tensor, "
                f"got {channels.dtype} {tuple(channels.shape)}"
            )
        check_finite("channels", channels)
        channels = channels.to(torch.complex64)
        batch = channels.shape[0]
        real = torch.float32
        tx_power = as_tensor("tx_power", tx_power, device=self.device).to(real)
        noise_power = as_tensor("noise_power", noise_power, device=self.device).to(real)
        if tuple(tx_power.shape) != (batch, m) or not bool((tx_power > 0).all()):
            raise ValueError(f"tx_power must be a positive ({batch}, {m}) tensor [W]")
        if tuple(noise_power.shape) != (batch, k) or not bool((noise_power > 0).all()):
            raise ValueError(f"noise_power must be a positive ({batch}, {k}) tensor [W]")
        check_finite("tx_power", tx_power)
        check_finite("noise_power", noise_power)
        if bs_positions is None:
            bs_positions = torch.zeros(batch, m, 2, device=self.device)
        if ue_positions is None:
            ue_positions = torch.zeros(batch, k, 2, device=self.device)

        # Noise-normalised channels h/σ_k: the observation and the SNR gain of every link.
        channel_obs, gain_db, snr_gain = channel_features(channels, noise_power)
        tx_power_dbm = linear_to_db(tx_power) + 30.0
        # Association-free parts of the decision, computed once per instance.
        # (of the configured MRT form; equal-power MRT's when another beamformer is configured)
        transmission = MRT_FAST_PATH.get(self.config.beamforming, "unique")
        mrt_gram, mrt_power = beamforming.mrt_gram(
            channels, transmission=transmission, validate=False
        )
        gain_rank = assignment.strength_ranks(snr_gain)
        dev = self.device
        return MultiCellState(
            channels=channels,
            tx_power=tx_power,
            noise_power=noise_power,
            bs_positions=bs_positions.to(device=dev, dtype=real),
            ue_positions=ue_positions.to(device=dev, dtype=real),
            channel_obs=channel_obs,
            gain_db=gain_db,
            tx_power_dbm=tx_power_dbm,
            mrt_gram=mrt_gram,
            mrt_power=mrt_power,
            gain_rank=gain_rank,
            action=torch.full((batch, k), -1, dtype=torch.long, device=dev),
            association=torch.zeros(batch, m, k, device=dev),
            load=torch.zeros(batch, m, device=dev),
            dropped=torch.zeros(batch, k, dtype=torch.bool, device=dev),
            excess=torch.zeros(batch, device=dev),
            rates=torch.zeros(batch, k, device=dev),
            sum_rate=torch.zeros(batch, device=dev),
            reward=torch.zeros(batch, device=dev),
            done=torch.zeros(batch, dtype=torch.bool, device=dev),
        )

    # ---- decisions ---------------------------------------------------------------------------

    def check_action(self, action: Any, batch_size: int) -> Tensor:
        """Validate a batched action and return it as a ``(B, K)`` int64 tensor on the device.

        :raises ValueError: wrong shape, a non-integer dtype, or an index outside ``[0, M)``.
        """
        k, m = self.num_ues, self.num_bs
        action = as_tensor("action", action, device=self.device)
        if action.dtype.is_floating_point or action.is_complex() or action.dtype == torch.bool:
            raise ValueError(f"action must hold integer BS indices, got dtype {action.dtype}")
        if tuple(action.shape) != (batch_size, k):
            raise ValueError(
                f"action must have shape ({batch_size}, {k}) (one BS index per UE), "
                f"got {tuple(action.shape)}"
            )
        action = action.to(torch.long)
        bad = (action < 0) | (action >= m)
        if bool(bad.any()):
            first = int(action[bad][0])
            raise ValueError(f"action entries must be BS indices in [0, {m - 1}], got {first}")
        return action

    def outcome(
        self, state: MultiCellState, action: Array, *, beams: Tensor | None = None
    ) -> tuple[Array, Array, Array, Array, Array, Array]:
        """Served association, loads, drops, excess, rates and reward of a (validated) action.

        The physics path of :meth:`step`, exposed so that baselines (exhaustive search) score
        many candidate actions of one instance in a single batched call. Array-generic: torch
        states and actions (any device), or a numpy state (:func:`~ua_envs.envs.base.
        state_to_numpy`) with a numpy action, as the single env does. MRT is scored from the
        state's precomputed Gram factors (:func:`ua_envs.core.beamforming.mrt_gains`, equal to
        the core :func:`~ua_envs.core.beamforming.mrt` / ``mrt_proportional`` up to rounding); the
        other beamformers run :mod:`ua_envs.core.beamforming` in torch.

        :param state: ``B`` instances (or one instance expanded to ``B`` rows).
        :param action: ``(B, K)`` int64 BS indices in ``[0, M)`` (not re-validated).
        :param beams: ``beamforming="agent"`` only (and required there): ``(B, M, K, N)``
            complex unscaled beams of the action, masked to the served association and
            projected to each BS's power (:func:`ua_envs.core.signal.project_power`).
        :return: ``association (B, M, K)`` served 0/1 float32, ``load (B, M)`` requested,
            ``dropped (B, K)`` bool, ``excess (B,)``, ``rates (B, K)``, ``reward (B,)``.
        """
        cfg = self.config
        requested = action[..., None, :] == arange(self.num_bs, like=action)[:, None]  # (B,M,K)
        load = to_float32(requested.sum(-1))
        limit = self.load_limit
        # (zeros (B,) of load's kind without a limit)
        excess = load.sum(-1) * 0.0 if limit is None else (load - limit).clip(min=0.0).sum(-1)
        if limit is not None and cfg.overload == "drop":
            served, dropped = assignment.keep_strongest(requested, state.gain_rank, limit)
        else:
            served, dropped = requested, action < 0  # nobody dropped
        association = to_float32(served)
        rates = self._rates(state, association, beams)
        reward = rates.sum(-1)
        if limit is not None and cfg.overload == "penalty":
            reward = reward - cfg.penalty_weight * excess
        return association, load, dropped, excess, rates, reward

    def _rates(
        self, state: MultiCellState, association: Array, beams: Tensor | None = None
    ) -> Array:
        """``(B, K)`` rates [bit/s/Hz] of a served 0/1 association (array-generic); with
        ``beams`` (agent mode) those beams, projected to the BSs' power, else the config's."""
        if beams is not None or is_agent_mode(self.config):
            if beams is None:
                raise ValueError(
                    "beamforming='agent' scores the beams of the action; none were given"
                )
            if not isinstance(association, Tensor):  # a numpy state (single env)
                torch_state = state_to_torch(state)
                rates = self._rates(torch_state, torch.from_numpy(association), beams)
                return rates.numpy()
            projected = signal.project_power(beams, association, state.tx_power, validate=False)
            return signal.rates(
                state.channels, projected, association, state.noise_power, validate=False
            ).to(association.dtype)
        if self.config.beamforming in MRT_FAST_PATH:
            gains = beamforming.mrt_gains(
                state.mrt_gram, state.mrt_power, association, state.tx_power
            )
            return namespace(association).log2(
                1.0 + signal.sinr_from_gains(gains, state.noise_power)
            )
        if isinstance(association, Tensor):
            beams = self._beams(state, association, validate=False)
            return signal.rates(
                state.channels, beams, association, state.noise_power, validate=False
            ).to(association.dtype)
        # A numpy state (single env): the iterative beamformers run in torch on views.
        return self._rates(state_to_torch(state), torch.from_numpy(association)).numpy()

    def step(self, state: MultiCellState, action: Any) -> tuple[MultiCellState, Array, Array]:
        """Associate every UE with the BS of ``action`` and score the result (one-shot).

        :param action: ``(B, K)`` integer BS indices in ``[0, M)`` (tensor or array), validated
            here; a numpy state (the single env's) takes a numpy action its adapter validated.
        :return: ``(state, reward (B,), terminated (B,) all True)``.
        :raises ValueError: malformed action (see :meth:`check_action`).
        """
        if is_agent_mode(self.config) and not isinstance(state.done, np.ndarray):
            return self.apply(state, self.check_agent_action(action, state.channels.shape[0]))
        if isinstance(state.done, np.ndarray):
            return self.apply(state, action)
        return self.apply(state, self.check_action(action, state.channels.shape[0]))

    def check_agent_action(self, action: Any, batch_size: int) -> AgentAction:
        """Validate a batched ``beamforming="agent"`` action (:mod:`ua_envs.envs.agent_beams`):
        ``{"association": (B, K) BS indices, "beams": (B, M, K, N, 2) real/imaginary parts}``.

        :return: the association as a ``(B, K)`` int64 tensor and the beams as ``(B, M, K, N)``
            complex64, both on the device.
        :raises ValueError: not such a dict, a bad association (:meth:`check_action`), beams
            of another shape or with NaN/inf.
        """
        return check_agent_action(
            action,
            self.check_action,
            batch_size,
            self.num_bs,
            self.num_ues,
            self.num_antennas,
            device=self.device,
        )

    def step_checked(
        self, state: MultiCellState, action: Array
    ) -> tuple[MultiCellState, Array, Array]:
        """:meth:`step` without re-validating ``action`` (the single env checked it)."""
        return self.apply(state, action)

    def apply(
        self, state: MultiCellState, action: Array | AgentAction
    ) -> tuple[MultiCellState, Array, Array]:
        """:meth:`step` for an action already validated by the caller (``(B, K)`` int64, or
        an :class:`~ua_envs.envs.agent_beams.AgentAction` with ``beamforming="agent"``).

        Array-generic like :meth:`outcome` (a numpy state takes a numpy action).
        """
        beams = None
        if isinstance(action, AgentAction):
            action, beams = action.association, action.beams
        served, load, dropped, excess, rates, reward = self.outcome(state, action, beams=beams)
        done = action[:, 0] >= 0  # all True: every episode is one step
        new_state = dataclasses.replace(
            state,
            action=action,
            association=served,
            load=load,
            dropped=dropped,
            excess=excess,
            rates=rates,
            sum_rate=rates.sum(-1),
            reward=reward,
            done=done,
        )
        return new_state, reward, arrays.copy(done)

    # ---- views -------------------------------------------------------------------------------

    def observe(self, state: MultiCellState) -> dict[str, Array]:
        """Batched observation (fresh arrays, torch or numpy like the state): ``channel (B, M,
        K, 2N)``, ``gain_db (B, M, K)``, ``tx_power_dbm (B, M)``, all float32."""
        return {
            "channel": arrays.copy(state.channel_obs),
            "gain_db": arrays.copy(state.gain_db),
            "tx_power_dbm": arrays.copy(state.tx_power_dbm),
        }

    def info(self, state: MultiCellState, *, copy: bool = True) -> dict[str, Array]:
        """Batched info: ``sum_rate (B,)``, ``rates (B, K)``, ``association (B, M, K)`` as
        served, ``load (B, M)`` as requested, ``violation (B,)`` bool (some BS got more UEs
        than the limit), ``excess (B,)`` (Σ_m max(0, load_m - limit)), ``dropped (B, K)`` bool,
        ``penalty (B,)`` (sum_rate - reward). Zeros before a decision. Torch or numpy, like
        the state.

        :param copy: return fresh tensors (False: views of the state, for callers that copy).
        """

        views = {
            "sum_rate": state.sum_rate,
            "rates": state.rates,
            "association": state.association,
            "load": state.load,
            "violation": state.excess > 0,
            "excess": state.excess,
            "dropped": state.dropped,
            "penalty": state.sum_rate - state.reward,
        }
        return arrays.copy_values(views, copy)

    # ---- differentiable reward (learning to optimize) ----------------------------------------

    def _beams(self, state: MultiCellState, association: Tensor, *, validate: bool) -> Tensor:
        name = self.config.beamforming
        if name == AGENT_BEAMFORMING:
            raise ValueError(
                "beamforming='agent' has no beamformer of its own: give the beams (evaluate("
                "..., beams=...), or the action's 'beams')"
            )
        if name == "mrt":
            return beamforming.mrt(state.channels, association, state.tx_power, validate=validate)
        if name == "mrt_proportional":
            return beamforming.mrt_proportional(
                state.channels, association, state.tx_power, validate=validate
            )
        if name == "zf":
            return beamforming.zf(
                state.channels, association, state.tx_power, state.noise_power, validate=validate
            )
        if name == "rzf":
            return beamforming.rzf(
                state.channels, association, state.tx_power, state.noise_power, validate=validate
            )
        return beamforming.wmmse(
            state.channels, association, state.tx_power, state.noise_power, validate=validate
        )

    def evaluate(self, state: MultiCellState, association: Any, *, beams: Any = None) -> Outcome:
        """Differentiable sum rate [bit/s/Hz] of ``association`` on the instances of ``state``.

        The hook for learning-to-optimize agents ([GS-GNN], [AttSKGS]): gradients flow to
        ``association`` (and ``beams``) through MRT, ZF and RZF; WMMSE is an iterative optimiser
        that treats the association as the served set ``{a > 0}`` and is not differentiable in it
        (see :mod:`ua_envs.core.beamforming`). No overload handling is applied (drops are
        discrete); add a load regulariser to the loss instead (docs/model.md §6).

        :param state: the instances (from :meth:`reset`, or an env's ``state``).
        :param association: ``(B, M, K)`` (or ``(M, K)``, broadcast) bool or real in ``[0, 1]``;
            fractional (relaxed) associations are allowed.
        :param beams: ``None``: the configured beamformer on ``association``; else ``(B, M, K,
            N)`` complex beams ṽ (e.g. from a learned beamforming head), rescaled to each BS's
            power budget with :func:`ua_envs.core.project_power` ([GS-GNN] eq. 9).
        :return: :class:`~ua_envs.envs.contract.Outcome` with ``reward`` = ``metrics
            ["sum_rate"]`` ``(B,)``, ``rates`` ``(B, K)``, ``association`` ``(B, M, K)`` (the
            input, as scored) and ``metrics["load"]`` ``(B, M)`` (Σ_k a_{m,k}),
            ``metrics["excess"]`` ``(B,)`` (Σ_m max(0, load_m − limit), 0 without a limit).
        :raises ValueError: wrong shapes, NaN/inf, an association outside ``[0, 1]``.
        """
        association, beams = decision_inputs(
            association, beams, channels=state.channels, tx_power=state.tx_power
        )
        if beams is None:
            beams = self._beams(state, association, validate=False)
        rates = signal.rates(state.channels, beams, association, state.noise_power, validate=False)
        sum_rate = rates.sum(-1)
        load = association.sum(-1)
        limit = self.load_limit
        excess = load.sum(-1) * 0.0 if limit is None else (load - limit).clamp_min(0.0).sum(-1)
        return Outcome(
            reward=sum_rate,
            rates=rates,
            association=association,
            metrics={"sum_rate": sum_rate, "load": load, "excess": excess},
        )


def make_config(kwargs: Mapping[str, Any]) -> MultiCellConfig:
    """A :class:`MultiCellConfig` from env kwargs; unknown names raise ``ValueError``."""
    return config_from_kwargs(MultiCellConfig, kwargs, "MultiCellAssoc")
